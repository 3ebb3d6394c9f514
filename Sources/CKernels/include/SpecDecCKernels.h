#ifndef SPECDEC_CKERNELS_H
#define SPECDEC_CKERNELS_H

// AVX-512 VNNI kernels for SpecDecKernels. Only instructions Swift cannot express
// (vpdpbusd, vpdpwssd, vpermb, masked byte ops) live here; every routine has a Swift
// reference in SpecDecKernels that the tests compare against.
// Call nothing but sdk_cpu_supported() unless it returned 1.

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// 1 when the CPU and OS support AVX-512 F/BW/VL/DQ + VNNI + VBMI + F16C (and the kernels were compiled), else 0.
int sdk_cpu_supported(void);

/// Quantizes `n` floats (multiple of 256) into the Q8_K-style activation layout:
/// int8 qs[n], then per 256-block 128 bytes of metadata (float fsum8[8], int16 bsums16[16], float d).
void sdk_quantize_act_k(const float *x, long n, void *dst);

/// Quantizes `n` floats (multiple of 32) into the Q8_0-style activation layout:
/// int8 qs[n], float dlane[n/4] (block scale per int32 lane), then aux[n/4]:
/// when biasMul > 0, int32 -biasMul*sum(q) per lane; when biasMul == 0, float d*sum(q)/8 per lane.
void sdk_quantize_act_legacy(const float *x, long n, void *dst, int biasMul);

/// Computes out[c*outStride + r] = dot(row r of W, activation column c) for r in r0..<r1, c in 0..<batch.
/// `type` is the ggml type number; `act` is the activation buffer (quantized layout above, or raw
/// floats for F32/F16/BF16) with columns `actStride` bytes apart.
void sdk_matmul_rows(int type, const void *w, long rowBytes, long r0, long r1, long cols,
                     const void *act, long actStride, long batch, float *out, long outStride);

#ifdef __cplusplus
}
#endif

#endif
