// Scalar math for the CPU kernels: each UnaryOp's value and derivative, written once for float and
// double. The CUDA kernels mirror these formulas (cuda/elementwise.cu); keep the two in step.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "tensor/backend.h"

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

template <class T>
inline T sigmoid_of(T x) {
  if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
  T e = std::exp(x);
  return e / (T(1) + e);
}

// f(x) for floating T.
template <class T>
__attribute__((always_inline)) inline T unary_value(UnaryOp op, T x, const UnaryParams& p) {
  constexpr T kInvSqrt2 = T(0.70710678118654752440);
  constexpr T kSqrt2OverPi = T(0.79788456080286535588);
  switch (op) {
    case UnaryOp::neg: return -x;
    case UnaryOp::abs: return std::abs(x);
    case UnaryOp::sign: return T((x > T(0)) - (x < T(0)));
    case UnaryOp::square: return x * x;
    case UnaryOp::reciprocal: return T(1) / x;
    case UnaryOp::exp: return std::exp(x);
    case UnaryOp::log: return std::log(x);
    case UnaryOp::log1p: return std::log1p(x);
    case UnaryOp::sqrt: return std::sqrt(x);
    case UnaryOp::rsqrt: return T(1) / std::sqrt(x);
    case UnaryOp::sin: return std::sin(x);
    case UnaryOp::cos: return std::cos(x);
    case UnaryOp::tanh: return std::tanh(x);
    case UnaryOp::sigmoid: return sigmoid_of(x);
    case UnaryOp::relu: return x > T(0) ? x : T(0);
    case UnaryOp::gelu: return T(0.5) * x * (T(1) + kernel_erf(x * kInvSqrt2));
    case UnaryOp::gelu_tanh:
      return T(0.5) * x * (T(1) + std::tanh(kSqrt2OverPi * (x + T(0.044715) * x * x * x)));
    case UnaryOp::quick_gelu: return x * sigmoid_of(T(1.702) * x);
    case UnaryOp::silu: return x * sigmoid_of(x);
    case UnaryOp::erf: return std::erf(x);
    case UnaryOp::floor: return std::floor(x);
    case UnaryOp::ceil: return std::ceil(x);
    case UnaryOp::round: return std::nearbyint(x);  // half to even, as PyTorch
    case UnaryOp::logical_not: return T(x == T(0));
    case UnaryOp::leaky_relu: return x > T(0) ? x : x * T(p.a);
    case UnaryOp::softplus: {
      T bx = T(p.a) * x;
      return bx > T(p.b) ? x : std::log1p(std::exp(bx)) / T(p.a);
    }
    case UnaryOp::clamp: {
      T lo = T(p.a), hi = T(p.b);
      if (std::isnan(x)) return x;
      return x < lo ? lo : (x > hi ? hi : x);
    }
    case UnaryOp::pow_scalar: return p.a == 2.0 ? x * x : T(std::pow(x, T(p.a)));
    case UnaryOp::affine: return x * T(p.a) + T(p.b);
  }
  return x;
}

// f'(x) for floating T; y = f(x) where the op's backward reads it.
template <class T>
__attribute__((always_inline)) inline T unary_derivative(UnaryOp op, T x, T y, const UnaryParams& p) {
  constexpr T kInvSqrt2 = T(0.70710678118654752440);
  constexpr T kInvSqrt2Pi = T(0.39894228040143267794);
  constexpr T kSqrt2OverPi = T(0.79788456080286535588);
  constexpr T kTwoOverSqrtPi = T(1.12837916709551257390);
  switch (op) {
    case UnaryOp::neg: return T(-1);
    case UnaryOp::abs: return T((x > T(0)) - (x < T(0)));
    case UnaryOp::square: return T(2) * x;
    case UnaryOp::reciprocal: return -y * y;
    case UnaryOp::exp: return y;
    case UnaryOp::log: return T(1) / x;
    case UnaryOp::log1p: return T(1) / (T(1) + x);
    case UnaryOp::sqrt: return T(0.5) / y;
    case UnaryOp::rsqrt: return T(-0.5) * y * y * y;
    case UnaryOp::sin: return std::cos(x);
    case UnaryOp::cos: return -std::sin(x);
    case UnaryOp::tanh: return T(1) - y * y;
    case UnaryOp::sigmoid: return y * (T(1) - y);
    case UnaryOp::relu: return x > T(0) ? T(1) : T(0);
    case UnaryOp::gelu: {
      T cdf = T(0.5) * (T(1) + kernel_erf(x * kInvSqrt2));
      return cdf + x * kInvSqrt2Pi * kernel_exp(T(-0.5) * x * x);
    }
    case UnaryOp::gelu_tanh: {
      T inner = kSqrt2OverPi * (x + T(0.044715) * x * x * x);
      T t = std::tanh(inner);
      T dinner = kSqrt2OverPi * (T(1) + T(3) * T(0.044715) * x * x);
      return T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * dinner;
    }
    case UnaryOp::quick_gelu: {
      T s = sigmoid_of(T(1.702) * x);
      return s + T(1.702) * x * s * (T(1) - s);
    }
    case UnaryOp::silu: {
      T s = sigmoid_of(x);
      return s * (T(1) + x * (T(1) - s));
    }
    case UnaryOp::erf: return kTwoOverSqrtPi * std::exp(-x * x);
    case UnaryOp::leaky_relu: return x > T(0) ? T(1) : T(p.a);
    case UnaryOp::softplus: {
      T bx = T(p.a) * x;
      return bx > T(p.b) ? T(1) : sigmoid_of(bx);
    }
    case UnaryOp::clamp: return (x >= T(p.a) && x <= T(p.b)) ? T(1) : T(0);
    case UnaryOp::pow_scalar:
      return p.a == 0.0 ? T(0) : T(p.a) * T(std::pow(x, T(p.a - 1.0)));
    case UnaryOp::affine: return T(p.a);
    default: return T(0);  // sign, floor, ceil, round, logical_not: no gradient
  }
}

}  // namespace iris::cpu
