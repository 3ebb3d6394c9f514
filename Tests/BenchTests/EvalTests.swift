import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
import SpecDecBench

/// `specdec eval`'s model-free parts: GSM8K loading, answer extraction and scoring, Wilson
/// intervals, `runs.jsonl` records and the report. Expected figures are worked out by hand (or with
/// an independent calculation noted beside them), not by calling the code under test.
final class EvalTests: XCTestCase {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    private func temporaryPath(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("specdec-eval-\(UUID().uuidString)-\(name)").path
    }

    private func evalError(_ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) -> EvalError? {
        do {
            try body()
            XCTFail("no error was thrown", file: file, line: line)
        } catch let e as EvalError {
            return e
        } catch {
            XCTFail("not an EvalError: \(error)", file: file, line: line)
        }
        return nil
    }

    // MARK: - Data set

    func testProblemsAreParsedWithTheirReferencesAndBlankLinesSkipped() throws {
        let text = """
            {"question": "How many legs do 2 cats have?", "answer": "2 * 4 = <<2*4=8>>8\\n#### 8"}

            {"question": "A big number?", "answer": "It is large.\\n#### 1,000", "extra": 3}
               \t
            {"question": "Below zero?", "answer": "Cold.\\n####  -5 "}

            """
        let dataset = try GSM8KDataset(jsonl: text)
        XCTAssertEqual(dataset.problems, [
            GSM8KProblem(index: 0, question: "How many legs do 2 cats have?", solution: "2 * 4 = <<2*4=8>>8\n#### 8", reference: "8"),
            GSM8KProblem(index: 1, question: "A big number?", solution: "It is large.\n#### 1,000", reference: "1000"),
            GSM8KProblem(index: 2, question: "Below zero?", solution: "Cold.\n####  -5 ", reference: "-5"),
        ])
        XCTAssertEqual(dataset.select(limit: 2).map(\.index), [0, 1])
        XCTAssertEqual(dataset.select(limit: nil).count, 3)
        XCTAssertEqual(dataset.select(limit: 0), [])
        XCTAssertEqual(dataset.select(limit: 10).count, 3)
    }

    func testAMalformedLineIsRefusedWithItsLineNumber() {
        let text = "{\"question\": \"q\", \"answer\": \"#### 1\"}\n\n{\"question\": \"q\", \"answer\": \n"
        guard case .badJSON(let line, _)? = evalError({ _ = try GSM8KDataset(jsonl: text) }) else {
            return XCTFail("expected badJSON")
        }
        XCTAssertEqual(line, 3)
        guard case .badJSON(line: 1, _)? = evalError({ _ = try GSM8KDataset(jsonl: "[1, 2]") }) else {
            return XCTFail("an array is not a problem")
        }
    }

    func testMissingOrMistypedFieldsAreNamed() {
        let good = "{\"question\": \"q\", \"answer\": \"#### 1\"}\n"
        XCTAssertEqual(evalError { _ = try GSM8KDataset(jsonl: good + "{\"question\": \"q\"}") },
                       .missingField(line: 2, field: "answer"))
        XCTAssertEqual(evalError { _ = try GSM8KDataset(jsonl: "{\"answer\": \"#### 1\"}") },
                       .missingField(line: 1, field: "question"))
        XCTAssertEqual(evalError { _ = try GSM8KDataset(jsonl: "{\"question\": 5, \"answer\": \"#### 1\"}") },
                       .wrongType(line: 1, field: "question", expected: "a string"))
        XCTAssertEqual(evalError { _ = try GSM8KDataset(jsonl: "{\"question\": \" \", \"answer\": \"#### 1\"}") },
                       .emptyField(line: 1, field: "question"))
    }

    func testAnAnswerWithoutAFinalNumberAfterTheMarkerIsRefused() {
        XCTAssertEqual(evalError { _ = try GSM8KDataset(jsonl: "\n{\"question\": \"q\", \"answer\": \"The answer is 5\"}") },
                       .missingAnswerMarker(line: 2))
        XCTAssertEqual(evalError { _ = try GSM8KDataset(jsonl: "{\"question\": \"q\", \"answer\": \"so #### five\"}") },
                       .badReference(line: 1, text: "five"))
        XCTAssertEqual(evalError { _ = try GSM8KDataset(jsonl: "{\"question\": \"q\", \"answer\": \"####\"}") },
                       .badReference(line: 1, text: ""))
    }

    func testFilesAreReadAndAnEmptyOrMissingFileIsAnError() throws {
        let path = temporaryPath("gsm.jsonl")
        try "{\"question\": \"q\", \"answer\": \"#### 12\"}\n".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertEqual(try GSM8KDataset(path: path).problems.map(\.reference), ["12"])
        let empty = temporaryPath("empty.jsonl")
        try "\n\n".write(toFile: empty, atomically: true, encoding: .utf8)
        XCTAssertEqual(evalError { _ = try GSM8KDataset(path: empty) }, .noProblems(path: empty))
        guard case .unreadable(let missing, _)? = evalError({ _ = try GSM8KDataset(path: "/nonexistent/gsm8k.jsonl") }) else {
            return XCTFail("expected unreadable")
        }
        XCTAssertEqual(missing, "/nonexistent/gsm8k.jsonl")
        XCTAssertTrue(EvalError.missingAnswerMarker(line: 4).description.contains("line 4"))
    }

    func testTheBundledTestSetParsesAndEachSolutionScoresAsCorrect() throws {
        let path = Self.repositoryRoot.appendingPathComponent(GSM8KDataset.defaultRelativePath).path
        let dataset = try GSM8KDataset(path: path)
        XCTAssertEqual(dataset.problems.count, 1000)
        XCTAssertEqual(dataset.problems.first?.reference, "18")
        XCTAssertTrue(dataset.problems.first?.question.hasPrefix("Janet") ?? false)
        XCTAssertEqual(dataset.problems.map(\.index), Array(0..<1000))
        // The reference solution ends with its answer, so it must score as correct.
        for p in dataset.problems {
            XCTAssertTrue(GSM8K.isCorrect(GSM8K.extractAnswer(from: p.solution), reference: p.reference), "problem \(p.index)")
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: Self.repositoryRoot.appendingPathComponent("Data/gsm8k/LICENSE").path))
    }

    func testTheDefaultDataSetIsFoundInTheCurrentDirectoryOrAboveTheExecutable() {
        let root = Self.repositoryRoot.path
        let expected = Self.repositoryRoot.appendingPathComponent("Data/gsm8k/test.jsonl").path
        XCTAssertEqual(GSM8KDataset.locateDefault(currentDirectory: root, executablePath: nil), expected)
        XCTAssertEqual(GSM8KDataset.locateDefault(currentDirectory: "/", executablePath: root + "/.build/release/specdec"), expected)
        XCTAssertNil(GSM8KDataset.locateDefault(currentDirectory: "/", executablePath: "/usr/bin/specdec"))
    }

    // MARK: - Prompt and scoring

    func testTheUserMessageIsTheQuestionABlankLineAndTheInstruction() {
        let p = GSM8KProblem(index: 0, question: "What is 2 + 2?", solution: "#### 4", reference: "4")
        XCTAssertEqual(GSM8K.userMessage(for: p), "What is 2 + 2?\n\n" + GSM8K.instruction)
        XCTAssertTrue(GSM8K.instruction.contains("The answer is N."))
        XCTAssertTrue(GSM8K.instruction.lowercased().contains("step by step"))
    }

    func testTheLastNumberOfTheOutputIsExtractedAndNormalized() {
        let cases: [(String, String?)] = [
            ("The answer is 72.", "72"),
            ("$1,234.50", "1234.5"),
            ("-3", "-3"),
            ("5.00", "5"),
            ("no number", nil),
            ("", nil),
            ("First 3 apples, then 4 more, so 7 in all. The answer is 19.", "19"),
            ("72.", "72"),
            ("2.50 dollars", "2.5"),
            ("She pays $-5, then -$6", "-6"),
            ("10-5", "5"),
            ("x = -0", "0"),
            ("x = −4", "-4"),
            ("+7", "7"),
            ("1,2,3", "3"),
            ("12,345,678 people", "12345678"),
            ("1234,567", "567"),
            ("The answer is 0.5.", "0.5"),
            ("about .75 of it", "0.75"),
            ("007", "7"),
            ("3.14.", "3.14"),
            ("50% off", "50"),
            ("The answer is 18.\n\nQuestion: Tom has 3 cats", "3"),
        ]
        for (output, expected) in cases {
            XCTAssertEqual(GSM8K.extractAnswer(from: output), expected, "\(output)")
        }
    }

    func testNumbersAreNormalizedToOneSpelling() {
        let cases: [(String, String?)] = [
            ("5.00", "5"), ("2.50", "2.5"), ("-0", "0"), ("-0.0", "0"), ("+3", "3"), ("$1,234", "1234"), ("-$5", "-5"),
            ("0042", "42"), (" 72 ", "72"), ("72.", "72"), (".5", "0.5"), ("abc", nil), ("", nil), ("1.2.3", nil), ("-", nil),
            ("5 apples", nil),
        ]
        for (text, expected) in cases { XCTAssertEqual(GSM8K.normalize(number: text), expected, "\(text)") }
    }

    func testAnswersAreComparedAsNumbers() {
        XCTAssertTrue(GSM8K.isCorrect("72", reference: "72"))
        XCTAssertTrue(GSM8K.isCorrect("72.0", reference: "72"))
        XCTAssertTrue(GSM8K.isCorrect("72.00", reference: "72"))
        XCTAssertTrue(GSM8K.isCorrect("1,000", reference: "1000"))
        XCTAssertTrue(GSM8K.isCorrect("$18", reference: "18"))
        XCTAssertTrue(GSM8K.isCorrect("0.5", reference: ".5"))
        XCTAssertTrue(GSM8K.isCorrect("-0", reference: "0"))
        XCTAssertFalse(GSM8K.isCorrect(nil, reference: "5"))
        XCTAssertFalse(GSM8K.isCorrect("5", reference: "6"))
        XCTAssertFalse(GSM8K.isCorrect("-5", reference: "5"))
        XCTAssertFalse(GSM8K.isCorrect("7.2", reference: "72"))
        XCTAssertFalse(GSM8K.isCorrect("abc", reference: "5"))
        XCTAssertFalse(GSM8K.isCorrect("18", reference: "abc"))
    }

    // MARK: - Wilson interval

    func testTheWilsonIntervalMatchesKnownValues() {
        // Reference values from the closed form evaluated independently (and the published 8/10 example).
        let cases: [(Int, Int, Double, Double)] = [
            (8, 10, 0.490162, 0.943318),
            (0, 10, 0, 0.277533),
            (10, 10, 0.722467, 1),
            (50, 100, 0.403832, 0.596168),
            (1, 2, 0.094531, 0.905469),
        ]
        for (k, n, low, high) in cases {
            let ci = Accuracy.wilson(correct: k, total: n)
            XCTAssertEqual(ci.low, low, accuracy: 1e-5, "\(k)/\(n)")
            XCTAssertEqual(ci.high, high, accuracy: 1e-5, "\(k)/\(n)")
        }
        XCTAssertEqual(Accuracy.wilson(correct: 0, total: 10).low, 0)
        XCTAssertEqual(Accuracy.wilson(correct: 10, total: 10).high, 1)
        let none = Accuracy.wilson(correct: 0, total: 0)
        XCTAssertEqual(none.low, 0)
        XCTAssertEqual(none.high, 1)
        // A wider z gives a wider interval.
        let z3 = Accuracy.wilson(correct: 8, total: 10, z: 3)
        XCTAssertLessThan(z3.low, 0.490162)
        XCTAssertGreaterThan(z3.high, 0.943318)
    }

    // MARK: - Records and runs.jsonl

    private let routed = EvalRecord(problem: 3, method: "route", output: "… The answer is 72.", extracted: "72", reference: "72",
                                    correct: true, tokens: 141, seconds: 2.5, llmTokens: 38, slmTokens: 103, switches: 6)

    func testRecordsRoundTripThroughJSONWithSnakeCaseKeys() throws {
        let data = try JSONEncoder().encode(routed)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertEqual(Set(object.keys), ["problem", "method", "output", "extracted", "reference", "correct", "tokens", "seconds",
                                          "llm_tokens", "slm_tokens", "switches"])
        XCTAssertEqual(object["llm_tokens"] as? Int, 38)
        XCTAssertEqual(object["slm_tokens"] as? Int, 103)
        XCTAssertEqual(try JSONDecoder().decode(EvalRecord.self, from: data), routed)

        let line = #"{"problem": 0, "method": "ar", "output": "none", "reference": "4", "correct": false, "tokens": 9, "seconds": 0.5}"#
        let plain = try JSONDecoder().decode(EvalRecord.self, from: Data(line.utf8))
        XCTAssertEqual(plain, EvalRecord(problem: 0, method: "ar", output: "none", extracted: nil, reference: "4", correct: false,
                                         tokens: 9, seconds: 0.5))
        XCTAssertNil(plain.llmTokens)
    }

    func testARecordBuiltFromAProblemIsScored() {
        let p = GSM8KProblem(index: 7, question: "q", solution: "#### 72", reference: "72")
        let right = EvalRecord(problem: p, method: "ar", output: "70 + 2 = 72.0", tokens: 5, seconds: 1)
        XCTAssertEqual(right.problem, 7)
        XCTAssertEqual(right.extracted, "72")
        XCTAssertEqual(right.reference, "72")
        XCTAssertTrue(right.correct)
        let wrong = EvalRecord(problem: p, method: "ar", output: "I don't know", tokens: 5, seconds: 1)
        XCTAssertNil(wrong.extracted)
        XCTAssertFalse(wrong.correct)
        XCTAssertEqual(right.key, EvalRecord.Key(problem: 7, method: "ar"))
    }

    func testTheRunLogAppendsLinesAndReadsThemBackDroppingAnUnfinishedLastLine() throws {
        let path = temporaryPath("runs.jsonl")
        XCTAssertEqual(try EvalRunLog.read(path: path).records, [])
        let first = EvalRecord(problem: 0, method: "ar", output: "4", extracted: "4", reference: "4", correct: true,
                               tokens: 1, seconds: 0.1)
        do {
            let log = try EvalRunLog(path: path)
            try log.append(first)
            try log.append(routed)
        }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertEqual(text.split(separator: "\n").count, 2)
        XCTAssertTrue(text.hasSuffix("\n"))
        XCTAssertEqual(try EvalRunLog.read(path: path).records, [first, routed])

        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: path))
        _ = try handle.seekToEnd()
        try handle.write(contentsOf: Data(#"{"problem": 1, "meth"#.utf8))
        try handle.close()
        let resumed = try EvalRunLog.read(path: path)
        XCTAssertEqual(resumed.records, [first, routed])
        XCTAssertTrue(resumed.droppedPartialLine)

        // Resuming rewrites the log with the kept records only.
        do {
            let log = try EvalRunLog(path: path, keeping: [first])
            try log.append(routed)
        }
        let reread = try EvalRunLog.read(path: path)
        XCTAssertEqual(reread.records, [first, routed])
        XCTAssertFalse(reread.droppedPartialLine)
    }

    func testAMalformedLineInsideTheRunLogIsAnError() throws {
        let path = temporaryPath("runs.jsonl")
        let good = String(decoding: try JSONEncoder().encode(routed), as: UTF8.self)
        try (good + "\nnot json\n" + good + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try EvalRunLog.read(path: path)) { error in
            guard case RunLogError.malformedLine(_, let line, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(line, 2)
        }
    }

    // MARK: - Report

    /// Four problems. `ar`: 1000 tokens in 100 s (10 tokens/s), 3 correct. `draft`: 200 tokens in
    /// 4 s (50 tokens/s, 5×), 1 correct. `route`: 400 tokens in 20 s (20 tokens/s, 2×), 2 correct,
    /// one without a number, 100 of 400 tokens from the LLM. `lookup`: 400 tokens in 32 s (12.5
    /// tokens/s, 1.25×), 4 correct, no routing counts.
    private func records() -> [EvalRecord] {
        func r(_ problem: Int, _ method: String, _ correct: Bool, tokens: Int, seconds: Double, llm: Int? = nil,
               slm: Int? = nil, extracted: String? = "1") -> EvalRecord {
            EvalRecord(problem: problem, method: method, output: "out", extracted: extracted, reference: "1", correct: correct,
                       tokens: tokens, seconds: seconds, llmTokens: llm, slmTokens: slm, switches: llm == nil ? nil : 2)
        }
        var rs: [EvalRecord] = []
        // A superseded route record (a retried pair): the later one counts.
        rs.append(r(0, "route", false, tokens: 999, seconds: 1, llm: 999, slm: 0))
        for i in 0..<4 {
            rs.append(r(i, "ar", i < 3, tokens: 100 * (i + 1), seconds: 10 * Double(i + 1)))
            rs.append(r(i, "draft", i == 0, tokens: 50, seconds: 1))
            rs.append(r(i, "route", i < 2, tokens: 100, seconds: 5, llm: 10 * (i + 1), slm: 100 - 10 * (i + 1),
                        extracted: i == 3 ? nil : "1"))
            rs.append(r(i, "lookup", true, tokens: 100, seconds: 8))
            rs.append(r(i, "unlisted", true, tokens: 1, seconds: 1))
        }
        return rs
    }

    private let configuration = EvalConfiguration(model: "target-7b", draftModel: "draft-0.5b", maxTokens: 256, temperature: 0,
                                                  seed: 1, threads: 2, cpu: "Test CPU", kernels: "avx2",
                                                  date: "2026-12-05T01:00:00Z", problems: 4,
                                                  methods: ["ar", "draft", "route", "lookup"])

    private func report() -> EvalReport {
        EvalReport(records: records(), configuration: configuration, methods: ["draft", "ar", "route", "lookup"])
    }

    func testSummariesAreRatiosOfTotalsWithArFirst() throws {
        let report = report()
        XCTAssertEqual(report.methods.map(\.method), ["ar", "draft", "route", "lookup"])
        let ar = try XCTUnwrap(report.summary("ar"))
        XCTAssertEqual(ar.problems, 4)
        XCTAssertEqual(ar.correct, 3)
        XCTAssertEqual(ar.accuracy, 0.75, accuracy: 1e-12)
        XCTAssertEqual(ar.accuracyCI95.count, 2)
        XCTAssertEqual(ar.accuracyCI95[0], 0.300642, accuracy: 1e-5)
        XCTAssertEqual(ar.accuracyCI95[1], 0.954413, accuracy: 1e-5)
        XCTAssertEqual(ar.tokensPerSecond, 10, accuracy: 1e-12)
        XCTAssertEqual(ar.speedup, 1)
        XCTAssertEqual(ar.meanOutputTokens, 250, accuracy: 1e-12)
        XCTAssertEqual(ar.llmTokenShare, 1)

        let draft = try XCTUnwrap(report.summary("draft"))
        XCTAssertEqual(draft.accuracy, 0.25, accuracy: 1e-12)
        XCTAssertEqual(draft.tokensPerSecond, 50, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(draft.speedup), 5, accuracy: 1e-12)
        XCTAssertEqual(draft.meanOutputTokens, 50, accuracy: 1e-12)
        XCTAssertEqual(draft.llmTokenShare, 0)

        let route = try XCTUnwrap(report.summary("route"))
        XCTAssertEqual(route.problems, 4)
        XCTAssertEqual(route.correct, 2)
        XCTAssertEqual(route.unanswered, 1)
        XCTAssertEqual(route.accuracy, 0.5, accuracy: 1e-12)
        XCTAssertEqual(route.accuracyCI95[0], 0.150039, accuracy: 1e-5)
        XCTAssertEqual(route.accuracyCI95[1], 0.849961, accuracy: 1e-5)
        XCTAssertEqual(try XCTUnwrap(route.speedup), 2, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(route.llmTokenShare), 0.25, accuracy: 1e-12)

        let lookup = try XCTUnwrap(report.summary("lookup"))
        XCTAssertEqual(lookup.accuracy, 1, accuracy: 1e-12)
        XCTAssertEqual(lookup.accuracyCI95[1], 1)
        XCTAssertEqual(try XCTUnwrap(lookup.speedup), 1.25, accuracy: 1e-12)
        XCTAssertNil(lookup.llmTokenShare)
        XCTAssertNil(report.summary("unlisted"))
    }

    func testRecordsMarkedTimingExcludedCountForAccuracyButNotForSpeed() throws {
        var rs = records()
        // Problem 3 ran beside other work: every method's time there is left out of the speed figures.
        for i in rs.indices where rs[i].problem == 3 { rs[i].timingExcluded = true }
        let report = EvalReport(records: rs, configuration: configuration, methods: ["ar", "draft", "route", "lookup"])
        let ar = try XCTUnwrap(report.summary("ar"))
        XCTAssertEqual(ar.problems, 4)
        XCTAssertEqual(ar.timedProblems, 3)
        XCTAssertEqual(ar.correct, 3, "answers of excluded records still count")
        // ar: (100 + 200 + 300) tokens / (10 + 20 + 30) s; route: 300 / 15.
        XCTAssertEqual(ar.tokensPerSecond, 10, accuracy: 1e-12)
        let route = try XCTUnwrap(report.summary("route"))
        XCTAssertEqual(route.tokensPerSecond, 20, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(route.speedup), 2, accuracy: 1e-12)
        XCTAssertEqual(ar.meanOutputTokens, 250, accuracy: 1e-12, "mean output length over all problems")
        XCTAssertTrue(report.markdown().contains("over 3 of the 4 problems"))
        // The mark survives the run log (resume keeps it); unmarked records omit the key.
        let line = try JSONEncoder().encode(rs.first { $0.problem == 3 })
        XCTAssertTrue(String(decoding: line, as: UTF8.self).contains(#""timing_excluded":true"#))
        XCTAssertFalse(String(decoding: try JSONEncoder().encode(rs[0]), as: UTF8.self).contains("timing_excluded"))
        XCTAssertFalse(self.report().markdown().contains("Speed figures"))
    }

    func testWithoutArThereIsNoSpeedup() throws {
        let report = EvalReport(records: records().filter { $0.method != "ar" }, methods: ["route"])
        XCTAssertNil(try XCTUnwrap(report.summary("route")).speedup)
        let all = EvalReport(records: records())
        XCTAssertEqual(all.methods.map(\.method), ["ar", "route", "draft", "lookup", "unlisted"])
    }

    func testResultsJSONUsesTheContractedKeys() throws {
        let data = try report().json()
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertEqual(object["method_order"] as? [String], ["ar", "draft", "route", "lookup"])
        let config = try XCTUnwrap(object["configuration"] as? [String: Any])
        for key in ["task", "model", "draft_model", "max_tokens", "temperature", "seed", "threads", "cpu", "kernels", "date",
                    "problems", "methods"] {
            XCTAssertNotNil(config[key], key)
        }
        XCTAssertEqual(config["task"] as? String, "gsm8k")
        let methods = try XCTUnwrap(object["methods"] as? [String: Any])
        XCTAssertEqual(Set(methods.keys), ["ar", "draft", "route", "lookup"])
        let route = try XCTUnwrap(methods["route"] as? [String: Any])
        for key in ["accuracy", "accuracy_ci95", "tokens_per_second", "speedup", "mean_output_tokens", "llm_token_share",
                    "problems", "correct"] {
            XCTAssertNotNil(route[key], key)
        }
        XCTAssertEqual((route["accuracy_ci95"] as? [Double])?.count, 2)
        XCTAssertEqual(route["problems"] as? Int, 4)
        XCTAssertEqual(route["correct"] as? Int, 2)
        let lookup = try XCTUnwrap(methods["lookup"] as? [String: Any])
        XCTAssertTrue(lookup["llm_token_share"] is NSNull, "an absent share is written as null")
        XCTAssertEqual(try JSONDecoder().decode(EvalReport.self, from: data), report())
    }

    func testTheMarkdownTableHasAHeaderAndOneRowPerMethod() {
        let md = report().markdown()
        XCTAssertTrue(md.contains("| method | accuracy | 95% CI | tokens/s | speedup | mean output tokens | LLM token share | problems |"))
        XCTAssertTrue(md.contains("| ar | 75.0% | [30.1%, 95.4%] | 10.0 | 1.00x | 250.0 | 100.0% | 4 |"), md)
        XCTAssertTrue(md.contains("| route | 50.0% | [15.0%, 85.0%] | 20.0 | 2.00x | 100.0 | 25.0% | 4 |"), md)
        XCTAssertTrue(md.contains("| lookup | 100.0% |"), md)
        XCTAssertTrue(md.contains("target-7b"))
        XCTAssertTrue(md.contains("draft-0.5b"))
        XCTAssertTrue(md.contains("Test CPU"))
        XCTAssertTrue(md.contains("avx2"))
    }

    /// Element names and text of `svg`, failing the test when it is not well-formed XML.
    private func parse(_ svg: String, file: StaticString = #filePath, line: UInt = #line) -> (elements: [String], text: String) {
        final class Collector: NSObject, XMLParserDelegate {
            var elements: [String] = []
            var text = ""
            func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                        attributes: [String: String] = [:]) { elements.append(name) }
            func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }
        }
        let parser = XMLParser(data: Data(svg.utf8))
        let collector = Collector()
        parser.delegate = collector
        XCTAssertTrue(parser.parse(), "not well-formed XML: \(String(describing: parser.parserError))", file: file, line: line)
        return (collector.elements, collector.text)
    }

    func testTheAccuracyVsSpeedupPlotHasOnePointPerMethod() {
        let svg = Plots.accuracyVsSpeedupChart(report())
        let body = svg.drop(while: { $0 != "\n" }).dropFirst()   // after the XML declaration
        XCTAssertTrue(body.hasPrefix("<svg"))
        XCTAssertTrue(svg.hasSuffix("</svg>\n"))
        let (elements, text) = parse(svg)
        XCTAssertEqual(elements.first, "svg")
        XCTAssertEqual(elements.filter { $0 == "circle" }.count, 4)
        for label in ["ar", "draft", "route", "lookup"] { XCTAssertTrue(text.contains(label), label) }
        XCTAssertTrue(svg.contains("stroke-dasharray"), "ar's accuracy line")
        XCTAssertTrue(text.contains("ar accuracy 75.0%"))
    }

    func testWriteProducesTheThreeFiles() throws {
        let dir = temporaryPath("eval-out")
        let paths = try report().write(to: dir)
        XCTAssertEqual(paths.map { URL(fileURLWithPath: $0).lastPathComponent },
                       ["results.json", "results.md", "accuracy_vs_speedup.svg"])
        for path in paths { XCTAssertTrue(FileManager.default.fileExists(atPath: path), path) }
    }

    func testResumeRefusesAnotherModelBudgetOrSamplingButNotOtherMethodsOrProblems() {
        let base = EvalConfiguration(model: "m", draftModel: "d", maxTokens: 320, temperature: 0, seed: 0, threads: 2,
                                     problems: 40, methods: ["ar", "draft"])
        var more = base
        more.problems = 60
        more.methods = ["ar", "draft", "rstitch"]
        XCTAssertNil(more.resumeMismatch(with: base))
        var budget = base
        budget.maxTokens = 256
        XCTAssertEqual(budget.resumeMismatch(with: base), "max tokens was 320, now 256")
        var model = base
        model.model = "other"
        XCTAssertNotNil(model.resumeMismatch(with: base))
        var sampling = base
        sampling.temperature = 0.7
        XCTAssertNotNil(sampling.resumeMismatch(with: base))
    }
}
