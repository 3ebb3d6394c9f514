import Foundation
import SpecDecKernels
import SpecDecModel

/// Drafts with a second, smaller model that shares the target's tokenizer: the classic speculative
/// decoding of Leviathan et al. 2023 (arXiv:2211.17192) and speculative sampling of Chen et al. 2023
/// (arXiv:2302.01318).
///
/// The drafter keeps the tokens whose keys and values are in the draft model's KV cache
/// (``cachedTokens``). Each ``draft(context:maxTokens:sampling:)``
/// 1. syncs the cache with the committed context by longest common prefix: it truncates the cache
///    after the common prefix (this is where the rejected draft tokens of the previous round are
///    rolled back) and evaluates the missing tokens in one batch;
/// 2. drafts k tokens one at a time: the argmax when sampling is greedy, otherwise a draw from
///    qᵢ = `Sampler.distribution(logits, sampling)` with the drafter's own generator, recording qᵢ
///    for the verifier.
///
/// The last draft token is never evaluated while drafting, so after a fully accepted round only two
/// tokens are missing at the next sync (the last draft token and the bonus token), and after a
/// rejection only the correction token.
///
/// With ``minProbability`` > 0 a draft ends before the first token the draft model is not confident
/// in: its probability of the most likely token is below the threshold (llama.cpp's `--draft-p-min`).
/// Drafting is where the time goes when the draft is a model, and a token the draft is unsure of is
/// likely to be rejected; the verifier keeps the output the same whatever the draft length.
///
/// The draft generator is reseeded at the first draft of each request from `sampling.seed` and the
/// drafter's `seed`, so a request is reproducible, and its draws are independent of the verifier's.
public final class DraftModelDrafter: Drafter {
    public let name = "draft-model"
    /// The draft model (its KV cache belongs to this drafter).
    public let model: Transformer
    /// Vocabulary size of the target; draft tokens outside it end the draft.
    public let targetVocabularySize: Int
    /// Tokens whose keys and values are in the draft model's cache, in order.
    public private(set) var cachedTokens: [Int32] = []
    /// Tokens evaluated by the draft model so far (syncs and drafting): the drafter's work.
    public private(set) var evaluatedTokens = 0
    /// Mixed into the per-request seed of the draft generator.
    public let seed: UInt64
    /// The draft stops before a token whose draft probability of the most likely token is below this
    /// (0: drafts are always `maxTokens` long). Greedy: softmax of the draft's logits; sampling: the
    /// largest probability of the distribution the token is drawn from.
    public var minProbability: Float = 0
    /// Drafts cut short by ``minProbability`` or ``confidence`` so far.
    public private(set) var stoppedByConfidence = 0
    /// When set, the confidence-modulated policy decides each chain's length and each tree node's
    /// width (``ConfidencePolicy``), and adapts its threshold to the acceptance of every draft.
    public var confidence: ConfidencePolicy?
    /// The last draft was a tree: per node, its slot in the draft model's cache (nil: not evaluated),
    /// and the context length it was drafted after.
    private var treeSlots: [Int?]?
    private var treeBase = 0
    private var lastHeight = 0
    /// When set, the draft model's output layer covers only these tokens (a vocabulary-trimmed
    /// draft head, FR-Spec / VocabTrim): each draft token costs less of the output layer, and qᵢ is
    /// exactly the distribution over the subset the token was drawn from (zero elsewhere), so
    /// speculative sampling stays lossless and greedy output unchanged.
    public let head: TrimmedHead?
    /// Record each draft token's confidence (``Draft/confidences``) for ``ConfidenceVerifier``
    /// (one pass over the logits row per token; off by default).
    public var recordsConfidence = false
    private let confidenceRule = ConfidencePolicy()
    private var rng = SplitMix64(seed: 0)
    private var needsReseed = true

    /// The largest vocabulary-size difference accepted by default (as llama.cpp's
    /// `SPEC_VOCAB_MAX_SIZE_DIFFERENCE`): models of one family often pad their embeddings differently.
    public static let maxVocabularyDifference = 128

    /// Throws ``SpeculationError/incompatibleDraft(_:)`` when a draft model with `draftVocabularySize`
    /// tokens cannot draft for a target with `targetVocabularySize` tokens. The caller must also check
    /// that the two tokenizers agree on the shared ids (the Engine does, with the Tokenizer module).
    public static func checkCompatible(draftVocabularySize: Int, targetVocabularySize: Int,
                                       maxDifference: Int = maxVocabularyDifference) throws {
        guard draftVocabularySize > 0, targetVocabularySize > 0 else {
            throw SpeculationError.incompatibleDraft(
                "vocabulary sizes must be positive (draft \(draftVocabularySize), target \(targetVocabularySize))")
        }
        let difference = abs(draftVocabularySize - targetVocabularySize)
        guard difference <= maxDifference else {
            throw SpeculationError.incompatibleDraft(
                "the draft vocabulary has \(draftVocabularySize) tokens and the target's \(targetVocabularySize): "
                + "they differ by \(difference), more than \(maxDifference)")
        }
    }

    /// Wraps `draft`, checking its vocabulary against the target's (see
    /// ``checkCompatible(draftVocabularySize:targetVocabularySize:maxDifference:)``).
    public init(draft: Transformer, targetVocabularySize: Int, seed: UInt64 = 0, head: TrimmedHead? = nil) throws {
        try Self.checkCompatible(draftVocabularySize: draft.config.vocabularySize, targetVocabularySize: targetVocabularySize)
        model = draft
        self.head = head
        self.targetVocabularySize = targetVocabularySize
        self.seed = seed
        draft.reset()
    }

    /// Wraps `draft` to draft for `target`.
    public convenience init(draft: Transformer, target: Transformer, seed: UInt64 = 0, head: TrimmedHead? = nil) throws {
        try self.init(draft: draft, targetVocabularySize: target.config.vocabularySize, seed: seed, head: head)
    }

    /// Keeps the cache: the next sync reuses whatever prefix the new prompt shares with it. The
    /// prompt is evaluated lazily, by the first draft of the request (in one batch): when the cost
    /// model finds that drafting cannot pay for that prefill over the request's budget (a long
    /// prompt, a short answer), the draft model never evaluates it.
    public func begin(prompt: [Int32]) throws {
        needsReseed = true
        treeSlots = nil
    }

    /// The tokens the next sync evaluates: the context after the prefix already in the cache
    /// (at least its last token).
    public func catchUpTokens(context: [Int32]) -> Int {
        guard !context.isEmpty else { return 0 }
        return context.count - min(commonPrefixLength(cachedTokens, context), context.count - 1)
    }

    public func draft(context: [Int32], maxTokens: Int, sampling: SamplingParameters) throws -> Draft {
        // The cache ends up holding the context and every draft token but the last.
        let k = min(maxTokens, model.contextLength - context.count + 1)
        guard k > 0, !context.isEmpty else { return .empty }
        if needsReseed {
            rng = SplitMix64(seed: mix(sampling.seed ^ mix(seed ^ 0x6472_6166_745F_726E)))
            needsReseed = false
        }

        // Sync: keep the longest common prefix (at least the last token is re-evaluated for its
        // logits), roll back the rest (rejected drafts), evaluate the missing tokens in one batch.
        guard var logits = try sync(context) else { return .empty }  // a token the draft cannot embed

        // Draft k tokens autoregressively; the last one is not evaluated.
        var tokens: [Int32] = []
        var distributions: [TokenDistribution] = []
        var confidences: [Float] = []
        tokens.reserveCapacity(k)
        treeSlots = nil
        for i in 0..<k {
            if recordsConfidence { confidences.append(confidenceRule.confidence(logits[logits.rows - 1])) }
            if let confidence, !confidence.extends(confidence.confidence(logits[logits.rows - 1])) {
                stoppedByConfidence += 1
                break
            }
            guard let (token, q) = nextDraftToken(logits[logits.rows - 1], sampling: sampling, head: head,
                                                  minProbability: minProbability, rng: &rng) else {
                stoppedByConfidence += 1
                break
            }
            guard Int(token) < targetVocabularySize else { break }  // the target cannot verify it
            tokens.append(token)
            distributions.append(q)
            if i == k - 1 { break }
            logits = try model.forward(token: token, logits: .last, head: head)
            cachedTokens.append(token)
            evaluatedTokens += 1
        }
        lastHeight = tokens.count
        return Draft(tokens: tokens, distributions: distributions,
                     confidences: recordsConfidence ? Array(confidences.prefix(tokens.count)) : nil)
    }

    /// Syncs the cache with `context` (see the type's documentation) and returns the logits of its last token.
    private func sync(_ context: [Int32]) throws -> Logits? {
        let vocab = model.config.vocabularySize
        let keep = min(commonPrefixLength(cachedTokens, context), context.count - 1)
        let missing = Array(context[keep...])
        guard missing.allSatisfy({ $0 >= 0 && Int($0) < vocab }) else { return nil }
        model.truncate(to: keep)
        cachedTokens.removeSubrange(keep...)
        let logits = try model.forward(missing, logits: .last, head: head)
        cachedTokens += missing
        evaluatedTokens += missing.count
        return logits
    }

    public var draftsTrees: Bool { true }

    /// A dynamic draft tree (EAGLE-2, arXiv:2406.16858): depth by depth, each expanded node proposes
    /// its most likely tokens (greedy: the top ones of its logits; sampling: draws without replacement
    /// from qᵢ, each recorded with the distribution it was drawn from given the earlier siblings), a
    /// candidate's score is the product of draft probabilities along its path, and the
    /// `budget.maxWidth` best candidates of a depth are evaluated — together, in one tree forward of
    /// the draft model — to expand the next depth. The children per node are `maxWidth` (fixed
    /// policy), those with probability ≥ ``minProbability`` (p-min), or the ``ConfidencePolicy``
    /// width. The `budget.maxNodes` best-scoring nodes are kept (parents first; when sampling a
    /// sibling is kept only with the siblings drawn before it). The accepted path's keys and values
    /// stay in the draft's cache for the next round.
    public func draftTree(context: [Int32], budget: TreeBudget, sampling: SamplingParameters) throws -> Draft {
        guard budget.maxWidth > 1 else {
            return try draft(context: context, maxTokens: min(budget.maxDepth, budget.maxNodes), sampling: sampling)
        }
        treeSlots = nil
        let depthLimit = min(budget.maxDepth, model.contextLength - context.count)
        guard depthLimit > 0, budget.maxNodes > 0, !context.isEmpty else { return .empty }
        if needsReseed {
            rng = SplitMix64(seed: mix(sampling.seed ^ mix(seed ^ 0x6472_6166_745F_726E)))
            needsReseed = false
        }
        guard var logits = try sync(context) else { return .empty }
        let base = model.position
        struct Node { var token: Int32; var parent: Int; var score: Float; var q: TokenDistribution?; var depth: Int; var c: Float }
        var nodes: [Node] = []
        var slots: [Int?] = []
        // Rows to expand: (row in `logits`, node index or −1 for the context, its score, depth of its children).
        var expanding: [(row: Int, node: Int, score: Float)] = [(0, -1, 1)]
        for depth in 0..<depthLimit {
            var fresh: [Int] = []
            for e in expanding {
                let row = logits[e.row]
                let c = recordsConfidence ? confidenceRule.confidence(row) : 0
                for child in children(of: row, sampling: sampling, maxWidth: budget.maxWidth) {
                    guard Int(child.token) < targetVocabularySize else { continue }
                    nodes.append(Node(token: child.token, parent: e.node, score: e.score * child.p, q: child.q, depth: depth, c: c))
                    slots.append(nil)
                    fresh.append(nodes.count - 1)
                }
            }
            if sampling.isGreedy == false {
                // A later sibling never scores above an earlier one (so cuts keep sibling prefixes).
                for i in fresh where i > 0 && nodes[i - 1].parent == nodes[i].parent {
                    nodes[i].score = min(nodes[i].score, nodes[i - 1].score)
                }
            }
            guard depth + 1 < depthLimit, !fresh.isEmpty, model.position + budget.maxWidth <= model.contextLength else { break }
            let chosen = fresh.sorted { nodes[$0].score != nodes[$1].score ? nodes[$0].score > nodes[$1].score : $0 < $1 }
                .prefix(budget.maxWidth).sorted()
            let parentSlots = chosen.map { nodes[$0].parent < 0 ? -1 : (slots[nodes[$0].parent] ?? -1) }
            let first = model.position
            logits = try model.forward(chosen.map { nodes[$0].token }, parentSlots: parentSlots, treeStart: base, logits: .all, head: head)
            evaluatedTokens += chosen.count
            for (j, i) in chosen.enumerated() { slots[i] = first + j }
            expanding = chosen.enumerated().map { ($0.offset, $0.element, nodes[$0.element].score) }
        }
        // Keep the best maxNodes (a parent scores at least as high as its children; ties: earlier first).
        let ranked = nodes.indices.sorted { nodes[$0].score != nodes[$1].score ? nodes[$0].score > nodes[$1].score : $0 < $1 }
        var keep = Set<Int>()
        for i in ranked where keep.count < budget.maxNodes {
            let p = nodes[i].parent
            if p < 0 || keep.contains(p) { keep.insert(i) }
        }
        let kept = nodes.indices.filter { keep.contains($0) }
        var newIndex = [Int: Int]()
        for (j, i) in kept.enumerated() { newIndex[i] = j }
        treeSlots = kept.map { slots[$0] }
        treeBase = base
        lastHeight = (kept.map { nodes[$0].depth }.max() ?? -1) + 1
        let distributions: [TokenDistribution]? = sampling.isGreedy ? nil : kept.map { nodes[$0].q ?? TokenDistribution(tokens: [nodes[$0].token], probabilities: [1]) }
        return Draft(tokens: kept.map { nodes[$0].token }, distributions: distributions,
                     parents: kept.map { nodes[$0].parent < 0 ? -1 : newIndex[nodes[$0].parent] ?? -1 },
                     scores: kept.map { nodes[$0].score }, confidences: recordsConfidence ? kept.map { nodes[$0].c } : nil)
    }

    /// The children a node with logits `row` proposes: token, its draft probability, and (sampling)
    /// the distribution it was drawn from given the earlier siblings.
    private func children(of row: UnsafeBufferPointer<Float>, sampling: SamplingParameters,
                          maxWidth: Int) -> [(token: Int32, p: Float, q: TokenDistribution?)] {
        var width = maxWidth
        if let confidence {
            width = confidence.width(confidence.confidence(row), maxWidth: maxWidth)
            if width == 0 { stoppedByConfidence += 1; return [] }
        }
        let ids = head?.tokens
        if sampling.isGreedy {
            let top = topEntries(row, width)
            guard let m = top.first?.value else { return [] }
            var z: Float = 0
            for x in row { z += expf(x - m) }
            var result: [(token: Int32, p: Float, q: TokenDistribution?)] = []
            for t in top {
                let p = expf(t.value - m) / z
                if minProbability > 0 && p < minProbability { break }
                result.append((ids.map { $0[t.index] } ?? Int32(t.index), p, nil))
            }
            return result
        }
        let raw = Sampler.distribution(row, sampling)
        var q = ids.map { raw.mapped(through: $0) } ?? raw
        var result: [(token: Int32, p: Float, q: TokenDistribution?)] = []
        var remaining: Float = 1
        for _ in 0..<width {
            guard !q.tokens.isEmpty else { break }
            let token = q.draw(Float(rng.next() >> 40) / Float(1 << 24))
            let pq = q.probability(of: token)
            let p = pq * remaining  // the token's unconditional draft probability
            if minProbability > 0 && (q.probabilities.max() ?? 0) < minProbability { break }
            result.append((token, p, q))
            // The next sibling is drawn from q without the tokens drawn so far.
            remaining -= p
            guard let i = q.tokens.firstIndex(of: token), pq < 1 else { break }
            q.tokens.remove(at: i)
            var probabilities = q.probabilities
            probabilities.remove(at: i)
            let total = probabilities.reduce(0, +)
            guard total > 0 else { break }
            q.probabilities = probabilities.map { $0 / total }
        }
        return result
    }

    /// Rejected tokens are rolled back at the next sync; after a tree, the accepted path's evaluated
    /// nodes are moved into place in the draft's cache.
    public func accepted(context: [Int32], acceptedCount: Int) {
        accepted(context: context, path: Array(0..<acceptedCount))
    }

    public func accepted(context: [Int32], path: [Int]) {
        if var c = confidence {
            c.observe(drafted: lastHeight, accepted: path.count)
            confidence = c
        }
        guard let slots = treeSlots else { return }
        treeSlots = nil
        var rows: [Int] = []
        for node in path {
            guard node < slots.count, let slot = slots[node] else { break }
            rows.append(slot - treeBase)
        }
        guard treeBase <= cachedTokens.count, (try? model.keepTreePath(rows, from: treeBase)) != nil else { return }
        cachedTokens.removeSubrange(treeBase...)
        cachedTokens += context[treeBase..<min(context.count, treeBase + rows.count)]
    }

    public func end(context: [Int32]) {}

    /// Empties the draft model's cache.
    public func reset() {
        model.reset()
        cachedTokens = []
    }
}

/// SplitMix64's output function: a bijective mix of 64 bits (used to derive independent seeds).
func mix(_ x: UInt64) -> UInt64 {
    var z = x &+ 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}
