/// Prompt lookup decoding (Saxena 2023, github.com/apoorvumang/prompt-lookup-decoding; llama.cpp's
/// `lookup` example): drafts by copying what followed an earlier occurrence of the context's last
/// n tokens. Model-free, so drafts carry no distributions (point masses).
///
/// For n from `maxNgram` down to `minNgram`, the last n tokens of the context are searched in the
/// earlier context, most recent occurrence first; the first match wins and the tokens that followed
/// it (up to `maxTokens`) are the draft. Longer n-grams are tried first because they predict better.
///
/// ```swift
/// let drafter = try PromptLookupDrafter(minNgram: 2, maxNgram: 4)
/// let draft = try drafter.draft(context: [1, 2, 3, 9, 1, 2], maxTokens: 3, sampling: .init())
/// // draft.tokens == [3, 9, 1]
/// ```
public final class PromptLookupDrafter: Drafter {
    public let name = "prompt-lookup"
    /// Shortest n-gram matched (≥ 1).
    public let minNgram: Int
    /// Longest n-gram matched (≥ minNgram).
    public let maxNgram: Int

    /// Throws ``SpeculationError/invalidParameter(_:)`` unless 1 ≤ minNgram ≤ maxNgram.
    public init(minNgram: Int = 2, maxNgram: Int = 4) throws {
        guard minNgram >= 1 else { throw SpeculationError.invalidParameter("prompt lookup min n-gram must be >= 1, got \(minNgram)") }
        guard maxNgram >= minNgram else {
            throw SpeculationError.invalidParameter("prompt lookup max n-gram (\(maxNgram)) must be >= min n-gram (\(minNgram))")
        }
        self.minNgram = minNgram
        self.maxNgram = maxNgram
    }

    public func begin(prompt: [Int32]) throws {}

    public func draft(context: [Int32], maxTokens: Int, sampling: SamplingParameters) throws -> Draft {
        guard maxTokens > 0 else { return .empty }
        guard let start = Self.continuationStart(in: context, minNgram: minNgram, maxNgram: maxNgram) else { return .empty }
        return Draft(tokens: Array(context[start..<min(start + maxTokens, context.count)]))
    }

    public func accepted(context: [Int32], acceptedCount: Int) {}

    public var draftsTrees: Bool { true }

    /// Several matches as branches: the continuations of up to 4 × `maxWidth` earlier occurrences
    /// (longest n-gram first, most recent first; each n-gram length adds the occurrences the longer
    /// ones did not find) merged into a trie (``trieDraft(_:budget:)``). A node's score is the share
    /// of the matches whose continuation passes through it.
    public func draftTree(context: [Int32], budget: TreeBudget, sampling: SamplingParameters) throws -> Draft {
        guard budget.maxNodes > 0, budget.maxDepth > 0 else { return .empty }
        let starts = Self.continuationStarts(in: context, minNgram: minNgram, maxNgram: maxNgram, limit: 4 * max(1, budget.maxWidth))
        guard !starts.isEmpty else { return .empty }
        let continuations = starts.map { Array(context[$0..<min($0 + budget.maxDepth, context.count)]) }
        return scoredTrie(continuations, budget: budget)
    }

    public func end(context: [Int32]) {}

    /// Where the continuations of up to `limit` matches start: for n from `maxNgram` down to
    /// `minNgram`, the occurrences of the context's last n tokens, most recent first (a position found
    /// with a longer n-gram is not repeated).
    public static func continuationStarts(in context: [Int32], minNgram: Int, maxNgram: Int, limit: Int) -> [Int] {
        let c = context.count
        guard minNgram >= 1, limit > 0 else { return [] }
        var starts: [Int] = []
        var seen = Set<Int>()
        for n in stride(from: min(maxNgram, c - 1), through: minNgram, by: -1) {
            var i = c - n - 1
            while i >= 0 {
                var j = 0
                while j < n && context[i + j] == context[c - n + j] { j += 1 }
                if j == n, seen.insert(i + n).inserted {
                    starts.append(i + n)
                    if starts.count == limit { return starts }
                }
                i -= 1
            }
        }
        return starts
    }

    /// Where the continuation of the best match starts: the index after the most recent earlier
    /// occurrence of the longest matching n-gram that ends the context, or nil when none matches.
    public static func continuationStart(in context: [Int32], minNgram: Int, maxNgram: Int) -> Int? {
        let c = context.count
        guard minNgram >= 1 else { return nil }
        for n in stride(from: min(maxNgram, c - 1), through: minNgram, by: -1) {
            // Candidate starts i (the n-gram context[i..<i+n] must end before the context's last token).
            var i = c - n - 1
            while i >= 0 {
                var j = 0
                while j < n && context[i + j] == context[c - n + j] { j += 1 }
                if j == n { return i + n }
                i -= 1
            }
        }
        return nil
    }
}
