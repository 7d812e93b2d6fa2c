// FMA peak probe: 12 independent accumulator chains per thread hide the FMA latency (4-5 cycles
// on two ports), so the loop runs at the throughput limit. The chains start from different values
// and pass through an empty asm each step: identical chains were once merged by GCC into one, so
// the loop ran one latency-bound FMA while the flop count assumed twelve (a "peak" 1.5x too high).
#include "bench/peak.h"

#include <immintrin.h>
#include <omp.h>

#include <chrono>
#include <fstream>

namespace iris::bench {

namespace {

constexpr int kChains = 12;
constexpr long kInner = 1 << 14;

// Twelve named accumulators (an array indexed in a loop may live in memory and measure the
// store-forwarding latency instead of the FMA units).
#define IRIS_FMA_CHAINS(FMA, V)                                                                  \
  V x0 = a, x1 = b, x2 = FMA(a, a, b), x3 = FMA(b, b, a), x4 = FMA(a, b, a), x5 = FMA(a, a, a);      \
  V x6 = FMA(b, a, x2), x7 = FMA(b, b, x3), x8 = FMA(a, b, x4), x9 = FMA(a, x5, b);                 \
  V x10 = FMA(x6, a, b), x11 = FMA(x7, b, a);                                                     \
  for (long r = 0; r < reps; ++r)                                                                \
    for (long i = 0; i < kInner; ++i) {                                                          \
      x0 = FMA(x0, a, b), x1 = FMA(x1, a, b), x2 = FMA(x2, a, b), x3 = FMA(x3, a, b);            \
      x4 = FMA(x4, a, b), x5 = FMA(x5, a, b), x6 = FMA(x6, a, b), x7 = FMA(x7, a, b);            \
      x8 = FMA(x8, a, b), x9 = FMA(x9, a, b), x10 = FMA(x10, a, b), x11 = FMA(x11, a, b);        \
      __asm__ volatile("" : "+x"(x0), "+x"(x1), "+x"(x2), "+x"(x3), "+x"(x4), "+x"(x5));         \
      __asm__ volatile("" : "+x"(x6), "+x"(x7), "+x"(x8), "+x"(x9), "+x"(x10), "+x"(x11));       \
    }                                                                                            \
  V sum = FMA(x0, x1, x2);                                                                       \
  sum = FMA(sum, x3, x4), sum = FMA(sum, x5, x6), sum = FMA(sum, x7, x8), sum = FMA(sum, x9, x10); \
  sum = FMA(sum, x11, b);

__attribute__((target("avx512f"))) double run_avx512(long reps) {
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  IRIS_FMA_CHAINS(_mm512_fmadd_ps, __m512)
  float out[16], sink = 0;
  _mm512_storeu_ps(out, sum);
  for (float v : out) sink += v;
  return sink;
}

__attribute__((target("avx2,fma"))) double run_avx2(long reps) {
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  IRIS_FMA_CHAINS(_mm256_fmadd_ps, __m256)
  float out[8], sink = 0;
  _mm256_storeu_ps(out, sum);
  for (float v : out) sink += v;
  return sink;
}

double run_scalar(long reps) {
  float acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = 0.001f * i;
  for (long r = 0; r < reps; ++r)
    for (long i = 0; i < kInner; ++i)
      for (int c = 0; c < kChains; ++c) acc[c] = acc[c] * 0.999999f + 1e-7f;
  float sink = 0;
  for (float v : acc) sink += v;
  return sink;
}

}  // namespace

Peak measure_fma_peak(int threads, double seconds) {
  Peak p;
  p.threads = threads;
  int lanes = 1;
  double (*kernel)(long) = run_scalar;
  if (__builtin_cpu_supports("avx512f")) {
    p.isa = "avx512", lanes = 16, kernel = run_avx512;
  } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    p.isa = "avx2", lanes = 8, kernel = run_avx2;
  } else {
    p.isa = "scalar";
  }
  // Calibrate the repetitions on one thread, then time all threads together.
  long reps = 1;
  for (;;) {
    auto t0 = std::chrono::steady_clock::now();
    volatile double s = kernel(reps);
    (void)s;
    double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (dt > seconds / 4 || reps > (1L << 24)) break;
    reps *= 2;
  }
  double best = 0;
  for (int trial = 0; trial < 3; ++trial) {
    auto t0 = std::chrono::steady_clock::now();
#pragma omp parallel num_threads(threads)
    {
      volatile double s = kernel(reps);
      (void)s;
    }
    double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    double flops = 2.0 * lanes * kChains * static_cast<double>(kInner) * static_cast<double>(reps) * threads;
    best = std::max(best, flops / dt / 1e9);
  }
  p.gflops = best;
  return p;
}

std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) {
      size_t colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  return "unknown";
}

}  // namespace iris::bench
