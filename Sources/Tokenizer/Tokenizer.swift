import SpecDecGGUF

/// The kind of a vocabulary entry (`tokenizer.ggml.token_type`).
public enum TokenType: Int32, Sendable, CustomStringConvertible {
    /// Type 0 or an unknown value: never matched as special text, decodes to nothing.
    case undefined = 0
    /// An ordinary piece of text.
    case normal = 1
    /// The unknown-token placeholder.
    case unknown = 2
    /// A control token such as `<|im_start|>` or `<bos>`.
    case control = 3
    /// A user-defined token, matched whole in text even without `parseSpecial` (e.g. `<tool_call>`).
    case userDefined = 4
    /// A reserved, unused slot: decodes to nothing.
    case unused = 5
    /// A byte-fallback token `<0xNN>`.
    case byte = 6

    /// The type's name as in llama.cpp's logs ("control", "user-defined", ...).
    public var description: String {
        switch self {
        case .undefined: return "undefined"
        case .normal: return "normal"
        case .unknown: return "unknown"
        case .control: return "control"
        case .userDefined: return "user-defined"
        case .unused: return "unused"
        case .byte: return "byte"
        }
    }
}

/// Which tokenization algorithm a vocabulary uses (`tokenizer.ggml.model`).
public enum TokenizerKind: String, Sendable {
    /// Byte-level BPE with merge rules ("gpt2"): Qwen2, SmolLM2, Llama 3, ...
    case byteLevelBPE = "gpt2"
    /// SentencePiece-style BPE with scores ("llama"): Gemma 3, Llama 2, ...
    case sentencePiece = "llama"
}

/// A tokenizer read from GGUF metadata that reproduces llama.cpp's tokenization.
///
/// ```swift
/// let file = try GGUFFile(path: "qwen2.5-coder-0.5b.gguf")
/// let tokenizer = try Tokenizer(gguf: file)
/// let ids = tokenizer.encode("<|im_start|>user\nHi<|im_end|>\n")
/// let text = tokenizer.decode(ids)
/// ```
///
/// Immutable after `init`, so it can be shared between threads.
public final class Tokenizer: @unchecked Sendable {
    /// The tokenization algorithm.
    public let kind: TokenizerKind
    /// `tokenizer.ggml.pre`, when present.
    public let preTokenizerName: String?
    /// Token ids of the beginning/end-of-sequence, unknown and padding tokens, when the file names them.
    public let bosToken: Int32?, eosToken: Int32?, unknownToken: Int32?, paddingToken: Int32?
    /// Whether ``encode(_:addBOS:parseSpecial:)`` adds BOS by default (`tokenizer.ggml.add_bos_token`).
    public let addBOSByDefault: Bool
    /// `tokenizer.ggml.add_eos_token`; informational: ``encode(_:addBOS:parseSpecial:)`` never appends EOS.
    public let addEOSByDefault: Bool
    /// Whether SentencePiece text gets a leading `▁` (`tokenizer.ggml.add_space_prefix`).
    public let addSpacePrefix: Bool
    /// Tokens that end a turn: EOS plus `<|im_end|>`, `<end_of_turn>`, `<|endoftext|>` and `<|eot_id|>` where present.
    public let endOfTurnTokens: Set<Int32>

    let tokens: [String]
    let types: [TokenType]
    let table: TokenTable
    let specials: SpecialTokenMatcher
    let bpe: BPEModel?
    let spm: SPMModel?

    /// Number of tokens in the vocabulary.
    public var vocabularySize: Int { tokens.count }

    /// Reads the tokenizer from a GGUF file's metadata.
    ///
    /// - Throws: ``TokenizerError`` when a key is missing or malformed, the model or
    ///   pre-tokenizer is not supported, or a special-token id is out of range.
    public init(gguf: GGUFFile) throws(TokenizerError) {
        let m = try TokenizerMetadata(gguf.metadata)
        kind = m.kind
        preTokenizerName = m.pre
        tokens = m.tokens
        types = m.types
        bosToken = m.bos
        eosToken = m.eos
        unknownToken = m.unknown
        paddingToken = m.padding
        addBOSByDefault = m.addBOS
        addEOSByDefault = m.addEOS
        addSpacePrefix = m.addSpacePrefix

        switch TokenTable.build(m.tokens) {
        case .success(let t): table = t
        case .failure(let e): throw e
        }
        switch m.kind {
        case .byteLevelBPE:
            guard let pre = m.pre.flatMap(PreTokenizerKind.init(name:)) else {
                throw TokenizerError.unsupportedPreTokenizer(m.pre)
            }
            switch BPEModel.build(table: table, rules: m.merges, preTokenizer: pre, unknown: m.unknown) {
            case .success(let model): bpe = model
            case .failure(let e): throw e
            }
            spm = nil
        case .sentencePiece:
            bpe = nil
            spm = SPMModel.build(table: table, scores: m.scores, unknown: m.unknown)
        }

        var matcher = SpecialTokenMatcher()
        for (id, type) in m.types.enumerated() where type == .control || type == .userDefined || type == .unknown {
            matcher.insert(table.text(id), id: Int32(id), onlyWithParseSpecial: type != .userDefined)
        }
        specials = matcher

        var eot: Set<Int32> = []
        if let e = m.eos { eot.insert(e) }
        for text in ["<|im_end|>", "<end_of_turn>", "<|endoftext|>", "<|eot_id|>"] {
            if let id = table.lookup(text) { eot.insert(id) }
        }
        endOfTurnTokens = eot
    }

    /// The text of token `id` as stored in the vocabulary (byte-level or `▁` spelling), or nil when out of range.
    /// Token ids from the likeliest to the least likely by the tokenizer's own statistics: the
    /// SentencePiece scores (unigram log-probabilities) when the vocabulary has distinct scores, else
    /// id order (byte-level BPE ids follow merge order, which follows frequency). Used to rank the
    /// tokens a calibration did not see.
    public var frequencyOrder: [Int32] {
        let ids = (0..<Int32(vocabularySize)).map { $0 }
        guard let scores = spm?.scores, scores.count == vocabularySize, Set(scores.prefix(4096)).count > 1 else { return ids }
        return ids.sorted { scores[Int($0)] != scores[Int($1)] ? scores[Int($0)] > scores[Int($1)] : $0 < $1 }
    }

    public func tokenText(_ id: Int32) -> String? {
        guard id >= 0, Int(id) < tokens.count else { return nil }
        return tokens[Int(id)]
    }

    /// The id of the token whose vocabulary text is exactly `text`.
    public func tokenID(_ text: String) -> Int32? { table.lookup(text) }

    /// The type of token `id`, or nil when out of range.
    public func tokenType(_ id: Int32) -> TokenType? {
        guard id >= 0, Int(id) < types.count else { return nil }
        return types[Int(id)]
    }

    /// Whether `id` is a control (or unknown-placeholder) token, which decoding can skip.
    public func isControl(_ id: Int32) -> Bool {
        guard let t = tokenType(id) else { return false }
        return t == .control || t == .unknown
    }

    /// Token ids for `text`.
    ///
    /// - Parameters:
    ///   - addBOS: prepend the BOS token; nil uses the model's default (``addBOSByDefault``).
    ///   - parseSpecial: match control tokens written in the text (e.g. `<|im_start|>`) as single
    ///     tokens. User-defined tokens (e.g. `<tool_call>`) are always matched, as in llama.cpp.
    public func encode(_ text: String, addBOS: Bool? = nil, parseSpecial: Bool = true) -> [Int32] {
        var out: [Int32] = []
        if addBOS ?? addBOSByDefault, let bos = bosToken { out.append(bos) }
        var s = text
        s.withUTF8 { buf in
            let fragments = specials.partition(buf, parseSpecial: parseSpecial)
            out.reserveCapacity(out.count + buf.count / 3 + fragments.count)
            if let bpe {
                var scratch = BPEModel.Scratch()
                for f in fragments {
                    switch f {
                    case .token(let id): out.append(id)
                    case .text(let r): bpe.encode(UnsafeBufferPointer(rebasing: buf[r]), table: table, into: &out, scratch: &scratch)
                    }
                }
            } else if let spm {
                var scratch = SPMModel.Scratch()
                var previousWasSpecial = true  // llama.cpp: a space prefix goes before the first text too
                for f in fragments {
                    switch f {
                    case .token(let id):
                        out.append(id)
                        previousWasSpecial = true
                    case .text(let r):
                        spm.encode(UnsafeBufferPointer(rebasing: buf[r]), spacePrefix: addSpacePrefix && previousWasSpecial,
                                   table: table, into: &out, scratch: &scratch)
                        previousWasSpecial = false
                    }
                }
            }
        }
        return out
    }
}
