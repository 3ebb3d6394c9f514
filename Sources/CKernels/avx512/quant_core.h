// Shared inner loop of the quantized kernels (internal): one weight row against up to SDK_MAX_NB
// activation columns. Each 256-value (super-)block of the row is first unpacked into four 64-byte
// vectors of unsigned values whose 32-bit lanes each belong to one scale group, plus 16 lane scales
// (and lane mins); then every column costs four vpdpbusd, one conversion and two or three float ops.
// A column's result does not depend on the other columns or on the batch size (same operations in
// the same order), so batched verification reproduces single-token results bit for bit.
#ifndef SPECDEC_CKERNELS_QUANT_CORE_H
#define SPECDEC_CKERNELS_QUANT_CORE_H

#include "common.h"

#if SDK_X86

/// One unpacked weight (super-)block.
typedef struct {
    __m512i v[4];  // 256 values in the order of the activation bytes: unsigned, or signed (see sdk_signed)
    __m512 fsc;    // scale of each accumulator lane
    __m512 minv;   // K4/K5: -dmin*m_j (lanes 0..7, rest 0); LMIN: m of each lane's block
    __m512i corr;  // signed modes: -128 * (sum of the values summed in each lane)
} sdk_wblk;

/// Formats with a zero offset (Q4_0: 8, Q5_0: 16, Q8_0: 128 in the unsigned form, Q6_K: 32) are unpacked
/// as signed values w = u - offset and meet unsigned activations x + 128 (vpdpbusd multiplies unsigned
/// by signed bytes): sum (x + 128) w = sum x w + 128 sum w, so the accumulator starts at corr = -128 sum w,
/// a property of the weights computed once per block for all columns. (With unsigned weights and signed
/// activations the correction, -offset * sum x, is a property of each column, one more load per column
/// and block: Gemma's batch-8 forward took 10.7-12.6 ms that way, 9.7-10.0 ms this way.) The integer
/// sums are the same either way.
SDK_TARGET SDK_INLINE void sdk_signed(sdk_wblk *o, const int offset) {
    const __m512i off = _mm512_set1_epi8((char)offset), b128 = _mm512_set1_epi8((char)0x80);
    __m512i c = _mm512_setzero_si512();
    for (int k = 0; k < 4; k++) {
        o->v[k] = _mm512_sub_epi8(o->v[k], off);
        c = _mm512_dpbusd_epi32(c, b128, o->v[k]);
    }
    o->corr = _mm512_sub_epi32(_mm512_setzero_si512(), c);
}

/// The packed layouts keep two unpacked vectors' 4-bit values in one (byte i = lo[i] | hi[i] << 4).
SDK_TARGET SDK_INLINE __m512i sdk_pack_nibbles(__m512i lo, __m512i hi) {
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    return _mm512_or_si512(_mm512_and_si512(lo, m4), _mm512_slli_epi16(_mm512_and_si512(hi, m4), 4));
}

/// The inverse of sdk_pack_nibbles.
SDK_TARGET SDK_INLINE void sdk_unpack_nibbles(__m512i x, __m512i *lo, __m512i *hi) {
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    *lo = _mm512_and_si512(x, m4);
    *hi = _mm512_and_si512(_mm512_srli_epi16(x, 4), m4);
}

/// How a format combines the integer sums with the activation metadata.
enum {
    SDK_MODE_K45 = 0,   // dx per block (scalar); min term: minv . fsum8
    SDK_MODE_K6 = 1,    // dx per block (scalar); signed weights, unsigned activations (sdk_signed)
    SDK_MODE_LOFF = 2,  // dx per lane; signed weights, unsigned activations (sdk_signed)
    SDK_MODE_LMIN = 3,  // dx per lane; min term: minv . lsum (per lane)
};

typedef void (*sdk_unpack_fn)(const uint8_t *row, long cols, long b, sdk_wblk *out);

SDK_TARGET SDK_INLINE void sdk_quant_impl(const uint8_t *w, long cols, const uint8_t *act, long astride, const int NB,
                                          float *out, long ostride, long u0, long u1, float *state, int first,
                                          int last, const uint8_t *pf, long pfStep, const int mode,
                                          sdk_unpack_fn unpack) {
    SDK_ACC_BEGIN(acc, NB)
    const long qsBytes = 256 * ((cols + 255) / 256);
    const int scalarDx = mode == SDK_MODE_K45 || mode == SDK_MODE_K6;
    const int signedW = mode == SDK_MODE_K6 || mode == SDK_MODE_LOFF;
    for (long b = u0; b < u1; b++) {
        if (pf)  // this block's share of the row's next segment (SDK_ROWS_LOOP)
            for (long o = 0; o < pfStep; o += 64) __builtin_prefetch(pf + (b - u0) * pfStep + o, 0, 2);
        sdk_wblk wb;
        unpack(w, cols, b, &wb);
        for (int c = 0; c < NB; c++) {
            const uint8_t *ac = act + c * astride;
            const uint8_t *xq = ac + 256 * b;
            const uint8_t *meta = ac + qsBytes + SDK_KMETA * b;
            __m512i s = signedW ? wb.corr : _mm512_setzero_si512();
            for (int k = 0; k < 4; k++) {
                const __m512i x = _mm512_loadu_si512(xq + 64 * k);
                s = signedW ? _mm512_dpbusd_epi32(s, x, wb.v[k]) : _mm512_dpbusd_epi32(s, wb.v[k], x);
            }
            const __m512 dx = scalarDx ? _mm512_set1_ps(*(const float *)(meta + SDK_KMETA_D))
                                       : _mm512_loadu_ps((const float *)(meta + SDK_LMETA_DX));
            acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(wb.fsc, dx), acc[c]);
            if (mode == SDK_MODE_K45)
                acc[c] = _mm512_fmadd_ps(wb.minv, _mm512_loadu_ps((const float *)(meta + SDK_KMETA_FSUM)), acc[c]);
            if (mode == SDK_MODE_LMIN)
                acc[c] = _mm512_fmadd_ps(wb.minv, _mm512_loadu_ps((const float *)(meta + SDK_LMETA_AUX)), acc[c]);
        }
    }
    SDK_ACC_END(acc, NB)
}

/// Defines `name` (an sdk_row_fn) for a format given its mode and unpack function.
#define SDK_DISPATCH_QUANT(name, MODE, UNPACK)                                                               \
    SDK_TARGET SDK_INLINE void name##_impl(SDK_IMPL_ARGS) {                                                  \
        sdk_quant_impl(w, cols, act, astride, NB, out, ostride, u0, u1, state, first, last, pf, pfStep, MODE,  \
                       UNPACK);                                                                              \
    }                                                                                                        \
    SDK_DISPATCH_NB(name, name##_impl)

/// Defines the five legacy-format row functions prefix##q4_0 ... prefix##q8_0 from an unpack function
/// `unpack(row, cols, superblock, sdk_wblk *, format index, block bytes)` (GGUF or native layout).
#define SDK_LEGACY_ONE(name, UNPACK, f, bs, mode)                                                            \
    SDK_TARGET SDK_INLINE void name##_unpack(const uint8_t *row, long cols, long sb, sdk_wblk *o) {          \
        UNPACK(row, cols, sb, o, f, bs);                                                                     \
    }                                                                                                        \
    SDK_DISPATCH_QUANT(name, mode, name##_unpack)

#define SDK_LEGACY_FORMATS(prefix, UNPACK)                                                                   \
    SDK_LEGACY_ONE(prefix##q4_0, UNPACK, 0, 18, SDK_MODE_LOFF)                                               \
    SDK_LEGACY_ONE(prefix##q4_1, UNPACK, 1, 20, SDK_MODE_LMIN)                                               \
    SDK_LEGACY_ONE(prefix##q5_0, UNPACK, 2, 22, SDK_MODE_LOFF)                                               \
    SDK_LEGACY_ONE(prefix##q5_1, UNPACK, 3, 24, SDK_MODE_LMIN)                                               \
    SDK_LEGACY_ONE(prefix##q8_0, UNPACK, 4, 34, SDK_MODE_LOFF)

#endif  // SDK_X86

#endif
