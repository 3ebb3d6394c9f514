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

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if repetitions < 1 { throw ValidationError("--repetitions must be at least 1") }
    }

    func run() throws {
        try reportingErrors {
            let loaded = try LoadedModel(model, contextLength: 1024, threads: threads)
            var bench = SpeedBenchmark()
            bench.repetitions = repetitions
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
