import SpecDecKernels
import Foundation

/// A probability distribution over a few tokens: ids sorted by decreasing probability, probabilities
/// summing to 1. Tokens not listed have probability 0.
public struct TokenDistribution: Sendable, Equatable {
    public var tokens: [Int32]
    public var probabilities: [Float]

    public init(tokens: [Int32], probabilities: [Float]) {
        self.tokens = tokens
        self.probabilities = probabilities
    }

    /// The probability of `token` (0 when absent).
    public func probability(of token: Int32) -> Float {
        guard let i = tokens.firstIndex(of: token) else { return 0 }
        return probabilities[i]
    }

    /// The same distribution with every token `t` renamed `ids[t]` (a distribution computed over the
    /// rows of a trimmed output layer, whose row `i` is token `ids[i]`).
    public func mapped(through ids: [Int32]) -> TokenDistribution {
        TokenDistribution(tokens: tokens.map { ids[Int($0)] }, probabilities: probabilities)
    }

    /// Draws a token with `u` uniform in [0, 1).
    public func draw(_ u: Float) -> Int32 {
        var acc: Float = 0
        for (t, p) in zip(tokens, probabilities) {
            acc += p
            if u < acc { return t }
        }
        return tokens.last ?? 0
    }
}

/// Turns logits into tokens according to ``SamplingParameters``, with its own seeded generator.
public struct Sampler: Sendable {
    public let parameters: SamplingParameters
    /// The generator; deterministic for a given seed.
    public var rng: SplitMix64

    public init(_ parameters: SamplingParameters) {
        self.parameters = parameters
        rng = SplitMix64(seed: parameters.seed)
    }

    /// A uniform number in [0, 1) from the sampler's generator.
    public mutating func uniform() -> Float {
        Float(rng.next() >> 40) / Float(1 << 24)
    }

    /// The index of the largest logit (the lowest index among equals).
    public static func argmax(_ logits: UnsafeBufferPointer<Float>) -> Int32 {
        var best = 0
        var bestValue = -Float.infinity
        for i in 0..<logits.count where logits[i] > bestValue {
            bestValue = logits[i]
            best = i
        }
        return Int32(best)
    }

    /// The probability of the most likely token under softmax(logits) (temperature 1): a drafter's
    /// confidence in its greedy choice.
    public static func topProbability(_ logits: UnsafeBufferPointer<Float>) -> Float {
        guard let base = logits.baseAddress, !logits.isEmpty else { return 0 }
        let n = logits.count
        var mx = -Float.infinity
        for v in logits where v > mx { mx = v }
        guard mx.isFinite else { return mx == .infinity ? 1 : 0 }
        // sum of e^(l - max) over the vocabulary, 16 at a time
        var acc = SIMD16<Float>()
        let m = SIMD16<Float>(repeating: mx)
        var i = 0
        while i + 16 <= n {
            acc += vectorExp(UnsafeRawPointer(base + i).loadUnaligned(as: SIMD16<Float>.self) - m)
            i += 16
        }
        var total = acc.sum()
        while i < n {
            total += expf(base[i] - mx)
            i += 1
        }
        return 1 / total
    }

    /// The next token for `logits`.
    public mutating func sample(_ logits: UnsafeBufferPointer<Float>) -> Int32 {
        if parameters.isGreedy { return Sampler.argmax(logits) }
        let dist = Sampler.distribution(logits, parameters)
        return dist.draw(uniform())
    }

    /// The distribution the sampler draws from (after temperature, top-k, top-p and min-p).
    /// For greedy parameters it is a point mass on the argmax.
    ///
    /// Tokens come sorted by decreasing probability when top-k or top-p is active; with temperature
    /// (and min-p) alone they come in id order, which avoids sorting the whole vocabulary.
    public static func distribution(_ logits: UnsafeBufferPointer<Float>, _ p: SamplingParameters) -> TokenDistribution {
        if p.isGreedy { return TokenDistribution(tokens: [argmax(logits)], probabilities: [1]) }
        let invT = 1 / p.temperature
        var candidates: [(Int32, Float)]
        if p.topK > 0 && p.topK < logits.count {
            candidates = topK(logits, p.topK)
        } else {
            candidates = []
        }
        if candidates.isEmpty {
            // Whole vocabulary: softmax in id order.
            var maxLogit = -Float.infinity
            for v in logits where v > maxLogit { maxLogit = v }
            var tokens: [Int32] = []
            var probs: [Float] = []
            var total: Float = 0
            for i in 0..<logits.count {
                let e = expf((logits[i] - maxLogit) * invT)
                if e > 0 {
                    tokens.append(Int32(i))
                    probs.append(e)
                    total += e
                }
            }
            for i in probs.indices { probs[i] /= total }
            if p.topP < 1 {
                // The nucleus only holds tokens at least as likely as the first one it excludes: find a
                // threshold whose mass above reaches top-p, and sort only the tokens above it.
                var threshold: Float = 1e-3
                var above = probs.indices.filter { probs[$0] >= threshold }
                while above.reduce(Float(0), { $0 + probs[$1] }) < p.topP && threshold > 1e-30 {
                    threshold /= 16
                    above = probs.indices.filter { probs[$0] >= threshold }
                }
                candidates = above.map { (tokens[$0], probs[$0]) }
                candidates.sort { $0.1 > $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }
                return filtered(candidates, logitsAreProbabilities: true, p, invT)
            }
            var keep = probs.count
            if p.minP > 0, let top = probs.max() {
                let threshold = p.minP * top
                var t2: [Int32] = [], p2: [Float] = []
                for (t, x) in zip(tokens, probs) where x >= threshold { t2.append(t); p2.append(x) }
                tokens = t2
                probs = p2
                keep = probs.count
                let sum = probs.reduce(0, +)
                for i in 0..<keep { probs[i] /= sum }
            }
            return TokenDistribution(tokens: tokens, probabilities: probs)
        }
        return filtered(candidates, logitsAreProbabilities: false, p, invT)
    }

    /// Softmax (unless already probabilities), top-p and min-p over candidates sorted by decreasing value.
    private static func filtered(_ candidates: [(Int32, Float)], logitsAreProbabilities: Bool, _ p: SamplingParameters,
                                 _ invT: Float) -> TokenDistribution {
        guard let first = candidates.first?.1 else { return TokenDistribution(tokens: [0], probabilities: [1]) }
        var probs = logitsAreProbabilities ? candidates.map(\.1) : candidates.map { expf(($0.1 - first) * invT) }
        var total = probs.reduce(0, +)
        if !logitsAreProbabilities { for i in probs.indices { probs[i] /= total } }
        var keep = probs.count
        if p.topP < 1 {
            var acc: Float = 0
            for i in probs.indices {
                acc += probs[i]
                if acc >= p.topP { keep = i + 1; break }
            }
        }
        if p.minP > 0, let top = probs.first {
            let threshold = p.minP * top
            var k = 1
            while k < keep && probs[k] >= threshold { k += 1 }
            keep = k
        }
        probs.removeSubrange(keep...)
        total = probs.reduce(0, +)
        for i in probs.indices { probs[i] /= total }
        return TokenDistribution(tokens: candidates[..<keep].map(\.0), probabilities: probs)
    }

    /// The k largest logits, sorted by decreasing value (ties: lower id first).
    static func topK(_ logits: UnsafeBufferPointer<Float>, _ k: Int) -> [(Int32, Float)] {
        var heap: [(Int32, Float)] = []  // kept sorted descending, small k
        heap.reserveCapacity(k + 1)
        var threshold = -Float.infinity
        for i in 0..<logits.count {
            let v = logits[i]
            if heap.count == k && v <= threshold { continue }
            var j = heap.count
            heap.append((Int32(i), v))
            while j > 0 && heap[j - 1].1 < v { heap.swapAt(j, j - 1); j -= 1 }
            if heap.count > k { heap.removeLast() }
            if heap.count == k { threshold = heap[k - 1].1 }
        }
        return heap
    }
}
