/// Character classes used by the pre-tokenizer regexes (`\p{L}`, `\p{N}`, `\s`, anything else).
enum CharClass {
    /// Past the end of the text being split (a regex lookahead sees nothing there).
    static let none: UInt8 = 0
    static let letter: UInt8 = 1
    static let number: UInt8 = 2
    static let space: UInt8 = 3
    static let other: UInt8 = 4

    private static let ascii: [UInt8] = (0..<128).map { (c: Int) -> UInt8 in
        switch c {
        case 0x41...0x5A, 0x61...0x7A: return letter
        case 0x30...0x39: return number
        case 0x09...0x0D, 0x20: return space
        default: return other
        }
    }

    /// The class of code point `cp`: Unicode `White_Space`, general category L*, N*, or other.
    @inline(__always)
    static func of(_ cp: UInt32) -> UInt8 {
        if cp < 128 { return ascii[Int(cp)] }
        guard let scalar = Unicode.Scalar(cp) else { return other }
        let p = scalar.properties
        if p.isWhitespace { return space }
        switch p.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return letter
        case .decimalNumber, .letterNumber, .otherNumber: return number
        default: return other
        }
    }
}

/// The regex-based splitting that byte-level BPE applies before merging, as in llama.cpp.
///
/// Each case is a hand-written scanner that reproduces the match sequence of a regex exactly
/// (leftmost match, alternatives tried in order, greedy with backtracking).
enum PreTokenizerKind: Sendable, Equatable {
    /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
    case qwen2
    /// As ``qwen2`` but numbers in groups of up to three (`\p{N}{1,3}`); whole words found in the
    /// vocabulary skip the merges.
    case llama3
    /// GPT-2: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
    case gpt2
    /// Every number character split off on its own first (`\p{N}`), then ``gpt2`` on the rest
    /// (llama.cpp's "smollm", "starcoder", "refact", ...).
    case digitsThenGPT2

    /// `tokenizer.ggml.pre` values understood, as in llama.cpp's `llama_vocab::impl::load`.
    static let namesByKind: [(PreTokenizerKind, [String])] = [
        (.qwen2, ["qwen2", "deepseek-r1-qwen", "stablelm2", "megrez"]),
        (.llama3, ["llama3", "llama-v3", "llama-bpe", "falcon3", "pixtral", "dbrx", "smaug-bpe"]),
        (.gpt2, ["gpt-2", "phi-2", "mpt", "olmo", "jais"]),
        (.digitsThenGPT2, ["smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b"]),
    ]

    /// All supported names.
    static var supportedNames: [String] { namesByKind.flatMap { $0.1 } }

    /// The kind for a `tokenizer.ggml.pre` value.
    init?(name: String) {
        guard let kind = PreTokenizerKind.namesByKind.first(where: { $0.1.contains(name) })?.0 else { return nil }
        self = kind
    }

    /// Splits `cps` (with classes `cls`) and appends the end index of each piece to `ends`.
    func split(_ cps: UnsafeBufferPointer<UInt32>, _ cls: UnsafeBufferPointer<UInt8>, into ends: inout [Int]) {
        switch self {
        case .qwen2: PreTokenizerKind.splitQwen(cps, cls, digitGroup: 1, into: &ends)
        case .llama3: PreTokenizerKind.splitQwen(cps, cls, digitGroup: 3, into: &ends)
        case .gpt2: PreTokenizerKind.splitGPT2(cps, cls, 0, cps.count, into: &ends)
        case .digitsThenGPT2:
            var start = 0
            for i in 0..<cps.count where cls[i] == CharClass.number {
                if i > start { PreTokenizerKind.splitGPT2(cps, cls, start, i, into: &ends) }
                ends.append(i + 1)
                start = i + 1
            }
            if start < cps.count { PreTokenizerKind.splitGPT2(cps, cls, start, cps.count, into: &ends) }
        }
    }

    private static let cr: UInt32 = 0x0D, lf: UInt32 = 0x0A, sp: UInt32 = 0x20, apostrophe: UInt32 = 0x27

    /// Length of a contraction (`'s`, `'t`, `'m`, `'d`, `'re`, `'ve`, `'ll`) starting at `pos`, or 0.
    @inline(__always)
    private static func contraction(_ cps: UnsafeBufferPointer<UInt32>, _ pos: Int, _ hi: Int, caseInsensitive: Bool) -> Int {
        guard cps[pos] == apostrophe, pos + 1 < hi else { return 0 }
        func fold(_ c: UInt32) -> UInt32 { caseInsensitive && c >= 0x41 && c <= 0x5A ? c + 0x20 : c }
        let a = fold(cps[pos + 1])
        if a == 0x73 || a == 0x74 || a == 0x6D || a == 0x64 { return 2 }  // s t m d
        guard pos + 2 < hi else { return 0 }
        let b = fold(cps[pos + 2])
        if (a == 0x72 && b == 0x65) || (a == 0x76 && b == 0x65) || (a == 0x6C && b == 0x6C) { return 3 }  // re ve ll
        return 0
    }

    private static func splitQwen(_ cps: UnsafeBufferPointer<UInt32>, _ cls: UnsafeBufferPointer<UInt8>,
                                  digitGroup: Int, into ends: inout [Int]) {
        let n = cps.count
        @inline(__always) func cl(_ i: Int) -> UInt8 { i < n ? cls[i] : CharClass.none }
        var pos = 0
        while pos < n {
            let c = cps[pos], f = cls[pos]
            // (?i:'s|'t|'re|'ve|'m|'ll|'d)
            let k = contraction(cps, pos, n, caseInsensitive: true)
            if k > 0 {
                pos += k
                ends.append(pos)
                continue
            }
            // [^\r\n\p{L}\p{N}]?\p{L}+
            if c != cr && c != lf && f != CharClass.number && (f == CharClass.letter || cl(pos + 1) == CharClass.letter) {
                pos += 1
                while cl(pos) == CharClass.letter { pos += 1 }
                ends.append(pos)
                continue
            }
            // \p{N} or \p{N}{1,3}
            if f == CharClass.number {
                var taken = 0
                while taken < digitGroup && cl(pos) == CharClass.number {
                    pos += 1
                    taken += 1
                }
                ends.append(pos)
                continue
            }
            // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
            let f2 = c == sp ? cl(pos + 1) : f
            if f2 == CharClass.other {
                if c == sp { pos += 1 }
                while cl(pos) == CharClass.other { pos += 1 }
                while pos < n && (cps[pos] == cr || cps[pos] == lf) { pos += 1 }
                ends.append(pos)
                continue
            }
            // Whitespace: \s*[\r\n]+ | \s+(?!\S) | \s+
            var end = pos
            var afterLastNewline = -1
            while cl(end) == CharClass.space {
                if cps[end] == cr || cps[end] == lf { afterLastNewline = end + 1 }
                end += 1
            }
            if afterLastNewline > 0 {
                pos = afterLastNewline
            } else if end - pos > 1 && end < n {
                pos = end - 1
            } else if end > pos {
                pos = end
            } else {
                pos += 1  // unreachable: every class is handled above
            }
            ends.append(pos)
        }
    }

    private static func splitGPT2(_ cps: UnsafeBufferPointer<UInt32>, _ cls: UnsafeBufferPointer<UInt8>,
                                  _ lo: Int, _ hi: Int, into ends: inout [Int]) {
        @inline(__always) func cl(_ i: Int) -> UInt8 { i < hi ? cls[i] : CharClass.none }
        var pos = lo
        while pos < hi {
            let c = cps[pos], f = cls[pos]
            // 's|'t|'re|'ve|'m|'ll|'d
            let k = contraction(cps, pos, hi, caseInsensitive: false)
            if k > 0 {
                pos += k
                ends.append(pos)
                continue
            }
            let f2 = c == sp ? cl(pos + 1) : f
            // ' ?\p{L}+', ' ?\p{N}+', ' ?[^\s\p{L}\p{N}]+'
            if f2 == CharClass.letter || f2 == CharClass.number || f2 == CharClass.other {
                if c == sp { pos += 1 }
                while cl(pos) == f2 { pos += 1 }
                ends.append(pos)
                continue
            }
            // \s+(?!\S) | \s+
            var end = pos
            while cl(end) == CharClass.space { end += 1 }
            if end - pos > 1 && end < hi {
                pos = end - 1
            } else if end > pos {
                pos = end
            } else {
                pos += 1  // unreachable: every class is handled above
            }
            ends.append(pos)
        }
    }
}
