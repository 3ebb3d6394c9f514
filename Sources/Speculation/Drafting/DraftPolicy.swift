import Foundation
import SpecDecKernels

/// How a model drafter decides how long a draft is (`--draft-policy`).
public enum DraftPolicyKind: String, Sendable, CaseIterable, Codable {
    /// Always the round's full length (and, for trees, full width).
    case fixed
    /// Stop before a token whose draft probability is below `--draft-p-min` (llama.cpp's rule).
    case pMin = "p-min"
    /// ``ConfidencePolicy``: entropy and margin of the draft distribution, an adaptive threshold.
    case confidence
}

/// Confidence-modulated drafting (Sen, Dasgupta, Waghela 2025, arXiv:2508.15371; the adaptive
/// threshold after SpecDec++, arXiv:2405.19715).
///
/// At each draft step, from the draft model's logits row (softmax at temperature 1) with top
/// probabilities p₁ ≥ p₂ and entropy H over the row's V tokens:
///
///     confidence c = w · (1 − H / ln V) + (1 − w) · (p₁ − p₂)            (w = ``entropyWeight``, 0.5)
///
/// - a chain is extended with the step's token iff c ≥ τ (``threshold``);
/// - a tree node gets no children when c < τ, else
///   `width = 1 + ⌊(W − 1) · (1 − c) / (1 − τ)⌋` children, clipped to 1 … W (W the budget's width):
///   a barely confident node branches widest, a certain one (c = 1) has one child;
/// - after each verified draft with acceptance a = accepted / drafted height,
///   `τ ← clamp(τ + η · (a* − a), τmin, τmax)` (η = ``step`` 0.1, a* = ``targetAcceptance`` 0.7,
///   τ ∈ [0.05, 0.95], τ₀ = 0.35): drafts that get rejected raise the bar, drafts that are
///   accepted lower it so the next ones run longer.
public struct ConfidencePolicy: Sendable, Equatable {
    /// τ, the current threshold.
    public var threshold: Float = 0.35
    /// w, the weight of the entropy term.
    public var entropyWeight: Float = 0.5
    /// a*, the acceptance the threshold steers toward.
    public var targetAcceptance: Float = 0.7
    /// η, the threshold's step per round.
    public var step: Float = 0.1
    /// Bounds of τ.
    public var minThreshold: Float = 0.05
    public var maxThreshold: Float = 0.95

    public init() {}

    /// c for a logits row (see the type's documentation).
    public func confidence(_ row: UnsafeBufferPointer<Float>) -> Float {
        let s = Self.statistics(row)
        let hn = row.count > 1 ? s.entropy / logf(Float(row.count)) : 0
        return entropyWeight * (1 - min(1, max(0, hn))) + (1 - entropyWeight) * (s.top1 - s.top2)
    }

    /// Whether a chain continues with a token of confidence `c`.
    public func extends(_ c: Float) -> Bool { c >= threshold }

    /// Children of a tree node of confidence `c` with at most `maxWidth`.
    public func width(_ c: Float, maxWidth: Int) -> Int {
        guard c >= threshold, maxWidth >= 1 else { return 0 }
        let spread = (1 - c) / max(1e-6, 1 - threshold)
        return min(maxWidth, max(1, 1 + Int((Float(maxWidth - 1) * spread).rounded(.down))))
    }

    /// Adapts τ to a verified draft of height `drafted` of which `accepted` were accepted.
    public mutating func observe(drafted: Int, accepted: Int) {
        guard drafted > 0 else { return }
        let a = Float(accepted) / Float(drafted)
        threshold = min(maxThreshold, max(minThreshold, threshold + step * (targetAcceptance - a)))
    }

    /// Top two probabilities and entropy (nats) of softmax(row).
    public static func statistics(_ row: UnsafeBufferPointer<Float>) -> (top1: Float, top2: Float, entropy: Float) {
        guard !row.isEmpty else { return (0, 0, 0) }
        var m1 = -Float.infinity, m2 = -Float.infinity
        for x in row {
            if x > m1 { m2 = m1; m1 = x } else if x > m2 { m2 = x }
        }
        var z: Float = 0, s: Float = 0
        for x in row {
            let d = x - m1
            let e = expf(d)
            z += e
            s += e * d
        }
        let entropy = logf(z) - s / z
        return (1 / z, m2.isFinite ? expf(m2 - m1) / z : 0, max(0, entropy))
    }
}

/// The `k` largest entries of `row` (index, value), largest first (ties: lower index).
func topEntries(_ row: UnsafeBufferPointer<Float>, _ k: Int) -> [(index: Int, value: Float)] {
    guard k > 0 else { return [] }
    var top: [(index: Int, value: Float)] = []
    top.reserveCapacity(k + 1)
    for (i, x) in row.enumerated() where top.count < k || x > top[top.count - 1].value {
        var j = top.count
        while j > 0 && top[j - 1].value < x { j -= 1 }
        top.insert((i, x), at: j)
        if top.count > k { top.removeLast() }
    }
    return top
}
