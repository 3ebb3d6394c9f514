// Shared definitions of the AVX-512 kernels (internal).
#ifndef SPECDEC_CKERNELS_COMMON_H
#define SPECDEC_CKERNELS_COMMON_H

/// 1 where the AVX-512 kernels are compiled (x86-64 with clang or gcc); elsewhere only stubs exist and
/// sdk_cpu_supported() returns 0. -DSDK_FORCE_PORTABLE builds the stubs on x86-64 too.
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__)) && !defined(SDK_FORCE_PORTABLE)
#define SDK_X86 1
#include <immintrin.h>
#else
#define SDK_X86 0
#endif
#include <stdint.h>
#include <string.h>
#include "../shared/tiling.h"

#define SDK_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx512vbmi,avx512bitalg,fma,f16c")))
#define SDK_INLINE static inline __attribute__((always_inline))

/// Most activation columns one pass over a weight row serves (accumulators live in registers).
#define SDK_MAX_NB 8

/// Bytes of metadata per 256-element block in the K activation layout: float fsum8[8] (d*sum of q per
/// 32-value sub-block, natural order), float d, zeros. The first 64 bytes are one vector: the min term
/// multiplies it by a weight vector whose lanes 8-15 are zero, with the load folded into the FMA.
/// (Q6_K's activation bytes are q + 128: quant_core.h, sdk_signed.)
#define SDK_KMETA 128
#define SDK_KMETA_FSUM 0
#define SDK_KMETA_D 32

/// Metadata per 256-value super-block in the legacy activation layout: float dx[16] (the 32-block
/// scale of accumulator lane p, block p/2), then float lsum[16] (Q4_1/Q5_1: dx * the sum of the q summed
/// in lane p; zeros for Q4_0/Q5_0/Q8_0, whose activation bytes are q + 128: quant_core.h, sdk_signed).
#define SDK_LMETA_DX 0
#define SDK_LMETA_AUX 64

/// Gather indices of one legacy format (vpermt2b over a 128-byte window of a super-block of 8 blocks).
typedef struct {
    uint8_t qsA[64], qsB[64];  // packed qs of blocks 0..3 (window at 0) and 4..7 (window at 64)
    uint8_t dA[64], dB[64];    // the 16 lanes' f16 d (bytes 2p, 2p+1): lanes 0..7 window A, 8..15 window B
    uint8_t mA[64], mB[64];    // the same for the f16 min (Q4_1, Q5_1)
    uint8_t qhA[64], qhB[64];  // qh of block q at bytes 8q..8q+3: blocks 0..3 from window A, 4..7 from B
} sdk_leg_tables_t;

/// Tables describing the byte order of unpacked K-quant weight vectors (and so of the activations).
typedef struct {
    uint8_t perm[2][256];      // [0]: Q4_K/Q5_K, [1]: Q6_K: element held by byte i of the 4 vectors
    uint8_t q5_qh_index[256];  // Q5_K: qh byte holding the high bit of byte i
    uint8_t q5_qh_bit[256];    // Q5_K: mask of that bit
    uint8_t q6_qh_index[256];  // Q6_K: qh byte holding the high bits of byte i
    uint8_t q6_qh_shift[256];  // Q6_K: multishift offset moving them to bits 4..5
    uint8_t ms_lo[64], ms_hi[64];
    int q6_group[16];          // Q6_K: 16-value group summed in accumulator lane p
    int k4_sub[16];            // Q4_K/Q5_K: 32-value sub-block summed in accumulator lane p
    uint8_t lperm[2][256];     // legacy: [0] 4/5-bit formats, [1] Q8_0: element held by byte i
    uint8_t l5_bitpos[256];    // Q5_0/Q5_1: bit (within its block's 32 qh bits) of the value in byte i
    uint8_t q8_idx[64];        // Q8_0: gather of qword q = 8 bytes of block q%4 within a window
    uint8_t q8_dA[64], q8_dB[64];  // Q8_0: d gather (windows at 0 and 128)
    sdk_leg_tables_t leg[4];   // Q4_0, Q4_1, Q5_0, Q5_1
} sdk_k_tables_t;

extern sdk_k_tables_t sdk_k_tables;
void sdk_init_tables(void);

#if SDK_X86
SDK_TARGET SDK_INLINE float sdk_h2f(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}
#endif

/// A row function (shared/tiling.h); its state holds each row's NB accumulator vectors (SDK_STATE floats).
typedef sdk_tile_fn sdk_row_fn;

#define SDK_STATE (SDK_MAX_NB * 16)

#define SDK_ROW_ARGS                                                                                         \
    const uint8_t *w, long rowBytes, long nrows, long cols, const uint8_t *act, long astride, int nb,        \
        float *out, long ostride, long u0, long u1, float *state, int first, int last, long pfOff, long pfLen, \
        long pfRows

void sdk_rows_q4_K(SDK_ROW_ARGS);
void sdk_rows_q5_K(SDK_ROW_ARGS);
void sdk_rows_q6_K(SDK_ROW_ARGS);
void sdk_rows_q4_0(SDK_ROW_ARGS);
void sdk_rows_q4_1(SDK_ROW_ARGS);
void sdk_rows_q5_0(SDK_ROW_ARGS);
void sdk_rows_q5_1(SDK_ROW_ARGS);
void sdk_rows_q8_0(SDK_ROW_ARGS);
void sdk_rows_f32(SDK_ROW_ARGS);
void sdk_rows_native_q4_0(SDK_ROW_ARGS);
void sdk_rows_native_q4_1(SDK_ROW_ARGS);
void sdk_rows_native_q5_0(SDK_ROW_ARGS);
void sdk_rows_native_q5_1(SDK_ROW_ARGS);
void sdk_rows_native_q8_0(SDK_ROW_ARGS);
void sdk_rows_native_q6_K(SDK_ROW_ARGS);
void sdk_rows_native_q4_K(SDK_ROW_ARGS);

/// Repackers behind sdk_repack (matmul_native.c, matmul_k.c).
int sdk_repack_legacy_rows(int type, const void *src, void *dst, long rows, long cols);
int sdk_repack_q6K_rows(const void *src, void *dst, long rows, long cols);
int sdk_repack_q4K_rows(const void *src, void *dst, long rows, long cols);
void sdk_rows_f16(SDK_ROW_ARGS);
void sdk_rows_bf16(SDK_ROW_ARGS);

/// Loads (or zeroes) the NB accumulators.
#define SDK_ACC_BEGIN(acc, NB)                                                                               \
    __m512 acc[SDK_MAX_NB];                                                                                  \
    for (int c_ = 0; c_ < NB; c_++) acc[c_] = first ? _mm512_setzero_ps() : _mm512_loadu_ps(state + 16 * c_);

#if SDK_X86
/// Mask of the first min(remaining, 16) lanes (0 when remaining <= 0): the tail of a float loop.
SDK_INLINE __mmask16 sdk_mask16(long remaining) {
    return remaining >= 16 ? (__mmask16)0xFFFF : remaining <= 0 ? (__mmask16)0 : (__mmask16)((1u << remaining) - 1);
}

/// Sums of the 16 lanes of each of NB accumulators (2 <= NB <= 8), all in one vector (column c in lane
/// SDK_HSUM_LANE(c)). The columns are reduced together by a transposing tree (about 3 operations per
/// column instead of 8); each column's lanes are added in the order of _mm512_reduce_add_ps (i + i+8,
/// then i + i+4, i + i+2, i + i+1) whatever NB is, so a column's sum does not depend on the batch size.
SDK_TARGET SDK_INLINE __m512 sdk_hsum8(const __m512 *acc, const int NB) {
    const __m512 z = _mm512_setzero_ps();
    __m512 h[4];  // h[j]: lanes 0-7 column 2j (a[i] + a[i+8]), lanes 8-15 column 2j+1
    for (int j = 0; j < 4; j++) {
        const __m512 a = 2 * j < NB ? acc[2 * j] : z, b = 2 * j + 1 < NB ? acc[2 * j + 1] : z;
        h[j] = _mm512_add_ps(_mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(1, 0, 1, 0)),
                             _mm512_shuffle_f32x4(a, b, _MM_SHUFFLE(3, 2, 3, 2)));
    }
    // q[k]: 128-bit quarter i holds column 4k+i's values b[j] + b[j+4]
    const __m512 q0 = _mm512_add_ps(_mm512_shuffle_f32x4(h[0], h[1], _MM_SHUFFLE(2, 0, 2, 0)),
                                    _mm512_shuffle_f32x4(h[0], h[1], _MM_SHUFFLE(3, 1, 3, 1)));
    const __m512 q1 = NB > 4 ? _mm512_add_ps(_mm512_shuffle_f32x4(h[2], h[3], _MM_SHUFFLE(2, 0, 2, 0)),
                                             _mm512_shuffle_f32x4(h[2], h[3], _MM_SHUFFLE(3, 1, 3, 1)))
                             : z;
    // quarter i: [c0 + c2, c'0 + c'2, c1 + c3, c'1 + c'3] of columns i (c) and 4+i (c')
    const __m512 t = _mm512_add_ps(_mm512_unpacklo_ps(q0, q1), _mm512_unpackhi_ps(q0, q1));
    return _mm512_add_ps(t, _mm512_shuffle_ps(t, t, _MM_SHUFFLE(1, 0, 3, 2)));
}

/// e^x for 16 lanes: the algorithm of VectorMath.swift's vectorExp (Cody-Waite range reduction, Cephes
/// polynomial, inputs clamped to [-87.3, 88.3]).
SDK_TARGET SDK_INLINE __m512 sdk_exp16(__m512 x) {
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.3f)), _mm512_set1_ps(88.3f));
    const __m512 magic = _mm512_set1_ps(12582912.0f);  // 1.5 * 2^23: t's low mantissa bits hold k
    const __m512 t = _mm512_add_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504f)), magic);
    const __m512 k = _mm512_sub_ps(t, magic);
    const __m512 r = _mm512_add_ps(_mm512_sub_ps(x, _mm512_mul_ps(k, _mm512_set1_ps(0.693359375f))),
                                   _mm512_mul_ps(k, _mm512_set1_ps(2.1219444e-4f)));
    __m512 p = _mm512_set1_ps(1.98756915e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.39819995e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.16657959e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.66666655e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.00000012e-1f));
    const __m512 y = _mm512_add_ps(_mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r), _mm512_set1_ps(1.0f));
    const __m512i ki = _mm512_sub_epi32(_mm512_castps_si512(t), _mm512_set1_epi32(0x4B400000));
    return _mm512_mul_ps(y, _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(ki, _mm512_set1_epi32(127)), 23)));
}

/// Lane of sdk_hsum8's result that holds column c.
#define SDK_HSUM_LANE(c) ((c) < 4 ? 4 * (c) : 4 * ((c) - 4) + 1)

/// Sums of the 16 lanes of each of NB accumulators, written to out[c * ostride] (see sdk_hsum8).
SDK_TARGET SDK_INLINE void sdk_reduce_store(const __m512 *acc, const int NB, float *out, long ostride) {
    if (NB == 1) {
        out[0] = _mm512_reduce_add_ps(acc[0]);
        return;
    }
    float r[16] __attribute__((aligned(64)));
    _mm512_store_ps(r, sdk_hsum8(acc, NB));
    for (int c = 0; c < NB; c++) out[c * ostride] = r[SDK_HSUM_LANE(c)];
}
#endif

/// Stores the NB accumulators, or reduces them into the outputs.
#define SDK_ACC_END(acc, NB)                                                                                 \
    if (last) {                                                                                              \
        sdk_reduce_store(acc, NB, out, ostride);                                                             \
    } else {                                                                                                 \
        for (int c_ = 0; c_ < NB; c_++) _mm512_storeu_ps(state + 16 * c_, acc[c_]);                         \
    }

/// Expands to a function `name` that runs `impl` (one row) over the rows with NB a compile-time
/// constant 1...SDK_MAX_NB, so the per-column loops unroll into registers and the per-row setup
/// (constants, tables) is hoisted out of the row loop (prefetching: SDK_TILE_ROWS_LOOP, shared/tiling.h).
#define SDK_ROWS_LOOP(impl, NBC) SDK_TILE_ROWS_LOOP(impl, NBC, SDK_STATE)

#define SDK_DISPATCH_NB(name, impl)                                                                          \
    SDK_TARGET void name(SDK_ROW_ARGS) {                                                                     \
        switch (nb) {                                                                                        \
        case 1: SDK_ROWS_LOOP(impl, 1) break;                                                                \
        case 2: SDK_ROWS_LOOP(impl, 2) break;                                                                \
        case 3: SDK_ROWS_LOOP(impl, 3) break;                                                                \
        case 4: SDK_ROWS_LOOP(impl, 4) break;                                                                \
        case 5: SDK_ROWS_LOOP(impl, 5) break;                                                                \
        case 6: SDK_ROWS_LOOP(impl, 6) break;                                                                \
        case 7: SDK_ROWS_LOOP(impl, 7) break;                                                                \
        default: SDK_ROWS_LOOP(impl, 8) break;                                                               \
        }                                                                                                    \
    }

/// Parameters of an impl function (NB a constant); `pf` (or null) and `pfStep` as in SDK_ROWS_LOOP.
#define SDK_IMPL_ARGS                                                                                        \
    const uint8_t *w, long cols, const uint8_t *act, long astride, const int NB, float *out, long ostride,   \
        long u0, long u1, float *state, int first, int last, const uint8_t *pf, long pfStep

#endif
