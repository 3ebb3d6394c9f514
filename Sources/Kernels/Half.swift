/// Half-precision and bfloat16 conversions.
///
/// The conversions are written with integer bit manipulation so that they do not
/// depend on F16C being enabled for the Swift code generator.

/// Converts IEEE binary16 bits to Float.
@inline(__always)
public func halfToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let exp = UInt32(h >> 10) & 0x1F
    let mant = UInt32(h & 0x03FF)
    if exp == 0 {
        // Zero or subnormal: value = mant * 2^-24.
        let v = Float(mant) * (1.0 / 16_777_216.0)
        return Float(bitPattern: v.bitPattern | sign)
    }
    if exp == 0x1F {
        return Float(bitPattern: sign | 0x7F80_0000 | (mant << 13))
    }
    return Float(bitPattern: sign | ((exp + 112) << 23) | (mant << 13))
}

/// Converts Float to IEEE binary16 bits, rounding to nearest even.
@inline(__always)
public func floatToHalf(_ f: Float) -> UInt16 {
    Float16(f).bitPattern
}

/// Converts bfloat16 bits (upper half of an f32) to Float.
@inline(__always)
public func bf16ToFloat(_ b: UInt16) -> Float {
    Float(bitPattern: UInt32(b) << 16)
}

/// Converts Float to bfloat16 bits, rounding to nearest even (NaN stays NaN), like ggml.
@inline(__always)
public func floatToBF16(_ f: Float) -> UInt16 {
    let u = f.bitPattern
    if (u & 0x7FFF_FFFF) > 0x7F80_0000 { return UInt16(truncatingIfNeeded: (u >> 16) | 64) }
    return UInt16(truncatingIfNeeded: (u &+ (0x7FFF &+ ((u >> 16) & 1))) >> 16)
}

@inline(__always)
func loadU16(_ p: UnsafeRawPointer, _ offset: Int) -> UInt16 {
    p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)
}

@inline(__always)
func loadHalf(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
    halfToFloat(p.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
}

@inline(__always)
func storeHalf(_ p: UnsafeMutableRawPointer, _ offset: Int, _ v: Float) {
    p.storeBytes(of: floatToHalf(v), toByteOffset: offset, as: UInt16.self)
}
