import XCTest
@testable import SpecDecKernels

final class OpsTests: XCTestCase {
    func testDotMatchesDoublePrecisionSumAtEveryLength() {
        for n in [0, 1, 5, 15, 16, 17, 31, 32, 33, 100, 1000] {
            let a = randomFloats(n, seed: 1), b = randomFloats(n, seed: 2)
            var ref = 0.0
            for i in 0..<n { ref += Double(a[i]) * Double(b[i]) }
            let got = dot(a, b, count: n)
            XCTAssertEqual(Double(got), ref, accuracy: 1e-5 * max(1, abs(ref)), "n \(n)")
        }
    }

    func testSwiftReferencesOfDotAndAxpyAgreeWithTheFastVersions() {
        for kernels in KernelSet.supported {
            for n in [0, 3, 7, 8, 9, 16, 47, 64, 65, 300] {
                let a = randomFloats(n, seed: 8), b = randomFloats(n, seed: 9)
                XCTAssertEqual(dot(a, b, count: n, kernels: kernels), dotPortable(a, b, count: n), accuracy: 1e-4, "\(kernels) n \(n)")
                var y1 = b, y2 = b
                axpy(-1.5, a, &y1, count: n, kernels: kernels)
                axpyPortable(-1.5, a, &y2, count: n)
                for i in 0..<n { XCTAssertEqual(y1[i], y2[i], accuracy: 1e-6 * max(1, abs(y2[i])), "\(kernels)") }  // fused vs separate rounding
            }
        }
    }

    func testAxpyAddsScaledVectorAtEveryLength() {
        for n in [0, 1, 15, 16, 17, 100] {
            let x = randomFloats(n, seed: 3)
            var y = randomFloats(n, seed: 4)
            let y0 = y
            axpy(0.5, x, &y, count: n)
            for i in 0..<n { XCTAssertEqual(y[i], y0[i] + 0.5 * x[i], accuracy: 1e-6) }
        }
    }

    func testRMSNormScalesToUnitRootMeanSquareTimesWeight() {
        let n = 37
        let x = randomFloats(n, seed: 5), w = randomFloats(n, seed: 6)
        var out = [Float](repeating: 0, count: n)
        rmsNorm(x, w, &out, count: n, eps: 1e-6)
        var ss = 0.0
        for v in x { ss += Double(v) * Double(v) }
        let scale = 1 / (ss / Double(n) + 1e-6).squareRoot()
        for i in 0..<n { XCTAssertEqual(Double(out[i]), Double(x[i]) * scale * Double(w[i]), accuracy: 1e-5) }
    }

    func testRMSNormMayWorkInPlace() {
        var x = randomFloats(20, seed: 7)
        let w = [Float](repeating: 1, count: 20)
        var expected = [Float](repeating: 0, count: 20)
        rmsNorm(x, w, &expected, count: 20, eps: 1e-5)
        x.withUnsafeMutableBufferPointer { rmsNorm($0.baseAddress!, w, $0.baseAddress!, count: 20, eps: 1e-5) }
        XCTAssertEqual(x, expected)
    }

    func testSoftmaxIsStableForLargeLogitsAndSumsToOne() {
        var v: [Float] = [1000, 1001, 999, -.infinity, 1000.5]
        softmax(&v, count: v.count)
        XCTAssertEqual(v.reduce(0, +), 1, accuracy: 1e-6)
        XCTAssertEqual(v[3], 0)
        var ref = [1000, 1001, 999, 1000.5].map { exp(Double($0) - 1001) }
        let s = ref.reduce(0, +)
        ref = ref.map { $0 / s }
        XCTAssertEqual(Double(v[1]), ref[1], accuracy: 1e-6)
        XCTAssertEqual(Double(v[2]), ref[2], accuracy: 1e-6)
    }

    func testSoftmaxOnlyTouchesTheFirstCountElements() {
        var v: [Float] = [1, 2, 3, 42]
        softmax(&v, count: 3)
        XCTAssertEqual(v[3], 42)
        XCTAssertEqual(v[0] + v[1] + v[2], 1, accuracy: 1e-6)
    }

    func testFastExpIsAccurateOverTheSoftmaxRange() {
        var worst: Float = 0
        var x: Float = -80
        while x <= 0 {
            let rel = abs(fastExp(x) - Float(exp(Double(x)))) / Float(exp(Double(x)))
            worst = max(worst, rel)
            x += 0.013
        }
        XCTAssertLessThan(worst, 2e-6)
        XCTAssertEqual(fastExp(-200), 0)
        XCTAssertEqual(fastExp(0), 1)
    }
}

final class AttentionOpsTests: XCTestCase {
    /// Deterministic pseudo-random values in [-1, 1).
    private func values(_ n: Int, seed: Int) -> [Float] {
        var x = UInt64(seed) &* 0x9E37_79B9_7F4A_7C15 | 1
        return (0..<n).map { _ in
            x ^= x << 13; x ^= x >> 7; x ^= x << 17
            return Float(x % 20001) / 10000 - 1
        }
    }

    func testAttendMatchesPortableReference() {
        for kernels in KernelSet.supported where kernels != .portable {
        for (headDim, heads, positions) in [(64, 3, 1), (64, 7, 37), (80, 5, 33), (12, 2, 9), (128, 6, 100), (256, 4, 257), (256, 1, 2)] {
            let stride = headDim + 16
            let keys = values(positions * stride, seed: headDim + 1)
            let vals = values(positions * stride, seed: headDim + 2)
            let q = values(heads * headDim, seed: heads).map { $0 * 3 }
            var scores = [Float](repeating: .nan, count: heads * positions)
            var out = [Float](repeating: .nan, count: heads * headDim)
            var ref = [Float](repeating: .nan, count: heads * headDim)
            let scale = 1 / Float(headDim).squareRoot()
            attend(queries: q, queryStride: headDim, heads: heads, keys: keys, values: vals, rowStride: stride,
                   positions: positions, headDim: headDim, scale: scale, scores: &scores, output: &out, outputStride: headDim,
                   kernels: kernels)
            attendPortable(queries: q, queryStride: headDim, heads: heads, keys: keys, values: vals, rowStride: stride,
                           positions: positions, headDim: headDim, scale: scale, scores: &scores, output: &ref,
                           outputStride: headDim)
            for i in 0..<out.count {
                XCTAssertEqual(out[i], ref[i], accuracy: 2e-5 + 2e-5 * abs(ref[i]),
                               "\(kernels) dim \(headDim) heads \(heads) n \(positions) i \(i)")
            }
        }
        }
    }

    func testAttendHeadDoesNotDependOnGrouping() {
        for kernels in KernelSet.supported { attendHeadDoesNotDependOnGrouping(kernels) }
    }

    private func attendHeadDoesNotDependOnGrouping(_ kernels: KernelSet) {
        let headDim = 128, heads = 7, positions = 45, stride = 256
        let keys = values(positions * stride, seed: 3), vals = values(positions * stride, seed: 4)
        let q = values(heads * headDim, seed: 5)
        var scores = [Float](repeating: 0, count: heads * positions)
        var together = [Float](repeating: .nan, count: heads * headDim)
        attend(queries: q, queryStride: headDim, heads: heads, keys: keys, values: vals, rowStride: stride,
               positions: positions, headDim: headDim, scale: 0.1, scores: &scores, output: &together, outputStride: headDim,
               kernels: kernels)
        for j in 0..<heads {
            var alone = [Float](repeating: .nan, count: headDim)
            q.withUnsafeBufferPointer { qb in
                attend(queries: qb.baseAddress! + j * headDim, queryStride: headDim, heads: 1, keys: keys, values: vals,
                       rowStride: stride, positions: positions, headDim: headDim, scale: 0.1, scores: &scores,
                       output: &alone, outputStride: headDim, kernels: kernels)
            }
            XCTAssertEqual(alone, Array(together[(j * headDim)..<((j + 1) * headDim)]),
                           "\(kernels) head \(j): bit-identical alone and grouped")
        }
    }
}
