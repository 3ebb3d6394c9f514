/// Confidence-modulated verification (after Sen, Dasgupta, Waghela 2025, arXiv:2508.15371): the
/// signals that set a draft's length (the draft distribution's entropy and top-1/top-2 margin) also
/// relax acceptance, so a token the drafter was sure of is kept when the target ranks it close to
/// its best.
///
/// The rule, for draft token d at a position whose target logits are ℓ (raw logits, temperature 1,
/// so log p(a) − log p(b) = ℓ_a − ℓ_b), with t = argmax ℓ (ties: the lower id, as
/// ``Sampler/argmax(_:)``), c ∈ [0, 1] the drafter's confidence in the distribution d came from
/// (``Draft/confidences``: c = 0.5 · (1 − H / ln V) + 0.5 · (p₁ − p₂), ``ConfidencePolicy``) and
/// λ ≥ 0 the tolerance (`--confidence-tolerance`, nats):
///
///     accept d  ⟺  d = t,  or  λ > 0 and c > 0 and ℓ_t − ℓ_d ≤ λ · c
///
/// The first rejected position gets the target's argmax (the correction); a wholly accepted draft
/// gets the argmax of the last row (the bonus). λ = 0 is exactly greedy verification, and so is any
/// token whose drafter records no confidence (prompt lookup, suffix trees: c = 0).
///
/// **Lossy by design** (`isLossless == false`), like ``TopBetaVerifier``; a greedy-decoding method
/// (the sampler is not used). `specdec eval` measures what it costs in accuracy.
public struct ConfidenceVerifier: Verifier, Sendable {
    public let name = "confidence"
    public var isLossless: Bool { false }
    /// λ: the largest log-probability gap to the target's top token accepted from a draft token of
    /// confidence 1 (nats). 0 = greedy.
    public let tolerance: Float

    /// Throws ``SpeculationError/invalidParameter(_:)`` unless λ ≥ 0 and finite.
    public init(tolerance: Float = 1) throws {
        guard tolerance >= 0, tolerance.isFinite else {
            throw SpeculationError.invalidParameter("the confidence tolerance must be a number >= 0, got \(tolerance)")
        }
        self.tolerance = tolerance
    }

    public mutating func verify(draft: Draft, rows: (Int) -> UnsafeBufferPointer<Float>, sampler: inout Sampler) -> Verification {
        for (i, d) in draft.tokens.enumerated() {
            let row = rows(i)
            let top = Sampler.argmax(row)
            if !accepts(d, confidence: draft.confidences?[i] ?? 0, row: row, top: top) {
                return Verification(acceptedCount: i, nextToken: top)  // correction
            }
        }
        let k = draft.tokens.count
        return Verification(acceptedCount: k, nextToken: Sampler.argmax(rows(k)))  // bonus
    }

    /// At each node the first child the rule accepts is followed; the argmax ends the walk where none is.
    public mutating func verifyTree(draft: Draft, rows: (Int) -> UnsafeBufferPointer<Float>, sampler: inout Sampler) -> Verification {
        walkTree(draft) { row, children in
            let logits = rows(row)
            let top = Sampler.argmax(logits)
            return (children.first { accepts(draft.tokens[$0], confidence: draft.confidences?[$0] ?? 0, row: logits, top: top) }, top)
        }
    }

    /// The rule of the type's documentation.
    func accepts(_ token: Int32, confidence c: Float, row: UnsafeBufferPointer<Float>, top: Int32) -> Bool {
        guard token >= 0, Int(token) < row.count else { return false }
        if token == top { return true }
        guard tolerance > 0, c > 0, c.isFinite else { return false }
        return row[Int(top)] - row[Int(token)] <= tolerance * min(1, c)
    }
}
