import XCTest
@testable import SpecDecKernels

/// Activations quantized to 8 bits (scale amax/127 per block) give dot products with up to ~1e-2
/// error relative to Σ|w·x| (worst seen ≈ 0.0085 for single 32-element blocks); allow 1.5e-2.
let eightBitActivationTolerance = 1.5e-2
/// Float weights with float activations differ from the Double reference only by summation order.
let floatTolerance = 1e-5

/// Allowed |fast − reference| / Σ|w·x| per weight format.
let matMulTolerance: [GGMLType: Double] = [
    .f32: floatTolerance, .f16: floatTolerance, .bf16: floatTolerance,
    .q4_0: eightBitActivationTolerance, .q4_1: eightBitActivationTolerance, .q5_0: eightBitActivationTolerance,
    .q5_1: eightBitActivationTolerance, .q8_0: eightBitActivationTolerance,
    .q4_K: eightBitActivationTolerance, .q5_K: eightBitActivationTolerance, .q6_K: eightBitActivationTolerance,
]

/// A random matrix of `rows` × `cols` quantized to `type`, with its dequantized values.
struct TestMatrix {
    let type: GGMLType
    let rows: Int
    let cols: Int
    let bytes: UnsafeMutableRawPointer
    let values: [Float]

    init(_ type: GGMLType, rows: Int, cols: Int, seed: UInt64) {
        self.type = type; self.rows = rows; self.cols = cols
        let rowBytes = type.byteCount(elements: cols)!
        let bytes = UnsafeMutableRawPointer.allocate(byteCount: max(1, rows * rowBytes), alignment: 64)
        self.bytes = bytes
        let src = randomFloats(rows * cols, seed: seed)
        var deq = [Float](repeating: 0, count: rows * cols)
        src.withUnsafeBufferPointer { s in
            deq.withUnsafeMutableBufferPointer { d in
                for r in 0..<rows {
                    quantizeRow(type, s.baseAddress! + r * cols, bytes + r * rowBytes, count: cols)
                    dequantizeRow(type, bytes + r * rowBytes, d.baseAddress! + r * cols, count: cols)
                }
            }
        }
        values = deq
    }

    /// A packed copy (``PackedWeights``) the matrix carries, if any, and the kernel set it is packed for.
    var packed: UnsafeRawPointer? = nil
    var packedKernels: KernelSet? = nil
    var matrix: WeightMatrix {
        WeightMatrix(type: type, rows: rows, cols: cols, data: bytes, packed: packed, packedKernels: packedKernels)
    }
    func free() { bytes.deallocate() }
}

/// Runs `mm.multiply` and checks every output against `dotReference` within `tolerance` of Σ|w·x|.
func checkMultiply(_ mm: MatMul, _ m: TestMatrix, batch: Int, tolerance: Double, seed: UInt64,
                   file: StaticString = #filePath, line: UInt = #line) {
    let inStride = m.cols + 3, outStride = m.rows + 2
    let x = randomFloats(batch * inStride, seed: seed)
    var out = [Float](repeating: .nan, count: batch * outStride)
    x.withUnsafeBufferPointer { xp in
        out.withUnsafeMutableBufferPointer { op in
            mm.multiply(m.matrix, input: xp.baseAddress!, inStride: inStride, batch: batch,
                        output: op.baseAddress!, outStride: outStride)
        }
    }
    let rowBytes = m.type.byteCount(elements: m.cols)!
    var worst = 0.0
    for b in 0..<batch {
        for r in 0..<m.rows {
            let ref = x.withUnsafeBufferPointer {
                dotReference(m.type, m.bytes + r * rowBytes, $0.baseAddress! + b * inStride, count: m.cols)
            }
            var scale = 0.0
            for c in 0..<m.cols { scale += abs(Double(m.values[r * m.cols + c]) * Double(x[b * inStride + c])) }
            let err = abs(Double(out[b * outStride + r]) - Double(ref)) / max(scale, 1e-30)
            worst = max(worst, err.isNaN ? .infinity : err)
        }
    }
    if ProcessInfo.processInfo.environment["SHOW_WORST"] != nil { print("worst \(m.type) \(m.rows)x\(m.cols) b\(batch): \(worst)") }
    XCTAssertLessThanOrEqual(worst, tolerance,
                             "\(m.type) rows \(m.rows) cols \(m.cols) batch \(batch)", file: file, line: line)
}

final class MatMulTests: XCTestCase {
    let pool = ThreadPool(threads: 2)

    func testMultiplyMatchesReferenceDotForEveryFormatAtOddSizes() {
        let mm = MatMul(pool: pool)
        for kernels in KernelSet.supported where kernels != .portable {
        mm.backend = kernels
        for type in weightFormats {
            let bs = type.blockSize == 1 ? 32 : type.blockSize
            var seed: UInt64 = 100
            for blocks in [1, 2, 3, 5, 7] {
                for rows in [1, 3, 17, 64] {
                    let cols = type.blockSize == 1 ? bs * blocks + (blocks == 1 ? 0 : 5) : bs * blocks
                    let m = TestMatrix(type, rows: rows, cols: cols, seed: seed)
                    for batch in [1, 2, 3, 8] {
                        seed &+= 1
                        checkMultiply(mm, m, batch: batch, tolerance: matMulTolerance[type]!, seed: seed)
                    }
                    m.free()
                }
            }
        }
        }
    }

    func testMultiplyHandlesBatchesLargerThanOneKernelPassAndRowsLongerThanOneCacheChunk() {
        let mm = MatMul(pool: pool)
        for kernels in KernelSet.supported where kernels != .portable {
            mm.backend = kernels
            for type in weightFormats {
                // 2304 = 9 K-blocks; 2336 = 73 legacy blocks (odd: exercises the single trailing block).
                let cols = type.blockSize == 256 ? 2304 : 2336
                let m = TestMatrix(type, rows: 19, cols: cols, seed: 42)
                for batch in [1, 8, 9, 16, 33] {
                    checkMultiply(mm, m, batch: batch, tolerance: matMulTolerance[type]!, seed: UInt64(batch))
                }
                m.free()
            }
        }
    }

    /// Batched verification in speculative decoding must reproduce single-token logits exactly.
    func testEachColumnOfABatchIsBitIdenticalToMultiplyingItAlone() {
        let mm = MatMul(pool: pool)
        for backend in KernelSet.supported {
            mm.backend = backend
            for type in weightFormats {
                let cols = type.blockSize == 256 ? 2304 : 2336, rows = 37, batch = 11
                let m = TestMatrix(type, rows: rows, cols: cols, seed: 8)
                defer { m.free() }
                let x = randomFloats(batch * cols, seed: 12)
                var all = [Float](repeating: 0, count: batch * rows)
                x.withUnsafeBufferPointer { xp in
                    mm.multiply(m.matrix, input: xp.baseAddress!, inStride: cols, batch: batch, output: &all, outStride: rows)
                    for b in [0, 5, 10] {
                        var one = [Float](repeating: 0, count: rows)
                        mm.multiply(m.matrix, input: xp.baseAddress! + b * cols, inStride: cols, batch: 1, output: &one, outStride: rows)
                        XCTAssertEqual(one, Array(all[b * rows..<(b + 1) * rows]), "\(type) \(backend) column \(b)")
                    }
                }
            }
        }
    }

    func testAGroupOfProductsGivesEachMatrixItsOwnResultBitForBit() {
        let mm = MatMul(pool: pool)
        // Formats shared within a group (one quantization) and mixed, float and quantized, a matrix with
        // fewer rows than a task, and a packed copy.
        let groups: [[GGMLType]] = [[.q4_K, .q4_K, .q6_K], [.q5_0, .q8_0, .q5_0], [.f32, .q4_0], [.q4_1, .q5_1, .bf16], [.q8_0]]
        let cols = 768
        let packs = PackedWeights()
        for backend in KernelSet.supported {
            mm.backend = backend
            for (g, types) in groups.enumerated() {
                var mats = types.enumerated().map { i, t in TestMatrix(t, rows: [37, 5, 64][i], cols: cols, seed: UInt64(10 * g + i)) }
                defer { for m in mats { m.free() } }
                if g == 1 {
                    let p = packs.pack(mats[1].matrix, for: backend)
                    mats[1].packed = p.packed
                    mats[1].packedKernels = p.packedKernels
                }
                for batch in [1, 3, 8] {
                    let inStride = cols + 4
                    let x = randomFloats(batch * inStride, seed: UInt64(batch))
                    var alone = [[Float]]()
                    let outs = mats.map { UnsafeMutablePointer<Float>.allocate(capacity: batch * ($0.rows + 1)) }
                    defer { for o in outs { o.deallocate() } }
                    for (i, m) in mats.enumerated() {
                        let outStride = m.rows + 1
                        var o = [Float](repeating: .nan, count: batch * outStride)
                        x.withUnsafeBufferPointer { mm.multiply(m.matrix, input: $0.baseAddress!, inStride: inStride, batch: batch,
                                                                output: &o, outStride: outStride) }
                        alone.append(o)
                        outs[i].initialize(repeating: .nan, count: batch * outStride)
                    }
                    let p = mats.indices.map { MatMul.Product(mats[$0].matrix, output: outs[$0], outStride: mats[$0].rows + 1) }
                    x.withUnsafeBufferPointer { xp in
                        mm.multiply(p[0], p.count > 1 ? p[1] : nil, p.count > 2 ? p[2] : nil,
                                    input: xp.baseAddress!, inStride: inStride, batch: batch)
                    }
                    let grouped = outs.enumerated().map { i, o in Array(UnsafeBufferPointer(start: o, count: batch * (mats[i].rows + 1))) }
                    for i in mats.indices {
                        // NaN padding between columns stays NaN: compare the written entries only.
                        for b in 0..<batch {
                            let r = b * (mats[i].rows + 1)
                            XCTAssertEqual(Array(grouped[i][r..<r + mats[i].rows]), Array(alone[i][r..<r + mats[i].rows]),
                                           "\(backend) group \(types) matrix \(i) batch \(batch)")
                        }
                    }
                }
            }
        }
    }

    func testPortableKernelsMatchReferenceDotToo() {
        let mm = MatMul(pool: pool)
        mm.backend = .portable
        for type in weightFormats {
            let bs = type.blockSize == 1 ? 32 : type.blockSize
            let m = TestMatrix(type, rows: 17, cols: 3 * bs, seed: 9)
            for batch in [1, 3, 9] {
                checkMultiply(mm, m, batch: batch, tolerance: matMulTolerance[type]!, seed: UInt64(batch))
            }
            m.free()
        }
    }
}
