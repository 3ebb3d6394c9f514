import SpecDecKernels
import SpecDecModel

/// Self-speculative decoding: the target drafts for itself with some of its attention and
/// feed-forward sublayers skipped, and verification recomputes every layer (Draft & Verify, Zhang et
/// al. 2023, arXiv:2309.08168; SWIFT, Xia et al. 2024, arXiv:2410.06916). No second model, no
/// second KV cache: the draft's computed layers write their keys and values into the target's own
/// cache at the draft positions, which the verification pass then overwrites, and the drafter rolls
/// the cache back to the committed context before returning.
///
/// The skipped set comes from ``LayerSkipSearch``: given (from `specdec calibrate-skip`), or found on
/// the fly at the first request against the model's own committed tokens (its prompt) within a
/// fixed budget of evaluations, then kept for later requests. An optional ``TrimmedHead`` also
/// trims the output layer of the drafts.
///
/// Needs ``SpeculativeDecoder``'s invariant: when asked to draft, the target's cache holds the
/// committed context but its last token. Greedy drafts are the skipped model's argmax; sampled
/// drafts draw from its distribution (recorded as qᵢ), so every lossless verifier stays lossless.
public final class SelfSpeculativeDrafter: Drafter {
    public let name = "self-speculative"
    /// The target, drafting for itself.
    public let model: Transformer
    /// The skipped sublayers (nil until the first request's search when none was given).
    public private(set) var skip: LayerSkip?
    /// Optional trimmed output layer of the drafts.
    public let head: TrimmedHead?
    /// Options of the on-the-fly search.
    public var searchOptions: LayerSkipSearch.Options
    /// The on-the-fly search's result, when one ran.
    public private(set) var searchResult: LayerSkipSearch.Result?
    /// Shortest prompt the on-the-fly search runs on (shorter prompts draft nothing until one comes).
    public var minSearchTokens = 16
    /// As ``DraftModelDrafter/minProbability``: end a draft before a token below this top probability.
    public var minProbability: Float = 0
    /// Tokens evaluated with the skipped layers so far.
    public private(set) var evaluatedTokens = 0
    public let seed: UInt64
    private var rng = SplitMix64(seed: 0)
    private var needsReseed = true

    /// `skip` nil: search at the first request. Throws when `skip` or `head` is for another model.
    public init(model: Transformer, skip: LayerSkip? = nil, head: TrimmedHead? = nil,
                searchOptions: LayerSkipSearch.Options = LayerSkipSearch.Options(), seed: UInt64 = 0) throws {
        if let skip, skip.layerCount != model.config.layerCount {
            throw SpeculationError.invalidParameter(
                "the skip set is for a \(skip.layerCount)-layer model, the target has \(model.config.layerCount) layers")
        }
        self.model = model
        self.skip = skip
        self.head = head
        self.searchOptions = searchOptions
        self.seed = seed
    }

    /// Runs the on-the-fly search on the prompt when no skip set is known yet (the target's cache is
    /// emptied: the decoder prefills it next).
    public func begin(prompt: [Int32]) throws {
        needsReseed = true
        guard skip == nil, prompt.count >= minSearchTokens, prompt.count <= model.contextLength else { return }
        let half = prompt.count / 2
        let sample = LayerSkipSearch.Sample(prompt: Array(prompt[..<half]), continuation: Array(prompt[half...]))
        let result = try LayerSkipSearch.search(model: model, samples: [sample], head: head, options: searchOptions)
        searchResult = result
        skip = result.skip
    }

    public func draft(context: [Int32], maxTokens: Int, sampling: SamplingParameters) throws -> Draft {
        guard let skip, let pending = context.last else { return .empty }
        let start = model.position
        // The decoder's invariant: everything committed but the pending token is cached.
        guard start == context.count - 1 else { return .empty }
        let k = min(maxTokens, model.contextLength - start - 1)
        guard k > 0 else { return .empty }
        if needsReseed {
            rng = SplitMix64(seed: mix(sampling.seed ^ mix(seed ^ 0x7365_6C66_5F72_6E67)))
            needsReseed = false
        }
        defer { model.truncate(to: start) }
        var logits = try model.forward(token: pending, logits: .last, skip: skip, head: head)
        evaluatedTokens += 1
        var tokens: [Int32] = []
        var distributions: [TokenDistribution] = []
        for i in 0..<k {
            guard let (token, q) = nextDraftToken(logits[logits.rows - 1], sampling: sampling, head: head,
                                                  minProbability: minProbability, rng: &rng) else { break }
            tokens.append(token)
            distributions.append(q)
            if i == k - 1 { break }
            logits = try model.forward(token: token, logits: .last, skip: skip, head: head)
            evaluatedTokens += 1
        }
        return Draft(tokens: tokens, distributions: distributions)
    }

    public func accepted(context: [Int32], acceptedCount: Int) {}
    public func end(context: [Int32]) {}
}
