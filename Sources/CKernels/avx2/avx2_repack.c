// The AVX2 packed ("native") weight layouts, built at load from the GGUF layout (same size per block).
//
// A 256-value block (K-quants) or super-block of 8 legacy blocks is unpacked by the kernels into eight
// 32-byte vectors v0..v7 of small unsigned values (Q8_0: signed), in the order of sdk2_perm:
//   8-group formats (Q4_K, Q5_K sub-blocks of 32; Q4_0..Q8_0 blocks of 32): v_k byte 4j + t = element
//     32j + 4k + t, so 32-bit lane j of every vector belongs to group j;
//   Q6_K (16 groups of 16): v_k byte 2g + t = element 16g + 2k + t, so 16-bit lane g belongs to group g.
// Stored (offsets for a full block; a legacy super-block of n < 8 blocks scales every region by n/8):
//   Q4_K (144): the 16-byte GGUF header (d, dmin, 12 scale bytes), P0..P3 (Pi = v2i | v2i+1 << 4)
//   Q5_K (176): header, P0..P3, H (32 bytes: bit k of byte b = bit 4 of v_k byte b)
//   Q6_K (210): P0..P3 (low nibbles), H0, H1 (Hj byte b: bits 2m, 2m+1 = bits 4-5 of v_{4j+m} byte b),
//               16 int8 scales (GGUF order), f16 d
//   Q4_0 (144): P0..P3, 8 f16 d          Q4_1 (160): P0..P3, 8 f16 d, 8 f16 m
//   Q5_0 (176): P0..P3, H, 8 f16 d       Q5_1 (192): P0..P3, H, 8 f16 d, 8 f16 m
//   Q8_0 (272): v0..v7 (signed), 8 f16 d
#include "avx2_common.h"

/// Built for AVX2 where it exists (the loops vectorize 32 bytes wide); plain C elsewhere.
#if SDK2_X86
#define SDK2_RT SDK2_TARGET
#else
#define SDK2_RT
#endif

uint8_t sdk2_perm[2][256];

#include <pthread.h>
static pthread_once_t sdk2_once = PTHREAD_ONCE_INIT;

static void sdk2_build_tables(void) {
    for (int i = 0; i < 256; i++) {
        const int k = i / 32, b = i % 32;
        sdk2_perm[0][i] = (uint8_t)(32 * (b / 4) + 4 * k + b % 4);
        sdk2_perm[1][i] = (uint8_t)(16 * (b / 2) + 2 * k + b % 2);
    }
}

void sdk2_init_tables(void) { pthread_once(&sdk2_once, sdk2_build_tables); }

const uint8_t *sdk_avx2_permutation(int type) {
    sdk2_init_tables();
    return sdk2_perm[type == 14 ? 1 : 0];
}

/// Natural-order values of one K-quant block (unsigned: 4, 5 or 6 bits).
SDK2_RT static void sdk2_natural_k(int type, const uint8_t *blk, uint8_t u[256]) {
    if (type == 14) {
        for (int n = 0; n < 2; n++) {
            const uint8_t *ql = blk + 64 * n, *qh = blk + 128 + 32 * n;
            uint8_t *o = u + 128 * n;
            for (int l = 0; l < 32; l++) {
                o[l] = (uint8_t)((ql[l] & 15) | ((qh[l] & 3) << 4));
                o[l + 32] = (uint8_t)((ql[l + 32] & 15) | (((qh[l] >> 2) & 3) << 4));
                o[l + 64] = (uint8_t)((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4));
                o[l + 96] = (uint8_t)((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4));
            }
        }
        return;
    }
    const int five = type == 13;
    const uint8_t *qs = blk + (five ? 48 : 16), *qh = blk + 16;
    for (int c = 0; c < 4; c++) {
        for (int l = 0; l < 32; l++) {
            uint8_t lo = qs[32 * c + l] & 15, hi = qs[32 * c + l] >> 4;
            if (five) {
                lo |= (uint8_t)(((qh[l] >> (2 * c)) & 1) << 4);
                hi |= (uint8_t)(((qh[l] >> (2 * c + 1)) & 1) << 4);
            }
            u[64 * c + l] = lo;
            u[64 * c + 32 + l] = hi;
        }
    }
}

/// Natural-order values of one legacy block (32 values; Q8_0 signed as bytes).
SDK2_RT static void sdk2_natural_legacy(int type, const uint8_t *blk, uint8_t *u) {
    switch (type) {
    case 8: memcpy(u, blk + 2, 32); return;
    case 2: case 3: {
        const uint8_t *qs = blk + (type == 2 ? 2 : 4);
        for (int j = 0; j < 16; j++) { u[j] = qs[j] & 15; u[j + 16] = qs[j] >> 4; }
        return;
    }
    default: {  // 6, 7: Q5_0, Q5_1
        uint32_t qh;
        memcpy(&qh, blk + (type == 6 ? 2 : 4), 4);
        const uint8_t *qs = blk + (type == 6 ? 6 : 8);
        for (int j = 0; j < 16; j++) {
            u[j] = (uint8_t)((qs[j] & 15) | (((qh >> j) & 1) << 4));
            u[j + 16] = (uint8_t)((qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4));
        }
        return;
    }
    }
}

/// The 8 unpacked vectors (256 bytes, v_k at 32k) of natural values u, in the order of sdk2_perm[six]:
/// a transpose of 8 x 8 32-bit words (8 groups of 32) or of 16 x 8 16-bit words (Q6_K's 16 groups).
SDK2_RT static void sdk2_vectors(int six, const uint8_t u[256], uint8_t v[256]) {
    if (six) {
        uint16_t a[128], b[128];
        memcpy(a, u, 256);
        for (int g = 0; g < 16; g++)
            for (int k = 0; k < 8; k++) b[16 * k + g] = a[8 * g + k];
        memcpy(v, b, 256);
    } else {
        uint32_t a[64], b[64];
        memcpy(a, u, 256);
        for (int j = 0; j < 8; j++)
            for (int k = 0; k < 8; k++) b[8 * k + j] = a[8 * j + k];
        memcpy(v, b, 256);
    }
}

/// Writes the nibble planes P0..P3 (region r of `lanes` 32-bit lanes each: 4*lanes bytes) of v.
SDK2_RT static uint8_t *sdk2_put_nibbles(const uint8_t v[256], long lanes, uint8_t *p) {
    for (int i = 0; i < 4; i++)
        for (long b = 0; b < 4 * lanes; b++) *p++ = (uint8_t)((v[64 * i + b] & 15) | ((v[64 * i + 32 + b] & 15) << 4));
    return p;
}

/// Writes H (bit k of byte b = bit 4 of v_k byte b) for `lanes` lanes.
SDK2_RT static uint8_t *sdk2_put_high1(const uint8_t v[256], long lanes, uint8_t *p) {
    for (long b = 0; b < 4 * lanes; b++) {
        uint8_t h = 0;
        for (int k = 0; k < 8; k++) h |= (uint8_t)(((v[32 * k + b] >> 4) & 1) << k);
        *p++ = h;
    }
    return p;
}

SDK2_RT void sdk2_pack_k_block(int type, const uint8_t *src, uint8_t *dst) {
    sdk2_init_tables();
    uint8_t u[256], v[256];
    sdk2_natural_k(type, src, u);
    sdk2_vectors(type == 14, u, v);
    if (type == 14) {
        uint8_t *p = sdk2_put_nibbles(v, 8, dst);
        for (int j = 0; j < 2; j++)
            for (int b = 0; b < 32; b++) {
                uint8_t h = 0;
                for (int m = 0; m < 4; m++) h |= (uint8_t)(((v[32 * (4 * j + m) + b] >> 4) & 3) << (2 * m));
                *p++ = h;
            }
        memcpy(p, src + 192, 18);  // scales, d
        return;
    }
    memcpy(dst, src, 16);
    uint8_t *p = sdk2_put_nibbles(v, 8, dst + 16);
    if (type == 13) sdk2_put_high1(v, 8, p);
}

/// Block bytes of a legacy ggml type, or 0.
static int sdk2_legacy_bytes(int type) {
    switch (type) {
    case 2: return 18;
    case 3: return 20;
    case 6: return 22;
    case 7: return 24;
    case 8: return 34;
    default: return 0;
    }
}

SDK2_RT void sdk2_pack_legacy_sb(int type, const uint8_t *row, long cols, long sb, long nl, uint8_t *dst) {
    sdk2_init_tables();
    const int bs = sdk2_legacy_bytes(type);
    const long nblocks = cols / 32;
    const long n = nblocks - 8 * sb < 8 ? nblocks - 8 * sb : 8;
    const uint8_t *blk = row + 8 * bs * sb;
    uint8_t u[256], v[256];
    memset(u, 0, sizeof u);
    for (long j = 0; j < n; j++) sdk2_natural_legacy(type, blk + bs * j, u + 32 * j);
    sdk2_vectors(0, u, v);
    uint8_t *p = dst;
    if (type == 8) {
        for (int k = 0; k < 8; k++) {
            memcpy(p, v + 32 * k, (size_t)(4 * nl));
            p += 4 * nl;
        }
    } else {
        p = sdk2_put_nibbles(v, nl, p);
        if (type == 6 || type == 7) p = sdk2_put_high1(v, nl, p);
    }
    // f16 d (then m): the missing blocks of a padded super-block get zeros
    memset(p, 0, (size_t)(2 * nl * ((type == 3 || type == 7) ? 2 : 1)));
    for (long j = 0; j < n; j++) memcpy(p + 2 * j, blk + bs * j, 2);
    if (type == 3 || type == 7)
        for (long j = 0; j < n; j++) memcpy(p + 2 * nl + 2 * j, blk + bs * j + 2, 2);
}

SDK2_RT int sdk_avx2_repack(int type, const void *src, void *dst, long rows, long cols) {
    const uint8_t *s = (const uint8_t *)src;
    uint8_t *d = (uint8_t *)dst;
    if (type == 12 || type == 13 || type == 14) {
        if (cols % 256 != 0) return 0;
        const long bb = type == 12 ? 144 : type == 13 ? 176 : 210;
        const long blocks = rows * (cols / 256);
        for (long b = 0; b < blocks; b++) sdk2_pack_k_block(type, s + bb * b, d + bb * b);
        return 1;
    }
    const int bs = sdk2_legacy_bytes(type);
    if (bs == 0 || cols % 32 != 0) return 0;
    const long nblocks = cols / 32, rowBytes = nblocks * bs, nsb = (nblocks + 7) / 8;
    for (long r = 0; r < rows; r++) {
        for (long sb = 0; sb < nsb; sb++) {
            const long n = nblocks - 8 * sb < 8 ? nblocks - 8 * sb : 8;
            sdk2_pack_legacy_sb(type, s + r * rowBytes, cols, sb, n, d + r * rowBytes + 8 * bs * sb);
        }
    }
    return 1;
}
