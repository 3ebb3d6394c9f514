// K-quant weights (Q4_K, Q5_K, Q6_K): unpacking of a 256-value block for the shared loop in quant_core.h.
//
// The four vectors are built so that every 32-bit lane of all of them belongs to one scale group
// (tables.c, KPermutation in Swift): Q4_K/Q5_K lane p holds sub-block 2*(p/4) + p%2, Q6_K lane p holds
// group q6_group[p]. The activations are stored in the same byte order.
#include "SpecDecCKernels.h"
#include "quant_core.h"

#if SDK_X86

/// Unpacks 128 bytes of Q4_K/Q5_K nibbles into four vectors in table order: raw qwords are regrouped
/// (vpermt2q) and vpmultishiftqb picks the low then high nibbles of 4 bytes per qword.
SDK_TARGET SDK_INLINE void sdk_unpack_k4(const uint8_t *qs, __m512i v[4]) {
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    const __m512i msLo = _mm512_loadu_si512(sdk_k_tables.ms_lo), msHi = _mm512_loadu_si512(sdk_k_tables.ms_hi);
    const __m512i a = _mm512_loadu_si512(qs), b = _mm512_loadu_si512(qs + 64);
    const __m512i c = _mm512_permutex2var_epi64(a, _mm512_set_epi64(13, 12, 9, 8, 5, 4, 1, 0), b);
    const __m512i d = _mm512_permutex2var_epi64(a, _mm512_set_epi64(15, 14, 11, 10, 7, 6, 3, 2), b);
    v[0] = _mm512_and_si512(_mm512_multishift_epi64_epi8(msLo, c), m4);
    v[1] = _mm512_and_si512(_mm512_multishift_epi64_epi8(msHi, c), m4);
    v[2] = _mm512_and_si512(_mm512_multishift_epi64_epi8(msLo, d), m4);
    v[3] = _mm512_and_si512(_mm512_multishift_epi64_epi8(msHi, d), m4);
}

/// Lane scales and mins of a Q4_K/Q5_K block (12 packed 6-bit scales and mins at blk + 4), decoded with
/// general-purpose registers (ggml's get_scale_min_k4 masks). Q5_K keeps this one: with its high-bit
/// gathers, the vector decode's constants cost it registers (B=8 180 -> 162 GMAC/s per core).
SDK_TARGET SDK_INLINE void sdk_scales_k4_gpr(const uint8_t *blk, sdk_wblk *o) {
    uint32_t utmp[4];
    sdk_k4_scale_bytes(blk, utmp);
    const __m128i sm = _mm_loadu_si128((const __m128i *)utmp);  // 8 scales, then 8 mins
    const __m256 sc8 = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(sm)), _mm256_set1_ps(sdk_h2f(blk)));
    o->fsc = _mm512_permutexvar_ps(_mm512_loadu_si512(sdk_k_tables.k4_sub), _mm512_castps256_ps512(sc8));
    o->minv = _mm512_zextps256_ps512(_mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(sm, 8))),
                                                   _mm256_set1_ps(-sdk_h2f(blk + 2))));
}

/// Lane scales and mins of a Q4_K block, the same numbers as sdk_scales_k4_gpr decoded in vector
/// registers: f16 d and dmin at blk, then 12 bytes packing eight 6-bit scales sc_j and mins m_j (j < 4:
/// sc_j = s[j] & 63, m_j = s[j+4] & 63; j >= 4: low 4 bits in s[j+4], high 2 bits in the top bits of
/// s[j-4] (sc) and s[j] (m)). Two byte gathers put each value's low and high parts in 16-bit lanes;
/// variable shifts and masks extract them. (Q4_K matmul per core: B=1 75 -> 89, B=8 206 -> 219 GMAC/s.)
SDK_TARGET SDK_INLINE void sdk_scales_k4(const uint8_t *blk, sdk_wblk *o) {
    const __m128i v = _mm_loadu_si128((const __m128i *)blk);
    // lanes 0-7: sc_0..7, lanes 8-15: m_0..7 (byte indices count the 4-byte header)
    const __m128i idxLow = _mm_setr_epi8(4, 5, 6, 7, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m128i idxHigh = _mm_setr_epi8(4, 4, 4, 4, 4, 5, 6, 7, 4, 4, 4, 4, 8, 9, 10, 11);
    const __m256i lowBytes = _mm256_cvtepu8_epi16(_mm_permutexvar_epi8(idxLow, v));
    const __m256i highBytes = _mm256_cvtepu8_epi16(_mm_permutexvar_epi8(idxHigh, v));
    const __m256i lowShift = _mm256_setr_epi16(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 4, 4, 4);
    const __m256i lowMask = _mm256_setr_epi16(63, 63, 63, 63, 15, 15, 15, 15, 63, 63, 63, 63, 15, 15, 15, 15);
    const __m256i highMask = _mm256_setr_epi16(0, 0, 0, 0, 48, 48, 48, 48, 0, 0, 0, 0, 48, 48, 48, 48);
    const __m256i low = _mm256_and_si256(_mm256_srlv_epi16(lowBytes, lowShift), lowMask);
    const __m256i high = _mm256_and_si256(_mm256_srli_epi16(highBytes, 2), highMask);  // (byte >> 6) << 4
    const __m512 values = _mm512_cvtepi32_ps(_mm512_cvtepu16_epi32(_mm256_or_si256(low, high)));
    const __m128 dd = _mm_mul_ps(_mm_cvtph_ps(v), _mm_setr_ps(1.0f, -1.0f, 0.0f, 0.0f));  // d, -dmin
    const __m512 scale = _mm512_permutexvar_ps(_mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1),
                                               _mm512_castps128_ps512(dd));
    const __m512 scaled = _mm512_mul_ps(values, scale);
    o->fsc = _mm512_permutexvar_ps(_mm512_loadu_si512(sdk_k_tables.k4_sub), scaled);
    o->minv = _mm512_maskz_permutexvar_ps(0x00FF, _mm512_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15, 0, 0, 0, 0, 0, 0, 0, 0),
                                          scaled);
}

SDK_TARGET SDK_INLINE void sdk_unpack_q4K(const uint8_t *row, long cols, long b, sdk_wblk *o) {
    (void)cols;
    const uint8_t *blk = row + 144 * b;
    sdk_unpack_k4(blk + 16, o->v);
    sdk_scales_k4(blk, o);
}

SDK_TARGET SDK_INLINE void sdk_unpack_q5K(const uint8_t *row, long cols, long b, sdk_wblk *o) {
    (void)cols;
    const uint8_t *blk = row + 176 * b;
    sdk_unpack_k4(blk + 48, o->v);
    const __m512i qh = _mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(blk + 16)));
    for (int k = 0; k < 4; k++) {
        const __m512i g = _mm512_permutexvar_epi8(_mm512_loadu_si512(sdk_k_tables.q5_qh_index + 64 * k), qh);
        const __mmask64 hb = _mm512_test_epi8_mask(g, _mm512_loadu_si512(sdk_k_tables.q5_qh_bit + 64 * k));
        o->v[k] = _mm512_mask_add_epi8(o->v[k], hb, o->v[k], _mm512_set1_epi8(16));
    }
    sdk_scales_k4_gpr(blk, o);
}

/// Q6_K values as unsigned 6-bit u (0..63), as the repacker stores them; the kernels take u - 32.
SDK_TARGET SDK_INLINE void sdk_unpack_q6K_unsigned(const uint8_t *row, long cols, long b, sdk_wblk *o) {
    (void)cols;
    const uint8_t *blk = row + 210 * b;
    const __m512i m4 = _mm512_set1_epi8(0x0F), m30 = _mm512_set1_epi8(0x30);
    const __m512i msLo = _mm512_loadu_si512(sdk_k_tables.ms_lo), msHi = _mm512_loadu_si512(sdk_k_tables.ms_hi);
    const __m512i l0 = _mm512_loadu_si512(blk), l1 = _mm512_loadu_si512(blk + 64);
    const __m512i qh = _mm512_loadu_si512(blk + 128);
    const __m512i p = _mm512_permutex2var_epi64(l0, _mm512_set_epi64(14, 12, 10, 8, 6, 4, 2, 0), l1);
    const __m512i r = _mm512_permutex2var_epi64(l0, _mm512_set_epi64(15, 13, 11, 9, 7, 5, 3, 1), l1);
    for (int k = 0; k < 4; k++) {
        const __m512i lo = _mm512_multishift_epi64_epi8(k % 2 ? msHi : msLo, k < 2 ? p : r);
        const __m512i g = _mm512_permutexvar_epi8(_mm512_loadu_si512(sdk_k_tables.q6_qh_index + 64 * k), qh);
        const __m512i hi = _mm512_multishift_epi64_epi8(_mm512_loadu_si512(sdk_k_tables.q6_qh_shift + 64 * k), g);
        o->v[k] = _mm512_or_si512(_mm512_and_si512(lo, m4), _mm512_and_si512(hi, m30));
    }
    const __m512 sc = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(blk + 192))));
    o->fsc = _mm512_mul_ps(_mm512_permutexvar_ps(_mm512_loadu_si512(sdk_k_tables.q6_group), sc),
                           _mm512_set1_ps(sdk_h2f(blk + 208)));
    o->minv = _mm512_setzero_ps();
}

SDK_TARGET SDK_INLINE void sdk_unpack_q6K(const uint8_t *row, long cols, long b, sdk_wblk *o) {
    sdk_unpack_q6K_unsigned(row, cols, b, o);
    sdk_signed(o, 32);
}

SDK_TARGET long sdk_scales_k4_mismatches(const uint8_t *headers, long n) {
    sdk_init_tables();
    long bad = 0;
    for (long i = 0; i < n; i++) {
        sdk_wblk a, b;
        sdk_scales_k4(headers + 16 * i, &a);
        sdk_scales_k4_gpr(headers + 16 * i, &b);
        if (memcmp(&a.fsc, &b.fsc, 64) != 0 || memcmp(&a.minv, &b.minv, 64) != 0) bad++;
    }
    return bad;
}

// Q4_K "native" layout (same 144 bytes per block, repacked at load): the 4-byte d/dmin and 12 scale
// bytes as in GGUF, then the four unpacked vectors' nibbles in two 64-byte regions (v0 | v1 << 4,
// v2 | v3 << 4): unpacking is 2 loads and 4 logic operations instead of qword permutes and
// multishifts; the vectors are the same numbers.

SDK_TARGET SDK_INLINE void sdk_unpack_native_q4K(const uint8_t *row, long cols, long b, sdk_wblk *o) {
    (void)cols;
    const uint8_t *blk = row + 144 * b;
    sdk_unpack_nibbles(_mm512_loadu_si512(blk + 16), &o->v[0], &o->v[1]);
    sdk_unpack_nibbles(_mm512_loadu_si512(blk + 80), &o->v[2], &o->v[3]);
    sdk_scales_k4(blk, o);
}

SDK_TARGET int sdk_repack_q4K_rows(const void *src, void *dst, long rows, long cols) {
    if (cols % 256 != 0) return 0;
    sdk_init_tables();
    const long nb = cols / 256;
    for (long r = 0; r < rows; r++) {
        const uint8_t *row = (const uint8_t *)src + r * 144 * nb;
        uint8_t *out = (uint8_t *)dst + r * 144 * nb;
        for (long b = 0; b < nb; b++) {
            const uint8_t *blk = row + 144 * b;
            uint8_t *p = out + 144 * b;
            __m512i v[4];
            sdk_unpack_k4(blk + 16, v);
            memcpy(p, blk, 16);
            _mm512_storeu_si512(p + 16, sdk_pack_nibbles(v[0], v[1]));
            _mm512_storeu_si512(p + 80, sdk_pack_nibbles(v[2], v[3]));
        }
    }
    return 1;
}

// Q6_K "native" layout (same 210 bytes per block, repacked at load): the four unpacked vectors' low
// nibbles in two 64-byte regions (A = v0 | v1 << 4, B = v2 | v3 << 4), their high 2 bits in one
// (H = v0 >> 4 | (v1 >> 4) << 2 | (v2 >> 4) << 4 | (v3 >> 4) << 6), then the 16 int8 scales in
// accumulator-lane order (lane p: group q6_group[p]) and the f16 d. Unpacking is then 3 loads and a
// few logic operations instead of byte gathers; the vectors and scales are the same numbers.

SDK_TARGET SDK_INLINE void sdk_unpack_native_q6K(const uint8_t *row, long cols, long b, sdk_wblk *o) {
    (void)cols;
    const uint8_t *blk = row + 210 * b;
    const __m512i m30 = _mm512_set1_epi8(0x30);
    const __m512i h = _mm512_loadu_si512(blk + 128);
    sdk_unpack_nibbles(_mm512_loadu_si512(blk), &o->v[0], &o->v[1]);
    sdk_unpack_nibbles(_mm512_loadu_si512(blk + 64), &o->v[2], &o->v[3]);
    // v[k] gets bits 2k, 2k+1 of h as its bits 4-5 (16-bit shifts: bits crossing into the neighbouring
    // byte are masked off)
    o->v[0] = _mm512_or_si512(o->v[0], _mm512_and_si512(_mm512_slli_epi16(h, 4), m30));
    o->v[1] = _mm512_or_si512(o->v[1], _mm512_and_si512(_mm512_slli_epi16(h, 2), m30));
    o->v[2] = _mm512_or_si512(o->v[2], _mm512_and_si512(h, m30));
    o->v[3] = _mm512_or_si512(o->v[3], _mm512_and_si512(_mm512_srli_epi16(h, 2), m30));
    const __m512 sc = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(blk + 192))));
    o->fsc = _mm512_mul_ps(sc, _mm512_set1_ps(sdk_h2f(blk + 208)));
    o->minv = _mm512_setzero_ps();
    sdk_signed(o, 32);
}

SDK_TARGET int sdk_repack_q6K_rows(const void *src, void *dst, long rows, long cols) {
    if (cols % 256 != 0) return 0;
    sdk_init_tables();
    const long nb = cols / 256;
    const __m512i three = _mm512_set1_epi8(3);
    for (long r = 0; r < rows; r++) {
        const uint8_t *row = (const uint8_t *)src + r * 210 * nb;
        uint8_t *out = (uint8_t *)dst + r * 210 * nb;
        for (long b = 0; b < nb; b++) {
            sdk_wblk w;
            sdk_unpack_q6K_unsigned(row, cols, b, &w);
            const uint8_t *blk = row + 210 * b;
            uint8_t *p = out + 210 * b;
            __m512i hi[4];
            for (int k = 0; k < 4; k++) hi[k] = _mm512_and_si512(_mm512_srli_epi16(w.v[k], 4), three);
            _mm512_storeu_si512(p, sdk_pack_nibbles(w.v[0], w.v[1]));
            _mm512_storeu_si512(p + 64, sdk_pack_nibbles(w.v[2], w.v[3]));
            const __m512i h = _mm512_or_si512(_mm512_or_si512(hi[0], _mm512_slli_epi16(hi[1], 2)),
                                              _mm512_or_si512(_mm512_slli_epi16(hi[2], 4), _mm512_slli_epi16(hi[3], 6)));
            _mm512_storeu_si512(p + 128, h);
            for (int l = 0; l < 16; l++) p[192 + l] = blk[192 + sdk_k_tables.q6_group[l]];
            p[208] = blk[208];
            p[209] = blk[209];
        }
    }
    return 1;
}

SDK_DISPATCH_QUANT(sdk_rows_q4_K, SDK_MODE_K45, sdk_unpack_q4K)
SDK_DISPATCH_QUANT(sdk_rows_q5_K, SDK_MODE_K45, sdk_unpack_q5K)
SDK_DISPATCH_QUANT(sdk_rows_q6_K, SDK_MODE_K6, sdk_unpack_q6K)
SDK_DISPATCH_QUANT(sdk_rows_native_q6_K, SDK_MODE_K6, sdk_unpack_native_q6K)
SDK_DISPATCH_QUANT(sdk_rows_native_q4_K, SDK_MODE_K45, sdk_unpack_native_q4K)

#else

long sdk_scales_k4_mismatches(const uint8_t *headers, long n) {
    (void)headers; (void)n;
    return 0;  // one decoder only
}

#endif  // SDK_X86
