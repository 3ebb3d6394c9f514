import ArgumentParser
import Foundation
import SpecDecBench
import SpecDecEngine

/// Options shared by the calibrate commands.
struct CalibrationOptions: ParsableArguments {
    @Option(help: "Model: a known name or a GGUF path.") var model: String = "qwen2.5-coder-0.5b"
    @Option(help: "Spec-Bench-style question.jsonl (default: \(BenchDataset.defaultRelativePath)); the standard benchmark's 60 prompts are left out.")
    var dataset: String?
    @Option(help: "Worker threads (default: the number of cores).") var threads: Int?
    @Option(help: "Output file (default: the calibration cache, ~/.cache/specdec/calibration or $SPECDEC_CALIBRATION).")
    var out: String?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    /// Loads the model and picks `count` calibration prompts; also returns the dataset's path.
    func load(prompts count: Int) throws -> (model: LoadedModel, prompts: [String], dataset: String) {
        let model = try LoadedModel(self.model, contextLength: 4096, threads: threads)
        let path = try dataset ?? BenchDataset.locateDefault()
        let texts = try Calibration.prompts(BenchDataset(path: path), count: count)
        guard !texts.isEmpty else { throw BenchError.invalidOption("no calibration prompts in \(path)") }
        return (model, texts, path)
    }
}

/// `specdec calibrate-vocab`: rank a draft model's tokens for a trimmed draft head.
struct CalibrateVocab: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate-vocab",
        abstract: "Rank a model's tokens by their frequency in its own greedy answers (for --draft-vocab).")

    @OptionGroup var common: CalibrationOptions
    @Option(help: "Calibration prompts.") var prompts: Int = 160
    @Option(name: .customLong("max-tokens"), help: "Tokens generated per prompt.") var maxTokens: Int = 128
    @Flag(name: .customLong("answers-only"), help: "Count only the model's answers, not the prompts' tokens.")
    var answersOnly = false

    func validate() throws {
        if prompts < 1 || maxTokens < 1 { throw ValidationError("--prompts and --max-tokens must be at least 1") }
    }

    func run() throws {
        try reportingErrors {
            try checkKernels(noticePortable: true)
            let (model, texts, path) = try common.load(prompts: prompts)
            let out = common.out ?? CalibrationStore().cachePath(CalibrationStore.vocabularyFile(model: model.name))
            let what = answersOnly ? "answers" : "prompts and answers"
            let ranking = try Calibration.vocabulary(model, prompts: texts, maxTokens: maxTokens, countPrompts: !answersOnly,
                                                     source: "\(what) of \(texts.count) prompts of \(path), \(maxTokens) tokens each") {
                note("calibrate-vocab: \($0)/\(texts.count) prompts")
            }
            try ranking.write(path: out)
            let v = ranking.vocabularySize
            var line = "\(ranking.tokensCounted) tokens counted, \(ranking.ranked.count) distinct of \(v)"
            for n in [8_192, 16_384, 32_768, 65_536] where n < v && n < ranking.ranked.count {
                let covered = ranking.counts.prefix(n).reduce(0, +)
                line += String(format: "; top %dk covers %.2f%%", n / 1024, 100 * Double(covered) / Double(max(1, ranking.tokensCounted)))
            }
            note(line)
            note("wrote \(out)")
        }
    }
}

/// `specdec calibrate-skip`: find the sublayers a model can skip when drafting for itself.
struct CalibrateSkip: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate-skip",
        abstract: "Search the attention and feed-forward sublayers a model skips when it drafts for itself (--drafter self).")

    @OptionGroup var common: CalibrationOptions
    @Option(help: "Calibration prompts (the model's greedy answers to them are the scored text).") var prompts: Int = 8
    @Option(name: .customLong("max-tokens"), help: "Tokens generated per prompt.") var maxTokens: Int = 64
    @Option(name: .customLong("draft-max"), help: "Draft length k the objective assumes.") var draftMax: Int = 4
    @Option(name: .customLong("verify-cost"), help: "V(k) in single-token forwards (default: measured here).")
    var verifyCost: Double?
    @Option(help: "Most evaluations (0 = 4 x layers).") var budget: Int = 0
    @Option(name: .customLong("draft-vocab"),
            help: "Search for drafts through a trimmed head: N tokens of the model's ranking, or a ranking FILE[:N] (as --draft-vocab of generate).")
    var draftVocab: String?

    func validate() throws {
        if prompts < 1 || maxTokens < 2 { throw ValidationError("--prompts must be >= 1 and --max-tokens >= 2") }
        if draftMax < 1 { throw ValidationError("--draft-max must be at least 1") }
        if budget < 0 { throw ValidationError("--budget must be >= 0") }
        if let verifyCost, !(verifyCost > 0) { throw ValidationError("--verify-cost must be > 0") }
    }

    func run() throws {
        try reportingErrors {
            try checkKernels(noticePortable: true)
            let (model, texts, path) = try common.load(prompts: prompts)
            let pairs = try Calibration.answers(model, prompts: texts, maxTokens: maxTokens) {
                note("calibrate-skip: answered \($0)/\(texts.count) prompts")
            }
            var speculation = SpeculationOptions()
            speculation.draftVocabulary = try draftVocab.map(DraftVocabulary.parse)
            let head = try speculation.trimmedHead(of: model)
            let v = try verifyCost ?? Calibration.verifyCost(model.transformer, draftLength: draftMax)
            note(String(format: "calibrate-skip: V(%d) = %.2f single-token forwards", draftMax, v))
            var search = LayerSkipSearch.Options(draftLength: draftMax, verifyCost: v, maxEvaluations: budget)
            search.maxSkippedShare = 0.75
            let samples = pairs.filter { $0.answer.count >= 2 }.map { LayerSkipSearch.Sample(prompt: $0.prompt, continuation: $0.answer) }
            let t0 = DispatchTime.now().uptimeNanoseconds
            let result = try LayerSkipSearch.search(model: model.transformer, samples: samples, head: head, options: search)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            let out = common.out ?? CalibrationStore().cachePath(CalibrationStore.skipFile(model: model.name))
            let file = SkipCalibration(model: model.name, result: result, draftLength: draftMax, verifyCost: v, samples: samples.count,
                                       draftVocabulary: draftVocab, source: "\(texts.count) prompts of \(path), \(maxTokens) tokens each")
            try file.write(path: out)
            note(String(format: "skip %d of %d sublayers (attention %@, feed-forward %@): agreement %.3f, cost %.2f, estimated speedup %.2fx (%d evaluations of %d positions, %.1f s)",
                        result.skip.count, 2 * model.transformer.config.layerCount, "\(result.skip.attention)", "\(result.skip.feedForward)",
                        result.agreement, result.relativeCost, result.estimatedSpeedup, result.evaluations, result.positions, seconds))
            note("wrote \(out)")
        }
    }
}
