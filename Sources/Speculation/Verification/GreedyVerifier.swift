/// Greedy verification: a draft token is accepted while it equals the target's argmax; the first
/// mismatching argmax is the correction token, or, when every draft token is accepted, the argmax
/// of the last row is the bonus token (Leviathan et al. 2023, arXiv:2211.17192, with temperature 0).
///
/// Lossless: the output is token for token the target's greedy output (argmax ties go to the lowest
/// id, as in ``Sampler/argmax(_:)``). The sampler is not used.
public struct GreedyVerifier: Verifier, Sendable {
    public let name = "greedy"
    public var isLossless: Bool { true }

    public init() {}

    public mutating func verify(draft: Draft, rows: (Int) -> UnsafeBufferPointer<Float>, sampler: inout Sampler) -> Verification {
        Self.verify(draft.tokens, rows: rows)
    }

    /// Follows the child equal to the target's argmax at each node (the first such sibling), as long as
    /// there is one; the argmax where there is none is the correction (or bonus) token.
    public mutating func verifyTree(draft: Draft, rows: (Int) -> UnsafeBufferPointer<Float>, sampler: inout Sampler) -> Verification {
        Self.verifyTree(draft, rows: rows)
    }

    /// Greedy tree verification (shared by the verifiers that reduce to it).
    public static func verifyTree(_ draft: Draft, rows: (Int) -> UnsafeBufferPointer<Float>) -> Verification {
        walkTree(draft) { row, children in
            let best = Sampler.argmax(rows(row))
            return (children.first { draft.tokens[$0] == best }, best)
        }
    }

    /// Greedy verification of `tokens` (shared by the verifiers that reduce to it).
    public static func verify(_ tokens: [Int32], rows: (Int) -> UnsafeBufferPointer<Float>) -> Verification {
        for (i, d) in tokens.enumerated() {
            let best = Sampler.argmax(rows(i))
            if best != d { return Verification(acceptedCount: i, nextToken: best) }  // correction
        }
        return Verification(acceptedCount: tokens.count, nextToken: Sampler.argmax(rows(tokens.count)))  // bonus
    }
}
