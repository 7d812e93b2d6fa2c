// CUDA elementwise kernels: unary ops and their backward (grad_in = grad_out * f'(x)), binary ops
// (arithmetic and predicates, operands already broadcast to out's shape with stride 0), and where.
// The formulas, accepted dtypes and error messages are those of tensor/cpu/{unary,binary}.cpp and
// tensor/cpu/math.h; one exception: f32 gelu uses CUDA's erff/expf where the CPU uses its fast
// polynomial forms (the two agree to ~2e-7). Leaves out: vectorised (float4) loads.
#include <type_traits>

#include "cuda/common.cuh"

namespace iris::cuda {

void use_device(Device d);  // runtime.cu

namespace {

// Offsets of element i for each operand; one dim (contiguous, or a scalar broadcast) skips the
// division chain of StridedIndex::offsets.
template <int K>
__device__ __forceinline__ void element_offsets(const StridedIndex<K>& ix, int64_t i, int64_t (&off)[K]) {
  if (ix.nd == 1) {
    for (int k = 0; k < K; ++k) off[k] = i * ix.stride[k][0];
  } else {
    ix.offsets(i, off);
  }
}

// ---- device math for float and double (never the iris:: Tensor functions of the same names) -----
#define IRIS_DEVICE_MATH(name)                                                          \
  __device__ __forceinline__ float m_##name(float x) { return ::name##f(x); }           \
  __device__ __forceinline__ double m_##name(double x) { return ::name(x); }
IRIS_DEVICE_MATH(exp)
IRIS_DEVICE_MATH(log)
IRIS_DEVICE_MATH(log1p)
IRIS_DEVICE_MATH(sqrt)
IRIS_DEVICE_MATH(sin)
IRIS_DEVICE_MATH(cos)
IRIS_DEVICE_MATH(tanh)
IRIS_DEVICE_MATH(erf)
IRIS_DEVICE_MATH(floor)
IRIS_DEVICE_MATH(ceil)
IRIS_DEVICE_MATH(rint)  // round half to even, as std::nearbyint on the CPU
IRIS_DEVICE_MATH(fabs)
#undef IRIS_DEVICE_MATH
__device__ __forceinline__ float m_pow(float x, float y) { return ::powf(x, y); }
__device__ __forceinline__ double m_pow(double x, double y) { return ::pow(x, y); }

template <class T>
__device__ __forceinline__ T sigmoid_of(T x) {
  if (x >= T(0)) return T(1) / (T(1) + m_exp(-x));
  T e = m_exp(x);
  return e / (T(1) + e);
}

// ---- unary: f(x) and f'(x) for floating T (twins of tensor/cpu/math.h) ----------------------------

template <UnaryOp Op, class T>
__device__ __forceinline__ T unary_value(T x, const UnaryParams& p) {
  constexpr T kInvSqrt2 = T(0.70710678118654752440);
  constexpr T kSqrt2OverPi = T(0.79788456080286535588);
  if constexpr (Op == UnaryOp::neg) return -x;
  else if constexpr (Op == UnaryOp::abs) return m_fabs(x);
  else if constexpr (Op == UnaryOp::sign) return T((x > T(0)) - (x < T(0)));
  else if constexpr (Op == UnaryOp::square) return x * x;
  else if constexpr (Op == UnaryOp::reciprocal) return T(1) / x;
  else if constexpr (Op == UnaryOp::exp) return m_exp(x);
  else if constexpr (Op == UnaryOp::log) return m_log(x);
  else if constexpr (Op == UnaryOp::log1p) return m_log1p(x);
  else if constexpr (Op == UnaryOp::sqrt) return m_sqrt(x);
  else if constexpr (Op == UnaryOp::rsqrt) return T(1) / m_sqrt(x);
  else if constexpr (Op == UnaryOp::sin) return m_sin(x);
  else if constexpr (Op == UnaryOp::cos) return m_cos(x);
  else if constexpr (Op == UnaryOp::tanh) return m_tanh(x);
  else if constexpr (Op == UnaryOp::sigmoid) return sigmoid_of(x);
  else if constexpr (Op == UnaryOp::relu) return x > T(0) ? x : T(0);
  else if constexpr (Op == UnaryOp::gelu) return T(0.5) * x * (T(1) + m_erf(x * kInvSqrt2));
  else if constexpr (Op == UnaryOp::gelu_tanh)
    return T(0.5) * x * (T(1) + m_tanh(kSqrt2OverPi * (x + T(0.044715) * x * x * x)));
  else if constexpr (Op == UnaryOp::quick_gelu) return x * sigmoid_of(T(1.702) * x);
  else if constexpr (Op == UnaryOp::silu) return x * sigmoid_of(x);
  else if constexpr (Op == UnaryOp::erf) return m_erf(x);
  else if constexpr (Op == UnaryOp::floor) return m_floor(x);
  else if constexpr (Op == UnaryOp::ceil) return m_ceil(x);
  else if constexpr (Op == UnaryOp::round) return m_rint(x);
  else if constexpr (Op == UnaryOp::logical_not) return T(x == T(0));
  else if constexpr (Op == UnaryOp::leaky_relu) return x > T(0) ? x : x * T(p.a);
  else if constexpr (Op == UnaryOp::softplus) {
    T bx = T(p.a) * x;
    return bx > T(p.b) ? x : m_log1p(m_exp(bx)) / T(p.a);
  } else if constexpr (Op == UnaryOp::clamp) {
    T lo = T(p.a), hi = T(p.b);
    if (x != x) return x;  // NaN stays NaN
    return x < lo ? lo : (x > hi ? hi : x);
  } else if constexpr (Op == UnaryOp::pow_scalar) {
    return p.a == 2.0 ? x * x : m_pow(x, T(p.a));
  } else {
    static_assert(Op == UnaryOp::affine, "every UnaryOp has a case");
    return x * T(p.a) + T(p.b);
  }
}

template <UnaryOp Op, class T>
__device__ __forceinline__ T unary_derivative(T x, T y, const UnaryParams& p) {
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
  else if constexpr (Op == UnaryOp::sin) return m_cos(x);
  else if constexpr (Op == UnaryOp::cos) return -m_sin(x);
  else if constexpr (Op == UnaryOp::tanh) return T(1) - y * y;
  else if constexpr (Op == UnaryOp::sigmoid) return y * (T(1) - y);
  else if constexpr (Op == UnaryOp::relu) return x > T(0) ? T(1) : T(0);
  else if constexpr (Op == UnaryOp::gelu) {
    T cdf = T(0.5) * (T(1) + m_erf(x * kInvSqrt2));
    return cdf + x * kInvSqrt2Pi * m_exp(T(-0.5) * x * x);
  } else if constexpr (Op == UnaryOp::gelu_tanh) {
    T inner = kSqrt2OverPi * (x + T(0.044715) * x * x * x);
    T t = m_tanh(inner);
    T dinner = kSqrt2OverPi * (T(1) + T(3) * T(0.044715) * x * x);
    return T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * dinner;
  } else if constexpr (Op == UnaryOp::quick_gelu) {
    T s = sigmoid_of(T(1.702) * x);
    return s + T(1.702) * x * s * (T(1) - s);
  } else if constexpr (Op == UnaryOp::silu) {
    T s = sigmoid_of(x);
    return s * (T(1) + x * (T(1) - s));
  } else if constexpr (Op == UnaryOp::erf) return kTwoOverSqrtPi * m_exp(-x * x);
  else if constexpr (Op == UnaryOp::leaky_relu) return x > T(0) ? T(1) : T(p.a);
  else if constexpr (Op == UnaryOp::softplus) {
    T bx = T(p.a) * x;
    return bx > T(p.b) ? T(1) : sigmoid_of(bx);
  } else if constexpr (Op == UnaryOp::clamp) return (x >= T(p.a) && x <= T(p.b)) ? T(1) : T(0);
  else if constexpr (Op == UnaryOp::pow_scalar) return p.a == 0.0 ? T(0) : T(p.a) * m_pow(x, T(p.a - 1.0));
  else if constexpr (Op == UnaryOp::affine) return T(p.a);
  else return T(0);  // sign, floor, ceil, round, logical_not: no gradient
}

template <class T>
__device__ __forceinline__ bool below_zero(T x) {
  if constexpr (std::is_unsigned_v<T>) return false;  // u8 and bool
  else return x < T(0);
}

// Integer versions of the few unary ops defined on integers (the caller has checked op is one).
template <class T>
__device__ __forceinline__ T unary_int(UnaryOp op, T x, const UnaryParams& p) {
  switch (op) {
    case UnaryOp::neg: return static_cast<T>(-x);
    case UnaryOp::abs: return below_zero(x) ? static_cast<T>(-x) : x;
    case UnaryOp::sign: return static_cast<T>((x > T(0)) - below_zero(x));
    case UnaryOp::square: return static_cast<T>(x * x);
    case UnaryOp::relu: return x > T(0) ? x : T(0);
    case UnaryOp::logical_not: return static_cast<T>(x == T(0));
    case UnaryOp::clamp: {
      double v = static_cast<double>(x);
      return v < p.a ? static_cast<T>(::ceil(p.a)) : (v > p.b ? static_cast<T>(::floor(p.b)) : x);
    }
    default: return x;  // floor, ceil, round
  }
}

bool defined_for_integers(UnaryOp op) {
  switch (op) {
    case UnaryOp::neg: case UnaryOp::abs: case UnaryOp::sign: case UnaryOp::square: case UnaryOp::relu:
    case UnaryOp::floor: case UnaryOp::ceil: case UnaryOp::round: case UnaryOp::logical_not: case UnaryOp::clamp:
      return true;
    default:
      return false;
  }
}

// ix: {out, x}
template <UnaryOp Op, class T>
__global__ void unary_kernel(StridedIndex<2> ix, const T* x, T* out, UnaryParams p) {
  IRIS_KERNEL_LOOP(i, ix.numel) {
    int64_t o[2];
    element_offsets(ix, i, o);
    out[o[0]] = unary_value<Op, T>(x[o[1]], p);
  }
}

template <class T>
__global__ void unary_int_kernel(StridedIndex<2> ix, const T* x, T* out, UnaryOp op, UnaryParams p) {
  IRIS_KERNEL_LOOP(i, ix.numel) {
    int64_t o[2];
    element_offsets(ix, i, o);
    out[o[0]] = unary_int<T>(op, x[o[1]], p);
  }
}

// ix: {grad_in, x, y, grad_out}
template <UnaryOp Op, class T>
__global__ void unary_backward_kernel(StridedIndex<4> ix, const T* x, const T* y, const T* grad_out, T* grad_in,
                                      UnaryParams p) {
  IRIS_KERNEL_LOOP(i, ix.numel) {
    int64_t o[4];
    element_offsets(ix, i, o);
    grad_in[o[0]] = grad_out[o[3]] * unary_derivative<Op, T>(x[o[1]], y[o[2]], p);
  }
}

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

// ---- binary ---------------------------------------------------------------------------------------

// a^b for integer operands, computed in double as std::pow does on the CPU, but exactly: by squaring
// (exact while the result fits in 53 bits), so CUDA's pow (2 ulp) cannot turn 27 into 26.999... and
// truncate it to 26. Negative exponents: 1 / a^-b, which truncates to 0 unless |a| = 1.
__device__ __forceinline__ double integer_power(double a, double b) {
  double magnitude = 1.0, base = a;
  for (double e = b < 0 ? -b : b; e >= 1.0; e = ::floor(e * 0.5)) {
    if (::fmod(e, 2.0) == 1.0) magnitude *= base;
    base *= base;
  }
  return b < 0 ? 1.0 / magnitude : magnitude;
}

template <BinaryOp Op, class T>
using BinaryResult = std::conditional_t<(Op >= BinaryOp::eq), bool, T>;

template <BinaryOp Op, class T>
__device__ __forceinline__ BinaryResult<Op, T> binary_value(T a, T b) {
  if constexpr (Op == BinaryOp::add) return static_cast<T>(a + b);
  else if constexpr (Op == BinaryOp::sub) return static_cast<T>(a - b);
  else if constexpr (Op == BinaryOp::mul) return static_cast<T>(a * b);
  else if constexpr (Op == BinaryOp::div) return static_cast<T>(a / b);
  else if constexpr (Op == BinaryOp::pow) {
    // std::pow on the CPU: float/double overloads for floating T, double for integers
    if constexpr (std::is_floating_point_v<T>) return m_pow(a, b);
    else return static_cast<T>(integer_power(static_cast<double>(a), static_cast<double>(b)));
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

// ix: {out, a, b}
template <BinaryOp Op, class T>
__global__ void binary_kernel(StridedIndex<3> ix, const T* a, const T* b, BinaryResult<Op, T>* out) {
  IRIS_KERNEL_LOOP(i, ix.numel) {
    int64_t o[3];
    element_offsets(ix, i, o);
    out[o[0]] = binary_value<Op, T>(a[o[1]], b[o[2]]);
  }
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

// ix: {out, cond, a, b}
template <class T>
__global__ void where_kernel(StridedIndex<4> ix, const bool* cond, const T* a, const T* b, T* out) {
  IRIS_KERNEL_LOOP(i, ix.numel) {
    int64_t o[4];
    element_offsets(ix, i, o);
    out[o[0]] = cond[o[1]] ? a[o[2]] : b[o[3]];
  }
}

}  // namespace

// ---- CudaBackend methods --------------------------------------------------------------------------

void CudaBackend::unary(UnaryOp op, const Tensor& x, const Tensor& out, UnaryParams p) {
  check_on_gpu("unary", {&x, &out});
  use_device(out.device());
  IRIS_ASSERT(x.shape() == out.shape());
  const int64_t n = out.numel();
  auto ix = make_strided_index<2>(out.shape(), {out.strides(), x.strides()});
  if (is_floating(x.dtype())) {
    cuda_dispatch_float(x.dtype(), "unary", [&](auto z) {
      using T = decltype(z);
      const T* xp = x.data<T>();
      T* yp = out.data<T>();
      if (n == 0) return;
      with_unary_op(op, [&](auto op_const) {
        constexpr UnaryOp Op = decltype(op_const)::value;
        unary_kernel<Op, T><<<blocks_for(n), kThreads, 0, stream()>>>(ix, xp, yp, p);
        IRIS_CUDA_LAUNCHED();
      });
    });
    return;
  }
  cuda_dispatch_all(x.dtype(), "unary", [&](auto z) {
    using T = decltype(z);
    if (!defined_for_integers(op)) throw Error("unary op is not defined for integer tensors");
    const T* xp = x.data<T>();
    T* yp = out.data<T>();
    if (n == 0) return;
    unary_int_kernel<T><<<blocks_for(n), kThreads, 0, stream()>>>(ix, xp, yp, op, p);
    IRIS_CUDA_LAUNCHED();
  });
}

void CudaBackend::unary_backward(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& grad_out,
                                 const Tensor& grad_in, UnaryParams p) {
  check_on_gpu("unary_backward", {&x, &y, &grad_out, &grad_in});
  use_device(grad_in.device());
  cuda_dispatch_float(grad_in.dtype(), "unary_backward", [&](auto z) {
    using T = decltype(z);
    // x or y may be undefined when the derivative does not read it: point at grad_out instead (unused).
    const Tensor& xs = x.defined() ? x : grad_out;
    const Tensor& ys = y.defined() ? y : grad_out;
    IRIS_ASSERT(xs.shape() == grad_in.shape() && ys.shape() == grad_in.shape() && grad_out.shape() == grad_in.shape());
    const T* xp = xs.data<T>();
    const T* yp = ys.data<T>();
    const T* gp = grad_out.data<T>();
    T* dp = grad_in.data<T>();
    const int64_t n = grad_in.numel();
    if (n == 0) return;
    auto ix = make_strided_index<4>(grad_in.shape(), {grad_in.strides(), xs.strides(), ys.strides(), grad_out.strides()});
    with_unary_op(op, [&](auto op_const) {
      constexpr UnaryOp Op = decltype(op_const)::value;
      unary_backward_kernel<Op, T><<<blocks_for(n), kThreads, 0, stream()>>>(ix, xp, yp, gp, dp, p);
      IRIS_CUDA_LAUNCHED();
    });
  });
}

void CudaBackend::binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) {
  check_on_gpu("binary", {&a, &b, &out});
  use_device(out.device());
  IRIS_ASSERT(a.dtype() == b.dtype() && a.shape() == out.shape() && b.shape() == out.shape());
  const int64_t n = out.numel();
  cuda_dispatch_all(a.dtype(), "binary", [&](auto z) {
    using T = decltype(z);
    with_binary_op(op, [&](auto op_const) {
      constexpr BinaryOp Op = decltype(op_const)::value;
      if constexpr (std::is_same_v<T, bool> && (Op == BinaryOp::sub || Op == BinaryOp::div || Op == BinaryOp::pow)) {
        throw Error("binary: sub, div and pow are not defined for bool tensors; convert with .to(DType::f32)");
      } else {
        using R = BinaryResult<Op, T>;
        IRIS_CHECK(out.dtype() == dtype_of<R>::value, "binary: the output has dtype ", dtype_name(out.dtype()),
                   " but this op writes ", dtype_name(dtype_of<R>::value));
        if (n == 0) return;
        auto ix = make_strided_index<3>(out.shape(), {out.strides(), a.strides(), b.strides()});
        binary_kernel<Op, T><<<blocks_for(n), kThreads, 0, stream()>>>(
            ix, static_cast<const T*>(a.raw_data()), static_cast<const T*>(b.raw_data()), static_cast<R*>(out.raw_data()));
        IRIS_CUDA_LAUNCHED();
      }
    });
  });
}

void CudaBackend::where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out) {
  check_on_gpu("where", {&cond, &a, &b, &out});
  use_device(out.device());
  IRIS_ASSERT(cond.shape() == out.shape() && a.shape() == out.shape() && b.shape() == out.shape());
  cuda_dispatch_all(out.dtype(), "where", [&](auto z) {
    using T = decltype(z);
    const bool* cp = cond.data<bool>();
    const T* ap = a.data<T>();
    const T* bp = b.data<T>();
    T* op = out.data<T>();
    const int64_t n = out.numel();
    if (n == 0) return;
    auto ix = make_strided_index<4>(out.shape(), {out.strides(), cond.strides(), a.strides(), b.strides()});
    where_kernel<T><<<blocks_for(n), kThreads, 0, stream()>>>(ix, cp, ap, bp, op);
    IRIS_CUDA_LAUNCHED();
  });
}

}  // namespace iris::cuda
