// The AVX2 8 x 8 transpose of 4-byte elements shared by the GEMM's panel packing (sgemm.cpp) and
// the transposing copy (copy.cpp). Rows arrive in registers (the caller loads them, or zeros for
// absent rows); row r of the transpose is stored at dst + r * ld. x86-64 only; callers check
// kernel_isa() >= Isa::avx2 (tensor/cpu/isa.h) first.
#pragma once

#if defined(__x86_64__)
#include <immintrin.h>

#include <cstdint>

namespace iris::cpu {

__attribute__((target("avx2"), always_inline)) inline void transpose8_store(__m256 r0, __m256 r1, __m256 r2, __m256 r3,
                                                                          __m256 r4, __m256 r5, __m256 r6, __m256 r7,
                                                                          float* dst, int64_t ld) {
  // interleave pairs, then quads, then swap 128-bit halves
  __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1), t2 = _mm256_unpacklo_ps(r2, r3),
         t3 = _mm256_unpackhi_ps(r2, r3), t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5),
         t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE),
         u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE),
         u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE),
         u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  _mm256_storeu_ps(dst, _mm256_permute2f128_ps(u0, u4, 0x20));
  _mm256_storeu_ps(dst + ld, _mm256_permute2f128_ps(u1, u5, 0x20));
  _mm256_storeu_ps(dst + 2 * ld, _mm256_permute2f128_ps(u2, u6, 0x20));
  _mm256_storeu_ps(dst + 3 * ld, _mm256_permute2f128_ps(u3, u7, 0x20));
  _mm256_storeu_ps(dst + 4 * ld, _mm256_permute2f128_ps(u0, u4, 0x31));
  _mm256_storeu_ps(dst + 5 * ld, _mm256_permute2f128_ps(u1, u5, 0x31));
  _mm256_storeu_ps(dst + 6 * ld, _mm256_permute2f128_ps(u2, u6, 0x31));
  _mm256_storeu_ps(dst + 7 * ld, _mm256_permute2f128_ps(u3, u7, 0x31));
}

}  // namespace iris::cpu

#endif
