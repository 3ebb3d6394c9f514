import XCTest
import Foundation
@testable import SpecDecKernels

final class VectorMathTests: XCTestCase {
    func testVectorExpMatchesLibmAcrossTheFloatRange() {
        var worst: Float = 0
        var x: Float = -87
        while x < 88 {
            var v = SIMD16<Float>()
            for j in 0..<16 { v[j] = x + Float(j) * 0.0137 }
            let e = vectorExp(v)
            for j in 0..<16 {
                let ref = expf(v[j])
                worst = max(worst, abs(e[j] - ref) / ref)
            }
            x += 0.25
        }
        XCTAssertLessThan(worst, 4e-7)
        let sat = vectorExp(SIMD16(repeating: -1000))
        XCTAssertTrue(sat[0] >= 0 && sat[0] < 1e-37)
        XCTAssertTrue(vectorExp(SIMD16(repeating: 1000))[3].isFinite)
    }

    func testGatesMatchTheirScalarDefinitions() {
        for n in [1, 15, 16, 17, 100] {
            let g0 = (0..<n).map { Float($0) * 0.37 - 12 + (n % 2 == 0 ? 0.11 : 0) }
            let up = (0..<n).map { Float($0 % 7) - 3.5 }
            var silu = g0, gelu = g0
            silu.withUnsafeMutableBufferPointer { siluGate($0.baseAddress!, up, count: n) }
            gelu.withUnsafeMutableBufferPointer { geluGate($0.baseAddress!, up, count: n) }
            for i in 0..<n {
                let g = g0[i]
                let refSilu = g / (1 + expf(-g)) * up[i]
                let refGelu = 0.5 * g * (1 + tanhf(0.797_884_56 * (g + 0.044715 * g * g * g))) * up[i]
                XCTAssertEqual(silu[i], refSilu, accuracy: 1e-6 * max(1, abs(refSilu)), "silu n \(n) i \(i)")
                XCTAssertEqual(gelu[i], refGelu, accuracy: 1e-6 * max(1, abs(refGelu)), "gelu n \(n) i \(i)")
            }
        }
    }

    func testVectorGatesMatchThePortableSwiftGates() {
        for kernels in KernelSet.supported where kernels != .portable {
            for n in [1000, 1003, 5] { vectorGatesMatchThePortableSwiftGates(kernels, n) }
        }
    }

    private func vectorGatesMatchThePortableSwiftGates(_ kernels: KernelSet, _ n: Int) {
        let g0 = (0..<n).map { Float($0) * 0.031 - 15 }
        let up = (0..<n).map { Float($0 % 13) * 0.25 - 1.5 }
        for gelu in [false, true] {
            var fast = g0, portable = g0
            fast.withUnsafeMutableBufferPointer {
                gelu ? geluGate($0.baseAddress!, up, count: n, kernels: kernels) : siluGate($0.baseAddress!, up, count: n, kernels: kernels)
            }
            portable.withUnsafeMutableBufferPointer {
                gelu ? geluGatePortable($0.baseAddress!, up, count: n) : siluGatePortable($0.baseAddress!, up, count: n)
            }
            for i in 0..<n {
                XCTAssertEqual(fast[i], portable[i], accuracy: 2e-6 * max(1, abs(portable[i])), "\(kernels) gelu \(gelu) n \(n) i \(i)")
            }
        }
    }

    func testGatesSaturateWithoutNaN() {
        var g: [Float] = [-1e4, -100, 100, 1e4, 0, -0.0]
        let up = [Float](repeating: 1, count: g.count)
        var h = g
        g.withUnsafeMutableBufferPointer { siluGate($0.baseAddress!, up, count: 6) }
        h.withUnsafeMutableBufferPointer { geluGate($0.baseAddress!, up, count: 6) }
        XCTAssertEqual(g.map { $0.isNaN }, [false, false, false, false, false, false])
        XCTAssertEqual(h.map { $0.isNaN }, [false, false, false, false, false, false])
        XCTAssertEqual(g[3], 1e4)
        XCTAssertEqual(h[2], 100)
        XCTAssertEqual(h[0], 0, accuracy: 1e-30)
    }
}
