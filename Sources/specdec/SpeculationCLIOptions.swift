import ArgumentParser
import SpecDecEngine

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
    @Option(help: "Verifier: auto (greedy at temperature 0, else sampling), greedy, sampling, top-beta.")
    var verifier: VerifierKind = .auto
    @Option(name: .customLong("top-beta"), help: "β of top-β verification (lossy; 1 = greedy).") var topBeta: Int = 3
    @Option(help: "τ of top-β verification: log-probability tolerance to the top token.") var tolerance: Float = 1

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
        return o
    }

    /// Speculation is used unless the drafter is none and the verifier is left alone.
    var isSpeculative: Bool { drafterKind != .none || verifier != .auto }

    func validate() throws {
        let o: SpeculationOptions
        do {
            o = try parsedOptions()
            try o.validate()
        } catch { throw ValidationError("\(error)") }
        if o.usesDraftModel && draftModel == nil {
            throw ValidationError("--drafter \(drafter ?? o.drafter.rawValue) needs --draft-model")
        }
    }

    /// Loads the draft model when one is needed.
    func loadDraft(context: Int?, threads: Int?) throws -> LoadedModel? {
        guard options.usesDraftModel, let draftModel else { return nil }
        return try LoadedModel(draftModel, contextLength: context, threads: threads)
    }
}
