/// A suffix trie of bounded depth with occurrence counts, the data structure of SuffixDecoding
/// (Oliaro et al. 2024, arXiv:2411.04975).
///
/// For every position i of every inserted document it holds the path `doc[i ..< i + maxDepth]`
/// (shorter at the end of the document); a node's ``count(of:)`` is how many times its path occurs.
/// Documents are inserted one token at a time: the tree keeps the *active* nodes, those of the
/// current document's last `maxDepth − 1` suffixes, and ``extend(_:)`` moves each of them (and the
/// root) one edge down the new token, so appending a token costs O(maxDepth) whatever the size of
/// the tree. Each node also keeps its most frequent child (ties: lower token id), so following the
/// most frequent continuation costs O(1) per token.
///
/// ```swift
/// var tree = SuffixTree(maxDepth: 8)
/// tree.insert(document: [1, 2, 3, 1, 2, 4, 1, 2, 3])
/// tree.count(of: [1, 2])                                   // 3
/// if let match = tree.longestMatch(suffixOf: [7, 1, 2]),  // [1, 2]: length 2
///    let next = tree.mostFrequentChild(of: match.node) {
///     print(next.token, next.share)                        // 3, 2/3 (followed by 3, 4, 3)
/// }
/// ```
public struct SuffixTree: Sendable {
    /// Node id of the root (the empty path).
    public static let root: Int32 = 0
    /// The longest path kept (positions further than this from a start are not recorded).
    public let maxDepth: Int

    /// Per node: the token on the edge from its parent (−1 for the root).
    private var edgeToken: [Int32] = [-1]
    /// Per node: occurrences of its path.
    private var occurrences: [Int32] = [0]
    /// Per node: occurrences followed by a further token (the sum of its children's counts).
    private var continuations: [Int32] = [0]
    /// Per node: its most frequent child (ties: lower token id), −1 when it has none.
    private var best: [Int32] = [-1]
    /// (parent << 32 | token) → child.
    private var edges: [UInt64: Int32] = [:]
    /// Per node: its first child and its next sibling (−1: none), so a node's children can be listed.
    private var firstChild: [Int32] = [-1]
    private var nextSibling: [Int32] = [-1]
    /// Nodes of the current document's suffixes: `active[j]` is the path of its last j + 1 tokens.
    private var active: [Int32] = []

    /// Number of nodes, the root included (the memory measure of the tree).
    public var nodeCount: Int { edgeToken.count }
    /// Tokens inserted so far (over every document).
    public private(set) var insertedTokens = 0

    /// An empty tree keeping paths of at most `maxDepth` tokens (≥ 1).
    public init(maxDepth: Int = 64) {
        precondition(maxDepth >= 1, "a suffix tree needs a depth of at least 1")
        self.maxDepth = maxDepth
    }

    /// Empties the tree.
    public mutating func removeAll() {
        self = SuffixTree(maxDepth: maxDepth)
    }

    // MARK: Building

    /// Starts a new document: later tokens are not joined to the earlier ones.
    public mutating func startDocument() {
        active.removeAll(keepingCapacity: true)
    }

    /// Appends `token` to the current document: every suffix of the document ending with it is
    /// counted once more. O(maxDepth).
    public mutating func extend(_ token: Int32) {
        insertedTokens += 1
        occurrences[0] += 1
        // Suffixes of length j + 2 come from active[j]; the longest first, so that each active node
        // is read before its slot is overwritten. Nodes at maxDepth are counted but not kept active.
        let n = active.count
        let keep = min(n + 1, maxDepth - 1)
        if keep > n { active.append(-1) }
        var j = n - 1
        while j >= 0 {
            let c = incrementChild(of: active[j], token: token)
            if j + 1 < keep { active[j + 1] = c }
            j -= 1
        }
        let first = incrementChild(of: Self.root, token: token)
        if keep > 0 { active[0] = first }
    }

    /// Inserts a whole document (``startDocument()`` then ``extend(_:)`` for each token).
    public mutating func insert(document: some Sequence<Int32>) {
        startDocument()
        for t in document { extend(t) }
    }

    private mutating func incrementChild(of parent: Int32, token: Int32) -> Int32 {
        let key = Self.key(parent, token)
        let child: Int32
        if let c = edges[key] {
            child = c
        } else {
            child = Int32(edgeToken.count)
            edgeToken.append(token)
            occurrences.append(0)
            continuations.append(0)
            best.append(-1)
            edges[key] = child
            firstChild.append(-1)
            nextSibling.append(firstChild[Int(parent)])
            firstChild[Int(parent)] = child
        }
        occurrences[Int(child)] += 1
        continuations[Int(parent)] += 1
        // Counts only grow, so only the incremented child can overtake the best one.
        let b = best[Int(parent)]
        if b < 0 || occurrences[Int(child)] > occurrences[Int(b)]
            || (occurrences[Int(child)] == occurrences[Int(b)] && token < edgeToken[Int(b)]) {
            best[Int(parent)] = child
        }
        return child
    }

    private static func key(_ parent: Int32, _ token: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: parent)) << 32 | UInt64(UInt32(bitPattern: token))
    }

    // MARK: Queries

    /// The child of `node` along `token`, if any.
    public func child(of node: Int32, token: Int32) -> Int32? {
        edges[Self.key(node, token)]
    }

    /// The node whose path is `path`, if the path occurs.
    public func node(for path: some Sequence<Int32>) -> Int32? {
        var n = Self.root
        for t in path {
            guard let c = child(of: n, token: t) else { return nil }
            n = c
        }
        return n
    }

    /// How many times `path` occurs (0 when it does not; the empty path counts every token).
    public func count(of path: some Sequence<Int32>) -> Int {
        node(for: path).map { Int(occurrences[Int($0)]) } ?? 0
    }

    /// The longest suffix of `context`, at most `maxDepth − 1` tokens (and at most `maxLength`),
    /// that is a path of the tree with at least one continuation, with its node.
    public func longestMatch(suffixOf context: some BidirectionalCollection<Int32>,
                             maxLength: Int = .max) -> (node: Int32, length: Int)? {
        let limit = min(maxDepth - 1, maxLength, context.count)
        guard limit >= 1 else { return nil }
        for length in stride(from: limit, through: 1, by: -1) {
            if let n = node(for: context.suffix(length)), continuations[Int(n)] > 0 {
                return (n, length)
            }
        }
        return nil
    }

    /// The most frequent child of `node` (ties: lower token id), its token, and its share of the
    /// node's continuations (the empirical probability of that token after the node's path).
    public func mostFrequentChild(of node: Int32) -> (node: Int32, token: Int32, share: Float)? {
        let b = best[Int(node)]
        guard b >= 0 else { return nil }
        return (b, edgeToken[Int(b)], Float(occurrences[Int(b)]) / Float(continuations[Int(node)]))
    }

    /// Every child of `node` with its token and share of the node's continuations, most frequent
    /// first (ties: lower token id).
    public func children(of node: Int32) -> [(node: Int32, token: Int32, share: Float)] {
        let total = Float(max(1, continuations[Int(node)]))
        var result: [(node: Int32, token: Int32, share: Float)] = []
        var c = firstChild[Int(node)]
        while c >= 0 {
            result.append((c, edgeToken[Int(c)], Float(occurrences[Int(c)]) / total))
            c = nextSibling[Int(c)]
        }
        return result.sorted { $0.share != $1.share ? $0.share > $1.share : $0.token < $1.token }
    }

    /// Every path of the tree with its count (the root excluded), for tests and debugging.
    public func allPaths() -> [[Int32]: Int] {
        var children: [Int32: [Int32]] = [:]
        for (key, child) in edges { children[Int32(bitPattern: UInt32(key >> 32)), default: []].append(child) }
        var result: [[Int32]: Int] = [:]
        var stack: [(Int32, [Int32])] = [(Self.root, [])]
        while let (n, path) = stack.popLast() {
            for c in children[n] ?? [] {
                let p = path + [edgeToken[Int(c)]]
                result[p] = Int(occurrences[Int(c)])
                stack.append((c, p))
            }
        }
        return result
    }
}
