/// GPT-2's reversible map between bytes and printable Unicode characters.
///
/// Byte-level BPE vocabularies spell every byte as one character: printable Latin-1 bytes
/// (`!`–`~`, `¡`–`¬`, `®`–`ÿ`) stand for themselves and the other 68 bytes map, in order, to
/// U+0100 onwards (so a space is `Ġ`, U+0120, and a newline is `Ċ`, U+010A).
enum ByteLevel {
    /// The character (as a code point) that spells byte `b`.
    static let byteToScalar: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var extra: UInt32 = 0
        for b in 0..<256 {
            if (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b) {
                table[b] = UInt32(b)
            } else {
                table[b] = 256 + extra
                extra += 1
            }
        }
        return table
    }()

    /// The byte spelled by code point `cp`, or -1 when `cp` spells no byte.
    static let scalarToByte: [Int16] = {
        var table = [Int16](repeating: -1, count: 324)
        for (b, cp) in byteToScalar.enumerated() { table[Int(cp)] = Int16(b) }
        return table
    }()

    /// The UTF-8 bytes of the character spelling byte `b`.
    static let byteToUTF8: [[UInt8]] = byteToScalar.map { cp in
        guard let s = Unicode.Scalar(cp) else { return [] }
        return Array(String(Character(s)).utf8)
    }

    /// Appends the raw bytes spelled by byte-level text `text` (UTF-8) to `out`.
    /// Characters that spell no byte are copied through unchanged.
    static func decode(_ text: ArraySlice<UInt8>, into out: inout [UInt8]) {
        var i = text.startIndex
        while i < text.endIndex {
            let b0 = text[i]
            var cp = UInt32(b0)
            var n = 1
            if b0 >= 0xC0 && b0 < 0xE0 && i + 1 < text.endIndex {
                cp = (UInt32(b0 & 0x1F) << 6) | UInt32(text[i + 1] & 0x3F)
                n = 2
            } else if b0 >= 0xE0 {
                n = b0 >= 0xF0 ? 4 : 3
                n = min(n, text.endIndex - i)
                cp = 0xFFFF  // never a byte character; copied through below
            }
            if cp < 324, scalarToByte[Int(cp)] >= 0 {
                out.append(UInt8(scalarToByte[Int(cp)]))
            } else {
                out.append(contentsOf: text[i..<(i + n)])
            }
            i += n
        }
    }
}

/// Ordering for ``BinaryHeap`` elements: `precedes` is true when `a` must pop before `b`.
protocol HeapOrdered {
    static func precedes(_ a: Self, _ b: Self) -> Bool
}

/// A minimal binary heap; the element that ``HeapOrdered/precedes(_:_:)`` all others pops first.
struct BinaryHeap<Element: HeapOrdered> {
    private(set) var items: [Element] = []

    var isEmpty: Bool { items.isEmpty }

    mutating func removeAll() { items.removeAll(keepingCapacity: true) }

    mutating func push(_ e: Element) {
        items.append(e)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) >> 1
            guard Element.precedes(items[i], items[parent]) else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> Element? {
        guard let last = items.popLast() else { return nil }
        guard !items.isEmpty else { return last }
        let top = items[0]
        items[0] = last
        var i = 0
        let n = items.count
        while true {
            let l = 2 * i + 1, r = l + 1
            var best = i
            if l < n && Element.precedes(items[l], items[best]) { best = l }
            if r < n && Element.precedes(items[r], items[best]) { best = r }
            if best == i { break }
            items.swapAt(i, best)
            i = best
        }
        return top
    }
}
