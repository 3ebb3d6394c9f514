@_exported import SpecDecCoding

/// Counts and timings of speculative decoding, kept per draft position as vLLM's spec-decode
/// metrics are; the rates are computed.
///
/// A *step* is one draft–verify round: it commits the accepted draft tokens plus one correction or
/// bonus token, so τ = ``meanAccepted`` = (accepted + steps) / steps is the mean number of tokens
/// committed per target forward (Spec-Bench's "mean accepted tokens", which counts that extra
/// token). Rounds in which the drafter proposed nothing are steps too: they cost a target forward.
///
/// ```swift
/// var total = SpeculationStats()
/// total.merge(decoder.stats)
/// print(total.meanAccepted, total.acceptanceByPosition)
/// let json = try JSONEncoder().encode(total.report)   // counts and rates, snake_case keys
/// ```
///
/// `Codable` is synthesized over the counts (a key absent from older files decodes as zero); the
/// rates are ``Rates``, written beside the counts by ``DerivedFiguresReporting/report``.
public struct SpeculationStats: Sendable, Codable, Equatable {
    /// Draft–verify rounds.
    @Defaulted public var draftSteps = 0
    /// Draft tokens proposed.
    @Defaulted public var drafted = 0
    /// Draft tokens accepted.
    @Defaulted public var accepted = 0
    /// `draftedByPosition[i]`: rounds whose draft had a token at position i.
    @Defaulted public var draftedByPosition: [Int] = []
    /// `acceptedByPosition[i]`: rounds whose draft token at position i was accepted.
    @Defaulted public var acceptedByPosition: [Int] = []
    /// Seconds spent drafting.
    @Defaulted public var draftSeconds = 0.0
    /// Seconds spent verifying (the target's batched forward and the verifier).
    @Defaulted public var verifySeconds = 0.0
    /// Rounds whose draft was a tree with at least one branch.
    @Defaulted public var treeSteps = 0
    /// Draft tokens (nodes) of those rounds.
    @Defaulted public var treeNodes = 0
    /// Draft tokens accepted in those rounds (the accepted path lengths).
    @Defaulted public var treeAccepted = 0
    /// Largest tree verified.
    @Defaulted public var maxTreeNodes = 0
    /// Rounds in which the cost model expected no draft to beat one plain token and decoded plainly.
    @Defaulted public var speculationOff = 0
    /// Rounds the cost model drafted only to measure acceptance again after decoding plainly.
    @Defaulted public var probes = 0
    /// `verifiedSizes[n]`: rounds that verified n draft tokens (chain length or tree size; 0: plain).
    @Defaulted public var verifiedSizes: [Int] = []

    public init() {}

    /// Mean draft tokens of a tree round.
    public var meanTreeNodes: Double { treeSteps > 0 ? Double(treeNodes) / Double(treeSteps) : 0 }
    /// Mean accepted path length of a tree round.
    public var meanTreeAccepted: Double { treeSteps > 0 ? Double(treeAccepted) / Double(treeSteps) : 0 }
    /// Share of the rounds decoded plainly by the cost model.
    public var speculationOffRate: Double { draftSteps > 0 ? Double(speculationOff) / Double(draftSteps) : 0 }

    /// τ, mean tokens committed per step: (accepted + steps) / steps (0 before any step).
    public var meanAccepted: Double { draftSteps > 0 ? Double(accepted + draftSteps) / Double(draftSteps) : 0 }
    /// Accepted / drafted (0 when nothing was drafted).
    public var acceptanceRate: Double { drafted > 0 ? Double(accepted) / Double(drafted) : 0 }
    /// Per draft position i: accepted at i / drafted at i (a token at i is accepted only if every
    /// earlier one was, so the rates are those of reaching position i + 1).
    public var acceptanceByPosition: [Double] {
        zip(acceptedByPosition, draftedByPosition).map { $1 > 0 ? Double($0) / Double($1) : 0 }
    }
    /// Mean draft tokens proposed per step.
    public var meanDraftLength: Double { draftSteps > 0 ? Double(drafted) / Double(draftSteps) : 0 }
    /// Share of the time spent drafting.
    public var draftTimeFraction: Double {
        draftSeconds + verifySeconds > 0 ? draftSeconds / (draftSeconds + verifySeconds) : 0
    }

    /// Records one round that drafted `drafted` tokens of which the first `accepted` were accepted.
    /// For a tree, `depth` is its height (the per-position counts are then per depth: a tree "has a
    /// token at position i" when it has a node at depth i, and the accepted path reaches depth i or not).
    public mutating func record(drafted: Int, accepted: Int, draftSeconds: Double = 0, verifySeconds: Double = 0,
                                depth: Int? = nil) {
        precondition(drafted >= 0 && accepted >= 0 && accepted <= drafted, "accepted must be within 0...drafted")
        draftSteps += 1
        self.drafted += drafted
        self.accepted += accepted
        let height = depth ?? drafted
        if verifiedSizes.count <= drafted { verifiedSizes += Array(repeating: 0, count: drafted + 1 - verifiedSizes.count) }
        verifiedSizes[drafted] += 1
        if depth != nil {
            treeSteps += 1
            treeNodes += drafted
            treeAccepted += accepted
            maxTreeNodes = max(maxTreeNodes, drafted)
        }
        grow(to: height)
        for i in 0..<height { draftedByPosition[i] += 1 }
        for i in 0..<accepted { acceptedByPosition[i] += 1 }
        self.draftSeconds += draftSeconds
        self.verifySeconds += verifySeconds
    }

    /// Adds `other`'s counts and times (totals over requests).
    public mutating func merge(_ other: SpeculationStats) {
        draftSteps += other.draftSteps
        drafted += other.drafted
        accepted += other.accepted
        grow(to: max(other.draftedByPosition.count, other.acceptedByPosition.count))
        for (i, n) in other.draftedByPosition.enumerated() { draftedByPosition[i] += n }
        for (i, n) in other.acceptedByPosition.enumerated() { acceptedByPosition[i] += n }
        draftSeconds += other.draftSeconds
        verifySeconds += other.verifySeconds
        treeSteps += other.treeSteps
        treeNodes += other.treeNodes
        treeAccepted += other.treeAccepted
        maxTreeNodes = max(maxTreeNodes, other.maxTreeNodes)
        speculationOff += other.speculationOff
        probes += other.probes
        if verifiedSizes.count < other.verifiedSizes.count {
            verifiedSizes += Array(repeating: 0, count: other.verifiedSizes.count - verifiedSizes.count)
        }
        for (n, c) in other.verifiedSizes.enumerated() { verifiedSizes[n] += c }
    }

    private mutating func grow(to n: Int) {
        if draftedByPosition.count < n { draftedByPosition += Array(repeating: 0, count: n - draftedByPosition.count) }
        if acceptedByPosition.count < n { acceptedByPosition += Array(repeating: 0, count: n - acceptedByPosition.count) }
    }

    enum CodingKeys: String, CodingKey {
        case draftSteps = "draft_steps", drafted, accepted
        case draftedByPosition = "drafted_by_position", acceptedByPosition = "accepted_by_position"
        case draftSeconds = "draft_seconds", verifySeconds = "verify_seconds"
        case treeSteps = "tree_steps", treeNodes = "tree_nodes", treeAccepted = "tree_accepted", maxTreeNodes = "max_tree_nodes"
        case speculationOff = "speculation_off", probes
        case verifiedSizes = "verified_sizes"
    }
}

extension SpeculationStats: DerivedFiguresReporting {
    /// The rates computed from the counts, as JSON shows them beside the counts.
    public struct Rates: Encodable, Sendable, Equatable {
        public var meanAccepted: Double
        public var acceptanceRate: Double
        public var acceptanceByPosition: [Double]
        public var meanTreeNodes: Double
        public var meanTreeAccepted: Double
        public var speculationOffRate: Double

        enum CodingKeys: String, CodingKey {
            case meanAccepted = "mean_accepted", acceptanceRate = "acceptance_rate"
            case acceptanceByPosition = "acceptance_by_position"
            case meanTreeNodes = "mean_tree_nodes", meanTreeAccepted = "mean_tree_accepted"
            case speculationOffRate = "speculation_off_rate"
        }
    }

    /// ``meanAccepted``, ``acceptanceRate``, ``acceptanceByPosition``, ``meanTreeNodes``,
    /// ``meanTreeAccepted`` and ``speculationOffRate``.
    public var derivedFigures: Rates {
        Rates(meanAccepted: meanAccepted, acceptanceRate: acceptanceRate, acceptanceByPosition: acceptanceByPosition,
              meanTreeNodes: meanTreeNodes, meanTreeAccepted: meanTreeAccepted, speculationOffRate: speculationOffRate)
    }
}
