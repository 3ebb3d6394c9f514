import Foundation
import SpecDecKernels

/// How a benchmark was run: written to `config.json` when it starts (so `--resume` can refuse a
/// mismatched continuation) and into `results.json`.
public struct BenchConfiguration: Sendable, Equatable, Codable {
    /// The target model's name and file.
    public var model: String
    public var modelPath: String
    /// The draft model's name, when a `model` method runs.
    public var draftModel: String?
    public var dataset: String
    /// Method labels in run order (`ar` first).
    public var methods: [String]
    /// The `--categories`, `--limit`, `--per-category` and `--per-family` selection.
    public var categories: [String]?
    public var limit: Int?
    public var perCategory: Int?
    public var perFamily: Int?
    /// Prompts selected.
    public var prompts: Int
    public var maxTokens: Int
    public var temperature: Float
    public var seed: UInt64
    /// Worker threads and context length of the target as loaded.
    public var threads: Int
    public var context: Int
    /// Tokens of the unrecorded warm-up generation of each method (0: none).
    public var warmUpTokens: Int
    /// Logical CPUs of the machine.
    public var cpus: Int
    /// The CPU's model name and the kernel set that ran (nil in configurations written before they
    /// were recorded).
    public var cpu: String?
    public var kernels: String?
    /// When the run (or its first part, when resumed) started, ISO 8601.
    public var started: String

    public init(model: String, modelPath: String, draftModel: String?, dataset: String, methods: [String],
                categories: [String]?, limit: Int?, perCategory: Int?, perFamily: Int? = nil, prompts: Int, maxTokens: Int,
                temperature: Float, seed: UInt64, threads: Int, context: Int, warmUpTokens: Int,
                cpus: Int = ProcessInfo.processInfo.activeProcessorCount,
                cpu: String? = CPUInfo.modelName, kernels: String? = KernelSet.active.rawValue,
                started: String = ISO8601DateFormatter().string(from: Date())) {
        self.model = model
        self.modelPath = modelPath
        self.draftModel = draftModel
        self.dataset = dataset
        self.methods = methods
        self.categories = categories
        self.limit = limit
        self.perCategory = perCategory
        self.perFamily = perFamily
        self.prompts = prompts
        self.maxTokens = maxTokens
        self.temperature = temperature
        self.seed = seed
        self.threads = threads
        self.context = context
        self.warmUpTokens = warmUpTokens
        self.cpus = cpus
        self.cpu = cpu
        self.kernels = kernels
        self.started = started
    }

    /// Greedy decoding (temperature 0): exact match against `ar` is meaningful.
    public var isGreedy: Bool { temperature <= 0 }

    /// Why records made under `previous` cannot be mixed with a run under this configuration
    /// (a different model, draft model, token budget, sampling, threads or context), or nil.
    /// Methods, categories and limits may differ: only the pairs both runs select are reused.
    public func resumeMismatch(with previous: BenchConfiguration) -> String? {
        var differences: [String] = []
        func check<T: Equatable>(_ name: String, _ a: T, _ b: T) {
            if a != b { differences.append("\(name) was \(b), now \(a)") }
        }
        check("model", model, previous.model)
        check("draft model", draftModel ?? "none", previous.draftModel ?? "none")
        check("max tokens", maxTokens, previous.maxTokens)
        check("temperature", temperature, previous.temperature)
        check("seed", seed, previous.seed)
        check("threads", threads, previous.threads)
        check("context", context, previous.context)
        if let k = kernels, let pk = previous.kernels { check("kernels", k, pk) }
        return differences.isEmpty ? nil : differences.joined(separator: "; ")
    }

    enum CodingKeys: String, CodingKey {
        case model, modelPath = "model_path", draftModel = "draft_model", dataset, methods, categories, limit
        case perCategory = "per_category", perFamily = "per_family", prompts, maxTokens = "max_tokens", temperature, seed, threads, context
        case warmUpTokens = "warm_up_tokens", cpus, cpu, kernels, started
    }

    /// Reads `config.json` (nil when absent or unreadable).
    public static func read(path: String) -> BenchConfiguration? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONDecoder().decode(BenchConfiguration.self, from: data)
    }

    /// Writes `config.json`.
    public func write(path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(self).write(to: URL(fileURLWithPath: path))
    }
}
