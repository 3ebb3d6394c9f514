// Pieces shared by the kernel sets (internal, plain C): the row tiling of a matrix product and the
// decode of Q4_K/Q5_K's packed 6-bit scales.
#ifndef SPECDEC_CKERNELS_TILING_H
#define SPECDEC_CKERNELS_TILING_H

#include <stdint.h>
#include <string.h>

/// A kernel set's row function: `nrows` weight rows (`rowBytes` apart) against `nb` activation columns
/// over units [u0, u1) of each row (256-value blocks or super-blocks, or single values for float
/// weights). `state` holds each row's partial accumulators between calls (`stateFloats` per row):
/// zeroed when `first`, reduced into out[row + c*ostride] when `last`. Before each row, `pfLen` bytes at
/// row + pfOff are prefetched into L2 (the segment that row needs next), for the first `pfRows` rows.
typedef void (*sdk_tile_fn)(const uint8_t *w, long rowBytes, long nrows, long cols, const uint8_t *act, long astride,
                            int nb, float *out, long ostride, long u0, long u1, float *state, int first, int last,
                            long pfOff, long pfLen, long pfRows);

/// How a kernel set tiles a product: rows handled together (so that a chunk of activations loaded into
/// L1 serves all of them), columns per pass, activation bytes kept in L1 per chunk, state floats per row.
typedef struct {
    long rowTile, maxNB, l1Budget, stateFloats;
} sdk_tiling_t;

/// Runs `fn` over rows [r0, r1) and all `batch` columns: row tiles, then passes of up to maxNB columns,
/// then chunks of units whose activations fit the L1 budget. `state` has rowTile * stateFloats floats.
static inline void sdk_tile_rows(sdk_tile_fn fn, sdk_tiling_t T, long unit, long unitBytes, long actPerUnit,
                                 const uint8_t *wb, long rowBytes, long r0, long r1, long cols, const uint8_t *ab,
                                 long actStride, long batch, float *out, long outStride, float *state) {
    const long units = (cols + unit - 1) / unit;
    for (long t0 = r0; t0 < r1; t0 += T.rowTile) {
        const long t1 = t0 + T.rowTile < r1 ? t0 + T.rowTile : r1;
        for (long c = 0; c < batch; c += T.maxNB) {
            const long nb = batch - c < T.maxNB ? batch - c : T.maxNB;
            long chunk = T.l1Budget / (nb * actPerUnit);
            if (unit == 1) chunk &= ~31L;
            if (chunk < (unit == 1 ? 32 : 1)) chunk = unit == 1 ? 32 : 1;
            for (long u0 = 0; u0 < units; u0 += chunk) {
                const long u1 = u0 + chunk < units ? u0 + chunk : units;
                // Rows are visited in segments when a row spans several chunks: each row prefetches the
                // segment it needs next (its next chunk, or the first chunk of the row one tile below).
                long pfOff = 0, pfLen = 0, pfRows = 0;
                if (chunk < units) {
                    pfLen = chunk * unitBytes;
                    if (u1 < units) {
                        pfOff = u1 * unitBytes;
                        pfRows = t1 - t0;
                    } else {
                        pfOff = T.rowTile * rowBytes;
                        pfRows = r1 - (t0 + T.rowTile);
                        if (pfRows > t1 - t0) pfRows = t1 - t0;
                    }
                }
                fn(wb + t0 * rowBytes, rowBytes, t1 - t0, cols, ab + c * actStride, actStride, (int)nb,
                   out + c * outStride + t0, outStride, u0, u1, state, u0 == 0, u1 == units, pfOff, pfLen, pfRows);
            }
        }
    }
}

/// The row loop of a kernel set's row function: runs `impl` (one row, NBC columns) over `nrows` rows,
/// each with its `state` (STATE floats per row). A row that has a segment to prefetch passes its start
/// `pf` and `pfStep`, the bytes to prefetch per unit of the current segment: the quantized kernels
/// prefetch them block by block as they compute. (Issued in one burst before the row, 69 prefetches
/// for a Q6_K row of Qwen 1.5B's feed-forward down projection stalled it: that projection at 2 columns
/// took 12.7-16.1 ms against 8.8-8.9 ms spread, `specdec speed --breakdown`, Zen 4.)
#define SDK_TILE_ROWS_LOOP(impl, NBC, STATE)                                                                 \
    {                                                                                                        \
        const long pfStep_ = pfLen > 0 && u1 > u0 ? (pfLen + (u1 - u0) - 1) / (u1 - u0) : 0;                \
        for (long i_ = 0; i_ < nrows; i_++) {                                                                \
            const uint8_t *row_ = w + i_ * rowBytes;                                                         \
            const uint8_t *pf_ = i_ < pfRows && pfStep_ > 0 ? row_ + pfOff : (const uint8_t *)0;            \
            impl(row_, cols, act, astride, NBC, out + i_, ostride, u0, u1, state + i_ * (STATE), first,      \
                 last, pf_, pfStep_);                                                                        \
        }                                                                                                    \
    }

/// The 8 scales (bytes 0-7) and 8 mins (bytes 8-15) of a Q4_K/Q5_K block, 6 bits each, from the 12
/// packed bytes at blk + 4 (ggml's get_scale_min_k4 masks, general-purpose registers).
static inline void sdk_k4_scale_bytes(const uint8_t *blk, uint32_t utmp[4]) {
    const uint32_t kmask1 = 0x3f3f3f3f, kmask2 = 0x0f0f0f0f, kmask3 = 0x03030303;
    memcpy(utmp, blk + 4, 12);
    utmp[3] = ((utmp[2] >> 4) & kmask2) | (((utmp[1] >> 6) & kmask3) << 4);
    const uint32_t uaux = utmp[1] & kmask1;
    utmp[1] = (utmp[2] & kmask2) | (((utmp[0] >> 6) & kmask3) << 4);
    utmp[2] = uaux;
    utmp[0] &= kmask1;
}

#endif
