import SpecDecGGUF
import SpecDecKernels
#if canImport(Glibc)
import Glibc
#endif

/// Writes tiny random-weight models as real GGUF files, loaded in tests through the real reader.
public enum TinyModel {
    /// Hyper-parameters of a tiny model.
    public struct Spec: Sendable {
        public var architecture: String
        public var dim = 64
        public var layers = 2
        public var heads = 4
        public var kvHeads = 2
        public var headDim = 16
        public var ffn = 128
        public var context = 256
        /// Format of the big matrices (must have a block size dividing dim and ffn).
        public var weightType: GGMLType = .f32
        /// Format of the token embedding.
        public var embeddingType: GGMLType = .f32
        /// Separate output matrix (false: tied to the embedding).
        public var separateOutput = true
        /// Sliding window for Gemma 3 (small so tests cross it).
        public var slidingWindow = 8
        /// Scale of the random weights; larger makes the distribution peakier.
        public var weightScale: Float = 0.5
        public var seed: UInt64 = 1

        public init(architecture: String) { self.architecture = architecture }
    }

    /// The GGUF writer holding a tiny model with a byte-level vocabulary (see ``ByteVocabulary``).
    public static func writer(_ s: Spec) -> GGUFWriter {
        var rng = SplitMix64(seed: s.seed)
        var w = GGUFWriter()
        let a = s.architecture
        w.set("general.architecture", .string(a))
        w.set("general.name", .string("tiny-\(a)"))
        w.set("\(a).context_length", .uint32(UInt32(s.context)))
        w.set("\(a).embedding_length", .uint32(UInt32(s.dim)))
        w.set("\(a).block_count", .uint32(UInt32(s.layers)))
        w.set("\(a).feed_forward_length", .uint32(UInt32(s.ffn)))
        w.set("\(a).attention.head_count", .uint32(UInt32(s.heads)))
        w.set("\(a).attention.head_count_kv", .uint32(UInt32(s.kvHeads)))
        w.set("\(a).attention.key_length", .uint32(UInt32(s.headDim)))
        w.set("\(a).attention.value_length", .uint32(UInt32(s.headDim)))
        w.set("\(a).attention.layer_norm_rms_epsilon", .float32(1e-6))
        w.set("\(a).rope.freq_base", .float32(10_000))
        if a == "gemma3" { w.set("\(a).attention.sliding_window", .uint32(UInt32(s.slidingWindow))) }
        ByteVocabulary.addMetadata(to: &w)
        let vocab = ByteVocabulary.size

        func random(_ n: Int, scale: Float) -> [Float] {
            (0..<n).map { _ in Float.random(in: -scale...scale, using: &rng) }
        }
        func matrix(_ name: String, rows: Int, cols: Int, type: GGMLType) {
            let f = random(rows * cols, scale: s.weightScale / Float(cols).squareRoot() * 1.7)
            add(&w, name, shape: [cols, rows], floats: f, type: type)
        }
        func norm(_ name: String, _ n: Int) {
            w.addTensor(name, shape: [n], floats: (0..<n).map { _ in 1 + Float.random(in: -0.2...0.2, using: &rng) })
        }
        let qDim = s.heads * s.headDim, kvDim = s.kvHeads * s.headDim
        add(&w, "token_embd.weight", shape: [s.dim, vocab], floats: random(vocab * s.dim, scale: 1), type: s.embeddingType)
        norm("output_norm.weight", s.dim)
        if s.separateOutput { matrix("output.weight", rows: vocab, cols: s.dim, type: s.weightType) }
        for l in 0..<s.layers {
            let p = "blk.\(l)."
            norm(p + "attn_norm.weight", s.dim)
            matrix(p + "attn_q.weight", rows: qDim, cols: s.dim, type: s.weightType)
            matrix(p + "attn_k.weight", rows: kvDim, cols: s.dim, type: s.weightType)
            matrix(p + "attn_v.weight", rows: kvDim, cols: s.dim, type: s.weightType)
            if a == "qwen2" {
                w.addTensor(p + "attn_q.bias", shape: [qDim], floats: random(qDim, scale: 0.1))
                w.addTensor(p + "attn_k.bias", shape: [kvDim], floats: random(kvDim, scale: 0.1))
                w.addTensor(p + "attn_v.bias", shape: [kvDim], floats: random(kvDim, scale: 0.1))
            }
            if a == "gemma3" {
                norm(p + "attn_q_norm.weight", s.headDim)
                norm(p + "attn_k_norm.weight", s.headDim)
                norm(p + "post_attention_norm.weight", s.dim)
                norm(p + "post_ffw_norm.weight", s.dim)
            }
            matrix(p + "attn_output.weight", rows: s.dim, cols: qDim, type: s.weightType)
            norm(p + "ffn_norm.weight", s.dim)
            matrix(p + "ffn_gate.weight", rows: s.ffn, cols: s.dim, type: s.weightType)
            matrix(p + "ffn_up.weight", rows: s.ffn, cols: s.dim, type: s.weightType)
            matrix(p + "ffn_down.weight", rows: s.dim, cols: s.ffn, type: s.weightType)
        }
        return w
    }

    /// Writes a tiny model to a fresh temporary file and returns its path.
    public static func write(_ s: Spec, name: String = "tiny") throws -> String {
        let path = temporaryPath(name: "\(name)-\(s.architecture)-\(s.seed).gguf")
        try writer(s).write(to: path)
        return path
    }

    /// A unique path in the temporary directory.
    public static func temporaryPath(name: String) -> String {
        let dir = "/tmp/specdec-tests-\(getpid())"
        mkdir(dir, 0o755)
        return "\(dir)/\(UInt64.random(in: 0...UInt64.max))-\(name)"
    }

    static func add(_ w: inout GGUFWriter, _ name: String, shape: [Int], floats: [Float], type: GGMLType) {
        if type == .f32 { w.addTensor(name, shape: shape, floats: floats); return }
        let bytes = type.byteCount(elements: floats.count) ?? 0
        var data = [UInt8](repeating: 0, count: bytes)
        let cols = shape[0]
        let rowBytes = type.byteCount(elements: cols) ?? 0
        floats.withUnsafeBufferPointer { src in
            data.withUnsafeMutableBytes { dst in
                for r in 0..<(floats.count / cols) {
                    quantizeRow(type, src.baseAddress! + r * cols, dst.baseAddress! + r * rowBytes, count: cols)
                }
            }
        }
        w.addTensor(name, shape: shape, type: type, data: data)
    }
}

/// A byte-level BPE vocabulary for tiny models: the 256 GPT-2 byte symbols, a few merges, and
/// ChatML special tokens.
public enum ByteVocabulary {
    /// Merged tokens appended after the bytes (each with its merge rule).
    public static let merges: [(String, String)] = [("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("i", "n"), ("a", "n")]
    /// Special tokens after the merges.
    public static let specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    /// Total vocabulary size.
    public static var size: Int { 256 + merges.count + specials.count }
    /// Id of `<|endoftext|>`.
    public static var endOfText: Int32 { Int32(256 + merges.count) }
    /// Id of `<|im_end|>`.
    public static var imEnd: Int32 { Int32(256 + merges.count + 2) }

    /// Adds `tokenizer.ggml.*` metadata for this vocabulary.
    public static func addMetadata(to w: inout GGUFWriter) {
        var v = TinyTokenizerVocab.byteLevel(pre: "qwen2")
        for (a, b) in merges { v.add(a + b) }
        for s in specials { v.add(s, type: 3) }
        v.merges = merges.map { "\($0.0) \($0.1)" }
        v.set("tokenizer.ggml.bos_token_id", .uint32(UInt32(endOfText)))
        v.set("tokenizer.ggml.eos_token_id", .uint32(UInt32(imEnd)))
        v.set("tokenizer.ggml.add_bos_token", .bool(false))
        v.addMetadata(to: &w)
    }
}
