// CPU detection, activation quantizers and the row-range entry point.
#include "SpecDecCKernels.h"
#include "common.h"

int sdk_cpu_supported(void) {
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vbmi") &&
           __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
#else
    return 0;
#endif
}

/// max |x| over 16 floats.
SDK_TARGET SDK_INLINE float sdk_absmax16(__m512 v) {
    return _mm512_reduce_max_ps(_mm512_abs_ps(v));
}

SDK_TARGET void sdk_quantize_act_k(const float *x, long n, void *dst) {
    int8_t *qs = (int8_t *)dst;
    uint8_t *meta = (uint8_t *)dst + n;
    for (long b = 0; b < n / 256; b++) {
        const float *xb = x + 256 * b;
        uint8_t *m = meta + SDK_KMETA * b;
        __m512 amaxv = _mm512_setzero_ps();
        for (int g = 0; g < 16; g++) amaxv = _mm512_max_ps(amaxv, _mm512_abs_ps(_mm512_loadu_ps(xb + 16 * g)));
        float amax = _mm512_reduce_max_ps(amaxv);
        float d = amax / 127.0f;
        float id = amax > 0 ? 127.0f / amax : 0.0f;
        __m512 idv = _mm512_set1_ps(id);
        int16_t bsums[16];
        for (int g = 0; g < 16; g++) {
            __m512i q = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(xb + 16 * g), idv));
            _mm_storeu_si128((__m128i *)(qs + 256 * b + 16 * g), _mm512_cvtepi32_epi8(q));
            bsums[g] = (int16_t)_mm512_reduce_add_epi32(q);
        }
        float fs[8];
        for (int j = 0; j < 8; j++) fs[j] = d * (float)(bsums[2 * j] + bsums[2 * j + 1]);
        memset(m, 0, SDK_KMETA);
        memcpy(m + SDK_KMETA_FSUM, fs, 32);
        memcpy(m + SDK_KMETA_BSUMS, bsums, 32);
        memcpy(m + SDK_KMETA_D, &d, 4);
    }
}

SDK_TARGET void sdk_quantize_act_legacy(const float *x, long n, void *dst, int biasMul) {
    int8_t *qs = (int8_t *)dst;
    float *dl = (float *)((uint8_t *)dst + n);
    uint8_t *aux = (uint8_t *)dst + 2 * n;
    for (long b = 0; b < n / 32; b++) {
        __m512 x0 = _mm512_loadu_ps(x + 32 * b), x1 = _mm512_loadu_ps(x + 32 * b + 16);
        float amax = sdk_absmax16(_mm512_max_ps(_mm512_abs_ps(x0), _mm512_abs_ps(x1)));
        float d = amax / 127.0f;
        float id = amax > 0 ? 127.0f / amax : 0.0f;
        __m512 idv = _mm512_set1_ps(id);
        __m512i q0 = _mm512_cvtps_epi32(_mm512_mul_ps(x0, idv));
        __m512i q1 = _mm512_cvtps_epi32(_mm512_mul_ps(x1, idv));
        _mm_storeu_si128((__m128i *)(qs + 32 * b), _mm512_cvtepi32_epi8(q0));
        _mm_storeu_si128((__m128i *)(qs + 32 * b + 16), _mm512_cvtepi32_epi8(q1));
        int sum = _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
        _mm256_storeu_ps(dl + 8 * b, _mm256_set1_ps(d));
        if (biasMul > 0) {
            _mm256_storeu_si256((__m256i *)(aux + 32 * b), _mm256_set1_epi32(-biasMul * sum));
        } else {
            _mm256_storeu_ps((float *)(aux + 32 * b), _mm256_set1_ps(d * (float)sum / 8.0f));
        }
    }
}

void sdk_matmul_rows(int type, const void *w, long rowBytes, long r0, long r1, long cols,
                     const void *act, long actStride, long batch, float *out, long outStride) {
    sdk_row_fn fn;
    switch (type) {
    case 0: fn = sdk_rows_f32; break;
    case 1: fn = sdk_rows_f16; break;
    case 30: fn = sdk_rows_bf16; break;
    case 2: fn = sdk_rows_q4_0; break;
    case 3: fn = sdk_rows_q4_1; break;
    case 6: fn = sdk_rows_q5_0; break;
    case 7: fn = sdk_rows_q5_1; break;
    case 8: fn = sdk_rows_q8_0; break;
    case 12: fn = sdk_rows_q4_K; break;
    case 13: fn = sdk_rows_q5_K; break;
    case 14: fn = sdk_rows_q6_K; break;
    default: return;
    }
    const uint8_t *wb = (const uint8_t *)w;
    const uint8_t *ab = (const uint8_t *)act;
    for (long r = r0; r < r1; r++) {
        for (long c = 0; c < batch; c += SDK_MAX_NB) {
            long nb = batch - c < SDK_MAX_NB ? batch - c : SDK_MAX_NB;
            fn(wb + r * rowBytes, cols, ab + c * actStride, actStride, (int)nb,
               out + c * outStride + r, outStride);
        }
    }
}
