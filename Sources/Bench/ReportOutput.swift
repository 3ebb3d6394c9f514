import Foundation

extension BenchReport {
    /// Markdown tables: speedup per task family, overall figures per method, every figure per
    /// family, and per category where a family has several.
    public func markdown() -> String {
        var s = ""
        if let c = configuration {
            let draft = c.draftModel.map { ", draft \($0)" } ?? ""
            let decoding = c.isGreedy ? "greedy" : "sampling at temperature \(c.temperature), seed \(c.seed)"
            s += "Target \(c.model)\(draft); \(decoding); \(c.maxTokens) max tokens per turn; \(c.prompts) prompt(s); "
            s += "\(c.threads) threads of \(c.cpus) CPUs; context \(c.context)."
            if let cpu = c.cpu, let kernels = c.kernels { s += " CPU: \(cpu); kernels: \(kernels)." }
            s += "\n\n"
        }
        let overallKey = "overall"
        let columns = familyOrder + [overallKey]
        func title(_ key: String) -> String { key == overallKey ? "Overall" : SpecBenchFamily.title(ofGroup: key) }
        func group(_ m: MethodSummary, _ key: String) -> GroupSummary? { key == overallKey ? m.overall : m.families[key] }

        // One row per method (and optional extra rows), one column per task and overall.
        typealias Figure = KeyPath<GroupSummary, Double?>
        func ratioTable(_ heading: String, _ figure: Figure, extra: [(String, MethodSummary, Figure)] = []) -> String {
            var t = "### \(heading)\n\n| method | " + columns.map(title).joined(separator: " | ") + " |\n"
            t += "|---|" + String(repeating: "---:|", count: columns.count) + "\n"
            for (label, m, f) in methods.map({ ($0.method, $0, figure) }) + extra {
                t += "| \(label) | " + columns.map { key in group(m, key).map { Self.speedup($0[keyPath: f]) } ?? "–" }
                    .joined(separator: " | ") + " |\n"
            }
            return t
        }
        s += ratioTable("Speedup over ar", \.speedup)
        let ceiling = methods.first { $0.drafter == "none" }.map { [("*ceiling (decoding in no time)*", $0, \GroupSummary.speedupCeiling)] } ?? []
        s += "\n" + ratioTable("Decode speedup over ar (prefill excluded)", \.decodeSpeedup, extra: ceiling)

        s += "\n### Overall\n\n"
        s += "| method | tokens/s | speedup | τ | acceptance | exact match vs ar | prompts | tokens | seconds |\n"
        s += "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n"
        for m in methods { s += row(m.method, m.overall, m) }

        s += "\n### Per task\n\n"
        s += "| task | method | tokens/s | speedup | τ | acceptance | exact match vs ar | prompts | tokens | seconds |\n"
        s += "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n"
        for key in familyOrder {
            for m in methods { if let g = m.families[key] { s += row("\(title(key)) | \(m.method)", g, m) } }
        }
        let splitFamilies = familyOrder.filter { key in categoryOrder.filter { SpecBenchFamily.groupKey(forCategory: $0) == key }.count > 1 }
        if !splitFamilies.isEmpty {
            s += "\n### Per category\n\n"
            s += "| category | method | tokens/s | speedup | τ | acceptance | exact match vs ar | prompts | tokens | seconds |\n"
            s += "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n"
            for c in categoryOrder {
                for m in methods { if let g = m.categories[c] { s += row("\(c) | \(m.method)", g, m) } }
            }
        }
        let planned = methods.filter { m in (m.overall.speculation?.verifiedSizes.count ?? 0) > 1 || (m.overall.speculation?.treeSteps ?? 0) > 0 }
        if !planned.isEmpty {
            s += "\n### Draft sizes, trees and the cost model\n\n"
            s += "| task | method | mean draft tokens verified | most verified sizes (size: rounds) | tree rounds | mean tree nodes | mean accepted path | plain rounds (cost model) | probes |\n"
            s += "|---|---|---:|---|---:|---:|---:|---:|---:|\n"
            for key in familyOrder + [overallKey] {
                for m in planned {
                    guard let st = group(m, key)?.speculation else { continue }
                    let top = st.verifiedSizes.enumerated().filter { $0.element > 0 }.sorted { $0.element > $1.element }.prefix(3)
                        .map { "\($0.offset): \($0.element)" }.joined(separator: ", ")
                    s += String(format: "| %@ | %@ | %.2f | %@ | %d | %.1f | %.2f | %d (%.0f%%) | %d |\n", title(key), m.method,
                                st.meanDraftLength, top, st.treeSteps, st.meanTreeNodes, st.meanTreeAccepted,
                                st.speculationOff, st.speculationOffRate * 100, st.probes)
                }
            }
        }
        s += "\nspeedup: tokens/s over ar's on the same prompts (total tokens / total seconds, prefill included); "
        s += "decode speedup: the same less each run's prefill seconds; ceiling: ar's seconds over its prefill seconds "
        s += "(the speedup of a method that decoded in no time); "
        s += "τ: mean tokens committed per target forward; exact match: prompts whose output tokens equal ar's"
        s += greedy ? " (100% is required of lossless methods).\n" : " (not compared when sampling).\n"
        let bad = losslessMismatches
        if !bad.isEmpty {
            s += "\n**⚠ lossless methods whose greedy output differs from ar's: \(bad.joined(separator: ", ")).**\n"
        }
        return s
    }

    private func row(_ head: String, _ g: GroupSummary, _ m: MethodSummary) -> String {
        let isBaseline = m.drafter == "none"
        let tau = g.meanAccepted.map { String(format: "%.2f", $0) } ?? "–"
        let acceptance = g.acceptanceRate.map { String(format: "%.1f%%", $0 * 100) } ?? "–"
        let exact: String
        if isBaseline {
            exact = "reference"
        } else if !greedy {
            exact = "n/a (sampling)"
        } else if let rate = g.exactMatchRate, let n = g.exactMatches, let of = g.compared {
            let figure = String(format: "%.1f%% (%d/%d)", rate * 100, n, of)
            exact = n == of ? figure : m.lossless ? "**\(figure) ✗**" : "\(figure), lossy"
        } else {
            exact = "–"
        }
        return String(format: "| %@ | %.1f | %@ | %@ | %@ | %@ | %d | %d | %.2f |\n", head, g.tokensPerSecond,
                      Self.speedup(g.speedup), tau, acceptance, exact, g.prompts, g.generatedTokens, g.seconds)
    }

    private static func speedup(_ x: Double?) -> String { x.map { String(format: "%.2fx", $0) } ?? "–" }

    /// `results.json`: the configuration and every summary (snake_case keys, sorted).
    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try encoder.encode(self)
    }

    /// Writes `results.json`, `results.md`, `speedup.svg` and `acceptance.svg` into `directory`;
    /// returns their paths.
    @discardableResult
    public func write(to directory: String) throws -> [String] {
        let dir = URL(fileURLWithPath: directory)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let files: [(String, Data)] = [
            ("results.json", try json()),
            ("results.md", Data(markdown().utf8)),
            ("speedup.svg", Data(Plots.speedupChart(self).utf8)),
            ("acceptance.svg", Data(Plots.acceptanceChart(self).utf8)),
        ]
        var paths: [String] = []
        for (name, data) in files {
            let url = dir.appendingPathComponent(name)
            try data.write(to: url, options: .atomic)
            paths.append(url.path)
        }
        return paths
    }
}
