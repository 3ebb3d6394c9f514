import XCTest
import SpecDecModel
import SpecDecSpeculation
import SpecDecTestSupport

/// Speculative sampling must draw from the target's distribution: the empirical distribution of the
/// first generated tokens is compared with the exact one, computed from the target's logits.
final class SpeculativeSamplingDistributionTests: XCTestCase {
    static let context: [Int32] = [7, 100, 42, 9, 7]
    static let samples = 4000

    /// The target's exact distribution of the first token and of the first two tokens.
    private func exact(_ target: Transformer, _ sampling: SamplingParameters) throws -> ([Int32: Double], [[Int32]: Double]) {
        target.reset()
        let p1 = Sampler.distribution(try target.forward(Self.context, logits: .last)[0], sampling)
        var first: [Int32: Double] = [:]
        var pairs: [[Int32]: Double] = [:]
        for (t1, a) in zip(p1.tokens, p1.probabilities) {
            first[t1] = Double(a)
            target.truncate(to: Self.context.count)
            let p2 = Sampler.distribution(try target.forward([t1], logits: .last)[0], sampling)
            for (t2, b) in zip(p2.tokens, p2.probabilities) { pairs[[t1, t2]] = Double(a) * Double(b) }
        }
        target.reset()
        return (first, pairs)
    }

    /// Samples the first two tokens `samples` times with a draft model and k = 4, one seed per sample.
    private func sample(_ target: Transformer, draft: Transformer, _ sampling: SamplingParameters)
        throws -> (first: [Int32: Int], pairs: [[Int32]: Int], stats: SpeculationStats) {
        let drafter = try DraftModelDrafter(draft: draft, target: target)
        let decoder = try SpeculativeDecoder(target: target, drafter: drafter, verifier: SpeculativeSamplingVerifier(),
                                             sampling: sampling, draftLength: 4)
        var first: [Int32: Int] = [:]
        var pairs: [[Int32]: Int] = [:]
        var stats = SpeculationStats()
        for i in 0..<Self.samples {
            var s = sampling
            s.seed = UInt64(i) &* 7919 &+ 1
            try decoder.start(prompt: Self.context, sampling: s)
            var tokens = try decoder.step(maxNewTokens: 5)
            if tokens.count < 2 { tokens += try decoder.step(maxNewTokens: 5) }
            first[tokens[0], default: 0] += 1
            pairs[Array(tokens[0..<2]), default: 0] += 1
            stats.merge(decoder.stats)
            decoder.finish()
        }
        return (first, pairs, stats)
    }

    private func assertFollowsTheTarget(_ sampling: SamplingParameters, _ label: String) throws {
        let target = try Tiny.model("qwen2", seed: 8, weightScale: 2.5)
        let draft = try Tiny.model("qwen2", seed: 8, weightScale: 2.0)
        let (p1, p12) = try exact(target, sampling)
        let (q1, _) = try exact(draft, sampling)
        let (first, pairs, stats) = try sample(target, draft: draft, sampling)
        let n = Self.samples
        let tv1 = totalVariation(first, total: n, p1), bound1 = tvThreshold(p1, samples: n)
        let tv12 = totalVariation(pairs, total: n, p12), bound12 = tvThreshold(p12, samples: n)
        // Without verification the draft's own distribution would be far off: the test has power.
        let draftTV = totalVariation(q1.mapValues { Int(($0 * 1e6).rounded()) }, total: 1_000_000, p1)
        print("[\(label)] first token TV \(tv1) < \(bound1); first two TV \(tv12) < \(bound12); draft TV \(draftTV); "
              + "acceptance \(stats.acceptanceRate), τ \(stats.meanAccepted)")
        XCTAssertLessThan(tv1, bound1, label)
        XCTAssertLessThan(tv12, bound12, label)
        XCTAssertLessThan(bound1, 0.06, "\(label): the sample is too small for the support")
        XCTAssertGreaterThan(draftTV, 2 * bound1, "\(label): the draft is too close to the target to tell")
        XCTAssertGreaterThan(stats.accepted, 0, label)
        XCTAssertLessThan(stats.accepted, stats.drafted, label)
    }

    func testFirstTokensFollowTheTargetDistributionAtTemperatureOne() throws {
        try assertFollowsTheTarget(SamplingParameters(temperature: 1), "temperature 1")
    }

    func testFirstTokensFollowTheTargetDistributionWithTopK() throws {
        try assertFollowsTheTarget(SamplingParameters(temperature: 1.2, topK: 5), "top-k 5")
    }

    func testFirstTokensFollowTheTargetDistributionWithTopP() throws {
        try assertFollowsTheTarget(SamplingParameters(temperature: 0.9, topP: 0.8), "top-p 0.8")
    }
}
