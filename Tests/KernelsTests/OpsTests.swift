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
        for n in [0, 3, 16, 47, 64, 65, 300] {
            let a = randomFloats(n, seed: 8), b = randomFloats(n, seed: 9)
            XCTAssertEqual(dot(a, b, count: n), dotPortable(a, b, count: n), accuracy: 1e-4)
            var y1 = b, y2 = b
            axpy(-1.5, a, &y1, count: n)
            axpyPortable(-1.5, a, &y2, count: n)
            for i in 0..<n { XCTAssertEqual(y1[i], y2[i], accuracy: 1e-6 * max(1, abs(y2[i]))) }  // fused vs separate rounding
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
    func testDotRowsAndWeightedRowSumMatchRepeatedDotAndAxpy() {
        for len in [16, 64, 100, 128, 256, 300] {
            let stride = len + 5, n = 37
            let rows = (0..<(n * stride)).map { Float(($0 * 7919) % 201) / 100 - 1 }
            let q = (0..<len).map { Float(($0 * 31) % 17) / 8 - 1 }
            let w = (0..<n).map { Float($0 + 1) / Float(n * n) }
            var scores = [Float](repeating: .nan, count: n)
            var out = [Float](repeating: .nan, count: len)
            rows.withUnsafeBufferPointer { r in
                dotRows(q, r.baseAddress!, stride: stride, n: n, count: len, scale: 0.125, &scores)
                weightedRowSum(w, r.baseAddress!, stride: stride, n: n, count: len, &out)
                var ref = [Float](repeating: 0, count: len)
                for t in 0..<n {
                    XCTAssertEqual(scores[t], dot(q, r.baseAddress! + t * stride, count: len) * 0.125, "len \(len) t \(t)")
                    axpy(w[t], r.baseAddress! + t * stride, &ref, count: len)
                }
                XCTAssertEqual(out, ref, "len \(len): same sums as repeated axpy")
            }
        }
    }
}
