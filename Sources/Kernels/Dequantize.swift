/// Scalar dequantizers for every supported GGML block format (layouts as in ggml-common.h).

/// Dequantizes `count` elements (a multiple of type.blockSize) of format `type` at `src` into `dst`.
public func dequantizeRow(_ type: GGMLType, _ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, count: Int) {
    precondition(count % type.blockSize == 0, "count must be a multiple of the block size")
    let nb = count / type.blockSize
    let bb = type.blockBytes
    switch type {
    case .f32:
        dst.update(from: src.assumingMemoryBound(to: Float.self), count: count)
    case .f16:
        for i in 0..<count { dst[i] = loadHalf(src, 2 * i) }
    case .bf16:
        for i in 0..<count { dst[i] = bf16ToFloat(loadU16(src, 2 * i)) }
    case .q4_0:
        for b in 0..<nb { dequantizeBlockQ4_0(src + b * bb, dst + b * 32) }
    case .q4_1:
        for b in 0..<nb { dequantizeBlockQ4_1(src + b * bb, dst + b * 32) }
    case .q5_0:
        for b in 0..<nb { dequantizeBlockQ5_0(src + b * bb, dst + b * 32) }
    case .q5_1:
        for b in 0..<nb { dequantizeBlockQ5_1(src + b * bb, dst + b * 32) }
    case .q8_0:
        for b in 0..<nb { dequantizeBlockQ8_0(src + b * bb, dst + b * 32) }
    case .q8_1:
        for b in 0..<nb {
            let p = src + b * bb
            let d = loadHalf(p, 0)
            for j in 0..<32 { dst[b * 32 + j] = d * Float(p.load(fromByteOffset: 4 + j, as: Int8.self)) }
        }
    case .q4_K:
        for b in 0..<nb { dequantizeBlockQ4_K(src + b * bb, dst + b * 256) }
    case .q5_K:
        for b in 0..<nb { dequantizeBlockQ5_K(src + b * bb, dst + b * 256) }
    case .q6_K:
        for b in 0..<nb { dequantizeBlockQ6_K(src + b * bb, dst + b * 256) }
    case .q8_K:
        for b in 0..<nb {
            let p = src + b * bb
            let d = p.loadUnaligned(fromByteOffset: 0, as: Float.self)
            for j in 0..<256 { dst[b * 256 + j] = d * Float(p.load(fromByteOffset: 4 + j, as: Int8.self)) }
        }
    }
}

@inline(__always) func byte(_ p: UnsafeRawPointer, _ i: Int) -> UInt8 { p.load(fromByteOffset: i, as: UInt8.self) }

func dequantizeBlockQ4_0(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
    let d = loadHalf(p, 0)
    for j in 0..<16 {
        let q = byte(p, 2 + j)
        y[j] = d * Float(Int(q & 0x0F) - 8)
        y[j + 16] = d * Float(Int(q >> 4) - 8)
    }
}

func dequantizeBlockQ4_1(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
    let d = loadHalf(p, 0), m = loadHalf(p, 2)
    for j in 0..<16 {
        let q = byte(p, 4 + j)
        y[j] = d * Float(q & 0x0F) + m
        y[j + 16] = d * Float(q >> 4) + m
    }
}

func dequantizeBlockQ5_0(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
    let d = loadHalf(p, 0)
    let qh = p.loadUnaligned(fromByteOffset: 2, as: UInt32.self)
    for j in 0..<16 {
        let q = UInt32(byte(p, 6 + j))
        let h0 = ((qh &>> UInt32(j)) & 1) &<< 4
        let h1 = ((qh &>> UInt32(j + 16)) & 1) &<< 4
        y[j] = d * Float(Int32(bitPattern: (q & 0x0F) | h0) &- 16)
        y[j + 16] = d * Float(Int32(bitPattern: (q &>> 4) | h1) &- 16)
    }
}

func dequantizeBlockQ5_1(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
    let d = loadHalf(p, 0), m = loadHalf(p, 2)
    let qh = p.loadUnaligned(fromByteOffset: 4, as: UInt32.self)
    for j in 0..<16 {
        let q = UInt32(byte(p, 8 + j))
        let h0 = ((qh &>> UInt32(j)) & 1) &<< 4
        let h1 = ((qh &>> UInt32(j + 16)) & 1) &<< 4
        y[j] = d * Float((q & 0x0F) | h0) + m
        y[j + 16] = d * Float((q &>> 4) | h1) + m
    }
}

func dequantizeBlockQ8_0(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
    let d = loadHalf(p, 0)
    for j in 0..<32 { y[j] = d * Float(p.load(fromByteOffset: 2 + j, as: Int8.self)) }
}

/// The 6-bit scale and min of sub-block `j` (0..<8) from the 12 packed scale bytes of Q4_K/Q5_K.
@inline(__always)
func scaleMinK4(_ j: Int, _ q: UnsafeRawPointer) -> (scale: UInt8, min: UInt8) {
    if j < 4 {
        return (byte(q, j) & 63, byte(q, j + 4) & 63)
    }
    let d = (byte(q, j + 4) & 0x0F) | ((byte(q, j - 4) >> 6) << 4)
    let m = (byte(q, j + 4) >> 4) | ((byte(q, j) >> 6) << 4)
    return (d, m)
}

func dequantizeBlockQ4_K(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
    let d = loadHalf(p, 0), dmin = loadHalf(p, 2)
    let scales = p + 4
    for c in 0..<4 { // 64 elements per chunk: 32 low nibbles then 32 high nibbles of 32 bytes
        let (s1, m1) = scaleMinK4(2 * c, scales)
        let (s2, m2) = scaleMinK4(2 * c + 1, scales)
        let d1 = d * Float(s1), mm1 = dmin * Float(m1)
        let d2 = d * Float(s2), mm2 = dmin * Float(m2)
        let q = p + 16 + 32 * c
        for l in 0..<32 {
            let v = byte(q, l)
            y[64 * c + l] = d1 * Float(v & 0x0F) - mm1
            y[64 * c + 32 + l] = d2 * Float(v >> 4) - mm2
        }
    }
}

func dequantizeBlockQ5_K(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
    let d = loadHalf(p, 0), dmin = loadHalf(p, 2)
    let scales = p + 4
    let qh = p + 16
    for c in 0..<4 {
        let (s1, m1) = scaleMinK4(2 * c, scales)
        let (s2, m2) = scaleMinK4(2 * c + 1, scales)
        let d1 = d * Float(s1), mm1 = dmin * Float(m1)
        let d2 = d * Float(s2), mm2 = dmin * Float(m2)
        let u1 = UInt8(1) << UInt8(2 * c), u2 = UInt8(2) << UInt8(2 * c)
        let q = p + 48 + 32 * c
        for l in 0..<32 {
            let v = byte(q, l), h = byte(qh, l)
            y[64 * c + l] = d1 * Float((v & 0x0F) + (h & u1 != 0 ? 16 : 0)) - mm1
            y[64 * c + 32 + l] = d2 * Float((v >> 4) + (h & u2 != 0 ? 16 : 0)) - mm2
        }
    }
}

func dequantizeBlockQ6_K(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
    let d = loadHalf(p, 208)
    for n in 0..<2 { // two halves of 128 elements
        let ql = p + 64 * n, qh = p + 128 + 32 * n
        let sc = p + 192 + 8 * n
        for isc in 0..<2 {
            // (d * scale) * q, as ggml evaluates it
            let s = { (k: Int) in d * Float(sc.load(fromByteOffset: isc + k, as: Int8.self)) }
            let s0 = s(0), s2 = s(2), s4 = s(4), s6 = s(6)
            for l in 16 * isc..<16 * isc + 16 {
                let h = Int32(byte(qh, l)), a = Int32(byte(ql, l)), b = Int32(byte(ql, l + 32))
                y[128 * n + l] = s0 * Float(((a & 0x0F) | ((h & 3) &<< 4)) &- 32)
                y[128 * n + l + 32] = s2 * Float(((b & 0x0F) | (((h &>> 2) & 3) &<< 4)) &- 32)
                y[128 * n + l + 64] = s4 * Float(((a &>> 4) | (((h &>> 4) & 3) &<< 4)) &- 32)
                y[128 * n + l + 96] = s6 * Float(((b &>> 4) | (((h &>> 6) & 3) &<< 4)) &- 32)
            }
        }
    }
}

/// Scalar reference dot product of one stored row with float vector x (dequantize then dot, in Float/Double).
public func dotReference(_ type: GGMLType, _ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, count: Int) -> Float {
    let bs = type.blockSize == 1 ? 256 : type.blockSize
    var tmp = [Float](repeating: 0, count: bs)
    var sum = 0.0
    var done = 0
    tmp.withUnsafeMutableBufferPointer { t in
        while done < count {
            let n = min(bs, count - done)
            let bytes = type.byteCount(elements: done)!
            dequantizeRow(type, row + bytes, t.baseAddress!, count: n)
            for i in 0..<n { sum += Double(t[i]) * Double(x[done + i]) }
            done += n
        }
    }
    return Float(sum)
}
