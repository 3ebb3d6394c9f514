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

/// Quantizes `nblocks` blocks of 256 floats into the K activation layout for weights of ggml type
/// `type` (12, 13: Q4_K/Q5_K; 14: Q6_K): int8 qs[256*nblocks] at `qs`, each block's bytes in the
/// order of sdk_k_permutation(type), and per block 128 bytes of metadata at `meta`:
/// int32 bias16[16] (Q6_K only), float fsum8[8] (d*sum(q) per 32 values), float d.
void sdk_quantize_act_k(const float *x, long nblocks, int8_t *qs, uint8_t *meta, int type);

/// The order (element index of each byte) of the 256 activation bytes of a block for K-quant weights of
/// ggml type `type` (12, 13 or 14).
const uint8_t *sdk_k_permutation(int type);

/// Quantizes `nblocks` blocks of 32 floats into the Q8_0-style activation layout:
/// int8 qs[32*nblocks], float dlane[8*nblocks] (block scale per group of 4 values), and aux[8*nblocks]:
/// when biasMul > 0, int32 -biasMul*sum(q) per group of 4; when biasMul == 0, float d*sum(q)/8.
void sdk_quantize_act_legacy(const float *x, long nblocks, int8_t *qs, float *dlane, void *aux, int biasMul);

/// Computes out[c*outStride + r] = dot(row r of W, activation column c) for r in r0..<r1, c in 0..<batch.
/// `type` is the ggml type number; `act` is the activation buffer (quantized layout above, or raw
/// floats for F32/F16/BF16) with columns `actStride` bytes apart.
void sdk_matmul_rows(int type, const void *w, long rowBytes, long r0, long r1, long cols,
                     const void *act, long actStride, long batch, float *out, long outStride);

#ifdef __cplusplus
}
#endif

#endif
