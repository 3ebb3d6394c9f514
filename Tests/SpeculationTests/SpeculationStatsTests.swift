import XCTest
import Foundation
import SpecDecSpeculation

final class SpeculationStatsTests: XCTestCase {
    /// Rounds of (drafted, accepted): 4 drafted / 4 accepted, 4/1, 2/0, 0/0 (nothing drafted), 3/3.
    private func sample() -> SpeculationStats {
        var s = SpeculationStats()
        for (d, a) in [(4, 4), (4, 1), (2, 0), (0, 0), (3, 3)] { s.record(drafted: d, accepted: a, draftSeconds: 0.5, verifySeconds: 1.5) }
        return s
    }

    func testCountsAndRatesFollowTheirDefinitions() {
        let s = sample()
        XCTAssertEqual(s.draftSteps, 5)
        XCTAssertEqual(s.drafted, 13)
        XCTAssertEqual(s.accepted, 8)
        // τ counts the correction or bonus token of every step: (8 + 5) / 5.
        XCTAssertEqual(s.meanAccepted, 13.0 / 5.0, accuracy: 1e-12)
        XCTAssertEqual(s.acceptanceRate, 8.0 / 13.0, accuracy: 1e-12)
        XCTAssertEqual(s.meanDraftLength, 13.0 / 5.0, accuracy: 1e-12)
        XCTAssertEqual(s.draftedByPosition, [4, 4, 3, 2])
        XCTAssertEqual(s.acceptedByPosition, [3, 2, 2, 1])
        XCTAssertEqual(s.acceptanceByPosition, [0.75, 0.5, 2.0 / 3.0, 0.5])
        XCTAssertEqual(s.draftSeconds, 2.5, accuracy: 1e-12)
        XCTAssertEqual(s.verifySeconds, 7.5, accuracy: 1e-12)
        XCTAssertEqual(s.draftTimeFraction, 0.25, accuracy: 1e-12)
    }

    func testEmptyStatsHaveZeroRates() {
        let s = SpeculationStats()
        XCTAssertEqual(s.meanAccepted, 0)
        XCTAssertEqual(s.acceptanceRate, 0)
        XCTAssertEqual(s.acceptanceByPosition, [])
        XCTAssertEqual(s.draftTimeFraction, 0)
    }

    func testMergingEqualsRecordingEveryRoundInOne() {
        var a = SpeculationStats()
        a.record(drafted: 4, accepted: 4, draftSeconds: 0.5, verifySeconds: 1.5)
        a.record(drafted: 4, accepted: 1, draftSeconds: 0.5, verifySeconds: 1.5)
        var b = SpeculationStats()
        for (d, n) in [(2, 0), (0, 0), (3, 3)] { b.record(drafted: d, accepted: n, draftSeconds: 0.5, verifySeconds: 1.5) }
        var merged = b
        merged.merge(a)  // the longer per-position arrays come second
        XCTAssertEqual(merged, sample())
        a.merge(b)
        XCTAssertEqual(a, sample())
    }

    func testJSONUsesSnakeCaseKeysAndRoundTrips() throws {
        let s = sample()
        let data = try JSONEncoder().encode(s.report)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        // The documented keys (README: `--format json`, bench results), no more and no fewer.
        XCTAssertEqual(Set(object.keys), [
            "draft_steps", "drafted", "accepted", "mean_accepted", "acceptance_rate", "acceptance_by_position",
            "drafted_by_position", "accepted_by_position", "draft_seconds", "verify_seconds", "tree_steps", "tree_nodes",
            "tree_accepted", "mean_tree_nodes", "mean_tree_accepted", "max_tree_nodes", "speculation_off",
            "speculation_off_rate", "probes", "verified_sizes"])
        XCTAssertEqual(object["mean_accepted"] as? Double ?? 0, 2.6, accuracy: 1e-12)
        XCTAssertEqual((object["acceptance_by_position"] as? [Double])?.first, 0.75)
        XCTAssertEqual(object["draft_steps"] as? Int, 5)
        XCTAssertEqual(try JSONDecoder().decode(SpeculationStats.self, from: data), s)
        // The stats' own encoding is the counts alone, and reads back the same.
        let counts = try XCTUnwrap(try JSONSerialization.jsonObject(with: try JSONEncoder().encode(s)) as? [String: Any])
        XCTAssertNil(counts["mean_accepted"])
        XCTAssertEqual(try JSONDecoder().decode(SpeculationStats.self, from: try JSONEncoder().encode(s)), s)
    }

    func testCountsMissingFromOlderFilesReadAsZero() throws {
        let old = Data(#"{"draft_steps":2,"drafted":5,"accepted":3,"mean_accepted":2.5}"#.utf8)
        let s = try JSONDecoder().decode(SpeculationStats.self, from: old)
        XCTAssertEqual(s.draftSteps, 2)
        XCTAssertEqual(s.accepted, 3)
        XCTAssertEqual(s.meanAccepted, 2.5)
        XCTAssertEqual(s.treeSteps, 0)
        XCTAssertEqual(s.verifiedSizes, [])
        XCTAssertEqual(s.draftSeconds, 0)
    }
}
