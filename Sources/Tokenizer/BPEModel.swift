/// Byte-level BPE (`tokenizer.ggml.model` = "gpt2"), following llama.cpp's `llm_tokenizer_bpe_session`.
///
/// Text is split by the pre-tokenizer; each piece's bytes start as one symbol per byte (the
/// vocabulary token spelling that byte) and the adjacent pair with the lowest merge rank is merged
/// until none is left (equal ranks: leftmost first).
struct BPEModel: Sendable {
    /// Merge rules keyed by `left id << 32 | right id`; value `rank << 32 | merged id`.
    let merges: [UInt64: UInt64]
    /// Merge rules as `left id << 32 | right id`, in rank order (`UInt64.max`: a rule that cannot apply).
    let mergeKeys: [UInt64]
    /// The token spelling each byte, or -1.
    let byteTokens: [Int32]
    let preTokenizer: PreTokenizerKind
    /// Fallback for a byte with no token (nil: the byte is dropped).
    let unknown: Int32?

    /// Parses the `"left right"` merge rules against the vocabulary.
    static func build(table: TokenTable, rules: [String], preTokenizer: PreTokenizerKind,
                      unknown: Int32?) -> Result<BPEModel, TokenizerError> {
        var merges: [UInt64: UInt64] = [:]
        merges.reserveCapacity(rules.count)
        var keys: [UInt64] = []
        keys.reserveCapacity(rules.count)
        for (rank, rule) in rules.enumerated() {
            var r = rule
            let parsed: Result<(UInt64, Int32)?, TokenizerError> = r.withUTF8 { u in
                // Split at the first space after the first byte, as llama.cpp does.
                guard u.count >= 3, let space = u[1...].firstIndex(of: 0x20) else {
                    return .failure(.invalidMerge(index: rank, rule: rule, reason: "no space separating two parts"))
                }
                let left = UnsafeBufferPointer(rebasing: u[0..<space])
                let right = UnsafeBufferPointer(rebasing: u[(space + 1)...])
                // Every symbol is a vocabulary token, so a rule whose parts or result are not
                // tokens can never apply: it keeps its rank but is otherwise skipped.
                guard let a = table.lookup(left), let b = table.lookup(right) else { return .success(nil) }
                var joined = Array(left)
                joined.append(contentsOf: right)
                guard let m = joined.withUnsafeBufferPointer({ table.lookup($0) }) else { return .success(nil) }
                return .success((UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b)), m))
            }
            switch parsed {
            case .failure(let e): return .failure(e)
            case .success(nil): keys.append(UInt64.max)
            case .success(let .some((key, merged))):
                keys.append(key)
                if merges[key] == nil { merges[key] = UInt64(rank) << 32 | UInt64(UInt32(bitPattern: merged)) }
            }
        }
        var bytes = [Int32](repeating: -1, count: 256)
        for b in 0..<256 {
            bytes[b] = ByteLevel.byteToUTF8[b].withUnsafeBufferPointer { table.lookup($0) } ?? -1
        }
        return .success(BPEModel(merges: merges, mergeKeys: keys, byteTokens: bytes,
                                 preTokenizer: preTokenizer, unknown: unknown))
    }

    /// Reusable buffers for one encode call.
    struct Scratch {
        var cps: [UInt32] = []
        var classes: [UInt8] = []
        var byteOffsets: [Int] = []
        var ends: [Int] = []
        var ids: [Int32] = []
        var prev: [Int32] = []
        var next: [Int32] = []
        var heap = BinaryHeap<RankedPair>()
        var encoded: [UInt8] = []
    }

    /// A candidate merge: `rank << 32 | left symbol index` (lower pops first).
    struct RankedPair: HeapOrdered {
        let key: UInt64
        @inline(__always) static func precedes(_ a: RankedPair, _ b: RankedPair) -> Bool { a.key < b.key }
    }

    /// Encodes one raw-text fragment (no special tokens inside) and appends the ids to `out`.
    func encode(_ text: UnsafeBufferPointer<UInt8>, table: TokenTable, into out: inout [Int32], scratch s: inout Scratch) {
        guard !text.isEmpty else { return }
        UTF8Scan.decode(text, cps: &s.cps, offsets: &s.byteOffsets)
        s.classes.removeAll(keepingCapacity: true)
        for cp in s.cps { s.classes.append(CharClass.of(cp)) }
        s.ends.removeAll(keepingCapacity: true)
        let cps = s.cps, classes = s.classes
        cps.withUnsafeBufferPointer { c in
            classes.withUnsafeBufferPointer { cls in preTokenizer.split(c, cls, into: &s.ends) }
        }
        var start = 0
        for end in s.ends {
            let piece = UnsafeBufferPointer(rebasing: text[s.byteOffsets[start]..<s.byteOffsets[end]])
            start = end
            if preTokenizer == .llama3, let whole = wholeWordToken(piece, table: table, scratch: &s) {
                out.append(whole)
                continue
            }
            encodePiece(piece, into: &out, scratch: &s)
        }
    }

    /// llama.cpp's `ignore_merges`: a piece whose byte-level spelling is a token is that token.
    private func wholeWordToken(_ piece: UnsafeBufferPointer<UInt8>, table: TokenTable, scratch s: inout Scratch) -> Int32? {
        s.encoded.removeAll(keepingCapacity: true)
        for b in piece { s.encoded.append(contentsOf: ByteLevel.byteToUTF8[Int(b)]) }
        return s.encoded.withUnsafeBufferPointer { table.lookup($0) }
    }

    @inline(__always)
    private func merge(_ a: Int32, _ b: Int32) -> UInt64? {
        guard a >= 0, b >= 0 else { return nil }
        return merges[UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b))]
    }

    private func encodePiece(_ piece: UnsafeBufferPointer<UInt8>, into out: inout [Int32], scratch s: inout Scratch) {
        let n = piece.count
        s.ids.removeAll(keepingCapacity: true)
        s.prev.removeAll(keepingCapacity: true)
        s.next.removeAll(keepingCapacity: true)
        s.heap.removeAll()
        for (i, b) in piece.enumerated() {
            s.ids.append(byteTokens[Int(b)])
            s.prev.append(Int32(i - 1))
            s.next.append(i + 1 < n ? Int32(i + 1) : -1)
        }
        for i in 0..<(n - 1) {
            if let m = merge(s.ids[i], s.ids[i + 1]) { s.heap.push(RankedPair(key: (m >> 32) << 32 | UInt64(i))) }
        }
        let dead = Int32.min
        while let top = s.heap.pop() {
            let left = Int(top.key & 0xFFFF_FFFF)
            let rank = top.key >> 32
            let right = Int(s.next[left])
            guard s.ids[left] != dead, right >= 0, let m = merge(s.ids[left], s.ids[right]), m >> 32 == rank else {
                continue  // stale entry
            }
            s.ids[left] = Int32(truncatingIfNeeded: m & 0xFFFF_FFFF)
            s.ids[right] = dead
            let after = s.next[right]
            s.next[left] = after
            if after >= 0 { s.prev[Int(after)] = Int32(left) }
            let before = Int(s.prev[left])
            if before >= 0, let pm = merge(s.ids[before], s.ids[left]) {
                s.heap.push(RankedPair(key: (pm >> 32) << 32 | UInt64(before)))
            }
            if after >= 0, let nm = merge(s.ids[left], s.ids[Int(after)]) {
                s.heap.push(RankedPair(key: (nm >> 32) << 32 | UInt64(left)))
            }
        }
        var i = 0
        while i >= 0 {
            let id = s.ids[i]
            if id >= 0 {
                out.append(id)
            } else if let unk = unknown {
                out.append(unk)
            }
            i = Int(s.next[i])
        }
    }
}

/// UTF-8 scanning helpers.
enum UTF8Scan {
    /// Decodes `text` into code points, with `offsets[i]` the byte offset of code point `i`
    /// (and a final entry equal to `text.count`). Malformed bytes decode as U+FFFD, one per byte.
    static func decode(_ text: UnsafeBufferPointer<UInt8>, cps: inout [UInt32], offsets: inout [Int]) {
        cps.removeAll(keepingCapacity: true)
        offsets.removeAll(keepingCapacity: true)
        var i = 0
        let n = text.count
        while i < n {
            offsets.append(i)
            let b0 = text[i]
            let len = sequenceLength(b0)
            if len == 1 || i + len > n {
                cps.append(len == 1 ? UInt32(b0) : 0xFFFD)
                i += 1
                continue
            }
            var cp = UInt32(b0) & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07)
            var ok = true
            for k in 1..<len {
                let b = text[i + k]
                if b & 0xC0 != 0x80 { ok = false; break }
                cp = cp << 6 | UInt32(b & 0x3F)
            }
            if ok {
                cps.append(cp)
                i += len
            } else {
                cps.append(0xFFFD)
                i += 1
            }
        }
        offsets.append(n)
    }

    /// Length of the UTF-8 sequence a lead byte starts (1 for ASCII and stray continuation bytes).
    @inline(__always)
    static func sequenceLength(_ b: UInt8) -> Int {
        if b < 0xC0 { return 1 }
        if b < 0xE0 { return 2 }
        if b < 0xF0 { return 3 }
        return 4
    }
}
