// The machine's own FP32 FMA peak, measured: every thread runs independent chains of fused
// multiply-adds on the widest vectors the CPU has (AVX-512, AVX2, else scalar), long enough to
// saturate both FMA ports. Benchmarks report GEMM speed as a fraction of this number, probed right
// before each comparison because a shared host can halve it for seconds at a time.
// Leaves out: memory bandwidth, and peaks of other dtypes.
#pragma once

#include <string>

namespace iris::bench {

struct Peak {
  double gflops = 0;   // FP32 GFLOP/s over all threads
  std::string isa;     // "avx512", "avx2" or "scalar"
  int threads = 1;
};

Peak measure_fma_peak(int threads, double seconds = 0.2);

// The CPU's model name from /proc/cpuinfo ("AMD EPYC 9R14 ..."), "unknown" where it has none.
std::string cpu_model_name();

}  // namespace iris::bench
