/// Token texts stored as one UTF-8 byte buffer with an open-addressing hash index.
///
/// Looks a byte span up without allocating a `String`, which the BPE and SentencePiece
/// merge loops do for every candidate pair.
struct TokenTable: Sendable {
    /// All token texts, back to back.
    private(set) var bytes: [UInt8] = []
    /// `offsets[i] ..< offsets[i + 1]` is token `i`'s text in `bytes`.
    private(set) var offsets: [Int32] = [0]
    /// Hash slots holding token ids; -1 is empty.
    private var slots: [Int32] = []
    private var mask = 0

    /// Number of tokens.
    var count: Int { offsets.count - 1 }

    /// Builds the table. Returns the first pair of ids that share a text, if any, instead of a table.
    static func build(_ texts: [String]) -> Result<TokenTable, TokenizerError> {
        var t = TokenTable()
        var total = 0
        for s in texts { total += s.utf8.count }
        guard total < Int(Int32.max) else {
            return .failure(.invalidMetadata(key: "tokenizer.ggml.tokens", reason: "token texts exceed 2 GiB"))
        }
        t.bytes.reserveCapacity(total)
        t.offsets.reserveCapacity(texts.count + 1)
        for s in texts {
            t.bytes.append(contentsOf: s.utf8)
            t.offsets.append(Int32(t.bytes.count))
        }
        var capacity = 16
        while capacity < texts.count * 2 { capacity <<= 1 }
        let mask = capacity - 1
        var slots = [Int32](repeating: -1, count: capacity)
        var duplicate: (Int, Int)?
        t.bytes.withUnsafeBufferPointer { buf in
            for id in 0..<texts.count {
                let start = Int(t.offsets[id]), count = Int(t.offsets[id + 1]) - start
                let base = buf.baseAddress.map { UnsafeRawPointer($0) + start }
                var i = TokenTable.hash(base, count) & mask
                var clash = false
                while slots[i] >= 0 {
                    if t.equal(Int(slots[i]), base, count, in: buf) { clash = true; break }
                    i = (i + 1) & mask
                }
                if clash {
                    duplicate = (Int(slots[i]), id)
                    return
                }
                slots[i] = Int32(id)
            }
        }
        if let (first, second) = duplicate {
            return .failure(.duplicateToken(text: texts[second], firstID: first, secondID: second))
        }
        t.slots = slots
        t.mask = mask
        return .success(t)
    }

    /// The id of the token whose text is exactly `count` bytes at `pointer`.
    @inline(__always)
    func lookup(_ pointer: UnsafeRawPointer?, _ count: Int) -> Int32? {
        guard !slots.isEmpty else { return nil }
        let h = TokenTable.hash(pointer, count)
        return bytes.withUnsafeBufferPointer { buf -> Int32? in
            var i = h & mask
            while true {
                let id = slots[i]
                if id < 0 { return nil }
                if equal(Int(id), pointer, count, in: buf) { return id }
                i = (i + 1) & mask
            }
        }
    }

    /// The id of the token whose text is `bytes`.
    func lookup(_ span: UnsafeBufferPointer<UInt8>) -> Int32? {
        lookup(span.baseAddress.map { UnsafeRawPointer($0) }, span.count)
    }

    /// The id of the token whose text is `text`.
    func lookup(_ text: String) -> Int32? {
        var s = text
        return s.withUTF8 { lookup($0) }
    }

    /// The UTF-8 bytes of token `id` (which must be valid).
    func text(_ id: Int) -> ArraySlice<UInt8> {
        bytes[Int(offsets[id])..<Int(offsets[id + 1])]
    }

    /// Byte length of token `id`.
    func length(_ id: Int) -> Int { Int(offsets[id + 1] - offsets[id]) }

    @inline(__always)
    private func equal(_ id: Int, _ pointer: UnsafeRawPointer?, _ count: Int, in buf: UnsafeBufferPointer<UInt8>) -> Bool {
        let start = Int(offsets[id])
        guard Int(offsets[id + 1]) - start == count else { return false }
        if count == 0 { return true }
        guard let p = pointer, let b = buf.baseAddress else { return false }
        return memcmp(UnsafeRawPointer(b) + start, p, count) == 0
    }

    /// FNV-1a, folded to a non-negative Int.
    @inline(__always)
    private static func hash(_ pointer: UnsafeRawPointer?, _ count: Int) -> Int {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        if let p = pointer {
            for i in 0..<count {
                h ^= UInt64(p.load(fromByteOffset: i, as: UInt8.self))
                h &*= 0x0000_0100_0000_01b3
            }
        }
        h ^= h >> 29
        return Int(truncatingIfNeeded: h & 0x7fff_ffff_ffff_ffff)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
