import XCTest
@testable import SpecDecKernels

/// Formats stored in weight files that the kernels support.
let weightFormats: [GGMLType] = [.f32, .f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_K, .q5_K, .q6_K]

/// Deterministic pseudo-random floats, roughly Gaussian (sum of uniforms) with occasional outliers
/// so that scales and mins are exercised.
func randomFloats(_ count: Int, seed: UInt64, scale: Float = 1) -> [Float] {
    var rng = SplitMix64(seed: seed)
    return (0..<count).map { i in
        var s: Float = 0
        for _ in 0..<4 { s += Float.random(in: -1...1, using: &rng) }
        let v = s * 0.5 * scale
        return i % 97 == 13 ? v * 4 : v
    }
}

/// Quantizes `values` (a whole number of blocks) into freshly allocated bytes of format `type`.
func quantized(_ type: GGMLType, _ values: [Float]) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: type.byteCount(elements: values.count)!)
    values.withUnsafeBufferPointer { src in
        bytes.withUnsafeMutableBytes { quantizeRow(type, src.baseAddress!, $0.baseAddress!, count: values.count) }
    }
    return bytes
}

/// Dequantizes bytes of format `type` holding `count` elements.
func dequantized(_ type: GGMLType, _ bytes: [UInt8], count: Int) -> [Float] {
    var out = [Float](repeating: .nan, count: count)
    bytes.withUnsafeBytes { src in
        out.withUnsafeMutableBufferPointer { dequantizeRow(type, src.baseAddress!, $0.baseAddress!, count: count) }
    }
    return out
}

/// sqrt(Σ(a-b)²) / sqrt(Σb²)
func relativeRMSError(_ a: [Float], _ b: [Float]) -> Double {
    precondition(a.count == b.count)
    var num = 0.0, den = 0.0
    for i in 0..<a.count {
        let d = Double(a[i]) - Double(b[i])
        num += d * d
        den += Double(b[i]) * Double(b[i])
    }
    return den == 0 ? num.squareRoot() : (num / den).squareRoot()
}

/// True when two writers fill zeroed buffers of `byteCount` bytes with the same bytes (a C quantizer
/// against its Swift reference).
func sameBytes(_ byteCount: Int, _ first: (UnsafeMutableRawPointer) -> Void, _ second: (UnsafeMutableRawPointer) -> Void) -> Bool {
    let a = UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: 64)
    let b = UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: 64)
    defer { a.deallocate(); b.deallocate() }
    a.initializeMemory(as: UInt8.self, repeating: 0, count: byteCount)
    b.initializeMemory(as: UInt8.self, repeating: 0, count: byteCount)
    first(a)
    second(b)
    return memcmp(a, b, byteCount) == 0
}
