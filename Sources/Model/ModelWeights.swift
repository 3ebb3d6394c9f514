import SpecDecGGUF
import SpecDecKernels

/// The weights of one transformer block. Matrices point into the memory-mapped file.
struct LayerWeights: @unchecked Sendable {
    /// [d] pre-attention norm.
    var attnNorm: [Float]
    /// [heads*headDim, d], [kvHeads*headDim, d], [kvHeads*headDim, d]
    var wq, wk, wv: WeightMatrix
    /// Optional biases (Qwen2): [heads*headDim], [kvHeads*headDim], [kvHeads*headDim]
    var bq, bk, bv: [Float]?
    /// Per-head QK norms (Gemma 3): [headDim]
    var qNorm, kNorm: [Float]?
    /// [d, heads*headDim]
    var wo: WeightMatrix
    /// Post-attention norm (Gemma 3): [d]
    var postAttnNorm: [Float]?
    /// [d] pre-FFN norm.
    var ffnNorm: [Float]
    /// [ffn, d], [ffn, d], [d, ffn]
    var wGate, wUp, wDown: WeightMatrix
    /// Post-FFN norm (Gemma 3): [d]
    var postFFNNorm: [Float]?
}

/// All weights of a model. Matrices point into the memory-mapped file; matrices of a format `kernels`
/// has a packed layout of also carry a copy repacked for it when `packed` is given (their file pages
/// are then released, so the weights are resident once).
struct ModelWeights: @unchecked Sendable {
    /// [vocab, d] token embedding.
    var tokenEmbedding: WeightMatrix
    /// [d] final norm.
    var outputNorm: [Float]
    /// [vocab, d] output projection (the embedding when tied).
    var output: WeightMatrix
    var layers: [LayerWeights]

    init(file: GGUFFile, config c: ModelConfig, packed: PackedWeights? = nil, kernels: KernelSet = .active,
         pool: ThreadPool? = nil) throws {
        let d = c.embeddingLength
        let qDim = c.headCount * c.headDim
        let kvDim = c.kvHeadCount * c.headDim

        func matrix(_ name: String, rows: Int, cols: Int, pack: Bool = true) throws -> WeightMatrix {
            let t = try file.tensor(name)
            guard t.shape == [cols, rows] else { throw ModelError.badTensor(name: name, expectedShape: [cols, rows], actualShape: t.shape) }
            guard t.type != .q8_K && t.type != .q8_1 else { throw ModelError.unsupportedWeightType(tensor: name, type: "\(t.type)") }
            let w = WeightMatrix(type: t.type, rows: rows, cols: cols, data: file.data(of: t))
            guard pack, let packed, PackedWeights.canPack(w.type, for: kernels) else { return w }
            // Pages are released chunk by chunk as they are packed, then the whole extent (pages
            // straddling two chunks).
            let p = packed.pack(w, for: kernels, pool: pool) { file.releasePages(at: $0, byteCount: $1) }
            file.releasePages(of: t)
            return p
        }
        func vector(_ name: String, _ n: Int) throws -> [Float] {
            let t = try file.tensor(name)
            guard t.elementCount == n else { throw ModelError.badTensor(name: name, expectedShape: [n], actualShape: t.shape) }
            var out = [Float](repeating: 0, count: n)
            out.withUnsafeMutableBufferPointer { dequantizeRow(t.type, file.data(of: t), $0.baseAddress!, count: n) }
            return out
        }
        func optVector(_ name: String, _ n: Int) throws -> [Float]? {
            file.info(name) == nil ? nil : try vector(name, n)
        }

        // The embedding is read a row per token from the file's pages; only an embedding that is also
        // the output layer (tied) gets a packed copy for the matrix kernels.
        let tied = file.info("output.weight") == nil
        tokenEmbedding = try matrix("token_embd.weight", rows: c.vocabularySize, cols: d, pack: tied)
        outputNorm = try vector("output_norm.weight", d)
        output = tied ? tokenEmbedding : try matrix("output.weight", rows: c.vocabularySize, cols: d)
        layers = []
        for i in 0..<c.layerCount {
            let p = "blk.\(i)."
            let gemma = c.architecture == .gemma3
            layers.append(LayerWeights(
                attnNorm: try vector(p + "attn_norm.weight", d),
                wq: try matrix(p + "attn_q.weight", rows: qDim, cols: d),
                wk: try matrix(p + "attn_k.weight", rows: kvDim, cols: d),
                wv: try matrix(p + "attn_v.weight", rows: kvDim, cols: d),
                bq: try optVector(p + "attn_q.bias", qDim),
                bk: try optVector(p + "attn_k.bias", kvDim),
                bv: try optVector(p + "attn_v.bias", kvDim),
                qNorm: try optVector(p + "attn_q_norm.weight", c.headDim),
                kNorm: try optVector(p + "attn_k_norm.weight", c.headDim),
                wo: try matrix(p + "attn_output.weight", rows: d, cols: qDim),
                postAttnNorm: gemma ? try vector(p + "post_attention_norm.weight", d) : nil,
                ffnNorm: try vector(p + "ffn_norm.weight", d),
                wGate: try matrix(p + "ffn_gate.weight", rows: c.feedForwardLength, cols: d),
                wUp: try matrix(p + "ffn_up.weight", rows: c.feedForwardLength, cols: d),
                wDown: try matrix(p + "ffn_down.weight", rows: d, cols: c.feedForwardLength),
                postFFNNorm: gemma ? try vector(p + "post_ffw_norm.weight", d) : nil))
        }
    }
}
