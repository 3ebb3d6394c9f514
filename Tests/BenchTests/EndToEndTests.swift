import Foundation
import XCTest
import SpecDecEngine
import SpecDecTestSupport
@testable import SpecDecBench

/// A tiny benchmark on a tiny random model: every method runs, the files are written, lossless
/// methods reproduce `ar` exactly, and a resumed run only measures what is missing.
final class EndToEndTests: XCTestCase {
    private static let dataset = """
        {"question_id": 1, "category": "writing", "turns": ["Write the the the.", "Again, shorter."]}
        {"question_id": 2, "category": "qa", "turns": ["Why then then?"]}
        {"question_id": 3, "category": "translation", "turns": ["in an in an in an"]}
        """

    private func models() throws -> (LoadedModel, LoadedModel) {
        var spec = TinyModel.Spec(architecture: "qwen2")
        spec.weightScale = 4
        spec.context = 512
        let path = try TinyModel.write(spec)
        // The draft is the same file loaded again: the drafter owns the draft model's KV cache.
        return (try LoadedModel(path: path, contextLength: 512, threads: 2), try LoadedModel(path: path, contextLength: 512, threads: 2))
    }

    func testATinyRunWritesEveryFileAndLosslessMethodsMatchPlainDecodingExactly() throws {
        let (target, draft) = try models()
        let prompts = try BenchDataset(jsonl: Self.dataset).prompts
        let methods = try MethodSpec.parseList("lookup,suffix,model:k=4")
        let runner = try BenchRunner(target: target, draft: draft, methods: methods,
                                     options: BenchRunOptions(maxTokens: 12, warmUpTokens: 4))
        let dir = TinyModel.temporaryPath(name: "bench-out")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let log = try RunLog(path: dir + "/runs.jsonl")
        var progressed: [BenchProgress] = []
        let records = try runner.run(prompts: prompts, onRecord: { try log.append($0) }, progress: { progressed.append($0) })

        // Interleaved prompt by prompt: ar, then each method.
        XCTAssertEqual(records.map(\.method), Array(repeating: ["ar", "lookup", "suffix", "model:k=4"], count: 3).flatMap { $0 })
        XCTAssertEqual(records.map(\.questionID), [1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3].map { QuestionID.int($0) })
        XCTAssertTrue(records.filter { $0.questionID == .int(1) }.allSatisfy { $0.turnTokens.count == 2 && $0.stopReasons.count == 2 })
        XCTAssertTrue(records.allSatisfy { $0.generatedTokens > 0 && $0.seconds > 0 })
        XCTAssertTrue(records.allSatisfy { $0.turnTokens.reduce(0, +) == $0.generatedTokens && $0.turnTokens.allSatisfy { $0 <= 12 } })
        XCTAssertTrue(records.filter { $0.method != "ar" }.allSatisfy { $0.speculation.draftSteps > 0 })
        XCTAssertTrue(progressed.contains { $0.phase == .warmUp })
        XCTAssertEqual(progressed.filter { $0.phase == .running && $0.finished }.count, 4 * 4)  // 4 turns x 4 methods

        let report = BenchReport(records: records, methods: runner.methods, greedy: true)
        for m in report.methods where m.method != "ar" {
            XCTAssertEqual(m.overall.exactMatchRate, 1, "\(m.method) differs from ar")
            XCTAssertEqual(m.overall.compared, 3)
            XCTAssertNotNil(m.overall.speedup)
            XCTAssertGreaterThanOrEqual(m.overall.meanAccepted ?? 0, 1)
        }
        XCTAssertEqual(report.familyOrder, ["multi_turn_conversation", "translation", "qa"])
        let written = try report.write(to: dir)
        for name in ["results.json", "results.md", "speedup.svg", "acceptance.svg", "runs.jsonl"] {
            let size = (try? FileManager.default.attributesOfItem(atPath: dir + "/" + name)[.size] as? Int) ?? 0
            XCTAssertGreaterThan(size, 0, name)
        }
        XCTAssertEqual(written.count, 4)
        XCTAssertEqual(try RunLog.read(path: dir + "/runs.jsonl").records, records)
        XCTAssertTrue(try String(contentsOfFile: dir + "/results.md", encoding: .utf8).contains("| model:k=4 |"))
    }

    func testAResumedRunMeasuresOnlyTheMissingPairsAndReusesTheRecordedNumbers() throws {
        let (target, draft) = try models()
        let prompts = try BenchDataset(jsonl: Self.dataset).prompts
        let runner = try BenchRunner(target: target, draft: draft, methods: try MethodSpec.parseList("lookup,model:k=2"),
                                     options: BenchRunOptions(maxTokens: 6, warmUpTokens: 0))
        let first = try runner.run(prompts: Array(prompts.prefix(2)))
        XCTAssertEqual(first.count, 6)
        var fresh: [RunRecord] = []
        let all = try runner.run(prompts: prompts, resumed: Array(first.prefix(5)), onRecord: { fresh.append($0) })
        XCTAssertEqual(fresh.map(\.key), [RunKey(questionID: .int(2), method: "model:k=2")]
                       + ["ar", "lookup", "model:k=2"].map { RunKey(questionID: .int(3), method: $0) })
        XCTAssertEqual(Array(all.prefix(5)), Array(first.prefix(5)))  // reused as recorded, timings included
        XCTAssertEqual(all[5].tokens, first[5].tokens)                 // re-measured, same output
        XCTAssertEqual(all.count, 9)
    }

    func testAModelMethodNeedsASeparatelyLoadedDraftModel() throws {
        let (target, _) = try models()
        XCTAssertThrowsError(try BenchRunner(target: target, draft: nil, methods: try MethodSpec.parseList("model"))) { e in
            XCTAssertEqual(e as? BenchError, .missingDraftModel(method: "model"))
        }
        XCTAssertThrowsError(try BenchRunner(target: target, draft: target, methods: try MethodSpec.parseList("model"))) { e in
            XCTAssertEqual(e as? BenchError, .draftIsTarget)
        }
        // A greedy verifier cannot verify sampled drafts.
        XCTAssertThrowsError(try BenchRunner(target: target, methods: try MethodSpec.parseList("lookup:v=greedy"),
                                             options: BenchRunOptions(sampling: SamplingParameters(temperature: 0.8))))
    }

    func testAPromptLongerThanTheContextIsAnErrorNamingTheQuestion() throws {
        var spec = TinyModel.Spec(architecture: "qwen2")
        spec.context = 64
        let target = try LoadedModel(path: try TinyModel.write(spec), contextLength: 64, threads: 1)
        let runner = try BenchRunner(target: target, methods: [], options: BenchRunOptions(maxTokens: 4, warmUpTokens: 0))
        let long = BenchPrompt(id: .int(42), category: "qa", turns: [String(repeating: "x", count: 200)])
        XCTAssertThrowsError(try runner.run(prompts: [long])) { e in
            guard case .promptTooLong(let id, 1, _, 64)? = e as? BenchError else { return XCTFail("\(e)") }
            XCTAssertEqual(id, "42")
        }
    }
}
