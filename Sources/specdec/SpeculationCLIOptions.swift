import ArgumentParser
import SpecDecEngine
import SpecDecSpeculation

extension VerifierKind: ExpressibleByArgument {}

/// Speculative decoding options shared by generate and chat.
struct SpeculationCLIOptions: ParsableArguments {
    @Option(name: .customLong("draft-model"), help: "Draft model (a known name or a GGUF path) for --drafter model.")
    var draftModel: String?

    @Option(help: """
        Drafter: model, lookup, suffix, hybrid (lookup where it matches, else the model), self (the target with layers \
        skipped; self:skip=FILE for a calibrated set), cross-vocab (a draft model with another tokenizer; greedy only), \
        chain:A,B,… (the first step that proposes; default chain:lookup,suffix,self) or none \
        (default: model when --draft-model is given, else none).
        """)
    var drafter: String?

    @Option(name: .customLong("draft-vocab"),
            help: "Trim the draft head to N tokens of the draft model's cached or shipped ranking, or use a ranking FILE[:N] (from calibrate-vocab).")
    var draftVocab: String?
    @Option(name: .customLong("skip-search-budget"),
            help: "Evaluations of the on-the-fly layer-skip search of --drafter self without a calibrated set (0 = 4 x layers).")
    var skipSearchBudget: Int = 0

    @Option(name: .customLong("draft-max"), help: """
        Most draft tokens per step (the deepest tree): auto (8; the cost model picks each round's length and decodes \
        plainly where drafting would lose) or N (the cost model's bound; with --cost-model off, every round's length).
        """) var draftMax: String = "auto"
    @Option(name: .customLong("cost-model"), help: "on (default) or off: pick each round's draft length / tree size from measured costs.")
    var costModel: String = "on"
    @Option(name: .customLong("catch-up-allowance"), help: """
        The most a draft model's catch-up (its prefill of the prompt) may cost, as a share of the request's time so far         (default 0.15; inf: catch up as soon as the savings forgone repay it).
        """) var catchUpAllowance: Double = CostModel.defaultCatchUpAllowance
    @Option(name: .customLong("draft-policy"),
            help: "How a draft model sizes drafts: fixed, p-min (--draft-p-min), confidence (entropy and margin, adaptive threshold).")
    var draftPolicy: String?
    @Option(name: .customLong("tree-width"), help: "Most children of a draft-tree node (1 = chains; lookup, suffix and model draft trees).")
    var treeWidth: Int = 1
    @Option(name: .customLong("tree-nodes"), help: "Most nodes of a draft tree.") var treeNodes: Int = 16
    @Option(name: .customLong("draft-p-min"),
            help: "With a draft model: end a draft before a token the draft gives a top probability below this (0 = off).")
    var draftPMin: Float = 0
    @Option(name: .customLong("lookup-min"), help: "Shortest n-gram prompt lookup matches.") var lookupMin: Int = 2
    @Option(name: .customLong("lookup-max"), help: "Longest n-gram prompt lookup matches.") var lookupMax: Int = 4
    @Option(help: "Verifier: auto (greedy at temperature 0, else sampling), greedy, sampling, top-beta, confidence (lossy).")
    var verifier: VerifierKind = .auto
    @Option(name: .customLong("top-beta"), help: "β of top-β verification (lossy; 1 = greedy).") var topBeta: Int = 3
    @Option(help: "τ of top-β verification: log-probability tolerance to the top token.") var tolerance: Float = 1
    @Option(name: .customLong("confidence-tolerance"), help: """
        λ of --verifier confidence (lossy, greedy only): accept a draft token within λ·c nats of the target's top token,         c the drafter's confidence (0 = greedy).
        """) var confidenceTolerance: Float = 1

    @Option(help: """
        Router: rstitch (R-Stitch: the --draft-model writes tokens it is confident about, --model the others; lossy)         or none (default).
        """) var router: String?
    @Option(name: .customLong("rstitch-slm-entropy"),
            help: "R-Stitch: the small model hands a token to the large one at this normalized entropy or above (inf: never).")
    var rstitchSLMEntropy: Float?
    @Option(name: .customLong("rstitch-llm-entropy"),
            help: "R-Stitch: the large model hands back after a token below this normalized entropy (0: never).")
    var rstitchLLMEntropy: Float?
    @Option(name: .customLong("rstitch-llm-share"),
            help: "R-Stitch, adaptive: steer one threshold so that the large model writes this share of the tokens (0…1).")
    var rstitchLLMShare: Float?

    var drafterKind: DrafterKind { (try? parsedOptions().drafter) ?? .none }

    var options: SpeculationOptions { (try? parsedOptions()) ?? SpeculationOptions() }

    /// The options, with the drafter and trimmed-head spellings parsed (validate() reports their errors).
    func parsedOptions() throws -> SpeculationOptions {
        let k: Int
        if draftMax == "auto" { k = 8 } else {
            guard let n = Int(draftMax) else { throw ValidationError("--draft-max must be auto or a number, got '\(draftMax)'") }
            k = n
        }
        var o = SpeculationOptions(drafter: draftModel != nil ? .model : .none, draftMax: k)
        switch costModel {
        case "on", "auto": o.costModel = true
        case "off": o.costModel = false
        default: throw ValidationError("--cost-model must be on or off, got '\(costModel)'")
        }
        o.catchUpAllowance = catchUpAllowance
        if let draftPolicy {
            guard let p = DraftPolicyKind(rawValue: draftPolicy) else {
                throw ValidationError("--draft-policy must be fixed, p-min or confidence, got '\(draftPolicy)'")
            }
            o.draftPolicy = p
        }
        o.treeWidth = treeWidth
        o.treeNodes = treeNodes
        if let drafter { try o.setDrafter(drafter) }
        if let draftVocab { o.draftVocabulary = try DraftVocabulary.parse(draftVocab) }
        o.skipSearchBudget = skipSearchBudget
        o.draftMinProbability = draftPMin
        o.lookupMin = lookupMin
        o.lookupMax = lookupMax
        o.verifier = verifier
        o.topBeta = topBeta
        o.tolerance = tolerance
        o.confidenceTolerance = confidenceTolerance
        return o
    }

    /// The R-Stitch policy when `--router rstitch` is given (nil: no router).
    func routerPolicy() throws -> RStitchPolicy? {
        switch router {
        case nil, "none":
            if rstitchSLMEntropy != nil || rstitchLLMEntropy != nil || rstitchLLMShare != nil {
                throw ValidationError("the --rstitch-* options need --router rstitch")
            }
            return nil
        case "rstitch":
            let policy: RStitchPolicy
            if let share = rstitchLLMShare {
                guard rstitchSLMEntropy == nil && rstitchLLMEntropy == nil else {
                    throw ValidationError("give either --rstitch-llm-share or the --rstitch-*-entropy thresholds, not both")
                }
                policy = .adaptive(llmShare: share)
            } else {
                policy = .fixed(slm: rstitchSLMEntropy ?? RStitchDefaults.slmEntropy, llm: rstitchLLMEntropy ?? RStitchDefaults.llmEntropy)
            }
            do { try policy.validate() } catch { throw ValidationError("\(error)") }
            return policy
        case let other?:
            throw ValidationError("--router must be rstitch or none, got '\(other)'")
        }
    }

    /// Speculation is used unless the drafter is none and the verifier is left alone.
    var isSpeculative: Bool { drafterKind != .none || verifier != .auto }

    func validate() throws {
        let o: SpeculationOptions
        do {
            o = try parsedOptions()
            try o.validate()
        } catch { throw ValidationError("\(error)") }
        if try routerPolicy() != nil {
            guard draftModel != nil else { throw ValidationError("--router rstitch needs --draft-model (the small model)") }
            guard drafter == nil else { throw ValidationError("--router rstitch does not draft: leave out --drafter") }
            guard verifier == .auto else { throw ValidationError("--router rstitch does not verify: leave out --verifier") }
            return
        }
        if o.usesDraftModel && draftModel == nil {
            throw ValidationError("--drafter \(drafter ?? o.drafter.rawValue) needs --draft-model")
        }
    }

    /// Loads the draft model when one is needed.
    func loadDraft(context: Int?, threads: Int?) throws -> LoadedModel? {
        let routed = (try? routerPolicy()) != nil
        guard options.usesDraftModel || routed, let draftModel else { return nil }
        return try LoadedModel(draftModel, contextLength: context, threads: threads)
    }

    /// The generator these options ask for on `model`: R-Stitch, speculative, or plain.
    func makeSession(model: LoadedModel, seed: UInt64, context: Int?, threads: Int?) throws -> GenerationSession {
        if let policy = try routerPolicy() {
            guard let slm = try loadDraft(context: context, threads: threads) else {
                throw ValidationError("--router rstitch needs --draft-model (the small model)")
            }
            return .rstitch(try RStitchGenerator(llm: model, slm: slm, policy: policy))
        }
        if isSpeculative {
            let draft = try loadDraft(context: context, threads: threads)
            return .speculative(try SpeculativeGenerator(target: model, draftModel: draft, options: options, seed: seed))
        }
        return .plain(Generator(model: model))
    }
}

