/// Portable Swift SIMD matrix kernels: the reference for the AVX-512 C kernels and the fallback on
/// CPUs without AVX-512 VNNI. They read the same quantized activation layouts (see Activations.swift)
/// and compute the same integer sums, so the two paths agree up to float rounding.

/// Sums of u[i]·x[i] over each group of 4 consecutive bytes of 64 (what vpdpbusd adds per 32-bit lane).
/// Products fit Int16 (255 · 127); sums are taken in Int32.
@inline(__always)
func dwordSums(_ u: UnsafeRawPointer, _ x: UnsafeRawPointer) -> SIMD16<Int32> {
    let uv = SIMD64<Int16>(truncatingIfNeeded: u.loadUnaligned(as: SIMD64<UInt8>.self))
    let xv = SIMD64<Int16>(truncatingIfNeeded: x.loadUnaligned(as: SIMD64<Int8>.self))
    let prod = uv &* xv
    let pairs = SIMD32<Int32>(truncatingIfNeeded: prod.evenHalf) &+ SIMD32<Int32>(truncatingIfNeeded: prod.oddHalf)
    return pairs.evenHalf &+ pairs.oddHalf
}

/// Unpacks one weight block into unsigned bytes `u` (element order) so that value = d·(u − offset) or d·u + m.
@inline(__always)
func unpackUnsigned(_ type: GGMLType, _ p: UnsafeRawPointer, _ u: UnsafeMutableRawPointer) {
    switch type {
    case .q4_0, .q4_1, .q5_0, .q5_1:
        let qsOff = type == .q4_0 ? 2 : type == .q4_1 ? 4 : type == .q5_0 ? 6 : 8
        let q = p.loadUnaligned(fromByteOffset: qsOff, as: SIMD16<UInt8>.self)
        var lo = q & 0x0F, hi = q &>> 4
        if type == .q5_0 || type == .q5_1 {
            let qh = p.loadUnaligned(fromByteOffset: type == .q5_0 ? 2 : 4, as: UInt32.self)
            for j in 0..<16 {
                lo[j] |= UInt8(truncatingIfNeeded: (qh >> UInt32(j)) & 1) << 4
                hi[j] |= UInt8(truncatingIfNeeded: (qh >> UInt32(j + 16)) & 1) << 4
            }
        }
        u.storeBytes(of: lo, as: SIMD16<UInt8>.self)
        u.storeBytes(of: hi, toByteOffset: 16, as: SIMD16<UInt8>.self)
    case .q8_0:
        u.storeBytes(of: p.loadUnaligned(fromByteOffset: 2, as: SIMD32<UInt8>.self) ^ 0x80, as: SIMD32<UInt8>.self)
    case .q4_K, .q5_K:
        let five = type == .q5_K
        let qs = p + (five ? 48 : 16)
        for c in 0..<4 {
            let q = qs.loadUnaligned(fromByteOffset: 32 * c, as: SIMD32<UInt8>.self)
            var lo = q & 0x0F, hi = q &>> 4
            if five {
                let qh = p.loadUnaligned(fromByteOffset: 16, as: SIMD32<UInt8>.self)
                lo |= ((qh &>> UInt8(2 * c)) & 1) &<< 4
                hi |= ((qh &>> UInt8(2 * c + 1)) & 1) &<< 4
            }
            u.storeBytes(of: lo, toByteOffset: 64 * c, as: SIMD32<UInt8>.self)
            u.storeBytes(of: hi, toByteOffset: 64 * c + 32, as: SIMD32<UInt8>.self)
        }
    case .q6_K:
        for n in 0..<2 {
            let l0 = p.loadUnaligned(fromByteOffset: 64 * n, as: SIMD32<UInt8>.self)
            let l1 = p.loadUnaligned(fromByteOffset: 64 * n + 32, as: SIMD32<UInt8>.self)
            let h = p.loadUnaligned(fromByteOffset: 128 + 32 * n, as: SIMD32<UInt8>.self)
            let o = 128 * n
            u.storeBytes(of: (l0 & 0x0F) | ((h & 0x03) &<< 4), toByteOffset: o, as: SIMD32<UInt8>.self)
            u.storeBytes(of: (l1 & 0x0F) | ((h & 0x0C) &<< 2), toByteOffset: o + 32, as: SIMD32<UInt8>.self)
            u.storeBytes(of: (l0 &>> 4) | (h & 0x30), toByteOffset: o + 64, as: SIMD32<UInt8>.self)
            u.storeBytes(of: (l1 &>> 4) | ((h & 0xC0) &>> 2), toByteOffset: o + 96, as: SIMD32<UInt8>.self)
        }
    default:
        fatalError("unpackUnsigned: unsupported \(type)")
    }
}

/// Portable row kernel: out[c*outStride + r] for r in r0..<r1, c in 0..<batch.
/// `act` holds quantized activations (or raw floats for F32/F16/BF16), columns `actStride` bytes apart.
/// `unpacked` is scratch of at least 512 bytes.
func portableRows(_ type: GGMLType, _ w: UnsafeRawPointer, rowBytes: Int, _ r0: Int, _ r1: Int, cols: Int,
                  _ act: UnsafeRawPointer, actStride: Int, batch: Int,
                  _ out: UnsafeMutablePointer<Float>, outStride: Int, unpacked u: UnsafeMutableRawPointer) {
    for r in r0..<r1 {
        let row = w + r * rowBytes
        switch type {
        case .f32, .f16, .bf16:
            for c in 0..<batch {
                let x = (act + c * actStride).assumingMemoryBound(to: Float.self)
                var s: Float = 0
                switch type {
                case .f32: s = dot(row.assumingMemoryBound(to: Float.self), x, count: cols)
                case .f16: for i in 0..<cols { s += loadHalf(row, 2 * i) * x[i] }
                default: for i in 0..<cols { s += bf16ToFloat(loadU16(row, 2 * i)) * x[i] }
                }
                out[c * outStride + r] = s
            }
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0:
            let hasMin = type == .q4_1 || type == .q5_1
            let perm = KPermutation.table(type)
            let nblocks = cols / 32, qsBytes = 256 * ActivationLayout.superBlocks(cols)
            let up = u + 256
            for c in 0..<batch { out[c * outStride + r] = 0 }
            for sb in 0..<ActivationLayout.superBlocks(cols) {
                var fsc = SIMD16<Float>(), mlane = SIMD16<Float>()
                for j in 0..<8 {
                    let b = 8 * sb + j
                    if b < nblocks {
                        let p = row + b * type.blockBytes
                        unpackUnsigned(type, p, u + 32 * j)
                        fsc[2 * j] = loadHalf(p, 0); fsc[2 * j + 1] = fsc[2 * j]
                        if hasMin { mlane[2 * j] = loadHalf(p, 2); mlane[2 * j + 1] = mlane[2 * j] }
                    } else {
                        (u + 32 * j).initializeMemory(as: UInt8.self, repeating: 0, count: 32)
                    }
                }
                for i in 0..<256 { up.storeBytes(of: u.load(fromByteOffset: Int(perm[i]), as: UInt8.self), toByteOffset: i, as: UInt8.self) }
                for c in 0..<batch {
                    let a = act + c * actStride
                    let meta = a + qsBytes + ActivationLayout.kMetaBytes * sb
                    var acc = hasMin ? SIMD16<Int32>()
                        : meta.loadUnaligned(fromByteOffset: ActivationLayout.lMetaAux, as: SIMD16<Int32>.self)
                    for k in 0..<4 { acc &+= dwordSums(up + 64 * k, a + 256 * sb + 64 * k) }
                    let dx = meta.loadUnaligned(fromByteOffset: ActivationLayout.lMetaDx, as: SIMD16<Float>.self)
                    var s = (SIMD16<Float>(acc) * fsc * dx).sum()
                    if hasMin {
                        s += (mlane * meta.loadUnaligned(fromByteOffset: ActivationLayout.lMetaAux, as: SIMD16<Float>.self)).sum()
                    }
                    out[c * outStride + r] += s
                }
            }
        case .q4_K, .q5_K, .q6_K:
            let six = type == .q6_K
            let perm = six ? KPermutation.q6Table : KPermutation.q4Table
            let up = u + 256
            for c in 0..<batch { out[c * outStride + r] = 0 }
            for b in 0..<cols / 256 {
                let p = row + b * type.blockBytes
                unpackUnsigned(type, p, u)
                for i in 0..<256 { up.storeBytes(of: u.load(fromByteOffset: Int(perm[i]), as: UInt8.self), toByteOffset: i, as: UInt8.self) }
                // Per-lane float scale and (Q4_K/Q5_K) the sub-block mins.
                var fsc = SIMD16<Float>(), mn = SIMD8<Float>()
                if six {
                    let dw = loadHalf(p, 208)
                    for l in 0..<16 { fsc[l] = dw * Float(p.load(fromByteOffset: 192 + KPermutation.k6Group(l), as: Int8.self)) }
                } else {
                    let dw = loadHalf(p, 0), dmin = loadHalf(p, 2)
                    for l in 0..<16 { fsc[l] = dw * Float(scaleMinK4(KPermutation.k4Subblock(l), p + 4).scale) }
                    for j in 0..<8 { mn[j] = Float(scaleMinK4(j, p + 4).min) * -dmin }
                }
                for c in 0..<batch {
                    let a = act + c * actStride
                    let meta = a + cols + ActivationLayout.kMetaBytes * b
                    var acc = meta.loadUnaligned(fromByteOffset: ActivationLayout.kMetaBias, as: SIMD16<Int32>.self)
                    for k in 0..<4 { acc &+= dwordSums(up + 64 * k, a + 256 * b + 64 * k) }
                    let dx = meta.loadUnaligned(fromByteOffset: ActivationLayout.kMetaD, as: Float.self)
                    var s = (SIMD16<Float>(acc) * fsc * dx).sum()
                    if !six {
                        s += (mn * meta.loadUnaligned(fromByteOffset: ActivationLayout.kMetaFsum, as: SIMD8<Float>.self)).sum()
                    }
                    out[c * outStride + r] += s
                }
            }
        default:
            fatalError("portableRows: unsupported weight type \(type)")
        }
    }
}
