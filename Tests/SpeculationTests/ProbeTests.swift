import XCTest
import SpecDecModel
import SpecDecSpeculation
import SpecDecTestSupport

final class ProbeTests: XCTestCase {
    func testProbe() throws {
        for scale: Float in [0.5, 1.5, 2.5] {
            for arch in ["llama", "qwen2", "gemma3"] {
                var line = "\(arch) \(scale):"
                for seed: UInt64 in 1...8 {
                    let m = try Tiny.model(arch, seed: seed, weightScale: scale)
                    let out = try Tiny.greedy(m, prompt: LosslessnessTests.prompt, count: 40)
                    let p = Sampler.distribution(try m.forward([5], logits: .last)[0], SamplingParameters(temperature: 1))
                    line += " s\(seed): \(Set(out).count)/\(String(format: "%.2f", p.probabilities[0]))"
                }
                print(line)
            }
        }
    }
}
