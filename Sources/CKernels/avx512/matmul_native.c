// Legacy 32-value block weights (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) repacked at load time into a layout the
// kernels unpack with plain loads ("native" layout, same size as the GGUF data).
//
// A row keeps its GGUF size; each super-block of n <= 8 blocks (8 except maybe the last one of a row)
// is stored as:
//   Q8_0:  4 regions of 8n bytes (vector k: qword q = values 8k..8k+7 of block q, signed), then n f16 d
//   Q4_*:  2 regions of 8n bytes (region h, byte 8q+t: v[2h][8q+t] | v[2h+1][8q+t] << 4), n f16 d, [Q4_1: n f16 m]
//   Q5_*:  the Q4 nibbles, then 4 regions of n bytes (bit t of byte q of region k: bit 4 of v[k][8q+t]),
//          n f16 d, [Q5_1: n f16 m]
// where v[0..3] are the unpacked vectors of matmul_legacy.c (same byte order, so the activation layout is
// unchanged). Full super-blocks therefore unpack with 2 or 4 vector loads and a few logic ops.
#include "quant_core.h"

#if SDK_X86

/// The unpack of the GGUF layout (matmul_legacy.c), used here to build the native layout.
void sdk_unpack_legacy_ref(const uint8_t *row, long cols, long sb, int f, __m512i v[4]);

/// Lane p of the accumulator holds block p / 2: spreads 8 per-block floats over 16 lanes.
SDK_TARGET SDK_INLINE __m512 sdk_lanes8(const uint8_t *p, long n) {
    const __m128i h = n == 8 ? _mm_loadu_si128((const __m128i *)p) : _mm_maskz_loadu_epi16((__mmask8)((1u << n) - 1), p);
    const __m512i idx = _mm512_set_epi32(7, 7, 6, 6, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 0, 0);
    return _mm512_permutexvar_ps(idx, _mm512_castps256_ps512(_mm256_cvtph_ps(h)));
}

/// 8n bytes at p as the first n qwords of a vector (the rest zero).
SDK_TARGET SDK_INLINE __m512i sdk_loadq(const uint8_t *p, long n) {
    return n == 8 ? _mm512_loadu_si512(p) : _mm512_maskz_loadu_epi64((__mmask8)((1u << n) - 1), p);
}

SDK_TARGET SDK_INLINE void sdk_unpack_native(const uint8_t *row, long cols, long sb, sdk_wblk *o, const int f,
                                             const int bs) {
    const long nblocks = cols / 32;
    const uint8_t *p = row + 8 * bs * sb;
    const long n = nblocks - 8 * sb < 8 ? nblocks - 8 * sb : 8;
    if (f == 4) {
        for (int k = 0; k < 4; k++) o->v[k] = sdk_loadq(p + 8 * n * k, n);
        o->fsc = sdk_lanes8(p + 32 * n, n);
        o->minv = _mm512_setzero_ps();
        sdk_signed(o, 0);  // stored signed
        return;
    }
    sdk_unpack_nibbles(sdk_loadq(p, n), &o->v[0], &o->v[1]);
    sdk_unpack_nibbles(sdk_loadq(p + 8 * n, n), &o->v[2], &o->v[3]);
    const uint8_t *q = p + 16 * n;
    if (f == 2 || f == 3) {
        const __m512i sixteen = _mm512_set1_epi8(16);
        // Byte i of v[k] gets bit i of the region's 8 bytes (vpshufbitqmb turns them into a mask without a
        // trip through a general register: Q5_0 matmul per core at batch 8 165 -> 182 GMAC/s).
        const __m512i bitIndex = _mm512_set_epi8(63, 62, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47, 46,
                                                 45, 44, 43, 42, 41, 40, 39, 38, 37, 36, 35, 34, 33, 32, 31, 30, 29, 28,
                                                 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10,
                                                 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
        const __mmask64 keep = n < 8 ? (__mmask64)((1ULL << (8 * n)) - 1) : ~(__mmask64)0;
        for (int k = 0; k < 4; k++) {
            uint64_t bits;
            memcpy(&bits, q + n * k, 8);  // may read up to 7 bytes past the region (buffers are padded)
            const __mmask64 hb = _mm512_bitshuffle_epi64_mask(_mm512_set1_epi64((long long)bits), bitIndex) & keep;
            o->v[k] = _mm512_mask_add_epi8(o->v[k], hb, o->v[k], sixteen);
        }
        q += 4 * n;
    }
    if (f == 0 || f == 2) sdk_signed(o, f == 0 ? 8 : 16);
    o->fsc = sdk_lanes8(q, n);
    o->minv = (f == 1 || f == 3) ? sdk_lanes8(q + 2 * n, n) : _mm512_setzero_ps();
}

SDK_LEGACY_FORMATS(sdk_rows_native_, sdk_unpack_native)

/// Format index and block bytes of a legacy ggml type, or -1.
static int sdk_legacy_format(int type, int *bs) {
    switch (type) {
    case 2: *bs = 18; return 0;
    case 3: *bs = 20; return 1;
    case 6: *bs = 22; return 2;
    case 7: *bs = 24; return 3;
    case 8: *bs = 34; return 4;
    default: return -1;
    }
}

SDK_TARGET int sdk_repack_legacy_rows(int type, const void *src, void *dst, long rows, long cols) {
    int bs;
    const int f = sdk_legacy_format(type, &bs);
    if (f < 0 || cols % 32 != 0) return 0;
    sdk_init_tables();
    const long nblocks = cols / 32, rowBytes = nblocks * bs, nsb = (nblocks + 7) / 8;
    for (long r = 0; r < rows; r++) {
        const uint8_t *row = (const uint8_t *)src + r * rowBytes;
        uint8_t *out = (uint8_t *)dst + r * rowBytes;
        for (long sb = 0; sb < nsb; sb++) {
            const long n = nblocks - 8 * sb < 8 ? nblocks - 8 * sb : 8;
            const __mmask8 kq = (__mmask8)((1u << n) - 1);
            const uint8_t *blk = row + 8 * bs * sb;
            uint8_t *p = out + 8 * bs * sb;
            __m512i v[4];
            sdk_unpack_legacy_ref(row, cols, sb, f, v);
            if (f == 4) {
                for (int k = 0; k < 4; k++) _mm512_mask_storeu_epi64(p + 8 * n * k, kq, v[k]);
                p += 32 * n;
            } else {
                const __m512i a = sdk_pack_nibbles(v[0], v[1]), b = sdk_pack_nibbles(v[2], v[3]);
                _mm512_mask_storeu_epi64(p, kq, a);
                _mm512_mask_storeu_epi64(p + 8 * n, kq, b);
                p += 16 * n;
                if (f == 2 || f == 3) {
                    for (int k = 0; k < 4; k++) {
                        const uint64_t bits = _cvtmask64_u64(_mm512_test_epi8_mask(v[k], _mm512_set1_epi8(16)));
                        memcpy(p + n * k, &bits, (size_t)n);
                    }
                    p += 4 * n;
                }
            }
            for (long j = 0; j < n; j++) memcpy(p + 2 * j, blk + bs * j, 2);  // d
            p += 2 * n;
            if (f == 1 || f == 3)
                for (long j = 0; j < n; j++) memcpy(p + 2 * j, blk + bs * j + 2, 2);  // m
        }
    }
    return 1;
}

#endif  // SDK_X86
