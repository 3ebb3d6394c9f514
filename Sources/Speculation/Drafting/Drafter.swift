import SpecDecKernels
import SpecDecModel

/// Tokens proposed by a ``Drafter`` for the target to verify: a chain d₁ … d_k, or a **token tree**
/// (SpecInfer, arXiv:2305.09781): several candidate continuations sharing prefixes, verified in one
/// target forward with a tree attention mask.
public struct Draft: Sendable, Equatable {
    /// The draft tokens. In a chain, d₁ … d_k continuing the committed context; in a tree, the nodes in
    /// an order where every parent comes before its children.
    public var tokens: [Int32]
    /// qᵢ, the distribution each draft token was drawn from (one per token), or nil for model-free
    /// drafters (prompt lookup, suffix trees), whose proposals count as point masses. In a tree, a
    /// node's distribution is the one it was drawn from *given its earlier siblings* (drawn without
    /// replacement: q with the earlier siblings removed and renormalized), which is what multi-candidate
    /// speculative sampling needs to stay lossless.
    public var distributions: [TokenDistribution]?
    /// nil for a chain; for a tree, `parents[i]` is the index of token i's parent in ``tokens``
    /// (`parents[i] < i`), or −1 when token i directly continues the committed context. A chain is the
    /// degenerate tree `[-1, 0, 1, …]`; siblings are tried in index order.
    public var parents: [Int]?
    /// Optional, per token: the drafter's estimate that the token is reached and accepted (the product
    /// of draft probabilities, or of empirical continuation shares, along its path; never larger than
    /// its parent's). The cost model cuts scored trees to their best nodes.
    public var scores: [Float]?
    /// Optional, per token: the drafter's confidence in [0, 1] in the distribution the token came
    /// from (``ConfidencePolicy/confidence(_:)``: entropy and top-1/top-2 margin), recorded by a draft
    /// model when ``DraftModelDrafter/recordsConfidence`` is set; ``ConfidenceVerifier`` reads it.
    public var confidences: [Float]?

    public init(tokens: [Int32], distributions: [TokenDistribution]? = nil, parents: [Int]? = nil, scores: [Float]? = nil,
                confidences: [Float]? = nil) {
        precondition(distributions == nil || distributions?.count == tokens.count, "one distribution per draft token")
        precondition(parents == nil || parents?.count == tokens.count, "one parent per draft token")
        precondition(scores == nil || scores?.count == tokens.count, "one score per draft token")
        precondition(confidences == nil || confidences?.count == tokens.count, "one confidence per draft token")
        self.tokens = tokens
        self.distributions = distributions
        self.parents = parents
        self.scores = scores
        self.confidences = confidences
    }

    /// A draft with no tokens (the round then decodes one token, as plain decoding does).
    public static let empty = Draft(tokens: [])

    /// Whether the draft is a tree with at least one branch (not a chain).
    public var isTree: Bool {
        guard let parents else { return false }
        return !parents.enumerated().allSatisfy { $0.element == $0.offset - 1 }
    }

    /// The parent of every token (`[-1, 0, 1, …]` for a chain).
    public var parentIndices: [Int] { parents ?? tokens.indices.map { $0 - 1 } }

    /// `children[i + 1]` lists the tokens whose parent is token i, and `children[0]` the roots, in order.
    public var children: [[Int]] {
        var result = [[Int]](repeating: [], count: tokens.count + 1)
        for (i, p) in parentIndices.enumerated() { result[p + 1].append(i) }
        return result
    }

    /// Depth of every token (a root has depth 0).
    public var depths: [Int] {
        var d = [Int](repeating: 0, count: tokens.count)
        for (i, p) in parentIndices.enumerated() where p >= 0 { d[i] = d[p] + 1 }
        return d
    }

    /// The first `count` tokens (and their distributions and parents: a prefix of a tree is a tree).
    public func prefix(_ count: Int) -> Draft {
        let n = max(0, min(count, tokens.count))
        return Draft(tokens: Array(tokens[..<n]), distributions: distributions.map { Array($0[..<n]) },
                     parents: parents.map { Array($0[..<n]) }, scores: scores.map { Array($0[..<n]) },
                     confidences: confidences.map { Array($0[..<n]) })
    }

    /// The sub-tree of the nodes `keep` (each node's parent must be kept too), renumbered in their
    /// original order. Siblings keep their relative order.
    public func subtree(_ keep: Set<Int>) -> Draft {
        let kept = tokens.indices.filter { keep.contains($0) }
        var newIndex = [Int: Int]()
        for (j, i) in kept.enumerated() { newIndex[i] = j }
        let p = parentIndices
        return Draft(tokens: kept.map { tokens[$0] }, distributions: distributions.map { d in kept.map { d[$0] } },
                     parents: kept.map { p[$0] < 0 ? -1 : newIndex[p[$0]] ?? -1 }, scores: scores.map { s in kept.map { s[$0] } },
                     confidences: confidences.map { c in kept.map { c[$0] } })
    }

    /// The tokens of the root-to-node path ending at `node`.
    public func path(to node: Int) -> [Int] {
        var path: [Int] = []
        var n = node
        let parents = parentIndices
        while n >= 0 { path.append(n); n = parents[n] }
        return path.reversed()
    }
}

/// How large a tree a drafter may propose (see ``Drafter/draftTree(context:budget:sampling:)``).
public struct TreeBudget: Sendable, Equatable {
    /// Most draft tokens (nodes), the pending token not counted.
    public var maxNodes: Int
    /// Most tokens on one root-to-leaf path.
    public var maxDepth: Int
    /// Most children of one node (and most roots).
    public var maxWidth: Int

    public init(maxNodes: Int, maxDepth: Int, maxWidth: Int) {
        self.maxNodes = maxNodes
        self.maxDepth = maxDepth
        self.maxWidth = maxWidth
    }

    /// A chain of `length` tokens.
    public static func chain(_ length: Int) -> TreeBudget { TreeBudget(maxNodes: length, maxDepth: length, maxWidth: 1) }
}

/// Proposes draft tokens that the target model then verifies in one batched forward pass
/// (speculative decoding, Leviathan et al. 2023, arXiv:2211.17192).
///
/// A drafter sees one request at a time through the lifecycle `begin → (draft → accepted)* → end`,
/// as llama.cpp's speculative drafters do:
///
/// ```swift
/// let drafter = PromptLookupDrafter()
/// try drafter.begin(prompt: prompt)
/// var context = prompt
/// while context.count < limit {
///     let draft = try drafter.draft(context: context, maxTokens: 4, sampling: sampling)
///     let committed = verifyWithTheTarget(draft)      // accepted tokens + correction or bonus
///     context += committed
///     drafter.accepted(context: context, acceptedCount: committed.count - 1)
/// }
/// drafter.end(context: context)
/// ```
///
/// ``SpeculativeDecoder`` runs this loop. Drafters are not thread-safe; use one per decoder.
public protocol Drafter: AnyObject {
    /// A short name for reports ("draft-model", "prompt-lookup", "suffix-tree").
    var name: String { get }
    /// A new request starts; `prompt` is its whole prompt.
    func begin(prompt: [Int32]) throws
    /// Propose up to `maxTokens` tokens continuing `context` (every committed token: prompt + generated so far).
    func draft(context: [Int32], maxTokens: Int, sampling: SamplingParameters) throws -> Draft
    /// After verification: the committed context now, and how many of the last draft's tokens were accepted.
    func accepted(context: [Int32], acceptedCount: Int)
    /// The request ended (outputs may be added to global state, e.g. the suffix tree).
    func end(context: [Int32])
    /// Propose a token tree within `budget` continuing `context`. The default proposes the chain of
    /// ``draft(context:maxTokens:sampling:)`` with `budget.maxDepth` (at most `maxNodes`) tokens.
    func draftTree(context: [Int32], budget: TreeBudget, sampling: SamplingParameters) throws -> Draft
    /// After verification of a draft: the committed context now, and the accepted nodes (a
    /// root-to-node path of the draft, as indices into its tokens; for a chain `0 ..< accepted`). The
    /// default calls ``accepted(context:acceptedCount:)``.
    func accepted(context: [Int32], path: [Int])
    /// Whether ``draftTree(context:budget:sampling:)`` can propose more than a chain.
    var draftsTrees: Bool { get }
    /// Tokens of `context` the drafter would have to evaluate before it can draft (a draft model's
    /// catch-up: the prompt at the first draft of a request, the tokens committed while it did not
    /// draft). The cost model weighs this one-time cost against what drafting can save over the rest
    /// of the request. The default, for model-free drafters, is 0.
    func catchUpTokens(context: [Int32]) -> Int
    /// For drafters made of others (a chain, a hybrid): from now on, a step that would first have to
    /// catch up on n tokens drafts only when `gate(n)` is true, and the others draft without it (the
    /// decoder sets the gate each round from its cost model; nil allows every catch-up). Such a
    /// drafter's ``catchUpTokens(context:)`` is that of its cheapest step. The default ignores it: a
    /// single drafter's catch-up is weighed by the decoder through ``catchUpTokens(context:)``.
    func setCatchUpGate(_ gate: ((Int) -> Bool)?)
    /// Drafters made of several sources that the cost model should weigh apart (a chain's steps: a
    /// free prompt lookup and a costly draft model accept at different rates): how many there are.
    /// The default is 1 (the drafter is one source).
    var sourceCount: Int { get }
    /// The source whose proposal the last draft was (an index below ``sourceCount``), nil when it
    /// proposed nothing. The default is 0.
    var lastSource: Int? { get }
    /// For drafters with several sources: the next rounds' plan of each source, one per source (the
    /// decoder sets them each round from a cost model per source); nil drafts every source up to the
    /// round's `maxTokens` under the common gate of ``setCatchUpGate(_:)``. The default ignores it.
    func setSourcePlans(_ plans: [SourcePlan]?)
}

/// One source's part of a round (see ``Drafter/setSourcePlans(_:)``).
public struct SourcePlan {
    /// Most tokens the source may draft (for a tree, its depth); 0: it sits the round out.
    public var length: Int
    /// Whether the source's cost model planned this round as a probe.
    public var probe: Bool
    /// Whether a catch-up of n tokens pays for this source (nil: always).
    public var catchUpGate: ((Int) -> Bool)?

    /// A plan of at most `length` tokens; `catchUpGate` nil allows any catch-up.
    public init(length: Int, probe: Bool = false, catchUpGate: ((Int) -> Bool)? = nil) {
        self.length = length
        self.probe = probe
        self.catchUpGate = catchUpGate
    }
}

extension Drafter {
    public func draftTree(context: [Int32], budget: TreeBudget, sampling: SamplingParameters) throws -> Draft {
        try draft(context: context, maxTokens: min(budget.maxDepth, budget.maxNodes), sampling: sampling)
    }
    public func accepted(context: [Int32], path: [Int]) { accepted(context: context, acceptedCount: path.count) }
    public var draftsTrees: Bool { false }
    public func catchUpTokens(context: [Int32]) -> Int { 0 }
    public func setCatchUpGate(_ gate: ((Int) -> Bool)?) {}
    public var sourceCount: Int { 1 }
    public var lastSource: Int? { 0 }
    public func setSourcePlans(_ plans: [SourcePlan]?) {}

    /// The most tokens this drafter may draft as one source of a composed drafter in a round of
    /// `length` tokens: its `plan`'s length (the round's without a plan), or 0 when a catch-up gate (the
    /// plan's, else the common `gate` of ``setCatchUpGate(_:)``) refuses its catch-up. A drafter that
    /// needs no catch-up is never refused.
    func allowedLength(_ length: Int, plan: SourcePlan?, gate: ((Int) -> Bool)?, context: [Int32]) -> Int {
        let n = min(length, plan?.length ?? length)
        guard n > 0 else { return 0 }
        guard let gate = plan.map({ $0.catchUpGate }) ?? gate else { return n }
        let catchUp = catchUpTokens(context: context)
        return catchUp == 0 || gate(catchUp) ? n : 0
    }
}

/// ``trieDraft(_:budget:)`` with scores: a node's score is the share of the continuations that pass
/// through it (continuations cut by the budget still count for the nodes they reach).
public func scoredTrie(_ continuations: [[Int32]], budget: TreeBudget) -> Draft {
    var draft = trieDraft(continuations, budget: budget)
    guard !draft.tokens.isEmpty else { return draft }
    var counts = [Int](repeating: 0, count: draft.tokens.count)
    let children = draft.children
    for continuation in continuations {
        var row = 0
        for token in continuation {
            guard let node = children[row].first(where: { draft.tokens[$0] == token }) else { break }
            counts[node] += 1
            row = node + 1
        }
    }
    draft.scores = counts.map { Float($0) / Float(continuations.count) }
    return draft
}

/// Builds a ``Draft`` tree from candidate continuations (model-free drafters: prompt lookup's several
/// matches, a suffix tree's branches): the continuations are merged into a trie (shared prefixes are
/// one path), in the given order, until `budget.maxNodes` nodes; each path is cut at `budget.maxDepth`,
/// and a node gets at most `budget.maxWidth` children. Nodes are numbered parents first.
public func trieDraft(_ continuations: [[Int32]], budget: TreeBudget) -> Draft {
    var tokens: [Int32] = []
    var parents: [Int] = []
    var childCount: [Int: Int] = [:]          // node (−1: the root) → children so far
    var edges: [Int64: Int] = [:]             // (parent + 1) << 32 | token → node
    outer: for continuation in continuations {
        var parent = -1
        for token in continuation.prefix(budget.maxDepth) {
            let key = Int64(parent + 1) << 32 | Int64(UInt32(bitPattern: token))
            if let node = edges[key] { parent = node; continue }
            guard tokens.count < budget.maxNodes else { break outer }
            guard childCount[parent, default: 0] < budget.maxWidth else { break }
            childCount[parent, default: 0] += 1
            tokens.append(token)
            parents.append(parent)
            edges[key] = tokens.count - 1
            parent = tokens.count - 1
        }
    }
    return Draft(tokens: tokens, parents: parents)
}

/// One drafted position of a model drafter, from the logits `row` of its last evaluated token: qᵢ
/// (`Sampler.distribution`, a point mass on the argmax when greedy; over the head's tokens when the
/// row comes from a trimmed head) and the token (the argmax, or a draw from qᵢ with `rng`). Nil when
/// `minProbability` > 0 and the drafter's confidence (greedy: softmax of the row; sampling: the
/// largest probability of qᵢ) is below it: the draft ends before this token.
func nextDraftToken(_ row: UnsafeBufferPointer<Float>, sampling: SamplingParameters, head: TrimmedHead?,
                    minProbability: Float, rng: inout SplitMix64) -> (token: Int32, q: TokenDistribution)? {
    let raw = Sampler.distribution(row, sampling)
    let q = head.map { raw.mapped(through: $0.tokens) } ?? raw
    if minProbability > 0 {
        let confidence = sampling.isGreedy ? Sampler.topProbability(row) : (q.probabilities.max() ?? 0)
        if confidence < minProbability { return nil }
    }
    let token = sampling.isGreedy ? q.tokens[0] : q.draw(Float(rng.next() >> 40) / Float(1 << 24))
    return (token, q)
}

/// The length of the longest common prefix of `a` and `b`.
func commonPrefixLength(_ a: [Int32], _ b: [Int32]) -> Int {
    let n = min(a.count, b.count)
    var i = 0
    while i < n && a[i] == b[i] { i += 1 }
    return i
}
