// Shared by the GPU suites (tests/test_cuda_*.cpp, built only with IRIS_CUDA): skip cleanly where
// no GPU is present, and run one computation on both devices to compare.
//   REQUIRE_GPU();                      at the top of a test case: returns (with a message) if no GPU
//   auto [g, c] = on_both(fn, {inputs}) runs fn on CUDA copies and on the CPU originals
// Comparisons use CHECK_CLOSE from tests/helpers.h (it copies GPU tensors to the host).
// Leaves out: timing (bench/), multi-GPU.
#pragma once

#include <cstdio>
#include <functional>
#include <utility>
#include <vector>

#include "cuda/cuda_backend.h"
#include "tests/helpers.h"

namespace iris::testing {

inline bool gpu_present() {
  static const bool ok = [] {
    bool a = false;
    try {
      a = cuda::available();
    } catch (const std::exception&) {
      a = false;
    }
    if (!a) std::fprintf(stderr, "GPU tests skipped: no usable CUDA device on this machine\n");
    return a;
  }();
  return ok;
}

#define REQUIRE_GPU()                                        \
  do {                                                       \
    if (!::iris::testing::gpu_present()) {                   \
      MESSAGE("skipped: no CUDA device on this machine");    \
      return;                                                \
    }                                                        \
  } while (0)

// The same tensor on the GPU: a fresh leaf with the same values, layout made contiguous, and the
// same requires_grad.
inline Tensor to_gpu(const Tensor& t) {
  Tensor g = t.detach().to(Device::cuda());
  if (t.requires_grad()) g.requires_grad_(true);
  return g;
}

// Runs fn on GPU copies of the inputs and on the inputs themselves. Returns {gpu result, cpu result}.
inline std::pair<Tensor, Tensor> on_both(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                                         const std::vector<Tensor>& cpu_inputs) {
  std::vector<Tensor> gpu_inputs;
  for (const Tensor& t : cpu_inputs) gpu_inputs.push_back(to_gpu(t));
  Tensor g = fn(gpu_inputs);
  Tensor c = fn(cpu_inputs);
  return {g, c};
}

}  // namespace iris::testing
