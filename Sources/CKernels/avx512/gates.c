// The gated activations of the feed-forward block (AVX-512): gate = act(gate) * up.
// Same formulas as VectorMath.swift (the Swift reference): silu(g) = g / (1 + e^-g) and
// gelu_tanh(g) = g / (1 + e^(-2u)) with u = sqrt(2/pi) (g + 0.044715 g^3); both saturate without overflow.
#include "SpecDecCKernels.h"
#include "common.h"

#if SDK_X86

SDK_TARGET SDK_INLINE void sdk_gate_impl(float *gate, const float *up, long n, const int gelu) {
    const __m512 one = _mm512_set1_ps(1.0f);
    for (long i = 0; i < n; i += 16) {
        const __mmask16 m = sdk_mask16(n - i);
        const __m512 g = _mm512_maskz_loadu_ps(m, gate + i), u = _mm512_maskz_loadu_ps(m, up + i);
        __m512 z;  // the exponent: -g (silu) or -2u (gelu)
        if (gelu) {
            const __m512 g3 = _mm512_mul_ps(_mm512_mul_ps(g, g), g);
            const __m512 inner = _mm512_mul_ps(_mm512_set1_ps(0.79788456f), _mm512_fmadd_ps(g3, _mm512_set1_ps(0.044715f), g));
            z = _mm512_mul_ps(inner, _mm512_set1_ps(-2.0f));
        } else {
            z = _mm512_sub_ps(_mm512_setzero_ps(), g);
        }
        const __m512 r = _mm512_mul_ps(_mm512_div_ps(g, _mm512_add_ps(one, sdk_exp16(z))), u);
        _mm512_mask_storeu_ps(gate + i, m, r);
    }
}

SDK_TARGET void sdk_silu_gate_f32(float *gate, const float *up, long n) { sdk_gate_impl(gate, up, n, 0); }
SDK_TARGET void sdk_gelu_gate_f32(float *gate, const float *up, long n) { sdk_gate_impl(gate, up, n, 1); }

#else

void sdk_silu_gate_f32(float *gate, const float *up, long n) {
    (void)gate; (void)up; (void)n;
    __builtin_trap();  // callers check sdk_cpu_supported() first
}
void sdk_gelu_gate_f32(float *gate, const float *up, long n) {
    (void)gate; (void)up; (void)n;
    __builtin_trap();
}

#endif  // SDK_X86
