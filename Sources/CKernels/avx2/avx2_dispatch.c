// The AVX2 set's CPU check and row-range entry point (the tiling of shared/tiling.h).
#include "SpecDecCKernels.h"
#include "avx2_common.h"

int sdk_avx2_supported(void) {
#if SDK2_X86
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
#else
    return 0;
#endif
}

#if SDK2_X86

/// Rows handled together, so that a chunk of activations loaded into L1 serves all of them.
#define SDK2_ROW_TILE 16
/// Activation bytes (all columns of one pass) kept in L1 per chunk.
#define SDK2_L1_BUDGET 16384

void sdk_avx2_matmul_rows(int type, const void *w, long rowBytes, long r0, long r1, long cols, const void *act,
                          long actStride, long batch, float *out, long outStride) {
    sdk2_row_fn fn;
    long unit;        // values per unit of work
    long unitBytes;   // weight bytes per unit
    long actPerUnit;  // activation bytes per unit and column
    const long q = 256 + SDK2_META;
    switch (type) {
    case 0: fn = sdk2_rows_f32; unit = 1; unitBytes = 4; actPerUnit = 4; break;
    case 1: fn = sdk2_rows_f16; unit = 1; unitBytes = 2; actPerUnit = 4; break;
    case 30: fn = sdk2_rows_bf16; unit = 1; unitBytes = 2; actPerUnit = 4; break;
    case 2: fn = sdk2_rows_q4_0; unit = 256; unitBytes = 144; actPerUnit = q; break;
    case 3: fn = sdk2_rows_q4_1; unit = 256; unitBytes = 160; actPerUnit = q; break;
    case 6: fn = sdk2_rows_q5_0; unit = 256; unitBytes = 176; actPerUnit = q; break;
    case 7: fn = sdk2_rows_q5_1; unit = 256; unitBytes = 192; actPerUnit = q; break;
    case 8: fn = sdk2_rows_q8_0; unit = 256; unitBytes = 272; actPerUnit = q; break;
    case 12: fn = sdk2_rows_q4_K; unit = 256; unitBytes = 144; actPerUnit = q; break;
    case 13: fn = sdk2_rows_q5_K; unit = 256; unitBytes = 176; actPerUnit = q; break;
    case 14: fn = sdk2_rows_q6_K; unit = 256; unitBytes = 210; actPerUnit = q; break;
    case 102: fn = sdk2_rows_native_q4_0; unit = 256; unitBytes = 144; actPerUnit = q; break;
    case 103: fn = sdk2_rows_native_q4_1; unit = 256; unitBytes = 160; actPerUnit = q; break;
    case 106: fn = sdk2_rows_native_q5_0; unit = 256; unitBytes = 176; actPerUnit = q; break;
    case 107: fn = sdk2_rows_native_q5_1; unit = 256; unitBytes = 192; actPerUnit = q; break;
    case 108: fn = sdk2_rows_native_q8_0; unit = 256; unitBytes = 272; actPerUnit = q; break;
    case 112: fn = sdk2_rows_native_q4_K; unit = 256; unitBytes = 144; actPerUnit = q; break;
    case 113: fn = sdk2_rows_native_q5_K; unit = 256; unitBytes = 176; actPerUnit = q; break;
    case 114: fn = sdk2_rows_native_q6_K; unit = 256; unitBytes = 210; actPerUnit = q; break;
    default: return;
    }
    sdk2_init_tables();
    float state[SDK2_ROW_TILE * SDK2_STATE] __attribute__((aligned(32)));
    const sdk_tiling_t tiling = {SDK2_ROW_TILE, SDK2_MAX_NB, SDK2_L1_BUDGET, SDK2_STATE};
    sdk_tile_rows(fn, tiling, unit, unitBytes, actPerUnit, (const uint8_t *)w, rowBytes, r0, r1, cols,
                  (const uint8_t *)act, actStride, batch, out, outStride, state);
}

#else  // not x86-64: only the CPU check is meaningful (it says no).

void sdk_avx2_matmul_rows(int type, const void *w, long rowBytes, long r0, long r1, long cols, const void *act,
                          long actStride, long batch, float *out, long outStride) {
    (void)type; (void)w; (void)rowBytes; (void)r0; (void)r1; (void)cols; (void)act; (void)actStride;
    (void)batch; (void)out; (void)outStride;
    __builtin_trap();
}
void sdk_avx2_quantize_act_k(const float *x, long nblocks, int8_t *qs, uint8_t *meta, int type) {
    (void)x; (void)nblocks; (void)qs; (void)meta; (void)type;
    __builtin_trap();
}
void sdk_avx2_quantize_act_legacy(const float *x, long n, int8_t *qs, uint8_t *meta, int type) {
    (void)x; (void)n; (void)qs; (void)meta; (void)type;
    __builtin_trap();
}
float sdk_avx2_dot_f32(const float *a, const float *b, long n) {
    (void)a; (void)b; (void)n;
    __builtin_trap();
}
void sdk_avx2_axpy_f32(float alpha, const float *x, float *y, long n) {
    (void)alpha; (void)x; (void)y; (void)n;
    __builtin_trap();
}
void sdk_avx2_silu_gate_f32(float *gate, const float *up, long n) {
    (void)gate; (void)up; (void)n;
    __builtin_trap();
}
void sdk_avx2_gelu_gate_f32(float *gate, const float *up, long n) {
    (void)gate; (void)up; (void)n;
    __builtin_trap();
}
void sdk_avx2_attend_f32(const float *q, long qstride, long m, const float *k, const float *v, long kvstride, long n,
                         long len, float scale, float *scores, float *out, long ostride) {
    (void)q; (void)qstride; (void)m; (void)k; (void)v; (void)kvstride; (void)n; (void)len; (void)scale;
    (void)scores; (void)out; (void)ostride;
    __builtin_trap();
}

#endif  // SDK2_X86
