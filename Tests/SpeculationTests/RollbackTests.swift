import XCTest
import SpecDecModel
import SpecDecSpeculation
import SpecDecTestSupport

/// Rejected draft tokens must leave no trace: after many rejections both caches equal fresh runs.
final class RollbackTests: XCTestCase {
    private func assertCache(_ model: Transformer, equalsAFreshRunOver tokens: [Int32], _ label: String) throws {
        XCTAssertEqual(model.position, tokens.count, label)
        let rolled = model.cache.snapshot()
        model.reset()
        _ = try model.forward(tokens, logits: .last)
        let fresh = model.cache.snapshot()
        XCTAssertLessThanOrEqual(maxAbsDifference(rolled.keys, fresh.keys), 1e-5, "\(label) keys")
        XCTAssertLessThanOrEqual(maxAbsDifference(rolled.values, fresh.values), 1e-5, "\(label) values")
    }

    func testCachesAfterManyRejectedDraftsEqualFreshRunsOverTheCommittedTokens() throws {
        for arch in ["llama", "gemma3"] {
            for sampling in [SamplingParameters(), SamplingParameters(temperature: 1, seed: 5)] {
                let label = "\(arch), temperature \(sampling.temperature)"
                let target = try Tiny.model(arch, seed: 3)
                let draft = try Tiny.model(arch, seed: 77)  // different weights: most drafts are rejected
                let drafter = try DraftModelDrafter(draft: draft, target: target)
                let decoder = try SpeculativeDecoder(target: target, drafter: drafter, verifier: SpeculativeSamplingVerifier(),
                                                     sampling: sampling, draftLength: 5)
                try decoder.start(prompt: [1, 2, 3, 4, 5, 6, 7])
                var generated = 0
                while generated < 30 { generated += try decoder.step().count }
                XCTAssertGreaterThan(decoder.stats.drafted - decoder.stats.accepted, 20, "\(label): too few rejections")
                // Target: every committed token but the pending one.
                try assertCache(target, equalsAFreshRunOver: Array(decoder.context.dropLast()), "\(label) target")
                // Draft: whatever it says it holds, which is a prefix of the context plus drafts.
                XCTAssertGreaterThan(drafter.cachedTokens.count, 7, label)
                try assertCache(draft, equalsAFreshRunOver: drafter.cachedTokens, "\(label) draft")
                drafter.reset()
                // A fresh draft resyncs to the full context, which then equals a fresh run over it.
                _ = try drafter.draft(context: decoder.context, maxTokens: 1, sampling: sampling)
                XCTAssertEqual(drafter.cachedTokens, decoder.context, label)
                try assertCache(draft, equalsAFreshRunOver: decoder.context, "\(label) resynced draft")
            }
        }
    }

    func testRollbackAfterAStopDropsTheTokensAndTheirCacheEntries() throws {
        let target = try Tiny.model("qwen2", seed: 3)
        let decoder = try SpeculativeDecoder(target: target, drafter: try PromptLookupDrafter(minNgram: 1), verifier: GreedyVerifier(),
                                             sampling: SamplingParameters(), draftLength: 4)
        let prompt: [Int32] = [9, 8, 7, 9, 8, 7, 9]
        let reference = try Tiny.greedy(target, prompt: prompt, count: 20)
        let stop = reference[6]
        let output = try decoder.generate(prompt: prompt, maxNewTokens: 20, stopTokens: [stop])
        let cut = reference.firstIndex(of: stop).map { $0 + 1 } ?? reference.count
        XCTAssertEqual(output, Array(reference[..<cut]))
        XCTAssertEqual(decoder.context, prompt + output)
        XCTAssertEqual(target.position, decoder.context.count - 1)
        try assertCache(target, equalsAFreshRunOver: Array(decoder.context.dropLast()), "after the stop")
    }
}
