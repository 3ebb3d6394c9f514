import SpecDecGGUF

/// The transformer families SpecDec can run.
public enum Architecture: String, Sendable, CaseIterable {
    /// Llama and Llama-style models (SmolLM2): RMSNorm, SwiGLU, "normal" RoPE on pre-permuted Q/K.
    case llama
    /// Qwen2 / Qwen2.5: Llama-style with biases on Q, K and V, NeoX RoPE.
    case qwen2
    /// Gemma 3: embedding scale, QK-norm, pre- and post-norms, GELU-gated FFN,
    /// sliding-window layers with their own RoPE base and every sixth layer global.
    case gemma3
}

/// How RoPE pairs the dimensions of a head.
public enum RoPEStyle: Sendable {
    /// Adjacent pairs (2i, 2i+1), as GGML's "normal" mode.
    case interleaved
    /// Split halves (i, i + d/2), as GPT-NeoX.
    case neox
}

/// Errors raised when a model cannot be built from a GGUF file.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    case unknownArchitecture(String)
    case missingArchitecture
    case badHyperparameter(String)
    case badTensor(name: String, expectedShape: [Int], actualShape: [Int])
    case contextOverflow(requested: Int, capacity: Int)
    case emptyInput
    case tokenOutOfRange(token: Int32, vocabularySize: Int)
    case badPosition(Int)
    case unsupportedWeightType(tensor: String, type: String)
    case outOfMemory(bytes: Int)
    case unsupportedKernels(String)
    case badTree(String)

    public var description: String {
        switch self {
        case .unknownArchitecture(let a):
            return "unknown architecture '\(a)' (supported: \(Architecture.allCases.map(\.rawValue).joined(separator: ", ")))"
        case .missingArchitecture: return "GGUF file has no general.architecture"
        case .badHyperparameter(let s): return "bad hyper-parameter: \(s)"
        case .badTensor(let name, let e, let a): return "tensor '\(name)' has shape \(a), expected \(e)"
        case .contextOverflow(let r, let c):
            return "sequence of \(r) tokens does not fit the context of \(c) tokens"
        case .emptyInput: return "no tokens to evaluate"
        case .tokenOutOfRange(let t, let v): return "token id \(t) is outside the vocabulary (size \(v))"
        case .badPosition(let p): return "position \(p) is past the end of the cache"
        case .unsupportedWeightType(let t, let type): return "tensor '\(t)' has type \(type), which SpecDec does not support for weights"
        case .outOfMemory(let b): return "cannot allocate \(b) bytes for the KV cache (use a smaller --context)"
        case .unsupportedKernels(let k): return "this CPU cannot run the \(k) kernels"
        case .badTree(let s): return "bad token tree: \(s)"
        }
    }
}

/// Hyper-parameters of a transformer, read from GGUF metadata.
public struct ModelConfig: Sendable, Equatable {
    public var architecture: Architecture
    /// Vocabulary size (rows of the embedding).
    public var vocabularySize: Int
    /// Model width.
    public var embeddingLength: Int
    public var layerCount: Int
    public var headCount: Int
    public var kvHeadCount: Int
    public var headDim: Int
    public var feedForwardLength: Int
    /// Context length the model was trained for.
    public var trainedContextLength: Int
    public var rmsEpsilon: Float
    public var ropeBase: Float
    /// RoPE base of sliding-window layers (Gemma 3).
    public var ropeBaseLocal: Float
    /// Linear RoPE scaling factor for global layers (1 = none).
    public var ropeScale: Float
    public var ropeStyle: RoPEStyle
    /// Sliding window of local layers (0 = none).
    public var slidingWindow: Int
    /// Every `slidingPattern`-th layer is global; the others use the window (0 = all global).
    public var slidingPattern: Int
    /// Multiplier of attention scores.
    public var attentionScale: Float
    /// Multiplier of token embeddings (Gemma: sqrt(d)).
    public var embeddingScale: Float
    /// Final logit soft-capping (0 = none).
    public var finalLogitSoftcap: Float

    /// Whether layer `i` attends only within ``slidingWindow``.
    @inlinable public func isSlidingLayer(_ i: Int) -> Bool {
        slidingWindow > 0 && slidingPattern > 0 && (i + 1) % slidingPattern != 0
    }

    /// Reads the configuration of `file`.
    public init(gguf file: GGUFFile) throws {
        guard let archName = file.architecture else { throw ModelError.missingArchitecture }
        guard let arch = Architecture(rawValue: archName) else { throw ModelError.unknownArchitecture(archName) }
        architecture = arch
        let p = archName + "."
        func int(_ k: String) throws -> Int { try file.int(p + k) }
        func optInt(_ k: String) -> Int? { file.metadata[p + k]?.int }
        func optFloat(_ k: String) -> Float? { file.metadata[p + k]?.double.map { Float($0) } }
        embeddingLength = try int("embedding_length")
        layerCount = try int("block_count")
        headCount = try int("attention.head_count")
        kvHeadCount = optInt("attention.head_count_kv") ?? headCount
        headDim = optInt("attention.key_length") ?? (headCount > 0 ? embeddingLength / headCount : 0)
        feedForwardLength = try int("feed_forward_length")
        trainedContextLength = optInt("context_length") ?? 2048
        rmsEpsilon = optFloat("attention.layer_norm_rms_epsilon") ?? 1e-6
        ropeBase = optFloat("rope.freq_base") ?? 10_000
        ropeScale = 1
        if let factor = optFloat("rope.scaling.factor"), factor > 0,
           file.metadata[p + "rope.scaling.type"]?.string ?? "linear" == "linear" {
            ropeScale = factor
        }
        let embd = try file.tensor("token_embd.weight")
        vocabularySize = embd.shape.count == 2 ? embd.shape[1] : 0
        switch arch {
        case .llama:
            ropeStyle = .interleaved
            ropeBaseLocal = ropeBase
            slidingWindow = 0
            slidingPattern = 0
            embeddingScale = 1
        case .qwen2:
            ropeStyle = .neox
            ropeBaseLocal = ropeBase
            slidingWindow = 0
            slidingPattern = 0
            embeddingScale = 1
        case .gemma3:
            ropeStyle = .neox
            ropeBaseLocal = 10_000  // llama.cpp's default for Gemma 3 local layers
            slidingWindow = optInt("attention.sliding_window") ?? 512
            slidingPattern = optInt("attention.sliding_window_pattern") ?? 6
            embeddingScale = Float(embeddingLength).squareRoot()
        }
        attentionScale = 1 / Float(max(headDim, 1)).squareRoot()
        finalLogitSoftcap = optFloat("final_logit_softcapping") ?? 0
        guard embeddingLength > 0, layerCount > 0, headCount > 0, kvHeadCount > 0, headDim > 0, headDim % 2 == 0,
              headCount % kvHeadCount == 0, feedForwardLength > 0, vocabularySize > 0 else {
            throw ModelError.badHyperparameter(
                "d=\(embeddingLength) layers=\(layerCount) heads=\(headCount)/\(kvHeadCount) head_dim=\(headDim) ffn=\(feedForwardLength) vocab=\(vocabularySize)")
        }
    }
}
