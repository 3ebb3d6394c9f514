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

    public init() {}

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
    public mutating func record(drafted: Int, accepted: Int, draftSeconds: Double = 0, verifySeconds: Double = 0) {
        precondition(drafted >= 0 && accepted >= 0 && accepted <= drafted, "accepted must be within 0...drafted")
        draftSteps += 1
        self.drafted += drafted
        self.accepted += accepted
        grow(to: drafted)
        for i in 0..<drafted { draftedByPosition[i] += 1 }
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
    }
}
