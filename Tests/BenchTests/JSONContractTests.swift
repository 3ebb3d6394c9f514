import Foundation
import XCTest
import SpecDecEngine
@testable import SpecDecBench

/// The JSON contracts hold across the move to synthesized `Codable`: every `runs.jsonl` and
/// `results.json` committed under `docs/` (written by earlier versions of this code) reads back, and
/// writing it again gives every key those files have, with the same value.
final class JSONContractTests: XCTestCase {
    private static let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("docs")

    /// Benchmark output folders that hold both a `runs.jsonl` and a `results.json`.
    private func benchFolders() throws -> [URL] {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.docs.path).filter { $0.hasPrefix("bench-") }.sorted()
        return names.map { Self.docs.appendingPathComponent($0) }.filter {
            FileManager.default.fileExists(atPath: $0.appendingPathComponent("runs.jsonl").path)
                && FileManager.default.fileExists(atPath: $0.appendingPathComponent("results.json").path)
        }
    }

    /// Every key of `old` is in `new` with an equal value (numbers exactly), recursively; `new` may
    /// have more keys. Returns the differences, as paths.
    private func missingOrChanged(old: Any, new: Any, path: String = "") -> [String] {
        switch (old, new) {
        case (let o as [String: Any], let n as [String: Any]):
            return o.flatMap { key, value -> [String] in
                guard let nv = n[key] else { return ["\(path).\(key) missing"] }
                return missingOrChanged(old: value, new: nv, path: "\(path).\(key)")
            }
        case (let o as [Any], let n as [Any]):
            guard o.count == n.count else { return ["\(path) has \(n.count) elements, was \(o.count)"] }
            return zip(o, n).enumerated().flatMap { i, p in missingOrChanged(old: p.0, new: p.1, path: "\(path)[\(i)]") }
        case (is NSNull, is NSNull):
            return []
        case (let o as NSObject, let n as NSObject):
            return o.isEqual(n) ? [] : ["\(path): \(n), was \(o)"]
        default:
            return ["\(path): \(new), was \(old)"]
        }
    }

    private func jsonObject(_ data: Data) throws -> Any { try JSONSerialization.jsonObject(with: data) }

    func testCommittedRunsJsonlLinesReadAndWriteBackWithTheirKeysAndValues() throws {
        let folders = try benchFolders()
        XCTAssertGreaterThan(folders.count, 3, "the committed benchmark outputs under docs/")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var lines = 0
        for folder in folders {
            let text = try String(contentsOf: folder.appendingPathComponent("runs.jsonl"), encoding: .utf8)
            for line in text.split(separator: "\n") {
                let record = try JSONDecoder().decode(RunRecord.self, from: Data(line.utf8))
                let again = try encoder.encode(record)
                let diff = missingOrChanged(old: try jsonObject(Data(line.utf8)), new: try jsonObject(again))
                XCTAssertEqual(diff, [], "\(folder.lastPathComponent): \(record.method) on \(record.questionID)")
                XCTAssertEqual(try JSONDecoder().decode(RunRecord.self, from: again), record)
                lines += 1
            }
        }
        XCTAssertGreaterThan(lines, 100)
    }

    func testCommittedResultsJSONIsReproducedFromItsRunsJsonl() throws {
        for folder in try benchFolders() {
            let old = try Data(contentsOf: folder.appendingPathComponent("results.json"))
            let report = try JSONDecoder().decode(BenchReport.self, from: old)
            let records = try RunLog.read(path: folder.appendingPathComponent("runs.jsonl").path).records
            let methods = try MethodSpec.parseList(report.methodOrder)
            let rebuilt = BenchReport(records: records, methods: methods, greedy: report.greedy, configuration: report.configuration)
            let diff = missingOrChanged(old: try jsonObject(old), new: try jsonObject(try rebuilt.json()))
            XCTAssertEqual(diff, [], folder.lastPathComponent)
            // And the decoded file writes back as it was read.
            let reread = missingOrChanged(old: try jsonObject(old), new: try jsonObject(try report.json()))
            XCTAssertEqual(reread, [], folder.lastPathComponent)
        }
    }

    func testAnOldRunsLineWithoutTheLaterFieldsStillReads() throws {
        // A line as the first benchmark version wrote it: no turn_tokens, prefill, tree or cost-model counts.
        let line = #"{"accepted":3,"acceptance_by_position":[1,0.5],"category":"qa","draft_steps":2,"drafted":4,"generated_tokens":5,"method":"lookup","question_id":7,"seconds":0.5,"tokens":[1,2,3,4,5]}"#
        let r = try JSONDecoder().decode(RunRecord.self, from: Data(line.utf8))
        XCTAssertEqual(r.questionID, .int(7))
        XCTAssertEqual(r.turnTokens, [5], "one turn of all the tokens")
        XCTAssertEqual(r.prefillSeconds, 0)
        XCTAssertEqual(r.speculation.drafted, 4)
        XCTAssertEqual(r.speculation.treeSteps, 0)
        XCTAssertEqual(r.stopReasons, [])
        XCTAssertNil(r.routing)
    }

    func testEvalResultsWriteNullForFiguresThatDoNotApplyAndReadBack() throws {
        let records = [
            EvalRecord(problem: 0, method: "ar", output: "4", extracted: "4", reference: "4", correct: true, tokens: 10, seconds: 1),
            EvalRecord(problem: 0, method: "model:k=4", output: "5", extracted: "5", reference: "4", correct: false,
                       tokens: 10, seconds: 0.5),
        ]
        let report = EvalReport(records: records, methods: ["ar", "model:k=4"])
        let data = try JSONEncoder().encode(report)
        let json = try XCTUnwrap(try jsonObject(data) as? [String: Any])
        XCTAssertEqual(json["method_order"] as? [String], ["ar", "model:k=4"])
        let model = try XCTUnwrap((json["methods"] as? [String: Any])?["model:k=4"] as? [String: Any])
        XCTAssertEqual(Set(model.keys), ["method", "problems", "correct", "unanswered", "accuracy", "accuracy_ci95", "tokens",
                                         "seconds", "timed_problems", "tokens_per_second", "speedup", "mean_output_tokens", "llm_token_share"])
        XCTAssertTrue(model["llm_token_share"] is NSNull)
        XCTAssertEqual(model["speedup"] as? Double, 2)
        XCTAssertEqual(try JSONDecoder().decode(EvalReport.self, from: data), report)
    }
}
