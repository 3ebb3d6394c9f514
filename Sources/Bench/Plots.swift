import Foundation

/// Hand-written SVG charts of a ``BenchReport`` (no dependencies; they open in any browser).
///
/// ```swift
/// try Plots.speedupChart(report).write(toFile: "speedup.svg", atomically: true, encoding: .utf8)
/// ```
public enum Plots {
    /// One series of a chart.
    public struct Series: Sendable, Equatable {
        public var name: String
        /// One value per group (bar charts) or per x position (line charts); nil: no value there.
        public var values: [Double?]

        public init(name: String, values: [Double?]) {
            self.name = name
            self.values = values
        }
    }

    /// Tableau 10.
    static let palette = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
                          "#9c755f", "#bab0ac"]

    /// Grouped bars of the speedup over `ar` per task family (and overall), one bar per speculative
    /// method, with a dashed line at 1× (`ar`).
    public static func speedupChart(_ report: BenchReport) -> String {
        let groups = report.familyOrder + ["overall"]
        let titles = groups.map { $0 == "overall" ? "Overall" : $0 == SpecBenchFamily.multiTurnConversation.rawValue
            ? "Multi-turn" : SpecBenchFamily.title(ofGroup: $0) }
        let series = report.methods.filter { $0.drafter != "none" }.map { m in
            Series(name: m.method, values: groups.map { g in (g == "overall" ? m.overall : m.families[g])?.speedup })
        }
        return groupedBarChart(title: "Speedup over ar (\(report.configuration?.model ?? "target"))", groups: titles,
                               series: series, xLabel: "task", yLabel: "speedup (× ar tokens/s)", reference: 1, referenceLabel: "ar = 1×")
    }

    /// Acceptance rate by draft position (accepted at i / drafted at i, over all prompts), one line
    /// per speculative method.
    public static func acceptanceChart(_ report: BenchReport) -> String {
        let series = report.methods.compactMap { m -> Series? in
            guard let s = m.overall.speculation else { return nil }
            let rates = s.acceptanceByPosition
            let values: [Double?] = rates.indices.map { i in i < s.draftedByPosition.count && s.draftedByPosition[i] > 0 ? rates[i] : nil }
            return Series(name: m.method, values: values)
        }
        return lineChart(title: "Acceptance rate by draft position", series: series, xLabel: "draft position",
                         yLabel: "acceptance rate")
    }

    /// A grouped bar chart: `groups` along x, one bar per series in each group, values labelled.
    public static func groupedBarChart(title: String, groups: [String], series: [Series], xLabel: String = "", yLabel: String,
                                       reference: Double? = nil, referenceLabel: String = "") -> String {
        let legendWidth = 40 + 7 * (series.map(\.name.count).max() ?? 0)
        let left = 70.0, right = Double(min(max(legendWidth, 80), 320)) + 20, top = 50.0, bottom = 60.0
        let groupWidth = max(100.0, 30.0 * Double(series.count) + 30, 360 / Double(max(groups.count, 1)))
        let plotW = groupWidth * Double(max(groups.count, 1)), plotH = 300.0
        let width = max(left + plotW + right, 40 + 10.5 * Double(title.count)), height = top + plotH + bottom
        let values = series.flatMap { $0.values.compactMap { $0 } }.filter { $0.isFinite }
        let (yMax, step) = axis(max: max(values.max() ?? 1, reference ?? 0) * 1.12)
        func y(_ v: Double) -> Double { top + plotH - plotH * min(max(v, 0), yMax) / yMax }

        var svg = header(width: width, height: height, title: title)
        svg += yAxis(left: left, top: top, plotW: plotW, plotH: plotH, yMax: yMax, step: step, label: yLabel, percent: false)
        if series.isEmpty {
            svg += text(left + plotW / 2, top + plotH / 2, "no speculative method to compare", anchor: "middle")
        }
        let barW = min((groupWidth - 30) / Double(max(series.count, 1)), 48)
        for (gi, g) in groups.enumerated() {
            let center = left + groupWidth * (Double(gi) + 0.5)
            let x0 = center - barW * Double(series.count) / 2
            for (si, s) in series.enumerated() {
                guard gi < s.values.count, let v = s.values[gi], v.isFinite else { continue }
                let x = x0 + barW * Double(si)
                svg += String(format: #"<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%@"><title>%@</title></rect>"#,
                              x, y(v), max(barW - 2, 1), top + plotH - y(v), color(si), escape("\(s.name), \(g): " + String(format: "%.2f×", v)))
                svg += "\n" + text(x + (barW - 2) / 2, y(v) - 4, String(format: "%.2f×", v), anchor: "middle", size: 9)
            }
            svg += text(center, top + plotH + 18, g, anchor: "middle")
        }
        svg += text(left + plotW / 2, top + plotH + 42, xLabel, anchor: "middle")
        if let reference {
            svg += String(format: ##"<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#333" stroke-dasharray="6,4"/>"##,
                          left, y(reference), left + plotW, y(reference)) + "\n"
            svg += text(left + plotW - 4, y(reference) - 4, referenceLabel, anchor: "end", size: 10)
        }
        svg += legend(x: left + plotW + 20, y: top, names: series.map(\.name), line: false)
        return svg + "</svg>\n"
    }

    /// A line chart of `series` over x = 1, 2, … with y in [0, 1] shown as percentages.
    public static func lineChart(title: String, series: [Series], xLabel: String, yLabel: String) -> String {
        let legendWidth = 40 + 7 * (series.map(\.name.count).max() ?? 0)
        let left = 70.0, right = Double(min(max(legendWidth, 80), 320)) + 20, top = 50.0, bottom = 60.0
        let points = max(series.map(\.values.count).max() ?? 0, 1)
        let plotW = max(360.0, 48.0 * Double(points)), plotH = 300.0
        let width = max(left + plotW + right, 40 + 10.5 * Double(title.count)), height = top + plotH + bottom
        func x(_ i: Int) -> Double { points == 1 ? left + plotW / 2 : left + 20 + (plotW - 40) * Double(i) / Double(points - 1) }
        func y(_ v: Double) -> Double { top + plotH - plotH * min(max(v, 0), 1) }

        var svg = header(width: width, height: height, title: title)
        svg += yAxis(left: left, top: top, plotW: plotW, plotH: plotH, yMax: 1, step: 0.2, label: yLabel, percent: true)
        for i in 0..<points { svg += text(x(i), top + plotH + 18, String(i + 1), anchor: "middle") }
        svg += text(left + plotW / 2, top + plotH + 42, xLabel, anchor: "middle")
        if series.allSatisfy({ $0.values.allSatisfy { $0 == nil } }) {
            svg += text(left + plotW / 2, top + plotH / 2, "nothing was drafted", anchor: "middle")
        }
        for (si, s) in series.enumerated() {
            let pts = s.values.enumerated().compactMap { i, v in v.flatMap { $0.isFinite ? (i, $0) : nil } }
            if pts.count > 1 {
                let path = pts.map { String(format: "%.1f,%.1f", x($0.0), y($0.1)) }.joined(separator: " ")
                svg += #"<polyline fill="none" stroke-width="2" stroke=""# + color(si) + #"" points=""# + path + "\"/>\n"
            }
            for (i, v) in pts {
                svg += String(format: #"<circle cx="%.1f" cy="%.1f" r="3.5" fill="%@"><title>%@</title></circle>"#,
                              x(i), y(v), color(si), escape("\(s.name), position \(i + 1): \(String(format: "%.1f", v * 100))%")) + "\n"
            }
        }
        svg += legend(x: left + plotW + 20, y: top, names: series.map(\.name), line: true)
        return svg + "</svg>\n"
    }

    // MARK: - Pieces

    /// A round axis maximum ≥ `max` and its tick step (1, 2, 2.5 or 5 × 10ⁿ, about five ticks).
    static func axis(max: Double) -> (Double, Double) {
        let m = max.isFinite && max > 0 ? max : 1
        let raw = m / 5
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? raw
        return ((m / step).rounded(.up) * step, step)
    }

    static func header(width: Double, height: Double, title: String) -> String {
        var s = #"<?xml version="1.0" encoding="UTF-8"?>"# + "\n"
        s += String(format: #"<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" "#,
                    width, height, width, height)
        s += #"font-family="Helvetica, Arial, sans-serif" font-size="12">"# + "\n"
        s += String(format: #"<rect width="%.0f" height="%.0f" fill="white"/>"#, width, height) + "\n"
        s += text(width / 2, 26, title, anchor: "middle", size: 16, bold: true)
        return s
    }

    static func yAxis(left: Double, top: Double, plotW: Double, plotH: Double, yMax: Double, step: Double,
                      label: String, percent: Bool) -> String {
        var s = ""
        var v = 0.0
        while v <= yMax + step / 1000 {
            let y = top + plotH - plotH * v / yMax
            s += String(format: ##"<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e0e0e0"/>"##, left, y, left + plotW, y) + "\n"
            let tick = percent ? String(format: "%.0f%%", v * 100) : String(format: "%.\(decimals(step))f", v)
            s += text(left - 8, y + 4, tick, anchor: "end")
            v += step
        }
        s += String(format: ##"<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#333"/>"##, left, top, left, top + plotH) + "\n"
        s += String(format: ##"<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#333"/>"##,
                    left, top + plotH, left + plotW, top + plotH) + "\n"
        let cy = top + plotH / 2
        s += String(format: #"<text x="18" y="%.1f" text-anchor="middle" transform="rotate(-90 18 %.1f)">%@</text>"#,
                    cy, cy, escape(label)) + "\n"
        return s
    }

    static func legend(x: Double, y: Double, names: [String], line: Bool) -> String {
        var s = ""
        for (i, name) in names.enumerated() {
            let yy = y + 20 * Double(i)
            if line {
                s += String(format: #"<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%@" stroke-width="2"/>"#,
                            x, yy + 6, x + 18, yy + 6, color(i)) + "\n"
            } else {
                s += String(format: #"<rect x="%.1f" y="%.1f" width="12" height="12" fill="%@"/>"#, x, yy, color(i)) + "\n"
            }
            s += text(x + 24, yy + 10, name, anchor: "start")
        }
        return s
    }

    static func text(_ x: Double, _ y: Double, _ s: String, anchor: String, size: Int = 12, bold: Bool = false) -> String {
        String(format: #"<text x="%.1f" y="%.1f" text-anchor="%@" font-size="%d"%@>%@</text>"#,
               x, y, anchor, size, bold ? #" font-weight="bold""# : "", escape(s)) + "\n"
    }

    /// Decimals needed to write multiples of `step` exactly (0.25 → 2, 0.5 → 1, 2 → 0).
    static func decimals(_ step: Double) -> Int {
        (0...3).first { d in let x = step * pow(10, Double(d)); return abs(x - x.rounded()) < 1e-9 } ?? 3
    }

    static func color(_ i: Int) -> String { palette[i % palette.count] }

    /// `s` with XML's special characters escaped.
    public static func escape(_ s: String) -> String {
        var out = ""
        for ch in s {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(ch)
            }
        }
        return out
    }
}
