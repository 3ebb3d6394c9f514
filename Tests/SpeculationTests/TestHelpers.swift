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

/// Asserts that speculative decoding of `target` with drafters from `makeDrafter` reproduces plain
/// greedy decoding of `prompt` for `newTokens` tokens, for every draft length of `draftLengths`,
/// with the greedy verifier and, at k = 4, speculative sampling with greedy parameters too (which
/// must reduce to greedy); each decoder runs `requests` requests. With `requireDrafts` each run must
/// draft something. Returns the summed stats.
@discardableResult
func assertSpeculationMatchesPlainGreedy(_ target: Transformer, prompt: [Int32], newTokens: Int, _ label: String,
                                         draftLengths: [Int] = [1, 2, 4, 8], requests: Int = 1, requireDrafts: Bool = true,
                                         makeDrafter: (Transformer) throws -> Drafter,
                                         file: StaticString = #filePath, line: UInt = #line) throws -> SpeculationStats {
    let reference = try Tiny.greedy(target, prompt: prompt, count: newTokens)
    var total = SpeculationStats()
    for k in draftLengths {
        for verifier in k == 4 ? [GreedyVerifier() as any Verifier, SpeculativeSamplingVerifier()] : [GreedyVerifier()] {
            let decoder = try SpeculativeDecoder(target: target, drafter: try makeDrafter(target), verifier: verifier,
                                                 sampling: SamplingParameters(), draftLength: k)
            for request in 0..<requests {
                let output = try decoder.generate(prompt: prompt, maxNewTokens: newTokens)
                XCTAssertEqual(output, reference, "\(label), k = \(k), \(verifier.name), request \(request)", file: file, line: line)
                if requireDrafts { XCTAssertGreaterThan(decoder.stats.drafted, 0, "\(label), k = \(k) drafted nothing", file: file, line: line) }
                XCTAssertLessThanOrEqual(decoder.stats.drafted, decoder.stats.draftSteps * k, file: file, line: line)
                total.merge(decoder.stats)
            }
        }
    }
    return total
}
