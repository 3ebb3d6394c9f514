import Foundation
import XCTest
import SpecDecCoding

/// The property wrappers and the flat encoding that let the stats and report types use synthesized
/// `Codable`.
final class CodingTests: XCTestCase {
    private struct Counts: Codable, Equatable {
        var name: String
        @Defaulted var steps = 0
        @Defaulted var sizes: [Int] = []
        @Defaulted var seconds = 0.0
    }

    private struct Summary: Codable, Equatable {
        var prompts: Int
        @EncodesNull var speedup: Double? = nil
    }

    private struct Rated: Codable, Equatable, DerivedFiguresReporting {
        var hits = 0
        var tries = 0
        struct Figures: Encodable { var rate: Double }
        var derivedFigures: Figures { Figures(rate: tries > 0 ? Double(hits) / Double(tries) : 0) }
    }

    private struct Holder: Codable, Equatable {
        @ReportedWithFigures var rated: Rated? = nil
    }

    private func object(_ value: some Encodable) throws -> [String: Any] {
        let data = try JSONEncoder().encode(value)
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    func testDefaultedKeysMayBeAbsentOrNullAndOtherKeysStayRequired() throws {
        let decoded = try JSONDecoder().decode(Counts.self, from: Data(#"{"name":"a","sizes":null}"#.utf8))
        XCTAssertEqual(decoded, Counts(name: "a", steps: 0, sizes: [], seconds: 0))
        XCTAssertThrowsError(try JSONDecoder().decode(Counts.self, from: Data(#"{"steps":3}"#.utf8)))
        // A present key of the wrong type is still an error, not a default.
        XCTAssertThrowsError(try JSONDecoder().decode(Counts.self, from: Data(#"{"name":"a","steps":"x"}"#.utf8)))
        let full = Counts(name: "b", steps: 3, sizes: [1, 2], seconds: 0.5)
        let json = try object(full)
        XCTAssertEqual(json["steps"] as? Int, 3)
        XCTAssertEqual(json["sizes"] as? [Int], [1, 2])
        XCTAssertEqual(try JSONDecoder().decode(Counts.self, from: try JSONEncoder().encode(full)), full)
    }

    func testEncodesNullWritesNullAndReadsAbsentAsNil() throws {
        let json = try object(Summary(prompts: 2))
        XCTAssertTrue(json["speedup"] is NSNull, "nil is written as null, not left out")
        XCTAssertEqual(try object(Summary(prompts: 2, speedup: 1.5))["speedup"] as? Double, 1.5)
        XCTAssertEqual(try JSONDecoder().decode(Summary.self, from: Data(#"{"prompts":1}"#.utf8)), Summary(prompts: 1))
        XCTAssertEqual(try JSONDecoder().decode(Summary.self, from: Data(#"{"prompts":1,"speedup":null}"#.utf8)), Summary(prompts: 1))
        XCTAssertEqual(try JSONDecoder().decode(Summary.self, from: Data(#"{"prompts":1,"speedup":2}"#.utf8)),
                       Summary(prompts: 1, speedup: 2))
    }

    func testReportPutsCountsAndDerivedFiguresInOneObject() throws {
        let rated = Rated(hits: 1, tries: 4)
        let json = try object(rated.report)
        XCTAssertEqual(Set(json.keys), ["hits", "tries", "rate"])
        XCTAssertEqual(json["rate"] as? Double, 0.25)
        // The figures are recomputed on reading: only the counts are decoded.
        let back = try JSONDecoder().decode(Rated.self, from: try JSONEncoder().encode(rated.report))
        XCTAssertEqual(back, rated)
    }

    func testFlatJSONMergesPartsAndSkipsNil() throws {
        let none: Rated? = nil
        let json = try object(FlatJSON(Summary(prompts: 3), ["extra": 7], none?.report))
        XCTAssertEqual(Set(json.keys), ["prompts", "speedup", "extra"])
        XCTAssertEqual(json["extra"] as? Int, 7)
    }

    func testReportedWithFiguresNestsTheReportOrNull() throws {
        let some = Holder(rated: Rated(hits: 3, tries: 4))
        let inner = try XCTUnwrap(try object(some)["rated"] as? [String: Any])
        XCTAssertEqual(inner["rate"] as? Double, 0.75)
        XCTAssertEqual(try JSONDecoder().decode(Holder.self, from: try JSONEncoder().encode(some)), some)
        XCTAssertTrue(try object(Holder())["rated"] is NSNull)
        XCTAssertEqual(try JSONDecoder().decode(Holder.self, from: Data("{}".utf8)), Holder())
    }
}
