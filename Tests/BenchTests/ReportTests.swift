import Foundation
import XCTest
import SpecDecEngine
@testable import SpecDecBench

/// The report's maths on synthetic runs: ratios of totals, merged speculation counts, exact match
/// against `ar`, and Spec-Bench's family grouping.
final class ReportTests: XCTestCase {
    private func stats(steps: Int, rounds: [(drafted: Int, accepted: Int)]) -> SpeculationStats {
        var s = SpeculationStats()
        for r in rounds { s.record(drafted: r.drafted, accepted: r.accepted) }
        for _ in 0..<max(0, steps - rounds.count) { s.record(drafted: 0, accepted: 0) }
        return s
    }

    /// q1 (writing) and q2 (qa): `ar` runs both at 10 tokens/s; `lookup` is twice as fast on q1 and
    /// half as fast on q2, matches `ar` on q1 only.
    private func records() -> [RunRecord] {
        let q1Out: [Int32] = Array(repeating: 7, count: 100), q2Out: [Int32] = Array(repeating: 9, count: 50)
        return [
            RunRecord(questionID: .int(1), category: "writing", method: "ar", tokens: q1Out, turnTokens: [60, 40], seconds: 10),
            RunRecord(questionID: .int(1), category: "writing", method: "lookup", tokens: q1Out, turnTokens: [60, 40], seconds: 5,
                      speculation: stats(steps: 2, rounds: [(4, 4), (4, 2)])),
            RunRecord(questionID: .int(2), category: "qa", method: "ar", tokens: q2Out, turnTokens: [50], seconds: 5),
            RunRecord(questionID: .int(2), category: "qa", method: "lookup", tokens: q2Out.dropLast() + [1], turnTokens: [50],
                      seconds: 10, speculation: stats(steps: 4, rounds: [(2, 0), (2, 1)])),
        ]
    }

    private var methods: [MethodSpec] { get throws { try MethodSpec.parseList("lookup") } }

    func testSpeedupIsTheRatioOfTotalTokensOverTotalTimePerFamilyAndOverall() throws {
        let report = BenchReport(records: records(), methods: try methods, greedy: true)
        let lookup = try XCTUnwrap(report.summary("lookup"))
        XCTAssertEqual(lookup.families["multi_turn_conversation"]?.speedup ?? 0, 2.0, accuracy: 1e-12)
        XCTAssertEqual(lookup.families["qa"]?.speedup ?? 0, 0.5, accuracy: 1e-12)
        // 150 tokens in 15 s against 150 in 15 s: 1.0, not the mean of the ratios (1.25).
        XCTAssertEqual(lookup.overall.speedup ?? 0, 1.0, accuracy: 1e-12)
        XCTAssertEqual(lookup.overall.tokensPerSecond, 10, accuracy: 1e-12)
        XCTAssertEqual(lookup.overall.generatedTokens, 150)
        XCTAssertEqual(lookup.overall.seconds, 15)
        XCTAssertEqual(lookup.overall.prompts, 2)
        let ar = try XCTUnwrap(report.summary("ar"))
        XCTAssertEqual(ar.overall.speedup, 1)
        XCTAssertNil(ar.overall.meanAccepted)
        XCTAssertNil(ar.overall.exactMatchRate)
    }

    /// Prefill seconds come out of the decode figures: `ar` 10 s of which 4 s prefill, `lookup` 5 s
    /// of which 4 s prefill on the same 100 tokens: 2x overall, 6x decoding alone, and no method can
    /// beat 10 / 4 = 2.5x there.
    func testDecodeSpeedupLeavesOutPrefillAndTheCeilingIsArOverItsPrefill() throws {
        let out: [Int32] = Array(repeating: 7, count: 100)
        let records = [
            RunRecord(questionID: .int(1), category: "qa", method: "ar", tokens: out, turnTokens: [100], seconds: 10, prefillSeconds: 4),
            RunRecord(questionID: .int(1), category: "qa", method: "lookup", tokens: out, turnTokens: [100], seconds: 5, prefillSeconds: 4,
                      speculation: stats(steps: 1, rounds: [(4, 4)])),
        ]
        let report = BenchReport(records: records, methods: try methods, greedy: true)
        let lookup = try XCTUnwrap(report.summary("lookup")).overall
        XCTAssertEqual(lookup.speedup ?? 0, 2, accuracy: 1e-12)
        XCTAssertEqual(lookup.prefillSeconds, 4)
        XCTAssertEqual(lookup.decodeTokensPerSecond, 100, accuracy: 1e-12)
        XCTAssertEqual(lookup.decodeSpeedup ?? 0, 6, accuracy: 1e-12)
        XCTAssertEqual(lookup.speedupCeiling ?? 0, 2.5, accuracy: 1e-12)
        let ar = try XCTUnwrap(report.summary("ar")).overall
        XCTAssertEqual(ar.decodeSpeedup ?? 0, 1, accuracy: 1e-12)
        XCTAssertEqual(ar.decodeTokensPerSecond, 100.0 / 6, accuracy: 1e-12)
        let md = report.markdown()
        XCTAssertTrue(md.contains("### Decode speedup over ar (prefill excluded)"))
        XCTAssertTrue(md.contains("| *ceiling (decoding in no time)* | 2.50x | 2.50x |"), md)
        // Runs recorded without prefill times have no ceiling (and decode figures equal the totals).
        let old = BenchReport(records: self.records(), methods: try methods, greedy: true)
        XCTAssertNil(old.summary("lookup")?.overall.speedupCeiling)
        XCTAssertEqual(old.summary("lookup")?.overall.decodeSpeedup ?? 0, 1, accuracy: 1e-12)
        // Keys are in the JSON, and a summary written before them still reads.
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(lookup)) as? [String: Any]
        for key in ["prefill_seconds", "decode_tokens_per_second", "decode_speedup", "speedup_ceiling"] { XCTAssertNotNil(json?[key], key) }
        var trimmed = try XCTUnwrap(json)
        for key in ["prefill_seconds", "decode_tokens_per_second", "decode_speedup", "speedup_ceiling"] { trimmed[key] = nil }
        let back = try JSONDecoder().decode(GroupSummary.self, from: JSONSerialization.data(withJSONObject: trimmed))
        XCTAssertEqual(back.prefillSeconds, 0)
        XCTAssertNil(back.decodeSpeedup)
    }

    func testTauAndAcceptanceComeFromTheMergedCounts() throws {
        let lookup = try XCTUnwrap(BenchReport(records: records(), methods: try methods, greedy: true).summary("lookup"))
        // 6 steps, 12 drafted, 7 accepted: τ = (7 + 6) / 6, acceptance 7 / 12.
        XCTAssertEqual(lookup.overall.meanAccepted ?? 0, 13.0 / 6, accuracy: 1e-12)
        XCTAssertEqual(lookup.overall.acceptanceRate ?? 0, 7.0 / 12, accuracy: 1e-12)
        XCTAssertEqual(lookup.families["multi_turn_conversation"]?.meanAccepted ?? 0, 4.0, accuracy: 1e-12)
        XCTAssertEqual(lookup.families["qa"]?.acceptanceRate ?? 0, 0.25, accuracy: 1e-12)
        // By position: drafted [4, 4, 2, 2], accepted [3, 2, 1, 1] over all prompts.
        XCTAssertEqual(lookup.overall.speculation?.draftedByPosition, [4, 4, 2, 2])
        XCTAssertEqual(lookup.overall.speculation?.acceptedByPosition, [3, 2, 1, 1])
    }

    func testExactMatchCountsPromptsWhoseTokensEqualTheBaselineAndFlagsLosslessMethods() throws {
        let report = BenchReport(records: records(), methods: try methods, greedy: true)
        let lookup = try XCTUnwrap(report.summary("lookup"))
        XCTAssertEqual(lookup.overall.exactMatchRate, 0.5)
        XCTAssertEqual(lookup.overall.exactMatches, 1)
        XCTAssertEqual(lookup.overall.compared, 2)
        XCTAssertEqual(lookup.families["multi_turn_conversation"]?.exactMatchRate, 1)
        XCTAssertEqual(lookup.families["qa"]?.exactMatchRate, 0)
        XCTAssertEqual(report.losslessMismatches, ["lookup"])
        XCTAssertTrue(report.markdown().contains("⚠ lossless methods whose greedy output differs from ar's: lookup"))
        // A lossy method may differ: it is reported but not flagged.
        let lossy = records().map { r -> RunRecord in var r = r; if r.method == "lookup" { r.method = "lookup:v=top-beta" }; return r }
        let lossyReport = BenchReport(records: lossy, methods: try MethodSpec.parseList("lookup:v=top-beta"), greedy: true)
        XCTAssertEqual(lossyReport.summary("lookup:v=top-beta")?.overall.exactMatchRate, 0.5)
        XCTAssertEqual(lossyReport.losslessMismatches, [])
    }

    func testSamplingRunsReportNoExactMatch() throws {
        let report = BenchReport(records: records(), methods: try methods, greedy: false)
        XCTAssertNil(report.summary("lookup")?.overall.exactMatchRate)
        XCTAssertEqual(report.losslessMismatches, [])
        XCTAssertTrue(report.markdown().contains("n/a (sampling)"))
    }

    func testCategoriesAreGroupedIntoSpecBenchFamiliesInSpecBenchOrder() throws {
        var rs = records()
        for m in ["ar", "lookup"] {
            rs.append(RunRecord(questionID: .int(3), category: "roleplay", method: m, tokens: [1, 2], turnTokens: [1, 1], seconds: 1))
            rs.append(RunRecord(questionID: .int(4), category: "custom", method: m, tokens: [1], turnTokens: [1], seconds: 1))
            rs.append(RunRecord(questionID: .int(5), category: "math_reasoning", method: m, tokens: [1], turnTokens: [1], seconds: 1))
        }
        let report = BenchReport(records: rs, methods: try methods, greedy: true)
        XCTAssertEqual(report.familyOrder, ["multi_turn_conversation", "qa", "math_reasoning", "custom"])
        XCTAssertEqual(report.categoryOrder, ["writing", "qa", "roleplay", "custom", "math_reasoning"])
        let lookup = try XCTUnwrap(report.summary("lookup"))
        XCTAssertEqual(lookup.families["multi_turn_conversation"]?.prompts, 2)
        XCTAssertEqual(lookup.categories["roleplay"]?.prompts, 1)
        XCTAssertEqual(SpecBenchFamily.of(category: "humanities"), .multiTurnConversation)
        XCTAssertEqual(SpecBenchFamily.groupKey(forCategory: "rag"), "rag")
        XCTAssertTrue(report.markdown().contains("### Per category"))
    }

    func testRecordsOfMethodsNotAskedForAreLeftOut() throws {
        var rs = records()
        rs.append(RunRecord(questionID: .int(1), category: "writing", method: "suffix", tokens: [1], turnTokens: [1], seconds: 1))
        let report = BenchReport(records: rs, methods: try methods, greedy: true)
        XCTAssertEqual(report.methods.map(\.method), ["ar", "lookup"])
    }

    func testResultsJSONHasTheContractedFieldsPerMethodAndFamily() throws {
        let config = BenchConfiguration(model: "m", modelPath: "/m.gguf", draftModel: nil, dataset: "d", methods: ["ar", "lookup"],
                                        categories: nil, limit: nil, perCategory: nil, prompts: 2, maxTokens: 128,
                                        temperature: 0, seed: 0, threads: 2, context: 4096, warmUpTokens: 16)
        let report = BenchReport(records: records(), methods: try methods, greedy: true, configuration: config)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: try report.json()) as? [String: Any])
        XCTAssertEqual(json["method_order"] as? [String], ["ar", "lookup"])
        XCTAssertEqual((json["configuration"] as? [String: Any])?["max_tokens"] as? Int, 128)
        let methods = try XCTUnwrap(json["methods"] as? [String: Any])
        let lookup = try XCTUnwrap(methods["lookup"] as? [String: Any])
        let qa = try XCTUnwrap((lookup["families"] as? [String: Any])?["qa"] as? [String: Any])
        for key in ["tokens_per_second", "speedup", "mean_accepted", "acceptance_rate", "exact_match_rate", "prompts",
                    "generated_tokens", "seconds"] {
            XCTAssertNotNil(qa[key], key)
        }
        XCTAssertEqual(qa["speedup"] as? Double, 0.5)
        XCTAssertNotNil(lookup["overall"] as? [String: Any])
        let arOverall = try XCTUnwrap((methods["ar"] as? [String: Any])?["overall"] as? [String: Any])
        XCTAssertTrue(arOverall["mean_accepted"] is NSNull)
        // It reads back.
        XCTAssertEqual(try JSONDecoder().decode(BenchReport.self, from: try report.json()), report)
    }

    func testTheMarkdownHasOneRowPerMethodAndTheSpeedups() throws {
        let md = BenchReport(records: records(), methods: try methods, greedy: true).markdown()
        XCTAssertTrue(md.contains("| method | Multi-turn conversation | QA | Overall |"))
        XCTAssertTrue(md.contains("| lookup | 2.00x | 0.50x | 1.00x |"))
        XCTAssertTrue(md.contains("50.0% (1/2)"))
    }
}
