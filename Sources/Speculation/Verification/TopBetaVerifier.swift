/// Top-β tolerance verification of SpecDec (Xia et al. 2023, arXiv:2203.16487): a draft token is
/// accepted when its rank in the target's logits is at most β and its log-probability is within τ
/// of the top token's; the correction or bonus token is the target's argmax.
///
/// **Lossy by design** (`isLossless == false`): accepted tokens need not be the target's choice, so
/// the output may differ from plain decoding; in exchange more draft tokens are accepted. β = 1 is
/// exactly greedy verification: ranks break ties by the lower token id, as ``Sampler/argmax(_:)``.
/// Log-probabilities are those of the raw logits (temperature 1), where log p(top) − log p(d) is
/// the logit difference. The sampler is not used: this is a greedy-decoding method.
public struct TopBetaVerifier: Verifier, Sendable {
    public let name = "top-beta"
    public var isLossless: Bool { false }
    /// Largest accepted rank (1 = the argmax only).
    public let beta: Int
    /// Largest accepted log-probability gap to the top token (nats).
    public let tau: Float

    /// Throws ``SpeculationError/invalidParameter(_:)`` unless β ≥ 1 and τ ≥ 0.
    public init(beta: Int = 3, tau: Float = 1) throws {
        guard beta >= 1 else { throw SpeculationError.invalidParameter("top-beta β must be >= 1, got \(beta)") }
        guard tau >= 0, !tau.isNaN else { throw SpeculationError.invalidParameter("top-beta τ must be >= 0, got \(tau)") }
        self.beta = beta
        self.tau = tau
    }

    public mutating func verify(draft: Draft, rows: (Int) -> UnsafeBufferPointer<Float>, sampler: inout Sampler) -> Verification {
        for (i, d) in draft.tokens.enumerated() {
            let row = rows(i)
            let top = Sampler.argmax(row)
            if !accepts(d, row: row, top: top) { return Verification(acceptedCount: i, nextToken: top) }  // correction
        }
        let k = draft.tokens.count
        return Verification(acceptedCount: k, nextToken: Sampler.argmax(rows(k)))  // bonus
    }

    /// At each node the first child the rule accepts is followed; the argmax ends the walk where none is.
    public mutating func verifyTree(draft: Draft, rows: (Int) -> UnsafeBufferPointer<Float>, sampler: inout Sampler) -> Verification {
        walkTree(draft) { row, children in
            let logits = rows(row)
            let top = Sampler.argmax(logits)
            return (children.first { accepts(draft.tokens[$0], row: logits, top: top) }, top)
        }
    }

    /// Whether `token` ranks within β (ties: lower id first) and within τ of `top`'s logit.
    func accepts(_ token: Int32, row: UnsafeBufferPointer<Float>, top: Int32) -> Bool {
        guard token >= 0, Int(token) < row.count else { return false }
        let d = Int(token)
        let value = row[d]
        guard row[Int(top)] - value <= tau else { return false }
        var better = 0  // tokens ranked before d
        for j in 0..<row.count where row[j] > value || (row[j] == value && j < d) {
            better += 1
            if better >= beta { return false }
        }
        return true
    }
}
