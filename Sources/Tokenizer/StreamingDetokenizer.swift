/// Turns generated tokens into text one token at a time without ever emitting broken UTF-8.
///
/// A character can be split across tokens (byte-fallback `<0xNN>` tokens, or byte-level BPE
/// pieces that end mid-character); the incomplete tail is held back until the token that completes
/// it arrives. Concatenating every ``append(_:)`` result and ``finish()`` gives the same text as
/// ``Tokenizer/decode(_:skipSpecial:)`` on all the tokens, except that no leading space is removed
/// (generated text continues a prompt).
///
/// ```swift
/// var stream = StreamingDetokenizer(tokenizer: tokenizer)
/// for id in generated { print(stream.append(id), terminator: "") }
/// print(stream.finish())
/// ```
public struct StreamingDetokenizer: Sendable {
    /// The tokenizer whose tokens are decoded.
    public let tokenizer: Tokenizer
    /// Whether control tokens render as nothing.
    public let skipSpecial: Bool
    private var pending: [UInt8] = []

    /// - Parameters:
    ///   - tokenizer: the vocabulary the tokens come from.
    ///   - skipSpecial: render control tokens (e.g. `<|im_end|>`) as empty text (the default).
    public init(tokenizer: Tokenizer, skipSpecial: Bool = true) {
        self.tokenizer = tokenizer
        self.skipSpecial = skipSpecial
    }

    /// Adds one token and returns the text that is now complete (possibly empty).
    public mutating func append(_ token: Int32) -> String {
        tokenizer.appendBytes(of: token, skipSpecial: skipSpecial, to: &pending)
        let keep = StreamingDetokenizer.incompleteTailLength(pending)
        guard pending.count > keep else { return "" }
        let ready = pending.count - keep
        let text = String(decoding: pending[0..<ready], as: UTF8.self)
        pending.removeFirst(ready)
        return text
    }

    /// Adds several tokens and returns the text that is now complete.
    public mutating func append<S: Sequence>(contentsOf tokens: S) -> String where S.Element == Int32 {
        var out = ""
        for t in tokens { out += append(t) }
        return out
    }

    /// Returns whatever is held back (an incomplete sequence decodes as U+FFFD) and resets.
    public mutating func finish() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }

    /// Bytes at the end of `bytes` that start a UTF-8 sequence still missing continuation bytes.
    static func incompleteTailLength(_ bytes: [UInt8]) -> Int {
        var i = bytes.count - 1
        var continuation = 0
        while i >= 0 && continuation < 3 && bytes[i] & 0xC0 == 0x80 {
            continuation += 1
            i -= 1
        }
        guard i >= 0 else { return 0 }
        let lead = bytes[i]
        let needed: Int
        switch lead {
        case 0xC2...0xDF: needed = 2
        case 0xE0...0xEF: needed = 3
        case 0xF0...0xF4: needed = 4
        default: return 0  // ASCII or invalid: nothing to wait for
        }
        return continuation + 1 < needed ? continuation + 1 : 0
    }
}
