import Foundation
import SpecDecModel

/// The measured time of one target forward over n new tokens, V(n), on this machine
/// (`sizes` measured, linear in between, the last slope beyond).
///
/// ``measure(_:maxTokens:)`` times forwards of 1 … `maxTokens` tokens at the model's current
/// position and rolls the cache back; ``observe(tokens:seconds:)`` folds every real verification's
/// time in (an exponential moving average), so the curve follows the context as it grows.
public final class ForwardCostProfile: @unchecked Sendable {
    /// Batch sizes measured, increasing.
    public let sizes: [Int]
    /// Seconds of a forward of each size.
    public private(set) var seconds: [Double]
    private let lock = NSLock()

    /// A profile from given measurements (`sizes` increasing, first ≥ 1, one time per size).
    public init(sizes: [Int], seconds: [Double]) {
        precondition(!sizes.isEmpty && sizes.count == seconds.count, "one time per size")
        self.sizes = sizes
        self.seconds = seconds
    }

    /// The sizes measured by default: every size to 8, then sparser to 32.
    public static let defaultSizes = [1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 16, 20, 24, 32]

    /// Times forwards of each size (the best of `repetitions`) on `model` after its cached tokens,
    /// then truncates the cache back: the model's state is unchanged. Needs room in the context.
    public static func measure(_ model: Transformer, sizes: [Int] = defaultSizes, repetitions: Int = 2) throws -> ForwardCostProfile {
        let start = model.position
        let room = model.contextLength - start
        let usable = sizes.filter { $0 <= room }
        guard !usable.isEmpty else { throw ModelError.contextOverflow(requested: start + 1, capacity: model.contextLength) }
        var times: [Double] = []
        _ = try model.forward([0], logits: .all)  // warm the code and the caches
        model.truncate(to: start)
        for n in usable {
            var best = Double.infinity
            for _ in 0..<max(1, repetitions) {
                let t0 = DispatchTime.now().uptimeNanoseconds
                _ = try model.forward([Int32](repeating: 0, count: n), logits: .all)
                best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9)
                model.truncate(to: start)
            }
            times.append(best)
        }
        return ForwardCostProfile(sizes: usable, seconds: times)
    }

    /// V(n) in seconds: the measured curve made non-decreasing (a larger batch never costs less;
    /// a measurement below a smaller size's is noise of the machine and counts as the smaller's).
    public func time(tokens n: Int) -> Double {
        lock.lock(); defer { lock.unlock() }
        let n = max(1, n)
        var seconds = self.seconds
        for i in seconds.indices.dropFirst() { seconds[i] = max(seconds[i], seconds[i - 1]) }
        guard let i = sizes.firstIndex(where: { $0 >= n }) else {
            guard sizes.count >= 2 else { return seconds[0] * Double(n) / Double(sizes[0]) }
            let a = sizes.count - 2, b = sizes.count - 1
            let slope = (seconds[b] - seconds[a]) / Double(sizes[b] - sizes[a])
            return seconds[b] + slope * Double(n - sizes[b])
        }
        if sizes[i] == n || i == 0 { return seconds[i] * (i == 0 ? Double(n) / Double(sizes[0]) : 1) }
        let f = Double(n - sizes[i - 1]) / Double(sizes[i] - sizes[i - 1])
        return seconds[i - 1] + f * (seconds[i] - seconds[i - 1])
    }

    /// V(n) / V(1): the cost of verifying n tokens in single-token forwards.
    public func relative(tokens n: Int) -> Double { time(tokens: n) / max(1e-12, time(tokens: 1)) }

    /// Folds a measured forward of `n` tokens into the curve (weight `rate` when n is a measured size).
    public func observe(tokens n: Int, seconds s: Double, rate: Double = 0.05) {
        lock.lock(); defer { lock.unlock() }
        guard let i = sizes.firstIndex(of: n), s > 0 else { return }
        seconds[i] += rate * (s - seconds[i])
    }
}

/// The cost model of speculative decoding (Sequoia's tree sizing, arXiv:2402.12374; the TPL rule of
/// DEL, arXiv:2504.05598): each round it picks the draft length, or the tree size, that maximizes
/// the expected committed tokens per second, and decodes plainly when no draft is expected to beat
/// one plain token.
///
/// The rule, per round, with V(n) the measured forward time of n tokens (``ForwardCostProfile``),
/// c the drafter's observed seconds per drafted token (a moving average, weight ``rate``), and αᵢ
/// the observed probability that draft position i is accepted given position i − 1 was: per position,
/// αᵢ = (hᵢ + n₀·p) / (tᵢ + n₀) with hᵢ accepted of tᵢ observed (both discounted by ``discount`` at
/// each new observation of the position, so the estimate follows the text) and the prior p with
/// weight n₀ = ``priorWeight`` (one miss does not outweigh what the prior knows; many do):
/// - a chain of k tokens commits E(k) = 1 + Σᵢ₌₁ᵏ Πⱼ₌₁ⁱ αⱼ tokens in T(k) = k·c + V(k + 1) seconds;
///   k* = argmax over 0 … kmax of E(k) / T(k) (k = 0 is a plain token, E = 1, T = V(1));
/// - a position observed fewer than 4 times (tᵢ, which also fades by 0.85 each round the position is
///   not observed) leans on the position before it, so that deeper drafts are tried again;
/// - the plan uses an upper confidence bound of each αᵢ (``optimisticAcceptance``), since a position
///   is only observed while drafting and a low estimate would otherwise never be corrected;
/// - k* = 0 turns speculation off for the round; after ``probeInterval`` such rounds in a row one
///   round drafts anyway (a *probe*, up to 2 tokens) so that α is measured again; each probe that
///   is not wholly accepted doubles the interval (up to ``maxProbeInterval``), a wholly accepted one
///   or a round that drafts again resets it, so a drafter that does not fit the text costs less and
///   less;
/// - c is observed only on rounds that follow a drafted round: after plain rounds the drafter first
///   catches up on the tokens it missed (a draft model evaluates them in one batch), a one-time cost
///   that is not the price of a drafted token; before c is observed it counts as 0 in the plan (the
///   first rounds draft and measure it);
/// - a drafter that must first catch up on n tokens (a draft model's prompt prefill, lazily at its
///   first draft) drafts only when the catch-up, n · V(32)/32 · r (r = ``draftCostPrior`` when set,
///   else c/V(1), 0.5 before c is observed), costs less than the round's saving per committed token,
///   s = V(1) − T(k*)/E(k*), over the tokens left in the request, and once the rent paid in the
///   request, min(s, ε·V(1)) × tokens generated so far (ε = ``catchUpAllowance``), has reached it
///   (ski rental: ``catchUpPays(tokens:remaining:generated:length:)``): a long prompt with a short
///   answer, or an answer shorter than its catch-up repays, is decoded plainly;
/// - a tree draft whose nodes carry scores sᵢ (the drafter's estimate that node i is reached and
///   accepted: the product of draft probabilities along its path) is cut to the n highest-scoring
///   nodes (parents first) that maximize (1 + κ Σ sᵢ) / (t_draft + V(n + 1)), κ the moving average
///   of accepted path length / Σ sᵢ of the verified trees (the drafter's calibration).
public final class CostModel: @unchecked Sendable {
    /// The target's forward times.
    public let profile: ForwardCostProfile
    /// Longest chain considered.
    public let maxDraft: Int
    /// αᵢ (index i − 1) from the observations and the prior.
    public var acceptance: [Double] {
        hits.indices.map { (hits[$0] + priorWeight * prior) / (trials[$0] + priorWeight) }
    }
    /// The acceptance assumed before anything is observed.
    public let prior: Double
    /// n₀: the prior's weight in observations.
    public var priorWeight = 2.0
    /// Each new observation of a position multiplies its earlier counts by this.
    public var discount = 0.95
    /// hᵢ, tᵢ: discounted accepted and observed counts per position.
    private var hits: [Double]
    private var trials: [Double]
    /// Seconds per drafted token (nil until a draft is observed).
    public private(set) var draftSecondsPerToken: Double?
    /// κ: observed accepted path length per unit of tree score.
    public private(set) var calibration = 1.0
    /// Weight of a new observation in the moving averages.
    public var rate = 0.2
    /// Plain rounds in a row after which a probe drafts anyway (the starting interval).
    public var probeInterval = 8
    /// The longest interval between probes that backing off reaches.
    public var maxProbeInterval = 64
    private var offRounds = 0
    private var currentProbeInterval: Int?
    private var lastPlanWasProbe = false
    private let debug = ProcessInfo.processInfo.environment["SPECDEC_COST_DEBUG"] != nil

    /// `prior` is every αᵢ before anything is observed.
    public init(profile: ForwardCostProfile, maxDraft: Int, prior: Double = 0.6) {
        self.profile = profile
        self.maxDraft = max(0, maxDraft)
        self.prior = min(1, max(0, prior))
        hits = [Double](repeating: 0, count: max(1, maxDraft))
        trials = hits
    }

    /// A cost model for another draft source of the same decoder: the same forward-time profile and
    /// settings, its own acceptance, draft cost and probing (see ``adoptSettings(of:)``).
    public func sibling() -> CostModel {
        let m = CostModel(profile: profile, maxDraft: maxDraft, prior: prior)
        m.adoptSettings(of: self)
        return m
    }

    /// Takes `other`'s settings (weights, rates, probing intervals, the catch-up prior and allowance),
    /// not its observations.
    public func adoptSettings(of other: CostModel) {
        priorWeight = other.priorWeight
        discount = other.discount
        rate = other.rate
        probeInterval = other.probeInterval
        maxProbeInterval = other.maxProbeInterval
        draftCostPrior = other.draftCostPrior
        optimism = other.optimism
        catchUpAllowance = other.catchUpAllowance
    }

    /// αᵢ as planned: a position observed fewer than 4 times leans on the position before it
    /// (weight observations / 4), since a position is only observed when every earlier one was
    /// accepted and deeper drafts would otherwise never be tried.
    public var effectiveAcceptance: [Double] {
        var result: [Double] = []
        let acceptance = self.acceptance
        for i in acceptance.indices {
            let w = min(1, trials[i] / 4)
            let previous = i > 0 ? result[i - 1] : acceptance[i]
            result.append(w * acceptance[i] + (1 - w) * previous)
        }
        return result
    }

    /// The draft model's cost per token relative to V(1) used to price a catch-up (nil: c / V(1) once c
    /// is observed, 0.5 before). The engine sets it for every drafter with a draft model from the two
    /// files' sizes (a catch-up is the draft's prefill: its weights against the target's), which also
    /// keeps a chain's cheap steps (prompt lookup, c ≈ 0) from making its draft model's catch-up look
    /// free. The plan itself counts an unobserved c as 0, so the first rounds
    /// draft and measure it (measured: planning with this prior too kept Translation and QA near 1.0x
    /// but cost Math its 1.15x, since α is then only seen in probes).
    public var draftCostPrior: Double?

    /// Weight β of the uncertainty bonus in ``optimisticAcceptance``.
    public var optimism = 0.5

    /// αᵢ as the plan uses it: ``effectiveAcceptance`` plus β·√(α(1 − α) / (tᵢ + n₀)), an upper
    /// confidence bound. Rounds are only observed while drafting, so an estimate that happens to sit
    /// low would otherwise keep drafting off for good; the bonus shrinks as observations accumulate.
    public var optimisticAcceptance: [Double] {
        effectiveAcceptance.enumerated().map { i, a in
            min(1, a + optimism * (a * (1 - a) / (trials[i] + priorWeight)).squareRoot())
        }
    }

    /// E(k): expected committed tokens of a round with a chain of k tokens.
    public func expectedTokens(chain k: Int) -> Double {
        expectedTokens(chain: k, effectiveAcceptance)
    }

    private func expectedTokens(chain k: Int, _ alpha: [Double]) -> Double {
        var e = 1.0, reach = 1.0
        for i in 0..<min(k, alpha.count) {
            reach *= alpha[i]
            e += reach
        }
        return e
    }

    /// T(k): expected seconds of a round with a chain of k tokens.
    public func expectedSeconds(chain k: Int) -> Double {
        Double(k) * (draftSecondsPerToken ?? 0) + profile.time(tokens: k + 1)
    }

    /// The decision for the next round: a draft length (0: decode plainly) and whether it is a probe.
    public func plan() -> (length: Int, probe: Bool) {
        var best = 0
        var bestRate = 1 / expectedSeconds(chain: 0)
        let alpha = optimisticAcceptance
        for k in stride(from: 1, through: maxDraft, by: 1) {
            let r = expectedTokens(chain: k, alpha) / expectedSeconds(chain: k)
            if r > bestRate * 1.0001 { best = k; bestRate = r }
        }
        if debug {
            let v = (1...9).map { String(format: "%.1f", profile.time(tokens: $0) * 1000) }.joined(separator: " ")
            let a = alpha.map { String(format: "%.2f", $0) }.joined(separator: " ")
            FileHandle.standardError.write("plan k=\(best) c=\(String(format: "%.2f", (draftSecondsPerToken ?? 0) * 1000))ms V=[\(v)] alpha=[\(a)]\n".data(using: .utf8)!)
        }
        lastPlanWasProbe = false
        if best > 0 || maxDraft == 0 {
            offRounds = 0
            currentProbeInterval = probeInterval
            return (best, false)
        }
        offRounds += 1
        if offRounds >= nextProbeInterval {
            offRounds = 0
            lastPlanWasProbe = true
            return (min(2, maxDraft), true)
        }
        return (0, false)
    }

    /// Seconds the drafter is expected to spend per catch-up token (tokens evaluated in one batch
    /// before it can draft): the target's batched per-token cost V(32)/32 scaled by the drafter's cost
    /// relative to the target: ``draftCostPrior`` when set, else c / V(1) (0.5 before c is observed).
    public var catchUpSecondsPerToken: Double {
        let ratio = draftCostPrior ?? draftSecondsPerToken.map { $0 / max(1e-9, profile.time(tokens: 1)) } ?? 0.5
        return profile.time(tokens: 32) / 32 * min(1, ratio)
    }

    /// Whether drafting chains of `k` tokens from now on can pay for a one-time catch-up of `tokens`
    /// tokens (C = n · ``catchUpSecondsPerToken`` seconds), `generated` tokens into the request with
    /// `remaining` tokens of budget left. Drafting saves s = V(1) − T(k)/E(k) seconds per committed
    /// token (with the plan's α). Two conditions:
    /// - the budget can repay it: C < s · remaining;
    /// - *ski rental*: the savings forgone so far in the request have reached it, C ≤ s · generated,
    ///   and it costs at most ``catchUpAllowance`` of the time the request has taken so far,
    ///   C ≤ ε · V(1) · generated. The budget is only an upper bound of the answer's length; a request
    ///   that ends within C / min(s, ε·V(1)) tokens would never have repaid the catch-up, one that
    ///   ends right after it is at most ε slower than plain, and one that goes on loses at most the
    ///   rent paid before (the deterministic ski-rental rule: rent until the rent paid equals the
    ///   price, then buy), here with the rent capped at ε·V(1) per token.
    public func catchUpPays(tokens n: Int, remaining: Int, generated: Int, length k: Int) -> Bool {
        guard n > 0 else { return true }
        guard k > 0, remaining > 0 else { return false }
        let alpha = optimisticAcceptance
        let perToken = expectedSeconds(chain: k) / expectedTokens(chain: k, alpha)
        let plain = profile.time(tokens: 1)
        let saving = plain - perToken
        guard saving > 0 else { return false }
        let cost = Double(n) * catchUpSecondsPerToken
        let rent = min(saving, catchUpAllowance * plain) * Double(max(0, generated))
        if debug {
            FileHandle.standardError.write(String(format: "catch-up n=%d C=%.1fms rent=%.1fms s=%.2fms remaining=%d\n",
                                                  n, cost * 1000, rent * 1000, saving * 1000, remaining).data(using: .utf8)!)
        }
        return cost < saving * Double(remaining) && cost <= rent
    }

    /// ε: the most a catch-up may cost as a share of the request's time so far (≈ generated · V(1)),
    /// so that a request ending right after it is at most that much slower than plain decoding
    /// (`.infinity`: the plain ski-rental rule, C ≤ s · generated).
    public var catchUpAllowance = CostModel.defaultCatchUpAllowance

    /// The default ε. A catch-up of n tokens grows by one token per token generated, so it is reached
    /// only when ε·V(1) exceeds the draft's per-token prefill cost p: after n₀·p / (ε·V(1) − p) tokens
    /// for an n₀-token prompt. On the Qwen pair (p ≈ 0.1 V(1) on 2 Zen 4 cores) ε = 0.15 waits about
    /// 2 n₀ tokens: answers shorter than twice their prompt are decoded plainly. Measured (Spec-Bench,
    /// 10 prompts per task, 128 tokens): against ε = 0.25, QA 0.97x / 1.00x (draft model / chain)
    /// instead of 0.94x / 0.96x, Math 1.01x / 1.12x instead of 1.03x / 1.10x; the draft model's gains
    /// here (≤ 1.1x) do not repay a catch-up within short answers.
    public static let defaultCatchUpAllowance = 0.15

    /// How many of a tree's nodes to verify: `order` lists node indices by decreasing score with
    /// parents before children; returns the count n of its prefix that maximizes expected tokens per
    /// second, given the `draftSeconds` already spent.
    public func treeSize(scores: [Float], order: [Int], draftSeconds: Double) -> Int {
        var sum = 0.0
        var best = 0
        var bestRate = 1 / (draftSeconds + profile.time(tokens: 1))
        for (j, i) in order.enumerated() {
            sum += Double(scores[i])
            let r = (1 + calibration * sum) / (draftSeconds + profile.time(tokens: j + 2))
            if r > bestRate { best = j + 1; bestRate = r }
        }
        return best
    }

    /// The current interval between probes (``probeInterval`` doubled by each unsuccessful probe).
    public var nextProbeInterval: Int { currentProbeInterval ?? probeInterval }

    /// After a round: the drafted height (chain length or tree depth), the accepted count, the draft's
    /// time and token count, and for a scored tree the sum of its verified nodes' scores.
    /// `steadyState` false (the round followed plain rounds or started the request, so the draft time
    /// includes the drafter's catch-up) leaves c as it was.
    public func observe(height: Int, accepted: Int, draftSeconds: Double, draftedTokens: Int, treeScore: Double? = nil,
                        steadyState: Bool = true) {
        if lastPlanWasProbe {
            // A probe wholly accepted brings the next one as soon as at first; otherwise wait longer.
            currentProbeInterval = accepted >= height ? probeInterval : min(maxProbeInterval, nextProbeInterval * 2)
            lastPlanWasProbe = false
        }
        if draftedTokens > 0 && steadyState {
            let perToken = draftSeconds / Double(draftedTokens)
            draftSecondsPerToken = draftSecondsPerToken.map { $0 + rate * (perToken - $0) } ?? perToken
        }
        // Position i (0-based) is observed when every earlier one was accepted.
        let observed = min(height, accepted + 1, hits.count)
        for i in 0..<observed {
            hits[i] = discount * hits[i] + (i < accepted ? 1 : 0)
            trials[i] = discount * trials[i] + 1
        }
        // Positions not observed this round count less, so a stale estimate leans on the position
        // before it again and deeper drafts get tried.
        for i in observed..<hits.count {
            hits[i] *= 0.85
            trials[i] *= 0.85
        }
        if let treeScore, treeScore > 0 {
            let ratio = min(4, Double(accepted) / treeScore)
            calibration += rate * (ratio - calibration)
        }
    }
}
