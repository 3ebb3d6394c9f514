// F32 / F16 / BF16 weights times float activations (columns astride bytes apart).
#include "common.h"

#if SDK_X86

// kind: 0 = F32, 1 = F16, 2 = BF16
SDK_TARGET SDK_INLINE __m512 sdk_load_w(const uint8_t *w, long i, __mmask16 k, const int kind) {
    if (kind == 0) return _mm512_maskz_loadu_ps(k, (const float *)w + i);
    const __m256i h = _mm256_maskz_loadu_epi16(k, (const uint16_t *)w + i);
    if (kind == 1) return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

SDK_TARGET SDK_INLINE void sdk_float_impl(SDK_IMPL_ARGS, const int kind) {
    (void)cols;
    // One accumulator per column (no split accumulators), so that a column's sum is formed in the same
    // order whatever the chunking, and so whatever the batch size.
    SDK_ACC_BEGIN(acc, NB)
    if (pf)
        for (long o = 0; o < pfStep * (u1 - u0); o += 64) __builtin_prefetch(pf + o, 0, 2);
    long i = u0;
    for (; i + 16 <= u1; i += 16) {
        const __m512 w0 = sdk_load_w(w, i, 0xFFFF, kind);
        for (int c = 0; c < NB; c++)
            acc[c] = _mm512_fmadd_ps(w0, _mm512_loadu_ps((const float *)(act + c * astride) + i), acc[c]);
    }
    if (i < u1) {
        const __mmask16 k = (__mmask16)((1u << (u1 - i)) - 1);
        const __m512 w0 = sdk_load_w(w, i, k, kind);
        for (int c = 0; c < NB; c++)
            acc[c] = _mm512_fmadd_ps(w0, _mm512_maskz_loadu_ps(k, (const float *)(act + c * astride) + i), acc[c]);
    }
    SDK_ACC_END(acc, NB)
}

#define SDK_FLOAT(name, kind)                                                                                \
    SDK_TARGET SDK_INLINE void name##_impl(SDK_IMPL_ARGS) {                                                  \
        sdk_float_impl(w, cols, act, astride, NB, out, ostride, u0, u1, state, first, last, pf, pfStep, kind); \
    }                                                                                                        \
    SDK_DISPATCH_NB(name, name##_impl)

SDK_FLOAT(sdk_rows_f32, 0)
SDK_FLOAT(sdk_rows_f16, 1)
SDK_FLOAT(sdk_rows_bf16, 2)

#endif  // SDK_X86
