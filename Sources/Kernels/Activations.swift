/// Quantized activation layouts used by the integer matrix kernels, with Swift reference
/// quantizers that produce exactly the bytes the C (AVX-512) quantizers produce.
///
/// K layout (for Q4_K/Q5_K/Q6_K weights), per column of `n` values (n % 256 == 0):
///   int8 qs[n], each 256-block's bytes in the order `KPermutation.table(type)` (the order in which the
///   kernels unpack the weights), then per block `kMetaBytes` bytes: Int32 bias16[16] (Q6_K: −32·Σq over
///   the 16-value group summed in accumulator lane p; zero otherwise), Float fsum8[8] (d·Σq per
///   32-value sub-block), Float d.
/// Legacy layout (for Q4_0/Q4_1/Q5_0/Q5_1/Q8_0 weights), per column (n % 32 == 0):
///   int8 qs[n], Float dLane[n/4] (the block's d for each group of 4 values),
///   aux[n/4]: Int32 −biasMul·Σq (biasMul > 0) or Float d·Σq/8 (biasMul == 0), per group of 4.
/// q = round-half-even(x · 127/amax), d = amax/127, per block.
enum ActivationLayout {
    static let kMetaBytes = 128
    static let kMetaBias = 0
    static let kMetaFsum = 64
    static let kMetaD = 96

    /// Bytes of one K-layout column of n values, rounded up to 64.
    static func kStride(_ n: Int) -> Int { roundUp64(n + n / 256 * kMetaBytes) }
    /// Bytes of one legacy-layout column of n values, rounded up to 64.
    static func legacyStride(_ n: Int) -> Int { roundUp64(3 * n) }

    static func roundUp64(_ v: Int) -> Int { (v + 63) & ~63 }

    /// Multiplier of −Σq folded into the integer accumulator: the weight format's zero offset / 8
    /// (Q4_0: 8, Q5_0: 16, Q8_0 stored +128); 0 for formats with a float min (Q4_1, Q5_1).
    static func biasMultiplier(_ type: GGMLType) -> Int32 {
        switch type {
        case .q4_0: return 1
        case .q5_0: return 2
        case .q8_0: return 16
        default: return 0
        }
    }
}

/// The order in which the K-quant kernels unpack a 256-value block into four 64-byte vectors, chosen so
/// that every 32-bit lane (4 consecutive bytes) of all four vectors belongs to the same scale group.
/// `table(type)[i]` is the element held by byte i. Must match tables.c.
enum KPermutation {
    /// Q4_K/Q5_K: vectors k = 0, 1 from raw qs qwords [0,1,4,5,8,9,12,13], k = 2, 3 from the others;
    /// even k take the nibbles of bytes 0...3 of each qword, odd k of bytes 4...7 (low nibbles, then high).
    static func k4(_ i: Int) -> Int {
        let rqC = [0, 1, 4, 5, 8, 9, 12, 13], rqD = [2, 3, 6, 7, 10, 11, 14, 15]
        let k = i / 64, q = (i % 64) / 8, t = i % 8
        let rq = k < 2 ? rqC[q] : rqD[q]
        let b = k % 2 == 0 ? t % 4 : t % 4 + 4
        let l = 8 * rq + b
        return 64 * (l / 32) + (t >= 4 ? 32 : 0) + l % 32
    }

    /// Q6_K: vectors k = 0, 1 from ql qwords 0, 2, ..., 14; k = 2, 3 from 1, 3, ..., 15; nibbles as for Q4_K.
    static func k6(_ i: Int) -> Int {
        let k = i / 64, q = (i % 64) / 8, t = i % 8
        let rq = 2 * q + (k >= 2 ? 1 : 0)
        let b = k % 2 == 0 ? t % 4 : t % 4 + 4
        let j = 8 * rq + b
        return 128 * (j / 64) + (t >= 4 ? 64 : 0) + j % 64
    }

    static let q4Table: [UInt8] = (0..<256).map { UInt8(k4($0)) }
    static let q6Table: [UInt8] = (0..<256).map { UInt8(k6($0)) }

    static func table(_ type: GGMLType) -> [UInt8] { type == .q6_K ? q6Table : q4Table }

    /// Q4_K/Q5_K: the 32-value sub-block summed in accumulator lane p.
    static func k4Subblock(_ p: Int) -> Int { 2 * (p / 4) + p % 2 }
    /// Q6_K: the 16-value group summed in accumulator lane p.
    static func k6Group(_ p: Int) -> Int { [0, 1, 2, 3, 8, 9, 10, 11][p / 2] + (p % 2) * 4 }
}

/// Swift reference of `sdk_quantize_act_k`.
func quantizeActivationsK(_ x: UnsafePointer<Float>, blocks: Int, qs dst: UnsafeMutableRawPointer,
                          meta: UnsafeMutableRawPointer, type: GGMLType) {
    let perm = KPermutation.table(type)
    withUnsafeTemporaryAllocation(of: Int8.self, capacity: 256) { tmp in
        for b in 0..<blocks {
            let xb = x + 256 * b
            var amax: Float = 0
            for j in 0..<256 { amax = max(amax, abs(xb[j])) }
            let d = amax / 127
            let id: Float = amax > 0 ? 127 / amax : 0
            let m = meta + ActivationLayout.kMetaBytes * b
            m.initializeMemory(as: UInt8.self, repeating: 0, count: ActivationLayout.kMetaBytes)
            var bsums = SIMD16<Int32>()
            for g in 0..<16 {
                var s: Int32 = 0
                for j in 0..<16 {
                    let q = Int32((xb[16 * g + j] * id).rounded(.toNearestOrEven))
                    s += q
                    tmp[16 * g + j] = Int8(q)
                }
                bsums[g] = s
            }
            for i in 0..<256 {
                dst.storeBytes(of: tmp[Int(perm[i])], toByteOffset: 256 * b + i, as: Int8.self)
            }
            if type == .q6_K {
                for p in 0..<16 {
                    m.storeBytes(of: -32 * bsums[KPermutation.k6Group(p)],
                                 toByteOffset: ActivationLayout.kMetaBias + 4 * p, as: Int32.self)
                }
            }
            for j in 0..<8 {
                m.storeBytes(of: d * Float(bsums[2 * j] + bsums[2 * j + 1]),
                             toByteOffset: ActivationLayout.kMetaFsum + 4 * j, as: Float.self)
            }
            m.storeBytes(of: d, toByteOffset: ActivationLayout.kMetaD, as: Float.self)
        }
    }
}

/// Swift reference of `sdk_quantize_act_legacy`.
func quantizeActivationsLegacy(_ x: UnsafePointer<Float>, blocks: Int, qs dst: UnsafeMutableRawPointer,
                               dLane dl: UnsafeMutableRawPointer, aux: UnsafeMutableRawPointer, biasMul: Int32) {
    for b in 0..<blocks {
        let xb = x + 32 * b
        var amax: Float = 0
        for j in 0..<32 { amax = max(amax, abs(xb[j])) }
        let d = amax / 127
        let id: Float = amax > 0 ? 127 / amax : 0
        var sum: Int32 = 0
        for j in 0..<32 {
            let q = Int32((xb[j] * id).rounded(.toNearestOrEven))
            sum += q
            dst.storeBytes(of: Int8(q), toByteOffset: 32 * b + j, as: Int8.self)
        }
        for l in 0..<8 {
            dl.storeBytes(of: d, toByteOffset: 32 * b + 4 * l, as: Float.self)
            if biasMul > 0 {
                aux.storeBytes(of: -biasMul * sum, toByteOffset: 32 * b + 4 * l, as: Int32.self)
            } else {
                aux.storeBytes(of: d * Float(sum) / 8, toByteOffset: 32 * b + 4 * l, as: Float.self)
            }
        }
    }
}
