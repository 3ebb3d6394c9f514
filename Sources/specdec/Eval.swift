import ArgumentParser
import Foundation
import SpecDecBench
import SpecDecEngine
import SpecDecKernels

/// `specdec eval`: answer quality and speed of methods on a task (GSM8K), interleaved as the
/// benchmark runs.
struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure answer quality and speed of methods on GSM8K (accuracy, 95% interval, speedup over the target alone).",
        discussion: """
            Methods use the bench's spec syntax (model:k=4, lookup, model:k=4,v=top-beta,beta=3,tau=1, \
            model:k=4,v=confidence,lambda=2, …) plus draft (the draft model alone), rstitch:slm=H,llm=H (R-Stitch \
            with fixed normalized-entropy thresholds) and rstitch:share=F (adaptive). ar (the target alone) always runs first.
            Writes config.json, results.json, results.md, runs.jsonl and accuracy_vs_speedup.svg into --out; --resume refuses a run of another model, budget or sampling.
            """)

    @Option(help: "The task (gsm8k).") var task: String = "gsm8k"
    @OptionGroup var modelOptions: ModelOptions
    @Option(name: .customLong("draft-model"), help: "Draft / small model (for model, draft and rstitch methods).")
    var draftModel: String?
    @Option(help: "Methods to compare, comma- or semicolon-separated (repeatable); `ar` always runs first.")
    var methods: [String] = []
    @Option(help: "GSM8K test.jsonl (default: \(GSM8KDataset.defaultRelativePath)).") var dataset: String?
    @Option(help: "Use the first N problems.") var limit: Int = 50
    @Option(name: .customLong("max-tokens"), help: "Maximum tokens per answer.") var maxTokens: Int = 384
    @Option(help: "Sampling temperature (0 = greedy).") var temperature: Float = 0
    @Option(help: "Random seed (the same for every method and problem).") var seed: UInt64 = 0
    @Option(help: "Output folder.") var out: String = "eval-out"
    @Flag(help: "Continue an interrupted run: reuse the pairs already in <out>/runs.jsonl.") var resume = false

    func validate() throws {
        guard task == "gsm8k" else { throw ValidationError("--task must be gsm8k (the only task so far), got '\(task)'") }
        let parsed: [MethodSpec]
        do { parsed = try MethodSpec.parseList(methods.isEmpty ? ["ar"] : methods) } catch { throw ValidationError("\(error)") }
        if parsed.contains(where: { $0.needsDraftModel }) && draftModel == nil {
            throw ValidationError("a method with a draft model (model, hybrid, draft, rstitch, …) needs --draft-model")
        }
        if limit < 1 { throw ValidationError("--limit must be at least 1") }
        if maxTokens < 1 { throw ValidationError("--max-tokens must be at least 1") }
        if !(temperature >= 0 && temperature.isFinite) { throw ValidationError("--temperature must be >= 0") }
    }

    func run() throws {
        try reportingErrors {
            try checkKernels(noticePortable: true)
            let methodList = try MethodSpec.parseList(methods.isEmpty ? ["ar"] : methods)
            guard let datasetPath = dataset ?? GSM8KDataset.locateDefault() else {
                throw EvalError.datasetNotFound(GSM8KDataset.defaultRelativePath)
            }
            let problems = try GSM8KDataset(path: datasetPath).select(limit: limit)
            let target = try modelOptions.load()
            var draft: LoadedModel?
            if methodList.contains(where: { $0.needsDraftModel }), let draftModel {
                draft = try LoadedModel(draftModel, contextLength: modelOptions.context, threads: modelOptions.threads)
            }
            let runOptions = BenchRunOptions(maxTokens: maxTokens, sampling: SamplingParameters(temperature: temperature, seed: seed))
            let runner = try EvalRunner(target: target, draft: draft, methods: methodList, options: runOptions)
            var config = EvalConfiguration(task: task, model: target.name, draftModel: draft?.name, dataset: datasetPath,
                                           maxTokens: maxTokens, temperature: temperature, seed: seed,
                                           threads: target.transformer.pool.threadCount, cpu: CPUInfo.modelName,
                                           kernels: KernelSet.active.rawValue, problems: problems.count,
                                           methods: runner.methods.map(\.label))
            let dir = URL(fileURLWithPath: out)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let runsPath = dir.appendingPathComponent("runs.jsonl").path
            let configPath = dir.appendingPathComponent("config.json").path
            var resumed: [EvalRecord] = []
            if resume, let previous = EvalConfiguration.read(path: configPath) {
                // As the benchmark: records of another model, budget or sampling are not mixed in.
                if let differences = config.resumeMismatch(with: previous) {
                    throw BenchError.resumeMismatch(path: runsPath, differences: differences)
                }
                config.date = previous.date
            }
            if resume, FileManager.default.fileExists(atPath: runsPath) {
                let contents = try EvalRunLog.read(path: runsPath)
                if contents.droppedPartialLine { note("dropped an unfinished last line of \(runsPath)") }
                resumed = contents.records
                note("resuming: \(resumed.count) (problem, method) pairs already recorded in \(runsPath)")
            }
            try config.write(path: configPath)
            let log = try EvalRunLog(path: runsPath, keeping: resumed)
            note("eval: \(problems.count) GSM8K problem(s) × \(runner.methods.count) method(s) "
                 + "(\(runner.methods.map(\.label).joined(separator: ", "))), \(maxTokens) max tokens")
            let records = try runner.run(problems: problems, resumed: resumed, onRecord: { try log.append($0) },
                                         progress: { note($0) })
            let report = EvalReport(records: records, configuration: config, methods: runner.methods.map(\.label))
            let written = try report.write(to: out)
            emit(report.markdown())
            note("wrote \((written + [runsPath]).joined(separator: ", "))")
        }
    }
}
