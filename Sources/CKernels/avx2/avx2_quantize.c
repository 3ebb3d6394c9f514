// AVX2 activation quantizers: q = round-half-even(x * 127 / amax) (the AVX-512 set's rounding), stored in
// the byte order of the AVX2 weight vectors (sdk2_perm), with the metadata of avx2_common.h.
#include "avx2_common.h"

#if SDK2_X86

/// max |x| over n floats (n a multiple of 8).
SDK2_TARGET SDK2_INLINE float sdk2_absmax(const float *x, long n) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 m = _mm256_setzero_ps();
    for (long i = 0; i < n; i += 8) m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + i)));
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/// Quantizes 16 floats to int8 at q (natural order); returns their sum.
SDK2_TARGET SDK2_INLINE int sdk2_q16(const float *x, __m256 idv, int8_t *q) {
    const __m256i a = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x), idv));
    const __m256i b = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 8), idv));
    // |q| <= 127: the saturating packs never saturate
    const __m256i w = _mm256_permute4x64_epi64(_mm256_packs_epi32(a, b), 0xD8);  // 16 int16 in order
    const __m128i bytes = _mm_packs_epi16(_mm256_castsi256_si128(w), _mm256_extracti128_si256(w, 1));
    _mm_storeu_si128((__m128i *)q, bytes);
    __m256i s = _mm256_add_epi32(a, b);
    __m128i t = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    t = _mm_add_epi32(t, _mm_shuffle_epi32(t, _MM_SHUFFLE(1, 0, 3, 2)));
    t = _mm_add_epi32(t, _mm_shuffle_epi32(t, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(t);
}

SDK2_TARGET void sdk_avx2_quantize_act_k(const float *x, long nblocks, int8_t *qs, uint8_t *meta, int type) {
    sdk2_init_tables();
    const uint8_t *perm = sdk2_perm[type == 14];
    for (long b = 0; b < nblocks; b++) {
        const float *xb = x + 256 * b;
        const float amax = sdk2_absmax(xb, 256);
        const float d = amax / 127.0f;
        const __m256 idv = _mm256_set1_ps(amax > 0 ? 127.0f / amax : 0.0f);
        int8_t tmp[256];
        int sums[16];
        for (int g = 0; g < 16; g++) sums[g] = sdk2_q16(xb + 16 * g, idv, tmp + 16 * g);
        int8_t *o = qs + 256 * b;
        for (int i = 0; i < 256; i++) o[i] = tmp[perm[i]];
        uint8_t *m = meta + SDK2_META * b;
        memset(m, 0, SDK2_META);
        float fs[8];
        for (int j = 0; j < 8; j++) fs[j] = d * (float)(sums[2 * j] + sums[2 * j + 1]);
        memcpy(m + SDK2_KMETA_FSUM, fs, 32);
        memcpy(m + SDK2_KMETA_D, &d, 4);
        if (type == 14) {
            int16_t xs[16];
            for (int g = 0; g < 16; g++) xs[g] = (int16_t)sums[g];
            memcpy(m + SDK2_KMETA_XSUM, xs, 32);
        }
    }
}

SDK2_TARGET void sdk_avx2_quantize_act_legacy(const float *x, long n, int8_t *qs, uint8_t *meta, int type) {
    sdk2_init_tables();
    const uint8_t *perm = sdk2_perm[0];
    const int offset = type == 2 ? 8 : type == 6 ? 16 : 0;
    const int withMin = type == 3 || type == 7;
    const long nblocks = n / 32;
    for (long sb = 0; sb < (nblocks + 7) / 8; sb++) {
        int8_t tmp[256];
        float dx[8];
        int sums[8];
        for (int j = 0; j < 8; j++) {
            const long b = 8 * sb + j;
            if (b >= nblocks) {
                memset(tmp + 32 * j, 0, 32);
                dx[j] = 0;
                sums[j] = 0;
                continue;
            }
            const float *xb = x + 32 * b;
            const float amax = sdk2_absmax(xb, 32);
            dx[j] = amax / 127.0f;
            const __m256 idv = _mm256_set1_ps(amax > 0 ? 127.0f / amax : 0.0f);
            sums[j] = sdk2_q16(xb, idv, tmp + 32 * j) + sdk2_q16(xb + 16, idv, tmp + 32 * j + 16);
        }
        int8_t *o = qs + 256 * sb;
        for (int i = 0; i < 256; i++) o[i] = tmp[perm[i]];
        uint8_t *m = meta + SDK2_META * sb;
        memset(m, 0, SDK2_META);
        memcpy(m + SDK2_LMETA_DX, dx, 32);
        if (offset) {
            int32_t bias[8];
            for (int j = 0; j < 8; j++) bias[j] = -offset * sums[j];
            memcpy(m + SDK2_LMETA_AUX, bias, 32);
        } else if (withMin) {
            float ls[8];
            for (int j = 0; j < 8; j++) ls[j] = dx[j] * (float)sums[j];
            memcpy(m + SDK2_LMETA_AUX, ls, 32);
        }
    }
}

#endif  // SDK2_X86
