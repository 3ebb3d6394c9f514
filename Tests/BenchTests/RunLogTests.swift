import Foundation
import XCTest
import SpecDecEngine
import SpecDecTestSupport
@testable import SpecDecBench

/// `runs.jsonl`: written line by line, read back for `--resume`, tolerant of a run killed while
/// writing its last line, strict about anything else.
final class RunLogTests: XCTestCase {
    private func record(_ id: Int, _ method: String) -> RunRecord {
        var s = SpeculationStats()
        s.record(drafted: 4, accepted: 3, draftSeconds: 0.01, verifySeconds: 0.02)
        return RunRecord(questionID: .int(id), category: "qa", method: method, tokens: [5, 6, 7], turnTokens: [2, 1],
                         seconds: 0.25, prefillSeconds: 0.05, speculation: method == "ar" ? SpeculationStats() : s,
                         stopReasons: ["eos", "max_tokens"])
    }

    func testRecordsRoundTripThroughRunsJsonlWithTheContractedFields() throws {
        let path = TinyModel.temporaryPath(name: "runs.jsonl")
        let log = try RunLog(path: path)
        try log.append(record(1, "ar"))
        try log.append(record(1, "lookup"))
        let read = try RunLog.read(path: path)
        XCTAssertEqual(read.records, [record(1, "ar"), record(1, "lookup")])
        XCTAssertFalse(read.droppedPartialLine)
        let firstLine = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")[1]
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(firstLine.utf8)) as? [String: Any])
        for key in ["question_id", "category", "method", "tokens", "generated_tokens", "seconds", "drafted", "accepted",
                    "draft_steps", "acceptance_by_position"] {
            XCTAssertNotNil(object[key], key)
        }
        XCTAssertEqual(object["acceptance_by_position"] as? [Double], [1, 1, 1, 0])
        XCTAssertEqual(object["generated_tokens"] as? Int, 3)
    }

    func testAMissingLogReadsAsEmpty() throws {
        XCTAssertEqual(try RunLog.read(path: "/nonexistent/runs.jsonl").records, [])
    }

    func testAnUnfinishedLastLineIsDroppedAndTheRestKept() throws {
        let path = TinyModel.temporaryPath(name: "runs.jsonl")
        let log = try RunLog(path: path)
        try log.append(record(1, "ar"))
        try log.append(record(2, "ar"))
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: path))
        _ = try handle.seekToEnd()
        try handle.write(contentsOf: Data(#"{"question_id": 3, "category": "q"#.utf8))
        try handle.close()
        let read = try RunLog.read(path: path)
        XCTAssertEqual(read.records.map(\.questionID), [.int(1), .int(2)])
        XCTAssertTrue(read.droppedPartialLine)
        // Reopening with the kept records leaves a clean file to append to.
        let reopened = try RunLog(path: path, keeping: read.records)
        try reopened.append(record(3, "ar"))
        let again = try RunLog.read(path: path)
        XCTAssertEqual(again.records.map(\.questionID), [.int(1), .int(2), .int(3)])
        XCTAssertFalse(again.droppedPartialLine)
    }

    func testAMalformedLineInTheMiddleIsAnErrorWithItsLineNumber() throws {
        let path = TinyModel.temporaryPath(name: "runs.jsonl")
        let good = String(decoding: try JSONEncoder().encode(record(1, "ar")), as: UTF8.self)
        try (good + "\n{\"question_id\": 2}\n" + good + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try RunLog.read(path: path)) { e in
            guard case .malformedLine(_, let line, _)? = e as? RunLogError else { return XCTFail("\(e)") }
            XCTAssertEqual(line, 2)
        }
    }

    func testResumingRefusesADifferentModelTokenBudgetOrSampling() {
        let a = BenchConfiguration(model: "m", modelPath: "/m", draftModel: nil, dataset: "d", methods: ["ar"], categories: nil,
                                   limit: nil, perCategory: nil, prompts: 3, maxTokens: 128, temperature: 0, seed: 0,
                                   threads: 2, context: 4096, warmUpTokens: 16)
        var b = a
        b.methods = ["ar", "lookup"]
        b.limit = 10
        XCTAssertNil(b.resumeMismatch(with: a))
        b.maxTokens = 64
        b.temperature = 0.5
        XCTAssertEqual(b.resumeMismatch(with: a), "max tokens was 128, now 64; temperature was 0.0, now 0.5")
        let path = TinyModel.temporaryPath(name: "config.json")
        XCTAssertNoThrow(try a.write(path: path))
        XCTAssertEqual(BenchConfiguration.read(path: path), a)
    }

    func testResumingRefusesAnotherKernelSetAndReadsConfigurationsWithoutOne() throws {
        let a = BenchConfiguration(model: "m", modelPath: "/m", draftModel: nil, dataset: "d", methods: ["ar"], categories: nil,
                                   limit: nil, perCategory: nil, prompts: 3, maxTokens: 128, temperature: 0, seed: 0,
                                   threads: 2, context: 4096, warmUpTokens: 16, cpu: "AMD EPYC", kernels: "avx512")
        var b = a
        b.kernels = "avx2"
        XCTAssertEqual(b.resumeMismatch(with: a), "kernels was avx512, now avx2")
        // a configuration written before the kernel set was recorded still resumes
        var old = a
        old.kernels = nil
        old.cpu = nil
        XCTAssertNil(b.resumeMismatch(with: old))
        let json = String(decoding: try JSONEncoder().encode(old), as: UTF8.self)
        XCTAssertFalse(json.contains("kernels"))
        XCTAssertEqual(try JSONDecoder().decode(BenchConfiguration.self, from: Data(json.utf8)), old)
    }
}
