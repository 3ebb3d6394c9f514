import XCTest
import SpecDecKernels
import SpecDecModel
import SpecDecSpeculation
import SpecDecTestSupport

/// Tiny random-weight models written as GGUF files and loaded through the real loader.
enum Tiny {
    /// A tiny model; `weightScale` above the default makes the distribution peaky (and greedy output
    /// repetitive).
    static func model(_ architecture: String = "llama", seed: UInt64 = 1, weightScale: Float = 0.5,
                      context: Int = 160, kernels: KernelSet = .active,
                      _ configure: (inout TinyModel.Spec) -> Void = { _ in }) throws -> Transformer {
        var spec = TinyModel.Spec(architecture: architecture)
        spec.seed = seed
        spec.weightScale = weightScale
        spec.context = max(256, context)
        configure(&spec)
        return try Transformer(path: try TinyModel.write(spec), contextLength: context, threads: 1, kernels: kernels)
    }

    /// Plain greedy decoding written out as the textbook loop (the reference for losslessness).
    static func greedy(_ model: Transformer, prompt: [Int32], count: Int) throws -> [Int32] {
        model.reset()
        var logits = try model.forward(prompt, logits: .last)
        var output: [Int32] = []
        while true {
            let token = Sampler.argmax(logits[logits.rows - 1])
            output.append(token)
            if output.count == count { return output }
            logits = try model.forward([token], logits: .last)
        }
    }
}

/// Total-variation distance between an empirical distribution (`counts` of `total` samples) and `p`.
func totalVariation<K: Hashable>(_ counts: [K: Int], total: Int, _ p: [K: Double]) -> Double {
    var keys = Set(counts.keys)
    keys.formUnion(p.keys)
    return 0.5 * keys.reduce(0) { $0 + abs(Double(counts[$1] ?? 0) / Double(total) - (p[$1] ?? 0)) }
}

/// A TV threshold that a correct sampler exceeds with probability below `delta`: the expected TV
/// of N samples is at most ½ Σ √(p(1 − p)/N) (Jensen), and TV moves by at most 1/N per sample, so
/// by McDiarmid it exceeds its mean by ε with probability ≤ exp(−2Nε²).
func tvThreshold<K>(_ p: [K: Double], samples n: Int, delta: Double = 1e-3) -> Double {
    let mean = 0.5 * p.values.reduce(0) { $0 + ($1 * (1 - $1) / Double(n)).squareRoot() }
    return mean + (log(1 / delta) / (2 * Double(n))).squareRoot()
}

func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count)
    return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}
