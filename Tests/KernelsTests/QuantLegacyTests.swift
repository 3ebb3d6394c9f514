import XCTest
@testable import SpecDecKernels

/// Largest accepted relative RMS error of quantize → dequantize for the 32-value block formats on
/// roughly Gaussian data (about 1.3× the measured error: Q4_0 0.106, Q4_1 0.089, Q5_0 0.051,
/// Q5_1 0.038, Q8_0 0.0066).
let legacyRoundTripBound: [GGMLType: Double] = [.q4_0: 0.14, .q4_1: 0.12, .q5_0: 0.07, .q5_1: 0.05, .q8_0: 0.009]

final class QuantLegacyTests: XCTestCase {
    func testLegacyFormatsRoundTripWithinTheirErrorBounds() {
        for type in [GGMLType.q4_0, .q4_1, .q5_0, .q5_1, .q8_0] {
            let n = 32 * 40
            let x = randomFloats(n, seed: 11 &+ UInt64(type.rawValue))
            let err = relativeRMSError(dequantized(type, quantized(type, x), count: n), x)
            XCTAssertLessThanOrEqual(err, legacyRoundTripBound[type]!, "\(type)")
        }
    }

    func testQ4_0BlockBuiltByHandDequantizesToHandComputedValues() {
        var block = [UInt8](repeating: 0x88, count: 18)  // all nibbles 8 → 0
        block[0] = 0x00; block[1] = 0x38                 // d = 0.5
        block[2] = 0x9F                                  // element 0: 15 → 3.5; element 16: 9 → 0.5
        block[17] = 0x08 | 0x00                          // element 15: 8 → 0; element 31: 0 → −4
        let y = dequantized(.q4_0, block, count: 32)
        XCTAssertEqual(y[0], 3.5)
        XCTAssertEqual(y[16], 0.5)
        XCTAssertEqual(y[15], 0)
        XCTAssertEqual(y[31], -4)
        XCTAssertEqual(y[5], 0)
    }

    func testQ4_1BlockBuiltByHandAddsTheMin() {
        var block = [UInt8](repeating: 0, count: 20)
        block[0] = 0x00; block[1] = 0x40  // d = 2
        block[2] = 0x00; block[3] = 0xBC  // m = −1
        block[4] = 0x3A                   // element 0: 10 → 19; element 16: 3 → 5
        let y = dequantized(.q4_1, block, count: 32)
        XCTAssertEqual(y[0], 19)
        XCTAssertEqual(y[16], 5)
        XCTAssertEqual(y[1], -1)
    }

    func testQ5_0BlockTakesTheFifthBitOfElementJFromBitJOfQh() {
        var block = [UInt8](repeating: 0, count: 22)
        block[0] = 0x00; block[1] = 0x3C                   // d = 1
        let qh: UInt32 = (1 << 0) | (1 << 17)              // elements 0 and 17 get +16
        withUnsafeBytes(of: qh.littleEndian) { for i in 0..<4 { block[2 + i] = $0[i] } }
        block[6] = 0x21                                    // element 0: 1, element 16: 2
        block[7] = 0x43                                    // element 1: 3, element 17: 4
        let y = dequantized(.q5_0, block, count: 32)
        XCTAssertEqual(y[0], Float(1 + 16 - 16))
        XCTAssertEqual(y[16], Float(2 - 16))
        XCTAssertEqual(y[1], Float(3 - 16))
        XCTAssertEqual(y[17], Float(4 + 16 - 16))
        XCTAssertEqual(y[2], -16)
    }

    func testQ5_1BlockAddsTheMinAfterTheFifthBit() {
        var block = [UInt8](repeating: 0, count: 24)
        block[0] = 0x00; block[1] = 0x38  // d = 0.5
        block[2] = 0x00; block[3] = 0x3C  // m = 1
        block[4] = 0x01                   // qh bit 0 → element 0 gets +16
        block[8] = 0x0F                   // element 0: 15
        let y = dequantized(.q5_1, block, count: 32)
        XCTAssertEqual(y[0], 0.5 * 31 + 1)
        XCTAssertEqual(y[16], 1)
    }

    func testQ8_0BlockIsScaleTimesSignedBytes() {
        var block = [UInt8](repeating: 0, count: 34)
        block[0] = 0x00; block[1] = 0x34  // d = 0.25
        block[2] = UInt8(bitPattern: -128); block[33] = 127
        let y = dequantized(.q8_0, block, count: 32)
        XCTAssertEqual(y[0], -32)
        XCTAssertEqual(y[31], 31.75)
    }
}
