import Foundation

/// Confidence intervals for accuracies (a binomial proportion: `correct` successes in `total` trials).
public enum Accuracy {
    /// z for a two-sided 95% interval: the 97.5th percentile of the standard normal distribution.
    public static let z95 = 1.959964

    /// The Wilson score interval (Wilson 1927, "Probable inference, the law of succession, and
    /// statistical inference", JASA 22:209–212) for `correct` of `total`.
    ///
    /// With p̂ = correct / total, n = total:
    ///
    ///     centre    = (p̂ + z² / 2n) / (1 + z² / n)
    ///     halfWidth = z / (1 + z² / n) · √(p̂ (1 − p̂) / n + z² / 4n²)
    ///     interval  = [centre − halfWidth, centre + halfWidth]
    ///
    /// Unlike the normal (Wald) interval p̂ ± z √(p̂(1 − p̂)/n), it stays inside [0, 1] and is not
    /// empty at p̂ = 0 or 1, which matters for small evaluations. The bounds are clamped to [0, 1]
    /// (0 correct gives low = 0 exactly, all correct high = 1). `total` 0 gives (0, 1): nothing is
    /// known. `z` 1.959964 gives a 95% interval.
    public static func wilson(correct: Int, total: Int, z: Double = z95) -> (low: Double, high: Double) {
        precondition(total >= 0 && correct >= 0 && correct <= total, "need 0 ≤ correct (\(correct)) ≤ total (\(total))")
        guard total > 0 else { return (0, 1) }
        let n = Double(total)
        let p = Double(correct) / n
        let z2 = z * z
        let denominator = 1 + z2 / n
        let centre = (p + z2 / (2 * n)) / denominator
        let halfWidth = z / denominator * (p * (1 - p) / n + z2 / (4 * n * n)).squareRoot()
        let low = correct == 0 ? 0 : max(0, centre - halfWidth)
        let high = correct == total ? 1 : min(1, centre + halfWidth)
        return (low, high)
    }
}
