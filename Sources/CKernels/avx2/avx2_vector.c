// AVX2 float helpers: dot, axpy, the feed-forward gates and grouped-query attention (the algorithms of
// the AVX-512 set, 8 lanes wide; tails through vpmaskmov).
#include "SpecDecCKernels.h"
#include "avx2_common.h"

#if SDK2_X86

SDK2_TARGET float sdk_avx2_dot_f32(const float *a, const float *b, long n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    long i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
        s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
        s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
    }
    for (; i < n; i += 8) {
        const __m256i m = sdk2_lane_mask(n - i);
        s0 = _mm256_fmadd_ps(_mm256_maskload_ps(a + i, m), _mm256_maskload_ps(b + i, m), s0);
    }
    return sdk2_hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
}

SDK2_TARGET void sdk_avx2_axpy_f32(float alpha, const float *x, float *y, long n) {
    const __m256 va = _mm256_set1_ps(alpha);
    long i = 0;
    for (; i + 16 <= n; i += 16) {
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
        _mm256_storeu_ps(y + i + 8, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8)));
    }
    for (; i < n; i += 8) {
        const __m256i m = sdk2_lane_mask(n - i);
        _mm256_maskstore_ps(y + i, m, _mm256_fmadd_ps(va, _mm256_maskload_ps(x + i, m), _mm256_maskload_ps(y + i, m)));
    }
}

/// gate = act(gate) * up, the formulas of VectorMath.swift.
SDK2_TARGET SDK2_INLINE void sdk2_gate_impl(float *gate, const float *up, long n, const int gelu) {
    const __m256 one = _mm256_set1_ps(1.0f);
    for (long i = 0; i < n; i += 8) {
        const __m256i m = sdk2_lane_mask(n - i);
        const __m256 g = _mm256_maskload_ps(gate + i, m), u = _mm256_maskload_ps(up + i, m);
        __m256 z;  // the exponent: -g (silu) or -2u (gelu)
        if (gelu) {
            const __m256 g3 = _mm256_mul_ps(_mm256_mul_ps(g, g), g);
            const __m256 inner = _mm256_mul_ps(_mm256_set1_ps(0.79788456f), _mm256_fmadd_ps(g3, _mm256_set1_ps(0.044715f), g));
            z = _mm256_mul_ps(inner, _mm256_set1_ps(-2.0f));
        } else {
            z = _mm256_sub_ps(_mm256_setzero_ps(), g);
        }
        _mm256_maskstore_ps(gate + i, m, _mm256_mul_ps(_mm256_div_ps(g, _mm256_add_ps(one, sdk2_exp8(z))), u));
    }
}

SDK2_TARGET void sdk_avx2_silu_gate_f32(float *gate, const float *up, long n) { sdk2_gate_impl(gate, up, n, 0); }
SDK2_TARGET void sdk_avx2_gelu_gate_f32(float *gate, const float *up, long n) { sdk2_gate_impl(gate, up, n, 1); }

/// scores[j * sstride + r] = scale * (query j . key row r) for NQ queries and NR consecutive key rows;
/// each score is reduced alone (sdk2_hsum), so it does not depend on NQ or NR.
SDK2_TARGET SDK2_INLINE void sdk2_score_tile(const float *q, long qstride, const int NQ, const float *k, long kstride,
                                             const int NR, long len, float scale, float *scores, long sstride) {
    __m256 acc[8];
    for (int a = 0; a < NQ * NR; a++) acc[a] = _mm256_setzero_ps();
    for (long i = 0; i < len; i += 8) {
        const __m256i m = sdk2_lane_mask(len - i);
        __m256 kv[2];
        for (int r = 0; r < NR; r++) kv[r] = len - i >= 8 ? _mm256_loadu_ps(k + r * kstride + i) : _mm256_maskload_ps(k + r * kstride + i, m);
        for (int j = 0; j < NQ; j++) {
            const __m256 qv = len - i >= 8 ? _mm256_loadu_ps(q + j * qstride + i) : _mm256_maskload_ps(q + j * qstride + i, m);
            for (int r = 0; r < NR; r++) acc[j * NR + r] = _mm256_fmadd_ps(qv, kv[r], acc[j * NR + r]);
        }
    }
    for (int j = 0; j < NQ; j++)
        for (int r = 0; r < NR; r++) scores[j * sstride + r] = sdk2_hsum(acc[j * NR + r]) * scale;
}

/// In place: p = e^(s - max s) over n scores; returns 1 / sum p.
SDK2_TARGET SDK2_INLINE float sdk2_softmax_unnormalized(float *s, long n) {
    float mx = -__builtin_inff();
    {
        __m256 mv = _mm256_set1_ps(-__builtin_inff());
        long t = 0;
        for (; t + 8 <= n; t += 8) mv = _mm256_max_ps(mv, _mm256_loadu_ps(s + t));
        __m128 r = _mm_max_ps(_mm256_castps256_ps128(mv), _mm256_extractf128_ps(mv, 1));
        r = _mm_max_ps(r, _mm_movehl_ps(r, r));
        r = _mm_max_ss(r, _mm_movehdup_ps(r));
        mx = _mm_cvtss_f32(r);
        for (; t < n; t++) mx = s[t] > mx ? s[t] : mx;
    }
    const __m256 mv = _mm256_set1_ps(mx);
    __m256 sum = _mm256_setzero_ps();
    for (long t = 0; t < n; t += 8) {
        const __m256i m = sdk2_lane_mask(n - t);
        const __m256 e = _mm256_and_ps(sdk2_exp8(_mm256_sub_ps(_mm256_maskload_ps(s + t, m), mv)), _mm256_castsi256_ps(m));
        _mm256_maskstore_ps(s + t, m, e);
        sum = _mm256_add_ps(sum, e);
    }
    return 1.0f / sdk2_hsum(sum);
}

/// out[j * ostride + c] = inv[j] * sum_t p[j * pstride + t] * V[t][c] for NQ queries, dims c in [c0, c0 + 16).
SDK2_TARGET SDK2_INLINE void sdk2_weighted_tile(const float *p, long pstride, const int NQ, const float *inv, const long *rows,
                                                const float *v, long vstride, long n, long len, long c0, float *out,
                                                long ostride) {
    __m256 acc[4][2];
    __m256i km[2];
    const int full = len - c0 >= 16;
    for (int d = 0; d < 2; d++) {
        km[d] = sdk2_lane_mask(len - c0 - 8 * d);
        for (int j = 0; j < NQ; j++) acc[j][d] = _mm256_setzero_ps();
    }
    for (long t = 0; t < n; t++) {
        const float *row = v + (rows ? rows[t] : t) * vstride + c0;
        __m256 x[2];
        for (int d = 0; d < 2; d++) x[d] = full ? _mm256_loadu_ps(row + 8 * d) : _mm256_maskload_ps(row + 8 * d, km[d]);
        for (int j = 0; j < NQ; j++) {
            const __m256 wv = _mm256_broadcast_ss(p + j * pstride + t);
            for (int d = 0; d < 2; d++) acc[j][d] = _mm256_fmadd_ps(wv, x[d], acc[j][d]);
        }
    }
    for (int j = 0; j < NQ; j++) {
        const __m256 s = _mm256_set1_ps(inv[j]);
        for (int d = 0; d < 2; d++) _mm256_maskstore_ps(out + j * ostride + c0 + 8 * d, km[d], _mm256_mul_ps(acc[j][d], s));
    }
}

/// Rows ahead that the score loop prefetches.
#define SDK2_ATT_PF 6

SDK2_TARGET SDK2_INLINE void sdk2_attend_block(const float *q, long qstride, const int NQ, const float *k, const float *v, const long *rows,
                                               long kvstride, long n, long len, float scale, float *scores, float *out,
                                               long ostride) {
    long t = 0;
    for (; t + 2 <= n; t += 2) {
        for (long r = t + SDK2_ATT_PF; r < t + SDK2_ATT_PF + 2 && r < n; r++)
            for (long o = 0; o < len; o += 16) _mm_prefetch((const char *)(k + (rows ? rows[r] : r) * kvstride + o), _MM_HINT_T0);
        for (long r = t; r < t + 2; r++)
            for (long o = 0; o < len; o += 16) _mm_prefetch((const char *)(v + (rows ? rows[r] : r) * kvstride + o), _MM_HINT_T1);
        sdk2_score_tile(q, qstride, NQ, k + (rows ? rows[t] : t) * kvstride, rows ? (rows[t + 1] - rows[t]) * kvstride : kvstride, 2,
                       len, scale, scores + t, n);
    }
    if (t < n) sdk2_score_tile(q, qstride, NQ, k + (rows ? rows[t] : t) * kvstride, kvstride, 1, len, scale, scores + t, n);
    float inv[4];
    for (int j = 0; j < NQ; j++) inv[j] = sdk2_softmax_unnormalized(scores + j * n, n);
    for (long c0 = 0; c0 < len; c0 += 16) sdk2_weighted_tile(scores, n, NQ, inv, rows, v, kvstride, n, len, c0, out, ostride);
}

SDK2_TARGET SDK2_INLINE void sdk_avx2_attend_f32_impl(const float *q, long qstride, long m, const float *k, const float *v, const long *rows,
                              long kvstride, long n, long len, float scale, float *scores, float *out, long ostride) {
    for (long j = 0; j < m; j += 4) {
        const float *qj = q + j * qstride;
        float *sj = scores + j * n, *oj = out + j * ostride;
        switch (m - j) {
        case 1: sdk2_attend_block(qj, qstride, 1, k, v, rows, kvstride, n, len, scale, sj, oj, ostride); break;
        case 2: sdk2_attend_block(qj, qstride, 2, k, v, rows, kvstride, n, len, scale, sj, oj, ostride); break;
        case 3: sdk2_attend_block(qj, qstride, 3, k, v, rows, kvstride, n, len, scale, sj, oj, ostride); break;
        default: sdk2_attend_block(qj, qstride, 4, k, v, rows, kvstride, n, len, scale, sj, oj, ostride); break;
        }
    }
}

/// sdk_avx2_attend_f32 over the key/value rows k + rows[t] * kvstride (t < n): a token tree's row attends to the
/// cached context and its own ancestors. Each score and output is computed as by sdk_avx2_attend_f32 over a
/// contiguous copy of those rows.
SDK2_TARGET void sdk_avx2_attend_f32_rows(const float *q, long qstride, long m, const float *k, const float *v, const long *rows,
                              long kvstride, long n, long len, float scale, float *scores, float *out, long ostride) {
    sdk_avx2_attend_f32_impl(q, qstride, m, k, v, rows, kvstride, n, len, scale, scores, out, ostride);
}

SDK2_TARGET void sdk_avx2_attend_f32(const float *q, long qstride, long m, const float *k, const float *v, long kvstride,
                               long n, long len, float scale, float *scores, float *out, long ostride) {
    sdk_avx2_attend_f32_impl(q, qstride, m, k, v, (const long *)0, kvstride, n, len, scale, scores, out, ostride);
}

#endif  // SDK2_X86
