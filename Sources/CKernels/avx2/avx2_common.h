// Shared definitions of the AVX2 + FMA + F16C kernel set (internal).
//
// The integer dot products use vpmaddubsw (unsigned x signed bytes -> saturating 16-bit pair sums) and
// vpmaddwd (16-bit pairs -> 32-bit), as llama.cpp's AVX2 path does, but with weights repacked at load
// so that one 32-bit lane (Q6_K: one 16-bit lane) of every unpacked vector of a block belongs to the
// same scale group: several vpmaddubsw results are then added in 16 bits (as many as the format's
// value range allows without reaching 2^15) before one vpmaddwd, which also applies the K-quants'
// integer sub-block scales. See avx2_repack.c for the weight layouts and avx2_matmul.c for the
// per-format counts.
#ifndef SPECDEC_CKERNELS_AVX2_COMMON_H
#define SPECDEC_CKERNELS_AVX2_COMMON_H

/// 1 where the AVX2 kernels are compiled (x86-64 with clang or gcc); -DSDK_FORCE_PORTABLE builds the
/// stubs instead.
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__)) && !defined(SDK_FORCE_PORTABLE)
#define SDK2_X86 1
#include <immintrin.h>
#else
#define SDK2_X86 0
#endif
#include <stdint.h>
#include <string.h>
#include "../shared/tiling.h"

#define SDK2_TARGET __attribute__((target("avx2,fma,f16c")))
#define SDK2_INLINE static inline __attribute__((always_inline))

/// Most activation columns one pass over a weight row serves (one float accumulator each). With the
/// block's eight unpacked vectors that is more than AVX2's 16 registers, so the compiler keeps some on
/// the stack (L1 reloads), but each block is unpacked half as often as with 4 columns: measured
/// (specdec speed, qwen2.5-coder-1.5b, AVX2 kernels on an AVX-512 Zen 5 machine) B=8 forward 100-103 ms
/// with 4, 82-87 ms with 8.
#define SDK2_MAX_NB 8

/// Floats of state kept per row between activation chunks (8 lanes per column).
#define SDK2_STATE (SDK2_MAX_NB * 8)

/// Activation metadata per 256-value block (same 128-byte size as the AVX-512 layout, other fields):
/// K layout: float fsum8[8] at 0 (d * sum of q per 32-value sub-block), float d at 32, and for Q6_K
/// int16 xsum16[16] at 64 (sum of q over each 16-value group). Legacy layout: float dx[8] at 0 (scale of
/// block j in lane j), then at 32 int32 bias[8] (Q4_0: -8 * sum q, Q5_0: -16 * sum q of block j) or float
/// lsum[8] (Q4_1/Q5_1: dx * sum q); nothing for Q8_0.
#define SDK2_META 128
#define SDK2_KMETA_FSUM 0
#define SDK2_KMETA_D 32
#define SDK2_KMETA_XSUM 64
#define SDK2_LMETA_DX 0
#define SDK2_LMETA_AUX 32

/// A row function (shared/tiling.h); its state holds each row's NB accumulators (8 floats each).
typedef sdk_tile_fn sdk2_row_fn;

#define SDK2_ROW_ARGS                                                                                        \
    const uint8_t *w, long rowBytes, long nrows, long cols, const uint8_t *act, long astride, int nb,        \
        float *out, long ostride, long u0, long u1, float *state, int first, int last, long pfOff, long pfLen, \
        long pfRows

#define SDK2_IMPL_ARGS                                                                                       \
    const uint8_t *w, long cols, const uint8_t *act, long astride, const int NB, float *out, long ostride,   \
        long u0, long u1, float *state, int first, int last, const uint8_t *pf, long pfStep

/// Byte order tables (avx2_repack.c): element of the natural block held by byte i of the 8 unpacked
/// 32-byte vectors. [0]: 8 groups of 32 (K4/K5 sub-blocks, legacy blocks): byte 32k + 4j + t holds
/// element 32j + 4k + t. [1]: Q6_K's 16 groups of 16: byte 32k + 2g + t holds element 16g + 2k + t.
extern uint8_t sdk2_perm[2][256];
void sdk2_init_tables(void);

/// Row functions (avx2_matmul.c). `native` ones read the AVX2 packed layout (avx2_repack.c).
void sdk2_rows_q4_0(SDK2_ROW_ARGS);
void sdk2_rows_q4_1(SDK2_ROW_ARGS);
void sdk2_rows_q5_0(SDK2_ROW_ARGS);
void sdk2_rows_q5_1(SDK2_ROW_ARGS);
void sdk2_rows_q8_0(SDK2_ROW_ARGS);
void sdk2_rows_q4_K(SDK2_ROW_ARGS);
void sdk2_rows_q5_K(SDK2_ROW_ARGS);
void sdk2_rows_q6_K(SDK2_ROW_ARGS);
void sdk2_rows_native_q4_0(SDK2_ROW_ARGS);
void sdk2_rows_native_q4_1(SDK2_ROW_ARGS);
void sdk2_rows_native_q5_0(SDK2_ROW_ARGS);
void sdk2_rows_native_q5_1(SDK2_ROW_ARGS);
void sdk2_rows_native_q8_0(SDK2_ROW_ARGS);
void sdk2_rows_native_q4_K(SDK2_ROW_ARGS);
void sdk2_rows_native_q5_K(SDK2_ROW_ARGS);
void sdk2_rows_native_q6_K(SDK2_ROW_ARGS);
void sdk2_rows_f32(SDK2_ROW_ARGS);
void sdk2_rows_f16(SDK2_ROW_ARGS);
void sdk2_rows_bf16(SDK2_ROW_ARGS);

/// Packs one K-quant block (type 12, 13, 14) from GGUF layout at `src` into the AVX2 layout at `dst`.
void sdk2_pack_k_block(int type, const uint8_t *src, uint8_t *dst);
/// Packs legacy super-block `sb` (n = its block count) of a GGUF row into the AVX2 layout laid out for
/// `nl` blocks (nl = n at load; nl = 8 to build a full, zero-padded super-block for a kernel).
void sdk2_pack_legacy_sb(int type, const uint8_t *row, long cols, long sb, long nl, uint8_t *dst);

#if SDK2_X86

SDK2_TARGET SDK2_INLINE float sdk2_h2f(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

/// Lanes < n set (for vpmaskmov), n in 0...8.
SDK2_TARGET SDK2_INLINE __m256i sdk2_lane_mask(long n) {
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n < 0 ? 0 : n > 8 ? 8 : n)), idx);
}

/// Sum of the 8 lanes in a fixed order (upper half onto lower, then pairs), the same for every caller.
SDK2_TARGET SDK2_INLINE float sdk2_hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/// e^x for 8 lanes: the algorithm of VectorMath.swift's vectorExp (Cody-Waite range reduction, Cephes
/// polynomial, inputs clamped to [-87.3, 88.3]).
SDK2_TARGET SDK2_INLINE __m256 sdk2_exp8(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.3f));
    const __m256 magic = _mm256_set1_ps(12582912.0f);
    const __m256 t = _mm256_add_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504f)), magic);
    const __m256 k = _mm256_sub_ps(t, magic);
    const __m256 r = _mm256_add_ps(_mm256_sub_ps(x, _mm256_mul_ps(k, _mm256_set1_ps(0.693359375f))),
                                   _mm256_mul_ps(k, _mm256_set1_ps(2.1219444e-4f)));
    __m256 p = _mm256_set1_ps(1.98756915e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.39819995e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.16657959e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.66666655e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.00000012e-1f));
    const __m256 y = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0f));
    const __m256i ki = _mm256_sub_epi32(_mm256_castps_si256(t), _mm256_set1_epi32(0x4B400000));
    return _mm256_mul_ps(y, _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(ki, _mm256_set1_epi32(127)), 23)));
}

/// Loads (or zeroes) the NB accumulators.
#define SDK2_ACC_BEGIN(acc, NB)                                                                              \
    __m256 acc[SDK2_MAX_NB];                                                                                 \
    for (int c_ = 0; c_ < NB; c_++) acc[c_] = first ? _mm256_setzero_ps() : _mm256_loadu_ps(state + 8 * c_);

/// Stores the NB accumulators, or reduces each into its output (each column alone, in a fixed order).
#define SDK2_ACC_END(acc, NB)                                                                                \
    if (last) {                                                                                              \
        for (int c_ = 0; c_ < NB; c_++) out[c_ * ostride] = sdk2_hsum(acc[c_]);                             \
    } else {                                                                                                 \
        for (int c_ = 0; c_ < NB; c_++) _mm256_storeu_ps(state + 8 * c_, acc[c_]);                          \
    }

/// Runs `impl` over the rows (shared/tiling.h).
#define SDK2_ROWS_LOOP(impl, NBC) SDK_TILE_ROWS_LOOP(impl, NBC, SDK2_STATE)

/// Expands to a row function running `impl` with NB a compile-time constant 1...SDK2_MAX_NB.
#define SDK2_DISPATCH_NB(name, impl)                                                                         \
    SDK2_TARGET void name(SDK2_ROW_ARGS) {                                                                   \
        switch (nb) {                                                                                        \
        case 1: SDK2_ROWS_LOOP(impl, 1) break;                                                               \
        case 2: SDK2_ROWS_LOOP(impl, 2) break;                                                               \
        case 3: SDK2_ROWS_LOOP(impl, 3) break;                                                               \
        case 4: SDK2_ROWS_LOOP(impl, 4) break;                                                               \
        case 5: SDK2_ROWS_LOOP(impl, 5) break;                                                               \
        case 6: SDK2_ROWS_LOOP(impl, 6) break;                                                               \
        case 7: SDK2_ROWS_LOOP(impl, 7) break;                                                               \
        default: SDK2_ROWS_LOOP(impl, 8) break;                                                              \
        }                                                                                                    \
    }

#endif  // SDK2_X86

#endif
