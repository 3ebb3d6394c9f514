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

    /// Multi-candidate speculative sampling over a token tree (SpecInfer's multi-step speculative
    /// sampling, arXiv:2305.09781; recursive rejection sampling, Jeon et al. 2024, arXiv:2402.14160).
    /// At each node, with p the target's distribution there, the children c₁ … c_m are tried in order:
    /// cᵢ (token x, drawn from qᵢ) is accepted with probability min(1, p(x) / qᵢ(x)), and the walk
    /// moves to it; when it is rejected, p ← normalize(max(0, p − qᵢ)) and the next child is tried.
    /// When every child is rejected (or there is none), the next token is drawn from the current p.
    /// With qᵢ the distribution cᵢ was drawn from given its earlier siblings (``Draft/distributions``;
    /// a point mass for model-free drafters, whose distinct branches then remove their token from p),
    /// each committed token follows the target's distribution exactly. For a chain it is ``verify(draft:rows:sampler:)``.
    public mutating func verifyTree(draft: Draft, rows: (Int) -> UnsafeBufferPointer<Float>, sampler: inout Sampler) -> Verification {
        let parameters = sampler.parameters
        if parameters.isGreedy { return GreedyVerifier.verifyTree(draft, rows: rows) }
        return walkTree(draft) { row, children in
            let logits = rows(row)
            let p = Sampler.distribution(logits, parameters)
            var weights = p.probabilities   // p, unnormalized after a rejection
            var total: Float = 1            // p(x) = weights[x] / total
            for c in children {
                let d = draft.tokens[c]
                var q = TokenDistribution(tokens: [d], probabilities: [1])
                if let qs = draft.distributions, c < qs.count, qs[c].probability(of: d) > 0 { q = qs[c] }
                let pd = p.tokens.firstIndex(of: d).map { weights[$0] / total } ?? 0
                if sampler.uniform() * q.probability(of: d) < pd { return (c, d) }
                // Rejected: p ← normalize(max(0, p − q)) (kept unnormalized, with its total).
                let residual = subtract(weights: weights, total: total, tokens: p.tokens, q: q, vocabularySize: logits.count)
                if residual.total > 0 { weights = residual.weights; total = residual.total }
            }
            return (nil, draw(tokens: p.tokens, weights: weights, total: total, u: sampler.uniform()))
        }
    }

    /// max(0, weights / total − q) over `tokens`, and its sum.
    private mutating func subtract(weights: [Float], total: Float, tokens: [Int32], q: TokenDistribution,
                                   vocabularySize: Int) -> (weights: [Float], total: Float) {
        if denseQ.count < vocabularySize { denseQ = [Float](repeating: 0, count: vocabularySize) }
        for (t, x) in zip(q.tokens, q.probabilities) where t >= 0 && Int(t) < vocabularySize { denseQ[Int(t)] = x }
        var residual = [Float](repeating: 0, count: tokens.count)
        var sum: Float = 0
        for (j, t) in tokens.enumerated() {
            let r = max(0, weights[j] / total - denseQ[Int(t)])
            residual[j] = r
            sum += r
        }
        for t in q.tokens where t >= 0 && Int(t) < vocabularySize { denseQ[Int(t)] = 0 }
        return (residual, sum)
    }

    /// Draws `tokens[j]` with probability weights[j] / total (`u` uniform in [0, 1)).
    private func draw(tokens: [Int32], weights: [Float], total: Float, u: Float) -> Int32 {
        let target = u * total
        var acc: Float = 0
        var last = tokens[0]
        for (j, w) in weights.enumerated() where w > 0 {
            acc += w
            last = tokens[j]
            if target < acc { return last }
        }
        return last
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
