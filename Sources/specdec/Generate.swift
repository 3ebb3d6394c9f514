import ArgumentParser
import Foundation
import SpecDecEngine
import SpecDecKernels

/// `specdec generate`: one completion, streamed or as JSON.
struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Generate a continuation of a prompt.")

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var sampling: SamplingOptions
    @OptionGroup var speculation: SpeculationCLIOptions

    @Option(help: "The prompt text.") var prompt: String = ""
    @Option(name: .customLong("prompt-ids"), help: "The prompt as comma-separated token ids (instead of --prompt).")
    var promptIDs: String?
    @Flag(help: "Wrap the prompt in the model's chat template and stop at the end of the turn.") var chat = false
    @Option(help: "System prompt (with --chat).") var system: String?
    @Option(name: .customLong("max-tokens"), help: "Maximum tokens to generate.") var maxTokens: Int = 256
    @Option(name: .customLong("stop"), help: "Stop when this string appears (repeatable).") var stop: [String] = []
    @Option(help: "Output format: text (streamed) or json (one object at the end).") var format: OutputFormat = .text

    enum OutputFormat: String, ExpressibleByArgument { case text, json }

    func validate() throws {
        if maxTokens < 0 { throw ValidationError("--max-tokens must be >= 0") }
        if promptIDs == nil && prompt.isEmpty { throw ValidationError("give --prompt TEXT (or --prompt-ids)") }
        if let promptIDs, parseIDs(promptIDs) == nil { throw ValidationError("--prompt-ids must be comma-separated integers") }
    }

    func run() throws {
        try reportingErrors {
            try checkKernels(noticePortable: true)
            let model = try modelOptions.load()
            let tokens = promptIDs.flatMap(parseIDs) ?? model.promptTokens(prompt, chat: chat, system: system)
            var options = GenerationOptions(maxTokens: maxTokens, sampling: sampling.parameters, stopStrings: stop)
            options.stopAtEndOfTurn = true
            let onText: (String) -> Bool = { piece in
                if format == .text { emit(piece) }
                return true
            }
            let session = try speculation.makeSession(model: model, seed: sampling.seed, context: modelOptions.context,
                                                      threads: modelOptions.threads)
            let result = try session.generate(prompt: tokens, options: options, onText: onText)
            switch format {
            case .text:
                emit("\n")
                let s = result.stats
                note(String(format: "[%d prompt tokens, %d generated, prefill %.2f s, %.2f tokens/s, stop: %@]",
                            s.promptTokens, s.generatedTokens, s.prefillSeconds, s.tokensPerSecond, result.stopReason.rawValue))
                if let sp = result.speculation {
                    note(String(format: "[speculation: %d steps, %d drafted, %d accepted, mean accepted tokens per step %.2f]",
                                sp.draftSteps, sp.drafted, sp.accepted, sp.meanAccepted))
                }
                if let r = result.routing {
                    note(String(format: "[rstitch: %d tokens by the small model, %d by the large (share %.2f), %d switches to it, %d back]",
                                r.slmTokens, r.llmTokens, r.llmTokenShare, r.switchesToLLM, r.switchesToSLM))
                }
            case .json:
                let out = GenerateJSON(promptTokens: result.promptTokens, tokens: result.tokens, text: result.text,
                                       stopReason: result.stopReason.rawValue, kernels: KernelSet.active.rawValue,
                                       stats: generateStatsJSON(generation: result.stats, speculation: result.speculation),
                                       routing: result.routing)
                let enc = JSONEncoder()
                enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                emit(String(decoding: try enc.encode(out), as: UTF8.self) + "\n")
            }
        }
    }
}

/// The `--format json` object of `specdec generate`.
struct GenerateJSON: Encodable {
    var promptTokens: [Int32]
    var tokens: [Int32]
    var text: String
    var stopReason: String
    /// The kernel set that ran (``KernelSet/active``).
    var kernels: String
    var stats: FlatJSON
    /// R-Stitch counts (`--router rstitch` only).
    var routing: RStitchStats?

    enum CodingKeys: String, CodingKey {
        case promptTokens = "prompt_tokens", tokens, text, stopReason = "stop_reason", kernels, stats, routing
    }
}

/// Parses "1,2, 3" into token ids.
func parseIDs(_ s: String) -> [Int32]? {
    let parts = s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    let ids = parts.compactMap { Int32($0) }
    return ids.count == parts.count && !ids.isEmpty ? ids : nil
}

/// `stats` of the JSON output: the generation figures, plus the speculation counts and rates when speculating.
func generateStatsJSON(generation: GenerationStats, speculation: SpeculationStats?) -> FlatJSON {
    FlatJSON(generation.report, speculation?.report)
}
