import Foundation
import XCTest
import SpecDecKernels
import SpecDecSpeculation

/// Verifiers on synthetic logits: cheap, so the statistical checks use many samples.
final class VerifierTests: XCTestCase {
    static let vocabulary = 8

    /// Random logits rows, [rows][vocabulary].
    private func randomRows(_ count: Int, scale: Float = 2, rng: inout SplitMix64) -> [[Float]] {
        (0..<count).map { _ in (0..<Self.vocabulary).map { _ in Float.random(in: -scale...scale, using: &rng) } }
    }

    private func verify<V: Verifier>(_ verifier: inout V, _ draft: Draft, _ rows: [[Float]], _ sampler: inout Sampler) -> Verification {
        verifier.verify(draft: draft, rows: Rows(rows).callAsFunction, sampler: &sampler)
    }

    private func distribution(_ row: [Float], _ parameters: SamplingParameters) -> TokenDistribution {
        row.withUnsafeBufferPointer { Sampler.distribution($0, parameters) }
    }

    private func dictionary(_ d: TokenDistribution) -> [Int32: Double] {
        Dictionary(uniqueKeysWithValues: zip(d.tokens, d.probabilities.map(Double.init)))
    }

    /// Logits rows held in buffers for the whole test, [rows][vocabulary].
    private final class Rows {
        let buffers: [UnsafeMutableBufferPointer<Float>]
        init(_ rows: [[Float]]) {
            buffers = rows.map { row in
                let b = UnsafeMutableBufferPointer<Float>.allocate(capacity: row.count)
                _ = b.initialize(from: row)
                return b
            }
        }
        deinit { buffers.forEach { $0.deallocate() } }
        func callAsFunction(_ i: Int) -> UnsafeBufferPointer<Float> { UnsafeBufferPointer(buffers[i]) }
    }

    /// Drafts `k` tokens (from q: the target's rows plus noise, or the target's argmaxes as point
    /// masses), verifies them `samples` times, and compares the first committed token with p₀ and
    /// the token after an accepted first draft token with p₁ (a verified draft token when k = 2, the
    /// bonus token when k = 1): total variation below the threshold derived from the sample size
    /// (``tvThreshold(_:samples:delta:)``, failure probability 1e-3). Returns the first token's TV
    /// and its threshold.
    @discardableResult
    private func assertVerifierFollowsTheTarget(_ parameters: SamplingParameters, pointMass: Bool, k: Int = 2, samples n: Int,
                                                file: StaticString = #filePath, line: UInt = #line) -> (tv: Double, threshold: Double) {
        var rng = SplitMix64(seed: 42)
        let logits = randomRows(k + 1, rng: &rng)
        let rows = Rows(logits)
        let qs = logits.dropLast().map { row in distribution(row.map { $0 + Float.random(in: -1...1, using: &rng) }, parameters) }
        let argmaxes = logits.dropLast().map { $0.withUnsafeBufferPointer(Sampler.argmax) }
        var verifier = SpeculativeSamplingVerifier()
        var sampler = Sampler(SamplingParameters(temperature: parameters.temperature, topK: parameters.topK,
                                                 topP: parameters.topP, minP: parameters.minP, seed: 7))
        var first: [Int32: Int] = [:]
        var second: [Int32: Int] = [:]
        var secondTotal = 0
        for _ in 0..<n {
            let draft = pointMass
                ? Draft(tokens: argmaxes)
                : Draft(tokens: qs.map { $0.draw(Float(rng.next() >> 40) / Float(1 << 24)) }, distributions: qs)
            let v = verifier.verify(draft: draft, rows: rows.callAsFunction, sampler: &sampler)
            first[v.acceptedCount > 0 ? draft.tokens[0] : v.nextToken, default: 0] += 1
            if v.acceptedCount >= 1 {
                second[v.acceptedCount > 1 ? draft.tokens[1] : v.nextToken, default: 0] += 1
                secondTotal += 1
            }
        }
        let p0 = dictionary(distribution(logits[0], parameters))
        let p1 = dictionary(distribution(logits[1], parameters))
        let tv0 = totalVariation(first, total: n, p0), threshold = tvThreshold(p0, samples: n, delta: 1e-3)
        XCTAssertLessThan(tv0, threshold, "first token", file: file, line: line)
        guard secondTotal > n / 10 else { XCTFail("too few accepted drafts: \(secondTotal)", file: file, line: line); return (tv0, threshold) }
        XCTAssertLessThan(totalVariation(second, total: secondTotal, p1), tvThreshold(p1, samples: secondTotal, delta: 1e-3),
                          "token after an accepted draft token", file: file, line: line)
        return (tv0, threshold)
    }

    func testTopProbabilityIsTheLargestSoftmaxProbability() {
        var state: UInt64 = 7
        for n in [1, 15, 16, 17, 1000, 151_936] {
            let logits = (0..<n).map { _ -> Float in
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return Float(Int64(bitPattern: state >> 11) % 2000) / 100 - 10
            }
            let mx = logits.max()!
            let reference = 1 / logits.reduce(0.0) { $0 + exp(Double($1 - mx)) }
            let p = logits.withUnsafeBufferPointer { Sampler.topProbability($0) }
            XCTAssertEqual(Double(p), reference, accuracy: 1e-5 * max(reference, 1e-3), "n = \(n)")
        }
        XCTAssertEqual([Float(3), 3].withUnsafeBufferPointer { Sampler.topProbability($0) }, 0.5)
        XCTAssertEqual([-Float.infinity, 2].withUnsafeBufferPointer { Sampler.topProbability($0) }, 1)
        XCTAssertEqual([Float]().withUnsafeBufferPointer { Sampler.topProbability($0) }, 0)
    }

    func testSpeculativeSamplingVerifierFollowsTheTargetWithDraftDistributions() {
        // 200k samples over 8 tokens: TV < 0.01 (the derived threshold is below 0.01 too).
        let result = assertVerifierFollowsTheTarget(SamplingParameters(temperature: 1), pointMass: false, k: 1, samples: 200_000)
        XCTAssertLessThan(result.tv, 0.01)
        XCTAssertLessThan(result.threshold, 0.01)
        assertVerifierFollowsTheTarget(SamplingParameters(temperature: 1), pointMass: false, k: 2, samples: 25_000)
    }

    func testSpeculativeSamplingVerifierFollowsTheTargetWithPointMassDrafts() {
        assertVerifierFollowsTheTarget(SamplingParameters(temperature: 0.8), pointMass: true, samples: 25_000)
    }

    func testSpeculativeSamplingVerifierFollowsTheTargetWithTopKTopPAndMinP() {
        assertVerifierFollowsTheTarget(SamplingParameters(temperature: 1, topK: 4), pointMass: false, samples: 25_000)
        assertVerifierFollowsTheTarget(SamplingParameters(temperature: 1, topP: 0.7), pointMass: false, samples: 25_000)
        assertVerifierFollowsTheTarget(SamplingParameters(temperature: 1.5, minP: 0.2), pointMass: true, samples: 25_000)
    }

    func testSpeculativeSamplingWithGreedyParametersIsGreedyVerification() {
        var rng = SplitMix64(seed: 3)
        var greedy = GreedyVerifier()
        var sampling = SpeculativeSamplingVerifier()
        var sampler = Sampler(SamplingParameters(temperature: 0))
        for trial in 0..<500 {
            let rows = randomRows(5, scale: 1, rng: &rng)
            // Drafts that often agree with the argmax, so every acceptance count occurs.
            let tokens = rows.dropLast().map { row in
                rng.next() % 3 == 0 ? Int32(rng.next() % UInt64(Self.vocabulary)) : row.withUnsafeBufferPointer(Sampler.argmax)
            }
            let draft = Draft(tokens: tokens)
            XCTAssertEqual(verify(&sampling, draft, rows, &sampler), verify(&greedy, draft, rows, &sampler), "trial \(trial)")
        }
    }

    func testGreedyVerifierAcceptsTheLongestArgmaxPrefixThenCorrectsOrAddsTheBonus() {
        var greedy = GreedyVerifier()
        var sampler = Sampler(SamplingParameters())
        let rows: [[Float]] = [[0, 5, 1, 1, 0, 0, 0, 0], [2, 2, 0, 0, 0, 0, 0, 0], [0, 0, 0, 9, 0, 0, 0, 0]]
        // Argmaxes 1, 0 (tie goes to the lower id), 3.
        XCTAssertEqual(verify(&greedy, Draft(tokens: [1, 0]), rows, &sampler), Verification(acceptedCount: 2, nextToken: 3))
        XCTAssertEqual(verify(&greedy, Draft(tokens: [1, 1]), rows, &sampler), Verification(acceptedCount: 1, nextToken: 0))
        XCTAssertEqual(verify(&greedy, Draft(tokens: [2, 0]), rows, &sampler), Verification(acceptedCount: 0, nextToken: 1))
        XCTAssertEqual(verify(&greedy, Draft(tokens: []), rows, &sampler), Verification(acceptedCount: 0, nextToken: 1))
        XCTAssertTrue(greedy.isLossless)
    }

    func testTopBetaWithBetaOneEqualsGreedyOnTheSameDraftAndRows() throws {
        var rng = SplitMix64(seed: 11)
        var greedy = GreedyVerifier()
        var topBeta = try TopBetaVerifier(beta: 1, tau: 100)
        var sampler = Sampler(SamplingParameters())
        for trial in 0..<1000 {
            // Coarse logits, so ties are common.
            let rows = randomRows(5, rng: &rng).map { $0.map { ($0 * 2).rounded() } }
            let tokens = rows.dropLast().map { row in
                rng.next() % 4 == 0 ? Int32(rng.next() % UInt64(Self.vocabulary)) : row.withUnsafeBufferPointer(Sampler.argmax)
            }
            let draft = Draft(tokens: tokens)
            XCTAssertEqual(verify(&topBeta, draft, rows, &sampler), verify(&greedy, draft, rows, &sampler), "trial \(trial)")
        }
    }

    func testTopBetaWithLargerBetaAcceptsAtLeastAsMuchAsGreedyAndIsLossy() throws {
        var greedy = GreedyVerifier()
        var sampler = Sampler(SamplingParameters())
        var totals: [Int: Int] = [:]
        for beta in [1, 2, 3, 8] {
            var topBeta = try TopBetaVerifier(beta: beta, tau: 3)
            XCTAssertFalse(topBeta.isLossless)
            var local = SplitMix64(seed: 99)
            for _ in 0..<500 {
                let rows = randomRows(5, rng: &local)
                let draft = Draft(tokens: (0..<4).map { _ in Int32(local.next() % UInt64(Self.vocabulary)) })
                let a = verify(&topBeta, draft, rows, &sampler)
                let g = verify(&greedy, draft, rows, &sampler)
                XCTAssertGreaterThanOrEqual(a.acceptedCount, g.acceptedCount)
                // Correction and bonus tokens are the target's argmax.
                XCTAssertEqual(a.nextToken, rows[a.acceptedCount].withUnsafeBufferPointer(Sampler.argmax))
                totals[beta, default: 0] += a.acceptedCount
            }
        }
        XCTAssertLessThan(totals[1] ?? 0, totals[2] ?? 0)
        XCTAssertLessThanOrEqual(totals[2] ?? 0, totals[3] ?? 0)
    }

    func testTopBetaRejectsTokensOutsideTheLogProbabilityTolerance() throws {
        var verifier = try TopBetaVerifier(beta: 3, tau: 1)
        var sampler = Sampler(SamplingParameters())
        let rows: [[Float]] = [[4, 3.5, 2, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 1]]
        // Token 1 is second and 0.5 below the top: accepted. Token 2 is third but 2 below: rejected.
        XCTAssertEqual(verify(&verifier, Draft(tokens: [1]), rows, &sampler), Verification(acceptedCount: 1, nextToken: 7))
        XCTAssertEqual(verify(&verifier, Draft(tokens: [2]), rows, &sampler), Verification(acceptedCount: 0, nextToken: 0))
        XCTAssertThrowsError(try TopBetaVerifier(beta: 0, tau: 1))
        XCTAssertThrowsError(try TopBetaVerifier(beta: 1, tau: -1))
    }
}
