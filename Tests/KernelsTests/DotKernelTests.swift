import SpecDecCKernels
import XCTest
@testable import SpecDecKernels

/// The AVX-512 C kernels against their Swift references (same activations, same integer sums).
final class DotKernelTests: XCTestCase {
    /// The two paths differ only in float summation order.
    static let pathTolerance = 1e-5

    override func setUpWithError() throws {
        try XCTSkipUnless(KernelSet.avx512.isSupported, "CPU lacks AVX-512 VNNI: only the AVX2 and Swift paths run here")
    }

    func testPermutationTablesMatchTheCKernels() {
        for type in [GGMLType.q4_K, .q5_K, .q6_K, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0] {
            let c = sdk_k_permutation(Int32(type.rawValue))!
            let table = KPermutation.table(type)
            XCTAssertEqual((0..<256).map { c[$0] }, table, "\(type)")
            XCTAssertEqual(Set(table).count, 256, "\(type) is a permutation")
        }
    }

    func testCActivationQuantizersProduceTheSwiftReferenceBytes() {
        let n = 256 * 3
        let x = randomFloats(n, seed: 77)
        x.withUnsafeBufferPointer { xp in
            for type in [GGMLType.q4_K, .q6_K] {
                XCTAssertTrue(sameBytes(ActivationLayout.kStride(n), { a in
                    sdk_quantize_act_k(xp.baseAddress!, 3, a.assumingMemoryBound(to: Int8.self),
                                       (a + n).assumingMemoryBound(to: UInt8.self), Int32(type.rawValue))
                }, { b in quantizeActivationsK(xp.baseAddress!, blocks: 3, qs: b, meta: b + n, type: type) }), "\(type)")
            }
            for type in [GGMLType.q4_0, .q4_1, .q5_0, .q8_0] {
                for count in [n, n - 32 * 3] {  // whole and zero-padded last super-block
                    let qsBytes = 256 * ActivationLayout.superBlocks(count)
                    XCTAssertTrue(sameBytes(ActivationLayout.legacyStride(count), { a in
                        sdk_quantize_act_legacy(xp.baseAddress!, count, a.assumingMemoryBound(to: Int8.self),
                                                (a + qsBytes).assumingMemoryBound(to: UInt8.self), Int32(type.rawValue))
                    }, { b in quantizeActivationsLegacy(xp.baseAddress!, count: count, qs: b, meta: b + qsBytes, type: type) }),
                                  "\(type) \(count)")
                }
            }
        }
    }

    func testQ4KVectorScaleDecodeEqualsTheScalarOneBitForBit() {
        // Every 6-bit pattern in every position, through random headers with finite f16 d and dmin.
        var state: UInt64 = 0x5DEECE66D
        let n = 200_000
        var headers = [UInt8](repeating: 0, count: 16 * n)
        for i in 0..<headers.count {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            headers[i] = UInt8(truncatingIfNeeded: state >> 56)
        }
        for i in 0..<n { headers[16 * i + 1] &= 0x7B; headers[16 * i + 3] &= 0x7B }
        XCTAssertEqual(sdk_scales_k4_mismatches(headers, n), 0)
    }

    func testCKernelsMatchSwiftKernelsForEveryFormat() {
        let pool = ThreadPool(threads: 2)
        let fast = MatMul(pool: pool), reference = MatMul(pool: pool)
        fast.backend = .avx512
        reference.backend = .portable
        for type in weightFormats {
            let cols = type.blockSize == 256 ? 256 * 5 : type.blockSize == 32 ? 32 * 41 : 203
            let m = TestMatrix(type, rows: 23, cols: cols, seed: 5)
            defer { m.free() }
            for batch in [1, 5, 8, 13] {
                let x = randomFloats(batch * cols, seed: UInt64(batch))
                var a = [Float](repeating: .nan, count: batch * 23), b = a
                x.withUnsafeBufferPointer { xp in
                    fast.multiply(m.matrix, input: xp.baseAddress!, inStride: cols, batch: batch, output: &a, outStride: 23)
                    reference.multiply(m.matrix, input: xp.baseAddress!, inStride: cols, batch: batch, output: &b, outStride: 23)
                }
                for i in 0..<a.count {
                    let r = i % 23, c = i / 23
                    var scale: Float = 0
                    for k in 0..<cols { scale += abs(m.values[r * cols + k] * x[c * cols + k]) }
                    XCTAssertEqual(Double(a[i]), Double(b[i]), accuracy: Self.pathTolerance * Double(scale),
                                   "\(type) batch \(batch) out \(i)")
                }
            }
        }
    }
}
