import Foundation
import SpecDecModel
@_exported import SpecDecSpeculation
import SpecDecTokenizer

/// Why generation ended.
public enum StopReason: String, Sendable, Codable {
    /// An end-of-sequence or end-of-turn token was produced.
    case endOfSequence = "eos"
    /// The token budget was used up.
    case maxTokens = "max_tokens"
    /// A stop string appeared in the text.
    case stopString = "stop"
    /// The context is full.
    case contextFull = "context_full"
    /// The caller asked to stop (e.g. a client went away).
    case cancelled
}

/// Timing and counts of one generation. `Codable` is synthesized over the stored values;
/// ``DerivedFiguresReporting/report`` adds `tokens_per_second`.
public struct GenerationStats: Sendable, Codable, Equatable {
    public var promptTokens = 0
    public var generatedTokens = 0
    public var prefillSeconds = 0.0
    public var decodeSeconds = 0.0
    /// Generated tokens per second of decoding.
    public var tokensPerSecond: Double { decodeSeconds > 0 ? Double(generatedTokens) / decodeSeconds : 0 }

    public init() {}

    enum CodingKeys: String, CodingKey {
        case promptTokens = "prompt_tokens", generatedTokens = "generated_tokens"
        case prefillSeconds = "prefill_seconds", decodeSeconds = "decode_seconds"
    }
}

extension GenerationStats: DerivedFiguresReporting {
    /// The figure computed from the counts.
    public struct Rates: Encodable, Sendable, Equatable {
        public var tokensPerSecond: Double

        enum CodingKeys: String, CodingKey { case tokensPerSecond = "tokens_per_second" }
    }

    /// ``tokensPerSecond``.
    public var derivedFigures: Rates { Rates(tokensPerSecond: tokensPerSecond) }
}

/// The outcome of one generation.
public struct GenerationResult: Sendable {
    public var promptTokens: [Int32]
    /// Generated token ids (the end-of-turn token included when one stopped generation).
    public var tokens: [Int32]
    /// Generated text (end-of-turn token and stop string excluded).
    public var text: String
    public var stats: GenerationStats
    public var stopReason: StopReason
    /// Drafting and verification counts (speculative generation only).
    public var speculation: SpeculationStats?
    /// Which model wrote what (R-Stitch generation only).
    public var routing: RStitchStats?

    public init(promptTokens: [Int32], tokens: [Int32], text: String, stats: GenerationStats, stopReason: StopReason,
                speculation: SpeculationStats? = nil) {
        self.promptTokens = promptTokens
        self.tokens = tokens
        self.text = text
        self.stats = stats
        self.stopReason = stopReason
        self.speculation = speculation
    }
}

/// Options of one generation.
public struct GenerationOptions: Sendable {
    public var maxTokens: Int = 256
    public var sampling = SamplingParameters()
    /// Generation stops when one of these appears in the text (the text is cut before it).
    public var stopStrings: [String] = []
    /// Stop at the model's end-of-sequence / end-of-turn tokens.
    public var stopAtEndOfTurn = true

    public init(maxTokens: Int = 256, sampling: SamplingParameters = SamplingParameters(), stopStrings: [String] = []) {
        self.maxTokens = maxTokens
        self.sampling = sampling
        self.stopStrings = stopStrings
    }
}

/// Plain autoregressive generation: one target forward per token.
///
/// Keeps the tokens that are in the model's KV cache, so a later prompt sharing a prefix with the
/// previous conversation (multi-turn chat) only evaluates the new part.
public final class Generator: @unchecked Sendable {
    public let model: LoadedModel
    /// Tokens whose keys and values are in the cache, in order.
    public private(set) var cachedTokens: [Int32] = []

    public init(model: LoadedModel) { self.model = model }

    /// Forgets the cache.
    public func reset() {
        model.transformer.reset()
        cachedTokens = []
    }

    /// Generates a continuation of `prompt`. `onText` receives text as it is decoded (complete UTF-8
    /// only) and returns false to stop.
    public func generate(prompt: [Int32], options: GenerationOptions,
                         onText: (String) -> Bool = { _ in true }) throws -> GenerationResult {
        try options.sampling.validate()
        guard options.maxTokens >= 0 else { throw EngineError.invalidParameter("max tokens must be >= 0") }
        guard !prompt.isEmpty else { throw EngineError.emptyPrompt }
        let tf = model.transformer
        guard prompt.count < tf.contextLength else { throw EngineError.promptTooLong(tokens: prompt.count, context: tf.contextLength) }
        var sampler = Sampler(options.sampling)
        var stats = GenerationStats()
        stats.promptTokens = prompt.count

        // Prefill: reuse the cached prefix, evaluate the rest (at least the last prompt token).
        let t0 = DispatchTime.now()
        var common = 0
        while common < min(cachedTokens.count, prompt.count - 1) && cachedTokens[common] == prompt[common] { common += 1 }
        tf.truncate(to: common)
        cachedTokens.removeSubrange(common...)
        var logits = try tf.forward(Array(prompt[common...]), logits: .last)
        cachedTokens.append(contentsOf: prompt[common...])
        stats.prefillSeconds = seconds(since: t0)

        var out = StreamOutput(model: model, stopStrings: options.stopStrings)
        var reason = StopReason.maxTokens
        let t1 = DispatchTime.now()
        var generated: [Int32] = []
        while generated.count < options.maxTokens {
            let token = sampler.sample(logits[logits.rows - 1])
            generated.append(token)
            if options.stopAtEndOfTurn && model.tokenizer.endOfTurnTokens.contains(token) { reason = .endOfSequence; break }
            let (piece, hitStop) = out.append(token)
            if !piece.isEmpty && !onText(piece) { reason = .cancelled; break }
            if hitStop { reason = .stopString; break }
            if generated.count == options.maxTokens { break }
            guard tf.position < tf.contextLength else { reason = .contextFull; break }
            logits = try tf.forward(token: token, logits: .last)
            cachedTokens.append(token)
        }
        if reason != .stopString && reason != .cancelled {
            let rest = out.finish()
            if !rest.isEmpty { _ = onText(rest) }
        }
        stats.decodeSeconds = seconds(since: t1)
        stats.generatedTokens = generated.count
        return GenerationResult(promptTokens: prompt, tokens: generated, text: out.text, stats: stats, stopReason: reason)
    }
}

/// Seconds elapsed since `start`.
func seconds(since start: DispatchTime) -> Double {
    Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
}

/// Turns generated tokens into streamed text, holding back text that could be the start of a stop string.
struct StreamOutput {
    private var detok: StreamingDetokenizer
    private let stopStrings: [String]
    /// All text released so far.
    private(set) var text = ""
    private var pending = ""

    init(model: LoadedModel, stopStrings: [String]) {
        detok = StreamingDetokenizer(tokenizer: model.tokenizer)
        self.stopStrings = stopStrings.filter { !$0.isEmpty }
    }

    /// Adds a token; returns the text that can be released and whether a stop string was hit.
    mutating func append(_ token: Int32) -> (String, Bool) {
        pending += detok.append(token)
        return release()
    }

    /// Releases everything still held.
    mutating func finish() -> String {
        pending += detok.finish()
        let r = release().0 + pending
        text += pending
        pending = ""
        return r
    }

    private mutating func release() -> (String, Bool) {
        if stopStrings.isEmpty {
            text += pending
            defer { pending = "" }
            return (pending, false)
        }
        for s in stopStrings {
            if let r = pending.range(of: s) {
                let piece = String(pending[..<r.lowerBound])
                text += piece
                pending = ""
                return (piece, true)
            }
        }
        // Hold back the longest suffix of pending that is a prefix of some stop string.
        var hold = 0
        for s in stopStrings {
            for k in stride(from: min(s.count - 1, pending.count), to: 0, by: -1) where pending.hasSuffix(String(s.prefix(k))) {
                hold = max(hold, k)
                break
            }
        }
        let cut = pending.index(pending.endIndex, offsetBy: -hold)
        let piece = String(pending[..<cut])
        pending = String(pending[cut...])
        text += piece
        return (piece, false)
    }
}
