// AVX2 row kernels: quantized weights (AVX2 packed layout, avx2_repack.c, or GGUF layout through a
// per-block repack) against 8-bit activations (avx2_quantize.c), and float weights against floats.
//
// One 256-value (super-)block is unpacked once into eight vectors v0..v7 and then serves every column:
//   p = vpmaddubsw(v_k, x_k) added in 16 bits over G consecutive k, then one vpmaddwd per group of G:
//   Q4_K, Q4_0, Q4_1 (4-bit, |pair| <= 2*15*127 = 3810): G = 8, one vpmaddwd for the block;
//   Q5_K, Q5_0, Q5_1 (5-bit, 7874): G = 4;  Q6_K (6-bit, 16002): G = 2;
//   Q8_0: signed weights, |w| against sign(x, w) (|pair| <= 32512): G = 1.
// The vpmaddwd multiplies by the K-quants' integer sub-block scales (16-bit lane pairs of group j hold
// scale j), or by ones for the legacy formats, whose scales are floats (lane j: block j). Zero offsets
// become integer activation terms: Q6_K adds vpmaddwd(-32*scale, sum of x per group), Q4_0/Q5_0 add a
// per-block bias from the activation metadata; mins are a float term, as in the AVX-512 set. Every
// integer sum is exact (no 16-bit sum reaches 2^15), so it equals the portable kernels' integer sums.
// A column's result is formed by the same operations in the same order whatever the batch size.
#include "avx2_common.h"

#if SDK2_X86

/// One unpacked weight (super-)block.
typedef struct {
    __m256i v[8];   // unsigned values (Q8_0: signed), in the order of sdk2_perm
    __m256i sc16;   // K-quants: integer scale of each 16-bit lane's group
    __m256i negsc;  // Q6_K: -32 * scale per 16-bit lane
    __m256 dw;      // K-quants: d in every lane; legacy: d of block j in lane j
    __m256 minv;    // Q4_K/Q5_K: -dmin * m_j; Q4_1/Q5_1: m of block j
} sdk2_wblk;

enum { SDK2_K45 = 0, SDK2_K6 = 1, SDK2_LOFF = 2, SDK2_LMIN = 3, SDK2_Q8 = 4 };

/// v[2i] and v[2i+1] from the four nibble planes at p.
SDK2_TARGET SDK2_INLINE void sdk2_nibbles(const uint8_t *p, __m256i *v) {
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    for (int i = 0; i < 4; i++) {
        const __m256i x = _mm256_loadu_si256((const __m256i *)(p + 32 * i));
        v[2 * i] = _mm256_and_si256(x, m4);
        v[2 * i + 1] = _mm256_and_si256(_mm256_srli_epi16(x, 4), m4);
    }
}

/// Adds bit 4 of v_k from bit k of the 32 bytes at h (16-bit shifts: bits crossing bytes are masked).
SDK2_TARGET SDK2_INLINE void sdk2_high1(const uint8_t *h, __m256i *v) {
    const __m256i x = _mm256_loadu_si256((const __m256i *)h), m = _mm256_set1_epi8(0x10);
    v[0] = _mm256_or_si256(v[0], _mm256_and_si256(_mm256_slli_epi16(x, 4), m));
    v[1] = _mm256_or_si256(v[1], _mm256_and_si256(_mm256_slli_epi16(x, 3), m));
    v[2] = _mm256_or_si256(v[2], _mm256_and_si256(_mm256_slli_epi16(x, 2), m));
    v[3] = _mm256_or_si256(v[3], _mm256_and_si256(_mm256_slli_epi16(x, 1), m));
    v[4] = _mm256_or_si256(v[4], _mm256_and_si256(x, m));
    v[5] = _mm256_or_si256(v[5], _mm256_and_si256(_mm256_srli_epi16(x, 1), m));
    v[6] = _mm256_or_si256(v[6], _mm256_and_si256(_mm256_srli_epi16(x, 2), m));
    v[7] = _mm256_or_si256(v[7], _mm256_and_si256(_mm256_srli_epi16(x, 3), m));
}

/// Scales and mins of a Q4_K/Q5_K block header (ggml's get_scale_min_k4 masks, general registers).
SDK2_TARGET SDK2_INLINE void sdk2_scales_k4(const uint8_t *blk, sdk2_wblk *o) {
    uint32_t utmp[4];
    sdk_k4_scale_bytes(blk, utmp);
    const __m128i sm = _mm_loadu_si128((const __m128i *)utmp);  // 8 scales, then 8 mins
    const __m128i dup = _mm_setr_epi8(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
    o->sc16 = _mm256_cvtepu8_epi16(_mm_shuffle_epi8(sm, dup));
    o->dw = _mm256_set1_ps(sdk2_h2f(blk));
    o->minv = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(sm, 8))),
                            _mm256_set1_ps(-sdk2_h2f(blk + 2)));
}

SDK2_TARGET SDK2_INLINE void sdk2_unpack_native_q4K(const uint8_t *blk, sdk2_wblk *o) {
    sdk2_nibbles(blk + 16, o->v);
    sdk2_scales_k4(blk, o);
}

SDK2_TARGET SDK2_INLINE void sdk2_unpack_native_q5K(const uint8_t *blk, sdk2_wblk *o) {
    sdk2_nibbles(blk + 16, o->v);
    sdk2_high1(blk + 144, o->v);
    sdk2_scales_k4(blk, o);
}

SDK2_TARGET SDK2_INLINE void sdk2_unpack_native_q6K(const uint8_t *blk, sdk2_wblk *o) {
    sdk2_nibbles(blk, o->v);
    const __m256i m = _mm256_set1_epi8(0x30);
    for (int j = 0; j < 2; j++) {
        const __m256i h = _mm256_loadu_si256((const __m256i *)(blk + 128 + 32 * j));
        __m256i *v = o->v + 4 * j;
        v[0] = _mm256_or_si256(v[0], _mm256_and_si256(_mm256_slli_epi16(h, 4), m));
        v[1] = _mm256_or_si256(v[1], _mm256_and_si256(_mm256_slli_epi16(h, 2), m));
        v[2] = _mm256_or_si256(v[2], _mm256_and_si256(h, m));
        v[3] = _mm256_or_si256(v[3], _mm256_and_si256(_mm256_srli_epi16(h, 2), m));
    }
    o->sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(blk + 192)));
    o->negsc = _mm256_sub_epi16(_mm256_setzero_si256(), _mm256_slli_epi16(o->sc16, 5));
    o->dw = _mm256_set1_ps(sdk2_h2f(blk + 208));
}

/// 32 bytes of a region of n 32-bit lanes at p: all of them for a full super-block (n = 8), else the
/// first n lanes (vpmaskmovd: the other lanes are zero and not read).
SDK2_TARGET SDK2_INLINE __m256i sdk2_region(const uint8_t *p, const long n, __m256i mask) {
    return n == 8 ? _mm256_loadu_si256((const __m256i *)p) : _mm256_maskload_epi32((const int *)p, mask);
}

/// n f16 values at p as 8 floats (lanes >= n zero).
SDK2_TARGET SDK2_INLINE __m256 sdk2_halves(const uint8_t *p, const long n, __m256i mask) {
    if (n == 8) return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
    // ceil(n / 2) 32-bit lanes hold the n halves; a half past the region (odd n) is masked off after
    const __m128i hm = _mm_cmpgt_epi32(_mm_set1_epi32((int)((n + 1) / 2)), _mm_setr_epi32(0, 1, 2, 3));
    const __m256 f = _mm256_cvtph_ps(_mm_maskload_epi32((const int *)p, hm));
    return _mm256_and_ps(f, _mm256_castsi256_ps(mask));
}

/// A legacy super-block of n <= 8 blocks in the AVX2 layout (regions scaled by n/8, avx2_repack.c);
/// f: 0 Q4_0, 1 Q4_1, 2 Q5_0, 3 Q5_1, 4 Q8_0. The lanes of missing blocks are zero, scales included.
SDK2_TARGET SDK2_INLINE void sdk2_unpack_legacy_n(const uint8_t *p, const long n, sdk2_wblk *o, const int f) {
    const __m256i mask = sdk2_lane_mask(n);
    const long rb = 4 * n;  // bytes of a region of 32-bit lanes
    if (f == 4) {
        for (int k = 0; k < 8; k++) o->v[k] = sdk2_region(p + rb * k, n, mask);
        o->dw = sdk2_halves(p + 8 * rb, n, mask);
        return;
    }
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    for (int i = 0; i < 4; i++) {
        const __m256i x = sdk2_region(p + rb * i, n, mask);
        o->v[2 * i] = _mm256_and_si256(x, m4);
        o->v[2 * i + 1] = _mm256_and_si256(_mm256_srli_epi16(x, 4), m4);
    }
    p += 4 * rb;
    if (f == 2 || f == 3) {
        const __m256i h = sdk2_region(p, n, mask), m = _mm256_set1_epi8(0x10);
        o->v[0] = _mm256_or_si256(o->v[0], _mm256_and_si256(_mm256_slli_epi16(h, 4), m));
        o->v[1] = _mm256_or_si256(o->v[1], _mm256_and_si256(_mm256_slli_epi16(h, 3), m));
        o->v[2] = _mm256_or_si256(o->v[2], _mm256_and_si256(_mm256_slli_epi16(h, 2), m));
        o->v[3] = _mm256_or_si256(o->v[3], _mm256_and_si256(_mm256_slli_epi16(h, 1), m));
        o->v[4] = _mm256_or_si256(o->v[4], _mm256_and_si256(h, m));
        o->v[5] = _mm256_or_si256(o->v[5], _mm256_and_si256(_mm256_srli_epi16(h, 1), m));
        o->v[6] = _mm256_or_si256(o->v[6], _mm256_and_si256(_mm256_srli_epi16(h, 2), m));
        o->v[7] = _mm256_or_si256(o->v[7], _mm256_and_si256(_mm256_srli_epi16(h, 3), m));
        p += rb;
    }
    o->dw = sdk2_halves(p, n, mask);
    if (f == 1 || f == 3) o->minv = sdk2_halves(p + 2 * n, n, mask);
}

/// A full legacy super-block (8 blocks) in the AVX2 layout.
SDK2_TARGET SDK2_INLINE void sdk2_unpack_legacy_full(const uint8_t *p, sdk2_wblk *o, const int f) {
    sdk2_unpack_legacy_n(p, 8, o, f);
}

/// Super-block `sb` of a row in the AVX2 layout, unpacked (a partial last one with masked loads).
SDK2_TARGET SDK2_INLINE void sdk2_unpack_native_legacy(const uint8_t *row, long cols, long sb, sdk2_wblk *o,
                                                       const int f, const int bs) {
    const long nblocks = cols / 32;
    const uint8_t *p = row + 8 * bs * sb;
    const long n = nblocks - 8 * sb;
    if (n >= 8) {
        sdk2_unpack_legacy_full(p, o, f);
    } else {
        sdk2_unpack_legacy_n(p, n, o, f);
    }
}

/// Integer sums of one column against an unpacked block: 8 int32 lanes, scaled by `scale` (16-bit).
SDK2_TARGET SDK2_INLINE __m256i sdk2_dot_groups(const sdk2_wblk *wb, const uint8_t *xq, const int G, __m256i scale) {
    __m256i s = _mm256_setzero_si256();
    for (int g0 = 0; g0 < 8; g0 += G) {
        __m256i p = _mm256_maddubs_epi16(wb->v[g0], _mm256_loadu_si256((const __m256i *)(xq + 32 * g0)));
        for (int k = g0 + 1; k < g0 + G; k++)
            p = _mm256_add_epi16(p, _mm256_maddubs_epi16(wb->v[k], _mm256_loadu_si256((const __m256i *)(xq + 32 * k))));
        s = g0 == 0 ? _mm256_madd_epi16(p, scale) : _mm256_add_epi32(s, _mm256_madd_epi16(p, scale));
    }
    return s;
}

SDK2_TARGET SDK2_INLINE __m256i sdk2_dot_q8(const sdk2_wblk *wb, const uint8_t *xq) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i s = _mm256_setzero_si256();
    for (int k = 0; k < 8; k++) {
        const __m256i x = _mm256_loadu_si256((const __m256i *)(xq + 32 * k));
        const __m256i p = _mm256_maddubs_epi16(_mm256_abs_epi8(wb->v[k]), _mm256_sign_epi8(x, wb->v[k]));
        s = _mm256_add_epi32(s, _mm256_madd_epi16(p, ones));
    }
    return s;
}

/// One column's contribution of an unpacked block to its accumulator.
SDK2_TARGET SDK2_INLINE __m256 sdk2_column(const sdk2_wblk *wb, const uint8_t *xq, const uint8_t *meta, __m256 acc,
                                           const int mode, const int G) {
    const __m256i ones = _mm256_set1_epi16(1);
    switch (mode) {
    case SDK2_K45: {
        const __m256i s = sdk2_dot_groups(wb, xq, G, wb->sc16);
        const __m256 dx = _mm256_mul_ps(_mm256_broadcast_ss((const float *)(meta + SDK2_KMETA_D)), wb->dw);
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), dx, acc);
        return _mm256_fmadd_ps(wb->minv, _mm256_loadu_ps((const float *)(meta + SDK2_KMETA_FSUM)), acc);
    }
    case SDK2_K6: {
        __m256i s = sdk2_dot_groups(wb, xq, G, wb->sc16);
        s = _mm256_add_epi32(s, _mm256_madd_epi16(wb->negsc, _mm256_loadu_si256((const __m256i *)(meta + SDK2_KMETA_XSUM))));
        const __m256 dx = _mm256_mul_ps(_mm256_broadcast_ss((const float *)(meta + SDK2_KMETA_D)), wb->dw);
        return _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), dx, acc);
    }
    case SDK2_LOFF: {
        __m256i s = sdk2_dot_groups(wb, xq, G, ones);
        s = _mm256_add_epi32(s, _mm256_loadu_si256((const __m256i *)(meta + SDK2_LMETA_AUX)));
        const __m256 dx = _mm256_mul_ps(_mm256_loadu_ps((const float *)(meta + SDK2_LMETA_DX)), wb->dw);
        return _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), dx, acc);
    }
    case SDK2_LMIN: {
        const __m256i s = sdk2_dot_groups(wb, xq, G, ones);
        const __m256 dx = _mm256_mul_ps(_mm256_loadu_ps((const float *)(meta + SDK2_LMETA_DX)), wb->dw);
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), dx, acc);
        return _mm256_fmadd_ps(wb->minv, _mm256_loadu_ps((const float *)(meta + SDK2_LMETA_AUX)), acc);
    }
    default: {
        const __m256i s = sdk2_dot_q8(wb, xq);
        const __m256 dx = _mm256_mul_ps(_mm256_loadu_ps((const float *)(meta + SDK2_LMETA_DX)), wb->dw);
        return _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), dx, acc);
    }
    }
}

typedef void (*sdk2_unpack_fn)(const uint8_t *row, long cols, long b, sdk2_wblk *o);

SDK2_TARGET SDK2_INLINE void sdk2_quant_impl(SDK2_IMPL_ARGS, const int mode, const int G, sdk2_unpack_fn unpack) {
    SDK2_ACC_BEGIN(acc, NB)
    const long qsBytes = 256 * ((cols + 255) / 256);
    for (long b = u0; b < u1; b++) {
        if (pf)  // this block's share of the row's next segment (SDK2_ROWS_LOOP)
            for (long o = 0; o < pfStep; o += 64) __builtin_prefetch(pf + (b - u0) * pfStep + o, 0, 2);
        sdk2_wblk wb;
        unpack(w, cols, b, &wb);
        for (int c = 0; c < NB; c++) {
            const uint8_t *ac = act + c * astride;
            acc[c] = sdk2_column(&wb, ac + 256 * b, ac + qsBytes + SDK2_META * b, acc[c], mode, G);
        }
    }
    SDK2_ACC_END(acc, NB)
}

#define SDK2_QUANT(name, MODE, G, UNPACK)                                                                    \
    SDK2_TARGET SDK2_INLINE void name##_impl(SDK2_IMPL_ARGS) {                                               \
        sdk2_quant_impl(w, cols, act, astride, NB, out, ostride, u0, u1, state, first, last, pf, pfStep, MODE, G, \
                        UNPACK);                                                                             \
    }                                                                                                        \
    SDK2_DISPATCH_NB(name, name##_impl)

// K-quants, AVX2 layout
SDK2_TARGET SDK2_INLINE void sdk2_nq4K(const uint8_t *row, long cols, long b, sdk2_wblk *o) {
    (void)cols;
    sdk2_unpack_native_q4K(row + 144 * b, o);
}
SDK2_TARGET SDK2_INLINE void sdk2_nq5K(const uint8_t *row, long cols, long b, sdk2_wblk *o) {
    (void)cols;
    sdk2_unpack_native_q5K(row + 176 * b, o);
}
SDK2_TARGET SDK2_INLINE void sdk2_nq6K(const uint8_t *row, long cols, long b, sdk2_wblk *o) {
    (void)cols;
    sdk2_unpack_native_q6K(row + 210 * b, o);
}
// K-quants, GGUF layout: each block is repacked on the stack first (tests and unpacked matrices only)
SDK2_TARGET SDK2_INLINE void sdk2_gq4K(const uint8_t *row, long cols, long b, sdk2_wblk *o) {
    (void)cols;
    uint8_t t[144] __attribute__((aligned(32)));
    sdk2_pack_k_block(12, row + 144 * b, t);
    sdk2_unpack_native_q4K(t, o);
}
SDK2_TARGET SDK2_INLINE void sdk2_gq5K(const uint8_t *row, long cols, long b, sdk2_wblk *o) {
    (void)cols;
    uint8_t t[176] __attribute__((aligned(32)));
    sdk2_pack_k_block(13, row + 176 * b, t);
    sdk2_unpack_native_q5K(t, o);
}
SDK2_TARGET SDK2_INLINE void sdk2_gq6K(const uint8_t *row, long cols, long b, sdk2_wblk *o) {
    (void)cols;
    uint8_t t[210] __attribute__((aligned(32)));
    sdk2_pack_k_block(14, row + 210 * b, t);
    sdk2_unpack_native_q6K(t, o);
}

SDK2_QUANT(sdk2_rows_native_q4_K, SDK2_K45, 8, sdk2_nq4K)
SDK2_QUANT(sdk2_rows_native_q5_K, SDK2_K45, 4, sdk2_nq5K)
SDK2_QUANT(sdk2_rows_native_q6_K, SDK2_K6, 2, sdk2_nq6K)
SDK2_QUANT(sdk2_rows_q4_K, SDK2_K45, 8, sdk2_gq4K)
SDK2_QUANT(sdk2_rows_q5_K, SDK2_K45, 4, sdk2_gq5K)
SDK2_QUANT(sdk2_rows_q6_K, SDK2_K6, 2, sdk2_gq6K)

// Legacy formats
#define SDK2_LEGACY(suffix, type, f, bs, MODE, G)                                                             \
    SDK2_TARGET SDK2_INLINE void sdk2_n##suffix(const uint8_t *row, long cols, long sb, sdk2_wblk *o) {      \
        sdk2_unpack_native_legacy(row, cols, sb, o, f, bs);                                                  \
    }                                                                                                        \
    SDK2_TARGET SDK2_INLINE void sdk2_g##suffix(const uint8_t *row, long cols, long sb, sdk2_wblk *o) {      \
        uint8_t t[8 * 34] __attribute__((aligned(32)));                                                      \
        sdk2_pack_legacy_sb(type, row, cols, sb, 8, t);                                                      \
        sdk2_unpack_legacy_full(t, o, f);                                                                    \
    }                                                                                                        \
    SDK2_QUANT(sdk2_rows_native_##suffix, MODE, G, sdk2_n##suffix)                                           \
    SDK2_QUANT(sdk2_rows_##suffix, MODE, G, sdk2_g##suffix)

SDK2_LEGACY(q4_0, 2, 0, 18, SDK2_LOFF, 8)
SDK2_LEGACY(q4_1, 3, 1, 20, SDK2_LMIN, 8)
SDK2_LEGACY(q5_0, 6, 2, 22, SDK2_LOFF, 4)
SDK2_LEGACY(q5_1, 7, 3, 24, SDK2_LMIN, 4)
SDK2_LEGACY(q8_0, 8, 4, 34, SDK2_Q8, 1)

// Float weights: one accumulator per column, lanes at fixed positions (chunks are multiples of 32
// values), so a column's sum does not depend on the chunking or the batch size.

/// 8 weights at w + i as floats (kind 0 F32, 1 F16, 2 BF16); only the first `n` (< 8) when n < 8.
SDK2_TARGET SDK2_INLINE __m256 sdk2_load_w(const uint8_t *w, long i, long n, const int kind) {
    if (kind == 0) {
        const float *p = (const float *)w + i;
        return n >= 8 ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, sdk2_lane_mask(n));
    }
    __m128i h;
    if (n >= 8) {
        h = _mm_loadu_si128((const __m128i *)((const uint16_t *)w + i));
    } else {
        uint16_t t[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        memcpy(t, (const uint16_t *)w + i, (size_t)(2 * n));
        h = _mm_loadu_si128((const __m128i *)t);
    }
    if (kind == 1) return _mm256_cvtph_ps(h);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

SDK2_TARGET SDK2_INLINE void sdk2_float_impl(SDK2_IMPL_ARGS, const int kind) {
    (void)cols;
    SDK2_ACC_BEGIN(acc, NB)
    if (pf)
        for (long o = 0; o < pfStep * (u1 - u0); o += 64) __builtin_prefetch(pf + o, 0, 2);
    long i = u0;
    for (; i + 8 <= u1; i += 8) {
        const __m256 w0 = sdk2_load_w(w, i, 8, kind);
        for (int c = 0; c < NB; c++)
            acc[c] = _mm256_fmadd_ps(w0, _mm256_loadu_ps((const float *)(act + c * astride) + i), acc[c]);
    }
    if (i < u1) {
        const long n = u1 - i;
        const __m256 w0 = sdk2_load_w(w, i, n, kind);
        const __m256i m = sdk2_lane_mask(n);
        for (int c = 0; c < NB; c++)
            acc[c] = _mm256_fmadd_ps(w0, _mm256_maskload_ps((const float *)(act + c * astride) + i, m), acc[c]);
    }
    SDK2_ACC_END(acc, NB)
}

#define SDK2_FLOAT(name, kind)                                                                               \
    SDK2_TARGET SDK2_INLINE void name##_impl(SDK2_IMPL_ARGS) {                                               \
        sdk2_float_impl(w, cols, act, astride, NB, out, ostride, u0, u1, state, first, last, pf, pfStep, kind); \
    }                                                                                                        \
    SDK2_DISPATCH_NB(name, name##_impl)

SDK2_FLOAT(sdk2_rows_f32, 0)
SDK2_FLOAT(sdk2_rows_f16, 1)
SDK2_FLOAT(sdk2_rows_bf16, 2)

#endif  // SDK2_X86
