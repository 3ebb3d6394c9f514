import Foundation

extension EvalReport {
    /// A line describing the run, then the table of accuracy and speed per method.
    public func markdown() -> String {
        var s = ""
        if let c = configuration {
            let draft = c.draftModel.map { ", draft \($0)" } ?? ""
            let decoding = c.isGreedy ? "greedy" : "sampling at temperature \(c.temperature), seed \(c.seed)"
            s += "\(c.task.uppercased()): target \(c.model)\(draft); \(c.problems) problem(s); \(decoding); "
            s += "\(c.maxTokens) max tokens; \(c.threads) threads; CPU: \(c.cpu ?? "unknown"); kernels: \(c.kernels ?? "unknown"); "
            s += "\(c.date).\n\n"
        }
        s += "| method | accuracy | 95% CI | tokens/s | speedup | mean output tokens | LLM token share | problems |\n"
        s += "|---|---:|---:|---:|---:|---:|---:|---:|\n"
        for m in methods {
            guard m.problems > 0 else {
                s += "| \(m.method) | – | – | – | – | – | – | 0 |\n"
                continue
            }
            let ci = String(format: "[%.1f%%, %.1f%%]", m.accuracyCI95[0] * 100, m.accuracyCI95[1] * 100)
            let speedup = m.speedup.map { String(format: "%.2fx", $0) } ?? "–"
            let share = m.llmTokenShare.map { String(format: "%.1f%%", $0 * 100) } ?? "–"
            s += String(format: "| %@ | %.1f%% | %@ | %.1f | %@ | %.1f | %@ | %d |\n", m.method, m.accuracy * 100, ci,
                        m.tokensPerSecond, speedup, m.meanOutputTokens, share, m.problems)
        }
        s += "\naccuracy: outputs whose last number equals the reference answer; 95% CI: Wilson score interval; "
        s += "speedup: tokens/s over ar's (total tokens / total seconds, prefill included); "
        s += "LLM token share: output tokens produced by the target model.\n"
        if let m = methods.first(where: { $0.timedProblems < $0.problems }) {
            s += "\nSpeed figures (tokens/s, speedup) are over \(m.timedProblems) of the \(m.problems) problems: the "
            s += "others' records are marked `timing_excluded` (they ran beside other work on the same cores); "
            s += "their answers count.\n"
        }
        let unanswered = methods.filter { $0.unanswered > 0 }
        if !unanswered.isEmpty {
            s += "\nOutputs without a number: " + unanswered.map { "\($0.method) \($0.unanswered)" }.joined(separator: ", ") + ".\n"
        }
        return s
    }

    /// `results.json`: the configuration and each method's summary (snake_case keys, sorted).
    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try encoder.encode(self)
    }

    /// Writes `results.json`, `results.md` and `accuracy_vs_speedup.svg` into `directory` (created
    /// when missing); returns their paths.
    @discardableResult
    public func write(to directory: String) throws -> [String] {
        let dir = URL(fileURLWithPath: directory)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let files: [(String, Data)] = [
            ("results.json", try json()),
            ("results.md", Data(markdown().utf8)),
            ("accuracy_vs_speedup.svg", Data(Plots.accuracyVsSpeedupChart(self).utf8)),
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
