// Shared by the GPU suites (tests/test_cuda_*.cpp, built only with IRIS_CUDA): skip cleanly where
// no GPU is present, and run one computation on both devices to compare.
//   REQUIRE_GPU();                      at the top of a test case: returns (with a message) if no GPU
//   auto [g, c] = on_both(fn, {inputs}) runs fn on CUDA copies and on the CPU originals
//   compare_forward_backward(op, fn, {inputs}, dt, atol, rtol[, layout])
//                                       outputs and input gradients of fn on both devices, CHECK_CLOSE
//   random_tensor(shape, dt, seed)      randn from Generator(seed): the same values on every run
// Comparisons use CHECK_CLOSE from tests/helpers.h (it copies GPU tensors to the host).
// Leaves out: timing (bench/), multi-GPU.
#pragma once

#include <cstdio>
#include <functional>
#include <string>
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

inline Tensor random_tensor(const Shape& shape, DType dt, uint64_t seed) {
  Generator g(seed);
  return randn(shape, dt, &g);
}

// "op dtype=f32 inputs: [2, 3]/f32 none ..." for failure messages.
inline std::string describe_inputs(const std::string& op, const std::vector<Tensor>& inputs, DType dt) {
  std::string s = op + " dtype=" + dtype_name(dt) + " inputs:";
  for (const Tensor& t : inputs)
    s += " " + (t.defined() ? shape_str(t.shape()) + "/" + dtype_name(t.dtype()) : std::string("none"));
  return s;
}

// Runs fn on GPU copies of the inputs (each floating one re-laid out by `layout` when given; an
// undefined input stays undefined) and on the CPU inputs; compares the outputs, then the gradients
// of sum(out * w) for a fixed random w w.r.t. every input that requires grad, all within
// atol + rtol * |cpu value|.
inline void compare_forward_backward(const std::string& op, const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                                     const std::vector<Tensor>& cpu_inputs, DType dt, double atol, double rtol,
                                     const std::function<Tensor(const Tensor&)>& layout = nullptr) {
  const std::string what = describe_inputs(op, cpu_inputs, dt);
  INFO(what);
  // A CPU leaf may have been used by an earlier comparison: start its gradient from zero (the GPU
  // copies below are fresh leaves every time).
  for (const Tensor& t : cpu_inputs)
    if (t.defined() && t.requires_grad()) t.zero_grad();
  std::vector<Tensor> gpu_inputs;
  for (const Tensor& t : cpu_inputs) {
    if (!t.defined()) {
      gpu_inputs.push_back(Tensor());
      continue;
    }
    Tensor g = to_gpu(t);
    if (layout && is_floating(t.dtype())) g = layout(g);
    gpu_inputs.push_back(g);
  }
  Tensor out_gpu = fn(gpu_inputs);
  Tensor out_cpu = fn(cpu_inputs);
  REQUIRE(out_gpu.device().is_cuda());
  CHECK_CLOSE(out_gpu, out_cpu, atol, rtol);
  bool any_grad = false;
  for (const Tensor& t : cpu_inputs) any_grad = any_grad || (t.defined() && t.requires_grad());
  if (!any_grad) return;
  Tensor w = random_tensor(out_cpu.shape(), dt, 977);
  sum(mul(out_gpu, to_gpu(w))).backward();
  sum(mul(out_cpu, w)).backward();
  for (size_t i = 0; i < cpu_inputs.size(); ++i) {
    if (!cpu_inputs[i].defined() || !cpu_inputs[i].requires_grad()) continue;
    const std::string which = "gradient of input " + std::to_string(i);
    INFO(which);
    REQUIRE(gpu_inputs[i].grad().defined());
    CHECK(gpu_inputs[i].grad().device().is_cuda());
    CHECK_CLOSE(gpu_inputs[i].grad(), cpu_inputs[i].grad(), atol, rtol);
  }
}

}  // namespace iris::testing
