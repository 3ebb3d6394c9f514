import Dispatch
import XCTest
import SpecDecGGUF
import SpecDecKernels
@testable import SpecDecModel
import SpecDecTestSupport

final class TransformerTests: XCTestCase {
    static let architectures = ["llama", "qwen2", "gemma3"]

    private func tiny(_ arch: String, _ configure: (inout TinyModel.Spec) -> Void = { _ in }) throws -> Transformer {
        var spec = TinyModel.Spec(architecture: arch)
        configure(&spec)
        return try Transformer(path: try TinyModel.write(spec), contextLength: 64, threads: 2)
    }

    private func maxDiff(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).map { abs($0 - $1) }.max() ?? 0
    }

    func testBatchedLogitsEqualTokenByTokenLogitsForEveryArchitecture() throws {
        let tokens: [Int32] = [5, 17, 200, 3, 99, 42, 7, 150, 11, 64, 23]  // crosses gemma's window of 8
        for arch in Self.architectures {
            let m = try tiny(arch)
            let batched = try m.forward(tokens, logits: .all)
            let all = (0..<tokens.count).map { batched.row($0) }
            m.reset()
            for (i, t) in tokens.enumerated() {
                let step = try m.forward([t], logits: .all)
                XCTAssertLessThan(maxDiff(step.row(0), all[i]), 2e-4, "\(arch) position \(i)")
            }
        }
    }

    /// What verification depends on: a batched forward gives every row exactly the logits a
    /// single-token forward gives it, under every kernel set this CPU runs and for quantized weights.
    func testBatchedLogitsAreBitIdenticalToTokenByTokenUnderEveryKernelSet() throws {
        let tokens: [Int32] = [5, 17, 200, 3, 99, 42, 7, 150, 11]  // crosses gemma's window of 8
        for kernels in KernelSet.supported {
            for arch in Self.architectures {
                for (weights, embedding) in [(GGMLType.q4_K, GGMLType.q6_K), (.q5_0, .q8_0), (.q4_1, .f16)] {
                    var spec = TinyModel.Spec(architecture: arch)
                    spec.weightType = weights; spec.embeddingType = embedding
                    spec.dim = 256; spec.ffn = 512; spec.heads = 4; spec.headDim = 64; spec.kvHeads = 2
                    let m = try Transformer(path: try TinyModel.write(spec), contextLength: 64, threads: 2, kernels: kernels)
                    XCTAssertEqual(m.kernels, kernels)
                    let batched = try m.forward(tokens, logits: .all)
                    m.reset()
                    for (i, t) in tokens.enumerated() {
                        let step = try m.forward([t], logits: .all)
                        XCTAssertEqual(step.row(0).map(\.bitPattern), batched.row(i).map(\.bitPattern),
                                       "\(kernels) \(arch) \(weights) position \(i)")
                    }
                }
            }
        }
    }

    func testAKernelSetTheCPULacksIsATypedError() throws {
        let path = try TinyModel.write(TinyModel.Spec(architecture: "llama"))
        for kernels in KernelSet.allCases where !kernels.isSupported {
            XCTAssertThrowsError(try Transformer(path: path, kernels: kernels)) {
                XCTAssertEqual($0 as? ModelError, .unsupportedKernels("\(kernels)"))
            }
        }
    }

    func testProfilingTimesEveryPartWithoutChangingTheLogits() throws {
        let tokens: [Int32] = [5, 17, 200, 3, 99]
        for arch in Self.architectures {
            let m = try tiny(arch)
            let a = try m.forward(tokens, logits: .all)
            let reference = (0..<tokens.count).map { a.row($0) }
            m.reset()
            m.profile = ForwardProfile()
            let t0 = DispatchTime.now().uptimeNanoseconds
            let b = try m.forward(tokens, logits: .all)
            let wall = Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
            for i in 0..<tokens.count { XCTAssertEqual(b.row(i), reference[i], "\(arch) row \(i): profiling changed the logits") }
            let p = try XCTUnwrap(m.profile)
            XCTAssertEqual(p.forwards, 1)
            for part in ForwardProfile.Part.allCases where part != .other && part != .activation {
                XCTAssertGreaterThan(p[part], 0, "\(arch) \(part) not timed")
            }
            XCTAssertGreaterThanOrEqual(p[.other], 0)
            // the parts cover the forward: they add up to its wall time, not more
            XCTAssertLessThanOrEqual(p.total, wall * 1.001 + 1e-6, arch)
            _ = try m.forward([1], logits: .last)
            XCTAssertEqual(m.profile?.forwards, 2)
            XCTAssertGreaterThan(m.profile?.total ?? 0, p.total)
        }
    }

    func testMatrixBytesPerTokenCountsEveryProjectionAndTheOutputLayerOnce() throws {
        for arch in ["llama", "qwen2", "gemma3"] {
            let tf = try tiny(arch)
            // From the file: every layer's seven projections, plus the output layer (the token
            // embedding when the model has no separate one).
            let names = ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"]
            var expected = 0
            for t in tf.file.tensors where t.name.hasPrefix("blk.") {
                if names.contains(where: { t.name.hasSuffix(".\($0).weight") }) { expected += t.byteCount }
            }
            expected += (tf.file.info("output.weight") ?? tf.file.info("token_embd.weight"))?.byteCount ?? -1
            XCTAssertEqual(tf.matrixBytesPerToken, expected, arch)
            XCTAssertGreaterThan(expected, 0)
        }
    }

    func testTruncateThenForwardEqualsAFreshForward() throws {
        let prompt: [Int32] = [1, 2, 3, 4, 5, 6]
        let a: [Int32] = [50, 51, 52, 53, 54]
        let b: [Int32] = [70, 71, 72]
        for arch in Self.architectures {
            let m = try tiny(arch)
            _ = try m.forward(prompt + a, logits: .all)
            m.truncate(to: prompt.count)
            XCTAssertEqual(m.position, prompt.count)
            let rolled = try m.forward(b, logits: .all)
            let rolledRows = (0..<b.count).map { rolled.row($0) }
            let rolledCache = m.cache.snapshot()
            m.reset()
            let fresh = try m.forward(prompt + b, logits: .all)
            for i in 0..<b.count {
                XCTAssertLessThan(maxDiff(rolledRows[i], fresh.row(prompt.count + i)), 1e-4, "\(arch) row \(i)")
            }
            let freshCache = m.cache.snapshot()
            XCTAssertLessThan(maxDiff(rolledCache.keys, freshCache.keys), 1e-4)
            XCTAssertLessThan(maxDiff(rolledCache.values, freshCache.values), 1e-4)
        }
    }

    func testLastLogitsSelectionEqualsTheLastRowOfAll() throws {
        let m = try tiny("qwen2")
        let tokens: [Int32] = [9, 8, 7, 6]
        let all = try m.forward(tokens, logits: .all).row(3)
        m.reset()
        let last = try m.forward(tokens, logits: .last)
        XCTAssertEqual(last.rows, 1)
        XCTAssertLessThan(maxDiff(last.row(0), all), 1e-5)
    }

    func testSingleTokenForwardEqualsTheArrayForm() throws {
        for arch in ["llama", "qwen2", "gemma3"] {
            let a = try tiny(arch), b = try tiny(arch)
            _ = try a.forward([1, 2, 3], logits: .last)
            _ = try b.forward([1, 2, 3], logits: .last)
            for t: Int32 in [7, 4, 9] {
                let x = try a.forward([t], logits: .last).row(0)
                let y = try b.forward(token: t).row(0)
                XCTAssertEqual(x.map(\.bitPattern), y.map(\.bitPattern), arch)
            }
            XCTAssertEqual(a.position, b.position)
            XCTAssertThrowsError(try b.forward(token: -1))
            XCTAssertEqual(b.position, 6, "a rejected token leaves the cache alone")
        }
    }

    func testQuantizedWeightsRunAndStayCloseToFloatWeights() throws {
        let tokens: [Int32] = [3, 1, 4, 1, 5]
        let ref = try tiny("llama") { $0.weightType = .f32 }
        let refLogits = try ref.forward(tokens, logits: .last).row(0)
        for type in [GGMLType.q8_0, .q4_K, .q6_K, .q5_0, .f16] {
            let m = try tiny("llama") { $0.weightType = type; $0.embeddingType = type; $0.dim = 256; $0.ffn = 256; $0.heads = 4; $0.headDim = 64; $0.kvHeads = 2 }
            let f = try tiny("llama") { $0.weightType = .f32; $0.dim = 256; $0.ffn = 256; $0.heads = 4; $0.headDim = 64; $0.kvHeads = 2 }
            let q = try m.forward(tokens, logits: .last).row(0)
            let r = try f.forward(tokens, logits: .last).row(0)
            let scale = r.map(abs).max() ?? 1
            XCTAssertLessThan(maxDiff(q, r) / scale, 0.25, "\(type)")
            XCTAssertTrue(q.allSatisfy(\.isFinite))
        }
        XCTAssertEqual(refLogits.count, ByteVocabulary.size)
    }

    func testOnlyAnEmbeddingTiedToTheOutputGetsAPackedCopy() throws {
        try XCTSkipUnless(PackedWeights.canPack(.q8_0), "packed layouts are only used by the AVX-512 kernels")
        for tied in [false, true] {
            var spec = TinyModel.Spec(architecture: "llama")
            spec.weightType = .q8_0
            spec.embeddingType = .q8_0
            spec.separateOutput = !tied
            let tf = try Transformer(path: try TinyModel.write(spec), contextLength: 64, threads: 2)
            // An untied embedding is only read a row per token: a packed copy would be resident for nothing.
            XCTAssertEqual(tf.weights.tokenEmbedding.packed != nil, tied, "tied \(tied)")
            XCTAssertNotNil(tf.weights.output.packed, "tied \(tied): the output layer is packed")
            XCTAssertEqual(try tf.forward([1, 2, 3]).rows, 3)
        }
    }

    func testTooManyTokensForTheContextThrowsAndLeavesTheCacheAlone() throws {
        let m = try tiny("llama")
        _ = try m.forward([1, 2, 3], logits: .last)
        XCTAssertThrowsError(try m.forward([Int32](repeating: 1, count: 62), logits: .last)) { error in
            XCTAssertEqual(error as? ModelError, .contextOverflow(requested: 65, capacity: 64))
        }
        XCTAssertEqual(m.position, 3)
    }

    func testAnImpossibleContextIsAnErrorNotACrash() throws {
        var spec = TinyModel.Spec(architecture: "llama")
        spec.weightScale = 1
        let path = try TinyModel.write(spec)
        XCTAssertThrowsError(try Transformer(path: path, contextLength: Int.max / 4, threads: 1)) { e in
            guard case .outOfMemory? = e as? ModelError else { return XCTFail("\(e)") }
            XCTAssertTrue("\(e)".contains("--context"))
        }
        // Element count fits an Int but its byte count does not.
        let c = try ModelConfig(gguf: GGUFFile(path: path))
        let huge = Int.max / (c.layerCount * c.kvHeadCount * c.headDim) / 2
        XCTAssertThrowsError(try Transformer(path: path, contextLength: huge, threads: 1)) { e in
            guard case .outOfMemory(let bytes)? = e as? ModelError else { return XCTFail("\(e)") }
            XCTAssertEqual(bytes, Int.max)
        }
    }

    func testTokenOutsideTheVocabularyThrows() throws {
        let m = try tiny("gemma3")
        XCTAssertThrowsError(try m.forward([1, Int32(ByteVocabulary.size)], logits: .last)) { error in
            XCTAssertEqual(error as? ModelError, .tokenOutOfRange(token: Int32(ByteVocabulary.size), vocabularySize: ByteVocabulary.size))
        }
        XCTAssertThrowsError(try m.forward([], logits: .last))
        XCTAssertEqual(m.position, 0)
    }

    func testUnknownArchitectureIsNamedInTheError() throws {
        var w = TinyModel.writer(TinyModel.Spec(architecture: "llama"))
        w.set("general.architecture", .string("mamba"))
        let path = TinyModel.temporaryPath(name: "mamba.gguf")
        try w.write(to: path)
        XCTAssertThrowsError(try Transformer(path: path)) { error in
            XCTAssertEqual(error as? ModelError, .unknownArchitecture("mamba"))
            XCTAssertTrue("\(error)".contains("mamba"))
        }
    }

    func testMissingTensorIsNamedInTheError() throws {
        var spec = TinyModel.Spec(architecture: "qwen2")
        spec.layers = 1
        let full = TinyModel.writer(spec)
        // Rebuild without one tensor by writing a model whose config claims two layers.
        var w = full
        w.set("qwen2.block_count", .uint32(2))
        let path = TinyModel.temporaryPath(name: "missing.gguf")
        try w.write(to: path)
        XCTAssertThrowsError(try Transformer(path: path)) { error in
            XCTAssertEqual(error as? GGUFError, .missingTensor("blk.1.attn_norm.weight"))
        }
    }
}
