import Foundation
import SpecDecKernels
import SpecDecEngine

/// How an evaluation was run: written into `results.json` (and, by the runner, to `config.json`
/// so that `--resume` can refuse a mismatched continuation).
public struct EvalConfiguration: Codable, Sendable, Equatable {
    /// The benchmark (`gsm8k`).
    public var task: String
    /// The target (large) model's name, and the draft (small) model's when one ran.
    public var model: String
    public var draftModel: String?
    /// The data set file.
    public var dataset: String?
    /// Token budget per problem.
    public var maxTokens: Int
    public var temperature: Float
    public var seed: UInt64
    /// Worker threads of the models as loaded.
    public var threads: Int
    /// The CPU's model name and the kernel set that ran.
    public var cpu: String?
    public var kernels: String?
    /// When the run (or its first part, when resumed) started, ISO 8601.
    public var date: String
    /// Problems selected.
    public var problems: Int
    /// Method labels in run order (`ar` first).
    public var methods: [String]

    public init(task: String = "gsm8k", model: String, draftModel: String?, dataset: String? = nil, maxTokens: Int,
                temperature: Float, seed: UInt64, threads: Int, cpu: String? = CPUInfo.modelName,
                kernels: String? = KernelSet.active.rawValue, date: String = ISO8601DateFormatter().string(from: Date()),
                problems: Int, methods: [String]) {
        self.task = task
        self.model = model
        self.draftModel = draftModel
        self.dataset = dataset
        self.maxTokens = maxTokens
        self.temperature = temperature
        self.seed = seed
        self.threads = threads
        self.cpu = cpu
        self.kernels = kernels
        self.date = date
        self.problems = problems
        self.methods = methods
    }

    /// Greedy decoding (temperature 0).
    public var isGreedy: Bool { temperature <= 0 }

    enum CodingKeys: String, CodingKey {
        case task, model, draftModel = "draft_model", dataset, maxTokens = "max_tokens", temperature, seed, threads, cpu, kernels
        case date, problems, methods
    }

    /// Why records made under `previous` cannot be mixed with a run under this configuration (a
    /// different task, model, draft model, token budget, sampling, threads or kernels), or nil.
    /// Methods and the number of problems may differ: only the pairs both runs select are reused.
    public func resumeMismatch(with previous: EvalConfiguration) -> String? {
        var differences: [String] = []
        func check<T: Equatable>(_ name: String, _ a: T, _ b: T) {
            if a != b { differences.append("\(name) was \(b), now \(a)") }
        }
        check("task", task, previous.task)
        check("model", model, previous.model)
        check("draft model", draftModel ?? "none", previous.draftModel ?? "none")
        check("max tokens", maxTokens, previous.maxTokens)
        check("temperature", temperature, previous.temperature)
        check("seed", seed, previous.seed)
        check("threads", threads, previous.threads)
        if let k = kernels, let pk = previous.kernels { check("kernels", k, pk) }
        return differences.isEmpty ? nil : differences.joined(separator: "; ")
    }

    /// Reads `config.json` (nil when absent or unreadable).
    public static func read(path: String) -> EvalConfiguration? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONDecoder().decode(EvalConfiguration.self, from: data)
    }

    /// Writes `config.json`.
    public func write(path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(self).write(to: URL(fileURLWithPath: path))
    }
}

/// One method's figures over the evaluated problems.
///
/// Rates are ratios of totals: tokens per second is total generated tokens over total seconds;
/// the speedup is that figure over `ar`'s. Figures that do not apply are written as `null`, so every
/// method has the same keys.
public struct EvalMethodSummary: Codable, Sendable, Equatable, MethodLabelled {
    public var method: String
    /// Problems with a record of this method, and how many of them were answered correctly.
    public var problems: Int
    public var correct: Int
    /// Outputs in which no number was found.
    public var unanswered: Int
    /// correct / problems (0 when there are no problems).
    public var accuracy: Double
    /// The 95% Wilson score interval of ``accuracy``, `[low, high]` (``Accuracy/wilson(correct:total:z:)``).
    public var accuracyCI95: [Double]
    /// Generated tokens and generation seconds, summed over the timed problems (all but those whose
    /// record has ``EvalRecord/timingExcluded``).
    public var tokens: Int
    public var seconds: Double
    /// Problems whose time counts toward ``tokensPerSecond`` and ``speedup`` (absent from older files: 0).
    @Defaulted public var timedProblems = 0
    /// tokens / seconds (0 when no time was recorded).
    public var tokensPerSecond: Double
    /// ``tokensPerSecond`` over `ar`'s (1 for `ar`; nil without an `ar` figure or without time).
    @EncodesNull public var speedup: Double? = nil
    /// Generated tokens per problem, over all problems.
    public var meanOutputTokens: Double
    /// The share of output tokens the large model produced: Σ llm_tokens / Σ (llm_tokens + slm_tokens)
    /// over the records that carry both; 1 for `ar`, 0 for `draft` (the small model alone), nil for
    /// other methods without those counts.
    @EncodesNull public var llmTokenShare: Double? = nil

    enum CodingKeys: String, CodingKey {
        case method, problems, correct, unanswered, accuracy, accuracyCI95 = "accuracy_ci95", tokens, seconds
        case timedProblems = "timed_problems"
        case tokensPerSecond = "tokens_per_second", speedup, meanOutputTokens = "mean_output_tokens"
        case llmTokenShare = "llm_token_share"
    }

    /// Sums `records` (all of method `method`); `baselineTokensPerSecond` is `ar`'s figure, when known.
    public init(method: String, records: [EvalRecord], baselineTokensPerSecond: Double?) {
        self.method = method
        problems = records.count
        correct = records.filter(\.correct).count
        unanswered = records.filter { $0.extracted == nil }.count
        accuracy = problems > 0 ? Double(correct) / Double(problems) : 0
        let ci = Accuracy.wilson(correct: correct, total: problems)
        accuracyCI95 = [ci.low, ci.high]
        let timed = records.filter(\.isTimed)
        timedProblems = timed.count
        tokens = timed.reduce(0) { $0 + $1.tokens }
        seconds = timed.reduce(0) { $0 + $1.seconds }
        tokensPerSecond = seconds > 0 ? Double(tokens) / seconds : 0
        if method == EvalReport.baselineLabel {
            speedup = tokensPerSecond > 0 ? 1 : nil
        } else if let base = baselineTokensPerSecond, base > 0, tokensPerSecond > 0 {
            speedup = tokensPerSecond / base
        }
        meanOutputTokens = problems > 0 ? Double(records.reduce(0) { $0 + $1.tokens }) / Double(problems) : 0
        if method == EvalReport.baselineLabel {
            llmTokenShare = 1
        } else if method == EvalReport.draftLabel {
            llmTokenShare = 0
        } else {
            var llm = 0, all = 0
            for r in records {
                if let l = r.llmTokens, let s = r.slmTokens { llm += l; all += l + s }
            }
            llmTokenShare = all > 0 ? Double(llm) / Double(all) : nil
        }
    }
}

/// The aggregated evaluation: what `results.json`, `results.md` and `accuracy_vs_speedup.svg` show.
///
/// ```swift
/// let report = EvalReport(records: try EvalRunLog.read(path: "eval-out/runs.jsonl").records,
///                         configuration: configuration, methods: ["ar", "draft", "route"])
/// report.summary("route")?.accuracy
/// try report.write(to: "eval-out")
/// ```
public struct EvalReport: Sendable, Equatable, MethodSummaries {
    /// The label of plain decoding with the target model, the reference for speedups.
    public static let baselineLabel = MethodSpec.baselineLabel
    /// The label of decoding with the draft model alone (no large-model tokens).
    public static let draftLabel = "draft"

    public var configuration: EvalConfiguration?
    /// Method labels in order, `ar` first (`method_order` in JSON; files without it read in label order).
    @Defaulted public var methodOrder: [String] = []
    /// Summaries by label (`methods` in JSON, so a figure reads as `methods["route"].accuracy`).
    public var methodsByLabel: [String: EvalMethodSummary] = [:]

    /// Aggregates `records` of `methods` (nil: every method in the records, in order of first
    /// appearance); `ar` is moved first. Records of other methods are ignored; when a (problem,
    /// method) pair appears more than once, the last record counts.
    public init(records: [EvalRecord], configuration: EvalConfiguration? = nil, methods: [String]? = nil) {
        self.configuration = configuration
        var order: [String] = []
        for label in methods ?? records.map(\.method) where !order.contains(label) { order.append(label) }
        if let i = order.firstIndex(of: Self.baselineLabel), i > 0 { order.insert(order.remove(at: i), at: 0) }

        var latest: [EvalRecord.Key: Int] = [:]
        for (i, r) in records.enumerated() { latest[r.key] = i }
        var byMethod: [String: [EvalRecord]] = [:]
        for (i, r) in records.enumerated() where latest[r.key] == i { byMethod[r.method, default: []].append(r) }

        let baseline = EvalMethodSummary(method: Self.baselineLabel, records: byMethod[Self.baselineLabel] ?? [],
                                         baselineTokensPerSecond: nil)
        let baseTPS = baseline.problems > 0 && baseline.tokensPerSecond > 0 ? baseline.tokensPerSecond : nil
        self.methods = order.map { EvalMethodSummary(method: $0, records: byMethod[$0] ?? [], baselineTokensPerSecond: baseTPS) }
    }

    /// The summary of the method labelled `label`.
    public func summary(_ label: String) -> EvalMethodSummary? { methods.first { $0.method == label } }
}

extension EvalReport: Codable {
    enum CodingKeys: String, CodingKey {
        case configuration, methodOrder = "method_order", methodsByLabel = "methods"
    }
}
