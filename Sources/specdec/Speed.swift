import ArgumentParser
import Foundation
import SpecDecEngine

/// `specdec speed`: a llama-bench-style benchmark of one model.
struct Speed: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure decode and prefill speed and the cost of batched forwards (median of repetitions).")

    @Option(help: "Model: a known name or a GGUF path.") var model: String = "qwen2.5-coder-1.5b"
    @Option(help: "Worker threads (default: the number of cores).") var threads: Int?
    @Option(help: "Repetitions per figure (after one warm-up).") var repetitions: Int = 5
    @Option(help: "Output format: text (markdown tables) or json.") var format: Generate.OutputFormat = .text
    @Option(help: "Tokens decoded one at a time (0 skips the decode figure).") var decodeTokens: Int = 128
    @Option(help: "Prompt tokens of the prefill figure (0 skips it).") var prefillTokens: Int = 512
    @Option(help: "Comma-separated batch sizes of the batched-forward figures; ratios are to the first.")
    var batchSizes: String = "1,2,4,8,16,32"
    @Option(help: "MiB read by each memory bandwidth probe (run before decoding, before the batched forwards and at the end; 0 skips it).")
    var bandwidthProbeMib: Int = 256
    @Flag(help: "Also time the batched forwards by part (projections, attention, feed-forward, output layer), in extra repetitions.")
    var breakdown = false
    @Option(name: .customLong("draft-vocab"),
            help: "Also time decode through a trimmed head (N tokens of the model's ranking, or a ranking FILE[:N]): the draft cost c.")
    var draftVocab: String?
    @Option(help: "Also time decode with this skip set (a calibrate-skip file): the draft cost c.") var skip: String?

    func parsedBatchSizes() throws -> [Int] {
        let parts = batchSizes.split(separator: ",", omittingEmptySubsequences: false)
        let sizes = parts.compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard sizes.count == parts.count, !sizes.isEmpty, sizes.allSatisfy({ $0 >= 1 && $0 <= 512 }) else {
            throw ValidationError("--batch-sizes must be a comma-separated list of integers in 1...512, got '\(batchSizes)'")
        }
        return sizes
    }

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if repetitions < 1 { throw ValidationError("--repetitions must be at least 1") }
        if decodeTokens < 0 || prefillTokens < 0 { throw ValidationError("token counts must not be negative") }
        if bandwidthProbeMib < 0 || bandwidthProbeMib > 65536 {
            throw ValidationError("--bandwidth-probe-mib must be in 0...65536, got \(bandwidthProbeMib)")
        }
        _ = try parsedBatchSizes()
    }

    func run() throws {
        try reportingErrors {
            try checkKernels(noticePortable: false)
            let context = max(1024, prefillTokens, 256 + (try parsedBatchSizes().max() ?? 1))
            let loaded = try LoadedModel(model, contextLength: context, threads: threads)
            var bench = SpeedBenchmark()
            bench.repetitions = repetitions
            bench.decodeTokens = decodeTokens
            bench.prefillTokens = prefillTokens
            bench.batchSizes = try parsedBatchSizes()
            bench.bandwidthProbe.bytes = bandwidthProbeMib << 20
            bench.breakdown = breakdown
            if let draftVocab {
                var o = SpeculationOptions()
                o.draftVocabulary = try DraftVocabulary.parse(draftVocab)
                bench.draftHead = try o.trimmedHead(of: loaded)
            }
            if let skip { bench.draftSkip = try SkipCalibration.read(path: skip).result.skip }
            let report = try bench.run(loaded) { note($0) }
            switch format {
            case .text: emit(report.markdown)
            case .json:
                let enc = JSONEncoder()
                enc.outputFormatting = [.sortedKeys]
                emit(String(decoding: try enc.encode(report), as: UTF8.self) + "\n")
            }
        }
    }
}
