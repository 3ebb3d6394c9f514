// Byte-order tables of the K-quant kernels (built once, from the formulas documented in
// Sources/Kernels/KPermutation.swift, which the tests compare against).
#include "common.h"
#include <pthread.h>

#if SDK_X86

sdk_k_tables_t sdk_k_tables;
static pthread_once_t sdk_once = PTHREAD_ONCE_INIT;

/// Element (0..255) held by byte i (0..255) of the four unpacked Q4_K/Q5_K vectors.
static int perm_k4(int i) {
    static const int rqC[8] = {0, 1, 4, 5, 8, 9, 12, 13}, rqD[8] = {2, 3, 6, 7, 10, 11, 14, 15};
    const int k = i / 64, q = (i % 64) / 8, t = i % 8;
    const int rq = k < 2 ? rqC[q] : rqD[q];
    const int b = (k % 2 == 0) ? t % 4 : t % 4 + 4;
    const int l = 8 * rq + b;
    return 64 * (l / 32) + (t >= 4 ? 32 : 0) + l % 32;
}

/// Element (0..255) held by byte i of the four unpacked Q6_K vectors.
static int perm_k6(int i) {
    const int k = i / 64, q = (i % 64) / 8, t = i % 8;
    const int rq = 2 * q + (k >= 2 ? 1 : 0);
    const int b = (k % 2 == 0) ? t % 4 : t % 4 + 4;
    const int j = 8 * rq + b;
    return 128 * (j / 64) + (t >= 4 ? 64 : 0) + j % 64;
}

/// Element (0..255) of a legacy super-block held by byte i of the four unpacked vectors.
static int perm_l4(int i) {
    const int k = i / 64, q = (i % 64) / 8, t = i % 8;
    const int b = (k % 2 == 0) ? t % 4 : t % 4 + 4;
    return 32 * q + 8 * (k >= 2) + b + (t >= 4 ? 16 : 0);
}

static int perm_l8(int i) { return 32 * ((i % 64) / 8) + 8 * (i / 64) + i % 8; }

static void sdk_build_legacy(sdk_leg_tables_t *L, int bs, int qsOff, int qhOff) {
    for (int i = 0; i < 64; i++) {
        const int j = i / 16, m = i % 16;
        L->qsA[i] = (uint8_t)(bs * j + qsOff + m);
        L->qsB[i] = (uint8_t)(bs * (j + 4) + qsOff + m - 64);
        const int lane = i / 2, blk = lane / 2, byte = i % 2;
        L->dA[i] = (uint8_t)((bs * blk + byte) & 127);
        L->dB[i] = (uint8_t)((bs * blk + byte - 64) & 127);
        L->mA[i] = (uint8_t)((bs * blk + 2 + byte) & 127);
        L->mB[i] = (uint8_t)((bs * blk + 2 + byte - 64) & 127);
        const int qb = i / 8, r = i % 8 < 4 ? i % 8 : 0;
        L->qhA[i] = (uint8_t)((bs * qb + qhOff + r) & 127);
        L->qhB[i] = (uint8_t)((bs * qb + qhOff + r - 64) & 127);
    }
}

static void sdk_build_tables(void) {
    sdk_k_tables_t *T = &sdk_k_tables;
    for (int i = 0; i < 256; i++) {
        const int e4 = perm_k4(i), e6 = perm_k6(i);
        T->perm[0][i] = (uint8_t)e4;
        T->perm[1][i] = (uint8_t)e6;
        // Q5_K: high bit of element e is bit e/32 of qh[e%32].
        T->q5_qh_index[i] = (uint8_t)(e4 % 32);
        T->q5_qh_bit[i] = (uint8_t)(1u << (e4 / 32));
        // Q6_K: high bits of element e are bits 2i', 2i'+1 of qh[32h + l], e = 128h + 32i' + l;
        // multishift offset puts them at bits 4..5 of the result byte.
        const int h = e6 / 128, ip = (e6 % 128) / 32, l = e6 % 32;
        T->q6_qh_index[i] = (uint8_t)(32 * h + l);
        T->q6_qh_shift[i] = (uint8_t)((8 * (i % 8) + 2 * ip - 4 + 64) % 64);
    }
    // multishift controls picking low then high nibbles of bytes 0..3 (c1) or 4..7 (c2) of each qword.
    for (int i = 0; i < 64; i++) {
        const int t = i % 8;
        T->ms_lo[i] = (uint8_t)(t < 4 ? 8 * t : 8 * (t - 4) + 4);
        T->ms_hi[i] = (uint8_t)(t < 4 ? 8 * (t + 4) : 8 * t + 4);
    }
    // Q6_K: lane p of the accumulator holds group g(p).
    static const int gq[8] = {0, 1, 2, 3, 8, 9, 10, 11};
    for (int p = 0; p < 16; p++) {
        T->q6_group[p] = gq[p / 2] + (p % 2 ? 4 : 0);
        T->k4_sub[p] = 2 * (p / 4) + p % 2;
    }
    for (int i = 0; i < 256; i++) {
        const int e = perm_l4(i);
        T->lperm[0][i] = (uint8_t)e;
        T->lperm[1][i] = (uint8_t)perm_l8(i);
        T->l5_bitpos[i] = (uint8_t)(e % 32);
    }
    for (int i = 0; i < 64; i++) {
        T->q8_idx[i] = (uint8_t)(34 * ((i / 8) % 4) + 2 + i % 8);
        const int blk = i / 4, byte = i % 2;
        T->q8_dA[i] = (uint8_t)((34 * blk + byte) & 127);
        T->q8_dB[i] = (uint8_t)((34 * blk + byte - 128) & 127);
    }
    sdk_build_legacy(&T->leg[0], 18, 2, 0);
    sdk_build_legacy(&T->leg[1], 20, 4, 0);
    sdk_build_legacy(&T->leg[2], 22, 6, 2);
    sdk_build_legacy(&T->leg[3], 24, 8, 4);
}

void sdk_init_tables(void) { pthread_once(&sdk_once, sdk_build_tables); }

const uint8_t *sdk_k_permutation(int type) {
    sdk_init_tables();
    switch (type) {
    case 12: case 13: return sdk_k_tables.perm[0];
    case 14: return sdk_k_tables.perm[1];
    case 8: return sdk_k_tables.lperm[1];
    default: return sdk_k_tables.lperm[0];
    }
}

#endif  // SDK_X86
