// Legacy 32-element block weights (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) times Q8_0-style activations.
// Two weight blocks fill one 64-byte vector; a trailing odd block uses masked (zero) upper lanes.
//
// Weights are unpacked to unsigned bytes u (nibbles, 5-bit values, or q8 + 128), so that
// dot = dw*dx*(sum u*x + bias) [+ m*dx*sum x], with bias = -offset*sum(x) precomputed per activation block.
#include "common.h"

/// Byte gather index: 128-bit lanes 0,1 = bytes o0..o0+15, lanes 2,3 = bytes o1..o1+15.
SDK_TARGET SDK_INLINE __m512i sdk_pair_index(int o0, int o1) {
    const __m512i iota = _mm512_set_epi8(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 15, 14, 13, 12, 11, 10,
                                         9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1,
                                         0, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    const __m512i base = _mm512_mask_blend_epi64(0xF0, _mm512_set1_epi8((char)o0), _mm512_set1_epi8((char)o1));
    return _mm512_add_epi8(iota, base);
}

/// Nibbles of two blocks (16 bytes each, at byte offsets o0 and o0+bs) as 64 values in element order.
SDK_TARGET SDK_INLINE __m512i sdk_pair_nibbles(const uint8_t *p, __mmask64 kload, __m512i gidx) {
    const __m512i raw = _mm512_permutexvar_epi8(gidx, _mm512_maskz_loadu_epi8(kload, p));
    const __m512i shift = _mm512_mask_blend_epi64(0xCC, _mm512_setzero_si512(), _mm512_set1_epi16(4));
    return _mm512_and_si512(_mm512_srlv_epi16(raw, shift), _mm512_set1_epi8(0x0F));
}

/// Per-lane weight values: lanes 0..7 = a, lanes 8..15 = b.
SDK_TARGET SDK_INLINE __m512 sdk_lanes(float a, float b) {
    return _mm512_mask_blend_ps(0xFF00, _mm512_set1_ps(a), _mm512_set1_ps(b));
}

// kind: 0 = Q4_0, 1 = Q4_1, 2 = Q5_0, 3 = Q5_1, 4 = Q8_0
SDK_TARGET SDK_INLINE void sdk_legacy_impl(SDK_IMPL_ARGS, const int kind, const int bs) {
    SDK_ACC_BEGIN(acc, NB)
    const int hasMin = kind == 1 || kind == 3;
    const int qsOff = kind == 0 ? 2 : kind == 1 ? 4 : kind == 2 ? 6 : kind == 3 ? 8 : 2;
    const __m512i gidx = sdk_pair_index(qsOff, qsOff + bs);
    for (long b = u0; b < u1; b += 2) {
        const int two = b + 1 < u1;
        const uint8_t *p = w + bs * b;
        __m512i u;
        if (kind == 4) {
            const __m256i lo = _mm256_loadu_si256((const __m256i *)(p + 2));
            const __m256i hi = two ? _mm256_loadu_si256((const __m256i *)(p + 36)) : _mm256_setzero_si256();
            u = _mm512_xor_si512(_mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1), _mm512_set1_epi8((char)0x80));
        } else {
            const __mmask64 kload = two ? (~0ULL >> (64 - 2 * bs)) : (~0ULL >> (64 - bs));
            u = sdk_pair_nibbles(p, kload, gidx);
            if (kind == 2 || kind == 3) {
                uint32_t h0, h1 = 0;
                memcpy(&h0, p + (kind == 2 ? 2 : 4), 4);
                if (two) memcpy(&h1, p + bs + (kind == 2 ? 2 : 4), 4);
                const __mmask64 kh = (__mmask64)h0 | ((__mmask64)h1 << 32);
                u = _mm512_mask_add_epi8(u, kh, u, _mm512_set1_epi8(16));
            }
        }
        const float d0 = sdk_h2f(p), d1 = two ? sdk_h2f(p + bs) : 0.0f;
        const __m512 dwl = sdk_lanes(d0, d1);
        __m512 ml = _mm512_setzero_ps();
        if (hasMin) ml = sdk_lanes(sdk_h2f(p + 2), two ? sdk_h2f(p + bs + 2) : 0.0f);
        const __mmask16 k16 = two ? 0xFFFF : 0x00FF;
        const __mmask64 kx = two ? ~0ULL : 0xFFFFFFFFULL;
        for (int c = 0; c < NB; c++) {
            const uint8_t *ac = act + c * astride;
            const int8_t *xq = (const int8_t *)ac + 32 * b;
            const float *dl = (const float *)(ac + cols) + 8 * b;
            const uint8_t *aux = ac + 2 * cols + 32 * b;
            __m512i s = hasMin ? _mm512_setzero_si512() : _mm512_maskz_loadu_epi32(k16, aux);
            s = _mm512_dpbusd_epi32(s, u, _mm512_maskz_loadu_epi8(kx, xq));
            acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(dwl, _mm512_maskz_loadu_ps(k16, dl)), acc[c]);
            if (hasMin) acc[c] = _mm512_fmadd_ps(ml, _mm512_maskz_loadu_ps(k16, (const float *)aux), acc[c]);
        }
    }
    SDK_ACC_END(acc, NB)
}

#define SDK_LEGACY(name, kind, bs)                                                                           \
    SDK_TARGET SDK_INLINE void name##_impl(SDK_IMPL_ARGS) {                                                  \
        sdk_legacy_impl(w, cols, act, astride, NB, out, ostride, u0, u1, state, first, last, kind, bs);     \
    }                                                                                                        \
    SDK_DISPATCH_NB(name, name##_impl)

SDK_LEGACY(sdk_rows_q4_0, 0, 18)
SDK_LEGACY(sdk_rows_q4_1, 1, 20)
SDK_LEGACY(sdk_rows_q5_0, 2, 22)
SDK_LEGACY(sdk_rows_q5_1, 3, 24)
SDK_LEGACY(sdk_rows_q8_0, 4, 34)
