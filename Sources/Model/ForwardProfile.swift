import Dispatch

/// Wall time of a transformer's forward passes by part, accumulated while ``Transformer/profile`` is
/// set (`specdec speed --breakdown`). Each part is timed on the calling thread around the work it
/// dispatches to the pool, so the parts add up to the forward's wall time (the rest is `other`).
public struct ForwardProfile: Sendable, Equatable {
    /// The parts of a forward pass.
    public enum Part: Int, CaseIterable, Sendable, CustomStringConvertible {
        /// Query, key and value projections, their biases and norms, RoPE, and the cache writes.
        case attentionProjections
        /// Attention over the cache (scores, softmax, weighted values).
        case attention
        /// The attention output projection, its norm and the residual add.
        case attentionOutput
        /// The feed-forward gate and up projections.
        case feedForwardUp
        /// The gate activation (SiLU or GELU) times up.
        case activation
        /// The feed-forward down projection, its norm and the residual add.
        case feedForwardDown
        /// The final norm and the output layer (logits), with its soft-capping.
        case outputLayer
        /// Everything else: embeddings, the norms before attention and feed-forward, RoPE tables.
        case other

        /// snake_case name, as `specdec speed --format json` prints it.
        public var description: String {
            switch self {
            case .attentionProjections: return "attention_projections"
            case .attention: return "attention"
            case .attentionOutput: return "attention_output"
            case .feedForwardUp: return "feed_forward_up"
            case .activation: return "activation"
            case .feedForwardDown: return "feed_forward_down"
            case .outputLayer: return "output_layer"
            case .other: return "other"
            }
        }
    }

    /// Seconds per part, indexed by `Part.rawValue`.
    public private(set) var seconds = [Double](repeating: 0, count: Part.allCases.count)
    /// Forward passes recorded.
    public private(set) var forwards = 0

    public init() {}

    /// Seconds spent in `part`.
    public subscript(_ part: Part) -> Double { seconds[part.rawValue] }

    /// Sum over all parts.
    public var total: Double { seconds.reduce(0, +) }

    mutating func add(_ part: Part, nanoseconds: UInt64) {
        seconds[part.rawValue] += Double(nanoseconds) * 1e-9
    }

    /// Seconds of the timed parts (all but `other`).
    private var timedTotal: Double { total - seconds[Part.other.rawValue] }
    private var timedAtStart = 0.0

    mutating func beginForward() { timedAtStart = timedTotal }

    /// Ends a forward that took `nanoseconds`: what its timed parts did not cover goes to `other`.
    mutating func finishForward(nanoseconds: UInt64) {
        let wall = Double(nanoseconds) * 1e-9
        seconds[Part.other.rawValue] += max(0, wall - (timedTotal - timedAtStart))
        forwards += 1
    }
}
