/// Speculative sampling: rejection sampling that makes the output follow the target's distribution
/// exactly, whatever the draft (Leviathan et al. 2023, arXiv:2211.17192; Chen et al. 2023,
/// arXiv:2302.01318).
///
/// With p = `Sampler.distribution(row, sampler.parameters)` (so temperature, top-k, top-p and min-p
/// apply to the target as in plain sampling) and q the draft's distribution (a point mass on the
/// draft token when the drafter gives none), draft token dᵢ is *accepted* with probability
/// min(1, p(dᵢ) / q(dᵢ)). At the first rejection the *correction* token is drawn from
/// normalize(max(0, p − q)) and the round ends; when every draft token is accepted a *bonus* token
/// is drawn from the last row's p. Uniform numbers come from `sampler.uniform()`.
///
/// With greedy parameters (temperature 0 or top-k 1) it is exactly ``GreedyVerifier``.
public struct SpeculativeSamplingVerifier: Verifier, Sendable {
    public let name = "speculative-sampling"
    public var isLossless: Bool { true }
    /// [vocabularySize] q of the rejected position as a dense vector, zero between uses.
    private var denseQ: [Float] = []

    public init() {}

    public mutating func verify(draft: Draft, rows: (Int) -> UnsafeBufferPointer<Float>, sampler: inout Sampler) -> Verification {
        let parameters = sampler.parameters
        if parameters.isGreedy { return GreedyVerifier.verify(draft.tokens, rows: rows) }
        for (i, d) in draft.tokens.enumerated() {
            let row = rows(i)
            let p = Sampler.distribution(row, parameters)
            var q = TokenDistribution(tokens: [d], probabilities: [1])
            if let qs = draft.distributions, i < qs.count, qs[i].probability(of: d) > 0 { q = qs[i] }
            let pd = p.probability(of: d)
            let qd = q.probability(of: d)
            // Accept dᵢ with probability min(1, p(dᵢ) / q(dᵢ)).
            if sampler.uniform() * qd < pd { continue }
            // Rejected: the correction token is drawn from normalize(max(0, p − q)).
            let correction = drawResidual(p: p, q: q, vocabularySize: row.count, u: sampler.uniform())
            return Verification(acceptedCount: i, nextToken: correction)
        }
        // Every draft token accepted: the bonus token is drawn from the last row.
        let k = draft.tokens.count
        let bonus = Sampler.distribution(rows(k), parameters).draw(sampler.uniform())
        return Verification(acceptedCount: k, nextToken: bonus)
    }

    /// Draws from normalize(max(0, p − q)) with `u` uniform in [0, 1). Falls back to p when the
    /// residual is empty (p ≤ q everywhere, which only rounding can cause after a rejection).
    private mutating func drawResidual(p: TokenDistribution, q: TokenDistribution, vocabularySize: Int, u: Float) -> Int32 {
        if denseQ.count < vocabularySize { denseQ = [Float](repeating: 0, count: vocabularySize) }
        for (t, x) in zip(q.tokens, q.probabilities) where t >= 0 && Int(t) < vocabularySize { denseQ[Int(t)] = x }
        // residual[j] is the mass of p.tokens[j]; tokens outside p's support have none.
        var residual = [Float](repeating: 0, count: p.tokens.count)
        var total: Float = 0
        for (j, (t, x)) in zip(p.tokens, p.probabilities).enumerated() {
            let r = max(0, x - denseQ[Int(t)])
            residual[j] = r
            total += r
        }
        for t in q.tokens where t >= 0 && Int(t) < vocabularySize { denseQ[Int(t)] = 0 }
        guard total > 0 else { return p.draw(u) }
        let target = u * total
        var acc: Float = 0
        var last = p.tokens[0]
        for (j, r) in residual.enumerated() where r > 0 {
            acc += r
            last = p.tokens[j]
            if target < acc { return last }
        }
        return last
    }
}
