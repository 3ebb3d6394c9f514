// K-quant weights (Q4_K, Q5_K, Q6_K) times 8-bit activations, up to SDK_MAX_NB columns per weight pass.
//
// Each 256-value block is unpacked into four 64-byte vectors whose 32-bit lanes all map to the same
// scale group (see tables.c), so one vpdpbusd chain per column sums the whole block per lane and the
// scales are applied once, in float. The activations are stored in the same byte order.
#include "common.h"

#if SDK_X86

typedef struct {
    __m512i idxC, idxD, idxP, idxR, msLo, msHi;
} sdk_kconst;

SDK_TARGET SDK_INLINE sdk_kconst sdk_kconst_load(void) {
    sdk_kconst k;
    k.idxC = _mm512_set_epi64(13, 12, 9, 8, 5, 4, 1, 0);
    k.idxD = _mm512_set_epi64(15, 14, 11, 10, 7, 6, 3, 2);
    k.idxP = _mm512_set_epi64(14, 12, 10, 8, 6, 4, 2, 0);
    k.idxR = _mm512_set_epi64(15, 13, 11, 9, 7, 5, 3, 1);
    k.msLo = _mm512_loadu_si512(sdk_k_tables.ms_lo);
    k.msHi = _mm512_loadu_si512(sdk_k_tables.ms_hi);
    return k;
}

/// Unpacks 128 bytes of Q4_K/Q5_K nibbles into four vectors in table order.
SDK_TARGET SDK_INLINE void sdk_unpack_k4(const uint8_t *qs, const sdk_kconst *K, __m512i v[4]) {
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    const __m512i a = _mm512_loadu_si512(qs), b = _mm512_loadu_si512(qs + 64);
    const __m512i c = _mm512_permutex2var_epi64(a, K->idxC, b), d = _mm512_permutex2var_epi64(a, K->idxD, b);
    v[0] = _mm512_and_si512(_mm512_multishift_epi64_epi8(K->msLo, c), m4);
    v[1] = _mm512_and_si512(_mm512_multishift_epi64_epi8(K->msHi, c), m4);
    v[2] = _mm512_and_si512(_mm512_multishift_epi64_epi8(K->msLo, d), m4);
    v[3] = _mm512_and_si512(_mm512_multishift_epi64_epi8(K->msHi, d), m4);
}

/// Decodes the 12 packed scale bytes into 8 scales (bytes 0..7) and 8 mins (bytes 8..15).
SDK_INLINE void sdk_scales_k4(const uint8_t *p, uint32_t utmp[4]) {
    const uint32_t kmask1 = 0x3f3f3f3f, kmask2 = 0x0f0f0f0f, kmask3 = 0x03030303;
    memcpy(utmp, p, 12);
    utmp[3] = ((utmp[2] >> 4) & kmask2) | (((utmp[1] >> 6) & kmask3) << 4);
    const uint32_t uaux = utmp[1] & kmask1;
    utmp[1] = (utmp[2] & kmask2) | (((utmp[0] >> 6) & kmask3) << 4);
    utmp[2] = uaux;
    utmp[0] &= kmask1;
}

/// Per-column work of a Q4_K/Q5_K block whose unpacked values are v[4].
SDK_TARGET SDK_INLINE void sdk_k45_block(const uint8_t *blk, const __m512i v[4], const __m512i subIdx,
                                         const uint8_t *act, long astride, long cols, long b, const int NB,
                                         __m512 acc[SDK_MAX_NB]) {
    const float dw = sdk_h2f(blk), dmin = sdk_h2f(blk + 2);
    uint32_t utmp[4];
    sdk_scales_k4(blk + 4, utmp);
    const __m128i sm = _mm_loadu_si128((const __m128i *)utmp);
    const __m256 sc8 = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(sm)), _mm256_set1_ps(dw));
    const __m512 fsc = _mm512_permutexvar_ps(subIdx, _mm512_castps256_ps512(sc8));
    const __m512 minz = _mm512_zextps256_ps512(
        _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(sm, 8))), _mm256_set1_ps(-dmin)));
    for (int c = 0; c < NB; c++) {
        const uint8_t *ac = act + c * astride;
        const int8_t *xq = (const int8_t *)ac + 256 * b;
        const uint8_t *meta = ac + cols + SDK_KMETA * b;
        __m512i s = _mm512_dpbusd_epi32(_mm512_setzero_si512(), v[0], _mm512_loadu_si512(xq));
        s = _mm512_dpbusd_epi32(s, v[1], _mm512_loadu_si512(xq + 64));
        s = _mm512_dpbusd_epi32(s, v[2], _mm512_loadu_si512(xq + 128));
        s = _mm512_dpbusd_epi32(s, v[3], _mm512_loadu_si512(xq + 192));
        const __m512 dx = _mm512_set1_ps(*(const float *)(meta + SDK_KMETA_D));
        acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(fsc, dx), acc[c]);
        acc[c] = _mm512_fmadd_ps(minz, _mm512_zextps256_ps512(_mm256_loadu_ps((const float *)(meta + SDK_KMETA_FSUM))),
                                 acc[c]);
    }
}

SDK_TARGET SDK_INLINE void sdk_q4K_impl(SDK_IMPL_ARGS) {
    const sdk_kconst K = sdk_kconst_load();
    const __m512i subIdx = _mm512_loadu_si512(sdk_k_tables.k4_sub);
    SDK_ACC_BEGIN(acc, NB)
    for (long b = u0; b < u1; b++) {
        const uint8_t *blk = w + 144 * b;
        __m512i v[4];
        sdk_unpack_k4(blk + 16, &K, v);
        sdk_k45_block(blk, v, subIdx, act, astride, cols, b, NB, acc);
    }
    SDK_ACC_END(acc, NB)
}

SDK_TARGET SDK_INLINE void sdk_q5K_impl(SDK_IMPL_ARGS) {
    const sdk_kconst K = sdk_kconst_load();
    const __m512i subIdx = _mm512_loadu_si512(sdk_k_tables.k4_sub);
    const __m512i sixteen = _mm512_set1_epi8(16);
    SDK_ACC_BEGIN(acc, NB)
    for (long b = u0; b < u1; b++) {
        const uint8_t *blk = w + 176 * b;
        __m512i v[4];
        sdk_unpack_k4(blk + 48, &K, v);
        const __m512i qh = _mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(blk + 16)));
        for (int k = 0; k < 4; k++) {
            const __m512i g = _mm512_permutexvar_epi8(_mm512_loadu_si512(sdk_k_tables.q5_qh_index + 64 * k), qh);
            const __mmask64 hb = _mm512_test_epi8_mask(g, _mm512_loadu_si512(sdk_k_tables.q5_qh_bit + 64 * k));
            v[k] = _mm512_mask_add_epi8(v[k], hb, v[k], sixteen);
        }
        sdk_k45_block(blk, v, subIdx, act, astride, cols, b, NB, acc);
    }
    SDK_ACC_END(acc, NB)
}

SDK_TARGET SDK_INLINE void sdk_q6K_impl(SDK_IMPL_ARGS) {
    const sdk_kconst K = sdk_kconst_load();
    const __m512i groupIdx = _mm512_loadu_si512(sdk_k_tables.q6_group);
    const __m512i m4 = _mm512_set1_epi8(0x0F), m30 = _mm512_set1_epi8(0x30);
    SDK_ACC_BEGIN(acc, NB)
    for (long b = u0; b < u1; b++) {
        const uint8_t *blk = w + 210 * b;
        const __m512i l0 = _mm512_loadu_si512(blk), l1 = _mm512_loadu_si512(blk + 64);
        const __m512i qh = _mm512_loadu_si512(blk + 128);
        const __m512i p = _mm512_permutex2var_epi64(l0, K.idxP, l1), r = _mm512_permutex2var_epi64(l0, K.idxR, l1);
        __m512i v[4];
        for (int k = 0; k < 4; k++) {
            const __m512i lo = _mm512_multishift_epi64_epi8(k % 2 ? K.msHi : K.msLo, k < 2 ? p : r);
            const __m512i g = _mm512_permutexvar_epi8(_mm512_loadu_si512(sdk_k_tables.q6_qh_index + 64 * k), qh);
            const __m512i hi = _mm512_multishift_epi64_epi8(_mm512_loadu_si512(sdk_k_tables.q6_qh_shift + 64 * k), g);
            v[k] = _mm512_or_si512(_mm512_and_si512(lo, m4), _mm512_and_si512(hi, m30));
        }
        const __m512 sc = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(blk + 192))));
        const __m512 fsc = _mm512_mul_ps(_mm512_permutexvar_ps(groupIdx, sc), _mm512_set1_ps(sdk_h2f(blk + 208)));
        for (int c = 0; c < NB; c++) {
            const uint8_t *ac = act + c * astride;
            const int8_t *xq = (const int8_t *)ac + 256 * b;
            const uint8_t *meta = ac + cols + SDK_KMETA * b;
            __m512i s = _mm512_loadu_si512(meta + SDK_KMETA_BIAS);
            s = _mm512_dpbusd_epi32(s, v[0], _mm512_loadu_si512(xq));
            s = _mm512_dpbusd_epi32(s, v[1], _mm512_loadu_si512(xq + 64));
            s = _mm512_dpbusd_epi32(s, v[2], _mm512_loadu_si512(xq + 128));
            s = _mm512_dpbusd_epi32(s, v[3], _mm512_loadu_si512(xq + 192));
            const __m512 dx = _mm512_set1_ps(*(const float *)(meta + SDK_KMETA_D));
            acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(fsc, dx), acc[c]);
        }
    }
    SDK_ACC_END(acc, NB)
}

SDK_DISPATCH_NB(sdk_rows_q4_K, sdk_q4K_impl)
SDK_DISPATCH_NB(sdk_rows_q5_K, sdk_q5K_impl)
SDK_DISPATCH_NB(sdk_rows_q6_K, sdk_q6K_impl)

#endif  // SDK_X86
