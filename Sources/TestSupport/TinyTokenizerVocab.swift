import SpecDecGGUF

/// A small tokenizer vocabulary written as GGUF metadata, for tests that need a real
/// `GGUFFile` but not a real model.
///
/// ```swift
/// var v = TinyTokenizerVocab.byteLevel()
/// let ab = v.add(TinyTokenizerVocab.byteLevelSpelling("ab"))
/// v.merges = [TinyTokenizerVocab.byteLevelSpelling("a") + " " + TinyTokenizerVocab.byteLevelSpelling("b")]
/// try v.write(to: "/tmp/tiny-vocab.gguf")
/// ```
public struct TinyTokenizerVocab: Sendable {
    /// `tokenizer.ggml.model`: "gpt2" or "llama".
    public var model: String
    /// `tokenizer.ggml.pre`, or nil to leave it out.
    public var pre: String?
    /// Token texts, by id.
    public var tokens: [String] = []
    /// Token types, by id (1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte).
    public var types: [Int32] = []
    /// Token scores, by id (written for "llama" vocabularies).
    public var scores: [Float] = []
    /// Merge rules `"left right"`, by rank (written for "gpt2" vocabularies).
    public var merges: [String] = []
    /// Further metadata, written after (and overriding) the generated keys.
    public var extra: [(key: String, value: GGUFValue)] = []

    /// An empty vocabulary of tokenizer `model` ("gpt2" or "llama") with pre-tokenizer `pre`.
    public init(model: String, pre: String? = nil) {
        self.model = model
        self.pre = pre
    }

    /// Appends a token and returns its id.
    @discardableResult
    public mutating func add(_ text: String, type: Int32 = 1, score: Float = 0) -> Int32 {
        tokens.append(text)
        types.append(type)
        scores.append(score)
        return Int32(tokens.count - 1)
    }

    /// Sets a metadata key (e.g. `tokenizer.ggml.bos_token_id`).
    public mutating func set(_ key: String, _ value: GGUFValue) { extra.append((key, value)) }

    /// A byte-level BPE vocabulary whose ids 0–255 are the 256 byte tokens, in byte order.
    public static func byteLevel(pre: String = "qwen2") -> TinyTokenizerVocab {
        var v = TinyTokenizerVocab(model: "gpt2", pre: pre)
        for b in 0..<256 { v.add(spelling(ofByte: UInt8(b))) }
        return v
    }

    /// A SentencePiece vocabulary starting `<pad>`, `<eos>`, `<bos>`, `<unk>` (ids 0–3) and the
    /// 256 byte tokens `<0x00>`…`<0xFF>` (ids 4–259), with BOS 2, EOS 1 and unknown 3 set.
    public static func sentencePiece() -> TinyTokenizerVocab {
        var v = TinyTokenizerVocab(model: "llama", pre: "default")
        v.add("<pad>", type: 3)
        v.add("<eos>", type: 3)
        v.add("<bos>", type: 3)
        v.add("<unk>", type: 2)
        let hex = Array("0123456789ABCDEF")
        for b in 0..<256 { v.add("<0x\(hex[b >> 4])\(hex[b & 15])>", type: 6) }
        v.set("tokenizer.ggml.bos_token_id", .uint32(2))
        v.set("tokenizer.ggml.eos_token_id", .uint32(1))
        v.set("tokenizer.ggml.unknown_token_id", .uint32(3))
        v.set("tokenizer.ggml.add_bos_token", .bool(true))
        v.set("tokenizer.ggml.add_space_prefix", .bool(false))
        return v
    }

    /// GPT-2's byte-level spelling of `text` (a space is `Ġ`, a newline `Ċ`, ...).
    public static func byteLevelSpelling(_ text: String) -> String {
        text.utf8.map { spelling(ofByte: $0) }.joined()
    }

    /// GPT-2's character for one byte.
    public static func spelling(ofByte b: UInt8) -> String {
        let printable = (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b)
        if printable { return String(Character(Unicode.Scalar(b))) }
        var n: UInt32 = 0
        for x in 0..<Int(b) {
            let p = (0x21...0x7E).contains(x) || (0xA1...0xAC).contains(x) || (0xAE...0xFF).contains(x)
            if !p { n += 1 }
        }
        return Unicode.Scalar(256 + n).map { String(Character($0)) } ?? "?"
    }

    /// The GGUF metadata (no tensors).
    public func writer() -> GGUFWriter {
        var w = GGUFWriter()
        w.set("general.architecture", .string("tiny-tokenizer"))
        addMetadata(to: &w)
        return w
    }

    /// Adds the `tokenizer.ggml.*` keys (and ``extra``) to `w`, e.g. beside a tiny model's tensors.
    public func addMetadata(to w: inout GGUFWriter) {
        w.set("tokenizer.ggml.model", .string(model))
        if let pre { w.set("tokenizer.ggml.pre", .string(pre)) }
        w.set("tokenizer.ggml.tokens", .array(elementType: .string, tokens.map { .string($0) }))
        w.set("tokenizer.ggml.token_type", .array(elementType: .int32, types.map { .int32($0) }))
        if model == "llama" {
            w.set("tokenizer.ggml.scores", .array(elementType: .float32, scores.map { .float32($0) }))
        }
        if model == "gpt2" {
            w.set("tokenizer.ggml.merges", .array(elementType: .string, merges.map { .string($0) }))
        }
        for (k, v) in extra { w.set(k, v) }
    }

    /// Writes the vocabulary as a GGUF file at `path`.
    public func write(to path: String) throws { try writer().write(to: path) }
}
