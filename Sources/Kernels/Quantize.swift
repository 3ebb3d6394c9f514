/// Reference quantizers (float -> GGML block formats), ported from the behaviour of
/// ggml's `quantize_row_*_ref` functions (round to nearest, same scale search).

/// Reference quantizer (float -> format) for every GGMLType listed below; round-to-nearest like ggml's *_ref quantizers.
public func quantizeRow(_ type: GGMLType, _ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, count: Int) {
    precondition(count % type.blockSize == 0, "count must be a multiple of the block size")
    let nb = count / type.blockSize
    let bb = type.blockBytes
    switch type {
    case .f32:
        dst.copyMemory(from: src, byteCount: 4 * count)
    case .f16:
        for i in 0..<count { storeHalf(dst, 2 * i, src[i]) }
    case .bf16:
        for i in 0..<count { dst.storeBytes(of: floatToBF16(src[i]), toByteOffset: 2 * i, as: UInt16.self) }
    case .q4_0:
        for b in 0..<nb { quantizeBlockQ4_0(src + 32 * b, dst + bb * b) }
    case .q4_1:
        for b in 0..<nb { quantizeBlockQ4_1(src + 32 * b, dst + bb * b) }
    case .q5_0:
        for b in 0..<nb { quantizeBlockQ5_0(src + 32 * b, dst + bb * b) }
    case .q5_1:
        for b in 0..<nb { quantizeBlockQ5_1(src + 32 * b, dst + bb * b) }
    case .q8_0:
        for b in 0..<nb { quantizeBlockQ8_0(src + 32 * b, dst + bb * b) }
    case .q8_1:
        for b in 0..<nb {
            let x = src + 32 * b, y = dst + bb * b
            var amax: Float = 0
            for j in 0..<32 { amax = max(amax, abs(x[j])) }
            let d = amax / 127, id: Float = d != 0 ? 1 / d : 0
            var sum = 0
            for j in 0..<32 {
                let q = Int8(Int((x[j] * id).rounded()))
                sum += Int(q)
                y.storeBytes(of: q, toByteOffset: 4 + j, as: Int8.self)
            }
            storeHalf(y, 0, d)
            storeHalf(y, 2, Float(sum) * d)
        }
    case .q4_K:
        for b in 0..<nb { quantizeBlockQK4or5(src + 256 * b, dst + bb * b, fiveBit: false) }
    case .q5_K:
        for b in 0..<nb { quantizeBlockQK4or5(src + 256 * b, dst + bb * b, fiveBit: true) }
    case .q6_K:
        for b in 0..<nb { quantizeBlockQ6_K(src + 256 * b, dst + bb * b) }
    case .q8_K:
        for b in 0..<nb { quantizeBlockQ8_K(src + 256 * b, dst + bb * b) }
    }
}

/// ggml's `nearest_int`: round half to even via the 1.5*2^23 trick (valid for |v| < 2^22).
@inline(__always)
func nearestInt(_ v: Float) -> Int {
    let f = v + 12_582_912.0
    return Int(Int32(bitPattern: f.bitPattern & 0x007F_FFFF)) - 0x0040_0000
}

@inline(__always) func setByte(_ p: UnsafeMutableRawPointer, _ i: Int, _ v: UInt8) {
    p.storeBytes(of: v, toByteOffset: i, as: UInt8.self)
}

/// Signed value with the largest magnitude (first one on ties).
@inline(__always)
func signedAbsMax(_ x: UnsafePointer<Float>, _ n: Int) -> (amax: Float, max: Float) {
    var amax: Float = 0, mx: Float = 0
    for j in 0..<n where abs(x[j]) > amax { amax = abs(x[j]); mx = x[j] }
    return (amax, mx)
}

func quantizeBlockQ4_0(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
    let mx = signedAbsMax(x, 32).max
    let d = mx / -8, id: Float = d != 0 ? 1 / d : 0
    storeHalf(y, 0, d)
    for j in 0..<16 {
        let a = min(15, Int(Int8(truncatingIfNeeded: Int(x[j] * id + 8.5))))
        let b = min(15, Int(Int8(truncatingIfNeeded: Int(x[j + 16] * id + 8.5))))
        setByte(y, 2 + j, UInt8(a) | UInt8(b) << 4)
    }
}

func quantizeBlockQ4_1(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
    var lo = Float.greatestFiniteMagnitude, hi = -Float.greatestFiniteMagnitude
    for j in 0..<32 { lo = min(lo, x[j]); hi = max(hi, x[j]) }
    let d = (hi - lo) / 15, id: Float = d != 0 ? 1 / d : 0
    storeHalf(y, 0, d)
    storeHalf(y, 2, lo)
    for j in 0..<16 {
        let a = min(15, Int((x[j] - lo) * id + 0.5))
        let b = min(15, Int((x[j + 16] - lo) * id + 0.5))
        setByte(y, 4 + j, UInt8(a) | UInt8(b) << 4)
    }
}

func quantizeBlockQ5_0(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
    let mx = signedAbsMax(x, 32).max
    let d = mx / -16, id: Float = d != 0 ? 1 / d : 0
    storeHalf(y, 0, d)
    var qh: UInt32 = 0
    for j in 0..<16 {
        let a = min(31, Int(Int8(truncatingIfNeeded: Int(x[j] * id + 16.5))))
        let b = min(31, Int(Int8(truncatingIfNeeded: Int(x[j + 16] * id + 16.5))))
        setByte(y, 6 + j, UInt8(a & 0x0F) | UInt8(b & 0x0F) << 4)
        qh |= UInt32((a & 0x10) >> 4) << UInt32(j)
        qh |= UInt32((b & 0x10) >> 4) << UInt32(j + 16)
    }
    y.storeBytes(of: qh, toByteOffset: 2, as: UInt32.self)
}

func quantizeBlockQ5_1(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
    var lo = Float.greatestFiniteMagnitude, hi = -Float.greatestFiniteMagnitude
    for j in 0..<32 { lo = min(lo, x[j]); hi = max(hi, x[j]) }
    let d = (hi - lo) / 31, id: Float = d != 0 ? 1 / d : 0
    storeHalf(y, 0, d)
    storeHalf(y, 2, lo)
    var qh: UInt32 = 0
    for j in 0..<16 {
        let a = min(31, Int((x[j] - lo) * id + 0.5))
        let b = min(31, Int((x[j + 16] - lo) * id + 0.5))
        setByte(y, 8 + j, UInt8(a & 0x0F) | UInt8(b & 0x0F) << 4)
        qh |= UInt32((a & 0x10) >> 4) << UInt32(j)
        qh |= UInt32((b & 0x10) >> 4) << UInt32(j + 16)
    }
    y.storeBytes(of: qh, toByteOffset: 4, as: UInt32.self)
}

func quantizeBlockQ8_0(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
    let amax = signedAbsMax(x, 32).amax
    let d = amax / 127, id: Float = d != 0 ? 1 / d : 0
    storeHalf(y, 0, d)
    for j in 0..<32 {
        y.storeBytes(of: Int8(Int((x[j] * id).rounded())), toByteOffset: 2 + j, as: Int8.self)
    }
}

func quantizeBlockQ8_K(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
    let (amax, mx) = signedAbsMax(x, 256)
    if amax == 0 {
        y.initializeMemory(as: UInt8.self, repeating: 0, count: GGMLType.q8_K.blockBytes)
        return
    }
    let iscale = -127 / mx
    for g in 0..<16 {
        var s = 0
        for j in 0..<16 {
            let q = min(127, nearestInt(iscale * x[16 * g + j]))
            s += q
            y.storeBytes(of: Int8(q), toByteOffset: 4 + 16 * g + j, as: Int8.self)
        }
        y.storeBytes(of: Int16(s), toByteOffset: 260 + 2 * g, as: Int16.self)
    }
    y.storeBytes(of: 1 / iscale, toByteOffset: 0, as: Float.self)
}

/// ggml's `make_qkx2_quants`: search scale and min so that x ≈ scale*L - min with L in 0...nmax.
func makeQKX2Quants(_ n: Int, _ nmax: Int, _ x: UnsafePointer<Float>, _ weights: UnsafePointer<Float>,
                    _ L: UnsafeMutablePointer<UInt8>, _ Laux: UnsafeMutablePointer<UInt8>,
                    rmin: Float, rdelta: Float, nstep: Int) -> (scale: Float, min: Float) {
    var mn = x[0], mx = x[0]
    var sumW = weights[0], sumX = weights[0] * x[0]
    for i in 1..<n {
        mn = min(mn, x[i]); mx = max(mx, x[i])
        sumW += weights[i]; sumX += weights[i] * x[i]
    }
    if mn > 0 { mn = 0 }
    if mx == mn {
        for i in 0..<n { L[i] = 0 }
        return (0, -mn)
    }
    let fmax = Float(nmax)
    var iscale = fmax / (mx - mn)
    var scale = 1 / iscale
    var bestMad: Float = 0
    for i in 0..<n {
        let l = max(0, min(nmax, nearestInt(iscale * (x[i] - mn))))
        L[i] = UInt8(l)
        let diff = scale * Float(l) + mn - x[i]
        bestMad += weights[i] * diff * diff
    }
    for step in 0...nstep {
        iscale = (rmin + rdelta * Float(step) + fmax) / (mx - mn)
        var sumL: Float = 0, sumL2: Float = 0, sumXL: Float = 0
        for i in 0..<n {
            let l = max(0, min(nmax, nearestInt(iscale * (x[i] - mn))))
            Laux[i] = UInt8(l)
            let w = weights[i], fl = Float(l)
            sumL += w * fl; sumL2 += w * fl * fl; sumXL += w * fl * x[i]
        }
        let D = sumW * sumL2 - sumL * sumL
        if D > 0 {
            var thisScale = (sumW * sumXL - sumX * sumL) / D
            var thisMin = (sumL2 * sumX - sumL * sumXL) / D
            if thisMin > 0 { thisMin = 0; thisScale = sumXL / sumL2 }
            var mad: Float = 0
            for i in 0..<n {
                let diff = thisScale * Float(Laux[i]) + thisMin - x[i]
                mad += weights[i] * diff * diff
            }
            if mad < bestMad {
                for i in 0..<n { L[i] = Laux[i] }
                bestMad = mad; scale = thisScale; mn = thisMin
            }
        }
    }
    return (scale, -mn)
}

/// ggml's `make_qx_quants` with rmse_type 1 (weights x²), signed L in -nmax..<nmax stored as L + nmax.
func makeQXQuants(_ n: Int, _ nmax: Int, _ x: UnsafePointer<Float>, _ L: UnsafeMutablePointer<Int8>) -> Float {
    let (amax, mx) = signedAbsMax(x, n)
    if amax < 1e-15 {
        for i in 0..<n { L[i] = 0 }
        return 0
    }
    var iscale = -Float(nmax) / mx
    var sumLX: Float = 0, sumL2: Float = 0
    for i in 0..<n {
        let l = max(-nmax, min(nmax - 1, nearestInt(iscale * x[i])))
        L[i] = Int8(l + nmax)
        let w = x[i] * x[i], fl = Float(l)
        sumLX += w * x[i] * fl; sumL2 += w * fl * fl
    }
    var scale = sumL2 != 0 ? sumLX / sumL2 : 0
    var best = scale * sumLX
    for step in -9...9 where step != 0 {
        iscale = -(Float(nmax) + 0.1 * Float(step)) / mx
        sumLX = 0; sumL2 = 0
        for i in 0..<n {
            let l = max(-nmax, min(nmax - 1, nearestInt(iscale * x[i])))
            let w = x[i] * x[i], fl = Float(l)
            sumLX += w * x[i] * fl; sumL2 += w * fl * fl
        }
        if sumL2 > 0 && sumLX * sumLX > best * sumL2 {
            for i in 0..<n { L[i] = Int8(nmax + max(-nmax, min(nmax - 1, nearestInt(iscale * x[i])))) }
            scale = sumLX / sumL2; best = scale * sumLX
        }
    }
    return scale
}

/// Q4_K (fiveBit false) or Q5_K (fiveBit true) reference quantizer for one 256-element block.
func quantizeBlockQK4or5(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer, fiveBit: Bool) {
    let nmax = fiveBit ? 31 : 15
    withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 256 + 32) { lbuf in
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 32 + 16) { fbuf in
            let L = lbuf.baseAddress!, Laux = L + 256
            let weights = fbuf.baseAddress!, scales = weights + 32, mins = scales + 8
            var maxScale: Float = 0, maxMin: Float = 0
            for j in 0..<8 {
                let xb = x + 32 * j
                var sumX2: Float = 0
                for l in 0..<32 { sumX2 += xb[l] * xb[l] }
                let avX = (sumX2 / 32).squareRoot()
                for l in 0..<32 { weights[l] = avX + abs(xb[l]) }
                let r = makeQKX2Quants(32, nmax, xb, weights, L + 32 * j, Laux,
                                       rmin: fiveBit ? -0.5 : -1, rdelta: 0.1, nstep: fiveBit ? 15 : 20)
                scales[j] = r.scale; mins[j] = r.min
                maxScale = max(maxScale, r.scale); maxMin = max(maxMin, r.min)
            }
            let invScale: Float = maxScale > 0 ? 63 / maxScale : 0
            let invMin: Float = maxMin > 0 ? 63 / maxMin : 0
            let sc = y + 4
            for i in 0..<12 { setByte(sc, i, 0) }
            for j in 0..<8 {
                let ls = UInt8(min(63, nearestInt(invScale * scales[j])))
                let lm = UInt8(min(63, nearestInt(invMin * mins[j])))
                if j < 4 {
                    setByte(sc, j, ls); setByte(sc, j + 4, lm)
                } else {
                    setByte(sc, j + 4, (ls & 0x0F) | ((lm & 0x0F) << 4))
                    setByte(sc, j - 4, byte(sc, j - 4) | ((ls >> 4) << 6))
                    setByte(sc, j, byte(sc, j) | ((lm >> 4) << 6))
                }
            }
            storeHalf(y, 0, maxScale / 63)
            storeHalf(y, 2, maxMin / 63)
            let dAll = loadHalf(y, 0), dminAll = loadHalf(y, 2)
            for j in 0..<8 {
                let (s, m) = scaleMinK4(j, UnsafeRawPointer(sc))
                let d = dAll * Float(s)
                if d == 0 { continue }
                let dm = dminAll * Float(m)
                for i in 0..<32 {
                    L[32 * j + i] = UInt8(max(0, min(nmax, nearestInt((x[32 * j + i] + dm) / d))))
                }
            }
            if fiveBit {
                let qh = y + 16, ql = y + 48
                for i in 0..<32 { setByte(qh, i, 0) }
                for c in 0..<4 {
                    let m1 = UInt8(1) << UInt8(2 * c), m2 = UInt8(2) << UInt8(2 * c)
                    for l in 0..<32 {
                        var l1 = L[64 * c + l], l2 = L[64 * c + 32 + l]
                        var h = byte(qh, l)
                        if l1 > 15 { l1 -= 16; h |= m1 }
                        if l2 > 15 { l2 -= 16; h |= m2 }
                        setByte(qh, l, h)
                        setByte(ql, 32 * c + l, l1 | (l2 << 4))
                    }
                }
            } else {
                let q = y + 16
                for c in 0..<4 {
                    for l in 0..<32 { setByte(q, 32 * c + l, L[64 * c + l] | (L[64 * c + 32 + l] << 4)) }
                }
            }
        }
    }
}

func quantizeBlockQ6_K(_ x: UnsafePointer<Float>, _ y: UnsafeMutableRawPointer) {
    withUnsafeTemporaryAllocation(of: Int8.self, capacity: 256) { lbuf in
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 16) { sbuf in
            let L = lbuf.baseAddress!, scales = sbuf.baseAddress!
            var maxScale: Float = 0, maxAbsScale: Float = 0
            for ib in 0..<16 {
                let s = makeQXQuants(16, 32, x + 16 * ib, L + 16 * ib)
                scales[ib] = s
                if abs(s) > maxAbsScale { maxAbsScale = abs(s); maxScale = s }
            }
            if maxAbsScale < 1e-15 {
                y.initializeMemory(as: UInt8.self, repeating: 0, count: GGMLType.q6_K.blockBytes)
                return
            }
            let iscale = -128 / maxScale
            storeHalf(y, 208, 1 / iscale)
            for ib in 0..<16 {
                y.storeBytes(of: Int8(min(127, nearestInt(iscale * scales[ib]))), toByteOffset: 192 + ib, as: Int8.self)
            }
            let dAll = loadHalf(y, 208)
            for j in 0..<16 {
                let d = dAll * Float(y.load(fromByteOffset: 192 + j, as: Int8.self))
                if d == 0 { continue }
                for i in 0..<16 {
                    let l = max(-32, min(31, nearestInt(x[16 * j + i] / d)))
                    L[16 * j + i] = Int8(l + 32)
                }
            }
            for n in 0..<2 {
                let ql = y + 64 * n, qh = y + 128 + 32 * n
                let Lh = L + 128 * n
                for l in 0..<32 {
                    let q1 = UInt8(Lh[l]), q2 = UInt8(Lh[l + 32]), q3 = UInt8(Lh[l + 64]), q4 = UInt8(Lh[l + 96])
                    setByte(ql, l, (q1 & 0x0F) | ((q3 & 0x0F) << 4))
                    setByte(ql, l + 32, (q2 & 0x0F) | ((q4 & 0x0F) << 4))
                    setByte(qh, l, (q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6))
                }
            }
        }
    }
}
