import Foundation
import SpecDecModel
import SpecDecSpeculation
import SpecDecTokenizer

/// Speculative generation with streaming text, stop strings and end-of-turn handling around a
/// ``SpeculativeDecoder``. Keeps the decoder (and so the target's cached prefix) across requests.
public final class SpeculativeGenerator: @unchecked Sendable {
    public let target: LoadedModel
    public let draftModel: LoadedModel?
    public let options: SpeculationOptions
    private var decoder: SpeculativeDecoder?
    private let drafter: any Drafter
    /// Totals over every request of this generator.
    public private(set) var totalStats = SpeculationStats()

    /// Builds the drafter (refusing a draft model whose vocabulary differs from the target's).
    public init(target: LoadedModel, draftModel: LoadedModel? = nil, options: SpeculationOptions, seed: UInt64 = 0) throws {
        try options.validate()
        self.target = target
        self.draftModel = draftModel
        self.options = options
        drafter = try options.makeDrafter(target: target, draftModel: draftModel, seed: seed)
    }

    /// Name of the drafter in use.
    public var drafterName: String { drafter.name }

    /// Generates a continuation of `prompt`; `onText` receives complete UTF-8 text as tokens are
    /// accepted and returns false to stop.
    public func generate(prompt: [Int32], options gen: GenerationOptions,
                         onText: (String) -> Bool = { _ in true }) throws -> GenerationResult {
        try gen.sampling.validate()
        guard gen.maxTokens >= 0 else { throw EngineError.invalidParameter("max tokens must be >= 0") }
        guard !prompt.isEmpty else { throw EngineError.emptyPrompt }
        let tf = target.transformer
        guard prompt.count < tf.contextLength else { throw EngineError.promptTooLong(tokens: prompt.count, context: tf.contextLength) }
        if options.isGreedyOnly && !gen.sampling.isGreedy {
            throw EngineError.invalidParameter("--drafter cross-vocab drafts for greedy decoding only (--temperature 0): "
                + "the lossless rules for sampling across vocabularies are not built")
        }
        let verifier = try options.makeVerifier(sampling: gen.sampling)
        let dec: SpeculativeDecoder
        if let d = decoder, d.verifier.name == verifier.name, d.draftLength == options.draftMax {
            dec = d
        } else {
            dec = try SpeculativeDecoder(target: tf, drafter: drafter, verifier: verifier, sampling: gen.sampling,
                                         draftLength: options.draftMax)
            decoder = dec
        }
        dec.treeBudget = options.treeBudget
        var stats = GenerationStats()
        stats.promptTokens = prompt.count
        let t0 = DispatchTime.now()
        try dec.start(prompt: prompt, sampling: gen.sampling)
        if options.costModel && options.drafter != .none && dec.costModel == nil {
            // V(n) is measured once per model (at the first request, after its prompt) and shared.
            let profile = try target.costProfile ?? ForwardCostProfile.measure(tf)
            target.costProfile = profile
            let model = CostModel(profile: profile, maxDraft: options.draftMax)
            model.catchUpAllowance = options.catchUpAllowance
            if options.usesDraftModel, let draftModel {
                // Until c is measured: a draft token reads the draft's weights, a plain step the target's.
                model.draftCostPrior = Double(draftModel.file.fileSize) / Double(max(1, target.file.fileSize))
            }
            dec.costModel = model
        }
        stats.prefillSeconds = seconds(since: t0)

        var out = StreamOutput(model: target, stopStrings: gen.stopStrings)
        var generated: [Int32] = []
        var reason = StopReason.maxTokens
        let t1 = DispatchTime.now()
        decoding: while generated.count < gen.maxTokens {
            guard tf.position < tf.contextLength else { reason = .contextFull; break }
            let committed = try dec.step(maxNewTokens: gen.maxTokens - generated.count)
            for token in committed {
                generated.append(token)
                if gen.stopAtEndOfTurn && target.tokenizer.endOfTurnTokens.contains(token) { reason = .endOfSequence; break decoding }
                let (piece, hitStop) = out.append(token)
                if !piece.isEmpty && !onText(piece) { reason = .cancelled; break decoding }
                if hitStop { reason = .stopString; break decoding }
            }
        }
        // Tokens committed after the stop are dropped from the context so the cache stays consistent.
        if generated.count < dec.context.count - prompt.count { try dec.rollback(to: prompt.count + generated.count) }
        dec.finish()
        if reason != .stopString && reason != .cancelled {
            let rest = out.finish()
            if !rest.isEmpty { _ = onText(rest) }
        }
        stats.decodeSeconds = seconds(since: t1)
        stats.generatedTokens = generated.count
        totalStats.merge(dec.stats)
        var result = GenerationResult(promptTokens: prompt, tokens: generated, text: out.text, stats: stats, stopReason: reason)
        result.speculation = dec.stats
        return result
    }

    /// Forgets the cached prefix.
    public func reset() { decoder?.reset() }
}
