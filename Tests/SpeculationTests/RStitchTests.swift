import Foundation
import XCTest
import SpecDecKernels
import SpecDecModel
import SpecDecSpeculation

/// R-Stitch routing on tiny models: its two limits are the models alone, token for token; any
/// switch sequence follows the rule as recomputed from fresh forwards; the caches equal fresh runs.
final class RStitchTests: XCTestCase {
    private let prompt: [Int32] = [3, 17, 42, 8, 99, 5, 23]

    /// Peaky models (so entropies spread) with the same vocabulary.
    private func models() throws -> (slm: Transformer, llm: Transformer) {
        (try Tiny.model("llama", seed: 11, weightScale: 3), try Tiny.model("llama", seed: 12, weightScale: 3))
    }

    private func run(_ decoder: RStitchDecoder, count: Int, sampling: SamplingParameters = SamplingParameters()) throws -> [Int32] {
        try decoder.start(prompt: prompt, sampling: sampling)
        var out: [Int32] = []
        for _ in 0..<count { out.append(try decoder.step()) }
        decoder.finish()
        return out
    }

    /// A model's next-token logits after `context`, from a fresh forward of the whole context.
    private func freshLogits(_ model: Transformer, _ context: [Int32]) throws -> [Float] {
        model.reset()
        let logits = try model.forward(context, logits: .last)
        return Array(logits[logits.rows - 1])
    }

    func testAnInfiniteThresholdIsTheSmallModelAloneAndZeroTheLargeOne() throws {
        let (slm, llm) = try models()
        let refSLM = try Tiny.greedy(try Tiny.model("llama", seed: 11, weightScale: 3), prompt: prompt, count: 40)
        let refLLM = try Tiny.greedy(try Tiny.model("llama", seed: 12, weightScale: 3), prompt: prompt, count: 40)
        XCTAssertNotEqual(refSLM, refLLM, "the two models must differ for the test to mean anything")

        let alone = try RStitchDecoder(slm: slm, llm: llm, policy: .fixed(slm: .infinity, llm: 0.5), sampling: SamplingParameters())
        XCTAssertEqual(try run(alone, count: 40), refSLM)
        XCTAssertEqual(alone.stats.llmTokens, 0)
        XCTAssertEqual(alone.stats.llmForwards, 0)

        for llmThreshold: Float in [0, 0.5, 1] {
            let large = try RStitchDecoder(slm: slm, llm: llm, policy: .fixed(slm: 0, llm: llmThreshold), sampling: SamplingParameters())
            XCTAssertEqual(try run(large, count: 40), refLLM, "llm threshold \(llmThreshold)")
            XCTAssertEqual(large.stats.slmTokens, 0)
            XCTAssertEqual(large.stats.llmTokens, 40)
        }
    }

    func testSamplingAtTheLimitsFollowsEachModelsOwnDraws() throws {
        let (slm, llm) = try models()
        let sampling = SamplingParameters(temperature: 0.8, seed: 7)
        let cases: [(RStitchPolicy, UInt64)] = [(.fixed(slm: .infinity, llm: 0), 11), (.fixed(slm: 0, llm: 0), 12)]
        for (policy, seed) in cases {
            let reference = try Tiny.model("llama", seed: seed, weightScale: 3)
            var sampler = Sampler(sampling)
            var context = prompt
            for _ in 0..<30 {
                let row = try freshLogits(reference, context)
                context.append(row.withUnsafeBufferPointer { sampler.sample($0) })
            }
            let decoder = try RStitchDecoder(slm: slm, llm: llm, policy: policy, sampling: SamplingParameters())
            XCTAssertEqual(try run(decoder, count: 30, sampling: sampling), Array(context.dropFirst(prompt.count)), "\(policy)")
        }
    }

    func testEverySwitchFollowsTheRuleAndTheCachesEqualFreshRuns() throws {
        let (slm, llm) = try models()
        let refSLM = try Tiny.model("llama", seed: 11, weightScale: 3)
        let refLLM = try Tiny.model("llama", seed: 12, weightScale: 3)
        // Thresholds at the median entropies along the SLM's own path, so that both switches happen.
        var context = prompt
        var hs: [Float] = []
        for _ in 0..<30 {
            let row = try freshLogits(refSLM, context)
            hs.append(row.withUnsafeBufferPointer(normalizedEntropy))
            context.append(row.withUnsafeBufferPointer(Sampler.argmax))
        }
        let median = hs.sorted()[hs.count / 2]
        let policy = RStitchPolicy.fixed(slm: median, llm: median)
        let decoder = try RStitchDecoder(slm: slm, llm: llm, policy: policy, sampling: SamplingParameters())
        for request in 0..<2 {
            let out = try run(decoder, count: 48)
            // The rule, recomputed from fresh forwards of the whole context at every token.
            var ctx = prompt
            var writer = RStitchWriter.slm
            var expected: [Int32] = []
            for _ in 0..<48 {
                var token: Int32?
                if writer == .slm {
                    let row = try freshLogits(refSLM, ctx)
                    if row.withUnsafeBufferPointer(normalizedEntropy) >= median { writer = .llm } else {
                        token = row.withUnsafeBufferPointer(Sampler.argmax)
                    }
                }
                if token == nil {
                    let row = try freshLogits(refLLM, ctx)
                    token = row.withUnsafeBufferPointer(Sampler.argmax)
                    if row.withUnsafeBufferPointer(normalizedEntropy) < median { writer = .slm }
                }
                expected.append(token ?? -1)
                ctx.append(token ?? -1)
            }
            XCTAssertEqual(out, expected, "request \(request)")
            let s = decoder.stats
            XCTAssertGreaterThanOrEqual(s.switchesToLLM, 2, "\(s)")
            XCTAssertGreaterThanOrEqual(s.switchesToSLM, 2, "\(s)")
            XCTAssertEqual(s.slmTokens + s.llmTokens, 48)
            // Catch-ups are batched: fewer LLM forwards than LLM tokens plus switches would need one by one.
            XCTAssertLessThan(s.llmEvaluatedTokens - s.llmTokens, s.llmEvaluatedTokens)
            // Both caches, caught up, give what fresh runs of the whole context give, bit for bit.
            XCTAssertEqual(try decoder.catchUp(.slm), try freshLogits(refSLM, decoder.context))
            XCTAssertEqual(try decoder.catchUp(.llm), try freshLogits(refLLM, decoder.context))
        }
    }

    func testTheAdaptiveThresholdFollowsTheTargetShare() throws {
        let (slm, llm) = try models()
        var shares: [Float: Double] = [:]
        for target: Float in [0.1, 0.9] {
            let decoder = try RStitchDecoder(slm: slm, llm: llm, policy: .adaptive(llmShare: target), sampling: SamplingParameters())
            _ = try run(decoder, count: 150)
            shares[target] = decoder.stats.llmTokenShare
            let theta = try XCTUnwrap(decoder.stats.finalThreshold)
            XCTAssertTrue(theta >= 0 && theta <= 1)
        }
        XCTAssertGreaterThan(shares[0.9] ?? 0, (shares[0.1] ?? 1) + 0.2, "\(shares)")
    }

    func testBadPoliciesAndModelsAreRefused() throws {
        let (slm, llm) = try models()
        for policy in [RStitchPolicy.fixed(slm: -1, llm: 0), .fixed(slm: 0, llm: .nan), .adaptive(llmShare: 1.5), .adaptive(llmShare: -0.1)] {
            XCTAssertThrowsError(try RStitchDecoder(slm: slm, llm: llm, policy: policy, sampling: SamplingParameters())) { error in
                guard case SpeculationError.invalidParameter = error else { return XCTFail("\(error)") }
            }
        }
        XCTAssertThrowsError(try RStitchDecoder(slm: llm, llm: llm, policy: .fixed(slm: 0.5, llm: 0.5), sampling: SamplingParameters()))
        let decoder = try RStitchDecoder(slm: slm, llm: llm, policy: .fixed(slm: 0.5, llm: 0.5), sampling: SamplingParameters())
        XCTAssertThrowsError(try decoder.step()) { XCTAssertEqual($0 as? SpeculationError, .notStarted) }
        XCTAssertThrowsError(try decoder.start(prompt: [])) { XCTAssertEqual($0 as? SpeculationError, .emptyPrompt) }
        XCTAssertThrowsError(try decoder.start(prompt: [1, 100_000]))
        XCTAssertThrowsError(try decoder.start(prompt: [Int32](repeating: 1, count: slm.contextLength + 1)))
    }
}
