import ArgumentParser
import Foundation
import SpecDecEngine
import SpecDecTokenizer

/// `specdec chat`: an interactive multi-turn chat in the terminal.
struct Chat: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Chat with a model in the terminal (/reset clears the conversation, /quit or Ctrl-D leaves).")

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var sampling: SamplingOptions
    @OptionGroup var speculation: SpeculationCLIOptions
    @Option(help: "System prompt.") var system: String?
    @Option(name: .customLong("max-tokens"), help: "Maximum tokens per answer.") var maxTokens: Int = 512

    func run() throws {
        try reportingErrors {
            try checkKernels(noticePortable: true)
            let model = try modelOptions.load()
            let session = try speculation.makeSession(model: model, seed: sampling.seed, context: modelOptions.context,
                                                      threads: modelOptions.threads)
            var messages: [ChatMessage] = []
            if let system { messages.append(ChatMessage(role: "system", content: system)) }
            let interactive = isatty(0) != 0
            note("specdec chat with \(model.name): /reset clears the conversation, /quit or Ctrl-D leaves.")
            while true {
                if interactive { emit("\n> ") }
                guard let line = readLine() else { break }
                let input = line.trimmingCharacters(in: .whitespaces)
                if input.isEmpty { continue }
                if input == "/quit" || input == "/exit" { break }
                if input == "/reset" {
                    messages.removeAll { $0.role != "system" }
                    session.reset()
                    note("(conversation cleared)")
                    continue
                }
                messages.append(ChatMessage(role: "user", content: input))
                let prompt = model.tokenizer.encode(model.chatTemplate.render(messages, addGenerationPrompt: true))
                if prompt.count >= model.transformer.contextLength - 1 {
                    note("error: the conversation (\(prompt.count) tokens) fills the context; use /reset")
                    messages.removeLast()
                    continue
                }
                let options = GenerationOptions(maxTokens: maxTokens, sampling: sampling.parameters)
                let result = try session.generate(prompt: prompt, options: options) { emit($0); return true }
                emit("\n")
                note(String(format: "[%d tokens, %.1f tokens/s]", result.stats.generatedTokens, result.stats.tokensPerSecond))
                messages.append(ChatMessage(role: "assistant", content: result.text))
            }
        }
    }
}
