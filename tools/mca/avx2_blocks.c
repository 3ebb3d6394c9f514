// One block of the AVX2 kernels at batch 1 per format, between llvm-mca region markers (run.sh).
#include "../../Sources/CKernels/avx2/avx2_matmul.c"
#define LOOP(name, UNPACK, MODE, G, BB) \
SDK2_TARGET float name(const uint8_t *w, const uint8_t *act, long n) { \
    __m256 acc = _mm256_setzero_ps(); \
    for (long b = 0; b < n; b++) { \
        __asm volatile("# LLVM-MCA-BEGIN " #name); \
        sdk2_wblk wb; UNPACK(w, 0, b, &wb); \
        acc = sdk2_column(&wb, act + 256 * b, act + 4096 + 128 * b, acc, MODE, G); \
        __asm volatile("# LLVM-MCA-END " #name); \
    } \
    return sdk2_hsum(acc); }
LOOP(q4K, sdk2_nq4K, SDK2_K45, 8, 144)
LOOP(q6K, sdk2_nq6K, SDK2_K6, 2, 210)
LOOP(q5K, sdk2_nq5K, SDK2_K45, 4, 176)
SDK2_TARGET float q8_0(const uint8_t *w, const uint8_t *act, long n) {
    __m256 acc = _mm256_setzero_ps();
    for (long b = 0; b < n; b++) {
        __asm volatile("# LLVM-MCA-BEGIN q8_0");
        sdk2_wblk wb; sdk2_unpack_legacy_full(w + 272 * b, &wb, 4);
        acc = sdk2_column(&wb, act + 256 * b, act + 4096 + 128 * b, acc, SDK2_Q8, 1);
        __asm volatile("# LLVM-MCA-END q8_0");
    }
    return sdk2_hsum(acc); }
SDK2_TARGET float q5_0(const uint8_t *w, const uint8_t *act, long n) {
    __m256 acc = _mm256_setzero_ps();
    for (long b = 0; b < n; b++) {
        __asm volatile("# LLVM-MCA-BEGIN q5_0");
        sdk2_wblk wb; sdk2_unpack_legacy_full(w + 176 * b, &wb, 2);
        acc = sdk2_column(&wb, act + 256 * b, act + 4096 + 128 * b, acc, SDK2_LOFF, 4);
        __asm volatile("# LLVM-MCA-END q5_0");
    }
    return sdk2_hsum(acc); }
