import XCTest
@testable import SpecDecKernels

/// Packed (repacked at load) matrices must give exactly the results of the GGUF layout, for every
/// kernel set this CPU runs that has packed layouts.
final class PackedWeightsTests: XCTestCase {
    let pool = ThreadPool(threads: 2)
    static let packable: [KernelSet: [GGMLType]] = [.avx512: [.q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_K, .q6_K],
                                                    .avx2: [.q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_K, .q5_K, .q6_K]]
    var sets: [KernelSet] { KernelSet.supported.filter { $0 != .portable } }

    func testPackedMatricesAreBitIdenticalToTheGGUFLayout() throws {
        try XCTSkipIf(sets.isEmpty, "no vector kernels on this CPU: nothing is packed")
        for kernels in sets { packedMatricesAreBitIdenticalToTheGGUFLayout(kernels) }
    }

    private func packedMatricesAreBitIdenticalToTheGGUFLayout(_ kernels: KernelSet) {
        let mm = MatMul(pool: pool)
        mm.backend = kernels
        var seed: UInt64 = 7
        for type in Self.packable[kernels]! {
            // Legacy: whole and partial super-blocks of 8 blocks: 640 = 2.5, 896 = 3.5 (Gemma 3, Qwen 0.5B
            // widths). K-quants: 256-value blocks.
            let widths = type.blockSize == 256 ? [256, 768, 1536] : [32, 96, 256, 640, 896, 2336]
            for cols in widths {
                for rows in [1, 3, 17] {
                    seed &+= 1
                    let m = TestMatrix(type, rows: rows, cols: cols, seed: seed)
                    let store = PackedWeights()
                    let packed = store.pack(m.matrix, for: kernels, pool: pool)
                    XCTAssertNotNil(packed.packed)
                    XCTAssertEqual(packed.packedKernels, kernels)
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
                        XCTAssertEqual(plain.map(\.bitPattern), fast.map(\.bitPattern), "\(kernels) \(type) \(rows)x\(cols) batch \(batch)")
                    }
                    m.free()
                }
            }
        }
    }

    func testPackedMatricesStillMatchTheReferenceDot() throws {
        try XCTSkipIf(sets.isEmpty, "no vector kernels on this CPU: nothing is packed")
        for kernels in sets {
        let mm = MatMul(pool: pool)
        mm.backend = kernels
        for type in Self.packable[kernels]! {
            let m = TestMatrix(type, rows: 9, cols: type.blockSize == 256 ? 768 : 640, seed: 3)
            let store = PackedWeights()
            var packedMatrix = m
            let p = store.pack(m.matrix, for: kernels)
            packedMatrix.packed = p.packed
            packedMatrix.packedKernels = p.packedKernels
            XCTAssertNotNil(packedMatrix.packed)
            for batch in [1, 8] {
                checkMultiply(mm, packedMatrix, batch: batch, tolerance: matMulTolerance[type]!, seed: UInt64(batch))
            }
            m.free()
        }
        }
    }

    /// A matrix packed for one set is read in the GGUF layout by the others (same results as unpacked).
    func testAMatrixPackedForAnotherSetIsReadInItsGGUFLayout() throws {
        try XCTSkipIf(sets.count < 2, "needs two vector kernel sets")
        let mm = MatMul(pool: pool)
        let store = PackedWeights()
        for type in [GGMLType.q4_K, .q8_0] {
            let m = TestMatrix(type, rows: 5, cols: 512, seed: 4)
            defer { m.free() }
            let x = randomFloats(3 * 512, seed: 5)
            for packFor in sets {
                let packed = store.pack(m.matrix, for: packFor)
                for kernels in sets where kernels != packFor {
                    mm.backend = kernels
                    var a = [Float](repeating: .nan, count: 15), b = a
                    mm.multiply(m.matrix, input: x, inStride: 512, batch: 3, output: &a, outStride: 5)
                    mm.multiply(packed, input: x, inStride: 512, batch: 3, output: &b, outStride: 5)
                    XCTAssertEqual(a.map(\.bitPattern), b.map(\.bitPattern), "\(type) packed for \(packFor), run by \(kernels)")
                }
            }
        }
    }

    func testOtherFormatsAreLeftAsTheyAre() {
        let store = PackedWeights()
        for kernels in KernelSet.allCases {
            for type in weightFormats where !(Self.packable[kernels] ?? []).contains(type) {
                let m = TestMatrix(type, rows: 2, cols: 256, seed: 1)
                XCTAssertFalse(PackedWeights.canPack(type, for: kernels))
                XCTAssertNil(store.pack(m.matrix, for: kernels).packed, "\(kernels) \(type)")
                m.free()
            }
        }
        XCTAssertEqual(store.byteCount, 0)
    }
}
