/// Drafts with a model-free drafter when it has a proposal, and with a draft model otherwise.
///
/// Prompt lookup costs nothing but proposes only where the text repeats (summaries, code edits,
/// retrieved passages); a draft model proposes everywhere but each of its tokens costs a forward of
/// the draft. Asking the free drafter first spends the draft model only where lookup has nothing, as
/// SuffixDecoding (Oliaro et al. 2024, arXiv:2411.04975) suggests for its hybrid with a draft model.
/// A lookup draft has no distributions (point masses), a model draft has the draft's; the verifiers
/// handle either, so the combination is as lossless as its parts.
///
/// Both drafters see every request's lifecycle (`begin`, `accepted`, `end`); the draft model catches
/// up on the tokens committed while lookup drafted at its next draft (one batched forward).
/// The two are separate sources for the decoder's cost model (``sourceCount``), as a chain's steps.
public final class HybridDrafter: Drafter {
    public let name = "hybrid"
    /// Asked first (model-free).
    public let first: any Drafter
    /// Asked when `first` proposes nothing.
    public let fallback: any Drafter
    /// Drafts that came from `first` and from `fallback` so far.
    public private(set) var firstDrafts = 0
    public private(set) var fallbackDrafts = 0

    private var catchUpGate: ((Int) -> Bool)?
    private var plans: [SourcePlan]?
    /// 0 when the last draft came from `first`, 1 from `fallback`, nil when neither proposed.
    public private(set) var lastSource: Int?

    public init(first: any Drafter, fallback: any Drafter) {
        self.first = first
        self.fallback = fallback
    }

    public func begin(prompt: [Int32]) throws {
        try first.begin(prompt: prompt)
        try fallback.begin(prompt: prompt)
    }

    public func draft(context: [Int32], maxTokens: Int, sampling: SamplingParameters) throws -> Draft {
        lastSource = nil
        let firstLength = min(maxTokens, plans?[0].length ?? maxTokens)
        if firstLength > 0 {
            let proposal = try first.draft(context: context, maxTokens: firstLength, sampling: sampling)
            if !proposal.tokens.isEmpty {
                firstDrafts += 1
                lastSource = 0
                return proposal
            }
        }
        let fallbackLength = fallback.allowedLength(maxTokens, plan: plans?[1], gate: catchUpGate, context: context)
        if fallbackLength == 0 { return .empty }
        let proposal = try fallback.draft(context: context, maxTokens: fallbackLength, sampling: sampling)
        if !proposal.tokens.isEmpty {
            fallbackDrafts += 1
            lastSource = 1
        }
        return proposal
    }

    /// Two sources: `first` and `fallback`.
    public var sourceCount: Int { 2 }

    /// Per-source lengths and gates from now on (nil, or a list of another length: both draft up to
    /// the round's length under the common gate).
    public func setSourcePlans(_ plans: [SourcePlan]?) {
        self.plans = plans?.count == 2 ? plans : nil
    }

    /// The smaller catch-up of the two drafters.
    public func catchUpTokens(context: [Int32]) -> Int {
        min(first.catchUpTokens(context: context), fallback.catchUpTokens(context: context))
    }

    /// The fallback drafts only when the gate allows its catch-up.
    public func setCatchUpGate(_ gate: ((Int) -> Bool)?) {
        catchUpGate = gate
        first.setCatchUpGate(gate)
        fallback.setCatchUpGate(gate)
    }

    public func accepted(context: [Int32], acceptedCount: Int) {
        first.accepted(context: context, acceptedCount: acceptedCount)
        fallback.accepted(context: context, acceptedCount: acceptedCount)
    }

    public func end(context: [Int32]) {
        first.end(context: context)
        fallback.end(context: context)
    }
}
