import XCTest
@testable import SpecDecKernels

final class FloatFormatTests: XCTestCase {
    func testF32RowsCopyExactly() {
        let x = randomFloats(37, seed: 1)
        XCTAssertEqual(dequantized(.f32, quantized(.f32, x), count: 37), x)
    }

    func testHalfConversionMatchesSwiftFloat16ForEveryBitPattern() {
        for bits in 0...UInt16.max {
            let expected = Float(Float16(bitPattern: bits))
            let got = halfToFloat(bits)
            if expected.isNaN { XCTAssertTrue(got.isNaN); continue }
            XCTAssertEqual(got.bitPattern, expected.bitPattern, "bits \(bits)")
        }
    }

    func testVectorHalfConversionMatchesScalarForEveryBitPattern() {
        var bits: UInt32 = 0
        while bits <= 0xFFFF {
            let v = halvesToFloats(SIMD4(bits, bits + 1, bits + 2, bits + 3))
            for k in 0..<4 {
                let expected = halfToFloat(UInt16(bits) + UInt16(k))
                if expected.isNaN { XCTAssertTrue(v[k].isNaN); continue }
                XCTAssertEqual(v[k].bitPattern, expected.bitPattern, "bits \(Int(bits) + k)")
            }
            bits += 4
        }
    }

    func testF16RowsRoundToNearestHalf() {
        let x: [Float] = [0, 1, -2.5, 65504, 1e-8, 3.14159, -0.000061035156]
        let y = dequantized(.f16, quantized(.f16, x), count: x.count)
        for i in 0..<x.count { XCTAssertEqual(y[i], Float(Float16(x[i])), "\(x[i])") }
    }

    func testBF16IsTheUpperHalfOfF32RoundedToNearestEven() {
        XCTAssertEqual(floatToBF16(1.0), 0x3F80)
        XCTAssertEqual(bf16ToFloat(0x3F80), 1.0)
        // 1 + 2^-8 is exactly halfway between two bf16 values: ties to even (down).
        XCTAssertEqual(floatToBF16(1.00390625), 0x3F80)
        // 1 + 3·2^-8 ties up to the even mantissa.
        XCTAssertEqual(floatToBF16(1.01171875), 0x3F82)
        XCTAssertTrue(bf16ToFloat(floatToBF16(.nan)).isNaN)
        let x = randomFloats(64, seed: 2)
        let y = dequantized(.bf16, quantized(.bf16, x), count: 64)
        for i in 0..<64 { XCTAssertEqual(y[i], x[i], accuracy: abs(x[i]) / 128) }
    }
}
