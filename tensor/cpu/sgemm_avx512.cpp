// The 12 x 32 AVX-512 micro-kernel of the packed SGEMM (see sgemm_avx512.h for the layouts).
// Compiled for AVX-512 by target attribute only, so it exists in every x86-64 build and runs only
// where kernel_isa() is avx512 (tensor/cpu/isa.h). Leaves out: edge tiles (the AVX2 kernel's).
#include "tensor/cpu/sgemm_avx512.h"

#include <algorithm>
#include <ctime>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace iris::cpu {

#if defined(__x86_64__)

namespace {

constexpr int MR = 6, NR = 16;  // the packed panels' sizes (sgemm.cpp)

template <bool RowMajorA>
__attribute__((target("avx512f,avx512dq,avx512vl,avx512bw,fma"))) void tile_12x32(int64_t kc, const float* a,
                                                                                  int64_t lda, const float* b,
                                                                                  float* c, int64_t ldc, float alpha,
                                                                                  float beta, const float* bias) {
  // acc[r][0] holds row r's columns 0..15 (first B panel), acc[r][1] columns 16..31 (second).
  __m512 acc[12][2];
  for (int r = 0; r < 12; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  for (int r = 0; r < 12; ++r) {
    _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc + 31), _MM_HINT_T0);
  }
  const float* b0 = b;
  const float* b1 = b + kc * NR;
  // Where A's element (r, k) is: rows 0-5 in the first panel, 6-11 in the second, or row-major.
  const float* a_lo = a;
  const float* a_hi = RowMajorA ? a + 6 * lda : a + kc * MR;
#pragma GCC unroll 2
  for (int64_t k = 0; k < kc; ++k) {
    const __m512 x0 = _mm512_load_ps(b0 + k * NR), x1 = _mm512_load_ps(b1 + k * NR);
#pragma GCC unroll 12
    for (int r = 0; r < 12; ++r) {  // fully unrolled: acc stays in registers
      const float* ar = r < 6 ? (RowMajorA ? a_lo + r * lda + k : a_lo + k * MR + r)
                              : (RowMajorA ? a_hi + (r - 6) * lda + k : a_hi + k * MR + (r - 6));
      const __m512 ai = _mm512_set1_ps(*ar);
      acc[r][0] = _mm512_fmadd_ps(ai, x0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(ai, x1, acc[r][1]);
    }
  }
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  const __m512 bias_lo = bias ? _mm512_loadu_ps(bias) : _mm512_setzero_ps();
  const __m512 bias_hi = bias ? _mm512_loadu_ps(bias + 16) : _mm512_setzero_ps();
  for (int r = 0; r < 12; ++r) {
    float* row = c + r * ldc;
    __m512 lo = _mm512_fmadd_ps(acc[r][0], va, bias_lo), hi = _mm512_fmadd_ps(acc[r][1], va, bias_hi);
    if (beta != 0.0f) {
      lo = _mm512_fmadd_ps(vb, _mm512_loadu_ps(row), lo);
      hi = _mm512_fmadd_ps(vb, _mm512_loadu_ps(row + 16), hi);
    }
    _mm512_storeu_ps(row, lo);
    _mm512_storeu_ps(row + 16, hi);
  }
}

}  // namespace

void kernel_12x32_avx512(bool row_major_a, int64_t kc, const float* a, int64_t lda, const float* b, float* c,
                         int64_t ldc, float alpha, float beta, const float* bias) {
  if (row_major_a)
    tile_12x32<true>(kc, a, lda, b, c, ldc, alpha, beta, bias);
  else
    tile_12x32<false>(kc, a, lda, b, c, ldc, alpha, beta, bias);
}

namespace {

double thread_seconds() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

// Eight independent FMA chains of `reps` steps (enough to cover the latency): the throughput of
// one vector width, in FMAs per second of this thread's CPU time (not wall time: a busy host
// deschedules the probe without slowing it). One body, written out per width (each function must
// carry its own target attribute, so a portable build compiles it).
#define IRIS_FMA_RATE(V, SET, FMA)                                                                     \
  V a = SET(0.999f), b = SET(1e-4f), x0 = SET(0.1f), x1 = SET(0.2f), x2 = SET(0.3f), x3 = SET(0.4f);   \
  V x4 = SET(0.5f), x5 = SET(0.6f), x6 = SET(0.7f), x7 = SET(0.8f);                                   \
  double t0 = thread_seconds();                                                                      \
  for (long i = 0; i < reps; ++i) {                                                                  \
    x0 = FMA(x0, a, b), x1 = FMA(x1, a, b), x2 = FMA(x2, a, b), x3 = FMA(x3, a, b);                  \
    x4 = FMA(x4, a, b), x5 = FMA(x5, a, b), x6 = FMA(x6, a, b), x7 = FMA(x7, a, b);                  \
    __asm__ volatile("" : "+v"(x0), "+v"(x1), "+v"(x2), "+v"(x3));                                  \
    __asm__ volatile("" : "+v"(x4), "+v"(x5), "+v"(x6), "+v"(x7));                                  \
  }                                                                                                  \
  double t = thread_seconds() - t0;                                                                  \
  __asm__ volatile("" ::"v"(x0), "v"(x1), "v"(x2), "v"(x3));                                        \
  __asm__ volatile("" ::"v"(x4), "v"(x5), "v"(x6), "v"(x7));                                        \
  return 8.0 * reps / std::max(t, 1e-9);

__attribute__((target("avx512f"))) double rate512(long reps) { IRIS_FMA_RATE(__m512, _mm512_set1_ps, _mm512_fmadd_ps) }
__attribute__((target("avx2,fma"))) double rate256(long reps) { IRIS_FMA_RATE(__m256, _mm256_set1_ps, _mm256_fmadd_ps) }
#undef IRIS_FMA_RATE

}  // namespace

bool avx512_fma_is_full_width() {
  // best of three short runs each (about 1 ms in all), flops = FMAs x lanes
  double wide = 0, narrow = 0;
  for (int i = 0; i < 3; ++i) {
    wide = std::max(wide, 16 * rate512(1 << 15));
    narrow = std::max(narrow, 8 * rate256(1 << 15));
  }
  return wide >= 1.5 * narrow;
}

#else

bool avx512_fma_is_full_width() { return false; }

void kernel_12x32_avx512(bool, int64_t, const float*, int64_t, const float*, float*, int64_t, float, float,
                         const float*) {}

#endif

}  // namespace iris::cpu
