import Foundation

/// Activation buffers of one forward pass, allocated once per batch capacity so the decode loop
/// never allocates.
final class Scratch: @unchecked Sendable {
    let batch: Int
    let context: Int
    /// [batch, d] residual stream
    let x: UnsafeMutablePointer<Float>
    /// [batch, max(d, qDim)] normalized input / block output
    let xb: UnsafeMutablePointer<Float>
    /// [batch, heads*headDim]
    let q: UnsafeMutablePointer<Float>
    /// [batch, kvHeads*headDim]
    let k: UnsafeMutablePointer<Float>
    /// [batch, kvHeads*headDim]
    let v: UnsafeMutablePointer<Float>
    /// [batch, heads*headDim] attention output
    let attn: UnsafeMutablePointer<Float>
    /// [batch * heads, context] attention scores
    let scores: UnsafeMutablePointer<Float>
    /// [batch, ffn]
    let gate: UnsafeMutablePointer<Float>
    /// [batch, ffn]
    let up: UnsafeMutablePointer<Float>
    /// [batch, headDim/2] cos and sin for global and local RoPE bases
    let cosGlobal, sinGlobal, cosLocal, sinLocal: UnsafeMutablePointer<Float>
    /// [rows, vocab]
    private(set) var logits: UnsafeMutablePointer<Float>
    private(set) var logitsCapacity: Int
    let halfDim: Int
    private var owned: [UnsafeMutablePointer<Float>] = []

    init(config c: ModelConfig, batch: Int, context: Int) {
        self.batch = batch
        self.context = context
        let d = c.embeddingLength
        let qDim = c.headCount * c.headDim
        let kvDim = c.kvHeadCount * c.headDim
        halfDim = c.headDim / 2
        var owned: [UnsafeMutablePointer<Float>] = []
        func alloc(_ n: Int) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: max(n, 1))
            p.initialize(repeating: 0, count: max(n, 1))
            owned.append(p)
            return p
        }
        x = alloc(batch * d)
        xb = alloc(batch * max(d, qDim))
        q = alloc(batch * qDim)
        k = alloc(batch * kvDim)
        v = alloc(batch * kvDim)
        attn = alloc(batch * qDim)
        scores = alloc(batch * c.headCount * context)
        gate = alloc(batch * c.feedForwardLength)
        up = alloc(batch * c.feedForwardLength)
        cosGlobal = alloc(batch * halfDim)
        sinGlobal = alloc(batch * halfDim)
        cosLocal = alloc(batch * halfDim)
        sinLocal = alloc(batch * halfDim)
        logitsCapacity = c.vocabularySize
        logits = .allocate(capacity: logitsCapacity)
        self.owned = owned
    }

    deinit {
        for p in owned { p.deallocate() }
        logits.deallocate()
    }

    func growLogits(_ n: Int) {
        logits.deallocate()
        logits = .allocate(capacity: n)
        logitsCapacity = n
    }

    /// Per tree row, the cache slots it attends to (the context, then its root-to-node path), flat;
    /// ``treeRowStart`` has each row's offset (count + 1 entries). Reused between forwards.
    var treeRows: [Int] = []
    var treeRowStart: [Int] = []

    /// Fills the RoPE tables for positions start ..< start+count, or start + depths[b] when given.
    func prepareRoPE(config c: ModelConfig, start: Int, count: Int, depths: [Int]? = nil) {
        let hd = c.headDim
        for b in 0..<count {
            let pos = Float(start + (depths?[b] ?? b))
            for i in 0..<halfDim {
                let expo = Float(2 * i) / Float(hd)
                let g = pos / c.ropeScale * powf(c.ropeBase, -expo)
                cosGlobal[b * halfDim + i] = cosf(g)
                sinGlobal[b * halfDim + i] = sinf(g)
                let lth = pos * powf(c.ropeBaseLocal, -expo)
                cosLocal[b * halfDim + i] = cosf(lth)
                sinLocal[b * halfDim + i] = sinf(lth)
            }
        }
    }

    /// The cos/sin tables of batch row `row`.
    @inline(__always) func rope(row: Int, local: Bool) -> (UnsafePointer<Float>, UnsafePointer<Float>) {
        local ? (UnsafePointer(cosLocal + row * halfDim), UnsafePointer(sinLocal + row * halfDim))
              : (UnsafePointer(cosGlobal + row * halfDim), UnsafePointer(sinGlobal + row * halfDim))
    }
}
