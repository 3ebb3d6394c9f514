// One block of the AVX2 kernels at batch 1 per format, between llvm-mca region markers (run.sh).
#include "../../Sources/CKernels/avx2/avx2_matmul.c"
#define LOOP(name, UNPACK, MODE, G) \
SDK2_TARGET float name(const uint8_t *w, const uint8_t *act, long n) { \
    __m256 acc = _mm256_setzero_ps(); \
    for (long b = 0; b < n; b++) { \
        __asm volatile("# LLVM-MCA-BEGIN " #name); \
        sdk2_wblk wb; UNPACK(w, 0, b, &wb); \
        acc = sdk2_column(&wb, act + 256 * b, act + 4096 + 128 * b, acc, MODE, G); \
        __asm volatile("# LLVM-MCA-END " #name); \
    } \
    return sdk2_hsum(acc); }
LOOP(q4K, sdk2_nq4K, SDK2_K45, 8)
LOOP(q6K, sdk2_nq6K, SDK2_K6, 2)
LOOP(q5K, sdk2_nq5K, SDK2_K45, 4)
// legacy formats: a full super-block of 8 blocks (BB bytes), format index F of avx2_matmul.c
#define LOOP_LEGACY(name, F, MODE, G, BB) \
SDK2_TARGET float name(const uint8_t *w, const uint8_t *act, long n) { \
    __m256 acc = _mm256_setzero_ps(); \
    for (long b = 0; b < n; b++) { \
        __asm volatile("# LLVM-MCA-BEGIN " #name); \
        sdk2_wblk wb; sdk2_unpack_legacy_full(w + BB * b, &wb, F); \
        acc = sdk2_column(&wb, act + 256 * b, act + 4096 + 128 * b, acc, MODE, G); \
        __asm volatile("# LLVM-MCA-END " #name); \
    } \
    return sdk2_hsum(acc); }
LOOP_LEGACY(q8_0, 4, SDK2_Q8, 1, 272)
LOOP_LEGACY(q5_0, 2, SDK2_LOFF, 4, 176)
