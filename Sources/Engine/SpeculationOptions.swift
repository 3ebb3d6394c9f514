import SpecDecModel
import SpecDecSpeculation
import SpecDecTokenizer

/// Which drafter proposes tokens.
public enum DrafterKind: String, Sendable, CaseIterable, Codable {
    /// A separate small model with the target's vocabulary.
    case model
    /// Prompt lookup / n-gram matching.
    case lookup
    /// SuffixDecoding's suffix trees.
    case suffix
    /// Prompt lookup where it finds a match, the draft model elsewhere (``HybridDrafter``).
    case hybrid
    /// The target drafting for itself with sublayers skipped (``SelfSpeculativeDrafter``).
    case selfSpeculative = "self"
    /// A draft model with another tokenizer, matched at the string level (``CrossVocabularyDrafter``).
    case crossVocabulary = "cross-vocab"
    /// An ordered list of drafters, the first that proposes drafts (``ChainDrafter``).
    case chain
    /// No drafting: plain decoding.
    case none

    /// Whether this drafter needs a draft model (`--draft-model`); a chain needs one when a step does.
    public var usesDraftModel: Bool { self == .model || self == .hybrid || self == .crossVocabulary }
}

/// Which tokens a trimmed draft head keeps (`--draft-vocab N|F[:N]`).
public enum DraftVocabulary: Sendable, Equatable {
    /// The N most frequent tokens of the draft model's cached or shipped ranking.
    case size(Int)
    /// The ranking in a file, its N first tokens (default ``defaultSize``).
    case file(String, size: Int?)

    /// Tokens kept when a ranking file is given without a size.
    public static let defaultSize = 32_768

    /// Parses `N`, `PATH` or `PATH:N`.
    public static func parse(_ text: String) throws -> DraftVocabulary {
        if let n = Int(text) {
            guard n >= 1 else { throw EngineError.invalidParameter("--draft-vocab must be >= 1, got \(n)") }
            return .size(n)
        }
        guard !text.isEmpty else { throw EngineError.invalidParameter("--draft-vocab is empty") }
        if let colon = text.lastIndex(of: ":"), let n = Int(text[text.index(after: colon)...]) {
            guard n >= 1 else { throw EngineError.invalidParameter("--draft-vocab size must be >= 1, got \(n)") }
            return .file(String(text[..<colon]), size: n)
        }
        return .file(text, size: nil)
    }

    /// The spelling ``parse(_:)`` reads.
    public var text: String {
        switch self {
        case .size(let n): return "\(n)"
        case .file(let path, let n): return n.map { "\(path):\($0)" } ?? path
        }
    }
}

/// Which verifier decides what is kept.
public enum VerifierKind: String, Sendable, CaseIterable, Codable {
    /// Greedy when the temperature is 0, lossless speculative sampling otherwise.
    case auto
    /// Longest prefix equal to the target's argmax.
    case greedy
    /// Lossless speculative (rejection) sampling.
    case sampling
    /// SpecDec's top-β tolerance verification (lossy).
    case topBeta = "top-beta"
    /// Confidence-modulated verification (lossy; ``ConfidenceVerifier``).
    case confidence
}

/// How to speculate: the drafter, the verifier and their parameters (the CLI maps onto this).
public struct SpeculationOptions: Sendable {
    public var drafter: DrafterKind = .none
    /// Most draft tokens per step.
    public var draftMax = 8
    /// Draft-model drafts stop before a token the draft model gives less than this probability
    /// (`--draft-p-min`; 0 = off). See ``DraftModelDrafter/minProbability``.
    public var draftMinProbability: Float = 0
    public var lookupMin = 2
    public var lookupMax = 4
    public var verifier: VerifierKind = .auto
    /// β of top-β verification.
    public var topBeta = 3
    /// τ (log-probability tolerance) of top-β verification.
    public var tolerance: Float = 1
    /// λ of confidence-modulated verification (`--confidence-tolerance`; 0 = greedy).
    public var confidenceTolerance: Float = 1
    /// Suffix tree depth and global memory bound (nodes).
    public var suffixMaxDepth = 64
    public var suffixMaxNodes = 1 << 20
    /// The steps of a ``DrafterKind/chain`` (cheapest first; default ``defaultChain``).
    public var chain: [DrafterKind] = []
    /// Trimmed draft head of the draft model (model, hybrid, chain) or of `self` drafts.
    public var draftVocabulary: DraftVocabulary?
    /// Skip set file of `self` (default: the model's calibrated set if cached or shipped, else a
    /// search at the first request).
    public var skipFile: String?
    /// Evaluations of an on-the-fly layer-skip search (0: 4 × the layer count).
    public var skipSearchBudget = 0
    /// Where calibration files are looked up.
    public var calibration = CalibrationStore()
    /// Whether the cost model picks each round's draft length / tree size, at most ``draftMax``, and
    /// turns speculation off where it would lose (the default; `--cost-model off` drafts ``draftMax``
    /// every round).
    public var costModel = true
    /// ε of the cost model's catch-up rule (`--catch-up-allowance`): the most a draft model's catch-up
    /// (its prompt prefill) may cost as a share of the request's time so far (``CostModel/catchUpAllowance``;
    /// `inf`: the plain ski-rental rule).
    public var catchUpAllowance = CostModel.defaultCatchUpAllowance
    /// Most children of a draft-tree node (`--tree-width`; 1: chains).
    public var treeWidth = 1
    /// Most nodes of a draft tree (`--tree-nodes`).
    public var treeNodes = 16
    /// How a model drafter sizes its drafts (`--draft-policy`; p-min when only `--draft-p-min` is given).
    public var draftPolicy: DraftPolicyKind?

    /// The policy in force: the one given, else p-min when a threshold is set, else fixed.
    public var effectiveDraftPolicy: DraftPolicyKind { draftPolicy ?? (draftMinProbability > 0 ? .pMin : .fixed) }

    /// The tree budget of the decoder (nil: chains).
    public var treeBudget: TreeBudget? {
        treeWidth > 1 ? TreeBudget(maxNodes: treeNodes, maxDepth: draftMax, maxWidth: treeWidth) : nil
    }

    /// The chain when none is given: the free drafters, then self-speculation.
    public static let defaultChain: [DrafterKind] = [.lookup, .suffix, .selfSpeculative]

    /// The chain's steps as they will run.
    public var chainSteps: [DrafterKind] { chain.isEmpty ? Self.defaultChain : chain }

    /// Whether a draft model must be given (`--draft-model`).
    public var usesDraftModel: Bool {
        drafter.usesDraftModel || (drafter == .chain && chainSteps.contains(where: \.usesDraftModel))
    }

    /// Whether drafts are only built for greedy decoding (cross-vocabulary drafting).
    public var isGreedyOnly: Bool {
        drafter == .crossVocabulary || (drafter == .chain && chainSteps.contains(.crossVocabulary))
    }

    /// Sets the drafter from its command-line spelling: a kind (`model`, `lookup`, `suffix`, `hybrid`,
    /// `self`, `cross-vocab`, `none`), `self:skip=FILE`, or `chain:STEP,STEP,…` (steps also separated
    /// by `+`).
    public mutating func setDrafter(_ text: String) throws {
        let spec = text.trimmingCharacters(in: .whitespaces)
        let name = spec.split(separator: ":", maxSplits: 1).first.map(String.init) ?? ""
        let rest = spec.firstIndex(of: ":").map { String(spec[spec.index(after: $0)...]) }
        let known = DrafterKind.allCases.map(\.rawValue).joined(separator: ", ")
        guard let kind = DrafterKind(rawValue: name) else {
            throw EngineError.invalidParameter("unknown drafter '\(name)' (drafters: \(known), chain:A,B,…, self:skip=FILE)")
        }
        guard rest != "" else { throw EngineError.invalidParameter("'\(spec)': nothing after the colon") }
        drafter = kind
        guard let rest else { return }
        switch kind {
        case .chain:
            var steps: [DrafterKind] = []
            for piece in rest.split(whereSeparator: { $0 == "," || $0 == "+" }) {
                guard let step = DrafterKind(rawValue: String(piece)), step != .chain, step != .none, step != .hybrid else {
                    throw EngineError.invalidParameter(
                        "'\(piece)' cannot be a chain step (steps: model, lookup, suffix, self, cross-vocab)")
                }
                guard !steps.contains(step) else { throw EngineError.invalidParameter("'\(piece)' is twice in the chain") }
                steps.append(step)
            }
            guard !steps.isEmpty else { throw EngineError.invalidParameter("chain: needs at least one step") }
            chain = steps
        case .selfSpeculative:
            guard rest.hasPrefix("skip="), rest.count > 5 else {
                throw EngineError.invalidParameter("self takes skip=FILE (got '\(rest)')")
            }
            skipFile = String(rest.dropFirst(5))
        default:
            throw EngineError.invalidParameter("drafter '\(name)' takes no parameters (got '\(rest)')")
        }
    }

    public init(drafter: DrafterKind = .none, draftMax: Int = 8) {
        self.drafter = drafter
        self.draftMax = draftMax
    }

    /// Throws a message naming the first bad option.
    public func validate() throws {
        guard draftMax >= 1 else { throw EngineError.invalidParameter("--draft-max must be >= 1, got \(draftMax)") }
        guard catchUpAllowance >= 0, !catchUpAllowance.isNaN else {
            throw EngineError.invalidParameter("--catch-up-allowance must be >= 0 (inf: no cap), got \(catchUpAllowance)")
        }
        guard lookupMin >= 1, lookupMax >= lookupMin else {
            throw EngineError.invalidParameter("need 1 <= --lookup-min <= --lookup-max, got \(lookupMin) and \(lookupMax)")
        }
        guard draftMinProbability >= 0, draftMinProbability <= 1 else {
            throw EngineError.invalidParameter("--draft-p-min must be in [0, 1], got \(draftMinProbability)")
        }
        guard topBeta >= 1 else { throw EngineError.invalidParameter("--top-beta must be >= 1, got \(topBeta)") }
        guard tolerance >= 0, tolerance.isFinite else { throw EngineError.invalidParameter("--tolerance must be >= 0, got \(tolerance)") }
        guard confidenceTolerance >= 0, confidenceTolerance.isFinite else {
            throw EngineError.invalidParameter("--confidence-tolerance must be >= 0, got \(confidenceTolerance)")
        }
        guard skipSearchBudget >= 0 else { throw EngineError.invalidParameter("the skip search budget must be >= 0") }
        if case .size(let n)? = draftVocabulary, n < 1 { throw EngineError.invalidParameter("--draft-vocab must be >= 1") }
        guard treeWidth >= 1 else { throw EngineError.invalidParameter("--tree-width must be >= 1, got \(treeWidth)") }
        guard treeNodes >= 1 else { throw EngineError.invalidParameter("--tree-nodes must be >= 1, got \(treeNodes)") }
        if draftPolicy == .pMin && draftMinProbability <= 0 {
            throw EngineError.invalidParameter("--draft-policy p-min needs --draft-p-min above 0")
        }
    }

    /// The verifier for `sampling`.
    public func makeVerifier(sampling: SamplingParameters) throws -> any Verifier {
        switch verifier {
        case .auto: return sampling.isGreedy ? GreedyVerifier() as any Verifier : SpeculativeSamplingVerifier()
        case .greedy:
            guard sampling.isGreedy else {
                throw EngineError.invalidParameter("--verifier greedy needs --temperature 0 (use --verifier sampling to sample)")
            }
            return GreedyVerifier()
        case .sampling: return SpeculativeSamplingVerifier()
        case .topBeta: return try TopBetaVerifier(beta: topBeta, tau: tolerance)
        case .confidence:
            guard sampling.isGreedy else {
                throw EngineError.invalidParameter("--verifier confidence is a greedy-decoding method: it needs --temperature 0")
            }
            return try ConfidenceVerifier(tolerance: confidenceTolerance)
        }
    }

    /// The drafter; `draftModel` is required for ``DrafterKind/model``, ``DrafterKind/hybrid`` and
    /// ``DrafterKind/crossVocabulary``.
    public func makeDrafter(target: LoadedModel, draftModel: LoadedModel?, seed: UInt64) throws -> any Drafter {
        switch drafter {
        case .chain:
            let steps = try chainSteps.map { kind -> any Drafter in
                var o = self
                o.drafter = kind
                return try o.makeDrafter(target: target, draftModel: draftModel, seed: seed)
            }
            return try ChainDrafter(steps)
        case .model, .hybrid:
            let model = try makeDraftModelDrafter(target: target, draftModel: draftModel, seed: seed)
            if drafter == .model { return model }
            return HybridDrafter(first: try PromptLookupDrafter(minNgram: lookupMin, maxNgram: lookupMax), fallback: model)
        case .crossVocabulary:
            guard let draftModel else { throw EngineError.invalidParameter("--drafter cross-vocab needs --draft-model") }
            guard draftModel !== target else {
                throw EngineError.invalidParameter("the draft model must be loaded separately from the target: each needs its own KV cache")
            }
            let head = try trimmedHead(of: draftModel)
            let model = try DraftModelDrafter(draft: draftModel.transformer, targetVocabularySize: draftModel.transformer.config.vocabularySize,
                                              seed: seed ^ 0x5EED, head: head)
            apply(to: model)
            return CrossVocabularyDrafter(drafter: model, targetCodec: TokenizerCodec(target.tokenizer),
                                          draftCodec: TokenizerCodec(draftModel.tokenizer))
        case .selfSpeculative:
            var skip: LayerSkip?
            if let skipFile {
                skip = try SkipCalibration.read(path: skipFile).result.skip
            } else if let found = calibration.find(CalibrationStore.skipFile(model: target.name)) {
                skip = try SkipCalibration.read(path: found).result.skip
            }
            var search = LayerSkipSearch.Options(draftLength: draftMax)
            search.maxEvaluations = skipSearchBudget
            let d = try SelfSpeculativeDrafter(model: target.transformer, skip: skip, head: try trimmedHead(of: target),
                                               searchOptions: search, seed: seed ^ 0x5E1F)
            d.minProbability = draftMinProbability
            return d
        case .lookup: return try PromptLookupDrafter(minNgram: lookupMin, maxNgram: lookupMax)
        case .suffix: return try SuffixTreeDrafter(maxDepth: suffixMaxDepth, maxGlobalNodes: suffixMaxNodes)
        case .none: return NoDrafter()
        }
    }

    private func makeDraftModelDrafter(target: LoadedModel, draftModel: LoadedModel?, seed: UInt64) throws -> DraftModelDrafter {
        guard let draftModel else { throw EngineError.invalidParameter("--drafter \(drafter.rawValue) needs --draft-model") }
        guard draftModel !== target else {
            throw EngineError.invalidParameter("the draft model must be loaded separately from the target: each needs its own KV cache")
        }
        if let difference = Tokenizer.differences(target.tokenizer, draftModel.tokenizer) {
            throw EngineError.incompatibleDraft(target: target.name, draft: draftModel.name, difference: difference)
        }
        let model = try DraftModelDrafter(draft: draftModel.transformer, target: target.transformer, seed: seed ^ 0x5EED,
                                          head: try trimmedHead(of: draftModel))
        apply(to: model)
        return model
    }

    /// The draft policy on a draft-model drafter.
    private func apply(to model: DraftModelDrafter) {
        model.recordsConfidence = verifier == .confidence
        switch effectiveDraftPolicy {
        case .fixed: model.minProbability = 0
        case .pMin: model.minProbability = draftMinProbability
        case .confidence: model.confidence = ConfidencePolicy()
        }
    }

    /// The trimmed head ``draftVocabulary`` asks for on `model` (nil when none is asked for).
    public func trimmedHead(of model: LoadedModel) throws -> TrimmedHead? {
        guard let draftVocabulary else { return nil }
        let path: String, size: Int
        switch draftVocabulary {
        case .size(let n):
            guard let found = calibration.find(CalibrationStore.vocabularyFile(model: model.name)) else {
                throw EngineError.invalidParameter(
                    "no vocabulary ranking for \(model.name) in \(calibration.directory) or the shipped Data/calibration: "
                    + "run `specdec calibrate-vocab --model \(model.name)` or give --draft-vocab FILE")
            }
            (path, size) = (found, n)
        case .file(let file, let n):
            (path, size) = (file, n ?? DraftVocabulary.defaultSize)
        }
        let vocab = model.transformer.config.vocabularySize
        // Reading the ranking, ordering the unseen tokens and gathering the rows happen once per
        // ranking file and size; later drafters (every benchmark pair) reuse the head.
        return try model.trimmedHead(key: "\(path)#\(min(size, vocab))") {
            let ranking = try VocabularyRanking.read(path: path)
            var always = model.tokenizer.endOfTurnTokens
            if let eos = model.tokenizer.eosToken { always.insert(eos) }
            return try ranking.top(min(size, vocab), vocabularySize: vocab, always: always, fallback: model.tokenizer.frequencyOrder)
        }
    }
}

/// A ``TextCodec`` over a ``Tokenizer``.
public final class TokenizerCodec: TextCodec {
    public let tokenizer: Tokenizer
    public init(_ tokenizer: Tokenizer) { self.tokenizer = tokenizer }
    public func encode(_ text: String, atStart: Bool) -> [Int32] {
        tokenizer.encode(text, addBOS: atStart ? nil : false)
    }
    public func decode(_ tokens: [Int32]) -> String { tokenizer.decode(tokens) }
}
