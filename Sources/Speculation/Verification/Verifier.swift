/// The outcome of verifying one draft.
public struct Verification: Sendable, Equatable {
    /// How many draft tokens were accepted (a prefix of the draft).
    public var acceptedCount: Int
    /// The token the target adds after the accepted ones: the *correction* (resampled) token when
    /// `acceptedCount` < the draft's length, else the *bonus* token.
    public var nextToken: Int32

    /// The accepted draft tokens as indices into the draft (a root-to-node path of a tree; `0 ..< acceptedCount`
    /// for a chain).
    public var path: [Int]

    public init(acceptedCount: Int, nextToken: Int32) {
        self.acceptedCount = acceptedCount
        self.nextToken = nextToken
        path = Array(0..<acceptedCount)
    }

    /// The outcome of a tree verification: the accepted root-to-node path and the next token.
    public init(path: [Int], nextToken: Int32) {
        acceptedCount = path.count
        self.nextToken = nextToken
        self.path = path
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
    /// Token-tree verification: `rows(0)` are the target's logits after the committed context, and
    /// `rows(i + 1)` after the root-to-node path of draft token i. Returns the accepted root-to-node
    /// path and the correction or bonus token. For a chain it must equal ``verify(draft:rows:sampler:)``.
    mutating func verifyTree(draft: Draft, rows: (Int) -> UnsafeBufferPointer<Float>, sampler: inout Sampler) -> Verification
}

/// Walks a draft tree from the pending token: at each node `choose` gets the node's row (0: the
/// pending token, i + 1: draft token i) and its children (draft indices, in order) and returns the
/// accepted child, or nil with the correction / bonus token. Shared by the tree verifiers.
func walkTree(_ draft: Draft, choose: (_ row: Int, _ children: [Int]) -> (child: Int?, token: Int32)) -> Verification {
    let children = draft.children
    var path: [Int] = []
    var row = 0
    while true {
        let (child, token) = choose(row, children[row])
        guard let child else { return Verification(path: path, nextToken: token) }
        path.append(child)
        row = child + 1
    }
}
