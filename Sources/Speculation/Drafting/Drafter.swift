import SpecDecKernels
import SpecDecModel

/// Tokens proposed by a ``Drafter`` for the target to verify.
public struct Draft: Sendable, Equatable {
    /// The draft tokens d₁ … d_k, continuing the committed context.
    public var tokens: [Int32]
    /// qᵢ, the distribution each draft token was drawn from (one per token), or nil for model-free
    /// drafters (prompt lookup, suffix trees), whose proposals count as point masses.
    public var distributions: [TokenDistribution]?

    public init(tokens: [Int32], distributions: [TokenDistribution]? = nil) {
        precondition(distributions == nil || distributions?.count == tokens.count, "one distribution per draft token")
        self.tokens = tokens
        self.distributions = distributions
    }

    /// A draft with no tokens (the round then decodes one token, as plain decoding does).
    public static let empty = Draft(tokens: [])

    /// The first `count` tokens (and their distributions).
    public func prefix(_ count: Int) -> Draft {
        let n = max(0, min(count, tokens.count))
        return Draft(tokens: Array(tokens[..<n]), distributions: distributions.map { Array($0[..<n]) })
    }
}

/// Proposes draft tokens that the target model then verifies in one batched forward pass
/// (speculative decoding, Leviathan et al. 2023, arXiv:2211.17192).
///
/// A drafter sees one request at a time through the lifecycle `begin → (draft → accepted)* → end`,
/// as llama.cpp's speculative drafters do:
///
/// ```swift
/// let drafter = PromptLookupDrafter()
/// try drafter.begin(prompt: prompt)
/// var context = prompt
/// while context.count < limit {
///     let draft = try drafter.draft(context: context, maxTokens: 4, sampling: sampling)
///     let committed = verifyWithTheTarget(draft)      // accepted tokens + correction or bonus
///     context += committed
///     drafter.accepted(context: context, acceptedCount: committed.count - 1)
/// }
/// drafter.end(context: context)
/// ```
///
/// ``SpeculativeDecoder`` runs this loop. Drafters are not thread-safe; use one per decoder.
public protocol Drafter: AnyObject {
    /// A short name for reports ("draft-model", "prompt-lookup", "suffix-tree").
    var name: String { get }
    /// A new request starts; `prompt` is its whole prompt.
    func begin(prompt: [Int32]) throws
    /// Propose up to `maxTokens` tokens continuing `context` (every committed token: prompt + generated so far).
    func draft(context: [Int32], maxTokens: Int, sampling: SamplingParameters) throws -> Draft
    /// After verification: the committed context now, and how many of the last draft's tokens were accepted.
    func accepted(context: [Int32], acceptedCount: Int)
    /// The request ended (outputs may be added to global state, e.g. the suffix tree).
    func end(context: [Int32])
}

/// One drafted position of a model drafter, from the logits `row` of its last evaluated token: qᵢ
/// (`Sampler.distribution`, a point mass on the argmax when greedy; over the head's tokens when the
/// row comes from a trimmed head) and the token (the argmax, or a draw from qᵢ with `rng`). Nil when
/// `minProbability` > 0 and the drafter's confidence (greedy: softmax of the row; sampling: the
/// largest probability of qᵢ) is below it: the draft ends before this token.
func nextDraftToken(_ row: UnsafeBufferPointer<Float>, sampling: SamplingParameters, head: TrimmedHead?,
                    minProbability: Float, rng: inout SplitMix64) -> (token: Int32, q: TokenDistribution)? {
    let raw = Sampler.distribution(row, sampling)
    let q = head.map { raw.mapped(through: $0.tokens) } ?? raw
    if minProbability > 0 {
        let confidence = sampling.isGreedy ? Sampler.topProbability(row) : (q.probabilities.max() ?? 0)
        if confidence < minProbability { return nil }
    }
    let token = sampling.isGreedy ? q.tokens[0] : q.draw(Float(rng.next() >> 40) / Float(1 << 24))
    return (token, q)
}

/// The length of the longest common prefix of `a` and `b`.
func commonPrefixLength(_ a: [Int32], _ b: [Int32]) -> Int {
    let n = min(a.count, b.count)
    var i = 0
    while i < n && a[i] == b[i] { i += 1 }
    return i
}
