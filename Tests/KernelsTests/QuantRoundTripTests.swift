import XCTest
@testable import SpecDecKernels

/// Largest accepted relative RMS error of quantize → dequantize on roughly Gaussian data.
/// About 1.5× what the format's step size predicts (uniform rounding error, step/√12).
let roundTripBound: [GGMLType: Double] = [
    .f32: 0, .f16: 1e-3, .bf16: 5e-3,
    .q4_0: 0.13, .q4_1: 0.11, .q5_0: 0.065, .q5_1: 0.055, .q8_0: 0.008,
    .q4_K: 0.11, .q5_K: 0.055, .q6_K: 0.028,
]

final class QuantRoundTripTests: XCTestCase {
    func testEveryFormatRoundTripsWithinItsErrorBound() {
        for type in weightFormats {
            let n = 256 * 6
            let x = randomFloats(n, seed: 7 &+ UInt64(type.rawValue))
            let y = dequantized(type, quantized(type, x), count: n)
            let err = relativeRMSError(y, x)
            print("round trip \(type): relative RMS error \(err)")
            XCTAssertLessThanOrEqual(err, roundTripBound[type]!, "\(type)")
        }
    }
}
