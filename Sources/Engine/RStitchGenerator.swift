import Foundation
import SpecDecModel
import SpecDecSpeculation
import SpecDecTokenizer

/// R-Stitch generation (``RStitchDecoder``) with streaming text, stop strings and end-of-turn
/// handling: `slm` (`--draft-model`) writes the tokens it is confident about, `llm` (`--model`) the
/// others. Keeps the decoder, and so both models' cached prefixes, across requests.
public final class RStitchGenerator: @unchecked Sendable {
    /// The large model (whose tokenizer and chat template are used).
    public let llm: LoadedModel
    /// The small model.
    public let slm: LoadedModel
    public let policy: RStitchPolicy
    private let decoder: RStitchDecoder
    /// Totals over every request of this generator.
    public private(set) var totalStats = RStitchStats()

    /// Throws ``EngineError`` when the two models' tokenizers differ, they are one loaded model, or
    /// the policy is invalid.
    public init(llm: LoadedModel, slm: LoadedModel, policy: RStitchPolicy) throws {
        guard llm !== slm else {
            throw EngineError.invalidParameter("R-Stitch needs the small model loaded separately from the large one: each needs its own KV cache")
        }
        if let difference = Tokenizer.differences(llm.tokenizer, slm.tokenizer) {
            throw EngineError.incompatibleDraft(target: llm.name, draft: slm.name, difference: difference)
        }
        do {
            decoder = try RStitchDecoder(slm: slm.transformer, llm: llm.transformer, policy: policy, sampling: SamplingParameters())
        } catch {
            throw EngineError.invalidParameter("\(error)")
        }
        self.llm = llm
        self.slm = slm
        self.policy = policy
    }

    /// Generates a continuation of `prompt`; `onText` receives complete UTF-8 text as tokens are
    /// written and returns false to stop. The result's ``GenerationResult/routing`` holds the counts.
    public func generate(prompt: [Int32], options gen: GenerationOptions,
                         onText: (String) -> Bool = { _ in true }) throws -> GenerationResult {
        try gen.sampling.validate()
        guard gen.maxTokens >= 0 else { throw EngineError.invalidParameter("max tokens must be >= 0") }
        guard !prompt.isEmpty else { throw EngineError.emptyPrompt }
        let context = min(llm.transformer.contextLength, slm.transformer.contextLength)
        guard prompt.count < context else { throw EngineError.promptTooLong(tokens: prompt.count, context: context) }
        var stats = GenerationStats()
        stats.promptTokens = prompt.count
        try decoder.start(prompt: prompt, sampling: gen.sampling)

        var out = StreamOutput(model: llm, stopStrings: gen.stopStrings)
        var generated: [Int32] = []
        var reason = StopReason.maxTokens
        let t1 = DispatchTime.now()
        while generated.count < gen.maxTokens {
            guard decoder.context.count < context else { reason = .contextFull; break }
            let token = try decoder.step()
            generated.append(token)
            if gen.stopAtEndOfTurn && llm.tokenizer.endOfTurnTokens.contains(token) { reason = .endOfSequence; break }
            let (piece, hitStop) = out.append(token)
            if !piece.isEmpty && !onText(piece) { reason = .cancelled; break }
            if hitStop { reason = .stopString; break }
        }
        decoder.finish()
        if reason != .stopString && reason != .cancelled {
            let rest = out.finish()
            if !rest.isEmpty { _ = onText(rest) }
        }
        // Each model evaluates the prompt at its first turn to write (the LLM perhaps never): the
        // prefill is part of the decoding time here.
        let routing = decoder.stats
        stats.decodeSeconds = seconds(since: t1)
        stats.generatedTokens = generated.count
        totalStats.merge(routing)
        var result = GenerationResult(promptTokens: prompt, tokens: generated, text: out.text, stats: stats, stopReason: reason)
        result.routing = routing
        return result
    }

    /// Forgets both models' cached prefixes.
    public func reset() { decoder.reset() }
}

/// Default R-Stitch thresholds (normalized entropies) of `--router rstitch` and the bench's `rstitch`.
public enum RStitchDefaults {
    /// The SLM hands a token to the LLM at this normalized entropy or above.
    public static let slmEntropy: Float = 0.1
    /// The LLM hands back after a token below this normalized entropy.
    public static let llmEntropy: Float = 0.1
    /// The adaptive policy's default target LLM share.
    public static let llmShare: Float = 0.3
}
