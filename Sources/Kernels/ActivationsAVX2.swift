/// The activation layouts of the AVX2 kernels (CKernels/avx2/avx2_common.h), with Swift reference
/// quantizers that produce exactly the bytes of `sdk_avx2_quantize_act_k` / `_legacy`.
///
/// The quantized values are those of the other layouts (q = round-half-even(x · 127/amax), signed, per
/// 256 values for the K layout and per 32 for the legacy one), stored in the byte order of the AVX2
/// weight vectors (``AVX2Permutation``); the strides are those of ``ActivationLayout``. Metadata per
/// 256-value block (128 bytes):
/// - K layout: Float fsum8[8] at 0 (d·Σq per 32-value sub-block), Float d at 32, and for Q6_K Int16
///   xsum16[16] at 64 (Σq per 16-value group: the kernels take 32·scale·Σq off for Q6_K's zero offset);
/// - legacy layout: Float dx[8] at 0 (scale of block j), then at 32 Int32 bias[8] = −offset·Σq of block j
///   (Q4_0: 8, Q5_0: 16) or Float lsum[8] = dx·Σq (Q4_1, Q5_1); nothing for Q8_0.
enum AVX2ActivationLayout {
    static let fsum = 0
    static let d = 32
    static let xsum = 64
    static let dx = 0
    static let aux = 32
}

/// The byte order of the AVX2 kernels' unpacked weight vectors, and so of their activations:
/// `table(type)[i]` is the element held by byte i of the eight 32-byte vectors of a 256-value block.
/// Must match CKernels/avx2/avx2_repack.c.
enum AVX2Permutation {
    /// 8 groups of 32 (Q4_K/Q5_K sub-blocks, legacy blocks): byte 32k + 4j + t holds element 32j + 4k + t,
    /// so 32-bit lane j of every vector belongs to group j.
    static func groups32(_ i: Int) -> Int { let k = i / 32, b = i % 32; return 32 * (b / 4) + 4 * k + b % 4 }
    /// Q6_K's 16 groups of 16: byte 32k + 2g + t holds element 16g + 2k + t (16-bit lane g: group g).
    static func groups16(_ i: Int) -> Int { let k = i / 32, b = i % 32; return 16 * (b / 2) + 2 * k + b % 2 }

    static let groups32Table: [UInt8] = (0..<256).map { UInt8(groups32($0)) }
    static let groups16Table: [UInt8] = (0..<256).map { UInt8(groups16($0)) }

    static func table(_ type: GGMLType) -> [UInt8] { type == .q6_K ? groups16Table : groups32Table }
}

/// Swift reference of `sdk_avx2_quantize_act_k` (Q4_K, Q5_K, Q6_K weights).
func quantizeActivationsKAVX2(_ x: UnsafePointer<Float>, blocks: Int, qs dst: UnsafeMutableRawPointer,
                              meta: UnsafeMutableRawPointer, type: GGMLType) {
    let perm = AVX2Permutation.table(type)
    withUnsafeTemporaryAllocation(of: Int8.self, capacity: 256) { tmp in
        for b in 0..<blocks {
            let xb = x + 256 * b
            var amax: Float = 0
            for j in 0..<256 { amax = max(amax, abs(xb[j])) }
            let d = amax / 127
            let id: Float = amax > 0 ? 127 / amax : 0
            var sums = [Int32](repeating: 0, count: 16)
            for g in 0..<16 {
                for j in 0..<16 {
                    let q = roundHalfEven(xb[16 * g + j] * id)
                    sums[g] += q
                    tmp[16 * g + j] = Int8(q)
                }
            }
            for i in 0..<256 { dst.storeBytes(of: tmp[Int(perm[i])], toByteOffset: 256 * b + i, as: Int8.self) }
            let m = meta + ActivationLayout.kMetaBytes * b
            m.initializeMemory(as: UInt8.self, repeating: 0, count: ActivationLayout.kMetaBytes)
            for j in 0..<8 {
                m.storeBytes(of: d * Float(sums[2 * j] + sums[2 * j + 1]), toByteOffset: AVX2ActivationLayout.fsum + 4 * j,
                             as: Float.self)
            }
            m.storeBytes(of: d, toByteOffset: AVX2ActivationLayout.d, as: Float.self)
            if type == .q6_K {
                for g in 0..<16 { m.storeBytes(of: Int16(sums[g]), toByteOffset: AVX2ActivationLayout.xsum + 2 * g, as: Int16.self) }
            }
        }
    }
}

/// Swift reference of `sdk_avx2_quantize_act_legacy` (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 weights): `n` values
/// (a multiple of 32); the last super-block is zero-padded.
func quantizeActivationsLegacyAVX2(_ x: UnsafePointer<Float>, count n: Int, qs dst: UnsafeMutableRawPointer,
                                   meta: UnsafeMutableRawPointer, type: GGMLType) {
    let offset = type == .q4_0 ? Int32(8) : type == .q5_0 ? 16 : 0
    let withMin = type == .q4_1 || type == .q5_1
    let perm = AVX2Permutation.groups32Table
    let nblocks = n / 32
    withUnsafeTemporaryAllocation(of: Int8.self, capacity: 256) { tmp in
        for sb in 0..<ActivationLayout.superBlocks(n) {
            var dx = [Float](repeating: 0, count: 8), sums = [Int32](repeating: 0, count: 8)
            for j in 0..<8 {
                let b = 8 * sb + j
                guard b < nblocks else {
                    for i in 0..<32 { tmp[32 * j + i] = 0 }
                    continue
                }
                let xb = x + 32 * b
                var amax: Float = 0
                for i in 0..<32 { amax = max(amax, abs(xb[i])) }
                dx[j] = amax / 127
                let id: Float = amax > 0 ? 127 / amax : 0
                for i in 0..<32 {
                    let q = roundHalfEven(xb[i] * id)
                    sums[j] += q
                    tmp[32 * j + i] = Int8(truncatingIfNeeded: q)
                }
            }
            for i in 0..<256 { dst.storeBytes(of: tmp[Int(perm[i])], toByteOffset: 256 * sb + i, as: Int8.self) }
            let m = meta + ActivationLayout.kMetaBytes * sb
            m.initializeMemory(as: UInt8.self, repeating: 0, count: ActivationLayout.kMetaBytes)
            for j in 0..<8 {
                m.storeBytes(of: dx[j], toByteOffset: AVX2ActivationLayout.dx + 4 * j, as: Float.self)
                if offset > 0 {
                    m.storeBytes(of: -offset * sums[j], toByteOffset: AVX2ActivationLayout.aux + 4 * j, as: Int32.self)
                } else if withMin {
                    m.storeBytes(of: dx[j] * Float(sums[j]), toByteOffset: AVX2ActivationLayout.aux + 4 * j, as: Float.self)
                }
            }
        }
    }
}
