import SpecDecKernels

/// An output layer over a subset of the vocabulary: the rows of the model's output matrix for
/// `tokens`, gathered once into a compact matrix of the same format (and packed for the model's
/// kernels), so a forward pass through it computes only those logits (FR-Spec, Zhao et al. 2025,
/// arXiv:2502.14856; VocabTrim, arXiv:2506.22694).
///
/// Row `i` of the logits of a forward pass with this head is the logit of token `tokens[i]`; the
/// distribution over the trimmed logits is the draft's distribution, zero outside the subset.
///
/// ```swift
/// let head = try TrimmedHead(model: draft, tokens: Array(ranking.prefix(32_768)))
/// let logits = try draft.forward([token], logits: .last, head: head)   // 32,768 logits
/// let best = head.tokens[argmax(logits[0])]
/// ```
public final class TrimmedHead: @unchecked Sendable {
    /// Token id of each logit row, in the order given.
    public let tokens: [Int32]
    /// The compact output matrix [tokens.count, d].
    let matrix: WeightMatrix
    /// Identity of the model it belongs to.
    let owner: ObjectIdentifier
    private let storage: UnsafeMutableRawPointer
    private let packed: PackedWeights?

    /// Gathers the output rows of `tokens` (unique ids inside the model's vocabulary, at least one)
    /// from `model`. Throws ``ModelError/badHyperparameter(_:)`` naming a bad id.
    public init(model: Transformer, tokens: [Int32]) throws {
        let vocab = model.config.vocabularySize
        guard !tokens.isEmpty else { throw ModelError.badHyperparameter("a trimmed output layer needs at least one token") }
        var seen = Set<Int32>()
        for t in tokens {
            guard t >= 0 && Int(t) < vocab else {
                throw ModelError.badHyperparameter("token id \(t) of a trimmed output layer is outside the vocabulary (size \(vocab))")
            }
            guard seen.insert(t).inserted else {
                throw ModelError.badHyperparameter("token id \(t) is listed twice in a trimmed output layer")
            }
        }
        let source = model.weights.output
        let rowBytes = source.rowBytes
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(1, tokens.count * rowBytes), alignment: 64)
        for (i, t) in tokens.enumerated() {
            (buffer + i * rowBytes).copyMemory(from: source.row(Int(t)), byteCount: rowBytes)
        }
        storage = buffer
        self.tokens = tokens
        owner = ObjectIdentifier(model)
        let compact = WeightMatrix(type: source.type, rows: tokens.count, cols: source.cols, data: UnsafeRawPointer(buffer))
        if model.packedWeights != nil, PackedWeights.canPack(source.type, for: model.kernels) {
            let store = PackedWeights()
            matrix = store.pack(compact, for: model.kernels, pool: model.pool)
            packed = store
        } else {
            matrix = compact
            packed = nil
        }
    }

    deinit { storage.deallocate() }

    /// Number of tokens (logits per row).
    public var count: Int { tokens.count }

    /// Bytes of the compact matrix (one decoded token reads them once).
    public var byteCount: Int { matrix.rows * matrix.rowBytes }
}
