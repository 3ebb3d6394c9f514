import SpecDecEngine

/// One method's totals over a group of prompts (a task family, a category, or all).
///
/// Rates are ratios of totals, as Spec-Bench computes them: tokens per second is total generated
/// tokens over total seconds; the speedup is that figure over `ar`'s on the same prompts; τ and the
/// acceptance rate come from the group's merged ``SpeculationStats``. Figures that do not apply are
/// written as `null`, so every group has the same keys.
///
/// The speedup counts the prompt's prefill, which speculation cannot shorten; on a CPU it is a large
/// share of a short answer's time. So a group also states the decode-only figures (the same totals
/// less each run's prefill) and the ceiling that the prefill puts on the speedup: `ar`'s seconds over
/// its prefill seconds, the speedup of a method whose decoding took no time at all (Amdahl's law).
public struct GroupSummary: Sendable, Equatable, Codable {
    /// Prompts in the group.
    public var prompts: Int
    public var generatedTokens: Int
    public var seconds: Double
    /// generatedTokens / seconds.
    public var tokensPerSecond: Double
    /// Tokens per second over `ar`'s on the same prompts (nil when `ar` has no time there).
    @EncodesNull public var speedup: Double? = nil
    /// The part of ``seconds`` spent on prefill (the prompts' forward passes).
    @Defaulted public var prefillSeconds = 0.0
    /// generatedTokens / (seconds − prefillSeconds): the decoding rate alone.
    @Defaulted public var decodeTokensPerSecond = 0.0
    /// Decode tokens per second over `ar`'s on the same prompts: the speedup of decoding alone.
    @EncodesNull public var decodeSpeedup: Double? = nil
    /// `ar`'s seconds over its prefill seconds on the same prompts: the highest ``speedup`` any
    /// method could reach here with prefill unchanged (decoding in no time).
    @EncodesNull public var speedupCeiling: Double? = nil
    /// τ: mean tokens committed per target forward (nil for `ar`).
    @EncodesNull public var meanAccepted: Double? = nil
    /// Accepted / drafted tokens (nil for `ar`).
    @EncodesNull public var acceptanceRate: Double? = nil
    /// Share of prompts whose output tokens equal `ar`'s (greedy runs only; nil for `ar` itself and
    /// for sampling runs, whose outputs differ by design).
    @EncodesNull public var exactMatchRate: Double? = nil
    /// Prompts with identical output, and prompts compared.
    @EncodesNull public var exactMatches: Int? = nil
    @EncodesNull public var compared: Int? = nil
    /// The merged draft–verify counts (nil for `ar`), written with their rates.
    @ReportedWithFigures public var speculation: SpeculationStats? = nil

    enum CodingKeys: String, CodingKey {
        case prompts, generatedTokens = "generated_tokens", seconds, tokensPerSecond = "tokens_per_second", speedup
        case prefillSeconds = "prefill_seconds", decodeTokensPerSecond = "decode_tokens_per_second"
        case decodeSpeedup = "decode_speedup", speedupCeiling = "speedup_ceiling"
        case meanAccepted = "mean_accepted", acceptanceRate = "acceptance_rate", exactMatchRate = "exact_match_rate"
        case exactMatches = "exact_matches", compared, speculation
    }

    /// Sums `records` of one method; `baseline` holds `ar`'s record of each prompt.
    public init(records: [RunRecord], baseline: [QuestionID: RunRecord], isBaseline: Bool, greedy: Bool) {
        prompts = records.count
        generatedTokens = records.reduce(0) { $0 + $1.generatedTokens }
        seconds = records.reduce(0) { $0 + $1.seconds }
        tokensPerSecond = seconds > 0 ? Double(generatedTokens) / seconds : 0
        // Speedup over the prompts that have an `ar` record (all of them once a run is complete).
        let paired = records.compactMap { r in baseline[r.questionID].map { (r, $0) } }
        let ownTokens = paired.reduce(0) { $0 + $1.0.generatedTokens }, ownSeconds = paired.reduce(0.0) { $0 + $1.0.seconds }
        let arTokens = paired.reduce(0) { $0 + $1.1.generatedTokens }, arSeconds = paired.reduce(0.0) { $0 + $1.1.seconds }
        if ownSeconds > 0, arSeconds > 0, arTokens > 0 {
            speedup = (Double(ownTokens) / ownSeconds) / (Double(arTokens) / arSeconds)
        }
        prefillSeconds = records.reduce(0) { $0 + $1.prefillSeconds }
        let decodeSeconds = seconds - prefillSeconds
        decodeTokensPerSecond = decodeSeconds > 0 ? Double(generatedTokens) / decodeSeconds : 0
        let ownDecode = ownSeconds - paired.reduce(0.0) { $0 + $1.0.prefillSeconds }
        let arPrefill = paired.reduce(0.0) { $0 + $1.1.prefillSeconds }
        if ownDecode > 0, arSeconds - arPrefill > 0, arTokens > 0 {
            decodeSpeedup = (Double(ownTokens) / ownDecode) / (Double(arTokens) / (arSeconds - arPrefill))
        }
        if arPrefill > 0, arSeconds > 0 { speedupCeiling = arSeconds / arPrefill }
        if !isBaseline {
            var stats = SpeculationStats()
            for r in records { stats.merge(r.speculation) }
            speculation = stats
            meanAccepted = stats.meanAccepted
            acceptanceRate = stats.acceptanceRate
            if greedy && !paired.isEmpty {
                let matches = paired.filter { $0.0.tokens == $0.1.tokens }.count
                exactMatches = matches
                compared = paired.count
                exactMatchRate = Double(matches) / Double(paired.count)
            }
        }
    }
}

/// One method's summaries: per Spec-Bench task family, per dataset category, and overall.
public struct MethodSummary: Sendable, Equatable, Codable, MethodLabelled {
    public var method: String
    /// `none` for `ar`, else the drafter (`model`, `lookup`, `suffix`).
    public var drafter: String
    /// False for lossy verification (top-β), whose output may legitimately differ from `ar`'s.
    public var lossless: Bool
    /// Keyed by ``SpecBenchFamily`` raw value (or the category, for categories outside Spec-Bench).
    public var families: [String: GroupSummary]
    /// Keyed by dataset category.
    public var categories: [String: GroupSummary]
    public var overall: GroupSummary
}

/// The aggregated benchmark: what `results.json`, `results.md`, the table on stdout and the plots
/// show.
///
/// ```swift
/// let report = BenchReport(records: records, methods: methods, greedy: true)
/// print(report.markdown())
/// report.methods[1].families["qa"]?.speedup
/// ```
public struct BenchReport: Sendable, Equatable, MethodSummaries {
    public var configuration: BenchConfiguration?
    /// Group keys of ``MethodSummary/families`` in Spec-Bench's order (those present only).
    public var familyOrder: [String]
    /// Categories in order of first appearance.
    public var categoryOrder: [String]
    /// Method labels in order, `ar` first (`method_order` in JSON).
    public var methodOrder: [String]
    /// Summaries by label (`methods` in JSON, so a figure reads as `methods["lookup"].families["qa"].speedup`).
    public var methodsByLabel: [String: MethodSummary]
    /// Whether decoding was greedy (exact-match rates are reported).
    public var greedy: Bool

    /// Aggregates `records` (only those of `methods` count; `ar` is the reference).
    public init(records: [RunRecord], methods: [MethodSpec], greedy: Bool, configuration: BenchConfiguration? = nil) {
        self.configuration = configuration
        self.greedy = greedy
        let labels = Set(methods.map(\.label))
        let records = records.filter { labels.contains($0.method) }
        var baseline: [QuestionID: RunRecord] = [:]
        for r in records where r.method == MethodSpec.baselineLabel { baseline[r.questionID] = r }

        var categories: [String] = []
        for r in records where !categories.contains(r.category) { categories.append(r.category) }
        categoryOrder = categories
        let groupKeys = Set(categories.map(SpecBenchFamily.groupKey(forCategory:)))
        var order = SpecBenchFamily.allCases.map(\.rawValue).filter(groupKeys.contains)
        for c in categories where !order.contains(SpecBenchFamily.groupKey(forCategory: c)) {
            order.append(SpecBenchFamily.groupKey(forCategory: c))
        }
        familyOrder = order

        methodOrder = []
        methodsByLabel = [:]
        self.methods = methods.map { m in
            let own = records.filter { $0.method == m.label }
            func summary(_ rs: [RunRecord]) -> GroupSummary {
                GroupSummary(records: rs, baseline: baseline, isBaseline: m.isBaseline, greedy: greedy)
            }
            var families: [String: GroupSummary] = [:]
            for key in order {
                let rs = own.filter { SpecBenchFamily.groupKey(forCategory: $0.category) == key }
                if !rs.isEmpty { families[key] = summary(rs) }
            }
            var byCategory: [String: GroupSummary] = [:]
            for c in categories {
                let rs = own.filter { $0.category == c }
                if !rs.isEmpty { byCategory[c] = summary(rs) }
            }
            return MethodSummary(method: m.label, drafter: m.kindName, lossless: m.isLossless,
                                 families: families, categories: byCategory, overall: summary(own))
        }
    }

    /// The summary of the method labelled `label`.
    public func summary(_ label: String) -> MethodSummary? { methods.first { $0.method == label } }

    /// Lossless methods whose greedy output differed from `ar`'s on some prompt (a correctness bug).
    public var losslessMismatches: [String] {
        methods.filter { $0.lossless && ($0.overall.exactMatchRate ?? 1) < 1 }.map(\.method)
    }
}

extension BenchReport: Codable {
    enum CodingKeys: String, CodingKey {
        case configuration, familyOrder = "family_order", categoryOrder = "category_order"
        case methodOrder = "method_order", methodsByLabel = "methods", greedy
    }
}
