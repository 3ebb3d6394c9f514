/// SentencePiece-style BPE (`tokenizer.ggml.model` = "llama"), following llama.cpp's `llm_tokenizer_spm`.
///
/// Spaces become `▁` (U+2581); the text starts as one symbol per UTF-8 character; the adjacent
/// pair whose concatenation is a vocabulary token with the highest score is merged until none is
/// left (equal scores: leftmost first). A character that is not a token falls back to its
/// `<0xNN>` byte tokens.
struct SPMModel: Sendable {
    /// Score of each token (0 when the file has none).
    let scores: [Float]
    /// The `<0xNN>` token of each byte (or the one-byte token), or -1.
    let byteTokens: [Int32]
    /// Fallback for a byte with no token (nil: the byte is dropped).
    let unknown: Int32?

    static func build(table: TokenTable, scores: [Float], unknown: Int32?) -> SPMModel {
        let hex = Array("0123456789ABCDEF".utf8)
        var bytes = [Int32](repeating: -1, count: 256)
        for b in 0..<256 {
            let name: [UInt8] = [0x3C, 0x30, 0x78, hex[b >> 4], hex[b & 15], 0x3E]  // <0xNN>
            let single: [UInt8] = [UInt8(b)]
            bytes[b] = name.withUnsafeBufferPointer { table.lookup($0) }
                ?? single.withUnsafeBufferPointer { table.lookup($0) } ?? -1
        }
        return SPMModel(scores: scores, byteTokens: bytes, unknown: unknown)
    }

    /// A candidate merge of symbols `left` and `right` into a token with `score`.
    struct ScoredPair: HeapOrdered {
        let score: Float
        let left: Int32
        let right: Int32
        let size: Int32
        @inline(__always) static func precedes(_ a: ScoredPair, _ b: ScoredPair) -> Bool {
            a.score > b.score || (a.score == b.score && a.left < b.left)
        }
    }

    /// Reusable buffers for one encode call.
    struct Scratch {
        var text: [UInt8] = []
        var start: [Int32] = []
        var length: [Int32] = []
        var prev: [Int32] = []
        var next: [Int32] = []
        var heap = BinaryHeap<ScoredPair>()
    }

    /// Encodes one raw-text fragment and appends the ids to `out`.
    /// - Parameter spacePrefix: prepend a space first (llama.cpp's `add_space_prefix` after a special token).
    func encode(_ raw: UnsafeBufferPointer<UInt8>, spacePrefix: Bool, table: TokenTable,
                into out: inout [Int32], scratch s: inout Scratch) {
        s.text.removeAll(keepingCapacity: true)
        if spacePrefix { s.text.append(contentsOf: [0xE2, 0x96, 0x81]) }
        for b in raw {
            if b == 0x20 {
                s.text.append(contentsOf: [0xE2, 0x96, 0x81])
            } else {
                s.text.append(b)
            }
        }
        guard !s.text.isEmpty else { return }
        s.start.removeAll(keepingCapacity: true)
        s.length.removeAll(keepingCapacity: true)
        s.prev.removeAll(keepingCapacity: true)
        s.next.removeAll(keepingCapacity: true)
        s.heap.removeAll()
        var offset = 0
        let n = s.text.count
        while offset < n {
            let len = min(UTF8Scan.sequenceLength(s.text[offset]), n - offset)
            let index = s.start.count
            s.start.append(Int32(offset))
            s.length.append(Int32(len))
            s.prev.append(Int32(index - 1))
            offset += len
            s.next.append(offset < n ? Int32(index + 1) : -1)
        }
        let text = s.text
        text.withUnsafeBufferPointer { buf in
            guard let base = buf.baseAddress.map(UnsafeRawPointer.init) else { return }
            func tryAdd(_ left: Int32, _ right: Int32) {
                guard left >= 0, right >= 0 else { return }
                let size = Int(s.length[Int(left)] + s.length[Int(right)])
                guard let id = table.lookup(base + Int(s.start[Int(left)]), size) else { return }
                s.heap.push(ScoredPair(score: scores[Int(id)], left: left, right: right, size: Int32(size)))
            }
            for i in 1..<max(s.start.count, 1) { tryAdd(Int32(i - 1), Int32(i)) }
            while let top = s.heap.pop() {
                let l = Int(top.left), r = Int(top.right)
                guard s.length[l] > 0, s.length[r] > 0, s.length[l] + s.length[r] == top.size else { continue }
                s.length[l] += s.length[r]
                s.length[r] = 0
                let after = s.next[r]
                s.next[l] = after
                if after >= 0 { s.prev[Int(after)] = Int32(l) }
                tryAdd(s.prev[l], Int32(l))
                tryAdd(Int32(l), after)
            }
            var i: Int32 = 0
            while i >= 0 {
                let st = Int(s.start[Int(i)]), len = Int(s.length[Int(i)])
                if let id = table.lookup(base + st, len) {
                    out.append(id)
                } else {
                    for k in st..<(st + len) {
                        let t = byteTokens[Int(buf[k])]
                        if t >= 0 {
                            out.append(t)
                        } else if let unk = unknown {
                            out.append(unk)
                        }
                    }
                }
                i = s.next[Int(i)]
            }
        }
    }
}
