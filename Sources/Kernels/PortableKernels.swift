/// Portable Swift SIMD matrix kernels: the fallback on CPUs without AVX-512 VNNI and the reference the
/// tests compare the C kernels with. They use the same quantized activations, but in natural byte order
/// (`permuted: false` in Activations.swift), and the same integer sums per 16-value lane: lane p of a
/// 256-value (super-)block covers values 16p...16p+15.
///
/// Everything is written with same-width lane operations (shifts, 16-bit multiplies, 32-bit adds) so
/// that it compiles to plain SSE2 vector code for baseline x86-64 without conversions or calls.

/// Sums of w[i]·x[i] over each group of 4 bytes of 16 signed bytes (|w|, |x| ≤ 128 keeps pair sums in Int16).
@inline(__always)
func quadSums16(_ w: UnsafeRawPointer, _ x: UnsafeRawPointer) -> SIMD4<Int32> {
    let wv = w.loadUnaligned(as: SIMD8<Int16>.self), xv = x.loadUnaligned(as: SIMD8<Int16>.self)
    let pairs = ((wv &<< 8) &>> 8) &* ((xv &<< 8) &>> 8) &+ (wv &>> 8) &* (xv &>> 8)
    let p32 = unsafeBitCast(pairs, to: SIMD4<Int32>.self)
    return ((p32 &<< 16) &>> 16) &+ (p32 &>> 16)
}

/// [Σa, Σb, Σc, Σd] (a transpose and adds, no horizontal reductions).
@inline(__always)
func sums4(_ a: SIMD4<Int32>, _ b: SIMD4<Int32>, _ c: SIMD4<Int32>, _ d: SIMD4<Int32>) -> SIMD4<Int32> {
    let ab = SIMD4(a[0], b[0], a[2], b[2]) &+ SIMD4(a[1], b[1], a[3], b[3])
    let cd = SIMD4(c[0], d[0], c[2], d[2]) &+ SIMD4(c[1], d[1], c[3], d[3])
    return SIMD4(ab[0], ab[1], cd[0], cd[1]) &+ SIMD4(ab[2], ab[3], cd[2], cd[3])
}

/// Per-lane sums of w·x over 256 signed bytes: lane p = values 16p...16p+15.
@inline(__always)
func laneSums(_ w: UnsafeRawPointer, _ x: UnsafeRawPointer) -> SIMD16<Int32> {
    @inline(__always) func group(_ o: Int) -> SIMD4<Int32> {
        sums4(quadSums16(w + o, x + o), quadSums16(w + o + 16, x + o + 16),
              quadSums16(w + o + 32, x + o + 32), quadSums16(w + o + 48, x + o + 48))
    }
    return SIMD16(lowHalf: SIMD8(lowHalf: group(0), highHalf: group(64)),
                  highHalf: SIMD8(lowHalf: group(128), highHalf: group(192)))
}

/// Exact Int32 → Float for |v| < 2^22 (true of every lane sum here), without a conversion call.
@inline(__always)
func toFloat(_ v: SIMD16<Int32>) -> SIMD16<Float> {
    unsafeBitCast(v &+ 0x4B40_0000, to: SIMD16<Float>.self) - 12_582_912
}

/// 16 bytes as four 32-bit lanes: shifts and masks on these compile to single SSE2 instructions
/// (byte-lane SIMD shifts are emitted element by element on baseline x86-64).
typealias Bytes16 = SIMD4<UInt32>

@inline(__always) func load16(_ p: UnsafeRawPointer, _ offset: Int) -> Bytes16 {
    p.loadUnaligned(fromByteOffset: offset, as: Bytes16.self)
}

@inline(__always) func store16(_ v: Bytes16, _ p: UnsafeMutableRawPointer, _ offset: Int) {
    p.storeBytes(of: v, toByteOffset: offset, as: Bytes16.self)
}

/// spread8[b]: 8 bytes, byte i = 0x10 when bit i of b is set (the Q5_0/Q5_1 fifth bits).
let spread8: [UInt64] = (0..<256).map { b in
    var v: UInt64 = 0
    for i in 0..<8 where b & (1 << i) != 0 { v |= 0x10 << (8 * UInt64(i)) }
    return v
}

@inline(__always) func spread16(_ bits: UInt32) -> Bytes16 {
    let lo = spread8[Int(bits & 0xFF)], hi = spread8[Int((bits >> 8) & 0xFF)]
    return Bytes16(UInt32(truncatingIfNeeded: lo), UInt32(truncatingIfNeeded: lo >> 32),
                   UInt32(truncatingIfNeeded: hi), UInt32(truncatingIfNeeded: hi >> 32))
}

/// IEEE binary16 bit patterns (in the low 16 bits of each lane) to Float, with 32-bit lane operations:
/// shifting the exponent and mantissa into place and scaling by 2^112 handles normals and subnormals;
/// infinities and NaNs are patched in.
@inline(__always)
func halvesToFloats(_ h: SIMD4<UInt32>) -> SIMD4<Float> {
    let sign = (h & 0x8000) &<< 16
    let magnitude = unsafeBitCast((h & 0x7FFF) &<< 13, to: SIMD4<Float>.self) * 0x1p112
    var bits = unsafeBitCast(magnitude, to: SIMD4<UInt32>.self)
    let special = (h & 0x7C00) .== 0x7C00
    bits.replace(with: 0x7F80_0000 | ((h & 0x03FF) &<< 13), where: special)
    return unsafeBitCast(bits | sign, to: SIMD4<Float>.self)
}

/// Unpacks one weight block into bytes `u` in element order: the unsigned values (≤ 63) of the
/// 4/5/6-bit formats, so that value = d·(u − offset) or d·u + m; for Q8_0 the signed values.
@inline(__always)
func unpackBlock(_ type: GGMLType, _ p: UnsafeRawPointer, _ u: UnsafeMutableRawPointer) {
    let m4: Bytes16 = Bytes16(repeating: 0x0F0F_0F0F)
    switch type {
    case .q4_0, .q4_1, .q5_0, .q5_1:
        let q = load16(p, type == .q4_0 ? 2 : type == .q4_1 ? 4 : type == .q5_0 ? 6 : 8)
        var lo = q & m4, hi = (q &>> 4) & m4
        if type == .q5_0 || type == .q5_1 {
            let qh = p.loadUnaligned(fromByteOffset: type == .q5_0 ? 2 : 4, as: UInt32.self)
            lo |= spread16(qh)
            hi |= spread16(qh >> 16)
        }
        store16(lo, u, 0)
        store16(hi, u, 16)
    case .q8_0:
        u.copyMemory(from: p + 2, byteCount: 32)
    case .q4_K, .q5_K:
        let five = type == .q5_K
        let qs = five ? 48 : 16
        for c in 0..<4 {
            for h in 0..<2 {
                let q = load16(p, qs + 32 * c + 16 * h)
                var lo = q & m4, hi = (q &>> 4) & m4
                if five {
                    let qh = load16(p, 16 + 16 * h)
                    lo |= ((qh &>> UInt32(2 * c)) & 0x0101_0101) &<< 4
                    hi |= ((qh &>> UInt32(2 * c + 1)) & 0x0101_0101) &<< 4
                }
                store16(lo, u, 64 * c + 16 * h)
                store16(hi, u, 64 * c + 32 + 16 * h)
            }
        }
    case .q6_K:
        for n in 0..<2 {
            for h in 0..<2 {
                let l0 = load16(p, 64 * n + 16 * h), l1 = load16(p, 64 * n + 32 + 16 * h)
                let qh = load16(p, 128 + 32 * n + 16 * h)
                let o = 128 * n + 16 * h
                store16((l0 & m4) | ((qh & 0x0303_0303) &<< 4), u, o)
                store16((l1 & m4) | ((qh & 0x0C0C_0C0C) &<< 2), u, o + 32)
                store16(((l0 &>> 4) & m4) | (qh & 0x3030_3030), u, o + 64)
                store16(((l1 &>> 4) & m4) | ((qh & 0xC0C0_C0C0) &>> 2), u, o + 96)
            }
        }
    default:
        preconditionFailure("unpackBlock: unsupported \(type)")
    }
}

/// Portable row kernel: out[c*outStride + r] for r in r0..<r1, c in 0..<batch.
/// `act` holds natural-order quantized activations (or raw floats for F32/F16/BF16), columns
/// `actStride` bytes apart. `unpacked` is scratch of at least 256 bytes (64-byte aligned).
func portableRows(_ type: GGMLType, _ w: UnsafeRawPointer, rowBytes: Int, _ r0: Int, _ r1: Int, cols: Int,
                  _ act: UnsafeRawPointer, actStride: Int, batch: Int,
                  _ out: UnsafeMutablePointer<Float>, outStride: Int, unpacked u: UnsafeMutableRawPointer) {
    for r in r0..<r1 {
        let row = w + r * rowBytes
        for c in 0..<batch { out[c * outStride + r] = 0 }
        switch type {
        case .f32:
            for c in 0..<batch {
                let x = (act + c * actStride).assumingMemoryBound(to: Float.self)
                out[c * outStride + r] = dotPortable(row.assumingMemoryBound(to: Float.self), x, count: cols)
            }
        case .f16, .bf16:
            // Four weights at a time converted with 32-bit lane operations, then used for every column.
            let wf = u.assumingMemoryBound(to: Float.self)  // 64 floats
            var i = 0
            while i < cols {
                let n = min(64, cols - i)
                var j = 0
                while j + 4 <= n {
                    let h = SIMD4<UInt32>(truncatingIfNeeded: row.loadUnaligned(fromByteOffset: 2 * (i + j), as: SIMD4<UInt16>.self))
                    (u + 4 * j).storeBytes(of: type == .f16 ? halvesToFloats(h) : unsafeBitCast(h &<< 16, to: SIMD4<Float>.self),
                                           as: SIMD4<Float>.self)
                    j += 4
                }
                while j < n {
                    wf[j] = type == .f16 ? loadHalf(row, 2 * (i + j)) : bf16ToFloat(loadU16(row, 2 * (i + j)))
                    j += 1
                }
                for c in 0..<batch {
                    let x = (act + c * actStride).assumingMemoryBound(to: Float.self) + i
                    out[c * outStride + r] += dotPortable(wf, x, count: n)
                }
                i += n
            }
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0:
            let hasMin = type == .q4_1 || type == .q5_1, signedQ8 = type == .q8_0
            let nblocks = cols / 32, qsBytes = 256 * ActivationLayout.superBlocks(cols)
            for sb in 0..<ActivationLayout.superBlocks(cols) {
                var fsc = SIMD16<Float>(), mlane = SIMD16<Float>()
                for j in 0..<8 {
                    let b = 8 * sb + j
                    if b < nblocks {
                        let p = row + b * type.blockBytes
                        unpackBlock(type, p, u + 32 * j)
                        fsc[2 * j] = loadHalf(p, 0); fsc[2 * j + 1] = fsc[2 * j]
                        if hasMin { mlane[2 * j] = loadHalf(p, 2); mlane[2 * j + 1] = mlane[2 * j] }
                    } else {
                        (u + 32 * j).initializeMemory(as: UInt8.self, repeating: 0, count: 32)
                    }
                }
                for c in 0..<batch {
                    let a = act + c * actStride
                    let meta = a + qsBytes + ActivationLayout.kMetaBytes * sb
                    var acc = laneSums(u, a + 256 * sb)
                    if !hasMin && !signedQ8 {
                        acc &+= meta.loadUnaligned(fromByteOffset: ActivationLayout.lMetaAux, as: SIMD16<Int32>.self)
                    }
                    let dx = meta.loadUnaligned(fromByteOffset: ActivationLayout.lMetaDx, as: SIMD16<Float>.self)
                    var s = (toFloat(acc) * fsc * dx).sum()
                    if hasMin {
                        s += (mlane * meta.loadUnaligned(fromByteOffset: ActivationLayout.lMetaAux, as: SIMD16<Float>.self)).sum()
                    }
                    out[c * outStride + r] += s
                }
            }
        case .q4_K, .q5_K, .q6_K:
            let six = type == .q6_K
            for b in 0..<cols / 256 {
                let p = row + b * type.blockBytes
                unpackBlock(type, p, u)
                var fsc = SIMD16<Float>(), mn = SIMD8<Float>()
                if six {
                    let dw = loadHalf(p, 208)
                    for l in 0..<16 { fsc[l] = dw * Float(p.load(fromByteOffset: 192 + l, as: Int8.self)) }
                } else {
                    let dw = loadHalf(p, 0), dmin = loadHalf(p, 2)
                    for j in 0..<8 {
                        let (sc, m) = scaleMinK4(j, p + 4)
                        fsc[2 * j] = dw * Float(sc); fsc[2 * j + 1] = fsc[2 * j]
                        mn[j] = Float(m) * -dmin
                    }
                }
                for c in 0..<batch {
                    let a = act + c * actStride
                    let meta = a + cols + ActivationLayout.kMetaBytes * b
                    var acc = laneSums(u, a + 256 * b)
                    if six { acc &+= meta.loadUnaligned(fromByteOffset: ActivationLayout.kMetaBias, as: SIMD16<Int32>.self) }
                    let dx = meta.loadUnaligned(fromByteOffset: ActivationLayout.kMetaD, as: Float.self)
                    var s = (toFloat(acc) * fsc).sum() * dx
                    if !six {
                        s += (mn * meta.loadUnaligned(fromByteOffset: ActivationLayout.kMetaFsum, as: SIMD8<Float>.self)).sum()
                    }
                    out[c * outStride + r] += s
                }
            }
        default:
            preconditionFailure("portableRows: unsupported weight type \(type)")
        }
    }
}
