// Every UnaryOp's value f(x) and derivative f'(x), and every BinaryOp's value, written once for both
// devices: the CPU loops (tensor/cpu/unary.cpp, binary.cpp) and the CUDA kernels (cuda/elementwise.cu)
// call these with the op as a template argument, so each loop holds one formula and vectorises.
// The scalar functions come from a math policy M that each device supplies (cpu::CpuMath in
// tensor/cpu/math.h, the device one in cuda/elementwise.cu): static M::exp, log, log1p, sqrt, sin,
// cos, tanh, erf, floor, ceil, rint (half to even), abs, pow, isnan for float and double; gelu_erf
// and gelu_exp, the erf and exp inside GELU (the CPU's fast f32 polynomials, CUDA's erff/expf); and
// integer_pow(a, b) in double for integer operands.
// Leaves out the loops, strides, broadcasting and dtype dispatch (each backend has its own).
#pragma once

#include <type_traits>

#include "tensor/backend.h"
#include "tensor/host_device.h"

namespace iris {

template <class M, class T>
IRIS_HOST_DEVICE IRIS_FORCE_INLINE T sigmoid_of(T x) {
  if (x >= T(0)) return T(1) / (T(1) + M::exp(-x));
  T e = M::exp(x);
  return e / (T(1) + e);
}

// f(x) for floating T.
template <UnaryOp Op, class M, class T>
IRIS_HOST_DEVICE IRIS_FORCE_INLINE T unary_value(T x, const UnaryParams& p) {
  constexpr T kInvSqrt2 = T(0.70710678118654752440);
  constexpr T kSqrt2OverPi = T(0.79788456080286535588);
  if constexpr (Op == UnaryOp::neg) return -x;
  else if constexpr (Op == UnaryOp::abs) return M::abs(x);
  else if constexpr (Op == UnaryOp::sign) return T((x > T(0)) - (x < T(0)));
  else if constexpr (Op == UnaryOp::square) return x * x;
  else if constexpr (Op == UnaryOp::reciprocal) return T(1) / x;
  else if constexpr (Op == UnaryOp::exp) return M::exp(x);
  else if constexpr (Op == UnaryOp::log) return M::log(x);
  else if constexpr (Op == UnaryOp::log1p) return M::log1p(x);
  else if constexpr (Op == UnaryOp::sqrt) return M::sqrt(x);
  else if constexpr (Op == UnaryOp::rsqrt) return T(1) / M::sqrt(x);
  else if constexpr (Op == UnaryOp::sin) return M::sin(x);
  else if constexpr (Op == UnaryOp::cos) return M::cos(x);
  else if constexpr (Op == UnaryOp::tanh) return M::tanh(x);
  else if constexpr (Op == UnaryOp::sigmoid) return sigmoid_of<M>(x);
  else if constexpr (Op == UnaryOp::relu) return x > T(0) ? x : T(0);
  else if constexpr (Op == UnaryOp::gelu) return T(0.5) * x * (T(1) + M::gelu_erf(x * kInvSqrt2));
  else if constexpr (Op == UnaryOp::gelu_tanh)
    return T(0.5) * x * (T(1) + M::tanh(kSqrt2OverPi * (x + T(0.044715) * x * x * x)));
  else if constexpr (Op == UnaryOp::quick_gelu) return x * sigmoid_of<M>(T(1.702) * x);
  else if constexpr (Op == UnaryOp::silu) return x * sigmoid_of<M>(x);
  else if constexpr (Op == UnaryOp::erf) return M::erf(x);
  else if constexpr (Op == UnaryOp::floor) return M::floor(x);
  else if constexpr (Op == UnaryOp::ceil) return M::ceil(x);
  else if constexpr (Op == UnaryOp::round) return M::rint(x);  // half to even, as PyTorch
  else if constexpr (Op == UnaryOp::logical_not) return T(x == T(0));
  else if constexpr (Op == UnaryOp::leaky_relu) return x > T(0) ? x : x * T(p.a);
  else if constexpr (Op == UnaryOp::softplus) {
    T bx = T(p.a) * x;
    return bx > T(p.b) ? x : M::log1p(M::exp(bx)) / T(p.a);
  } else if constexpr (Op == UnaryOp::clamp) {
    T lo = T(p.a), hi = T(p.b);
    if (M::isnan(x)) return x;  // NaN stays NaN
    return x < lo ? lo : (x > hi ? hi : x);
  } else if constexpr (Op == UnaryOp::pow_scalar) {
    return p.a == 2.0 ? x * x : T(M::pow(x, T(p.a)));
  } else {
    static_assert(Op == UnaryOp::affine, "every UnaryOp has a case");
    return x * T(p.a) + T(p.b);
  }
}

// f'(x) for floating T; y = f(x) where the op's backward reads it. grad_in = grad_out * f'(x).
template <UnaryOp Op, class M, class T>
IRIS_HOST_DEVICE IRIS_FORCE_INLINE T unary_derivative(T x, T y, const UnaryParams& p) {
  constexpr T kInvSqrt2 = T(0.70710678118654752440);
  constexpr T kInvSqrt2Pi = T(0.39894228040143267794);
  constexpr T kSqrt2OverPi = T(0.79788456080286535588);
  constexpr T kTwoOverSqrtPi = T(1.12837916709551257390);
  if constexpr (Op == UnaryOp::neg) return T(-1);
  else if constexpr (Op == UnaryOp::abs) return T((x > T(0)) - (x < T(0)));
  else if constexpr (Op == UnaryOp::square) return T(2) * x;
  else if constexpr (Op == UnaryOp::reciprocal) return -y * y;
  else if constexpr (Op == UnaryOp::exp) return y;
  else if constexpr (Op == UnaryOp::log) return T(1) / x;
  else if constexpr (Op == UnaryOp::log1p) return T(1) / (T(1) + x);
  else if constexpr (Op == UnaryOp::sqrt) return T(0.5) / y;
  else if constexpr (Op == UnaryOp::rsqrt) return T(-0.5) * y * y * y;
  else if constexpr (Op == UnaryOp::sin) return M::cos(x);
  else if constexpr (Op == UnaryOp::cos) return -M::sin(x);
  else if constexpr (Op == UnaryOp::tanh) return T(1) - y * y;
  else if constexpr (Op == UnaryOp::sigmoid) return y * (T(1) - y);
  else if constexpr (Op == UnaryOp::relu) return x > T(0) ? T(1) : T(0);
  else if constexpr (Op == UnaryOp::gelu) {
    T cdf = T(0.5) * (T(1) + M::gelu_erf(x * kInvSqrt2));
    return cdf + x * kInvSqrt2Pi * M::gelu_exp(T(-0.5) * x * x);
  } else if constexpr (Op == UnaryOp::gelu_tanh) {
    T inner = kSqrt2OverPi * (x + T(0.044715) * x * x * x);
    T t = M::tanh(inner);
    T dinner = kSqrt2OverPi * (T(1) + T(3) * T(0.044715) * x * x);
    return T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * dinner;
  } else if constexpr (Op == UnaryOp::quick_gelu) {
    T s = sigmoid_of<M>(T(1.702) * x);
    return s + T(1.702) * x * s * (T(1) - s);
  } else if constexpr (Op == UnaryOp::silu) {
    T s = sigmoid_of<M>(x);
    return s * (T(1) + x * (T(1) - s));
  } else if constexpr (Op == UnaryOp::erf) return kTwoOverSqrtPi * M::exp(-x * x);
  else if constexpr (Op == UnaryOp::leaky_relu) return x > T(0) ? T(1) : T(p.a);
  else if constexpr (Op == UnaryOp::softplus) {
    T bx = T(p.a) * x;
    return bx > T(p.b) ? T(1) : sigmoid_of<M>(bx);
  } else if constexpr (Op == UnaryOp::clamp) return (x >= T(p.a) && x <= T(p.b)) ? T(1) : T(0);
  else if constexpr (Op == UnaryOp::pow_scalar) return p.a == 0.0 ? T(0) : T(p.a) * T(M::pow(x, T(p.a - 1.0)));
  else if constexpr (Op == UnaryOp::affine) return T(p.a);
  else return T(0);  // sign, floor, ceil, round, logical_not: no gradient
}

// ---- integer unary ops (the op chosen at run time: these loops are not the hot ones) -------------

// The unary ops defined on integer (and bool) tensors; the others throw before any loop runs.
IRIS_HOST_DEVICE inline bool unary_defined_for_integers(UnaryOp op) {
  switch (op) {
    case UnaryOp::neg: case UnaryOp::abs: case UnaryOp::sign: case UnaryOp::square: case UnaryOp::relu:
    case UnaryOp::floor: case UnaryOp::ceil: case UnaryOp::round: case UnaryOp::logical_not: case UnaryOp::clamp:
      return true;
    default:
      return false;
  }
}

template <class T>
IRIS_HOST_DEVICE IRIS_FORCE_INLINE bool below_zero(T x) {
  if constexpr (std::is_unsigned_v<T>) return false;  // u8 and bool
  else return x < T(0);
}

// f(x) for integer T and an op that unary_defined_for_integers accepts.
template <class M, class T>
IRIS_HOST_DEVICE inline T unary_int_value(UnaryOp op, T x, const UnaryParams& p) {
  switch (op) {
    case UnaryOp::neg: return static_cast<T>(-x);
    case UnaryOp::abs: return below_zero(x) ? static_cast<T>(-x) : x;
    case UnaryOp::sign: return static_cast<T>((x > T(0)) - below_zero(x));
    case UnaryOp::square: return static_cast<T>(x * x);
    case UnaryOp::relu: return x > T(0) ? x : T(0);
    case UnaryOp::logical_not: return static_cast<T>(x == T(0));
    case UnaryOp::clamp: {
      double v = static_cast<double>(x);
      return v < p.a ? static_cast<T>(M::ceil(p.a)) : (v > p.b ? static_cast<T>(M::floor(p.b)) : x);
    }
    default: return x;  // floor, ceil, round
  }
}

// ---- binary ---------------------------------------------------------------------------------------

// What a binary op writes: bool for predicates, T for arithmetic.
template <BinaryOp Op, class T>
using BinaryResult = std::conditional_t<(Op >= BinaryOp::eq), bool, T>;

template <BinaryOp Op, class M, class T>
IRIS_HOST_DEVICE IRIS_FORCE_INLINE BinaryResult<Op, T> binary_value(T a, T b) {
  if constexpr (Op == BinaryOp::add) return static_cast<T>(a + b);
  else if constexpr (Op == BinaryOp::sub) return static_cast<T>(a - b);
  else if constexpr (Op == BinaryOp::mul) return static_cast<T>(a * b);
  else if constexpr (Op == BinaryOp::div) return static_cast<T>(a / b);
  else if constexpr (Op == BinaryOp::pow) {
    // float and double in their own precision; integers through double (as std::pow promotes them)
    if constexpr (std::is_floating_point_v<T>) return M::pow(a, b);
    else return static_cast<T>(M::integer_pow(static_cast<double>(a), static_cast<double>(b)));
  } else if constexpr (Op == BinaryOp::maximum) return (a != a || a > b) ? a : b;  // NaN propagates
  else if constexpr (Op == BinaryOp::minimum) return (a != a || a < b) ? a : b;
  else if constexpr (Op == BinaryOp::eq) return a == b;
  else if constexpr (Op == BinaryOp::ne) return a != b;
  else if constexpr (Op == BinaryOp::lt) return a < b;
  else if constexpr (Op == BinaryOp::le) return a <= b;
  else if constexpr (Op == BinaryOp::gt) return a > b;
  else if constexpr (Op == BinaryOp::ge) return a >= b;
  else if constexpr (Op == BinaryOp::logical_and) return a != T(0) && b != T(0);
  else return a != T(0) || b != T(0);
}

// ---- the op as a compile-time constant (host code: picks the loop or kernel to run) --------------

// f(std::integral_constant<UnaryOp, op>{}): one instantiation per op, so the formula is folded in.
template <class F>
void with_unary_op(UnaryOp op, F&& f) {
#define IRIS_UNARY_CASE(name) \
  case UnaryOp::name: f(std::integral_constant<UnaryOp, UnaryOp::name>{}); return;
  switch (op) {
    IRIS_UNARY_CASE(neg) IRIS_UNARY_CASE(abs) IRIS_UNARY_CASE(sign) IRIS_UNARY_CASE(square)
    IRIS_UNARY_CASE(reciprocal) IRIS_UNARY_CASE(exp) IRIS_UNARY_CASE(log) IRIS_UNARY_CASE(log1p)
    IRIS_UNARY_CASE(sqrt) IRIS_UNARY_CASE(rsqrt) IRIS_UNARY_CASE(sin) IRIS_UNARY_CASE(cos)
    IRIS_UNARY_CASE(tanh) IRIS_UNARY_CASE(sigmoid) IRIS_UNARY_CASE(relu) IRIS_UNARY_CASE(gelu)
    IRIS_UNARY_CASE(gelu_tanh) IRIS_UNARY_CASE(quick_gelu) IRIS_UNARY_CASE(silu) IRIS_UNARY_CASE(erf)
    IRIS_UNARY_CASE(floor) IRIS_UNARY_CASE(ceil) IRIS_UNARY_CASE(round) IRIS_UNARY_CASE(logical_not)
    IRIS_UNARY_CASE(leaky_relu) IRIS_UNARY_CASE(softplus) IRIS_UNARY_CASE(clamp)
    IRIS_UNARY_CASE(pow_scalar) IRIS_UNARY_CASE(affine)
  }
#undef IRIS_UNARY_CASE
  throw Error(cat_str("unary: unknown op code ", static_cast<int>(op)));
}

template <class F>
void with_binary_op(BinaryOp op, F&& f) {
#define IRIS_BINARY_CASE(name) \
  case BinaryOp::name: f(std::integral_constant<BinaryOp, BinaryOp::name>{}); return;
  switch (op) {
    IRIS_BINARY_CASE(add) IRIS_BINARY_CASE(sub) IRIS_BINARY_CASE(mul) IRIS_BINARY_CASE(div)
    IRIS_BINARY_CASE(pow) IRIS_BINARY_CASE(maximum) IRIS_BINARY_CASE(minimum) IRIS_BINARY_CASE(eq)
    IRIS_BINARY_CASE(ne) IRIS_BINARY_CASE(lt) IRIS_BINARY_CASE(le) IRIS_BINARY_CASE(gt) IRIS_BINARY_CASE(ge)
    IRIS_BINARY_CASE(logical_and) IRIS_BINARY_CASE(logical_or)
  }
#undef IRIS_BINARY_CASE
  throw Error(cat_str("binary: unknown op code ", static_cast<int>(op)));
}

// The bool tensors' arithmetic that is not defined (sub, div, pow); the backends throw this message.
template <BinaryOp Op, class T>
constexpr bool binary_undefined_for = std::is_same_v<T, bool> &&
                                      (Op == BinaryOp::sub || Op == BinaryOp::div || Op == BinaryOp::pow);
inline constexpr const char* kBinaryBoolError =
    "binary: sub, div and pow are not defined for bool tensors; convert with .to(DType::f32)";

}  // namespace iris
