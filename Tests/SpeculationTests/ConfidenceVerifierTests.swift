import Foundation
import XCTest
import SpecDecKernels
import SpecDecModel
import SpecDecSpeculation

/// Confidence-modulated verification: its rule on synthetic rows, λ = 0 as greedy, trees as chains,
/// and a draft model recording its confidences.
final class ConfidenceVerifierTests: XCTestCase {
    static let vocabulary = 8

    /// Verifies `draft` against `rows` ([rows][vocabulary]) held in buffers for the call.
    private func run<V: Verifier>(_ verifier: inout V, _ draft: Draft, _ rows: [[Float]], tree: Bool = false) -> Verification {
        let buffers = rows.map { row -> UnsafeMutableBufferPointer<Float> in
            let b = UnsafeMutableBufferPointer<Float>.allocate(capacity: row.count)
            _ = b.initialize(from: row)
            return b
        }
        defer { buffers.forEach { $0.deallocate() } }
        var sampler = Sampler(SamplingParameters())
        let get: (Int) -> UnsafeBufferPointer<Float> = { UnsafeBufferPointer(buffers[$0]) }
        return tree ? verifier.verifyTree(draft: draft, rows: get, sampler: &sampler) : verifier.verify(draft: draft, rows: get, sampler: &sampler)
    }

    func testTheRuleAcceptsAConfidentNearMissAndNothingElse() throws {
        var v = try ConfidenceVerifier(tolerance: 1)
        XCTAssertFalse(v.isLossless)
        let rows: [[Float]] = [[4, 3.5, 2, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 1]]
        // Token 1 is 0.5 nats below the top: kept when the drafter's confidence c ≥ 0.5 (λ·c ≥ 0.5).
        XCTAssertEqual(run(&v, Draft(tokens: [1], confidences: [0.9]), rows), Verification(acceptedCount: 1, nextToken: 7))
        XCTAssertEqual(run(&v, Draft(tokens: [1], confidences: [0.5]), rows), Verification(acceptedCount: 1, nextToken: 7))
        XCTAssertEqual(run(&v, Draft(tokens: [1], confidences: [0.4]), rows), Verification(acceptedCount: 0, nextToken: 0))
        // No confidence recorded (prompt lookup): greedy.
        XCTAssertEqual(run(&v, Draft(tokens: [1]), rows), Verification(acceptedCount: 0, nextToken: 0))
        // Token 2 is 2 nats below: even a certain drafter is refused at λ = 1, accepted at λ = 2.
        XCTAssertEqual(run(&v, Draft(tokens: [2], confidences: [1]), rows), Verification(acceptedCount: 0, nextToken: 0))
        var wide = try ConfidenceVerifier(tolerance: 2)
        XCTAssertEqual(run(&wide, Draft(tokens: [2], confidences: [1]), rows), Verification(acceptedCount: 1, nextToken: 7))
        XCTAssertThrowsError(try ConfidenceVerifier(tolerance: -1))
        XCTAssertThrowsError(try ConfidenceVerifier(tolerance: .nan))
    }

    func testZeroToleranceIsExactlyGreedyAndTreesAreChains() throws {
        var rng = SplitMix64(seed: 5)
        var greedy = GreedyVerifier()
        var strict = try ConfidenceVerifier(tolerance: 0)
        var loose = try ConfidenceVerifier(tolerance: 1.5)
        var looser = 0, greedyTotal = 0
        for trial in 0..<500 {
            // Coarse logits, so ties are common (greedy breaks them by the lower id).
            let rows = (0..<5).map { _ in (0..<Self.vocabulary).map { _ in (Float.random(in: -2...2, using: &rng) * 2).rounded() } }
            let tokens = rows.dropLast().map { row -> Int32 in
                rng.next() % 3 == 0 ? Int32(rng.next() % UInt64(Self.vocabulary)) : row.withUnsafeBufferPointer(Sampler.argmax)
            }
            let draft = Draft(tokens: tokens, confidences: tokens.map { _ in Float(rng.next() % 100) / 99 })
            let g = run(&greedy, draft, rows)
            XCTAssertEqual(run(&strict, draft, rows), g, "trial \(trial)")
            let l = run(&loose, draft, rows)
            XCTAssertGreaterThanOrEqual(l.acceptedCount, g.acceptedCount)
            XCTAssertEqual(l.nextToken, rows[l.acceptedCount].withUnsafeBufferPointer(Sampler.argmax))
            // A chain-shaped tree gives the chain's result.
            var chainTree = draft
            chainTree.parents = tokens.indices.map { $0 - 1 }
            XCTAssertEqual(run(&loose, chainTree, rows, tree: true), l, "trial \(trial)")
            looser += l.acceptedCount
            greedyTotal += g.acceptedCount
        }
        XCTAssertGreaterThan(looser, greedyTotal, "a positive tolerance must accept more than greedy somewhere")
    }

    func testADraftModelRecordsItsConfidenceWhenAsked() throws {
        let target = try Tiny.model("llama", seed: 1)
        let draft = try Tiny.model("llama", seed: 2, weightScale: 2)
        let drafter = try DraftModelDrafter(draft: draft, target: target)
        let prompt: [Int32] = [5, 9, 14, 3, 7]
        try drafter.begin(prompt: prompt)
        XCTAssertNil(try drafter.draft(context: prompt, maxTokens: 4, sampling: SamplingParameters()).confidences)
        drafter.recordsConfidence = true
        let d = try drafter.draft(context: prompt, maxTokens: 4, sampling: SamplingParameters())
        let c = try XCTUnwrap(d.confidences)
        XCTAssertEqual(c.count, d.tokens.count)
        XCTAssertTrue(c.allSatisfy { $0 >= 0 && $0 <= 1 }, "\(c)")
        // The first token's confidence is the rule applied to the draft's logits after the prompt.
        let fresh = try Tiny.model("llama", seed: 2, weightScale: 2)
        let logits = try fresh.forward(prompt, logits: .last)
        XCTAssertEqual(c[0], ConfidencePolicy().confidence(logits[logits.rows - 1]), accuracy: 1e-6)
        // Trees carry one confidence per node.
        let tree = try drafter.draftTree(context: prompt, budget: TreeBudget(maxNodes: 6, maxDepth: 3, maxWidth: 2),
                                         sampling: SamplingParameters())
        XCTAssertEqual(tree.confidences?.count, tree.tokens.count)
    }

    func testSpeculationWithZeroToleranceEqualsPlainGreedy() throws {
        let target = try Tiny.model("qwen2", seed: 3, weightScale: 2)
        try assertSpeculationMatchesPlainGreedy(target, prompt: [1, 2, 3, 4, 5, 6], newTokens: 24, "confidence λ = 0",
                                                draftLengths: [4]) { t in
            let d = try DraftModelDrafter(draft: try Tiny.model("qwen2", seed: 4, weightScale: 2), target: t)
            d.recordsConfidence = true
            return d
        }
        // And through the decoder with the confidence verifier itself.
        let draftModel = try Tiny.model("qwen2", seed: 4, weightScale: 2)
        let drafter = try DraftModelDrafter(draft: draftModel, target: target)
        drafter.recordsConfidence = true
        let decoder = try SpeculativeDecoder(target: target, drafter: drafter, verifier: try ConfidenceVerifier(tolerance: 0),
                                             sampling: SamplingParameters(), draftLength: 4)
        let reference = try Tiny.greedy(target, prompt: [1, 2, 3, 4, 5, 6], count: 24)
        XCTAssertEqual(try decoder.generate(prompt: [1, 2, 3, 4, 5, 6], maxNewTokens: 24), reference)
    }
}
