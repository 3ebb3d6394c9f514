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
    /// No drafting: plain decoding.
    case none

    /// Whether this drafter needs a draft model (`--draft-model`).
    public var usesDraftModel: Bool { self == .model || self == .hybrid }
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
    /// Suffix tree depth and global memory bound (nodes).
    public var suffixMaxDepth = 64
    public var suffixMaxNodes = 1 << 20

    public init(drafter: DrafterKind = .none, draftMax: Int = 8) {
        self.drafter = drafter
        self.draftMax = draftMax
    }

    /// Throws a message naming the first bad option.
    public func validate() throws {
        guard draftMax >= 1 else { throw EngineError.invalidParameter("--draft-max must be >= 1, got \(draftMax)") }
        guard lookupMin >= 1, lookupMax >= lookupMin else {
            throw EngineError.invalidParameter("need 1 <= --lookup-min <= --lookup-max, got \(lookupMin) and \(lookupMax)")
        }
        guard draftMinProbability >= 0, draftMinProbability <= 1 else {
            throw EngineError.invalidParameter("--draft-p-min must be in [0, 1], got \(draftMinProbability)")
        }
        guard topBeta >= 1 else { throw EngineError.invalidParameter("--top-beta must be >= 1, got \(topBeta)") }
        guard tolerance >= 0, tolerance.isFinite else { throw EngineError.invalidParameter("--tolerance must be >= 0, got \(tolerance)") }
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
        }
    }

    /// The drafter; `draftModel` is required for ``DrafterKind/model``.
    public func makeDrafter(target: LoadedModel, draftModel: LoadedModel?, seed: UInt64) throws -> any Drafter {
        switch drafter {
        case .model, .hybrid:
            guard let draftModel else { throw EngineError.invalidParameter("--drafter \(drafter.rawValue) needs --draft-model") }
            guard draftModel !== target else {
                throw EngineError.invalidParameter("the draft model must be loaded separately from the target: each needs its own KV cache")
            }
            if let difference = Tokenizer.differences(target.tokenizer, draftModel.tokenizer) {
                throw EngineError.incompatibleDraft(target: target.name, draft: draftModel.name, difference: difference)
            }
            let model = try DraftModelDrafter(draft: draftModel.transformer, target: target.transformer, seed: seed ^ 0x5EED)
            model.minProbability = draftMinProbability
            if drafter == .model { return model }
            return HybridDrafter(first: try PromptLookupDrafter(minNgram: lookupMin, maxNgram: lookupMax), fallback: model)
        case .lookup: return try PromptLookupDrafter(minNgram: lookupMin, maxNgram: lookupMax)
        case .suffix: return try SuffixTreeDrafter(maxDepth: suffixMaxDepth, maxGlobalNodes: suffixMaxNodes)
        case .none: return NoDrafter()
        }
    }
}
