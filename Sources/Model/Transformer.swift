import SpecDecGGUF
import SpecDecKernels
import Foundation

/// A view of the logits written by the latest ``Transformer/forward(_:logits:)``.
///
/// Valid until the next call of `forward` on the same transformer.
public struct Logits {
    /// [rows, vocabularySize]
    public let base: UnsafePointer<Float>
    /// Number of rows (positions with logits).
    public let rows: Int
    /// Vocabulary size.
    public let vocabularySize: Int

    /// The logits of row `i`.
    public subscript(_ i: Int) -> UnsafeBufferPointer<Float> {
        precondition(i >= 0 && i < rows)
        return UnsafeBufferPointer(start: base + i * vocabularySize, count: vocabularySize)
    }

    /// A copy of row `i`.
    public func row(_ i: Int) -> [Float] { Array(self[i]) }
}

/// Which positions of a batch need logits.
public enum LogitsSelection: Sendable {
    /// Only the last position (prefill).
    case last
    /// Every position (verification of a draft).
    case all
}

/// A decoder-only transformer (Llama, Qwen2, Gemma 3) over a memory-mapped GGUF file,
/// with its own KV cache.
///
/// ```swift
/// let model = try Transformer(file: GGUFFile(path: path))
/// let logits = try model.forward(promptTokens, logits: .last)
/// model.truncate(to: 10)          // roll back to the first 10 positions
/// ```
public final class Transformer: @unchecked Sendable {
    /// Hyper-parameters.
    public let config: ModelConfig
    /// The file the weights are mapped from (kept alive while the model lives).
    public let file: GGUFFile
    /// The KV cache.
    public let cache: KVCache
    /// Threads used by the kernels.
    public let pool: ThreadPool
    let weights: ModelWeights
    /// Owner of the repacked weight copies (nil in exact mode).
    let packedWeights: PackedWeights?
    let matmul: MatMul
    /// The kernel set of every matrix product and vector helper of this model (``KernelSet/active``
    /// unless given); weights are packed for it.
    public let kernels: KernelSet
    var scratch: Scratch
    /// When set, forward passes add their wall time by part to it (a few dozen clock reads per layer).
    public var profile: ForwardProfile?

    /// Loads a model. `contextLength` defaults to min(trained context, 4096); `threads` to the core count.
    /// `exactMatmul` uses float activations and dequantized weights in every matrix product (slow;
    /// for comparisons with a float reference). `kernels` must be a set this CPU supports.
    public init(file: GGUFFile, contextLength: Int? = nil, threads: Int? = nil, exactMatmul: Bool = false,
                kernels: KernelSet = .active) throws {
        guard kernels.isSupported else { throw ModelError.unsupportedKernels("\(kernels)") }
        self.kernels = kernels
        let config = try ModelConfig(gguf: file)
        self.config = config
        self.file = file
        let ctx = contextLength ?? min(config.trainedContextLength, 4096)
        guard ctx > 0 else { throw ModelError.badHyperparameter("context length \(ctx)") }
        pool = ThreadPool(threads: threads ?? ProcessInfo.processInfo.activeProcessorCount)
        matmul = MatMul(pool: pool)
        matmul.backend = kernels
        if exactMatmul { matmul.exact = true }
        // Exact mode (the argument or SPECDEC_EXACT_MATMUL=1) reads only the GGUF layout: no packed copies.
        packedWeights = matmul.exact ? nil : PackedWeights()
        weights = try ModelWeights(file: file, config: config, packed: packedWeights, kernels: kernels, pool: pool)
        cache = try KVCache(layerCount: config.layerCount, capacity: ctx, kvDim: config.kvHeadCount * config.headDim)
        scratch = Scratch(config: config, batch: 1, context: ctx)
    }

    /// A second model over the same weights with its own KV cache, scratch buffers and threads (a server
    /// slot): the weights (and their packed copies) are shared, never copied, and the two models may run
    /// forwards at the same time. `contextLength` and `threads` default to `other`'s.
    public init(sharingWeightsOf other: Transformer, contextLength: Int? = nil, threads: Int? = nil) throws {
        kernels = other.kernels
        config = other.config
        file = other.file
        let ctx = contextLength ?? other.contextLength
        guard ctx > 0 else { throw ModelError.badHyperparameter("context length \(ctx)") }
        pool = ThreadPool(threads: threads ?? other.pool.threadCount)
        matmul = MatMul(pool: pool)
        matmul.backend = kernels
        matmul.exact = other.matmul.exact
        packedWeights = other.packedWeights
        weights = other.weights
        cache = try KVCache(layerCount: config.layerCount, capacity: ctx, kvDim: config.kvHeadCount * config.headDim)
        scratch = Scratch(config: config, batch: 1, context: ctx)
    }

    /// Bytes of weight matrices one decoded token reads: every layer's projections and the output
    /// layer (the token embedding contributes one row, not counted). Decoding is bound by streaming
    /// these bytes from memory once per token.
    public var matrixBytesPerToken: Int {
        func bytes(_ w: WeightMatrix) -> Int { w.rows * w.rowBytes }
        var total = bytes(weights.output)
        for l in weights.layers {
            total += bytes(l.wq) + bytes(l.wk) + bytes(l.wv) + bytes(l.wo) + bytes(l.wGate) + bytes(l.wUp) + bytes(l.wDown)
        }
        return total
    }

    /// Bytes of weight matrices of each sublayer of layer `l` that one decoded token reads:
    /// attention (Q, K, V and output projections) and feed-forward (gate, up, down).
    public func sublayerBytes(layer l: Int) -> (attention: Int, feedForward: Int) {
        func bytes(_ w: WeightMatrix) -> Int { w.rows * w.rowBytes }
        let w = weights.layers[l]
        return (bytes(w.wq) + bytes(w.wk) + bytes(w.wv) + bytes(w.wo), bytes(w.wGate) + bytes(w.wUp) + bytes(w.wDown))
    }

    /// Bytes of the full output layer.
    public var outputBytes: Int { weights.output.rows * weights.output.rowBytes }

    /// The weight bytes a token decoded with `skip` and `head` reads, relative to a full forward
    /// (the cost model of self-speculative and trimmed-head drafting: decoding streams the weights).
    public func relativeCost(skip: LayerSkip?, head: TrimmedHead? = nil) -> Double {
        var total = head?.byteCount ?? outputBytes
        let flags = skip?.flags()
        for l in 0..<config.layerCount {
            let b = sublayerBytes(layer: l)
            if flags?.attention[l] != true { total += b.attention }
            if flags?.feedForward[l] != true { total += b.feedForward }
        }
        return Double(total) / Double(max(1, matrixBytesPerToken))
    }

    /// Convenience: opens `path` and loads it.
    public convenience init(path: String, contextLength: Int? = nil, threads: Int? = nil,
                            kernels: KernelSet = .active) throws {
        try self.init(file: GGUFFile(path: path), contextLength: contextLength, threads: threads, kernels: kernels)
    }

    /// Number of positions in the cache.
    public var position: Int { cache.count }
    /// Maximum positions.
    public var contextLength: Int { cache.capacity }

    /// Rolls the cache back to its first `length` positions.
    public func truncate(to length: Int) {
        cache.truncate(to: length)
        if slotParents.count > max(0, cache.count - treeBase) { slotParents.removeSubrange(max(0, cache.count - treeBase)...) }
    }

    /// Empties the cache.
    public func reset() {
        cache.reset()
        slotParents = []
    }

    /// Evaluates `tokens` at positions `position ..< position + tokens.count`, appends their keys and
    /// values to the cache, and returns logits for the selected positions.
    ///
    /// Attention is causal within the batch. Throws before changing any state when the tokens do not
    /// fit the context or are outside the vocabulary.
    ///
    /// `skip` leaves sublayers out (self-speculative drafting; a skipped attention sublayer writes no
    /// keys or values at these positions); `head` computes the logits of a subset of the vocabulary
    /// only (row `i` is token `head.tokens[i]`).
    public func forward(_ tokens: [Int32], logits selection: LogitsSelection = .all, skip: LayerSkip? = nil,
                        head: TrimmedHead? = nil) throws -> Logits {
        try tokens.withUnsafeBufferPointer { try forward(tokens: $0, logits: selection, skip: skip, head: head) }
    }

    /// Evaluates a **token tree** in one batch: `parents[i]` is the batch row of token i's parent
    /// (`parents[i] < i`), or −1 for a token that continues the cached context directly. Token i is
    /// stored in cache slot `position + i`, gets the RoPE position `position + depth(i)` (a root has
    /// depth 0), and attends to the cached context and to its own ancestors only (tree attention,
    /// SpecInfer, arXiv:2305.09781). Row i's logits equal those of a forward of its root-to-node
    /// path. The cache then holds every node; ``keepTreePath(_:from:)`` keeps one path.
    ///
    /// A chain (`parents[i] == i − 1`, root first) is exactly ``forward(_:logits:skip:head:)``.
    /// Throws ``ModelError/badTree(_:)`` for a malformed `parents`, before changing any state.
    public func forward(_ tokens: [Int32], parents: [Int], logits selection: LogitsSelection = .all, skip: LayerSkip? = nil,
                        head: TrimmedHead? = nil) throws -> Logits {
        guard parents.count == tokens.count else {
            throw ModelError.badTree("\(parents.count) parent indices for \(tokens.count) tokens")
        }
        let start = cache.count
        for (i, p) in parents.enumerated() where p < -1 || p >= i {
            throw ModelError.badTree("token \(i) has parent \(p); a parent must be -1 or an earlier token")
        }
        if parents.enumerated().allSatisfy({ $0.element == $0.offset - 1 }) {
            return try forward(tokens, logits: selection, skip: skip, head: head)
        }
        return try forward(tokens, parentSlots: parents.map { $0 < 0 ? -1 : start + $0 }, treeStart: start,
                           logits: selection, skip: skip, head: head)
    }

    /// Grows a token tree whose nodes are cached after slot `treeStart` (a drafter expanding a tree
    /// depth by depth): `parentSlots[i]` is the cache slot of token i's parent, either a node evaluated
    /// by an earlier call with the same `treeStart` or an earlier token of this batch, or −1 for a
    /// token that continues the context `0 ..< treeStart` directly. Token i goes to slot
    /// `position + i`, gets the RoPE position `treeStart + depth`, and attends to the context and its
    /// ancestors. A `treeStart` equal to ``position`` starts a new tree. Throws
    /// ``ModelError/badTree(_:)`` before changing any state when a parent is not such a node.
    public func forward(_ tokens: [Int32], parentSlots: [Int], treeStart: Int, logits selection: LogitsSelection = .all,
                        skip: LayerSkip? = nil, head: TrimmedHead? = nil) throws -> Logits {
        let start = cache.count
        guard parentSlots.count == tokens.count else {
            throw ModelError.badTree("\(parentSlots.count) parent slots for \(tokens.count) tokens")
        }
        guard treeStart >= 0, treeStart <= start else { throw ModelError.badTree("tree start \(treeStart) is past the cache (\(start))") }
        let recorded = treeStart == start ? 0 : (treeBase == treeStart && treeBase + slotParents.count == start ? slotParents.count : -1)
        guard recorded >= 0 else {
            throw ModelError.badTree("slots \(treeStart) ..< \(start) are not nodes of a tree started at \(treeStart)")
        }
        for (i, p) in parentSlots.enumerated() where p != -1 && (p < treeStart || p >= start + i) {
            throw ModelError.badTree("token \(i) has parent slot \(p), outside the tree's nodes \(treeStart) ..< \(start + i)")
        }
        if recorded == 0 { slotParents = [] }
        treeBase = treeStart
        let all = slotParents + parentSlots
        let logits = try tokens.withUnsafeBufferPointer {
            try forward(tokens: $0, logits: selection, skip: skip, head: head, tree: (treeStart, all))
        }
        slotParents = all
        return logits
    }

    /// After a tree forward that started at cache position `start`: keeps the nodes `path` (batch
    /// rows of one root-to-node path, root first, so `path[j]` has depth j) by moving their keys and
    /// values to slots `start ..< start + path.count`, and drops every other node. Nothing is
    /// re-evaluated. Throws ``ModelError/badTree(_:)`` when `path` is not increasing or not in the cache.
    public func keepTreePath(_ path: [Int], from start: Int) throws {
        guard start >= 0, start <= cache.count else { throw ModelError.badPosition(start) }
        for (j, r) in path.enumerated() {
            guard r >= j, start + r < cache.count, j == 0 || r > path[j - 1] else {
                throw ModelError.badTree("path \(path) is not an increasing list of tree rows in the cache")
            }
            // When the tree's parents are recorded, the rows must form a root-to-node path.
            if treeBase == start, r < slotParents.count {
                let expected = j == 0 ? -1 : start + path[j - 1]
                guard slotParents[r] == expected else {
                    throw ModelError.badTree("path \(path): row \(r)'s parent is not row \(j == 0 ? -1 : path[j - 1])")
                }
            }
        }
        cache.keepRows(path, from: start)
        slotParents = []
    }

    /// Slots `treeBase ..< treeBase + slotParents.count` are tree nodes; their parent slots (−1: the context).
    private var treeBase = 0
    private var slotParents: [Int] = []

    /// One new token (the decode step): like `forward([token])` without building an array, so that
    /// a decode loop allocates nothing on the heap per token.
    public func forward(token: Int32, logits selection: LogitsSelection = .last, skip: LayerSkip? = nil,
                        head: TrimmedHead? = nil) throws -> Logits {
        try withUnsafeTemporaryAllocation(of: Int32.self, capacity: 1) { buffer in
            buffer[0] = token
            return try forward(tokens: UnsafeBufferPointer(buffer), logits: selection, skip: skip, head: head)
        }
    }

    /// `forward` over tokens in a buffer (valid for the duration of the call).
    public func forward(tokens: UnsafeBufferPointer<Int32>, logits selection: LogitsSelection = .all, skip: LayerSkip? = nil,
                        head: TrimmedHead? = nil) throws -> Logits {
        slotParents = []
        return try forward(tokens: tokens, logits: selection, skip: skip, head: head, tree: nil)
    }

    /// `tree`: the first tree slot and the parent slot of every tree slot from it (batch included).
    private func forward(tokens: UnsafeBufferPointer<Int32>, logits selection: LogitsSelection, skip: LayerSkip?,
                         head: TrimmedHead?, tree: (start: Int, parents: [Int])?) throws -> Logits {
        guard !tokens.isEmpty else { throw ModelError.emptyInput }
        if let skip, skip.layerCount != config.layerCount {
            throw ModelError.badHyperparameter("a skip set for \(skip.layerCount) layers given to a \(config.layerCount)-layer model")
        }
        if let head, head.owner != ObjectIdentifier(self) {
            throw ModelError.badHyperparameter("a trimmed output layer gathered from another model")
        }
        let start = cache.count
        guard start + tokens.count <= cache.capacity else {
            throw ModelError.contextOverflow(requested: start + tokens.count, capacity: cache.capacity)
        }
        for t in tokens where t < 0 || Int(t) >= config.vocabularySize {
            throw ModelError.tokenOutOfRange(token: t, vocabularySize: config.vocabularySize)
        }
        let n = tokens.count
        let forwardStart = DispatchTime.now().uptimeNanoseconds
        profile?.beginForward()
        defer { profile?.finishForward(nanoseconds: DispatchTime.now().uptimeNanoseconds - forwardStart) }
        if scratch.batch < n { scratch = Scratch(config: config, batch: max(n, scratch.batch * 2), context: cache.capacity) }
        let c = config
        let d = c.embeddingLength
        let s = scratch

        // Embeddings: x[b] = embed(tokens[b]) * scale            x: [n, d]
        let emb = weights.tokenEmbedding
        let rowBytes = emb.type.byteCount(elements: d) ?? 0
        for (b, t) in tokens.enumerated() {
            dequantizeRow(emb.type, emb.data + Int(t) * rowBytes, s.x + b * d, count: d)
            if c.embeddingScale != 1 { scale(s.x + b * d, d, c.embeddingScale) }
        }
        var depths: [Int]? = nil
        var ropeStart = start
        if let tree {
            // Per row: its depth, and the cache slots it attends to (the context, then its path).
            let base = tree.start
            var depth = [Int](repeating: 0, count: n)
            s.treeRows.removeAll(keepingCapacity: true)
            s.treeRowStart.removeAll(keepingCapacity: true)
            var path: [Int] = []
            for i in 0..<n {
                s.treeRowStart.append(s.treeRows.count)
                s.treeRows.append(contentsOf: 0..<base)
                path.removeAll(keepingCapacity: true)
                var slot = start + i
                while slot >= 0 { path.append(slot); slot = tree.parents[slot - base] }
                depth[i] = path.count - 1
                s.treeRows.append(contentsOf: path.reversed())
            }
            s.treeRowStart.append(s.treeRows.count)
            depths = depth
            ropeStart = base
        }
        s.prepareRoPE(config: c, start: ropeStart, count: n, depths: depths)

        let skipped = skip.map { $0.flags() }
        for l in 0..<c.layerCount {
            if skipped?.attention[l] != true { attentionBlock(layer: l, start: start, count: n, depths: depths, ropeStart: ropeStart) }
            if skipped?.feedForward[l] != true { feedForwardBlock(layer: l, count: n) }
        }
        cache.count = start + n

        // Final norm and output projection for the selected rows.
        let firstRow = selection == .all ? 0 : n - 1
        let rows = n - firstRow
        let output = head?.matrix ?? weights.output
        let vocab = output.rows
        if s.logitsCapacity < rows * vocab { s.growLogits(rows * vocab) }
        timed(.outputLayer) {
            for b in firstRow..<n { rmsNormalize(s.x + b * d, weights.outputNorm, s.xb + (b - firstRow) * d, d, c.rmsEpsilon) }
            matmul.multiply(output, input: s.xb, inStride: d, batch: rows, output: s.logits, outStride: vocab)
            if c.finalLogitSoftcap > 0 {
                let cap = c.finalLogitSoftcap
                for i in 0..<(rows * vocab) { s.logits[i] = cap * tanhf(s.logits[i] / cap) }
            }
        }
        return Logits(base: s.logits, rows: rows, vocabularySize: vocab)
    }

    /// Runs `body`, adding its wall time to `part` when profiling.
    @inline(__always)
    private func timed(_ part: ForwardProfile.Part, _ body: () -> Void) {
        guard profile != nil else { return body() }
        let t0 = DispatchTime.now().uptimeNanoseconds
        body()
        profile?.add(part, nanoseconds: DispatchTime.now().uptimeNanoseconds - t0)
    }

    private func attentionBlock(layer l: Int, start: Int, count n: Int, depths: [Int]?, ropeStart: Int) {
        let c = config
        let w = weights.layers[l]
        let s = scratch
        let cache = self.cache
        let d = c.embeddingLength
        let hd = c.headDim
        let qDim = c.headCount * hd
        let kvDim = c.kvHeadCount * hd
        for b in 0..<n { rmsNormalize(s.x + b * d, w.attnNorm, s.xb + b * d, d, c.rmsEpsilon) }
        let sliding = c.isSlidingLayer(l)
        timed(.attentionProjections) {
            // one dispatch, the input quantized once per weight format
            matmul.multiply(.init(w.wq, output: s.q, outStride: qDim), .init(w.wk, output: s.k, outStride: kvDim),
                            .init(w.wv, output: s.v, outStride: kvDim), input: s.xb, inStride: d, batch: n)
            for b in 0..<n {
                let q = s.q + b * qDim, k = s.k + b * kvDim, v = s.v + b * kvDim
                if let bq = w.bq { addInPlace(q, bq, qDim) }
                if let bk = w.bk { addInPlace(k, bk, kvDim) }
                if let bv = w.bv { addInPlace(v, bv, kvDim) }
                if let qn = w.qNorm { for h in 0..<c.headCount { rmsNormalize(q + h * hd, qn, q + h * hd, hd, c.rmsEpsilon) } }
                if let kn = w.kNorm { for h in 0..<c.kvHeadCount { rmsNormalize(k + h * hd, kn, k + h * hd, hd, c.rmsEpsilon) } }
                let (cosT, sinT) = s.rope(row: b, local: sliding)
                for h in 0..<c.headCount { applyRoPE(q + h * hd, cosT, sinT, hd, c.ropeStyle) }
                for h in 0..<c.kvHeadCount { applyRoPE(k + h * hd, cosT, sinT, hd, c.ropeStyle) }
                cache.keyPointer(layer: l, position: start + b).update(from: k, count: kvDim)
                cache.valuePointer(layer: l, position: start + b).update(from: v, count: kvDim)
            }
        }
        // Attention: one task per (row, key/value head, part of its query-head group). The heads of a
        // group share their key and value rows; the group is split only when there are fewer units than
        // threads (single-token decode). A head's result does not depend on the split.
        let heads = c.headCount
        let kvHeads = c.kvHeadCount
        let group = heads / kvHeads
        let window = sliding ? c.slidingWindow : 0
        let cap = cache.capacity
        let units = n * kvHeads
        let parts = max(1, min(group, (pool.threadCount + units - 1) / units))
        let perPart = (group + parts - 1) / parts
        timed(.attention) {
            if let depths {
                // A tree: row b attends to the slots in its list (context, then path), the last
                // `window` positions of it on a sliding layer.
                s.treeRows.withUnsafeBufferPointer { table in
                    let rowStart = s.treeRowStart
                    pool.run(tasks: units * parts) { task in
                        let unit = task / parts, part = task % parts
                        let b = unit / kvHeads, g = unit % kvHeads
                        let h0 = g * group + part * perPart
                        let count = min(perPart, (g + 1) * group - h0)
                        if count <= 0 { return }
                        let pos = ropeStart + depths[b]
                        let m = window > 0 ? min(pos + 1, window) : pos + 1
                        let kvOff = g * hd
                        attend(queries: s.q + b * qDim + h0 * hd, queryStride: hd, heads: count,
                               keys: cache.keyPointer(layer: l, position: 0) + kvOff,
                               values: cache.valuePointer(layer: l, position: 0) + kvOff, rowStride: cache.kvDim,
                               rows: table.baseAddress! + rowStart[b + 1] - m, positions: m, headDim: hd, scale: c.attentionScale,
                               scores: s.scores + (b * heads + h0) * cap, output: s.attn + b * qDim + h0 * hd, outputStride: hd,
                               kernels: kernels)
                    }
                }
                return
            }
            pool.run(tasks: units * parts) { task in
                let unit = task / parts, part = task % parts
                let b = unit / kvHeads, g = unit % kvHeads
                let h0 = g * group + part * perPart
                let count = min(perPart, (g + 1) * group - h0)
                if count <= 0 { return }
                let pos = start + b
                let first = window > 0 ? max(0, pos - window + 1) : 0
                let kvOff = g * hd
                attend(queries: s.q + b * qDim + h0 * hd, queryStride: hd, heads: count,
                       keys: cache.keyPointer(layer: l, position: first) + kvOff,
                       values: cache.valuePointer(layer: l, position: first) + kvOff, rowStride: cache.kvDim,
                       positions: pos - first + 1, headDim: hd, scale: c.attentionScale,
                       scores: s.scores + (b * heads + h0) * cap, output: s.attn + b * qDim + h0 * hd, outputStride: hd,
                       kernels: kernels)
            }
        }
        timed(.attentionOutput) {
            matmul.multiply(w.wo, input: s.attn, inStride: qDim, batch: n, output: s.xb, outStride: d)
            for b in 0..<n {
                if let pn = w.postAttnNorm { rmsNormalize(s.xb + b * d, pn, s.xb + b * d, d, c.rmsEpsilon) }
                addInPlace(s.x + b * d, s.xb + b * d, d)
            }
        }
    }

    private func feedForwardBlock(layer l: Int, count n: Int) {
        let c = config
        let w = weights.layers[l]
        let s = scratch
        let d = c.embeddingLength
        let f = c.feedForwardLength
        for b in 0..<n { rmsNormalize(s.x + b * d, w.ffnNorm, s.xb + b * d, d, c.rmsEpsilon) }
        timed(.feedForwardUp) {
            matmul.multiply(.init(w.wGate, output: s.gate, outStride: f), .init(w.wUp, output: s.up, outStride: f),
                            input: s.xb, inStride: d, batch: n)
        }
        timed(.activation) {
            if c.architecture == .gemma3 {
                geluGate(s.gate, s.up, n * f, pool: pool, kernels: kernels)
            } else {
                siluGate(s.gate, s.up, n * f, pool: pool, kernels: kernels)
            }
        }
        timed(.feedForwardDown) {
            matmul.multiply(w.wDown, input: s.gate, inStride: f, batch: n, output: s.xb, outStride: d)
            for b in 0..<n {
                if let pn = w.postFFNNorm { rmsNormalize(s.xb + b * d, pn, s.xb + b * d, d, c.rmsEpsilon) }
                addInPlace(s.x + b * d, s.xb + b * d, d)
            }
        }
    }
}
