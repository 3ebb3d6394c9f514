// K-quant weights (Q4_K, Q5_K, Q6_K) times Q8_K-style activations, several columns per weight pass.
#include "common.h"

/// int16 lanes 0..15 = value a, 16..31 = value b.
SDK_TARGET SDK_INLINE __m512i sdk_halves16(short a, short b) {
    return _mm512_mask_blend_epi16(0xFFFF0000u, _mm512_set1_epi16(a), _mm512_set1_epi16(b));
}

/// Unpacks 128 bytes of Q4_K/Q5_K nibbles into four vectors of 64 values in element order.
SDK_TARGET SDK_INLINE void sdk_unpack_k4(const uint8_t *qs, __m512i w[4]) {
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    __m512i a = _mm512_loadu_si512(qs), b = _mm512_loadu_si512(qs + 64);
    __m512i la = _mm512_and_si512(a, m4), ha = _mm512_and_si512(_mm512_srli_epi16(a, 4), m4);
    __m512i lb = _mm512_and_si512(b, m4), hb = _mm512_and_si512(_mm512_srli_epi16(b, 4), m4);
    w[0] = _mm512_inserti64x4(la, _mm512_castsi512_si256(ha), 1);
    w[1] = _mm512_shuffle_i64x2(la, ha, 0xEE);
    w[2] = _mm512_inserti64x4(lb, _mm512_castsi512_si256(hb), 1);
    w[3] = _mm512_shuffle_i64x2(lb, hb, 0xEE);
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

/// Shared inner part of Q4_K and Q5_K: w[4] unpacked (5-bit for Q5_K), block header at blk.
SDK_TARGET SDK_INLINE void sdk_k45_block(const uint8_t *blk, const __m512i w[4], const uint8_t *act, long astride,
                                         long cols, long b, const int NB, __m512 acc[SDK_MAX_NB]) {
    const float dw = sdk_h2f(blk), dmin = sdk_h2f(blk + 2);
    uint32_t utmp[4];
    sdk_scales_k4(blk + 4, utmp);
    const __m128i sm = _mm_loadu_si128((const __m128i *)utmp);
    const __m512i s16 = _mm512_castsi128_si512(_mm_cvtepu8_epi16(sm));
    __m512i sc[4];
    for (int k = 0; k < 4; k++) sc[k] = _mm512_permutexvar_epi16(sdk_halves16(2 * k, 2 * k + 1), s16);
    const __m256 minv = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(sm, 8))),
                                      _mm256_set1_ps(-dmin));
    const __m512 minz = _mm512_zextps256_ps512(minv);
    const __m512 dwv = _mm512_set1_ps(dw);
    for (int c = 0; c < NB; c++) {
        const uint8_t *ac = act + c * astride;
        const int8_t *xq = (const int8_t *)ac + 256 * b;
        const uint8_t *meta = ac + cols + SDK_KMETA * b;
        __m512i s = _mm512_setzero_si512();
        for (int k = 0; k < 4; k++)
            s = _mm512_dpwssd_epi32(s, _mm512_maddubs_epi16(w[k], _mm512_loadu_si512(xq + 64 * k)), sc[k]);
        float dx;
        memcpy(&dx, meta + SDK_KMETA_D, 4);
        acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(dwv, _mm512_set1_ps(dx)), acc[c]);
        acc[c] = _mm512_fmadd_ps(minz, _mm512_zextps256_ps512(_mm256_loadu_ps((const float *)(meta + SDK_KMETA_FSUM))),
                                 acc[c]);
    }
}

SDK_TARGET SDK_INLINE void sdk_q4K_impl(const uint8_t *w, long cols, const uint8_t *act, long astride, const int NB,
                                        float *out, long ostride) {
    __m512 acc[SDK_MAX_NB];
    for (int c = 0; c < NB; c++) acc[c] = _mm512_setzero_ps();
    for (long b = 0; b < cols / 256; b++) {
        const uint8_t *blk = w + 144 * b;
        __m512i q[4];
        sdk_unpack_k4(blk + 16, q);
        sdk_k45_block(blk, q, act, astride, cols, b, NB, acc);
    }
    for (int c = 0; c < NB; c++) out[c * ostride] = _mm512_reduce_add_ps(acc[c]);
}

SDK_TARGET SDK_INLINE void sdk_q5K_impl(const uint8_t *w, long cols, const uint8_t *act, long astride, const int NB,
                                        float *out, long ostride) {
    __m512 acc[SDK_MAX_NB];
    for (int c = 0; c < NB; c++) acc[c] = _mm512_setzero_ps();
    const __m512i sixteen = _mm512_set1_epi8(16);
    for (long b = 0; b < cols / 256; b++) {
        const uint8_t *blk = w + 176 * b;
        __m512i q[4];
        sdk_unpack_k4(blk + 48, q);
        const __m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(blk + 16)));
        for (int k = 0; k < 4; k++) {
            const __m512i bits = _mm512_mask_blend_epi64(0xF0, _mm512_set1_epi8((char)(1 << (2 * k))),
                                                         _mm512_set1_epi8((char)(2 << (2 * k))));
            q[k] = _mm512_mask_add_epi8(q[k], _mm512_test_epi8_mask(qh, bits), q[k], sixteen);
        }
        sdk_k45_block(blk, q, act, astride, cols, b, NB, acc);
    }
    for (int c = 0; c < NB; c++) out[c * ostride] = _mm512_reduce_add_ps(acc[c]);
}

SDK_TARGET SDK_INLINE void sdk_q6K_impl(const uint8_t *w, long cols, const uint8_t *act, long astride, const int NB,
                                        float *out, long ostride) {
    __m512 acc[SDK_MAX_NB];
    for (int c = 0; c < NB; c++) acc[c] = _mm512_setzero_ps();
    const __m512i m4 = _mm512_set1_epi8(0x0F), m30 = _mm512_set1_epi8(0x30);
    const __m512i shl = sdk_halves16(4, 2), shr = sdk_halves16(0, 2);
    __m512i idx[4];
    for (int k = 0; k < 4; k++) {
        // lane i of vector k covers elements 64k+2i, 64k+2i+1: group 4k + i/8
        idx[k] = _mm512_add_epi16(_mm512_set1_epi16((short)(4 * k)),
                                  _mm512_srli_epi16(_mm512_set_epi16(31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20,
                                                                     19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7,
                                                                     6, 5, 4, 3, 2, 1, 0), 3));
    }
    for (long b = 0; b < cols / 256; b++) {
        const uint8_t *blk = w + 210 * b;
        __m512i q[4];
        for (int h = 0; h < 2; h++) {
            const __m512i l = _mm512_loadu_si512(blk + 64 * h);
            const __m512i hb = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(blk + 128 + 32 * h)));
            q[2 * h] = _mm512_or_si512(_mm512_and_si512(l, m4), _mm512_and_si512(_mm512_sllv_epi16(hb, shl), m30));
            q[2 * h + 1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l, 4), m4),
                                           _mm512_and_si512(_mm512_srlv_epi16(hb, shr), m30));
        }
        const __m256i s16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(blk + 192)));
        const __m512i s16z = _mm512_castsi256_si512(s16);
        __m512i sc[4];
        for (int k = 0; k < 4; k++) sc[k] = _mm512_permutexvar_epi16(idx[k], s16z);
        const __m512i corr = _mm512_zextsi256_si512(_mm256_mullo_epi16(s16, _mm256_set1_epi16(-32)));
        const __m512 dwv = _mm512_set1_ps(sdk_h2f(blk + 208));
        for (int c = 0; c < NB; c++) {
            const uint8_t *ac = act + c * astride;
            const int8_t *xq = (const int8_t *)ac + 256 * b;
            const uint8_t *meta = ac + cols + SDK_KMETA * b;
            __m512i s = _mm512_setzero_si512();
            for (int k = 0; k < 4; k++)
                s = _mm512_dpwssd_epi32(s, _mm512_maddubs_epi16(q[k], _mm512_loadu_si512(xq + 64 * k)), sc[k]);
            s = _mm512_dpwssd_epi32(s, _mm512_zextsi256_si512(_mm256_loadu_si256((const __m256i *)(meta + SDK_KMETA_BSUMS))),
                                    corr);
            float dx;
            memcpy(&dx, meta + SDK_KMETA_D, 4);
            acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(dwv, _mm512_set1_ps(dx)), acc[c]);
        }
    }
    for (int c = 0; c < NB; c++) out[c * ostride] = _mm512_reduce_add_ps(acc[c]);
}

SDK_DISPATCH_NB(sdk_rows_q4_K, sdk_q4K_impl)
SDK_DISPATCH_NB(sdk_rows_q5_K, sdk_q5K_impl)
SDK_DISPATCH_NB(sdk_rows_q6_K, sdk_q6K_impl)
