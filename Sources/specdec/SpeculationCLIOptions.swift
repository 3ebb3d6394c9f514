import ArgumentParser
import SpecDecEngine

extension DrafterKind: ExpressibleByArgument {}
extension VerifierKind: ExpressibleByArgument {}

/// Speculative decoding options shared by generate and chat.
struct SpeculationCLIOptions: ParsableArguments {
    @Option(name: .customLong("draft-model"), help: "Draft model (a known name or a GGUF path) for --drafter model.")
    var draftModel: String?

    @Option(help: "Drafter: model, lookup, suffix, hybrid (lookup where it matches, else the model) or none (default: model when --draft-model is given, else none).")
    var drafter: DrafterKind?

    @Option(name: .customLong("draft-max"), help: "Most draft tokens per step.") var draftMax: Int = 8
    @Option(name: .customLong("draft-p-min"),
            help: "With a draft model: end a draft before a token the draft gives a top probability below this (0 = off).")
    var draftPMin: Float = 0
    @Option(name: .customLong("lookup-min"), help: "Shortest n-gram prompt lookup matches.") var lookupMin: Int = 2
    @Option(name: .customLong("lookup-max"), help: "Longest n-gram prompt lookup matches.") var lookupMax: Int = 4
    @Option(help: "Verifier: auto (greedy at temperature 0, else sampling), greedy, sampling, top-beta.")
    var verifier: VerifierKind = .auto
    @Option(name: .customLong("top-beta"), help: "β of top-β verification (lossy; 1 = greedy).") var topBeta: Int = 3
    @Option(help: "τ of top-β verification: log-probability tolerance to the top token.") var tolerance: Float = 1

    var drafterKind: DrafterKind { drafter ?? (draftModel != nil ? .model : .none) }

    var options: SpeculationOptions {
        var o = SpeculationOptions(drafter: drafterKind, draftMax: draftMax)
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
        do { try options.validate() } catch { throw ValidationError("\(error)") }
        if drafterKind.usesDraftModel && draftModel == nil {
            throw ValidationError("--drafter \(drafterKind.rawValue) needs --draft-model")
        }
    }

    /// Loads the draft model when one is needed.
    func loadDraft(context: Int?, threads: Int?) throws -> LoadedModel? {
        guard drafterKind.usesDraftModel, let draftModel else { return nil }
        return try LoadedModel(draftModel, contextLength: context, threads: threads)
    }
}
