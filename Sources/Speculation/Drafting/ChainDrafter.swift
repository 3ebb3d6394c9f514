/// An ordered list of drafters, cheapest first: each round takes the first drafter that proposes
/// (Hierarchy Drafting, arXiv:2502.05609, which orders its sources by cost and locality; the
/// ``HybridDrafter`` is the two-step case). The chain learns within a request which sources get
/// accepted: a source whose last ``patience`` proposals were all rejected outright (no token
/// accepted) sits out the next rounds, 2, 4, 8 … of them as it keeps failing, and is asked again
/// after that (its record clears on the first accepted token).
///
/// Each step is a source of its own for the decoder's cost model (``sourceCount``): with
/// ``setSourcePlans(_:)`` a step drafts at most its planned length and is skipped at 0, so a prompt
/// lookup that rarely matches does not turn the draft model off with it, nor the reverse.
///
/// Every step sees every request's lifecycle, so a draft model catches up on what other steps
/// drafted at its next turn. The drafts are the steps' own (with their distributions), so the chain
/// is as lossless as its steps.
///
/// ```swift
/// let chain = try ChainDrafter([PromptLookupDrafter(), SuffixTreeDrafter(), SelfSpeculativeDrafter(model: target)])
/// ```
public final class ChainDrafter: Drafter {
    public var name: String { "chain(" + steps.map(\.name).joined(separator: ",") + ")" }
    /// The steps, in the order they are asked.
    public let steps: [any Drafter]
    /// Consecutive fully rejected proposals after which a step sits out.
    public var patience = 3

    /// Per-step counts of the current request.
    public struct StepStats: Sendable, Equatable {
        /// Rounds whose draft came from this step, tokens it drafted and tokens accepted.
        public var proposals = 0
        public var drafted = 0
        public var accepted = 0
        /// Rounds it sat out.
        public var skipped = 0
    }
    /// Counts of the current request, one per step.
    public private(set) var stats: [StepStats]
    private var failures: [Int]
    private var benchings: [Int]
    private var resumeAt: [Int]
    private var round = 0
    /// The step whose proposal the last draft was (nil: none proposed).
    public private(set) var lastSource: Int?
    private var catchUpGate: ((Int) -> Bool)?
    private var plans: [SourcePlan]?

    /// Throws ``SpeculationError/invalidParameter(_:)`` for an empty list.
    public init(_ steps: [any Drafter]) throws {
        guard !steps.isEmpty else { throw SpeculationError.invalidParameter("a drafter chain needs at least one drafter") }
        self.steps = steps
        stats = Array(repeating: StepStats(), count: steps.count)
        failures = Array(repeating: 0, count: steps.count)
        benchings = failures
        resumeAt = failures
    }

    public func begin(prompt: [Int32]) throws {
        for s in steps { try s.begin(prompt: prompt) }
        stats = Array(repeating: StepStats(), count: steps.count)
        failures = Array(repeating: 0, count: steps.count)
        benchings = failures
        resumeAt = failures
        round = 0
        lastSource = nil
    }

    public func draft(context: [Int32], maxTokens: Int, sampling: SamplingParameters) throws -> Draft {
        try propose(context, maxTokens) { step, n in try step.draft(context: context, maxTokens: n, sampling: sampling) }
    }

    /// One source per step.
    public var sourceCount: Int { steps.count }

    /// Per-step lengths and gates from now on (nil, or a list of another length: every step drafts up
    /// to the round's length under the common gate).
    public func setSourcePlans(_ plans: [SourcePlan]?) {
        self.plans = plans?.count == steps.count ? plans : nil
    }

    /// The smallest catch-up of a step (0 when a step is model-free).
    public func catchUpTokens(context: [Int32]) -> Int {
        steps.map { $0.catchUpTokens(context: context) }.min() ?? 0
    }

    /// Steps whose catch-up the gate refuses sit the round out (they are not counted as skipped).
    public func setCatchUpGate(_ gate: ((Int) -> Bool)?) {
        catchUpGate = gate
        for s in steps { s.setCatchUpGate(gate) }
    }

    /// Whether a step drafts trees.
    public var draftsTrees: Bool { steps.contains { $0.draftsTrees } }

    /// The first step's proposal, as a tree when that step drafts trees.
    public func draftTree(context: [Int32], budget: TreeBudget, sampling: SamplingParameters) throws -> Draft {
        try propose(context, budget.maxDepth) { step, depth in
            var b = budget
            b.maxDepth = depth
            return try step.draftTree(context: context, budget: b, sampling: sampling)
        }
    }

    /// Asks the steps in order (each with its planned length, at most `length`) until one proposes.
    private func propose(_ context: [Int32], _ length: Int, _ ask: (any Drafter, Int) throws -> Draft) throws -> Draft {
        round += 1
        lastSource = nil
        for (i, step) in steps.enumerated() {
            if round < resumeAt[i] {
                stats[i].skipped += 1
                continue
            }
            let n = step.allowedLength(length, plan: plans?[i], gate: catchUpGate, context: context)
            if n == 0 { continue }
            let proposal = try ask(step, n)
            if !proposal.tokens.isEmpty {
                lastSource = i
                stats[i].proposals += 1
                stats[i].drafted += proposal.tokens.count
                return proposal
            }
        }
        return .empty
    }

    public func accepted(context: [Int32], acceptedCount: Int) {
        accepted(context: context, path: Array(0..<acceptedCount))
    }

    public func accepted(context: [Int32], path: [Int]) {
        let acceptedCount = path.count
        if let i = lastSource {
            stats[i].accepted += acceptedCount
            if acceptedCount > 0 {
                failures[i] = 0
                benchings[i] = 0
            } else {
                failures[i] += 1
                if failures[i] >= patience {
                    benchings[i] += 1
                    resumeAt[i] = round + 1 + (1 << min(benchings[i], 10))
                    failures[i] = 0
                }
            }
        }
        for (i, s) in steps.enumerated() {
            if i == lastSource { s.accepted(context: context, path: path) } else { s.accepted(context: context, acceptedCount: acceptedCount) }
        }
    }

    public func end(context: [Int32]) {
        for s in steps { s.end(context: context) }
    }
}
