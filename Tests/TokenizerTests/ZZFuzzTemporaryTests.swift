import Foundation
import SpecDecTokenizer
import XCTest

// TEMPORARY: compares against /tmp/fuzz/fuzz.json when present. Not to be kept.
final class ZZFuzzTemporaryTests: XCTestCase {
    struct Case: Decodable { let text: String; let parseSpecial: Bool; let ids: [Int32] }
    func testFuzz() throws {
        guard let data = FileManager.default.contents(atPath: "/tmp/fuzz/fuzz.json") else { throw XCTSkip("no fuzz") }
        let all = try JSONDecoder().decode([String: [Case]].self, from: data)
        for (model, cases) in all.sorted(by: { $0.key < $1.key }) {
            let t = try ModelFixtures.load(model).tokenizer
            var bad = 0
            for c in cases {
                let ids = t.encode(c.text, addBOS: false, parseSpecial: c.parseSpecial)
                if ids != c.ids {
                    bad += 1
                    if bad <= 8 { print("MISMATCH \(model) ps=\(c.parseSpecial) \(String(reflecting: c.text))\n  swift: \(ids)\n  ref:   \(c.ids)") }
                }
                let dec = t.decode(ids)
                if dec != c.text && bad <= 8 { print("ROUNDTRIP \(model) \(String(reflecting: c.text)) -> \(String(reflecting: dec))") }
            }
            print("FUZZ \(model): \(bad) mismatches of \(cases.count)")
        }
    }
}
