// Shared definitions of the AVX-512 kernels (internal).
#ifndef SPECDEC_CKERNELS_COMMON_H
#define SPECDEC_CKERNELS_COMMON_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#define SDK_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx512vbmi,fma,f16c")))
#define SDK_INLINE static inline __attribute__((always_inline))

/// Most activation columns one pass over a weight row serves (accumulators live in registers).
#define SDK_MAX_NB 8

/// Bytes of metadata per 256-element block in the K activation layout.
#define SDK_KMETA 128
#define SDK_KMETA_FSUM 0
#define SDK_KMETA_BSUMS 32
#define SDK_KMETA_D 64

SDK_TARGET SDK_INLINE float sdk_h2f(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

typedef void (*sdk_row_fn)(const uint8_t *w, long cols, const uint8_t *act, long astride, int nb,
                           float *out, long ostride);

void sdk_rows_q4_K(const uint8_t *w, long cols, const uint8_t *act, long astride, int nb, float *out, long ostride);
void sdk_rows_q5_K(const uint8_t *w, long cols, const uint8_t *act, long astride, int nb, float *out, long ostride);
void sdk_rows_q6_K(const uint8_t *w, long cols, const uint8_t *act, long astride, int nb, float *out, long ostride);
void sdk_rows_q4_0(const uint8_t *w, long cols, const uint8_t *act, long astride, int nb, float *out, long ostride);
void sdk_rows_q4_1(const uint8_t *w, long cols, const uint8_t *act, long astride, int nb, float *out, long ostride);
void sdk_rows_q5_0(const uint8_t *w, long cols, const uint8_t *act, long astride, int nb, float *out, long ostride);
void sdk_rows_q5_1(const uint8_t *w, long cols, const uint8_t *act, long astride, int nb, float *out, long ostride);
void sdk_rows_q8_0(const uint8_t *w, long cols, const uint8_t *act, long astride, int nb, float *out, long ostride);
void sdk_rows_f32(const uint8_t *w, long cols, const uint8_t *act, long astride, int nb, float *out, long ostride);
void sdk_rows_f16(const uint8_t *w, long cols, const uint8_t *act, long astride, int nb, float *out, long ostride);
void sdk_rows_bf16(const uint8_t *w, long cols, const uint8_t *act, long astride, int nb, float *out, long ostride);

/// Expands to a function `name` that calls `impl(w, cols, act, astride, NB, out, ostride)`
/// with NB a compile-time constant 1...SDK_MAX_NB, so the per-column loops unroll into registers.
#define SDK_DISPATCH_NB(name, impl)                                                                  \
    SDK_TARGET void name(const uint8_t *w, long cols, const uint8_t *act, long astride, int nb,      \
                         float *out, long ostride) {                                                 \
        switch (nb) {                                                                                \
        case 1: impl(w, cols, act, astride, 1, out, ostride); break;                                 \
        case 2: impl(w, cols, act, astride, 2, out, ostride); break;                                 \
        case 3: impl(w, cols, act, astride, 3, out, ostride); break;                                 \
        case 4: impl(w, cols, act, astride, 4, out, ostride); break;                                 \
        case 5: impl(w, cols, act, astride, 5, out, ostride); break;                                 \
        case 6: impl(w, cols, act, astride, 6, out, ostride); break;                                 \
        case 7: impl(w, cols, act, astride, 7, out, ostride); break;                                 \
        default: impl(w, cols, act, astride, 8, out, ostride); break;                                \
        }                                                                                            \
    }

#endif
