/// The outcome of verifying one draft.
public struct Verification: Sendable, Equatable {
    /// How many draft tokens were accepted (a prefix of the draft).
    public var acceptedCount: Int
    /// The token the target adds after the accepted ones: the *correction* (resampled) token when
    /// `acceptedCount` < the draft's length, else the *bonus* token.
    public var nextToken: Int32

    public init(acceptedCount: Int, nextToken: Int32) {
        self.acceptedCount = acceptedCount
        self.nextToken = nextToken
    }
}

/// Decides which draft tokens the target accepts, given the target's logits for every draft position,
/// and the correction or bonus token that follows them (Leviathan et al. 2023, arXiv:2211.17192).
///
/// Every round therefore commits between 1 and k + 1 tokens for k draft tokens.
///
/// ```swift
/// var verifier: any Verifier = SpeculativeSamplingVerifier()
/// var sampler = Sampler(sampling)
/// let logits = try target.forward([pending] + draft.tokens, logits: .all)   // k + 1 rows
/// let v = verifier.verify(draft: draft, rows: { logits[$0] }, sampler: &sampler)
/// let committed = draft.tokens.prefix(v.acceptedCount) + [v.nextToken]
/// ```
public protocol Verifier {
    /// A short name for reports ("greedy", "speculative-sampling", "top-beta").
    var name: String { get }
    /// Whether the output is guaranteed to follow the target (greedy: same tokens; sampling: same distribution).
    var isLossless: Bool { get }
    /// `rows[i]` are the target's logits after the committed context plus draft.tokens[0..<i]; there are draft.tokens.count + 1 rows.
    mutating func verify(draft: Draft, rows: (Int) -> UnsafeBufferPointer<Float>, sampler: inout Sampler) -> Verification
}
