import SpecDecKernels
import SpecDecModel

/// Drafts with a second, smaller model that shares the target's tokenizer: the classic speculative
/// decoding of Leviathan et al. 2023 (arXiv:2211.17192) and speculative sampling of Chen et al. 2023
/// (arXiv:2302.01318).
///
/// The drafter keeps the tokens whose keys and values are in the draft model's KV cache
/// (``cachedTokens``). Each ``draft(context:maxTokens:sampling:)``
/// 1. syncs the cache with the committed context by longest common prefix: it truncates the cache
///    after the common prefix (this is where the rejected draft tokens of the previous round are
///    rolled back) and evaluates the missing tokens in one batch;
/// 2. drafts k tokens one at a time: the argmax when sampling is greedy, otherwise a draw from
///    qᵢ = `Sampler.distribution(logits, sampling)` with the drafter's own generator, recording qᵢ
///    for the verifier.
///
/// The last draft token is never evaluated while drafting, so after a fully accepted round only two
/// tokens are missing at the next sync (the last draft token and the bonus token), and after a
/// rejection only the correction token.
///
/// With ``minProbability`` > 0 a draft ends before the first token the draft model is not confident
/// in: its probability of the most likely token is below the threshold (llama.cpp's `--draft-p-min`).
/// Drafting is where the time goes when the draft is a model, and a token the draft is unsure of is
/// likely to be rejected; the verifier keeps the output the same whatever the draft length.
///
/// The draft generator is reseeded at the first draft of each request from `sampling.seed` and the
/// drafter's `seed`, so a request is reproducible, and its draws are independent of the verifier's.
public final class DraftModelDrafter: Drafter {
    public let name = "draft-model"
    /// The draft model (its KV cache belongs to this drafter).
    public let model: Transformer
    /// Vocabulary size of the target; draft tokens outside it end the draft.
    public let targetVocabularySize: Int
    /// Tokens whose keys and values are in the draft model's cache, in order.
    public private(set) var cachedTokens: [Int32] = []
    /// Tokens evaluated by the draft model so far (syncs and drafting): the drafter's work.
    public private(set) var evaluatedTokens = 0
    /// Mixed into the per-request seed of the draft generator.
    public let seed: UInt64
    /// The draft stops before a token whose draft probability of the most likely token is below this
    /// (0: drafts are always `maxTokens` long). Greedy: softmax of the draft's logits; sampling: the
    /// largest probability of the distribution the token is drawn from.
    public var minProbability: Float = 0
    /// Drafts cut short by ``minProbability`` so far.
    public private(set) var stoppedByConfidence = 0
    /// When set, the draft model's output layer covers only these tokens (a vocabulary-trimmed
    /// draft head, FR-Spec / VocabTrim): each draft token costs less of the output layer, and qᵢ is
    /// exactly the distribution over the subset the token was drawn from (zero elsewhere), so
    /// speculative sampling stays lossless and greedy output unchanged.
    public let head: TrimmedHead?
    private var rng = SplitMix64(seed: 0)
    private var needsReseed = true

    /// The largest vocabulary-size difference accepted by default (as llama.cpp's
    /// `SPEC_VOCAB_MAX_SIZE_DIFFERENCE`): models of one family often pad their embeddings differently.
    public static let maxVocabularyDifference = 128

    /// Throws ``SpeculationError/incompatibleDraft(_:)`` when a draft model with `draftVocabularySize`
    /// tokens cannot draft for a target with `targetVocabularySize` tokens. The caller must also check
    /// that the two tokenizers agree on the shared ids (the Engine does, with the Tokenizer module).
    public static func checkCompatible(draftVocabularySize: Int, targetVocabularySize: Int,
                                       maxDifference: Int = maxVocabularyDifference) throws {
        guard draftVocabularySize > 0, targetVocabularySize > 0 else {
            throw SpeculationError.incompatibleDraft(
                "vocabulary sizes must be positive (draft \(draftVocabularySize), target \(targetVocabularySize))")
        }
        let difference = abs(draftVocabularySize - targetVocabularySize)
        guard difference <= maxDifference else {
            throw SpeculationError.incompatibleDraft(
                "the draft vocabulary has \(draftVocabularySize) tokens and the target's \(targetVocabularySize): "
                + "they differ by \(difference), more than \(maxDifference)")
        }
    }

    /// Wraps `draft`, checking its vocabulary against the target's (see
    /// ``checkCompatible(draftVocabularySize:targetVocabularySize:maxDifference:)``).
    public init(draft: Transformer, targetVocabularySize: Int, seed: UInt64 = 0, head: TrimmedHead? = nil) throws {
        try Self.checkCompatible(draftVocabularySize: draft.config.vocabularySize, targetVocabularySize: targetVocabularySize)
        model = draft
        self.head = head
        self.targetVocabularySize = targetVocabularySize
        self.seed = seed
        draft.reset()
    }

    /// Wraps `draft` to draft for `target`.
    public convenience init(draft: Transformer, target: Transformer, seed: UInt64 = 0, head: TrimmedHead? = nil) throws {
        try self.init(draft: draft, targetVocabularySize: target.config.vocabularySize, seed: seed, head: head)
    }

    /// Keeps the cache: the next sync reuses whatever prefix the new prompt shares with it.
    public func begin(prompt: [Int32]) throws {
        needsReseed = true
    }

    public func draft(context: [Int32], maxTokens: Int, sampling: SamplingParameters) throws -> Draft {
        let vocab = model.config.vocabularySize
        // The cache ends up holding the context and every draft token but the last.
        let k = min(maxTokens, model.contextLength - context.count + 1)
        guard k > 0, !context.isEmpty else { return .empty }
        if needsReseed {
            rng = SplitMix64(seed: mix(sampling.seed ^ mix(seed ^ 0x6472_6166_745F_726E)))
            needsReseed = false
        }

        // Sync: keep the longest common prefix (at least the last token is re-evaluated for its
        // logits), roll back the rest (rejected drafts), evaluate the missing tokens in one batch.
        let keep = min(commonPrefixLength(cachedTokens, context), context.count - 1)
        let missing = Array(context[keep...])
        guard missing.allSatisfy({ $0 >= 0 && Int($0) < vocab }) else { return .empty }  // the draft cannot embed it
        model.truncate(to: keep)
        cachedTokens.removeSubrange(keep...)
        var logits = try model.forward(missing, logits: .last, head: head)
        cachedTokens += missing
        evaluatedTokens += missing.count

        // Draft k tokens autoregressively; the last one is not evaluated.
        var tokens: [Int32] = []
        var distributions: [TokenDistribution] = []
        tokens.reserveCapacity(k)
        for i in 0..<k {
            guard let (token, q) = nextDraftToken(logits[logits.rows - 1], sampling: sampling, head: head,
                                                  minProbability: minProbability, rng: &rng) else {
                stoppedByConfidence += 1
                break
            }
            guard Int(token) < targetVocabularySize else { break }  // the target cannot verify it
            tokens.append(token)
            distributions.append(q)
            if i == k - 1 { break }
            logits = try model.forward(token: token, logits: .last, head: head)
            cachedTokens.append(token)
            evaluatedTokens += 1
        }
        return Draft(tokens: tokens, distributions: distributions)
    }

    /// Nothing to do: rejected tokens are rolled back at the next sync.
    public func accepted(context: [Int32], acceptedCount: Int) {}

    public func end(context: [Int32]) {}

    /// Empties the draft model's cache.
    public func reset() {
        model.reset()
        cachedTokens = []
    }
}

/// SplitMix64's output function: a bijective mix of 64 bits (used to derive independent seeds).
func mix(_ x: UInt64) -> UInt64 {
    var z = x &+ 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}
