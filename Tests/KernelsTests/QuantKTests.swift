import XCTest
@testable import SpecDecKernels

/// Largest accepted relative RMS error of quantize → dequantize for the K-quants on roughly
/// Gaussian data (about 1.4× the measured error: Q4_K 0.075, Q5_K 0.039, Q6_K 0.019).
let kQuantRoundTripBound: [GGMLType: Double] = [.q4_K: 0.11, .q5_K: 0.055, .q6_K: 0.028]

final class QuantKTests: XCTestCase {
    func testKQuantsRoundTripWithinTheirErrorBounds() {
        for type in [GGMLType.q4_K, .q5_K, .q6_K] {
            let n = 256 * 6
            let x = randomFloats(n, seed: 7 &+ UInt64(type.rawValue))
            let err = relativeRMSError(dequantized(type, quantized(type, x), count: n), x)
            XCTAssertLessThanOrEqual(err, kQuantRoundTripBound[type]!, "\(type)")
        }
    }

    func testKQuantsOfAllZeroBlocksDequantizeToZero() {
        for type in [GGMLType.q4_K, .q5_K, .q6_K] {
            let y = dequantized(type, quantized(type, [Float](repeating: 0, count: 256)), count: 256)
            XCTAssertEqual(y, [Float](repeating: 0, count: 256), "\(type)")
        }
    }

    /// Q4_K block built byte by byte: d = 0.5, dmin = 0.25, 6-bit scales and mins packed as in
    /// ggml's get_scale_min_k4 (sub-blocks 4...7 keep their top 2 bits in bytes 0...7).
    func testQ4KBlockBuiltByHandDequantizesToHandComputedValues() {
        let sc: [UInt8] = [1, 2, 3, 4, 17, 33, 50, 63], mn: [UInt8] = [0, 5, 10, 15, 20, 40, 60, 63]
        var block = [UInt8](repeating: 0, count: 144)
        block[0] = 0x00; block[1] = 0x38  // d = 0.5
        block[2] = 0x00; block[3] = 0x34  // dmin = 0.25
        for j in 0..<4 {
            block[4 + j] = (sc[j] & 63) | ((sc[j + 4] >> 4) << 6)
            block[8 + j] = (mn[j] & 63) | ((mn[j + 4] >> 4) << 6)
            block[12 + j] = (sc[j + 4] & 0x0F) | ((mn[j + 4] & 0x0F) << 4)
        }
        for i in 0..<128 { block[16 + i] = UInt8((i * 7 + 3) & 0xFF) }
        block[16 + 0] = 0x21   // element 0: low nibble 1 (sub-block 0); element 32: high nibble 2 (sub-block 1)
        block[16 + 64] = 0x0A  // element 128: low nibble 10 (sub-block 4)
        block[16 + 96] = 0xF0  // element 160: low 0 (sub-block 5); element 224: high 15 (sub-block 7)
        let y = dequantized(.q4_K, block, count: 256)
        XCTAssertEqual(y[0], 0.5 * 1 * 1 - 0.25 * 0)
        XCTAssertEqual(y[32], 0.5 * 2 * 2 - 0.25 * 5)      // 0.75
        XCTAssertEqual(y[128], 0.5 * 17 * 10 - 0.25 * 20)  // 80
        XCTAssertEqual(y[160], 0.5 * 33 * 0 - 0.25 * 40)   // -10
        XCTAssertEqual(y[224], 0.5 * 63 * 15 - 0.25 * 63)  // 456.75
        for e in 0..<256 {
            let chunk = e / 64, l = e % 32, high = e % 64 >= 32
            let byte = block[16 + 32 * chunk + l]
            let q = Float(high ? byte >> 4 : byte & 0x0F)
            let j = 2 * chunk + (high ? 1 : 0)
            XCTAssertEqual(y[e], 0.5 * Float(sc[j]) * q - 0.25 * Float(mn[j]), "element \(e)")
        }
    }

    /// Q6_K block built byte by byte: d = 2, scales[g] = g − 8; each value is
    /// d · scale[e/16] · ((4 low bits from ql | 2 high bits from qh) − 32).
    func testQ6KBlockBuiltByHandDequantizesToHandComputedValues() {
        var block = [UInt8](repeating: 0, count: 210)
        for g in 0..<16 { block[192 + g] = UInt8(bitPattern: Int8(g - 8)) }
        block[208] = 0x00; block[209] = 0x40  // d = 2
        block[0] = 0x5A       // ql[0]: low 10 → element 0, high 5 → element 64
        block[32] = 0x3F      // ql[32]: low 15 → element 32, high 3 → element 96
        block[128] = 0xE4     // qh[0]: bits 0-1 = 0 (e0), 2-3 = 1 (e32), 4-5 = 2 (e64), 6-7 = 3 (e96)
        block[64 + 17] = 0x07 // ql[81]: low 7 → element 145
        block[128 + 49] = 0x03 // qh[49]: bits 0-1 = 3 → element 145
        let y = dequantized(.q6_K, block, count: 256)
        XCTAssertEqual(y[0], 2 * -8 * Float(10 - 32))          // 352
        XCTAssertEqual(y[32], 2 * -6 * Float((15 | 16) - 32))  // 12
        XCTAssertEqual(y[64], 2 * -4 * Float((5 | 32) - 32))   // -40
        XCTAssertEqual(y[96], 2 * -2 * Float((3 | 48) - 32))   // -76
        XCTAssertEqual(y[145], 2 * 1 * Float((7 | 48) - 32))   // 46
        XCTAssertEqual(y[1], 2 * -8 * -32)                     // all-zero bits: q = −32
        XCTAssertEqual(y[255], 2 * 7 * -32)
    }

    func testQ4KQuantizerGivesTheLargestSubBlockTheMaximumSixBitScale() {
        // One sub-block of larger magnitude: its 6-bit scale must be 63 (the maximum).
        var x = randomFloats(256, seed: 3)
        for i in 64..<96 { x[i] *= 10 }
        let b = quantized(.q4_K, x)
        let (s, _) = b.withUnsafeBytes { scaleMinK4(2, $0.baseAddress! + 4) }
        XCTAssertEqual(s, 63)
    }
}
