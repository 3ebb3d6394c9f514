import ArgumentParser
import Foundation
import SpecDecBench
import SpecDecEngine
#if canImport(Glibc)
import Glibc
#endif

/// `specdec bench`: a Spec-Bench-style comparison of speculative methods against plain decoding.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmark speculative methods against plain decoding on Spec-Bench's prompts.",
        discussion: """
            Methods: ar (plain decoding, always run as the baseline), model[:k=K,p=P,vocab=N], lookup[:min=N,max=M,k=K], \
            suffix[:k=K], hybrid[:…], self[:k=K,skip=FILE,search=N,vocab=N], cross-vocab[:k=K], chain:A+B+…[,k=K,…]; \
            speculative methods also take v=greedy|sampling|top-beta and, with top-beta, beta=B,tau=T. \
            Example: --methods lookup:min=2,max=4,k=8,suffix,model:k=4,v=top-beta,beta=3,tau=1
            Writes results.json, results.md, runs.jsonl, speedup.svg and acceptance.svg into --out.
            """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(name: .customLong("draft-model"), help: "Draft model for `model` methods (a known name or a GGUF path).")
    var draftModel: String?
    @Option(help: "Methods to compare, comma-separated (repeatable); `ar` always runs first.")
    var methods: [String]
    @Option(help: "Spec-Bench-style question.jsonl (default: \(BenchDataset.defaultRelativePath)).")
    var dataset: String?
    @Option(help: "Comma-separated categories or task families to run (e.g. qa,translation,multi_turn_conversation).")
    var categories: String?
    @Option(help: "Run at most this many prompts (after --categories, --per-category and --per-family).") var limit: Int?
    @Option(name: .customLong("per-category"), help: "Run at most this many prompts of each category.") var perCategory: Int?
    @Option(name: .customLong("per-family"),
            help: "Run at most this many prompts of each Spec-Bench task family (MT-bench's categories round-robin).")
    var perFamily: Int?
    @Option(name: .customLong("max-tokens"), help: "Maximum tokens generated per turn.") var maxTokens: Int = 128
    @Option(help: "Sampling temperature (0 = greedy; exact match against ar is only checked when greedy).")
    var temperature: Float = 0
    @Option(help: "Random seed (the same for every method and prompt).") var seed: UInt64 = 0
    @Option(help: "Output folder.") var out: String = "bench-out"
    @Flag(help: "Continue an interrupted run: reuse the pairs already in <out>/runs.jsonl.") var resume = false

    var categoryList: [String]? {
        categories.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
    }

    func validate() throws {
        let parsed: [MethodSpec]
        do { parsed = try MethodSpec.parseList(methods) } catch { throw ValidationError("\(error)") }
        if parsed.contains(where: { $0.needsDraftModel }) && draftModel == nil {
            throw ValidationError("a method with a draft model (model, hybrid, cross-vocab, draft, rstitch, or a chain with one) needs --draft-model")
        }
        if maxTokens < 1 { throw ValidationError("--max-tokens must be at least 1") }
        if !(temperature >= 0 && temperature.isFinite) { throw ValidationError("--temperature must be >= 0") }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
        if let perCategory, perCategory < 1 { throw ValidationError("--per-category must be at least 1") }
        if let perFamily, perFamily < 1 { throw ValidationError("--per-family must be at least 1") }
        if let list = categoryList, list.isEmpty { throw ValidationError("--categories is empty") }
    }

    func run() throws {
        try reportingErrors {
            try checkKernels(noticePortable: true)
            let methodList = try MethodSpec.parseList(methods)
            let datasetPath = try dataset ?? BenchDataset.locateDefault()
            let prompts = try BenchDataset(path: datasetPath).select(categories: categoryList, limit: limit, perCategory: perCategory,
                                                                   perFamily: perFamily)
            guard !prompts.isEmpty else { throw BenchError.invalidOption("no prompts selected from \(datasetPath)") }

            let target = try modelOptions.load()
            var draft: LoadedModel?
            if methodList.contains(where: { $0.needsDraftModel }), let draftModel {
                // Always a separate instance, even for the target's own file: the drafter owns its KV cache.
                draft = try LoadedModel(draftModel, contextLength: modelOptions.context, threads: modelOptions.threads)
            }
            let runOptions = BenchRunOptions(maxTokens: maxTokens, sampling: SamplingParameters(temperature: temperature, seed: seed))
            let runner = try BenchRunner(target: target, draft: draft, methods: methodList, options: runOptions)

            var config = BenchConfiguration(
                model: target.name, modelPath: target.file.path, draftModel: draft?.name, dataset: datasetPath,
                methods: runner.methods.map(\.label), categories: categoryList, limit: limit, perCategory: perCategory,
                perFamily: perFamily, prompts: prompts.count, maxTokens: maxTokens, temperature: temperature, seed: seed,
                threads: target.transformer.pool.threadCount, context: target.transformer.contextLength,
                warmUpTokens: runOptions.warmUpTokens)
            let dir = URL(fileURLWithPath: out)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let runsPath = dir.appendingPathComponent("runs.jsonl").path
            let configPath = dir.appendingPathComponent("config.json").path
            var resumed: [RunRecord] = []
            if resume {
                if let previous = BenchConfiguration.read(path: configPath) {
                    if let differences = config.resumeMismatch(with: previous) {
                        throw BenchError.resumeMismatch(path: runsPath, differences: differences)
                    }
                    config.started = previous.started
                } else if FileManager.default.fileExists(atPath: runsPath) {
                    note("warning: \(configPath) is missing; cannot check that \(runsPath) was made with the same options")
                }
                let contents = try RunLog.read(path: runsPath)
                if contents.droppedPartialLine { note("dropped an unfinished last line of \(runsPath)") }
                resumed = contents.records
                let keys = Set(prompts.flatMap { p in runner.methods.map { RunKey(questionID: p.id, method: $0.label) } })
                let reused = Set(resumed.map(\.key)).intersection(keys).count
                note("resuming: \(reused) of \(keys.count) (prompt, method) pairs already recorded in \(runsPath)")
            } else if FileManager.default.fileExists(atPath: runsPath) {
                note("starting over: replacing \(runsPath) (use --resume to continue it)")
            }
            try config.write(path: configPath)
            let log = try RunLog(path: runsPath, keeping: resumed)

            note("bench: \(prompts.count) prompt(s) × \(runner.methods.count) method(s) "
                 + "(\(runner.methods.map(\.label).joined(separator: ", "))), \(maxTokens) max tokens per turn")
            let bar = ProgressBar()
            let records = try runner.run(prompts: prompts, resumed: resumed, onRecord: { try log.append($0) },
                                         progress: { bar.update($0) })
            bar.finish()

            let report = BenchReport(records: records, methods: runner.methods, greedy: temperature <= 0, configuration: config)
            try report.write(to: out)
            emit(report.markdown())
            note("wrote \(["results.json", "results.md", "runs.jsonl", "speedup.svg", "acceptance.svg"].map { "\(out)/\($0)" }.joined(separator: ", "))")
            let bad = report.losslessMismatches
            if !bad.isEmpty {
                note("warning: lossless methods whose greedy output differs from ar's: \(bad.joined(separator: ", "))")
            }
        }
    }
}

/// A one-line progress display on stderr, redrawn with `\r` on a terminal; elsewhere (a log file)
/// one line per finished turn.
final class ProgressBar {
    private let isTerminal = isatty(STDERR_FILENO) != 0
    private var drawn = false

    func update(_ p: BenchProgress) {
        let line: String
        switch p.phase {
        case .warmUp:
            line = "warm-up \(p.method)"
        case .running, .resumed:
            let width = 20
            let filled = p.pairs > 0 ? width * p.pairsDone / p.pairs : 0
            let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
            let state = p.phase == .resumed ? "recorded" : String(format: "%.1f tok/s", p.tokensPerSecond)
            let turn = p.turns > 1 ? " turn \(p.turn)/\(p.turns)" : ""
            line = "[\(bar)] prompt \(p.prompt)/\(p.prompts) (q\(p.questionID)\(turn))  \(p.method)  \(state)"
        }
        if isTerminal {
            FileHandle.standardError.write(Data(("\r" + line + "\u{1B}[K").utf8))
            drawn = true
        } else if p.finished || p.phase == .warmUp {
            note(line)
        }
    }

    func finish() {
        if drawn { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
