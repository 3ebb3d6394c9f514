/// Quantized activation layouts used by the integer matrix kernels, with Swift reference
/// quantizers that produce exactly the bytes the C (AVX-512) quantizers produce.
///
/// K layout (for Q4_K/Q5_K/Q6_K weights), per column of `n` values (n % 256 == 0):
///   int8 qs[n], each 256-block's bytes in the order `KPermutation.table(type)` (the order in which the
///   kernels unpack the weights), then per block `kMetaBytes` bytes: Float fsum8[8] (d·Σq per 32-value
///   sub-block), Float d, zeros to byte 64 (the vector kernels read bytes 0-63 as one vector), then
///   Int32 bias16[16] (portable kernels, Q6_K only; zero otherwise).
/// Legacy layout (for Q4_0/Q4_1/Q5_0/Q5_1/Q8_0 weights), per column (n % 32 == 0), by super-blocks of
///   8 blocks of 32 (the last one zero-padded): int8 qs[256·S] in the order `KPermutation.table(type)`,
///   then per super-block `kMetaBytes` bytes: Float dx[16] (scale of block p/2 for accumulator lane p),
///   then Int32 bias[16] (Q4_0, Q5_0, Q8_0) or, for Q4_1/Q5_1, Float dx·Σq over lane p. (Lane p sums
///   bytes 4p...4p+3 of each of the four 64-byte vectors.)
/// Formats whose values carry an offset (Q4_0: 8, Q5_0: 16, Q8_0: 128, Q6_K: 32) differ between the
///   two kernel families. The vector kernels unpack their weights as signed values and take the
///   activations as unsigned bytes q + 128 (CKernels/avx512/quant_core.h, sdk_signed), so the biases are zero.
///   The portable kernels (`permuted: false`) keep unsigned weights and signed q, with the bias
///   −offset·Σq over each lane (Q6_K: over the 16-value group p).
/// q = round-half-even(x · 127/amax), d = amax/127, per 32-value block (per 256 for the K layout).
enum ActivationLayout {
    static let kMetaBytes = 128
    static let kMetaFsum = 0
    static let kMetaD = 32
    static let kMetaBias = 64

    /// Bytes of one K-layout column of n values, rounded up to 64.
    static func kStride(_ n: Int) -> Int { roundUp64(n + n / 256 * kMetaBytes) }
    /// Bytes of one legacy-layout column of n values, rounded up to 64.
    static func legacyStride(_ n: Int) -> Int { roundUp64(superBlocks(n) * (256 + kMetaBytes)) }
    /// Super-blocks of 256 values (8 legacy blocks) covering n values.
    static func superBlocks(_ n: Int) -> Int { (n + 255) / 256 }
    static let lMetaDx = 0
    static let lMetaAux = 64

    static func roundUp64(_ v: Int) -> Int { (v + 63) & ~63 }

    /// The zero offset of a legacy format's unsigned values (Q8_0 values are stored + 128);
    /// 0 for the formats with a float min (Q4_1, Q5_1).
    static func legacyOffset(_ type: GGMLType) -> Int32 {
        switch type {
        case .q4_0: return 8
        case .q5_0: return 16
        case .q8_0: return 128
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

    /// Q4_0/Q4_1/Q5_0/Q5_1 super-blocks: qword q of every vector holds 8 qs bytes of block q (bytes 0...7
    /// for k = 0, 1, bytes 8...15 for k = 2, 3); nibbles as for Q4_K (low nibble j: value j, high: j + 16).
    static func l4(_ i: Int) -> Int {
        let k = i / 64, q = (i % 64) / 8, t = i % 8
        let b = k % 2 == 0 ? t % 4 : t % 4 + 4
        return 32 * q + 8 * (k >= 2 ? 1 : 0) + b + (t >= 4 ? 16 : 0)
    }

    /// Q8_0 super-blocks: qword q of vector k holds values 8k...8k+7 of block q.
    static func l8(_ i: Int) -> Int { 32 * ((i % 64) / 8) + 8 * (i / 64) + i % 8 }

    static let q4Table: [UInt8] = (0..<256).map { UInt8(k4($0)) }
    static let q6Table: [UInt8] = (0..<256).map { UInt8(k6($0)) }
    static let l4Table: [UInt8] = (0..<256).map { UInt8(l4($0)) }
    static let l8Table: [UInt8] = (0..<256).map { UInt8(l8($0)) }
    static let identity: [UInt8] = (0..<256).map { UInt8($0) }

    static func table(_ type: GGMLType) -> [UInt8] {
        switch type {
        case .q6_K: return q6Table
        case .q4_K, .q5_K: return q4Table
        case .q8_0: return l8Table
        default: return l4Table
        }
    }
}

/// Round half to even of |v| < 2^22 (adding 1.5·2^23 leaves the rounded integer in the low mantissa
/// bits), as the AVX-512 conversion does; no libm call, so loops over it vectorize.
@inline(__always)
func roundHalfEven(_ v: Float) -> Int32 {
    Int32(bitPattern: (v + 12_582_912).bitPattern) &- 0x4B40_0000
}

/// Swift reference of `sdk_quantize_act_k`. With `permuted: false` the bytes stay in natural order
/// and bias16 lane p covers values 16p...16p+15 (the layout of the portable Swift kernels).
func quantizeActivationsK(_ x: UnsafePointer<Float>, blocks: Int, qs dst: UnsafeMutableRawPointer,
                          meta: UnsafeMutableRawPointer, type: GGMLType, permuted: Bool = true) {
    let perm = permuted ? KPermutation.table(type) : KPermutation.identity
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
                    let q = roundHalfEven(xb[16 * g + j] * id)
                    s += q
                    tmp[16 * g + j] = Int8(q)
                }
                bsums[g] = s
            }
            // The vector kernels' Q6_K activations are the unsigned bytes q + 128, with no bias.
            let flip: UInt8 = permuted && type == .q6_K ? 0x80 : 0
            for i in 0..<256 {
                dst.storeBytes(of: UInt8(bitPattern: tmp[Int(perm[i])]) ^ flip, toByteOffset: 256 * b + i, as: UInt8.self)
            }
            if type == .q6_K && !permuted {
                for p in 0..<16 {
                    m.storeBytes(of: -32 * bsums[p],
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

/// Swift reference of `sdk_quantize_act_legacy`: `n` values (multiple of 32) from `x`. With
/// `permuted: false` the bytes stay in natural order and lane p covers values 16p...16p+15.
func quantizeActivationsLegacy(_ x: UnsafePointer<Float>, count n: Int, qs dst: UnsafeMutableRawPointer,
                               meta: UnsafeMutableRawPointer, type: GGMLType, permuted: Bool = true) {
    let offset = ActivationLayout.legacyOffset(type)
    let perm = permuted ? KPermutation.table(type) : KPermutation.identity
    let nblocks = n / 32
    withUnsafeTemporaryAllocation(of: Int8.self, capacity: 256) { tmp in
        for sb in 0..<ActivationLayout.superBlocks(n) {
            var dl = SIMD16<Float>()
            for j in 0..<8 {
                let b = 8 * sb + j
                var d: Float = 0
                if b < nblocks {
                    let xb = x + 32 * b
                    var amax: Float = 0
                    for i in 0..<32 { amax = max(amax, abs(xb[i])) }
                    d = amax / 127
                    let id: Float = amax > 0 ? 127 / amax : 0
                    for i in 0..<32 { tmp[32 * j + i] = Int8(truncatingIfNeeded: roundHalfEven(xb[i] * id)) }
                } else {
                    for i in 0..<32 { tmp[32 * j + i] = 0 }
                }
                dl[2 * j] = d; dl[2 * j + 1] = d
            }
            // The vector kernels' activations for formats with an offset are the unsigned bytes q + 128,
            // with no bias (their weights are signed); the portable kernels' are q, with the bias.
            let flip: UInt8 = permuted && offset > 0 ? 0x80 : 0
            var lanes = SIMD16<Int32>()
            for i in 0..<256 {
                let q = tmp[Int(perm[i])]
                dst.storeBytes(of: UInt8(bitPattern: q) ^ flip, toByteOffset: 256 * sb + i, as: UInt8.self)
                lanes[permuted ? (i % 64) / 4 : i / 16] += Int32(q)
            }
            let m = meta + ActivationLayout.kMetaBytes * sb
            m.storeBytes(of: dl, toByteOffset: ActivationLayout.lMetaDx, as: SIMD16<Float>.self)
            if offset > 0 {
                let bias = permuted ? SIMD16<Int32>() : lanes &* -offset
                m.storeBytes(of: bias, toByteOffset: ActivationLayout.lMetaAux, as: SIMD16<Int32>.self)
            } else {
                m.storeBytes(of: dl * SIMD16<Float>(lanes), toByteOffset: ActivationLayout.lMetaAux, as: SIMD16<Float>.self)
            }
        }
    }
}
