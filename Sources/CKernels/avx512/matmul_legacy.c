// Legacy 32-value block weights (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) times Q8_0-style activations.
//
// Work goes by super-blocks of 8 blocks (256 values; the last one of a row may be partial). They are
// unpacked into four 64-byte vectors whose 32-bit lanes each hold values of one block (lane p: block
// p/2), as for the K-quants, so a column costs 4 vpdpbusd plus one float scale per super-block.
// Q4_1/Q5_1 weights become unsigned bytes u (nibbles, 5-bit values): dot = sum over lanes of
// dw*dx*(sum u*x) + m * dx*sum x. Q4_0/Q5_0/Q8_0 weights become signed bytes u - offset (Q8_0: q) and
// meet unsigned activations (quant_core.h, sdk_signed).
#include "quant_core.h"

#if SDK_X86

/// Loads 64 bytes at p + off, zeroing the bytes at or beyond `valid`.
SDK_TARGET SDK_INLINE __m512i sdk_loadn(const uint8_t *p, long off, long valid) {
    const long n = valid - off;
    if (n >= 64) return _mm512_loadu_si512(p + off);
    return _mm512_maskz_loadu_epi8(n <= 0 ? 0ULL : (~0ULL >> (64 - n)), p + off);
}

/// Two 128-byte-window gathers merged: bytes 0..15 from window A, 16..31 from window B.
SDK_TARGET SDK_INLINE __m256i sdk_gather32(__m512i a0, __m512i a1, const uint8_t *ia, __m512i b0, __m512i b1,
                                           const uint8_t *ib) {
    const __m512i x = _mm512_permutex2var_epi8(a0, _mm512_loadu_si512(ia), a1);
    const __m512i y = _mm512_permutex2var_epi8(b0, _mm512_loadu_si512(ib), b1);
    return _mm512_castsi512_si256(_mm512_mask_blend_epi8(0xFFFF0000ULL, x, y));
}

// f: 0 = Q4_0, 1 = Q4_1, 2 = Q5_0, 3 = Q5_1, 4 = Q8_0; bs: block bytes
SDK_TARGET SDK_INLINE void sdk_unpack_legacy(const uint8_t *row, long cols, long sb, sdk_wblk *o, const int f,
                                             const int bs) {
    const long nblocks = cols / 32;
    const uint8_t *p = row + 8 * bs * sb;
    const long nbl = nblocks - 8 * sb < 8 ? nblocks - 8 * sb : 8;
    const long valid = nbl * bs;
    o->minv = _mm512_setzero_ps();
    if (f == 4) {
        // qword q of vector k = bytes 8k..8k+7 of block q's values
        const __m512i offs = _mm512_set_epi64(240, 206, 172, 138, 104, 70, 36, 2);
        const __mmask8 kq = (__mmask8)((1u << nbl) - 1);
        for (int k = 0; k < 4; k++) {
            const __m512i g = _mm512_mask_i64gather_epi64(_mm512_setzero_si512(), kq, offs, p + 8 * k, 1);
            o->v[k] = g;
        }
        sdk_signed(o, 0);
        o->fsc = _mm512_cvtph_ps(sdk_gather32(sdk_loadn(p, 0, valid), sdk_loadn(p, 64, valid), sdk_k_tables.q8_dA,
                                              sdk_loadn(p, 128, valid), sdk_loadn(p, 192, valid), sdk_k_tables.q8_dB));
        return;
    }
    const sdk_leg_tables_t *L = &sdk_k_tables.leg[f];
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    const __m512i msLo = _mm512_loadu_si512(sdk_k_tables.ms_lo), msHi = _mm512_loadu_si512(sdk_k_tables.ms_hi);
    const __m512i w0 = sdk_loadn(p, 0, valid), w1 = sdk_loadn(p, 64, valid), w2 = sdk_loadn(p, 128, valid);
    const __m512i qa = _mm512_permutex2var_epi8(w0, _mm512_loadu_si512(L->qsA), w1);
    const __m512i qb = _mm512_permutex2var_epi8(w1, _mm512_loadu_si512(L->qsB), w2);
    const __m512i c = _mm512_permutex2var_epi64(qa, _mm512_set_epi64(14, 12, 10, 8, 6, 4, 2, 0), qb);
    const __m512i d = _mm512_permutex2var_epi64(qa, _mm512_set_epi64(15, 13, 11, 9, 7, 5, 3, 1), qb);
    o->v[0] = _mm512_and_si512(_mm512_multishift_epi64_epi8(msLo, c), m4);
    o->v[1] = _mm512_and_si512(_mm512_multishift_epi64_epi8(msHi, c), m4);
    o->v[2] = _mm512_and_si512(_mm512_multishift_epi64_epi8(msLo, d), m4);
    o->v[3] = _mm512_and_si512(_mm512_multishift_epi64_epi8(msHi, d), m4);
    if (f == 2 || f == 3) {
        // qword q = block q's 32 high bits; byte i of vector k takes bit (element of i within its block).
        const __m512i qhq = _mm512_mask_blend_epi8(0xFFFFFFFF00000000ULL,
                                                   _mm512_permutex2var_epi8(w0, _mm512_loadu_si512(L->qhA), w1),
                                                   _mm512_permutex2var_epi8(w1, _mm512_loadu_si512(L->qhB), w2));
        for (int k = 0; k < 4; k++) {
            const __mmask64 hb = _mm512_bitshuffle_epi64_mask(qhq, _mm512_loadu_si512(sdk_k_tables.l5_bitpos + 64 * k));
            o->v[k] = _mm512_mask_add_epi8(o->v[k], hb, o->v[k], _mm512_set1_epi8(16));
        }
    }
    if (f == 0 || f == 2) sdk_signed(o, f == 0 ? 8 : 16);
    o->fsc = _mm512_cvtph_ps(sdk_gather32(w0, w1, L->dA, w1, w2, L->dB));
    if (f == 1 || f == 3) o->minv = _mm512_cvtph_ps(sdk_gather32(w0, w1, L->mA, w1, w2, L->mB));
}

SDK_LEGACY_FORMATS(sdk_rows_, sdk_unpack_legacy)

/// The unpacked vectors of super-block `sb` of a GGUF-layout row (format index f), for the repacker: the
/// unsigned values u of the 4/5-bit formats, Q8_0's signed q.
SDK_TARGET void sdk_unpack_legacy_ref(const uint8_t *row, long cols, long sb, int f, __m512i v[4]) {
    sdk_wblk o;
    switch (f) {
    case 0: sdk_unpack_legacy(row, cols, sb, &o, 0, 18); break;
    case 1: sdk_unpack_legacy(row, cols, sb, &o, 1, 20); break;
    case 2: sdk_unpack_legacy(row, cols, sb, &o, 2, 22); break;
    case 3: sdk_unpack_legacy(row, cols, sb, &o, 3, 24); break;
    default: sdk_unpack_legacy(row, cols, sb, &o, 4, 34); break;
    }
    const int offset = f == 0 ? 8 : f == 2 ? 16 : 0;
    for (int k = 0; k < 4; k++) v[k] = _mm512_add_epi8(o.v[k], _mm512_set1_epi8((char)offset));
}

#endif  // SDK_X86
