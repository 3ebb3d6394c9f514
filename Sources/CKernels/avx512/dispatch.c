// CPU detection, activation quantizers and the row-range entry point.
#include "SpecDecCKernels.h"
#include "common.h"

int sdk_cpu_supported(void) {
#if SDK_X86
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vbmi") &&
           __builtin_cpu_supports("avx512bitalg") &&
           __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
#else
    return 0;
#endif
}

#if SDK_X86

/// max |x| over 16 floats.
SDK_TARGET SDK_INLINE float sdk_absmax16(__m512 v) {
    return _mm512_reduce_max_ps(_mm512_abs_ps(v));
}

SDK_TARGET void sdk_quantize_act_k(const float *x, long nblocks, int8_t *qs, uint8_t *meta, int type) {
    sdk_init_tables();
    const int six = type == 14;
    const uint8_t *perm = sdk_k_tables.perm[six];
    __m512i pidx[4];
    __mmask64 phi[4];
    for (int k = 0; k < 4; k++) {
        pidx[k] = _mm512_loadu_si512(perm + 64 * k);
        phi[k] = _mm512_movepi8_mask(pidx[k]);
    }
    for (long b = 0; b < nblocks; b++) {
        const float *xb = x + 256 * b;
        uint8_t *m = meta + SDK_KMETA * b;
        __m512 amaxv = _mm512_setzero_ps();
        for (int g = 0; g < 16; g++) amaxv = _mm512_max_ps(amaxv, _mm512_abs_ps(_mm512_loadu_ps(xb + 16 * g)));
        const float amax = _mm512_reduce_max_ps(amaxv);
        const float d = amax / 127.0f;
        const float id = amax > 0 ? 127.0f / amax : 0.0f;
        const __m512 idv = _mm512_set1_ps(id);
        int8_t tmp[256] __attribute__((aligned(64)));
        int bsums[16];
        for (int g = 0; g < 16; g++) {
            const __m512i q = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(xb + 16 * g), idv));
            _mm_store_si128((__m128i *)(tmp + 16 * g), _mm512_cvtepi32_epi8(q));
            bsums[g] = _mm512_reduce_add_epi32(q);
        }
        const __m512i t0 = _mm512_load_si512(tmp), t1 = _mm512_load_si512(tmp + 64);
        const __m512i t2 = _mm512_load_si512(tmp + 128), t3 = _mm512_load_si512(tmp + 192);
        // Q6_K: unsigned bytes q + 128 (its weights are signed, quant_core.h)
        const __m512i flip = _mm512_set1_epi8(six ? (char)0x80 : 0);
        for (int k = 0; k < 4; k++) {
            const __m512i lo = _mm512_permutex2var_epi8(t0, pidx[k], t1);
            const __m512i hi = _mm512_permutex2var_epi8(t2, pidx[k], t3);
            _mm512_storeu_si512(qs + 256 * b + 64 * k, _mm512_xor_si512(_mm512_mask_blend_epi8(phi[k], lo, hi), flip));
        }
        float fs[8];
        for (int j = 0; j < 8; j++) fs[j] = d * (float)(bsums[2 * j] + bsums[2 * j + 1]);
        memset(m, 0, SDK_KMETA);
        memcpy(m + SDK_KMETA_FSUM, fs, 32);
        memcpy(m + SDK_KMETA_D, &d, 4);
    }
}

SDK_TARGET void sdk_quantize_act_legacy(const float *x, long n, int8_t *qs, uint8_t *meta, int type) {
    sdk_init_tables();
    const int offset = type == 2 ? 8 : type == 6 ? 16 : type == 8 ? 128 : 0;
    const uint8_t *perm = sdk_k_tables.lperm[type == 8];
    __m512i pidx[4];
    __mmask64 phi[4];
    for (int k = 0; k < 4; k++) {
        pidx[k] = _mm512_loadu_si512(perm + 64 * k);
        phi[k] = _mm512_movepi8_mask(pidx[k]);
    }
    const long nblocks = n / 32;
    for (long sb = 0; sb < (nblocks + 7) / 8; sb++) {
        int8_t tmp[256] __attribute__((aligned(64)));
        float dl[16];
        memset(tmp, 0, sizeof tmp);
        for (int j = 0; j < 8; j++) {
            const long b = 8 * sb + j;
            float d = 0.0f;
            if (b < nblocks) {
                const __m512 x0 = _mm512_loadu_ps(x + 32 * b), x1 = _mm512_loadu_ps(x + 32 * b + 16);
                const float amax = sdk_absmax16(_mm512_max_ps(_mm512_abs_ps(x0), _mm512_abs_ps(x1)));
                d = amax / 127.0f;
                const __m512 idv = _mm512_set1_ps(amax > 0 ? 127.0f / amax : 0.0f);
                _mm_store_si128((__m128i *)(tmp + 32 * j), _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(x0, idv))));
                _mm_store_si128((__m128i *)(tmp + 32 * j + 16),
                                _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(x1, idv))));
            }
            dl[2 * j] = dl[2 * j + 1] = d;
        }
        const __m512i t0 = _mm512_load_si512(tmp), t1 = _mm512_load_si512(tmp + 64);
        const __m512i t2 = _mm512_load_si512(tmp + 128), t3 = _mm512_load_si512(tmp + 192);
        __m512i lanes = _mm512_setzero_si512();
        for (int k = 0; k < 4; k++) {
            const __m512i v = _mm512_mask_blend_epi8(phi[k], _mm512_permutex2var_epi8(t0, pidx[k], t1),
                                                     _mm512_permutex2var_epi8(t2, pidx[k], t3));
            // formats with an offset: unsigned bytes q + 128 (their weights are signed, quant_core.h)
            _mm512_storeu_si512(qs + 256 * sb + 64 * k, offset ? _mm512_xor_si512(v, _mm512_set1_epi8((char)0x80)) : v);
            if (!offset) lanes = _mm512_dpbusd_epi32(lanes, _mm512_set1_epi8(1), v);  // for Q4_1/Q5_1's lsum
        }
        uint8_t *m = meta + SDK_KMETA * sb;
        const __m512 dxv = _mm512_loadu_ps(dl);
        _mm512_storeu_ps((float *)(m + SDK_LMETA_DX), dxv);
        if (offset) {
            _mm512_storeu_si512(m + SDK_LMETA_AUX, _mm512_setzero_si512());
        } else {
            _mm512_storeu_ps((float *)(m + SDK_LMETA_AUX), _mm512_mul_ps(dxv, _mm512_cvtepi32_ps(lanes)));
        }
    }
}

/// Rows handled together, so that a chunk of activations loaded into L1 serves all of them.
#define SDK_ROW_TILE 16
/// Activation bytes (all columns of one pass) kept in L1 per chunk.
#define SDK_L1_BUDGET 16384

int sdk_repack(int type, const void *src, void *dst, long rows, long cols) {
    switch (type) {
    case 12: return sdk_repack_q4K_rows(src, dst, rows, cols);
    case 14: return sdk_repack_q6K_rows(src, dst, rows, cols);
    default: return sdk_repack_legacy_rows(type, src, dst, rows, cols);
    }
}

void sdk_matmul_rows(int type, const void *w, long rowBytes, long r0, long r1, long cols,
                     const void *act, long actStride, long batch, float *out, long outStride) {
    sdk_row_fn fn;
    long unit;          // values per unit of work
    long unitBytes;     // weight bytes per unit
    long actPerUnit;    // activation bytes per unit and column
    switch (type) {
    case 0: fn = sdk_rows_f32; unit = 1; unitBytes = 4; actPerUnit = 4; break;
    case 1: fn = sdk_rows_f16; unit = 1; unitBytes = 2; actPerUnit = 4; break;
    case 30: fn = sdk_rows_bf16; unit = 1; unitBytes = 2; actPerUnit = 4; break;
    case 2: fn = sdk_rows_q4_0; unit = 256; unitBytes = 144; actPerUnit = 256 + SDK_KMETA; break;
    case 3: fn = sdk_rows_q4_1; unit = 256; unitBytes = 160; actPerUnit = 256 + SDK_KMETA; break;
    case 6: fn = sdk_rows_q5_0; unit = 256; unitBytes = 176; actPerUnit = 256 + SDK_KMETA; break;
    case 7: fn = sdk_rows_q5_1; unit = 256; unitBytes = 192; actPerUnit = 256 + SDK_KMETA; break;
    case 8: fn = sdk_rows_q8_0; unit = 256; unitBytes = 272; actPerUnit = 256 + SDK_KMETA; break;
    case 102: fn = sdk_rows_native_q4_0; unit = 256; unitBytes = 144; actPerUnit = 256 + SDK_KMETA; break;
    case 103: fn = sdk_rows_native_q4_1; unit = 256; unitBytes = 160; actPerUnit = 256 + SDK_KMETA; break;
    case 106: fn = sdk_rows_native_q5_0; unit = 256; unitBytes = 176; actPerUnit = 256 + SDK_KMETA; break;
    case 107: fn = sdk_rows_native_q5_1; unit = 256; unitBytes = 192; actPerUnit = 256 + SDK_KMETA; break;
    case 108: fn = sdk_rows_native_q8_0; unit = 256; unitBytes = 272; actPerUnit = 256 + SDK_KMETA; break;
    case 12: fn = sdk_rows_q4_K; unit = 256; unitBytes = 144; actPerUnit = 256 + SDK_KMETA; break;
    case 112: fn = sdk_rows_native_q4_K; unit = 256; unitBytes = 144; actPerUnit = 256 + SDK_KMETA; break;
    case 13: fn = sdk_rows_q5_K; unit = 256; unitBytes = 176; actPerUnit = 256 + SDK_KMETA; break;
    case 14: fn = sdk_rows_q6_K; unit = 256; unitBytes = 210; actPerUnit = 256 + SDK_KMETA; break;
    case 114: fn = sdk_rows_native_q6_K; unit = 256; unitBytes = 210; actPerUnit = 256 + SDK_KMETA; break;
    default: return;
    }
    sdk_init_tables();
    float state[SDK_ROW_TILE * SDK_STATE] __attribute__((aligned(64)));
    const sdk_tiling_t tiling = {SDK_ROW_TILE, SDK_MAX_NB, SDK_L1_BUDGET, SDK_STATE};
    sdk_tile_rows(fn, tiling, unit, unitBytes, actPerUnit, (const uint8_t *)w, rowBytes, r0, r1, cols,
                  (const uint8_t *)act, actStride, batch, out, outStride, state);
}

#else  // not x86-64: only the CPU check is meaningful (it says no); the Swift kernels run instead.

void sdk_quantize_act_k(const float *x, long nblocks, int8_t *qs, uint8_t *meta, int type) {
    (void)x; (void)nblocks; (void)qs; (void)meta; (void)type;
    __builtin_trap();
}
void sdk_quantize_act_legacy(const float *x, long n, int8_t *qs, uint8_t *meta, int type) {
    (void)x; (void)n; (void)qs; (void)meta; (void)type;
    __builtin_trap();
}
void sdk_matmul_rows(int type, const void *w, long rowBytes, long r0, long r1, long cols, const void *act,
                     long actStride, long batch, float *out, long outStride) {
    (void)type; (void)w; (void)rowBytes; (void)r0; (void)r1; (void)cols; (void)act; (void)actStride;
    (void)batch; (void)out; (void)outStride;
    __builtin_trap();
}
const uint8_t *sdk_k_permutation(int type) { (void)type; return 0; }
float sdk_dot_f32(const float *a, const float *b, long n) {
    float s = 0;
    for (long i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}
void sdk_axpy_f32(float alpha, const float *x, float *y, long n) {
    for (long i = 0; i < n; i++) y[i] += alpha * x[i];
}
int sdk_repack(int type, const void *src, void *dst, long rows, long cols) {
    (void)type; (void)src; (void)dst; (void)rows; (void)cols;
    return 0;  // no packed layout without the AVX-512 kernels
}

#endif  // SDK_X86
