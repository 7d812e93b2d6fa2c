// Scalar math for the CPU kernels: the fast f32 exp and erf that keep loops vectorised, a vectorised
// row max, and CpuMath, the CPU's side of the elementwise formulas shared with CUDA
// (tensor/elementwise_formulas.h). Leaves out the formulas themselves and the loops.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "tensor/host_device.h"

namespace iris::cpu {

// exp for f32 without a library call, so loops over it vectorise: e^x = 2^n * e^r with
// n = round(x / ln 2) and |r| <= ln(2)/2, e^r by its Taylor polynomial to degree 7
// (relative error about 1e-8 before rounding; results within 2 ulp of std::exp). Inputs below -87
// give 0 (f32 subnormals are flushed), above 88 the value at 88.
__attribute__((always_inline)) inline float fast_expf(float x) {
  const float x_in = x;
  x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  // round to nearest by adding and subtracting 1.5 * 2^23 (a library call would stop vectorisation)
  float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  float r = x - n * 0.693145751953125f - n * 1.42860682030941723e-6f;  // ln 2 split in two parts
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  int32_t bits = (static_cast<int32_t>(n) + 127) << 23;  // 2^n
  float scale;
  std::memcpy(&scale, &bits, 4);
  // below e^-87 (f32's normal range) the result is 0, so exp(-inf) is exactly 0 as masking needs
  return x_in < -87.0f ? 0.0f : p * scale;
}

// erf for f32 as x P(x^2) / Q(x^2) on |x| <= 3.92 (beyond, erf rounds to +-1 in f32), with P and Q
// of degree 5, fitted to erf by iterated weighted least squares (scripts/fit_erf.py). Max abs error
// 3.5e-7 evaluated in f32 (about 3 ulp at 1); no exp and one division, so GELU, whose time went to
// the erf, runs twice as fast as with Abramowitz & Stegun 7.1.26 and its exp (1.34 -> 0.69 ns).
__attribute__((always_inline)) inline float fast_erff(float x) {
  const float c = x < -3.92f ? -3.92f : (x > 3.92f ? 3.92f : x);  // NaN stays NaN
  const float t = c * c;
  float p = 2.093097604e-06f;
  p = p * t + 2.863514870e-04f;
  p = p * t + 3.720154952e-03f;
  p = p * t + 5.261328516e-02f;
  p = p * t + 1.890164694e-01f;
  p = p * t + 1.128379087e+00f;
  float q = 3.861465701e-05f;
  q = q * t + 1.156227669e-03f;
  q = q * t + 1.487481546e-02f;
  q = q * t + 1.135791655e-01f;
  q = q * t + 5.008438236e-01f;
  q = q * t + 1.0f;
  return c * p / q;
}

// erf and exp as the kernels use them: the fast forms for f32, the library for f64 (where gradient
// checks need full precision).
template <class T>
__attribute__((always_inline)) inline T kernel_erf(T x) {
  if constexpr (std::is_same_v<T, float>) return fast_erff(x);
  else return std::erf(x);
}
template <class T>
__attribute__((always_inline)) inline T kernel_exp(T x) {
  if constexpr (std::is_same_v<T, float>) return fast_expf(x);
  else return std::exp(x);
}

// Largest of x[0..n), n >= 1, in vector lanes. Written as a compare-select: GCC 12 leaves an
// `omp simd reduction(max)` over std::max scalar (its reference return defeats the vectoriser), and
// a scalar compare chain over a 50-wide score row cost as much as the row's exps.
template <class T>
__attribute__((always_inline)) inline T row_max(const T* x, int64_t n) {
  T m = x[0];
#pragma omp simd reduction(max : m)
  for (int64_t j = 1; j < n; ++j) m = x[j] > m ? x[j] : m;
  return m;
}

// The scalar math the shared elementwise formulas (tensor/elementwise_formulas.h) use on the CPU:
// the C++ library, except GELU's erf and exp, which take the fast f32 forms above.
struct CpuMath {
  template <class T> static IRIS_FORCE_INLINE T abs(T x) { return std::abs(x); }
  template <class T> static IRIS_FORCE_INLINE T exp(T x) { return std::exp(x); }
  template <class T> static IRIS_FORCE_INLINE T log(T x) { return std::log(x); }
  template <class T> static IRIS_FORCE_INLINE T log1p(T x) { return std::log1p(x); }
  template <class T> static IRIS_FORCE_INLINE T sqrt(T x) { return std::sqrt(x); }
  template <class T> static IRIS_FORCE_INLINE T sin(T x) { return std::sin(x); }
  template <class T> static IRIS_FORCE_INLINE T cos(T x) { return std::cos(x); }
  template <class T> static IRIS_FORCE_INLINE T tanh(T x) { return std::tanh(x); }
  template <class T> static IRIS_FORCE_INLINE T erf(T x) { return std::erf(x); }
  template <class T> static IRIS_FORCE_INLINE T floor(T x) { return std::floor(x); }
  template <class T> static IRIS_FORCE_INLINE T ceil(T x) { return std::ceil(x); }
  template <class T> static IRIS_FORCE_INLINE T rint(T x) { return std::nearbyint(x); }
  template <class T> static IRIS_FORCE_INLINE bool isnan(T x) { return std::isnan(x); }
  template <class T> static IRIS_FORCE_INLINE T pow(T x, T y) { return std::pow(x, y); }
  static IRIS_FORCE_INLINE double integer_pow(double a, double b) { return std::pow(a, b); }
  template <class T> static IRIS_FORCE_INLINE T gelu_erf(T x) { return kernel_erf(x); }
  template <class T> static IRIS_FORCE_INLINE T gelu_exp(T x) { return kernel_exp(x); }
};

}  // namespace iris::cpu
