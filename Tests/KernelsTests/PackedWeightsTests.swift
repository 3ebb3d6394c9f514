import XCTest
@testable import SpecDecKernels

/// Packed (repacked at load) matrices must give exactly the results of the GGUF layout.
final class PackedWeightsTests: XCTestCase {
    let pool = ThreadPool(threads: 2)
    let packable: [GGMLType] = [.q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_K, .q6_K]

    func testPackedMatricesAreBitIdenticalToTheGGUFLayout() throws {
        try XCTSkipUnless(MatMul.vectorKernelsAvailable, "packed layout is only used by the AVX-512 kernels")
        let mm = MatMul(pool: pool)
        var seed: UInt64 = 7
        for type in packable {
            // Legacy: whole and partial super-blocks of 8 blocks: 640 = 2.5, 896 = 3.5 (Gemma 3, Qwen 0.5B
            // widths). K-quants: 256-value blocks.
            let widths = type.blockSize == 256 ? [256, 768, 1536] : [32, 96, 256, 640, 896, 2336]
            for cols in widths {
                for rows in [1, 3, 17] {
                    seed &+= 1
                    let m = TestMatrix(type, rows: rows, cols: cols, seed: seed)
                    let store = PackedWeights()
                    let packed = store.pack(m.matrix, pool: pool)
                    XCTAssertNotNil(packed.packed)
                    XCTAssertEqual(store.byteCount, rows * m.matrix.rowBytes)
                    for batch in [1, 3, 8, 11] {
                        let x = randomFloats(batch * cols, seed: seed &+ UInt64(batch))
                        var plain = [Float](repeating: .nan, count: batch * rows)
                        var fast = [Float](repeating: .nan, count: batch * rows)
                        x.withUnsafeBufferPointer { xp in
                            plain.withUnsafeMutableBufferPointer {
                                mm.multiply(m.matrix, input: xp.baseAddress!, inStride: cols, batch: batch, output: $0.baseAddress!, outStride: rows)
                            }
                            fast.withUnsafeMutableBufferPointer {
                                mm.multiply(packed, input: xp.baseAddress!, inStride: cols, batch: batch, output: $0.baseAddress!, outStride: rows)
                            }
                        }
                        XCTAssertEqual(plain.map(\.bitPattern), fast.map(\.bitPattern), "\(type) \(rows)x\(cols) batch \(batch)")
                    }
                    m.free()
                }
            }
        }
    }

    func testPackedMatricesStillMatchTheReferenceDot() throws {
        try XCTSkipUnless(MatMul.vectorKernelsAvailable, "packed layout is only used by the AVX-512 kernels")
        let mm = MatMul(pool: pool)
        for type in packable {
            let m = TestMatrix(type, rows: 9, cols: type.blockSize == 256 ? 768 : 640, seed: 3)
            let store = PackedWeights()
            var packedMatrix = m
            packedMatrix.packed = store.pack(m.matrix).packed
            XCTAssertNotNil(packedMatrix.packed)
            for batch in [1, 8] {
                checkMultiply(mm, packedMatrix, batch: batch, tolerance: matMulTolerance[type]!, seed: UInt64(batch))
            }
            m.free()
        }
    }

    func testOtherFormatsAreLeftAsTheyAre() {
        let store = PackedWeights()
        for type in [GGMLType.f32, .f16, .q5_K] {
            let m = TestMatrix(type, rows: 2, cols: 256, seed: 1)
            XCTAssertNil(store.pack(m.matrix).packed, "\(type)")
            m.free()
        }
        XCTAssertEqual(store.byteCount, 0)
    }
}
