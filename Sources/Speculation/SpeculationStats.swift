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
/// let json = try JSONEncoder().encode(total)   // snake_case keys
/// ```
public struct SpeculationStats: Sendable, Codable, Equatable {
    /// Draft–verify rounds.
    public var draftSteps = 0
    /// Draft tokens proposed.
    public var drafted = 0
    /// Draft tokens accepted.
    public var accepted = 0
    /// `draftedByPosition[i]`: rounds whose draft had a token at position i.
    public var draftedByPosition: [Int] = []
    /// `acceptedByPosition[i]`: rounds whose draft token at position i was accepted.
    public var acceptedByPosition: [Int] = []
    /// Seconds spent drafting.
    public var draftSeconds = 0.0
    /// Seconds spent verifying (the target's batched forward and the verifier).
    public var verifySeconds = 0.0
    /// Rounds whose draft was a tree with at least one branch.
    public var treeSteps = 0
    /// Draft tokens (nodes) of those rounds.
    public var treeNodes = 0
    /// Draft tokens accepted in those rounds (the accepted path lengths).
    public var treeAccepted = 0
    /// Largest tree verified.
    public var maxTreeNodes = 0
    /// Rounds in which the cost model expected no draft to beat one plain token and decoded plainly.
    public var speculationOff = 0
    /// Rounds the cost model drafted only to measure acceptance again after decoding plainly.
    public var probes = 0
    /// `verifiedSizes[n]`: rounds that verified n draft tokens (chain length or tree size; 0: plain).
    public var verifiedSizes: [Int] = []

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
        case meanAccepted = "mean_accepted", acceptanceRate = "acceptance_rate"
        case acceptanceByPosition = "acceptance_by_position"
        case draftedByPosition = "drafted_by_position", acceptedByPosition = "accepted_by_position"
        case draftSeconds = "draft_seconds", verifySeconds = "verify_seconds"
        case treeSteps = "tree_steps", treeNodes = "tree_nodes", treeAccepted = "tree_accepted"
        case meanTreeNodes = "mean_tree_nodes", meanTreeAccepted = "mean_tree_accepted", maxTreeNodes = "max_tree_nodes"
        case speculationOff = "speculation_off", speculationOffRate = "speculation_off_rate", probes
        case verifiedSizes = "verified_sizes"
    }

    /// Encodes the counts and the computed rates.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(draftSteps, forKey: .draftSteps)
        try c.encode(drafted, forKey: .drafted)
        try c.encode(accepted, forKey: .accepted)
        try c.encode(meanAccepted, forKey: .meanAccepted)
        try c.encode(acceptanceRate, forKey: .acceptanceRate)
        try c.encode(acceptanceByPosition, forKey: .acceptanceByPosition)
        try c.encode(draftedByPosition, forKey: .draftedByPosition)
        try c.encode(acceptedByPosition, forKey: .acceptedByPosition)
        try c.encode(draftSeconds, forKey: .draftSeconds)
        try c.encode(verifySeconds, forKey: .verifySeconds)
        try c.encode(treeSteps, forKey: .treeSteps)
        try c.encode(treeNodes, forKey: .treeNodes)
        try c.encode(treeAccepted, forKey: .treeAccepted)
        try c.encode(meanTreeNodes, forKey: .meanTreeNodes)
        try c.encode(meanTreeAccepted, forKey: .meanTreeAccepted)
        try c.encode(maxTreeNodes, forKey: .maxTreeNodes)
        try c.encode(speculationOff, forKey: .speculationOff)
        try c.encode(speculationOffRate, forKey: .speculationOffRate)
        try c.encode(probes, forKey: .probes)
        try c.encode(verifiedSizes, forKey: .verifiedSizes)
    }

    /// Decodes the counts (the rates are recomputed; per-position counts default to none).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        draftSteps = try c.decode(Int.self, forKey: .draftSteps)
        drafted = try c.decode(Int.self, forKey: .drafted)
        accepted = try c.decode(Int.self, forKey: .accepted)
        draftedByPosition = try c.decodeIfPresent([Int].self, forKey: .draftedByPosition) ?? []
        acceptedByPosition = try c.decodeIfPresent([Int].self, forKey: .acceptedByPosition) ?? []
        draftSeconds = try c.decodeIfPresent(Double.self, forKey: .draftSeconds) ?? 0
        verifySeconds = try c.decodeIfPresent(Double.self, forKey: .verifySeconds) ?? 0
        treeSteps = try c.decodeIfPresent(Int.self, forKey: .treeSteps) ?? 0
        treeNodes = try c.decodeIfPresent(Int.self, forKey: .treeNodes) ?? 0
        treeAccepted = try c.decodeIfPresent(Int.self, forKey: .treeAccepted) ?? 0
        maxTreeNodes = try c.decodeIfPresent(Int.self, forKey: .maxTreeNodes) ?? 0
        speculationOff = try c.decodeIfPresent(Int.self, forKey: .speculationOff) ?? 0
        probes = try c.decodeIfPresent(Int.self, forKey: .probes) ?? 0
        verifiedSizes = try c.decodeIfPresent([Int].self, forKey: .verifiedSizes) ?? []
    }
}
