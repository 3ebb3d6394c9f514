import Foundation

extension Plots {
    /// Accuracy against speedup over `ar`, one labelled point per method with its 95% confidence
    /// interval as a vertical bar, and a dashed line at `ar`'s accuracy. Methods without problems or
    /// without a speedup (no `ar` time) are left out.
    ///
    /// ```swift
    /// try Plots.accuracyVsSpeedupChart(report).write(toFile: "accuracy_vs_speedup.svg", atomically: true, encoding: .utf8)
    /// ```
    public static func accuracyVsSpeedupChart(_ report: EvalReport) -> String {
        let points = report.methods.enumerated().compactMap { i, m -> (Int, EvalMethodSummary, Double)? in
            guard m.problems > 0, let s = m.speedup, s.isFinite else { return nil }
            return (i, m, s)
        }
        let task = report.configuration?.task.uppercased() ?? "GSM8K"
        let title = "\(task) accuracy vs speedup (\(report.configuration?.model ?? "target"))"
        let labelWidth = 7.0 * Double(points.map(\.1.method.count).max() ?? 0)
        let left = 70.0, right = max(40.0, labelWidth + 20), top = 50.0, bottom = 60.0
        let plotW = 480.0, plotH = 300.0
        let width = max(left + plotW + right, 40 + 10.5 * Double(title.count)), height = top + plotH + bottom
        let (xMax, xStep) = axis(max: max(points.map(\.2).max() ?? 1, 1) * 1.15)
        func x(_ v: Double) -> Double { left + plotW * min(max(v, 0), xMax) / xMax }
        func y(_ v: Double) -> Double { top + plotH - plotH * min(max(v, 0), 1) }

        var svg = header(width: width, height: height, title: title)
        svg += yAxis(left: left, top: top, plotW: plotW, plotH: plotH, yMax: 1, step: 0.2, label: "accuracy", percent: true)
        var tick = 0.0
        while tick <= xMax + xStep / 1000 {
            svg += String(format: ##"<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#f0f0f0"/>"##,
                          x(tick), top, x(tick), top + plotH) + "\n"
            svg += text(x(tick), top + plotH + 18, String(format: "%.\(decimals(xStep))f×", tick), anchor: "middle")
            tick += xStep
        }
        svg += text(left + plotW / 2, top + plotH + 42, "speedup (× ar tokens/s)", anchor: "middle")
        if points.isEmpty {
            svg += text(left + plotW / 2, top + plotH / 2, "no method has both an accuracy and a speedup", anchor: "middle")
        }
        if let ar = report.summary(EvalReport.baselineLabel), ar.problems > 0 {
            svg += String(format: ##"<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#333" stroke-dasharray="6,4"/>"##,
                          left, y(ar.accuracy), left + plotW, y(ar.accuracy)) + "\n"
            svg += text(left + plotW - 4, y(ar.accuracy) - 4, String(format: "ar accuracy %.1f%%", ar.accuracy * 100),
                        anchor: "end", size: 10)
        }
        for (i, m, speedup) in points {
            let cx = x(speedup), cy = y(m.accuracy)
            let low = y(m.accuracyCI95[0]), high = y(m.accuracyCI95[1])
            svg += String(format: #"<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%@" stroke-width="1.5"/>"#,
                          cx, low, cx, high, color(i)) + "\n"
            for capY in [low, high] {
                svg += String(format: #"<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%@" stroke-width="1.5"/>"#,
                              cx - 4, capY, cx + 4, capY, color(i)) + "\n"
            }
            let tooltip = String(format: "%@: accuracy %.1f%% [%.1f%%, %.1f%%], speedup %.2f×", m.method, m.accuracy * 100,
                                 m.accuracyCI95[0] * 100, m.accuracyCI95[1] * 100, speedup)
            svg += String(format: #"<circle cx="%.1f" cy="%.1f" r="5" fill="%@"><title>%@</title></circle>"#,
                          cx, cy, color(i), escape(tooltip)) + "\n"
            svg += text(cx + 8, cy - 6, m.method, anchor: "start", size: 11)
        }
        return svg + "</svg>\n"
    }
}
