import SpecDecModel

/// Speculative decoding (Leviathan et al. 2023, arXiv:2211.17192; Chen et al. 2023,
/// arXiv:2302.01318): a ``Drafter`` proposes k tokens, the target evaluates all of them in one
/// batched forward pass, and a ``Verifier`` keeps an accepted prefix plus one correction or bonus
/// token, so each target forward commits between 1 and k + 1 tokens.
///
/// Invariant between calls: the target's KV cache holds every committed token except the last one,
/// the *pending* token, which is evaluated at the head of the next verification batch. Rolling back
/// rejected draft tokens is a truncation of the cache. The one exception is the first round of a
/// request: the prefill evaluates the whole prompt, so the pending token (the prompt's last) is
/// already cached and its logits kept; that round verifies the draft alone (a plain first token
/// costs no forward at all).
///
/// ```swift
/// let drafter = try DraftModelDrafter(draft: small, target: big)
/// let decoder = try SpeculativeDecoder(target: big, drafter: drafter, verifier: SpeculativeSamplingVerifier(),
///                                      sampling: SamplingParameters(temperature: 0.7, seed: 1), draftLength: 4)
/// try decoder.start(prompt: prompt)
/// var output: [Int32] = []
/// while output.count < 100 { output += try decoder.step(maxNewTokens: 100 - output.count) }
/// decoder.finish()
/// print(decoder.stats.meanAccepted)
/// ```
///
/// The decoder assumes it is the only user of the target's cache between calls (it keeps the
/// tokens it put there to reuse a shared prompt prefix across requests). Not thread-safe: it may be
/// handed to another task, but used by one at a time (as ``Transformer``).
public final class SpeculativeDecoder: @unchecked Sendable {
    /// The model whose output is produced.
    public let target: Transformer
    /// Proposes the draft tokens.
    public let drafter: Drafter
    /// Accepts or rejects them.
    public private(set) var verifier: any Verifier
    /// Sampling parameters of the target (and of a draft model's drafts) for the current request.
    public private(set) var sampling: SamplingParameters
    /// Most draft tokens per step (the longest chain, the deepest tree).
    public let draftLength: Int
    /// When set, picks each round's draft length or tree size from measured costs (see ``CostModel``).
    public var costModel: CostModel?
    /// When set and the drafter drafts trees, rounds draft token trees within this budget (its depth
    /// capped by the round's draft length).
    public var treeBudget: TreeBudget?
    /// Every committed token of the request: prompt + generated.
    public private(set) var context: [Int32] = []
    /// Counts and timings of the current request (since ``start(prompt:sampling:)``).
    public private(set) var stats = SpeculationStats()
    private var sampler: Sampler
    /// The tokens in the target's cache, in order.
    private var cachedTokens: [Int32] = []
    private var started = false
    /// Tokens of the current request's prompt.
    private var promptLength = 0
    /// The last round drafted (so this round's draft time holds no catch-up of the drafter).
    private var previousRoundDrafted = false
    /// The pending token's logits when it is already in the cache (after the prefill, until the
    /// first round).
    private var pendingLogits: [Float]?
    /// With a drafter of several sources: a cost model per source (see ``sourceModels(_:)``), and the
    /// source of the last round's draft.
    private var sourceCostModels: [CostModel] = []
    private var previousSource: Int?
    /// A count the catch-up gates' closures share with the round.
    private final class Counter { var count = 0 }

    /// Throws ``SpeculationError/invalidParameter(_:)`` for invalid sampling parameters or a
    /// negative draft length (0 decodes one token per step, as plain decoding does).
    public init(target: Transformer, drafter: Drafter, verifier: any Verifier, sampling: SamplingParameters,
                draftLength: Int) throws {
        do { try sampling.validate() } catch { throw SpeculationError.invalidParameter("\(error)") }
        guard draftLength >= 0 else { throw SpeculationError.invalidParameter("draft length must be >= 0, got \(draftLength)") }
        self.target = target
        self.drafter = drafter
        self.verifier = verifier
        self.sampling = sampling
        self.draftLength = draftLength
        sampler = Sampler(sampling)
        target.reset()
    }

    /// The last committed token, not yet in the target's cache (nil before ``start(prompt:sampling:)``).
    public var pendingToken: Int32? { started ? context.last : nil }

    /// Starts a request: tells the drafter, resets the sampler and the stats, and prefills the target
    /// with the prompt in one batch, reusing the prefix already in its cache (at least the last token
    /// is evaluated: its logits give the first token).
    /// `sampling`, when given, replaces the decoder's sampling parameters from this request on
    /// (e.g. a per-request seed).
    public func start(prompt: [Int32], sampling: SamplingParameters? = nil) throws {
        if let sampling {
            do { try sampling.validate() } catch { throw SpeculationError.invalidParameter("\(error)") }
        }
        guard !prompt.isEmpty else { throw SpeculationError.emptyPrompt }
        guard prompt.count <= target.contextLength else {
            throw SpeculationError.promptTooLong(tokens: prompt.count, context: target.contextLength)
        }
        let vocab = target.config.vocabularySize
        if let i = prompt.firstIndex(where: { $0 < 0 || Int($0) >= vocab }) {
            throw SpeculationError.tokenOutOfRange(token: prompt[i], index: i, vocabularySize: vocab)
        }
        if let sampling { self.sampling = sampling }
        started = false
        try drafter.begin(prompt: prompt)
        sampler = Sampler(self.sampling)
        stats = SpeculationStats()

        // Prefill: keep the cached prefix shared with the prompt, evaluate the rest. The last token is
        // the pending one: cached already, its logits kept for the first round.
        pendingLogits = nil
        if target.position != cachedTokens.count { target.reset(); cachedTokens = [] }  // used by someone else
        let keep = min(commonPrefixLength(cachedTokens, prompt), prompt.count - 1)
        target.truncate(to: keep)
        cachedTokens.removeSubrange(keep...)
        let logits = try target.forward(Array(prompt[keep...]), logits: .last)
        pendingLogits = logits.row(logits.rows - 1)
        cachedTokens = prompt
        context = prompt
        promptLength = prompt.count
        previousRoundDrafted = false
        started = true
    }

    /// One draft–verify round; returns the committed tokens (1 … k + 1): the accepted draft tokens
    /// and the correction or bonus token. At most `maxNewTokens` (≥ 1) tokens are committed.
    ///
    /// With a ``costModel`` the round's draft length (or tree size) is the cost model's choice, at most
    /// ``draftLength``; when it expects no draft to pay, the round decodes one token plainly. With a
    /// ``treeBudget`` and a drafter that drafts trees, the draft is a token tree verified in one forward
    /// with a tree attention mask; the accepted path's keys and values are moved into place.
    @discardableResult
    public func step(maxNewTokens: Int = .max) throws -> [Int32] {
        guard started, let pending = context.last else { throw SpeculationError.notStarted }
        guard maxNewTokens >= 1 else { throw SpeculationError.invalidParameter("max new tokens must be >= 1, got \(maxNewTokens)") }
        // The batch [pending] + draft must fit the target's context (the pending token is cached
        // already in a request's first round).
        let preEvaluated = pendingLogits != nil
        let room = target.contextLength - target.position - (preEvaluated ? 0 : 1)
        guard room >= 0 else { throw SpeculationError.contextFull(context: target.contextLength) }
        var k = min(draftLength, room, maxNewTokens - 1)
        var probe = false
        var plans: [SourcePlan]?
        var models: [CostModel] = []       // with several sources: one cost model each
        let refusals = Counter()           // catch-up gates refused this round
        if let costModel, k > 0, drafter.sourceCount > 1 {
            // Several sources (a chain's steps): each has its own cost model, plan and catch-up gate.
            models = sourceModels(costModel)
            let perSource = models.map { m -> SourcePlan in
                let plan = m.plan()
                let length = min(k, plan.length)
                let pays = catchUpGate(m, length: length, maxNewTokens: maxNewTokens)
                return SourcePlan(length: length, probe: plan.probe, catchUpGate: { n in
                    if pays(n) { return true }
                    refusals.count += 1
                    return false
                })
            }
            plans = perSource
            drafter.setSourcePlans(perSource)
            k = perSource.map(\.length).max() ?? 0
            probe = k > 0 && perSource.allSatisfy { $0.length == 0 || $0.probe }
            // Counted as turned off: a round with no draft where the cost model held a source back
            // (planned it out or refused its catch-up); see below for rounds that drafted nothing.
            if k == 0 { stats.speculationOff += 1 }
        } else if let costModel, k > 0 {
            let plan = costModel.plan()
            probe = plan.probe
            k = min(k, plan.length)
            // A drafter that must first catch up (a draft model's prompt) drafts only when that pays;
            // a composed drafter asks the same of each of its steps.
            let pays = catchUpGate(costModel, length: k, maxNewTokens: maxNewTokens)
            drafter.setCatchUpGate(pays)
            if k > 0, !pays(drafter.catchUpTokens(context: context)) {
                k = 0
                probe = false
            }
            if k == 0 { stats.speculationOff += 1 }
            if probe { stats.probes += 1 }
        }

        if plans == nil { drafter.setSourcePlans(nil) }

        // 1. Draft: up to k tokens (or a tree of depth k) continuing the committed context.
        let clock = ContinuousClock()
        let draftStart = clock.now
        var proposed = Draft.empty
        if k > 0 {
            if let treeBudget, drafter.draftsTrees, !probe {
                let budget = TreeBudget(maxNodes: min(treeBudget.maxNodes, room), maxDepth: min(k, treeBudget.maxDepth),
                                        maxWidth: treeBudget.maxWidth)
                proposed = try drafter.draftTree(context: context, budget: budget, sampling: sampling)
            } else {
                proposed = try drafter.draft(context: context, maxTokens: k, sampling: sampling)
            }
        }
        var draft = sanitized(proposed, limit: proposed.parents == nil ? k : min(room, proposed.tokens.count))
        let draftSeconds = seconds(draftStart, clock.now)
        if let plans, k > 0, proposed.tokens.isEmpty, refusals.count > 0 || plans.contains(where: { $0.length == 0 }) {
            stats.speculationOff += 1
        }
        if let costModel, draft.isTree, let scores = draft.scores {
            // Verify the best prefix of the nodes by score (parents before children), as the proposing
            // source's cost model sizes it.
            let sizer = drafter.lastSource.flatMap { $0 < models.count ? models[$0] : nil } ?? costModel
            let order = scoreOrder(draft, scores)
            let n = sizer.treeSize(scores: scores, order: order, draftSeconds: draftSeconds)
            if n < draft.tokens.count { draft = draft.subtree(Set(order.prefix(n))) }
        }
        let verifyStart = clock.now

        // 2. Verify: ONE batched target forward over [pending] + draft; row i holds the target's logits
        //    after the context and the path to draft token i − 1 (a chain: draft[0 ..< i]). The verifier
        //    picks the accepted path and the correction (first rejection) or bonus (all accepted) token.
        //    In a request's first round the pending token is cached and row 0 is its kept logits: the
        //    forward covers the draft alone (none at all for a plain round).
        let start = target.position
        let isTree = draft.isTree
        let batch = preEvaluated ? draft.tokens : [pending] + draft.tokens
        let parents = preEvaluated ? draft.parentIndices : [-1] + draft.parentIndices.map { $0 + 1 }
        let logits: Logits? = batch.isEmpty ? nil
            : isTree ? try target.forward(batch, parents: parents, logits: .all) : try target.forward(batch, logits: .all)
        let kept = pendingLogits ?? []
        pendingLogits = nil
        let verification = kept.withUnsafeBufferPointer { keptRow in
            let rows: (Int) -> UnsafeBufferPointer<Float> = { i in
                if preEvaluated && i == 0 { return keptRow }
                guard let logits else { return UnsafeBufferPointer(start: nil, count: 0) }  // unreachable: rows ≤ draft count
                return logits[preEvaluated ? i - 1 : i]
            }
            return isTree ? verifier.verifyTree(draft: draft, rows: rows, sampler: &sampler)
                          : verifier.verify(draft: draft, rows: rows, sampler: &sampler)
        }
        let accepted = verification.acceptedCount
        let path = isTree ? verification.path : Array(0..<accepted)
        precondition(accepted >= 0 && accepted <= draft.tokens.count && path.count == accepted,
                     "\(verifier.name) accepted \(accepted) of \(draft.tokens.count)")

        // 3. Accept: commit the accepted draft tokens and the correction or bonus token.
        let committed = path.map { draft.tokens[$0] } + [verification.nextToken]
        if isTree { try target.keepTreePath(preEvaluated ? path : [0] + path.map { $0 + 1 }, from: start) }
        if !preEvaluated { cachedTokens.append(pending) }
        cachedTokens += committed.dropLast()
        context += committed

        // 4. Trim: roll the target's cache back to the committed context minus the new pending token
        //    (drops the rejected draft tokens; after a full acceptance nothing is dropped).
        rollbackCache(to: context.count - 1)
        let verifyEnd = clock.now
        let verifySeconds = seconds(verifyStart, verifyEnd)

        // 5. Tell the drafter what was committed (it rolls its own state back).
        drafter.accepted(context: context, path: path)
        let height = isTree ? (draft.depths.max() ?? -1) + 1 : draft.tokens.count
        stats.record(drafted: draft.tokens.count, accepted: accepted, draftSeconds: draftSeconds,
                     verifySeconds: verifySeconds, depth: isTree ? height : nil)
        if let costModel {
            if !batch.isEmpty { costModel.profile.observe(tokens: batch.count, seconds: verifySeconds) }
            let treeScore = isTree ? draft.scores.map { Double($0.reduce(0, +)) } : nil
            if let plans {
                // The proposing source learns from the round; the others see nothing (one that planned no
                // draft comes back through its probes).
                let source = draft.tokens.isEmpty ? nil : drafter.lastSource
                if let source, source < models.count {
                    if plans[source].probe { stats.probes += 1 }
                    models[source].observe(height: height, accepted: accepted, draftSeconds: draftSeconds,
                                           draftedTokens: draft.tokens.count, treeScore: treeScore,
                                           steadyState: previousRoundDrafted && previousSource == source)
                }
                previousSource = source
            } else {
                costModel.observe(height: height, accepted: accepted, draftSeconds: draftSeconds,
                                  draftedTokens: draft.tokens.count, treeScore: treeScore, steadyState: previousRoundDrafted)
            }
        }
        previousRoundDrafted = k > 0
        return committed
    }

    /// Whether a catch-up of n tokens pays for `model`'s source this round, drafting `length` tokens
    /// with `maxNewTokens` left (``CostModel/catchUpPays(tokens:remaining:generated:length:)``).
    private func catchUpGate(_ model: CostModel, length: Int, maxNewTokens: Int) -> (Int) -> Bool {
        let generated = context.count - promptLength
        return { n in model.catchUpPays(tokens: n, remaining: maxNewTokens, generated: generated, length: length) }
    }

    /// One cost model per draft source: `costModel` for the first, siblings with its settings for the
    /// others (kept across requests, rebuilt when `costModel` is replaced).
    private func sourceModels(_ costModel: CostModel) -> [CostModel] {
        let n = max(1, drafter.sourceCount)
        if sourceCostModels.first !== costModel || sourceCostModels.count != n {
            sourceCostModels = [costModel] + (1..<n).map { _ in costModel.sibling() }
        }
        for m in sourceCostModels.dropFirst() { m.adoptSettings(of: costModel) }
        return sourceCostModels
    }

    /// Node indices by decreasing score, each after its parent (ties: draft order).
    private func scoreOrder(_ draft: Draft, _ scores: [Float]) -> [Int] {
        let parents = draft.parentIndices
        var placed = Set<Int>()
        var order: [Int] = []
        var pending = draft.tokens.indices.sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }
        while !pending.isEmpty {
            guard let j = pending.firstIndex(where: { parents[$0] < 0 || placed.contains(parents[$0]) }) else { break }
            let i = pending.remove(at: j)
            placed.insert(i)
            order.append(i)
        }
        return order
    }

    /// Runs a whole request: ``start(prompt:sampling:)``, steps until `maxNewTokens` tokens, a token of
    /// `stopTokens` (included, later tokens dropped) or a full context, then ``finish()``.
    /// Returns the generated tokens.
    public func generate(prompt: [Int32], maxNewTokens: Int, stopTokens: Set<Int32> = []) throws -> [Int32] {
        try start(prompt: prompt)
        var output: [Int32] = []
        while output.count < maxNewTokens && target.position < target.contextLength {
            let committed = try step(maxNewTokens: maxNewTokens - output.count)
            if let stop = committed.firstIndex(where: stopTokens.contains) {
                output += committed[...stop]
                try rollback(to: prompt.count + output.count)
                break
            }
            output += committed
        }
        finish()
        return output
    }

    /// Forgets committed tokens after the first `length` (1 ≤ length ≤ context.count), e.g. text
    /// after a stop string. The drafter resyncs at its next call.
    public func rollback(to length: Int) throws {
        guard started else { throw SpeculationError.notStarted }
        guard length >= 1, length <= context.count else {
            throw SpeculationError.invalidParameter("rollback length must be in 1...\(context.count), got \(length)")
        }
        guard length < context.count else { return }  // nothing to forget (kept logits stay valid)
        context.removeSubrange(length...)
        pendingLogits = nil
        rollbackCache(to: length - 1)
    }

    /// Ends the request: the drafter may learn from it (e.g. the suffix tree's global tree).
    public func finish() {
        guard started else { return }
        drafter.end(context: context)
        started = false
    }

    /// Empties the target's cache (the next prompt is evaluated from scratch).
    public func reset() {
        target.reset()
        pendingLogits = nil
        cachedTokens = []
        started = false
    }

    private func rollbackCache(to length: Int) {
        target.truncate(to: length)
        if cachedTokens.count > length { cachedTokens.removeSubrange(length...) }
    }

    /// The first `limit` draft tokens, cut before any token the target cannot evaluate.
    /// For a tree, the first `limit` nodes (a prefix of a tree is a tree).
    private func sanitized(_ draft: Draft, limit: Int) -> Draft {
        var n = min(draft.tokens.count, limit)
        if let d = draft.distributions { n = min(n, d.count) }
        let vocab = target.config.vocabularySize
        if let bad = draft.tokens[..<n].firstIndex(where: { $0 < 0 || Int($0) >= vocab }) { n = bad }
        if n == draft.tokens.count && (draft.distributions?.count ?? n) == n { return draft }
        return draft.prefix(n)
    }

    private func seconds(_ a: ContinuousClock.Instant, _ b: ContinuousClock.Instant) -> Double {
        let d = a.duration(to: b).components
        return Double(d.seconds) + Double(d.attoseconds) * 1e-18
    }
}
