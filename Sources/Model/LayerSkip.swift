/// Which sublayers a forward pass leaves out: self-speculative drafting runs the target with some
/// attention and feed-forward sublayers skipped (Draft & Verify, Zhang et al. 2023, arXiv:2309.08168;
/// SWIFT, Xia et al. 2024, arXiv:2410.06916). A skipped sublayer adds nothing to the residual stream
/// and, for attention, writes no keys or values; the layers that run read and write the model's one
/// KV cache as usual.
///
/// ```swift
/// let skip = try LayerSkip(layerCount: 28, attention: [3, 7], feedForward: [5])
/// let logits = try model.forward([token], logits: .last, skip: skip)
/// ```
public struct LayerSkip: Sendable, Equatable, Hashable, Codable, CustomStringConvertible {
    /// Number of layers of the model the set is for.
    public let layerCount: Int
    /// Layers whose attention sublayer is skipped (sorted, unique).
    public private(set) var attention: [Int]
    /// Layers whose feed-forward sublayer is skipped (sorted, unique).
    public private(set) var feedForward: [Int]

    enum CodingKeys: String, CodingKey { case layerCount = "layer_count", attention, feedForward = "feed_forward" }

    /// Throws ``ModelError/badHyperparameter(_:)`` when a layer index is outside `0 ..< layerCount`.
    public init(layerCount: Int, attention: [Int] = [], feedForward: [Int] = []) throws {
        guard layerCount > 0 else { throw ModelError.badHyperparameter("layer skip for \(layerCount) layers") }
        for l in attention + feedForward where l < 0 || l >= layerCount {
            throw ModelError.badHyperparameter("layer \(l) in a skip set of a \(layerCount)-layer model")
        }
        self.layerCount = layerCount
        self.attention = Array(Set(attention)).sorted()
        self.feedForward = Array(Set(feedForward)).sorted()
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(layerCount: try c.decode(Int.self, forKey: .layerCount),
                      attention: try c.decodeIfPresent([Int].self, forKey: .attention) ?? [],
                      feedForward: try c.decodeIfPresent([Int].self, forKey: .feedForward) ?? [])
    }

    /// No sublayer skipped.
    public static func none(layerCount: Int) -> LayerSkip {
        LayerSkip(unchecked: layerCount, attention: [], feedForward: [])
    }

    private init(unchecked layerCount: Int, attention: [Int], feedForward: [Int]) {
        self.layerCount = layerCount
        self.attention = attention
        self.feedForward = feedForward
    }

    /// One sublayer: `(layer, isAttention)`.
    public struct Sublayer: Sendable, Hashable, Codable, CustomStringConvertible {
        public var layer: Int
        public var isAttention: Bool
        public init(layer: Int, isAttention: Bool) {
            self.layer = layer
            self.isAttention = isAttention
        }
        public var description: String { "\(isAttention ? "attn" : "ffn")\(layer)" }
    }

    /// Every sublayer of a `layerCount`-layer model, attention then feed-forward per layer.
    public static func allSublayers(layerCount: Int) -> [Sublayer] {
        (0..<layerCount).flatMap { [Sublayer(layer: $0, isAttention: true), Sublayer(layer: $0, isAttention: false)] }
    }

    /// The skipped sublayers.
    public var sublayers: [Sublayer] {
        attention.map { Sublayer(layer: $0, isAttention: true) } + feedForward.map { Sublayer(layer: $0, isAttention: false) }
    }

    /// This set with `s` skipped too.
    public func adding(_ s: Sublayer) -> LayerSkip {
        var copy = self
        if s.isAttention { copy.attention = Array(Set(attention + [s.layer])).sorted() } else {
            copy.feedForward = Array(Set(feedForward + [s.layer])).sorted()
        }
        return copy
    }

    /// This set without `s`.
    public func removing(_ s: Sublayer) -> LayerSkip {
        var copy = self
        if s.isAttention { copy.attention.removeAll { $0 == s.layer } } else { copy.feedForward.removeAll { $0 == s.layer } }
        return copy
    }

    /// Whether `s` is skipped.
    public func contains(_ s: Sublayer) -> Bool {
        s.isAttention ? attention.contains(s.layer) : feedForward.contains(s.layer)
    }

    /// Number of skipped sublayers.
    public var count: Int { attention.count + feedForward.count }

    /// True when nothing is skipped.
    public var isEmpty: Bool { count == 0 }

    /// Per-layer flags, for the forward pass.
    func flags() -> (attention: [Bool], feedForward: [Bool]) {
        var a = [Bool](repeating: false, count: layerCount), f = a
        for l in attention { a[l] = true }
        for l in feedForward { f[l] = true }
        return (a, f)
    }

    public var description: String {
        "skip attention \(attention), feed-forward \(feedForward) of \(layerCount) layers"
    }
}
