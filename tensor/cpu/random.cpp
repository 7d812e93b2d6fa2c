// CPU random kernels: uniform, normal (Box-Muller) and integer draws from Philox blocks.
// Element i reads block (start + i / lanes), lane i % lanes, exactly as the CUDA kernels do, so a
// (seed, offset) pair gives the same tensor on both devices and for any thread count.
#include <cmath>

#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/loops.h"

namespace iris::cpu {

namespace {

constexpr double kTwoPi = 6.283185307179586476925;

// Runs f(block_words, first_element, count) for every block covering a contiguous `out`.
template <class F>
void for_each_block(const Tensor& out, uint64_t lanes, uint64_t seed, uint64_t start, F&& f) {
  IRIS_ASSERT(out.is_contiguous());
  int64_t n = out.numel();
  int64_t blocks = (n + static_cast<int64_t>(lanes) - 1) / static_cast<int64_t>(lanes);
  parallel_for(blocks, 64, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      auto w = philox_block(seed, start + static_cast<uint64_t>(b));
      int64_t first = b * static_cast<int64_t>(lanes);
      f(w, first, std::min<int64_t>(static_cast<int64_t>(lanes), n - first));
    }
  });
}

}  // namespace

void CpuBackend::uniform(const Tensor& out, double low, double high, uint64_t seed, uint64_t start) {
  double span = high - low;
  if (out.dtype() == DType::f64) {
    double* p = out.data<double>();
    for_each_block(out, 2, seed, start, [&](const std::array<uint32_t, 4>& w, int64_t i, int64_t k) {
      for (int64_t l = 0; l < k; ++l) p[i + l] = low + span * uniform_f64(w[2 * l], w[2 * l + 1]);
    });
    return;
  }
  IRIS_CHECK(out.dtype() == DType::f32, "uniform: needs f32 or f64, got ", dtype_name(out.dtype()));
  float* p = out.data<float>();
  for_each_block(out, 4, seed, start, [&](const std::array<uint32_t, 4>& w, int64_t i, int64_t k) {
    for (int64_t l = 0; l < k; ++l) p[i + l] = static_cast<float>(low + span * uniform_f32(w[l]));
  });
}

void CpuBackend::normal(const Tensor& out, double mean, double stddev, uint64_t seed, uint64_t start) {
  if (out.dtype() == DType::f64) {
    double* p = out.data<double>();
    for_each_block(out, 2, seed, start, [&](const std::array<uint32_t, 4>& w, int64_t i, int64_t k) {
      double u1 = 1.0 - uniform_f64(w[0], w[1]);  // (0, 1]
      double u2 = uniform_f64(w[2], w[3]);
      double r = std::sqrt(-2.0 * std::log(u1));
      double z[2] = {r * std::cos(kTwoPi * u2), r * std::sin(kTwoPi * u2)};
      for (int64_t l = 0; l < k; ++l) p[i + l] = mean + stddev * z[l];
    });
    return;
  }
  IRIS_CHECK(out.dtype() == DType::f32, "normal: needs f32 or f64, got ", dtype_name(out.dtype()));
  float* p = out.data<float>();
  for_each_block(out, 4, seed, start, [&](const std::array<uint32_t, 4>& w, int64_t i, int64_t k) {
    float z[4];
    for (int pair = 0; pair < 2; ++pair) {
      float u1 = 1.0f - uniform_f32(w[2 * pair]);  // (0, 1]
      float u2 = uniform_f32(w[2 * pair + 1]);
      float r = std::sqrt(-2.0f * std::log(u1));
      z[2 * pair] = r * std::cos(static_cast<float>(kTwoPi) * u2);
      z[2 * pair + 1] = r * std::sin(static_cast<float>(kTwoPi) * u2);
    }
    for (int64_t l = 0; l < k; ++l) p[i + l] = static_cast<float>(mean + stddev * z[l]);
  });
}

void CpuBackend::randint(const Tensor& out, int64_t low, int64_t high, uint64_t seed, uint64_t start) {
  uint64_t range = static_cast<uint64_t>(high - low);
  if (out.dtype() == DType::i64) {
    int64_t* p = out.data<int64_t>();
    for_each_block(out, 2, seed, start, [&](const std::array<uint32_t, 4>& w, int64_t i, int64_t k) {
      for (int64_t l = 0; l < k; ++l) {
        uint64_t r = (static_cast<uint64_t>(w[2 * l]) << 32) | w[2 * l + 1];
        p[i + l] = low + static_cast<int64_t>(r % range);
      }
    });
    return;
  }
  IRIS_CHECK(out.dtype() == DType::i32, "randint: needs i64 or i32, got ", dtype_name(out.dtype()));
  int32_t* p = out.data<int32_t>();
  for_each_block(out, 4, seed, start, [&](const std::array<uint32_t, 4>& w, int64_t i, int64_t k) {
    for (int64_t l = 0; l < k; ++l) p[i + l] = static_cast<int32_t>(low + static_cast<int64_t>(w[l] % range));
  });
}

}  // namespace iris::cpu
