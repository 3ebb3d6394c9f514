/// A piece of the input after special tokens have been cut out.
enum Fragment: Equatable {
    /// Raw text: a byte range of the input.
    case text(Range<Int>)
    /// A special token matched whole.
    case token(Int32)
}

/// Finds control, user-defined and unknown tokens written inside text, as llama.cpp's
/// `tokenizer_st_partition` does.
///
/// llama.cpp takes the special tokens longest text first and, for each, cuts every
/// non-overlapping occurrence (left to right) out of the raw fragments that remain. This type
/// finds all occurrences with a byte trie and then replays that order, so the result is the same
/// while the work is proportional to the text, not to the number of special tokens.
/// Equal-length tokens go in id order (llama.cpp's sort leaves their order unspecified).
struct SpecialTokenMatcher: Sendable {
    // Flat trie: node 0 is the root; children are a first-child / next-sibling list.
    private var label: [UInt8] = [0]
    private var firstChild: [Int32] = [-1]
    private var nextSibling: [Int32] = [-1]
    /// Token id ending at each node, or -1.
    private var value: [Int32] = [-1]
    /// Whether the token is matched only with `parseSpecial` (control and unknown tokens).
    private var needsParseSpecial: [Bool] = [false]

    /// True when there is nothing to match.
    var isEmpty: Bool { firstChild[0] < 0 }

    /// Adds token `id` with UTF-8 text `text`.
    mutating func insert(_ text: ArraySlice<UInt8>, id: Int32, onlyWithParseSpecial: Bool) {
        guard !text.isEmpty else { return }
        var node = 0
        for b in text {
            var child = firstChild[node]
            while child >= 0 && label[Int(child)] != b { child = nextSibling[Int(child)] }
            if child < 0 {
                child = Int32(label.count)
                label.append(b)
                firstChild.append(-1)
                nextSibling.append(firstChild[node])
                value.append(-1)
                needsParseSpecial.append(false)
                firstChild[node] = child
            }
            node = Int(child)
        }
        if value[node] < 0 {  // the first id with a given text wins (texts are unique anyway)
            value[node] = id
            needsParseSpecial[node] = onlyWithParseSpecial
        }
    }

    /// One match of a special token: where it starts and which token it is.
    private struct Occurrence {
        var position: Int
        var id: Int32
    }

    /// Splits `text` into raw-text fragments and special tokens.
    func partition(_ text: UnsafeBufferPointer<UInt8>, parseSpecial: Bool) -> [Fragment] {
        let n = text.count
        guard n > 0 else { return [] }
        guard !isEmpty else { return [.text(0..<n)] }
        // Occurrences bucketed by length; each bucket is filled in position order.
        var byLength: [[Occurrence]] = []
        for p in 0..<n {
            var node = 0
            var q = p
            while q < n {
                let b = text[q]
                var child = firstChild[node]
                while child >= 0 && label[Int(child)] != b { child = nextSibling[Int(child)] }
                if child < 0 { break }
                node = Int(child)
                q += 1
                if value[node] >= 0 && (parseSpecial || !needsParseSpecial[node]) {
                    let length = q - p
                    while byLength.count <= length { byLength.append([]) }
                    byLength[length].append(Occurrence(position: p, id: value[node]))
                }
            }
        }
        guard !byLength.isEmpty else { return [.text(0..<n)] }
        // Longest first; within a length, token by token (id order), each left to right.
        var covered = [Bool](repeating: false, count: n)
        var accepted: [(position: Int, length: Int, id: Int32)] = []
        for length in stride(from: byLength.count - 1, through: 1, by: -1) where !byLength[length].isEmpty {
            var bucket = byLength[length]
            if let first = bucket.first?.id, bucket.contains(where: { $0.id != first }) {
                bucket.sort { ($0.id, $0.position) < ($1.id, $1.position) }
            }
            for o in bucket {
                // Accepted spans are at least `length` long, so one overlapping this span covers an end of it.
                let end = o.position + length
                if covered[o.position] || covered[end - 1] { continue }
                for i in o.position..<end { covered[i] = true }
                accepted.append((o.position, length, o.id))
            }
        }
        accepted.sort { $0.position < $1.position }
        var fragments: [Fragment] = []
        var cursor = 0
        for o in accepted {
            if o.position > cursor { fragments.append(.text(cursor..<o.position)) }
            fragments.append(.token(o.id))
            cursor = o.position + o.length
        }
        if cursor < n { fragments.append(.text(cursor..<n)) }
        return fragments
    }
}
