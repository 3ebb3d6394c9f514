import SpecDecGGUF

/// The `tokenizer.ggml.*` metadata a ``Tokenizer`` is built from, validated.
///
/// Defaults follow llama.cpp: SentencePiece vocabularies add BOS and a space prefix unless the
/// file says otherwise; byte-level BPE vocabularies add neither (Llama 3's pre-tokenizer adds BOS).
struct TokenizerMetadata {
    static let prefix = "tokenizer.ggml."

    var kind: TokenizerKind
    var pre: String?
    var tokens: [String]
    var types: [TokenType]
    var scores: [Float]
    var merges: [String]
    var bos: Int32?, eos: Int32?, unknown: Int32?, padding: Int32?
    var addBOS: Bool
    var addEOS: Bool
    var addSpacePrefix: Bool

    /// Token texts that llama.cpp always treats as control tokens (end-of-turn markers).
    static let forcedControl: Set<String> = [
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>", "<EOT>", "<|eom_id|>",
    ]

    init(_ meta: [String: GGUFValue]) throws(TokenizerError) {
        let p = TokenizerMetadata.prefix
        guard let modelValue = meta[p + "model"] else { throw .missingMetadata(key: p + "model") }
        guard let modelName = modelValue.string else { throw .invalidMetadata(key: p + "model", reason: "not a string") }
        guard let k = TokenizerKind(rawValue: modelName) else { throw .unsupportedModel(modelName) }
        kind = k
        if let v = meta[p + "pre"] {
            guard let s = v.string else { throw .invalidMetadata(key: p + "pre", reason: "not a string") }
            pre = s
        }

        tokens = try TokenizerMetadata.stringArray(meta, p + "tokens", required: true)
        guard !tokens.isEmpty else { throw .invalidMetadata(key: p + "tokens", reason: "the vocabulary is empty") }
        for i in tokens.indices where tokens[i].isEmpty { tokens[i] = "[EMPTY_\(i)]" }  // as llama.cpp
        let n = tokens.count

        if let v = meta[p + "token_type"] {
            guard let a = v.array else { throw .invalidMetadata(key: p + "token_type", reason: "not an array") }
            guard a.count >= n else { throw .lengthMismatch(key: p + "token_type", expected: n, found: a.count) }
            var t: [TokenType] = []
            t.reserveCapacity(n)
            for e in a.prefix(n) {
                guard let raw = e.int else { throw .invalidMetadata(key: p + "token_type", reason: "not an array of integers") }
                t.append(TokenType(rawValue: Int32(clamping: raw)) ?? .undefined)
            }
            types = t
        } else {
            types = [TokenType](repeating: .normal, count: n)
        }
        for i in 0..<n where types[i] != .control && TokenizerMetadata.forcedControl.contains(tokens[i]) {
            types[i] = .control
        }

        if let v = meta[p + "scores"] {
            guard let a = v.array else { throw .invalidMetadata(key: p + "scores", reason: "not an array") }
            guard a.count >= n else { throw .lengthMismatch(key: p + "scores", expected: n, found: a.count) }
            var s: [Float] = []
            s.reserveCapacity(n)
            for e in a.prefix(n) {
                guard let d = e.double else { throw .invalidMetadata(key: p + "scores", reason: "not an array of numbers") }
                s.append(Float(d))
            }
            scores = s
        } else {
            scores = [Float](repeating: 0, count: n)
        }

        if kind == .byteLevelBPE {
            merges = try TokenizerMetadata.stringArray(meta, p + "merges", required: true)
        } else {
            merges = []
        }

        bos = try TokenizerMetadata.tokenID(meta, p + "bos_token_id", n)
        eos = try TokenizerMetadata.tokenID(meta, p + "eos_token_id", n)
        unknown = try TokenizerMetadata.tokenID(meta, p + "unknown_token_id", n)
        padding = try TokenizerMetadata.tokenID(meta, p + "padding_token_id", n)

        let isLlama3 = pre.flatMap(PreTokenizerKind.init(name:)) == .llama3
        addBOS = try TokenizerMetadata.bool(meta, p + "add_bos_token") ?? (kind == .sentencePiece || isLlama3)
        addEOS = try TokenizerMetadata.bool(meta, p + "add_eos_token") ?? false
        addSpacePrefix = try TokenizerMetadata.bool(meta, p + "add_space_prefix") ?? (kind == .sentencePiece)
    }

    private static func stringArray(_ meta: [String: GGUFValue], _ key: String, required: Bool) throws(TokenizerError) -> [String] {
        guard let v = meta[key] else {
            if required { throw .missingMetadata(key: key) }
            return []
        }
        guard let a = v.array else { throw .invalidMetadata(key: key, reason: "not an array of strings") }
        var out: [String] = []
        out.reserveCapacity(a.count)
        for e in a {
            guard let s = e.string else { throw .invalidMetadata(key: key, reason: "not an array of strings") }
            out.append(s)
        }
        return out
    }

    private static func tokenID(_ meta: [String: GGUFValue], _ key: String, _ n: Int) throws(TokenizerError) -> Int32? {
        guard let v = meta[key] else { return nil }
        guard let id = v.int else { throw .invalidMetadata(key: key, reason: "not an integer") }
        guard id >= 0, id < n else { throw .tokenOutOfRange(key: key, id: id, vocabularySize: n) }
        return Int32(id)
    }

    private static func bool(_ meta: [String: GGUFValue], _ key: String) throws(TokenizerError) -> Bool? {
        guard let v = meta[key] else { return nil }
        guard let b = v.bool else { throw .invalidMetadata(key: key, reason: "not a boolean") }
        return b
    }
}
