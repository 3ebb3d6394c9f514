import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
import SpecDecEngine
@testable import SpecDecBench

/// The SVG charts are well-formed XML with axes, labels and a legend.
final class PlotTests: XCTestCase {
    /// Parses `svg` with XMLParser; returns the element names and the text, or fails the test.
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

    private func report(methods: String = "lookup:k=8,suffix") throws -> BenchReport {
        var s = SpeculationStats()
        s.record(drafted: 3, accepted: 2)
        s.record(drafted: 3, accepted: 0)
        var rs: [RunRecord] = []
        for (i, c) in ["writing", "qa", "translation"].enumerated() {
            rs.append(RunRecord(questionID: .int(i), category: c, method: "ar", tokens: [1, 2, 3], turnTokens: [3], seconds: 1))
            rs.append(RunRecord(questionID: .int(i), category: c, method: "lookup:k=8", tokens: [1, 2, 3], turnTokens: [3],
                                seconds: 0.5, speculation: s))
            rs.append(RunRecord(questionID: .int(i), category: c, method: "suffix", tokens: [1, 2, 3], turnTokens: [3],
                                seconds: 0.8, speculation: s))
        }
        return BenchReport(records: rs, methods: try MethodSpec.parseList(methods), greedy: true)
    }

    func testTheSpeedupChartIsWellFormedWithAxesLabelsAndALegend() throws {
        let (elements, text) = parse(Plots.speedupChart(try report()))
        XCTAssertEqual(elements.first, "svg")
        XCTAssertEqual(elements.filter { $0 == "rect" }.count, 1 + 3 * 2 + 2 + 2)  // background, 4 groups x 2 bars less none, legend
        XCTAssertTrue(elements.contains("line"))
        for label in ["Multi-turn", "QA", "Translation", "Overall", "lookup:k=8", "suffix", "2.00×", "speedup"] {
            XCTAssertTrue(text.contains(label), label)
        }
    }

    func testTheAcceptanceChartIsWellFormedWithOneLinePerMethod() throws {
        let (elements, text) = parse(Plots.acceptanceChart(try report()))
        XCTAssertEqual(elements.filter { $0 == "polyline" }.count, 2)
        XCTAssertEqual(elements.filter { $0 == "circle" }.count, 6)
        for label in ["draft position", "acceptance rate", "100%", "lookup:k=8", "suffix"] { XCTAssertTrue(text.contains(label), label) }
    }

    func testChartsWithoutSpeculativeMethodsOrDataAreStillWellFormed() throws {
        let onlyAR = try report(methods: "ar")
        _ = parse(Plots.speedupChart(onlyAR))
        _ = parse(Plots.acceptanceChart(onlyAR))
        _ = parse(Plots.speedupChart(BenchReport(records: [], methods: [.baseline], greedy: true)))
        _ = parse(Plots.groupedBarChart(title: "a < b & \"c\"", groups: ["x>y"], series: [.init(name: "<m>", values: [nil])],
                                        yLabel: "'y'"))
        _ = parse(Plots.lineChart(title: "t", series: [.init(name: "m&n", values: [0.5, .nan, 2])], xLabel: "x", yLabel: "y"))
    }

    func testAxisMaximaAreRoundAndCoverTheData() {
        XCTAssertEqual(Plots.axis(max: 2.3).0, 2.5)
        XCTAssertEqual(Plots.axis(max: 1.12).0, 1.25)
        XCTAssertEqual(Plots.axis(max: 7).0, 8)
        XCTAssertEqual(Plots.axis(max: 0).0, 1)
        XCTAssertEqual([0.25, 0.5, 2].map(Plots.decimals), [2, 1, 0])
        XCTAssertEqual(Plots.escape(#"<a & "b">"#), "&lt;a &amp; &quot;b&quot;&gt;")
    }
}
