import Foundation
import XCTest
import SpecDecGGUF
import SpecDecKernels
@testable import SpecDecModel
import SpecDecTestSupport

/// The trimmed output layer gives exactly the full layer's logits of its tokens, and a skip set
/// leaves exactly its sublayers out.
final class TrimmedHeadAndSkipTests: XCTestCase {
    private func tiny(_ arch: String, _ configure: (inout TinyModel.Spec) -> Void = { _ in }) throws -> Transformer {
        var spec = TinyModel.Spec(architecture: arch)
        configure(&spec)
        return try Transformer(path: try TinyModel.write(spec), contextLength: 64, threads: 2)
    }

    /// Row i of a trimmed forward is the full forward's logit of tokens[i], bit for bit, at batch 1
    /// and batched, for every architecture, kernel set and a quantized tied or separate output layer.
    func testTrimmedLogitsAreTheFullLogitsOfTheSubset() throws {
        let prompt: [Int32] = [5, 17, 200, 3, 99, 42, 7, 150, 11]
        for kernels in KernelSet.supported {
            for arch in ["llama", "qwen2", "gemma3"] {
                for (type, separate) in [(GGMLType.f32, true), (.q8_0, false), (.q4_K, true)] {
                    var spec = TinyModel.Spec(architecture: arch)
                    if type == .q4_K { spec.dim = 256; spec.ffn = 256; spec.heads = 4; spec.headDim = 64 }
                    spec.weightType = type
                    spec.embeddingType = separate ? .f32 : type
                    spec.separateOutput = separate
                    let m = try Transformer(path: try TinyModel.write(spec), contextLength: 64, threads: 2, kernels: kernels)
                    let vocab = m.config.vocabularySize
                    let subset: [Int32] = (0..<vocab).filter { $0 % 3 != 1 }.map { Int32($0) }.reversed()
                    let head = try TrimmedHead(model: m, tokens: subset)
                    let full = try m.forward(prompt, logits: .all)
                    let expected = (0..<full.rows).map { r in subset.map { full[r][Int($0)] } }
                    m.reset()
                    let trimmed = try m.forward(prompt, logits: .all, head: head)
                    XCTAssertEqual(trimmed.vocabularySize, subset.count)
                    for r in 0..<trimmed.rows { XCTAssertEqual(trimmed.row(r), expected[r], "\(kernels) \(arch) \(type) batched row \(r)") }
                    m.reset()
                    for (i, t) in prompt.enumerated() {
                        let step = try m.forward(token: t, logits: .last, head: head)
                        XCTAssertEqual(step.row(0), expected[i], "\(kernels) \(arch) \(type) position \(i)")
                    }
                }
            }
        }
    }

    func testBadSubsetsAreRefused() throws {
        let m = try tiny("llama")
        let other = try tiny("llama") { $0.seed = 3 }
        XCTAssertThrowsError(try TrimmedHead(model: m, tokens: []))
        XCTAssertThrowsError(try TrimmedHead(model: m, tokens: [1, 2, 1]))
        XCTAssertThrowsError(try TrimmedHead(model: m, tokens: [Int32(m.config.vocabularySize)]))
        XCTAssertThrowsError(try TrimmedHead(model: m, tokens: [-1]))
        let foreign = try TrimmedHead(model: other, tokens: [1, 2, 3])
        XCTAssertThrowsError(try m.forward([1], head: foreign)) { error in
            XCTAssertTrue("\(error)".contains("another model"), "\(error)")
        }
        XCTAssertEqual(m.position, 0, "a refused forward changes nothing")
    }

    /// Skipping nothing is the full forward; skipping a sublayer changes the logits and writes no
    /// keys or values for a skipped attention layer; a set for another layer count is refused.
    func testLayerSkipLeavesOutExactlyItsSublayers() throws {
        let prompt: [Int32] = [5, 17, 200, 3, 99, 42]
        for arch in ["llama", "qwen2", "gemma3"] {
            let m = try tiny(arch) { $0.layers = 3 }
            let full = try m.forward(prompt, logits: .all).row(prompt.count - 1)
            let fullCache = m.cache.snapshot()
            m.reset()
            let none = try m.forward(prompt, logits: .all, skip: .none(layerCount: 3)).row(prompt.count - 1)
            XCTAssertEqual(none, full, arch)
            for skip in [try LayerSkip(layerCount: 3, attention: [1]), try LayerSkip(layerCount: 3, feedForward: [2]),
                         try LayerSkip(layerCount: 3, attention: [0, 2], feedForward: [1])] {
                m.reset()
                let logits = try m.forward(prompt, logits: .all, skip: skip).row(prompt.count - 1)
                XCTAssertNotEqual(logits, full, "\(arch) \(skip)")
                // Layer 0's keys are untouched by later skips; a skipped attention layer writes nothing.
                let cache = m.cache.snapshot()
                let per = prompt.count * m.cache.kvDim
                if !skip.attention.contains(0) {
                    XCTAssertEqual(Array(cache.keys[0..<per]), Array(fullCache.keys[0..<per]), "\(arch) \(skip)")
                }
            }
            // Skipping attention 0 leaves layer 0's rows as they were (zero after a reset of a fresh cache region).
            let fresh = try tiny(arch) { $0.layers = 3 }
            _ = try fresh.forward(prompt, logits: .last, skip: try LayerSkip(layerCount: 3, attention: [0]))
            let per = prompt.count * fresh.cache.kvDim
            XCTAssertTrue(fresh.cache.snapshot().keys[0..<per].allSatisfy { $0 == 0 }, arch)
            XCTAssertThrowsError(try m.forward([1], skip: .none(layerCount: 4)))
        }
        XCTAssertThrowsError(try LayerSkip(layerCount: 3, attention: [3]))
        XCTAssertThrowsError(try LayerSkip(layerCount: 3, feedForward: [-1]))
    }

    func testRelativeCostCountsTheBytesLeft() throws {
        let m = try tiny("llama") { $0.layers = 2 }
        XCTAssertEqual(m.relativeCost(skip: nil), 1, accuracy: 1e-12)
        let a = m.sublayerBytes(layer: 0)
        let skip = try LayerSkip(layerCount: 2, attention: [0], feedForward: [1])
        let expected = 1 - Double(a.attention + m.sublayerBytes(layer: 1).feedForward) / Double(m.matrixBytesPerToken)
        XCTAssertEqual(m.relativeCost(skip: skip), expected, accuracy: 1e-12)
        let head = try TrimmedHead(model: m, tokens: [1, 2, 3, 4])
        XCTAssertLessThan(m.relativeCost(skip: nil, head: head), 1)
        XCTAssertEqual(head.byteCount * m.config.vocabularySize, m.outputBytes * 4)
    }

    func testCacheRestorePutsBackASnapshot() throws {
        let m = try tiny("qwen2")
        _ = try m.forward([1, 2, 3, 4], logits: .last)
        let saved = m.cache.snapshot()
        let next = try m.forward([9], logits: .last).row(0)
        _ = try m.forward([7, 7, 7], logits: .last)
        try m.cache.restore(keys: saved.keys, values: saved.values, count: 4)
        XCTAssertEqual(m.position, 4)
        XCTAssertEqual(try m.forward([9], logits: .last).row(0), next)
        XCTAssertThrowsError(try m.cache.restore(keys: [1], values: [1], count: 4))
    }

    /// The real models' heads: trimmed logits equal the full ones at batch 1 (runs when Gemma 3 is cached).
    func testTrimmedHeadOfARealModel() throws {
        let dir = ProcessInfo.processInfo.environment["SPECDEC_MODELS"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (NSHomeDirectory() + "/.cache/specdec/models")
        let path = dir + "/gemma-3-270m.gguf"
        guard FileManager.default.fileExists(atPath: path) else {
            throw XCTSkip("gemma-3-270m is not at \(path): run `specdec pull gemma-3-270m` to enable this test")
        }
        let m = try Transformer(path: path, contextLength: 64, threads: 2)
        let subset: [Int32] = (0..<16_384).map { Int32(($0 * 7919) % m.config.vocabularySize) }
        let head = try TrimmedHead(model: m, tokens: subset)
        let prompt: [Int32] = [2, 105, 2364, 107, 6974, 496, 2822]
        var expected: [[Float]] = []
        for t in prompt { let l = try m.forward(token: t); expected.append(subset.map { l[0][Int($0)] }) }
        m.reset()
        for (i, t) in prompt.enumerated() {
            XCTAssertEqual(try m.forward(token: t, head: head).row(0), expected[i], "position \(i)")
        }
    }
}
