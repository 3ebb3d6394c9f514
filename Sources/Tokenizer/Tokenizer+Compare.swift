extension Tokenizer {
    /// A 64-bit hash of everything that determines how text maps to ids and back: the algorithm,
    /// pre-tokenizer, every token's text and type, scores or merge rules, the BOS/EOS ids and the
    /// BOS / space-prefix defaults. Equal fingerprints mean (barring hash collisions) interchangeable tokenizers.
    public func vocabularyFingerprint() -> UInt64 {
        var h = FNV()
        h.add(Array(kind.rawValue.utf8))
        h.add(Array((preTokenizerName ?? "").utf8))
        h.add(UInt64(tokens.count))
        h.add(table.bytes)
        for o in table.offsets { h.add(UInt64(UInt32(bitPattern: o))) }
        for t in types { h.add(UInt64(UInt32(bitPattern: t.rawValue))) }
        if let bpe { for k in bpe.mergeKeys { h.add(k) } }
        if let spm { for s in spm.scores { h.add(UInt64(s.bitPattern)) } }
        for id in [bosToken, eosToken] { h.add(id.map { UInt64(UInt32(bitPattern: $0)) } ?? UInt64.max) }
        h.add(addBOSByDefault ? 1 : 0)
        h.add(addSpacePrefix ? 1 : 0)
        return h.value
    }

    /// A description of the first difference between two tokenizers that would make the same
    /// text encode to different ids (or the same ids decode differently), or nil when there is none.
    ///
    /// Used to refuse a draft model whose vocabulary does not match the target's.
    public static func differences(_ a: Tokenizer, _ b: Tokenizer) -> String? {
        if a.kind != b.kind { return "tokenizer models differ: \(a.kind.rawValue) vs \(b.kind.rawValue)" }
        if a.preTokenizerName != b.preTokenizerName {
            return "pre-tokenizers differ: \(a.preTokenizerName ?? "none") vs \(b.preTokenizerName ?? "none")"
        }
        if a.tokens.count != b.tokens.count {
            return "vocabulary sizes differ: \(a.tokens.count) vs \(b.tokens.count) tokens"
        }
        for i in 0..<a.tokens.count {
            if a.table.text(i) != b.table.text(i) {
                return "token \(i) differs: \(String(reflecting: a.tokens[i])) vs \(String(reflecting: b.tokens[i]))"
            }
            if a.types[i] != b.types[i] {
                return "token \(i) \(String(reflecting: a.tokens[i])) has type \(a.types[i]) vs \(b.types[i])"
            }
        }
        if let ma = a.bpe, let mb = b.bpe {
            if ma.mergeKeys.count != mb.mergeKeys.count {
                return "merge counts differ: \(ma.mergeKeys.count) vs \(mb.mergeKeys.count)"
            }
            if let i = ma.mergeKeys.indices.first(where: { ma.mergeKeys[$0] != mb.mergeKeys[$0] }) {
                return "merge rule #\(i) differs"
            }
        }
        if let sa = a.spm, let sb = b.spm,
           let i = sa.scores.indices.first(where: { sa.scores[$0].bitPattern != sb.scores[$0].bitPattern }) {
            return "score of token \(i) \(String(reflecting: a.tokens[i])) differs: \(sa.scores[i]) vs \(sb.scores[i])"
        }
        if a.bosToken != b.bosToken { return "BOS ids differ: \(describe(a.bosToken)) vs \(describe(b.bosToken))" }
        if a.eosToken != b.eosToken { return "EOS ids differ: \(describe(a.eosToken)) vs \(describe(b.eosToken))" }
        if a.addBOSByDefault != b.addBOSByDefault {
            return "add-BOS defaults differ: \(a.addBOSByDefault) vs \(b.addBOSByDefault)"
        }
        if a.addSpacePrefix != b.addSpacePrefix {
            return "add-space-prefix settings differ: \(a.addSpacePrefix) vs \(b.addSpacePrefix)"
        }
        return nil
    }

    private static func describe(_ id: Int32?) -> String { id.map(String.init) ?? "none" }
}

/// 64-bit FNV-1a.
private struct FNV {
    var value: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func add(_ bytes: [UInt8]) {
        for b in bytes {
            value ^= UInt64(b)
            value &*= 0x0000_0100_0000_01b3
        }
    }

    mutating func add(_ v: UInt64) {
        var x = v
        for _ in 0..<8 {
            value ^= x & 0xFF
            value &*= 0x0000_0100_0000_01b3
            x >>= 8
        }
    }
}
