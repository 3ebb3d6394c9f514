import XCTest
import SpecDecModel
import SpecDecSpeculation
import SpecDecTestSupport

/// Speculative sampling must draw from the target's distribution: the empirical distribution of the
/// first generated tokens is compared with the exact one, computed from the target's logits.
///
/// Both settings truncate the vocabulary with top-k: without it `Sampler.distribution` sorts all
/// 264 logits, about 0.5 ms per call in a debug build, too slow for thousands of samples; the
/// untruncated path of the verifier is checked on synthetic logits in ``VerifierTests``.
final class SpeculativeSamplingDistributionTests: XCTestCase {
    static let context: [Int32] = [7, 100, 42, 9, 7]

    /// Small models (one layer, width 32) keep 4000 speculative samples cheap in a debug build.
    private func small(seed: UInt64, weightScale: Float) throws -> Transformer {
        try Tiny.model("qwen2", seed: seed, weightScale: weightScale) { $0.dim = 32; $0.heads = 2; $0.kvHeads = 1; $0.ffn = 64; $0.layers = 1 }
    }

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
    private func sample(_ target: Transformer, drafter: Drafter, _ sampling: SamplingParameters, samples: Int)
        throws -> (first: [Int32: Int], pairs: [[Int32]: Int], stats: SpeculationStats) {
        let decoder = try SpeculativeDecoder(target: target, drafter: drafter, verifier: SpeculativeSamplingVerifier(),
                                             sampling: sampling, draftLength: 4)
        var first: [Int32: Int] = [:]
        var pairs: [[Int32]: Int] = [:]
        var stats = SpeculationStats()
        for i in 0..<samples {
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

    /// Samples the first two tokens `n` times and checks both empirical distributions against the
    /// exact ones: total variation below the threshold derived from `n` (``tvThreshold(_:samples:delta:)``,
    /// a failure probability of 1e-3 for a correct sampler), itself below `maxThreshold`.
    private func assertFollowsTheTarget(_ sampling: SamplingParameters, samples n: Int, maxThreshold: Double, _ label: String,
                                        drafter makeDrafter: ((Transformer, Transformer) throws -> Drafter)? = nil) throws {
        let target = try small(seed: 8, weightScale: 2.5)
        let draft = try small(seed: 8, weightScale: 2.0)  // the same weights scaled: a related, different model
        let (p1, p12) = try exact(target, sampling)
        let (q1, _) = try exact(draft, sampling)
        let drafter = try makeDrafter?(target, draft) ?? DraftModelDrafter(draft: draft, target: target)
        let (first, pairs, stats) = try sample(target, drafter: drafter, sampling, samples: n)
        let tv1 = totalVariation(first, total: n, p1), bound1 = tvThreshold(p1, samples: n, delta: 1e-3)
        let tv12 = totalVariation(pairs, total: n, p12), bound12 = tvThreshold(p12, samples: n, delta: 1e-3)
        // Without verification the draft's own distribution would be far off: the test has power.
        let draftTV = 0.5 * Set(p1.keys).union(q1.keys).reduce(0) { $0 + abs((p1[$1] ?? 0) - (q1[$1] ?? 0)) }
        print("[\(label), N = \(n)] first token TV \(tv1) < \(bound1); first two TV \(tv12) < \(bound12); "
              + "draft TV \(draftTV); acceptance \(stats.acceptanceRate), τ \(stats.meanAccepted)")
        XCTAssertLessThan(tv1, bound1, label)
        XCTAssertLessThan(tv12, bound12, label)
        XCTAssertLessThan(bound1, maxThreshold, "\(label): the sample is too small for the support")
        XCTAssertGreaterThan(draftTV, 2 * bound1, "\(label): the draft is too close to the target to tell")
        XCTAssertGreaterThan(stats.accepted, 0, label)
        XCTAssertLessThan(stats.accepted, stats.drafted, label)
    }

    func testFirstTokensFollowTheTargetDistributionWithTopK() throws {
        try assertFollowsTheTarget(SamplingParameters(temperature: 1, topK: 6), samples: 4000, maxThreshold: 0.06, "top-k 6")
    }

    /// A trimmed draft head (every third token): q is zero outside the subset, and the output still
    /// follows the target.
    func testTrimmedHeadDraftsKeepTheTargetDistribution() throws {
        try assertFollowsTheTarget(SamplingParameters(temperature: 1, topK: 6), samples: 4000, maxThreshold: 0.06, "trimmed head") {
            target, draft in
            let subset = (0..<Int32(draft.config.vocabularySize)).filter { $0 % 3 != 0 }
            return try DraftModelDrafter(draft: draft, target: target, head: TrimmedHead(model: draft, tokens: subset))
        }
    }

    /// Self-speculation (the target without its feed-forward sublayer) follows the target.
    func testSelfSpeculativeDraftsKeepTheTargetDistribution() throws {
        try assertFollowsTheTarget(SamplingParameters(temperature: 1, topK: 6), samples: 4000, maxThreshold: 0.06, "self-speculative") {
            target, _ in try SelfSpeculativeDrafter(model: target, skip: try LayerSkip(layerCount: 1, feedForward: [0]))
        }
    }

    func testFirstTokensFollowTheTargetDistributionWithTopP() throws {
        try assertFollowsTheTarget(SamplingParameters(temperature: 1, topK: 16, topP: 0.8), samples: 4000, maxThreshold: 0.06,
                                   "top-p 0.8 within top-k 16")
    }
}
