// Attention of several query heads that share one key/value head (grouped-query attention) over the
// cached positions: each key and value row is loaded once for up to four heads, the dot products of a
// tile are reduced together (common.h's transposing tree), and the softmax is vectorized.
//
// Every (head, position) score and every output value is computed by the same operations in the same
// order whatever the number of heads passed together, so a head's result does not depend on how the
// caller groups heads (nor, therefore, on the batch size).
#include "SpecDecCKernels.h"
#include "common.h"

#if SDK_X86

/// scores[j * sstride + r] = scale * (query j . key row r) for NQ queries and NR consecutive key rows.
SDK_TARGET SDK_INLINE void sdk_score_tile(const float *q, long qstride, const int NQ, const float *k, long kstride,
                                          const int NR, long len, float scale, float *scores, long sstride) {
    __m512 acc[8];
    for (int a = 0; a < NQ * NR; a++) acc[a] = _mm512_setzero_ps();
    long i = 0;
    for (; i < len; i += 16) {
        const __mmask16 m = sdk_mask16(len - i);
        __m512 kv[2];
        for (int r = 0; r < NR; r++) kv[r] = _mm512_maskz_loadu_ps(m, k + r * kstride + i);
        for (int j = 0; j < NQ; j++) {
            const __m512 qv = _mm512_maskz_loadu_ps(m, q + j * qstride + i);
            for (int r = 0; r < NR; r++) acc[j * NR + r] = _mm512_fmadd_ps(qv, kv[r], acc[j * NR + r]);
        }
    }
    if (NQ * NR == 1) {
        scores[0] = _mm512_reduce_add_ps(acc[0]) * scale;
        return;
    }
    float s[16] __attribute__((aligned(64)));
    _mm512_store_ps(s, sdk_hsum8(acc, NQ * NR));
    for (int j = 0; j < NQ; j++)
        for (int r = 0; r < NR; r++) scores[j * sstride + r] = s[SDK_HSUM_LANE(j * NR + r)] * scale;
}

/// In place: p = e^(s - max s) over n scores; returns 1 / sum p.
SDK_TARGET SDK_INLINE float sdk_softmax_unnormalized(float *s, long n) {
    __m512 mx = _mm512_set1_ps(-__builtin_inff());
    for (long t = 0; t < n; t += 16) {
        const __mmask16 m = sdk_mask16(n - t);
        mx = _mm512_mask_max_ps(mx, m, mx, _mm512_maskz_loadu_ps(m, s + t));
    }
    const __m512 mv = _mm512_set1_ps(_mm512_reduce_max_ps(mx));
    __m512 sum = _mm512_setzero_ps();
    for (long t = 0; t < n; t += 16) {
        const __mmask16 m = sdk_mask16(n - t);
        const __m512 e = sdk_exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, s + t), mv));
        _mm512_mask_storeu_ps(s + t, m, e);
        sum = _mm512_mask_add_ps(sum, m, sum, e);
    }
    return 1.0f / _mm512_reduce_add_ps(sum);
}

/// out[j * ostride + c] = inv[j] * sum_t p[j * pstride + t] * V[t][c] for NQ queries, dims c in [c0, c0 + 64).
SDK_TARGET SDK_INLINE void sdk_weighted_tile(const float *p, long pstride, const int NQ, const float *inv, const long *rows,
                                             const float *v, long vstride, long n, long len, long c0, float *out,
                                             long ostride) {
    __m512 acc[4][4];
    __mmask16 km[4];
    for (int d = 0; d < 4; d++) {
        km[d] = sdk_mask16(len - c0 - 16 * d);
        for (int j = 0; j < NQ; j++) acc[j][d] = _mm512_setzero_ps();
    }
    for (long t = 0; t < n; t++) {
        const float *row = v + (rows ? rows[t] : t) * vstride + c0;
        __m512 x[4];
        for (int d = 0; d < 4; d++) x[d] = _mm512_maskz_loadu_ps(km[d], row + 16 * d);
        for (int j = 0; j < NQ; j++) {
            const __m512 w = _mm512_set1_ps(p[j * pstride + t]);
            for (int d = 0; d < 4; d++) acc[j][d] = _mm512_fmadd_ps(w, x[d], acc[j][d]);
        }
    }
    for (int j = 0; j < NQ; j++) {
        const __m512 s = _mm512_set1_ps(inv[j]);
        for (int d = 0; d < 4; d++) _mm512_mask_storeu_ps(out + j * ostride + c0 + 16 * d, km[d], _mm512_mul_ps(acc[j][d], s));
    }
}

/// Rows ahead that the score loop prefetches.
#define SDK_ATT_PF 6

SDK_TARGET SDK_INLINE void sdk_attend_block(const float *q, long qstride, const int NQ, const float *k, const float *v, const long *rows,
                                            long kvstride, long n, long len, float scale, float *scores, float *out,
                                            long ostride) {
    // The cache rows usually come from DRAM (each forward streams the weights through the caches):
    // keys are prefetched a few rows ahead into L1, values into L2 for the second pass.
    long t = 0;
    for (; t + 2 <= n; t += 2) {
        for (long r = t + SDK_ATT_PF; r < t + SDK_ATT_PF + 2 && r < n; r++)
            for (long o = 0; o < len; o += 16) _mm_prefetch((const char *)(k + (rows ? rows[r] : r) * kvstride + o), _MM_HINT_T0);
        for (long r = t; r < t + 2; r++)
            for (long o = 0; o < len; o += 16) _mm_prefetch((const char *)(v + (rows ? rows[r] : r) * kvstride + o), _MM_HINT_T1);
        sdk_score_tile(q, qstride, NQ, k + (rows ? rows[t] : t) * kvstride, rows ? (rows[t + 1] - rows[t]) * kvstride : kvstride, 2,
                       len, scale, scores + t, n);
    }
    if (t < n) sdk_score_tile(q, qstride, NQ, k + (rows ? rows[t] : t) * kvstride, kvstride, 1, len, scale, scores + t, n);
    float inv[4];
    for (int j = 0; j < NQ; j++) inv[j] = sdk_softmax_unnormalized(scores + j * n, n);
    for (long c0 = 0; c0 < len; c0 += 64) sdk_weighted_tile(scores, n, NQ, inv, rows, v, kvstride, n, len, c0, out, ostride);
}

SDK_TARGET SDK_INLINE void sdk_attend_f32_impl(const float *q, long qstride, long m, const float *k, const float *v, const long *rows,
                              long kvstride, long n, long len, float scale, float *scores, float *out, long ostride) {
    for (long j = 0; j < m; j += 4) {
        const float *qj = q + j * qstride;
        float *sj = scores + j * n, *oj = out + j * ostride;
        switch (m - j) {
        case 1: sdk_attend_block(qj, qstride, 1, k, v, rows, kvstride, n, len, scale, sj, oj, ostride); break;
        case 2: sdk_attend_block(qj, qstride, 2, k, v, rows, kvstride, n, len, scale, sj, oj, ostride); break;
        case 3: sdk_attend_block(qj, qstride, 3, k, v, rows, kvstride, n, len, scale, sj, oj, ostride); break;
        default: sdk_attend_block(qj, qstride, 4, k, v, rows, kvstride, n, len, scale, sj, oj, ostride); break;
        }
    }
}

/// sdk_attend_f32 over the key/value rows k + rows[t] * kvstride (t < n): a token tree's row attends to the
/// cached context and its own ancestors. Each score and output is computed as by sdk_attend_f32 over a
/// contiguous copy of those rows.
SDK_TARGET void sdk_attend_f32_rows(const float *q, long qstride, long m, const float *k, const float *v, const long *rows,
                              long kvstride, long n, long len, float scale, float *scores, float *out, long ostride) {
    sdk_attend_f32_impl(q, qstride, m, k, v, rows, kvstride, n, len, scale, scores, out, ostride);
}

SDK_TARGET void sdk_attend_f32(const float *q, long qstride, long m, const float *k, const float *v, long kvstride,
                               long n, long len, float scale, float *scores, float *out, long ostride) {
    sdk_attend_f32_impl(q, qstride, m, k, v, (const long *)0, kvstride, n, len, scale, scores, out, ostride);
}

#else

void sdk_attend_f32(const float *q, long qstride, long m, const float *k, const float *v, long kvstride, long n,
                    long len, float scale, float *scores, float *out, long ostride) {
    (void)q; (void)qstride; (void)m; (void)k; (void)v; (void)kvstride; (void)n; (void)len; (void)scale;
    (void)scores; (void)out; (void)ostride;
    __builtin_trap();  // callers check sdk_cpu_supported() first
}

void sdk_attend_f32_rows(const float *q, long qstride, long m, const float *k, const float *v, const long *rows,
                         long kvstride, long n, long len, float scale, float *scores, float *out, long ostride) {
    (void)q; (void)qstride; (void)m; (void)k; (void)v; (void)rows; (void)kvstride; (void)n; (void)len; (void)scale;
    (void)scores; (void)out; (void)ostride;
    __builtin_trap();  // callers check sdk_cpu_supported() first
}

#endif  // SDK_X86
