import SpecDecCKernels
import XCTest
@testable import SpecDecKernels

/// The AVX2 C kernels against their Swift references: the activation bytes, the permutation tables, and
/// every weight format against the portable kernels (the same integer sums, so the results differ only
/// by float rounding), at odd sizes and every batch size from 1 to 32.
final class AVX2KernelTests: XCTestCase {
    override func setUpWithError() throws {
        try XCTSkipUnless(KernelSet.avx2.isSupported, "CPU lacks AVX2 + FMA + F16C: only the Swift path runs")
    }

    func testPermutationTablesMatchTheCKernels() {
        for type in [GGMLType.q4_K, .q5_K, .q6_K, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0] {
            let c = sdk_avx2_permutation(Int32(type.rawValue))!
            let table = AVX2Permutation.table(type)
            XCTAssertEqual((0..<256).map { c[$0] }, table, "\(type)")
            XCTAssertEqual(Set(table).count, 256, "\(type) is a permutation")
        }
    }

    func testCActivationQuantizersProduceTheSwiftReferenceBytes() {
        let n = 256 * 3
        // Large outliers in one block, zeros in another (amax 0).
        var x = randomFloats(n, seed: 78)
        x[5] = 40; x[300] = -55
        for i in 512..<768 { x[i] = 0 }
        x.withUnsafeBufferPointer { xp in
            for type in [GGMLType.q4_K, .q5_K, .q6_K] {
                XCTAssertTrue(sameBytes(ActivationLayout.kStride(n), { a in
                    sdk_avx2_quantize_act_k(xp.baseAddress!, 3, a.assumingMemoryBound(to: Int8.self),
                                            (a + n).assumingMemoryBound(to: UInt8.self), Int32(type.rawValue))
                }, { b in quantizeActivationsKAVX2(xp.baseAddress!, blocks: 3, qs: b, meta: b + n, type: type) }), "\(type)")
            }
            for type in [GGMLType.q4_0, .q4_1, .q5_0, .q5_1, .q8_0] {
                for count in [n, n - 32 * 3, 32] {  // whole and zero-padded last super-block
                    let qsBytes = 256 * ActivationLayout.superBlocks(count)
                    XCTAssertTrue(sameBytes(ActivationLayout.legacyStride(count), { a in
                        sdk_avx2_quantize_act_legacy(xp.baseAddress!, count, a.assumingMemoryBound(to: Int8.self),
                                                     (a + qsBytes).assumingMemoryBound(to: UInt8.self), Int32(type.rawValue))
                    }, { b in quantizeActivationsLegacyAVX2(xp.baseAddress!, count: count, qs: b, meta: b + qsBytes, type: type) }),
                                  "\(type) \(count)")
                }
            }
        }
    }

    /// Every format, GGUF and packed layout, batch 1...32: within float rounding of the portable kernels
    /// (same integer sums), and every column bit-identical to multiplying it alone.
    func testAVX2KernelsMatchThePortableKernelsAtEveryBatchSizeUpTo32() {
        let pool = ThreadPool(threads: 2)
        let fast = MatMul(pool: pool), reference = MatMul(pool: pool)
        fast.backend = .avx2
        reference.backend = .portable
        let store = PackedWeights()
        for type in weightFormats {
            // odd sizes: 3 K-blocks; 11 legacy blocks (a partial super-block); 203 floats
            let cols = type.blockSize == 256 ? 256 * 3 : type.blockSize == 32 ? 32 * 11 : 203
            let rows = 7
            var m = TestMatrix(type, rows: rows, cols: cols, seed: 15)
            defer { m.free() }
            let layouts: [Bool] = PackedWeights.canPack(type, for: .avx2) ? [false, true] : [false]
            for packed in layouts {
                if packed {
                    let p = store.pack(m.matrix, for: .avx2)
                    XCTAssertNotNil(p.packed, "\(type)")
                    m.packed = p.packed
                    m.packedKernels = p.packedKernels
                }
                let x = randomFloats(32 * cols, seed: 99)
                var alone = [[Float]]()
                x.withUnsafeBufferPointer { xp in
                    for c in 0..<32 {
                        var one = [Float](repeating: .nan, count: rows)
                        fast.multiply(m.matrix, input: xp.baseAddress! + c * cols, inStride: cols, batch: 1, output: &one, outStride: rows)
                        alone.append(one)
                    }
                }
                for batch in 1...32 {
                    var a = [Float](repeating: .nan, count: batch * rows), b = a
                    x.withUnsafeBufferPointer { xp in
                        fast.multiply(m.matrix, input: xp.baseAddress!, inStride: cols, batch: batch, output: &a, outStride: rows)
                        reference.multiply(m.matrix, input: xp.baseAddress!, inStride: cols, batch: batch, output: &b, outStride: rows)
                    }
                    for i in 0..<a.count {
                        let r = i % rows, c = i / rows
                        var scale: Float = 0
                        for k in 0..<cols { scale += abs(m.values[r * cols + k] * x[c * cols + k]) }
                        XCTAssertEqual(Double(a[i]), Double(b[i]), accuracy: DotKernelTests.pathTolerance * Double(scale),
                                       "\(type) packed \(packed) batch \(batch) out \(i)")
                        XCTAssertEqual(a[i].bitPattern, alone[c][r].bitPattern,
                                       "\(type) packed \(packed) batch \(batch) column \(c): differs from the column alone")
                    }
                }
            }
        }
    }

    /// The 16-bit sums are exact at the formats' extreme values: all weights at their largest value
    /// against activations at ±127 (the case that would saturate vpmaddubsw with one more term).
    func testExtremeValuesDoNotSaturate() {
        let pool = ThreadPool(threads: 1)
        let fast = MatMul(pool: pool), reference = MatMul(pool: pool)
        fast.backend = .avx2
        reference.backend = .portable
        let cols = 512
        for type in weightFormats where type.blockSize > 1 {
            for sign: Float in [1, -1] {
                // Weights all at the positive or negative end of their range; activations all equal in
                // magnitude, so every q is ±127.
                let src = [Float](repeating: sign, count: 2 * cols).enumerated().map { i, v in i % 97 == 0 ? -v * 0.5 : v }
                let rowBytes = type.byteCount(elements: cols)!
                let bytes = UnsafeMutableRawPointer.allocate(byteCount: 2 * rowBytes, alignment: 64)
                defer { bytes.deallocate() }
                src.withUnsafeBufferPointer { s in
                    for r in 0..<2 { quantizeRow(type, s.baseAddress! + r * cols, bytes + r * rowBytes, count: cols) }
                }
                let w = WeightMatrix(type: type, rows: 2, cols: cols, data: bytes)
                for xs: Float in [1, -1] {
                    let x = [Float](repeating: xs, count: cols)
                    var a = [Float](repeating: .nan, count: 2), b = a
                    fast.multiply(w, input: x, inStride: cols, batch: 1, output: &a, outStride: 2)
                    reference.multiply(w, input: x, inStride: cols, batch: 1, output: &b, outStride: 2)
                    for r in 0..<2 {
                        XCTAssertEqual(a[r], b[r], accuracy: 1e-5 * max(1, abs(b[r])), "\(type) weights \(sign) x \(xs) row \(r)")
                    }
                }
            }
        }
    }
}
