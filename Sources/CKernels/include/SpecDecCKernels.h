#ifndef SPECDEC_CKERNELS_H
#define SPECDEC_CKERNELS_H

// Vector kernels for SpecDecKernels, one set per instruction set (avx512/, avx2/): only instructions
// Swift cannot express (vpdpbusd, vpmaddubsw, vpermb, masked byte ops, F16C) live here; every routine
// has a Swift reference in SpecDecKernels that the tests compare against.
// AVX-512 set (sdk_*): call nothing but sdk_cpu_supported() unless it returned 1.
// AVX2 set (sdk_avx2_*): call nothing but sdk_avx2_supported() and sdk_avx2_permutation() unless
// sdk_avx2_supported() returned 1.

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Spin-wait hint (x86 `pause`), for the thread pool's busy-wait loops.
static inline void sdk_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/// 1 when the CPU and OS support AVX-512 F/BW/VL/DQ + VNNI + VBMI + BITALG + F16C, else 0.
int sdk_cpu_supported(void);

/// Quantizes `nblocks` blocks of 256 floats into the K activation layout for weights of ggml type
/// `type` (12, 13: Q4_K/Q5_K; 14: Q6_K): int8 q[256*nblocks] at `qs` (stored as the unsigned bytes
/// q + 128 for Q6_K), each block's bytes in the order of sdk_k_permutation(type), and per block 128
/// bytes of metadata at `meta`: 64 zero bytes, float fsum8[8] (d*sum(q) per 32 values), float d.
void sdk_quantize_act_k(const float *x, long nblocks, int8_t *qs, uint8_t *meta, int type);

/// The order (element index of each byte) of the 256 activation bytes of a (super-)block for weights of
/// ggml type `type` (K-quants 12, 13, 14; legacy 2, 3, 6, 7, 8).
const uint8_t *sdk_k_permutation(int type);

/// Quantizes `n` floats (a multiple of 32) into the legacy activation layout for weights of ggml type
/// `type` (2, 3, 6, 7, 8: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0): per super-block of 8 blocks of 32 (the last
/// one zero-padded), 256 int8 q at `qs` in the order of sdk_k_permutation(type) (stored as the unsigned
/// bytes q + 128 for Q4_0/Q5_0/Q8_0), and 128 bytes at `meta`: float dx[16] (lane p: scale of block
/// p/2), then float dx*(sum of the q summed in lane p) for Q4_1/Q5_1, zeros for the others.
void sdk_quantize_act_legacy(const float *x, long n, int8_t *qs, uint8_t *meta, int type);

/// Computes out[c*outStride + r] = dot(row r of W, activation column c) for r in r0..<r1, c in 0..<batch.
/// `type` is the ggml type number; `act` is the activation buffer (quantized layout above, or raw
/// floats for F32/F16/BF16) with columns `actStride` bytes apart.
void sdk_matmul_rows(int type, const void *w, long rowBytes, long r0, long r1, long cols,
                     const void *act, long actStride, long batch, float *out, long outStride);

/// Repacks `rows` rows of a matrix from GGUF layout at `src` into the native layout at `dst` (same size;
/// matmul type number 100 + type): the legacy formats (ggml types 2, 3, 6, 7, 8), Q4_K (12) and Q6_K
/// (14). Returns 0 for other types.
int sdk_repack(int type, const void *src, void *dst, long rows, long cols);

/// Test hook: decodes the scales and mins of n Q4_K block headers (16 bytes each: f16 d, f16 dmin,
/// 12 packed bytes) with both the vector and the general-purpose-register decoder and returns how
/// many differ in any bit (0 expected).
long sdk_scales_k4_mismatches(const uint8_t *headers, long n);

/// Float dot product of n values (AVX-512 FMA).
float sdk_dot_f32(const float *a, const float *b, long n);

/// y += alpha * x over n values (AVX-512 FMA).
void sdk_axpy_f32(float alpha, const float *x, float *y, long n);

/// gate[i] = silu(gate[i]) * up[i] and gate[i] = gelu_tanh(gate[i]) * up[i] over n values (AVX-512;
/// the formulas of VectorMath.swift).
void sdk_silu_gate_f32(float *gate, const float *up, long n);
void sdk_gelu_gate_f32(float *gate, const float *up, long n);

/// Attention of m query heads (q + j*qstride, j < m) that share one key/value head, over n cached
/// positions (key and value rows kvstride floats apart, `len` values each): for each head j,
/// out[j*ostride ..< j*ostride + len] = softmax(scale * K q_j) V. `scores` is scratch of m*n floats.
/// A head's result does not depend on m (heads may be grouped in any way).
void sdk_attend_f32(const float *q, long qstride, long m, const float *k, const float *v, long kvstride,
                    long n, long len, float scale, float *scores, float *out, long ostride);

/// sdk_attend_f32 over the rows k + rows[t]*kvstride and v + rows[t]*kvstride (t < n) instead of n
/// consecutive rows (a token tree: each node attends to the context and its own ancestors). Every score
/// and output equals sdk_attend_f32's over a contiguous copy of the same rows.
void sdk_attend_f32_rows(const float *q, long qstride, long m, const float *k, const float *v, const long *rows,
                         long kvstride, long n, long len, float scale, float *scores, float *out, long ostride);

// ---- AVX2 + FMA + F16C set (avx2/) ----
// Same entry points and activation buffer sizes as the AVX-512 set, with their own layouts:
// avx2/avx2_common.h (activation metadata) and avx2/avx2_repack.c (weights, byte order).

/// 1 when the CPU and OS support AVX2, FMA and F16C, else 0.
int sdk_avx2_supported(void);

/// The AVX2 order of a block's activation bytes (element index of each byte) for weights of ggml type
/// `type` (Q6_K: 16-value groups; every other quantized type: 32-value groups).
const uint8_t *sdk_avx2_permutation(int type);

/// K activation layout for the AVX2 kernels (Q4_K, Q5_K, Q6_K weights): int8 q (signed) in the AVX2
/// order, and per block 128 bytes of metadata (fsum8, d, and for Q6_K int16 xsum16).
void sdk_avx2_quantize_act_k(const float *x, long nblocks, int8_t *qs, uint8_t *meta, int type);

/// Legacy activation layout for the AVX2 kernels (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 weights): per super-block
/// of 8 blocks 256 int8 q (signed) in the AVX2 order, and 128 bytes: float dx[8], then int32 bias[8]
/// (Q4_0/Q5_0) or float lsum[8] (Q4_1/Q5_1).
void sdk_avx2_quantize_act_legacy(const float *x, long n, int8_t *qs, uint8_t *meta, int type);

/// sdk_matmul_rows for the AVX2 set (type + 100: the AVX2 packed layout of sdk_avx2_repack).
void sdk_avx2_matmul_rows(int type, const void *w, long rowBytes, long r0, long r1, long cols,
                          const void *act, long actStride, long batch, float *out, long outStride);

/// Repacks `rows` rows from GGUF layout into the AVX2 packed layout (same size): ggml types 2, 3, 6, 7,
/// 8, 12, 13, 14. Returns 0 for other types or widths.
int sdk_avx2_repack(int type, const void *src, void *dst, long rows, long cols);

/// The AVX2 versions of sdk_dot_f32, sdk_axpy_f32, the gates and sdk_attend_f32 (same contracts).
float sdk_avx2_dot_f32(const float *a, const float *b, long n);
void sdk_avx2_axpy_f32(float alpha, const float *x, float *y, long n);
void sdk_avx2_silu_gate_f32(float *gate, const float *up, long n);
void sdk_avx2_gelu_gate_f32(float *gate, const float *up, long n);
void sdk_avx2_attend_f32(const float *q, long qstride, long m, const float *k, const float *v, long kvstride,
                         long n, long len, float scale, float *scores, float *out, long ostride);
void sdk_avx2_attend_f32_rows(const float *q, long qstride, long m, const float *k, const float *v, const long *rows,
                              long kvstride, long n, long len, float scale, float *scores, float *out, long ostride);

#ifdef __cplusplus
}
#endif

#endif
