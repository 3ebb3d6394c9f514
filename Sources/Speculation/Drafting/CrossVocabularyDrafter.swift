import SpecDecKernels

/// Turns text into token ids and back for one vocabulary (a tokenizer; the Engine adapts its
/// `Tokenizer`).
public protocol TextCodec: AnyObject {
    /// Tokens of `text`; `atStart` tells whether it begins a sequence (the codec may add BOS).
    func encode(_ text: String, atStart: Bool) -> [Int32]
    /// Text of `tokens` (special tokens as their text).
    func decode(_ tokens: [Int32]) -> String
}

/// Drafts with a model whose tokenizer differs from the target's, at the string level (Timor et al.
/// 2025, "Accelerating LLM Inference with Lossless Speculative Decoding Algorithms for Heterogeneous
/// Vocabularies", arXiv:2502.05202, its String-Level Exact Match for greedy decoding).
///
/// Each round: the committed context (target tokens) is decoded to text and encoded with the draft's
/// tokenizer; the draft model continues it (its cache kept by longest common prefix, as
/// ``DraftModelDrafter``); the draft tokens are decoded to text, and the target's tokenizer encodes
/// the last committed tokens' text followed by the draft text. When that re-tokenization starts with
/// the committed tokens exactly, the tokens after them are the draft (the last one dropped when the
/// draft text may end inside a word, where the target would tokenize the full word differently).
/// The target verifies them as any draft, so greedy output is exactly the target's.
///
/// Only greedy drafting is built: the paper's lossless rules for sampling across vocabularies are
/// not, so this drafter proposes nothing when sampling, and the Engine refuses it with a message.
public final class CrossVocabularyDrafter: Drafter {
    public let name = "cross-vocabulary"
    /// The draft model (in its own vocabulary).
    public let drafter: DraftModelDrafter
    public let targetCodec: any TextCodec
    public let draftCodec: any TextCodec
    /// Target tokens of the committed context re-encoded with the draft text (the boundary window).
    public var window = 8
    /// Rounds whose re-tokenization did not start with the committed tokens (nothing proposed).
    public private(set) var boundaryMismatches = 0
    private var cachedText = ""
    private var cachedContext: [Int32] = []

    public init(drafter: DraftModelDrafter, targetCodec: any TextCodec, draftCodec: any TextCodec) {
        self.drafter = drafter
        self.targetCodec = targetCodec
        self.draftCodec = draftCodec
    }

    public func begin(prompt: [Int32]) throws {
        try drafter.begin(prompt: [])
        cachedContext = []
        cachedText = ""
    }

    public func draft(context: [Int32], maxTokens: Int, sampling: SamplingParameters) throws -> Draft {
        guard sampling.isGreedy, maxTokens > 0, !context.isEmpty else { return .empty }
        let text = contextText(context)
        let draftContext = draftCodec.encode(text, atStart: true)
        guard !draftContext.isEmpty else { return .empty }
        // One draft-vocabulary token is about one target token; draft a little more to cover the
        // last one dropped at the boundary.
        let proposal = try drafter.draft(context: draftContext, maxTokens: maxTokens + 1, sampling: sampling)
        guard !proposal.tokens.isEmpty else { return .empty }
        let before = draftCodec.decode(draftContext)
        let after = draftCodec.decode(draftContext + proposal.tokens)
        guard after.hasPrefix(before), after.count > before.count else { return .empty }
        let draftText = String(after.dropFirst(before.count))

        let tailStart = max(0, context.count - window)
        let tail = Array(context[tailStart...])
        let retokenized = targetCodec.encode(targetCodec.decode(tail) + draftText, atStart: tailStart == 0)
        guard retokenized.count > tail.count, Array(retokenized[..<tail.count]) == tail else {
            boundaryMismatches += 1
            return .empty
        }
        var tokens = Array(retokenized[tail.count...])
        // The draft text's end may cut a word the target would tokenize whole: keep only tokens
        // followed by more draft text.
        tokens.removeLast()
        return Draft(tokens: Array(tokens.prefix(maxTokens)))
    }

    public func accepted(context: [Int32], acceptedCount: Int) {}
    public func end(context: [Int32]) {}

    /// Text of the committed context, decoded incrementally when it extends the previous one (only
    /// the new tokens, past a few for UTF-8 sequences split across tokens, are decoded).
    private func contextText(_ context: [Int32]) -> String {
        let keep = commonPrefixLength(cachedContext, context)
        if keep == cachedContext.count && keep > 4 {
            // Re-decode the last four cached tokens with the new ones: a character split across
            // tokens decodes whole.
            let overlap = keep - 4
            let oldTail = targetCodec.decode(Array(cachedContext[overlap...]))
            let newTail = targetCodec.decode(Array(context[overlap...]))
            if cachedText.hasSuffix(oldTail) {
                cachedText = String(cachedText.dropLast(oldTail.count)) + newTail
                cachedContext = context
                return cachedText
            }
        }
        cachedText = targetCodec.decode(context)
        cachedContext = context
        return cachedText
    }
}
