import Foundation
import SpecDecModel

/// Which model writes the next token under R-Stitch routing.
public enum RStitchWriter: String, Sendable, Codable {
    /// The small model.
    case slm
    /// The large model.
    case llm
}

/// How R-Stitch decides who writes: fixed entropy thresholds, or one threshold steered toward a
/// target share of LLM-written tokens.
public enum RStitchPolicy: Sendable, Equatable {
    /// The SLM hands a token to the LLM when its normalized entropy is ≥ `slm`; the LLM hands back
    /// after a token it wrote with normalized entropy < `llm`.
    case fixed(slm: Float, llm: Float)
    /// R-Stitch+ in spirit, without training: one threshold θ serves as both `slm` and `llm`, and
    /// after every token θ ← clamp(θ + η · (s − F), 0, 1), s the moving average (weight 1/32) of
    /// "the LLM wrote this token" and F the target LLM share. A share above target raises θ (the SLM
    /// keeps more tokens), one below lowers it.
    case adaptive(llmShare: Float)

    /// Throws ``SpeculationError/invalidParameter(_:)`` for thresholds that are negative or NaN, or a
    /// share outside [0, 1].
    public func validate() throws {
        switch self {
        case .fixed(let slm, let llm):
            guard !slm.isNaN, slm >= 0 else { throw SpeculationError.invalidParameter("R-Stitch SLM entropy threshold must be >= 0, got \(slm)") }
            guard !llm.isNaN, llm >= 0 else { throw SpeculationError.invalidParameter("R-Stitch LLM entropy threshold must be >= 0, got \(llm)") }
        case .adaptive(let share):
            guard !share.isNaN, share >= 0, share <= 1 else {
                throw SpeculationError.invalidParameter("R-Stitch LLM share must be in [0, 1], got \(share)")
            }
        }
    }
}

/// Counts of an R-Stitch request.
public struct RStitchStats: Sendable, Codable, Equatable {
    /// Tokens written by the small model.
    public var slmTokens = 0
    /// Tokens written by the large model.
    public var llmTokens = 0
    /// Hand-overs from the SLM to the LLM (an SLM step whose entropy reached the threshold).
    public var switchesToLLM = 0
    /// Hand-overs from the LLM back to the SLM.
    public var switchesToSLM = 0
    /// Forward passes of each model (a catch-up over several tokens is one).
    public var slmForwards = 0
    public var llmForwards = 0
    /// Tokens each model evaluated in its forwards (its own tokens and the other's, caught up).
    public var slmEvaluatedTokens = 0
    public var llmEvaluatedTokens = 0
    /// Seconds in each model's forwards.
    public var slmSeconds = 0.0
    public var llmSeconds = 0.0
    /// The threshold θ at the end of the request (adaptive policy), else nil.
    public var finalThreshold: Float?

    public init() {}

    /// The share of tokens the LLM wrote (0 when nothing was written).
    public var llmTokenShare: Double {
        let total = slmTokens + llmTokens
        return total > 0 ? Double(llmTokens) / Double(total) : 0
    }

    /// Adds another request's counts.
    public mutating func merge(_ other: RStitchStats) {
        slmTokens += other.slmTokens
        llmTokens += other.llmTokens
        switchesToLLM += other.switchesToLLM
        switchesToSLM += other.switchesToSLM
        slmForwards += other.slmForwards
        llmForwards += other.llmForwards
        slmEvaluatedTokens += other.slmEvaluatedTokens
        llmEvaluatedTokens += other.llmEvaluatedTokens
        slmSeconds += other.slmSeconds
        llmSeconds += other.llmSeconds
        finalThreshold = other.finalThreshold ?? finalThreshold
    }

    enum CodingKeys: String, CodingKey {
        case slmTokens = "slm_tokens", llmTokens = "llm_tokens", switchesToLLM = "switches_to_llm"
        case switchesToSLM = "switches_to_slm", slmForwards = "slm_forwards", llmForwards = "llm_forwards"
        case slmEvaluatedTokens = "slm_evaluated_tokens", llmEvaluatedTokens = "llm_evaluated_tokens"
        case slmSeconds = "slm_seconds", llmSeconds = "llm_seconds", finalThreshold = "final_threshold"
    }
}

/// R-Stitch (Chen et al. 2025, arXiv:2507.17307): entropy-routed decoding in which a small model
/// (SLM) writes the tokens it is confident about and hands uncertain ones to a large model (LLM).
///
/// The rule, token by token, with H(p) = −Σ p log p / log V the entropy of a model's next-token
/// distribution (softmax of its raw logits, temperature 1) normalized by the log of its vocabulary
/// size V, so that H ∈ [0, 1]:
/// - while the SLM writes: it evaluates the context and computes H_slm. If H_slm ≥ θ_slm the SLM's
///   proposal is discarded and the LLM writes this token (a switch); otherwise the SLM's token (its
///   argmax, or a draw under the sampling parameters) is committed;
/// - while the LLM writes: it commits its token; if that token's H_llm < θ_llm, the SLM writes the
///   next one (a switch back).
///
/// So θ_slm = ∞ is the SLM alone, and θ_slm = 0 the LLM alone (every SLM step hands over), token
/// for token. There is no rollback: when a model takes over, its KV cache is caught up on the tokens
/// the other one wrote in ONE batched forward (the missing tokens, logits of the last row only).
/// Each model keeps the tokens in its cache (``slmCachedTokens``, ``llmCachedTokens``) and a sync
/// keeps its longest common prefix with the context, so a new request reuses a shared prompt prefix.
///
/// Greedy decoding and sampling both work: one ``Sampler`` (seeded from the request's parameters)
/// draws every committed token from the writer's distribution. This is a lossy method by design:
/// the output is neither the SLM's nor the LLM's; `specdec eval` measures what it costs in accuracy.
///
/// Not thread-safe (as ``Transformer``): one user at a time.
public final class RStitchDecoder: @unchecked Sendable {
    /// The small model.
    public let slm: Transformer
    /// The large model.
    public let llm: Transformer
    /// The routing rule.
    public let policy: RStitchPolicy
    /// Sampling parameters of the request.
    public private(set) var sampling: SamplingParameters
    /// Every committed token of the request: prompt + generated.
    public private(set) var context: [Int32] = []
    /// Counts of the current request.
    public private(set) var stats = RStitchStats()
    /// Who writes the next token.
    public private(set) var writer: RStitchWriter = .slm
    /// The current threshold θ of the adaptive policy (nil for fixed thresholds).
    public private(set) var threshold: Float?
    /// Tokens whose keys and values are in each model's cache, in order.
    public private(set) var slmCachedTokens: [Int32] = []
    public private(set) var llmCachedTokens: [Int32] = []
    /// The threshold the adaptive policy starts from, and its step η.
    public static let adaptiveStart: Float = 0.1
    public static let adaptiveStep: Float = 0.01
    private var share: Float = 0
    private var sampler: Sampler
    private var started = false
    private let vocabularySize: Int

    /// Throws ``SpeculationError/invalidParameter(_:)`` for an invalid policy or sampling, and
    /// ``SpeculationError/incompatibleDraft(_:)`` when the two models' vocabularies differ by more
    /// than ``DraftModelDrafter/maxVocabularyDifference`` or the SLM is the LLM.
    public init(slm: Transformer, llm: Transformer, policy: RStitchPolicy, sampling: SamplingParameters) throws {
        try policy.validate()
        do { try sampling.validate() } catch { throw SpeculationError.invalidParameter("\(error)") }
        guard slm !== llm else { throw SpeculationError.incompatibleDraft("R-Stitch needs two models with their own caches") }
        try DraftModelDrafter.checkCompatible(draftVocabularySize: slm.config.vocabularySize,
                                              targetVocabularySize: llm.config.vocabularySize)
        self.slm = slm
        self.llm = llm
        self.policy = policy
        self.sampling = sampling
        sampler = Sampler(sampling)
        vocabularySize = min(slm.config.vocabularySize, llm.config.vocabularySize)
        slm.reset()
        llm.reset()
    }

    /// Starts a request: the SLM writes first. `sampling`, when given, replaces the parameters from
    /// this request on. The prompt is evaluated lazily, by the first sync of each model.
    public func start(prompt: [Int32], sampling: SamplingParameters? = nil) throws {
        if let sampling {
            do { try sampling.validate() } catch { throw SpeculationError.invalidParameter("\(error)") }
            self.sampling = sampling
        }
        guard !prompt.isEmpty else { throw SpeculationError.emptyPrompt }
        let context = min(slm.contextLength, llm.contextLength)
        guard prompt.count < context else { throw SpeculationError.promptTooLong(tokens: prompt.count, context: context) }
        if let i = prompt.firstIndex(where: { $0 < 0 || Int($0) >= vocabularySize }) {
            throw SpeculationError.tokenOutOfRange(token: prompt[i], index: i, vocabularySize: vocabularySize)
        }
        // Someone else used a cache since: forget what this decoder thought was in it.
        if slm.position != slmCachedTokens.count { slm.reset(); slmCachedTokens = [] }
        if llm.position != llmCachedTokens.count { llm.reset(); llmCachedTokens = [] }
        sampler = Sampler(self.sampling)
        stats = RStitchStats()
        writer = .slm
        share = 0
        if case .adaptive(let f) = policy {
            threshold = Self.adaptiveStart
            share = f  // start at the target: no early swing
        } else {
            threshold = nil
        }
        self.context = prompt
        started = true
    }

    /// Commits one token (the SLM's, or the LLM's after a hand-over) and returns it.
    public func step() throws -> Int32 {
        guard started else { throw SpeculationError.notStarted }
        let limit = min(slm.contextLength, llm.contextLength)
        guard context.count < limit else { throw SpeculationError.contextFull(context: limit) }
        let (slmThreshold, llmThreshold) = thresholds
        var token: Int32?
        if writer == .slm {
            let logits = try evaluate(.slm)
            if normalizedEntropy(logits) >= slmThreshold {
                writer = .llm  // the SLM's proposal is discarded: the LLM writes this token
                stats.switchesToLLM += 1
            } else {
                token = sampler.sample(logits)
                stats.slmTokens += 1
            }
        }
        let llmWrote = token == nil
        if token == nil {
            let logits = try evaluate(.llm)
            token = sampler.sample(logits)
            stats.llmTokens += 1
            if normalizedEntropy(logits) < llmThreshold {
                writer = .slm
                stats.switchesToSLM += 1
            }
        }
        guard let token, token >= 0, Int(token) < vocabularySize else {
            throw SpeculationError.tokenOutOfRange(token: token ?? -1, index: context.count, vocabularySize: vocabularySize)
        }
        context.append(token)
        adapt(llmWrote: llmWrote)
        return token
    }

    /// Forgets committed tokens after the first `length` (1 ≤ length ≤ context.count), e.g. text
    /// after a stop string; the caches resync at the next step.
    public func rollback(to length: Int) throws {
        guard started else { throw SpeculationError.notStarted }
        guard length >= 1, length <= context.count else {
            throw SpeculationError.invalidParameter("rollback length must be in 1...\(context.count), got \(length)")
        }
        context.removeSubrange(length...)
    }

    /// Ends the request.
    public func finish() {
        stats.finalThreshold = threshold
        started = false
    }

    /// Empties both caches.
    public func reset() {
        slm.reset()
        llm.reset()
        slmCachedTokens = []
        llmCachedTokens = []
        started = false
    }

    /// Brings `which`'s cache up to the whole context (one forward over the missing tokens), so that
    /// it holds what a fresh prefill of the context would; returns that model's next-token logits.
    @discardableResult
    public func catchUp(_ which: RStitchWriter) throws -> [Float] {
        guard !context.isEmpty else { throw SpeculationError.notStarted }
        return Array(try evaluate(which))
    }

    // MARK: - Internals

    /// (θ_slm, θ_llm) in force.
    private var thresholds: (Float, Float) {
        switch policy {
        case .fixed(let s, let l): return (s, l)
        case .adaptive: return (threshold ?? Self.adaptiveStart, threshold ?? Self.adaptiveStart)
        }
    }

    private func adapt(llmWrote: Bool) {
        guard case .adaptive(let target) = policy, let theta = threshold else { return }
        share += (llmWrote ? 1 - share : -share) / 32
        threshold = min(1, max(0, theta + Self.adaptiveStep * (share - target)))
    }

    /// Brings `which`'s cache to the context minus its last token and evaluates that token (with the
    /// missing ones before it, in one forward); returns the logits of the next position (valid until
    /// that model's next forward).
    private func evaluate(_ which: RStitchWriter) throws -> UnsafeBufferPointer<Float> {
        let model = which == .slm ? slm : llm
        var cached = which == .slm ? slmCachedTokens : llmCachedTokens
        let keep = min(commonPrefixLength(cached, context), context.count - 1)
        model.truncate(to: keep)
        cached.removeSubrange(keep...)
        let missing = Array(context[keep...])
        let t0 = DispatchTime.now().uptimeNanoseconds
        let logits = try model.forward(missing, logits: .last)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
        cached += missing
        if which == .slm {
            slmCachedTokens = cached
            stats.slmForwards += 1
            stats.slmEvaluatedTokens += missing.count
            stats.slmSeconds += seconds
        } else {
            llmCachedTokens = cached
            stats.llmForwards += 1
            stats.llmEvaluatedTokens += missing.count
            stats.llmSeconds += seconds
        }
        return logits[logits.rows - 1]
    }
}

/// Entropy of softmax(`row`) (temperature 1) divided by log(row.count): 0 for a certain
/// distribution, 1 for a uniform one.
public func normalizedEntropy(_ row: UnsafeBufferPointer<Float>) -> Float {
    guard row.count > 1 else { return 0 }
    let h = ConfidencePolicy.statistics(row).entropy / logf(Float(row.count))
    return min(1, max(0, h))
}
