/// SuffixDecoding (Oliaro et al. 2024, arXiv:2411.04975): model-free drafting from suffix trees
/// over the current request and over earlier requests. Drafts carry no distributions (point masses).
///
/// Two ``SuffixTree``s are kept:
/// - the *per-request* tree over the request's prompt and committed output, extended incrementally
///   as tokens are committed (O(maxDepth) per token);
/// - the *global* tree over earlier requests' prompts and outputs, bounded to `maxGlobalNodes`
///   nodes: when a new document makes it larger, the oldest documents are evicted whole and the
///   tree is rebuilt from the newest ones that fit in three quarters of the bound (so that rebuilds
///   are rare).
///
/// To draft, the longest suffix of the context (at most maxDepth − 1 tokens) that occurs with a
/// continuation is looked up in both trees; the longer match wins (ties: the per-request tree).
/// From its node the most frequent child is followed greedily, up to `maxTokens`, stopping when the
/// child's share of the node's continuations is below `minConfidence`. When a path ends (tree depth
/// or end of a document) the match is looked up again for the context plus the tokens drafted so far.
///
/// ```swift
/// let drafter = try SuffixTreeDrafter(maxDepth: 32, maxGlobalNodes: 1 << 20)
/// let decoder = try SpeculativeDecoder(target: target, drafter: drafter, verifier: GreedyVerifier(),
///                                      sampling: SamplingParameters(), draftLength: 8)
/// ```
public final class SuffixTreeDrafter: Drafter {
    public let name = "suffix-tree"
    /// Depth of both trees: the longest path matched plus continued (≥ 2).
    public let maxDepth: Int
    /// Bound on the global tree's nodes (0: no global tree).
    public let maxGlobalNodes: Int
    /// A drafted token's minimum share of its parent's continuations.
    public let minConfidence: Float
    /// The tree over the current request's committed tokens.
    public private(set) var requestTree: SuffixTree
    /// The tree over ``documents``.
    public private(set) var globalTree: SuffixTree
    /// Earlier requests (prompt + output) held by the global tree, oldest first.
    public private(set) var documents: [[Int32]] = []
    /// Documents evicted from the global tree so far.
    public private(set) var evictedDocuments = 0
    /// The tokens in the per-request tree, in order.
    private var tracked: [Int32] = []

    /// Throws ``SpeculationError/invalidParameter(_:)`` unless maxDepth ≥ 2, maxGlobalNodes ≥ 0 and
    /// 0 ≤ minConfidence ≤ 1.
    public init(maxDepth: Int = 64, maxGlobalNodes: Int = 1 << 20, minConfidence: Float = 0.1) throws {
        guard maxDepth >= 2 else { throw SpeculationError.invalidParameter("suffix tree depth must be >= 2, got \(maxDepth)") }
        guard maxGlobalNodes >= 0 else {
            throw SpeculationError.invalidParameter("suffix tree max global nodes must be >= 0, got \(maxGlobalNodes)")
        }
        guard minConfidence >= 0, minConfidence <= 1 else {
            throw SpeculationError.invalidParameter("suffix tree min confidence must be in [0, 1], got \(minConfidence)")
        }
        self.maxDepth = maxDepth
        self.maxGlobalNodes = maxGlobalNodes
        self.minConfidence = minConfidence
        requestTree = SuffixTree(maxDepth: maxDepth)
        globalTree = SuffixTree(maxDepth: maxDepth)
    }

    public func begin(prompt: [Int32]) throws {
        requestTree.removeAll()
        tracked = []
        sync(prompt)
    }

    public func draft(context: [Int32], maxTokens: Int, sampling: SamplingParameters) throws -> Draft {
        sync(context)
        guard maxTokens > 0 else { return .empty }
        var proposal: [Int32] = []
        var window = Array(context.suffix(maxDepth - 1))  // what the next match is looked up for
        rounds: while proposal.count < maxTokens {
            // Match: the longer of the two trees' matches (ties: the per-request tree).
            let local = requestTree.longestMatch(suffixOf: window)
            let global = globalTree.longestMatch(suffixOf: window)
            let useGlobal = (global?.length ?? 0) > (local?.length ?? 0)
            guard let match = useGlobal ? global : local else { break }
            let tree = useGlobal ? globalTree : requestTree
            // Follow the most frequent continuation while it is confident enough.
            var node = match.node
            var progressed = false
            while proposal.count < maxTokens, let next = tree.mostFrequentChild(of: node) {
                if next.share < minConfidence { break rounds }
                proposal.append(next.token)
                window.append(next.token)
                node = next.node
                progressed = true
            }
            // The path ended: look the match up again for the extended window.
            guard progressed else { break }
            if window.count > maxDepth - 1 { window.removeFirst(window.count - (maxDepth - 1)) }
        }
        return Draft(tokens: proposal)
    }

    public func accepted(context: [Int32], acceptedCount: Int) {
        sync(context)
    }

    public var draftsTrees: Bool { true }

    /// SuffixDecoding's speculation tree: from the longest match (as for a chain), the most likely
    /// continuations are expanded best first by score, the product of the empirical shares along
    /// the path (each child's share of its parent's continuations, at least `minConfidence`), within
    /// the budget's nodes, depth and width.
    public func draftTree(context: [Int32], budget: TreeBudget, sampling: SamplingParameters) throws -> Draft {
        sync(context)
        guard budget.maxNodes > 0, budget.maxDepth > 0 else { return .empty }
        let window = Array(context.suffix(maxDepth - 1))
        let local = requestTree.longestMatch(suffixOf: window)
        let global = globalTree.longestMatch(suffixOf: window)
        let useGlobal = (global?.length ?? 0) > (local?.length ?? 0)
        guard let match = useGlobal ? global : local else { return .empty }
        let tree = useGlobal ? globalTree : requestTree
        var tokens: [Int32] = [], parents: [Int] = [], scores: [Float] = [], depths: [Int] = []
        var suffixNodes: [Int32] = []
        // Candidates (score, parent draft index, depth, suffix-tree node, token), best first.
        var frontier: [(score: Float, parent: Int, depth: Int, node: Int32, token: Int32)] = []
        func expand(_ node: Int32, parent: Int, score: Float, depth: Int) {
            guard depth < budget.maxDepth else { return }
            for c in tree.children(of: node).prefix(budget.maxWidth) where c.share >= minConfidence {
                frontier.append((score * c.share, parent, depth, c.node, c.token))
            }
        }
        expand(match.node, parent: -1, score: 1, depth: 0)
        while tokens.count < budget.maxNodes, !frontier.isEmpty {
            var bestIndex = 0
            for (j, f) in frontier.enumerated() where f.score > frontier[bestIndex].score { bestIndex = j }
            let f = frontier.remove(at: bestIndex)
            tokens.append(f.token); parents.append(f.parent); scores.append(f.score); depths.append(f.depth)
            suffixNodes.append(f.node)
            expand(f.node, parent: tokens.count - 1, score: f.score, depth: f.depth + 1)
        }
        return Draft(tokens: tokens, parents: parents, scores: scores)
    }

    /// Adds the request's prompt and output to the global tree and clears the per-request tree.
    public func end(context: [Int32]) {
        addDocument(context)
        requestTree.removeAll()
        tracked = []
    }

    /// Adds a document (an earlier request's prompt + output, or any reference text) to the global
    /// tree, evicting the oldest documents when the tree exceeds `maxGlobalNodes`.
    public func addDocument(_ document: [Int32]) {
        guard maxGlobalNodes > 0, !document.isEmpty else { return }
        documents.append(document)
        globalTree.insert(document: document)
        if globalTree.nodeCount > maxGlobalNodes { evict() }
    }

    /// Keeps the newest documents whose tree fits in 3/4 of the bound and rebuilds the global tree.
    private func evict() {
        let budget = max(1, maxGlobalNodes * 3 / 4)
        var tree = SuffixTree(maxDepth: maxDepth)
        var kept = 0
        for doc in documents.reversed() {
            tree.insert(document: doc)
            if tree.nodeCount > budget { break }
            kept += 1
        }
        evictedDocuments += documents.count - kept
        documents.removeFirst(documents.count - kept)
        if tree.nodeCount > budget {  // the last insertion overflowed: rebuild without it
            tree = SuffixTree(maxDepth: maxDepth)
            for doc in documents { tree.insert(document: doc) }
        }
        globalTree = tree
    }

    /// Brings the per-request tree up to `context`: extends it by the new tokens, or rebuilds it when
    /// `context` does not continue what it holds.
    private func sync(_ context: [Int32]) {
        if context.count < tracked.count || commonPrefixLength(tracked, context) < tracked.count {
            requestTree.removeAll()
            tracked = []
        }
        if tracked.isEmpty { requestTree.startDocument() }
        for t in context[tracked.count...] { requestTree.extend(t) }
        tracked = context
    }
}
