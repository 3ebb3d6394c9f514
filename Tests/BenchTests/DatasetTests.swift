import Foundation
import XCTest
@testable import SpecDecBench

/// Parsing `question.jsonl`: good rows, the bundled Spec-Bench file, and malformed lines that must
/// be refused with an error naming the line.
final class DatasetTests: XCTestCase {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    private func error(parsing text: String) -> DatasetError? {
        do {
            _ = try BenchDataset(jsonl: text)
            return nil
        } catch let e as DatasetError {
            return e
        } catch {
            XCTFail("unexpected error \(error)")
            return nil
        }
    }

    func testRowsParseIntoPromptsWithTheirTurnsAndIgnoreExtraFields() throws {
        let text = """
            {"question_id": 81, "category": "writing", "turns": ["Write a poem.", "Now shorter."], "reference": ["x"]}
            {"question_id": "q-2", "category": "qa", "turns": ["Why is the sky blue?"]}
            """
        let d = try BenchDataset(jsonl: text)
        XCTAssertEqual(d.prompts, [
            BenchPrompt(id: .int(81), category: "writing", turns: ["Write a poem.", "Now shorter."]),
            BenchPrompt(id: .string("q-2"), category: "qa", turns: ["Why is the sky blue?"]),
        ])
        XCTAssertEqual(d.categories, ["writing", "qa"])
    }

    func testBadJSONIsReportedWithItsLineNumber() {
        let text = """
            {"question_id": 1, "category": "qa", "turns": ["a"]}
            {"question_id": 2, "category": "qa", "turns": ["b"]
            """
        guard case .badJSON(let line, _)? = error(parsing: text) else { return XCTFail("expected badJSON") }
        XCTAssertEqual(line, 2)
        XCTAssertTrue(error(parsing: text)?.description.contains("line 2") ?? false)
    }

    func testALineThatIsNotAnObjectIsBadJSON() {
        XCTAssertEqual(error(parsing: "[1, 2]").map { if case .badJSON(1, _) = $0 { return true } else { return false } }, true)
    }

    func testMissingFieldsAreNamedWithTheirLineNumber() {
        let base = #"{"question_id": 1, "category": "qa", "turns": ["a"]}"#
        XCTAssertEqual(error(parsing: base + "\n" + #"{"category": "qa", "turns": ["a"]}"#), .missingField(line: 2, field: "question_id"))
        XCTAssertEqual(error(parsing: base + "\n\n" + #"{"question_id": 3, "turns": ["a"]}"#), .missingField(line: 3, field: "category"))
        XCTAssertEqual(error(parsing: #"{"question_id": 3, "category": "qa"}"#), .missingField(line: 1, field: "turns"))
        XCTAssertEqual(error(parsing: #"{"question_id": 3, "category": "qa", "turns": null}"#), .missingField(line: 1, field: "turns"))
    }

    func testEmptyTurnsAreRefusedWithTheLineNumber() {
        XCTAssertEqual(error(parsing: "\n" + #"{"question_id": 1, "category": "qa", "turns": []}"#), .emptyTurns(line: 2))
        XCTAssertEqual(error(parsing: #"{"question_id": 1, "category": "qa", "turns": ["a", "  "]}"#), .emptyTurn(line: 1, turn: 2))
        XCTAssertTrue(DatasetError.emptyTurns(line: 7).description.contains("line 7"))
    }

    func testFieldsOfTheWrongTypeAreNamed() {
        XCTAssertEqual(error(parsing: #"{"question_id": 1, "category": "qa", "turns": "a"}"#),
                       .wrongType(line: 1, field: "turns", expected: "an array of strings"))
        XCTAssertEqual(error(parsing: #"{"question_id": 1, "category": 5, "turns": ["a"]}"#),
                       .wrongType(line: 1, field: "category", expected: "a string"))
        XCTAssertEqual(error(parsing: #"{"question_id": [1], "category": "qa", "turns": ["a"]}"#),
                       .wrongType(line: 1, field: "question_id", expected: "an integer or a string"))
    }

    func testADuplicateIDNamesBothLines() {
        let text = #"{"question_id": 1, "category": "qa", "turns": ["a"]}"# + "\n" + #"{"question_id": 1, "category": "qa", "turns": ["b"]}"#
        XCTAssertEqual(error(parsing: text), .duplicateID(line: 2, id: "1", firstLine: 1))
    }

    func testAMissingFileIsAnUnreadableError() {
        XCTAssertThrowsError(try BenchDataset(path: "/nonexistent/question.jsonl")) { e in
            guard case .unreadable? = e as? DatasetError else { return XCTFail("\(e)") }
        }
    }

    func testTheBundledSpecBenchFileHasThirteenCategoriesInSixFamilies() throws {
        let path = Self.repositoryRoot.appendingPathComponent(BenchDataset.defaultRelativePath).path
        let d = try BenchDataset(path: path)
        XCTAssertEqual(d.prompts.count, 480)
        XCTAssertEqual(Set(d.categories).count, 13)
        for c in d.categories { XCTAssertNotNil(SpecBenchFamily.of(category: c), "category \(c) has no family") }
        for family in SpecBenchFamily.allCases {
            XCTAssertEqual(d.prompts.filter { SpecBenchFamily.of(category: $0.category) == family }.count, 80, "\(family)")
        }
        let mt = d.prompts.filter { SpecBenchFamily.of(category: $0.category) == .multiTurnConversation }
        XCTAssertTrue(mt.allSatisfy { $0.turns.count == 2 })
        XCTAssertTrue(d.prompts.filter { SpecBenchFamily.of(category: $0.category) != .multiTurnConversation }.allSatisfy { $0.turns.count == 1 })
        XCTAssertTrue(FileManager.default.fileExists(atPath: Self.repositoryRoot.appendingPathComponent("Data/specbench/LICENSE").path))
    }

    func testSelectionTakesCategoriesFamiliesPerCategoryCountsAndALimit() throws {
        var rows: [String] = []
        for (i, c) in ["writing", "roleplay", "qa", "qa", "rag", "writing"].enumerated() {
            rows.append(#"{"question_id": \#(i), "category": "\#(c)", "turns": ["t"]}"#)
        }
        let d = try BenchDataset(jsonl: rows.joined(separator: "\n"))
        XCTAssertEqual(try d.select(categories: ["qa"]).map(\.id), [.int(2), .int(3)])
        XCTAssertEqual(try d.select(categories: ["multi_turn_conversation"]).map(\.id), [.int(0), .int(1), .int(5)])
        XCTAssertEqual(try d.select(perCategory: 1).map(\.id), [.int(0), .int(1), .int(2), .int(4)])
        XCTAssertEqual(try d.select(categories: ["rag", "qa"], limit: 2).map(\.id), [.int(2), .int(3)])
        XCTAssertThrowsError(try d.select(categories: ["poetry"])) { e in
            guard case .unknownCategory("poetry", let available)? = e as? DatasetError else { return XCTFail("\(e)") }
            XCTAssertTrue(available.contains("qa") && available.contains("multi_turn_conversation"))
        }
    }

    func testPerFamilyTakesCategoriesOfAFamilyRoundRobinInFileOrder() throws {
        var rows: [String] = []
        for (i, c) in ["writing", "writing", "writing", "roleplay", "qa", "qa", "qa", "math", "custom", "custom"].enumerated() {
            rows.append(#"{"question_id": \#(i), "category": "\#(c)", "turns": ["t"]}"#)
        }
        let d = try BenchDataset(jsonl: rows.joined(separator: "\n"))
        // MT-bench family: writing 0, roleplay 3, math 7 first, then writing 1; qa: 4, 5; custom: 8, 9.
        XCTAssertEqual(try d.select(perFamily: 4).map(\.id), [0, 1, 3, 4, 5, 6, 7, 8, 9].map(QuestionID.int))
        XCTAssertEqual(try d.select(perFamily: 2).map(\.id), [0, 3, 4, 5, 8, 9].map(QuestionID.int))
        XCTAssertEqual(try d.select(categories: ["qa"], perFamily: 1).map(\.id), [.int(4)])
        // With the real file: 10 per family gives 60 prompts, all eight MT-bench categories present.
        let real = try BenchDataset(path: Self.repositoryRoot.appendingPathComponent(BenchDataset.defaultRelativePath).path)
        let chosen = try real.select(perFamily: 10)
        XCTAssertEqual(chosen.count, 60)
        for family in SpecBenchFamily.allCases {
            XCTAssertEqual(chosen.filter { SpecBenchFamily.of(category: $0.category) == family }.count, 10, "\(family)")
        }
        XCTAssertEqual(Set(chosen.map(\.category)).count, 13)
    }

    func testTheDefaultDatasetIsFoundInTheCurrentDirectoryOrAboveTheExecutable() throws {
        let root = Self.repositoryRoot.path
        let expected = Self.repositoryRoot.appendingPathComponent(BenchDataset.defaultRelativePath).path
        XCTAssertEqual(try BenchDataset.locateDefault(currentDirectory: root, executablePath: nil), expected)
        XCTAssertEqual(try BenchDataset.locateDefault(currentDirectory: "/", executablePath: root + "/.build/release/specdec"), expected)
        XCTAssertThrowsError(try BenchDataset.locateDefault(currentDirectory: "/", executablePath: "/usr/bin/specdec"))
    }
}
