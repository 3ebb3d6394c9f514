import SpecDecModel

/// Speculative decoding (Leviathan et al. 2023, arXiv:2211.17192; Chen et al. 2023,
/// arXiv:2302.01318): a ``Drafter`` proposes k tokens, the target evaluates all of them in one
/// batched forward pass, and a ``Verifier`` keeps an accepted prefix plus one correction or bonus
/// token, so each target forward commits between 1 and k + 1 tokens.
///
/// Invariant between calls: the target's KV cache holds every committed token except the last one,
/// the *pending* token, which is evaluated at the head of the next verification batch. Rolling back
/// rejected draft tokens is a truncation of the cache.
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
    /// The last round drafted (so this round's draft time holds no catch-up of the drafter).
    private var previousRoundDrafted = false

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
    /// with `prompt[0 ..< n − 1]` in one batch, reusing the prefix already in its cache.
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

        // Prefill: keep the cached prefix shared with the prompt, evaluate the rest but the last
        // token, which stays pending (its logits come with the first verification).
        if target.position != cachedTokens.count { target.reset(); cachedTokens = [] }  // used by someone else
        let body = Array(prompt.dropLast())
        let keep = commonPrefixLength(cachedTokens, body)
        target.truncate(to: keep)
        cachedTokens.removeSubrange(keep...)
        if keep < body.count {
            _ = try target.forward(Array(body[keep...]), logits: .last)
            cachedTokens = body
        }
        context = prompt
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
        // The batch [pending] + draft must fit the target's context.
        let room = target.contextLength - target.position - 1
        guard room >= 0 else { throw SpeculationError.contextFull(context: target.contextLength) }
        var k = min(draftLength, room, maxNewTokens - 1)
        var probe = false
        if let costModel, k > 0 {
            let plan = costModel.plan()
            probe = plan.probe
            k = min(k, plan.length)
            // A drafter that must first catch up (a draft model's prompt) drafts only when that pays.
            if k > 0, !costModel.catchUpPays(tokens: drafter.catchUpTokens(context: context), remaining: maxNewTokens, length: k) {
                k = 0
                probe = false
            }
            if k == 0 { stats.speculationOff += 1 }
            if probe { stats.probes += 1 }
        }

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
        if let costModel, draft.isTree, let scores = draft.scores {
            // Verify the best prefix of the nodes by score (parents before children).
            let order = scoreOrder(draft, scores)
            let n = costModel.treeSize(scores: scores, order: order, draftSeconds: draftSeconds)
            if n < draft.tokens.count { draft = draft.subtree(Set(order.prefix(n))) }
        }
        let verifyStart = clock.now

        // 2. Verify: ONE batched target forward over [pending] + draft; row i holds the target's logits
        //    after the context and the path to draft token i − 1 (a chain: draft[0 ..< i]). The verifier
        //    picks the accepted path and the correction (first rejection) or bonus (all accepted) token.
        let start = target.position
        let isTree = draft.isTree
        let logits = isTree
            ? try target.forward([pending] + draft.tokens, parents: [-1] + draft.parentIndices.map { $0 + 1 }, logits: .all)
            : try target.forward([pending] + draft.tokens, logits: .all)
        let verification = isTree ? verifier.verifyTree(draft: draft, rows: { logits[$0] }, sampler: &sampler)
                                  : verifier.verify(draft: draft, rows: { logits[$0] }, sampler: &sampler)
        let accepted = verification.acceptedCount
        let path = isTree ? verification.path : Array(0..<accepted)
        precondition(accepted >= 0 && accepted <= draft.tokens.count && path.count == accepted,
                     "\(verifier.name) accepted \(accepted) of \(draft.tokens.count)")

        // 3. Accept: commit the accepted draft tokens and the correction or bonus token.
        let committed = path.map { draft.tokens[$0] } + [verification.nextToken]
        if isTree { try target.keepTreePath([0] + path.map { $0 + 1 }, from: start) }
        cachedTokens.append(pending)
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
            costModel.profile.observe(tokens: draft.tokens.count + 1, seconds: verifySeconds)
            let treeScore = isTree ? draft.scores.map { Double($0.reduce(0, +)) } : nil
            costModel.observe(height: height, accepted: accepted, draftSeconds: draftSeconds,
                              draftedTokens: draft.tokens.count, treeScore: treeScore, steadyState: previousRoundDrafted)
        }
        previousRoundDrafted = k > 0
        return committed
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
        context.removeSubrange(length...)
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
