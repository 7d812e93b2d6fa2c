// CPU elementwise kernels: copy (with dtype conversion), fill, unary and its backward, binary and
// where. All run through strided_loop (loops.h); the op is a compile-time constant inside each
// loop so the per-element switch folds away and contiguous runs vectorise.
#include <cstring>

#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/loops.h"
#include "tensor/cpu/math.h"

namespace iris::cpu {

namespace {

template <class T>
using cptr = const T*;

// ---- scalar conversion (including the 16-bit float storage types) -----------------------
template <class T>
inline double load_as_double(const T& v) { return static_cast<double>(v); }
template <>
inline double load_as_double(const bf16_t& v) { return bf16_to_float(v); }
template <>
inline double load_as_double(const f16_t& v) { return f16_to_float(v); }

template <class T>
inline T store_from(double v) {
  if constexpr (std::is_same_v<T, bool>) return v != 0.0;
  else if constexpr (std::is_same_v<T, bf16_t>) return float_to_bf16(static_cast<float>(v));
  else if constexpr (std::is_same_v<T, f16_t>) return float_to_f16(static_cast<float>(v));
  else if constexpr (std::is_integral_v<T>) return std::isnan(v) ? T(0) : static_cast<T>(v);
  else return static_cast<T>(v);
}

template <class F>
void dispatch_storage(DType dt, F&& f) {
  switch (dt) {
    case DType::f32: f(float{}); return;
    case DType::f64: f(double{}); return;
    case DType::i32: f(int32_t{}); return;
    case DType::i64: f(int64_t{}); return;
    case DType::u8: f(uint8_t{}); return;
    case DType::b8: f(bool{}); return;
    case DType::bf16: f(bf16_t{}); return;
    case DType::f16: f(f16_t{}); return;
  }
}

// Same-dtype copy: moves raw element bits, contiguous runs with memcpy.
template <class Bits>
void copy_bits(const Tensor& src, const Tensor& dst) {
  auto* s = static_cast<const Bits*>(src.raw_data());
  auto* d = static_cast<Bits*>(dst.raw_data());
  strided_loop<2>(dst.shape(), {dst.strides(), src.strides()}, [&](int64_t n, Offsets<2> o, Offsets<2> st) {
    if (st[0] == 1 && st[1] == 1) {
      std::memcpy(d + o[0], s + o[1], static_cast<size_t>(n) * sizeof(Bits));
    } else {
      for (int64_t i = 0; i < n; ++i) d[o[0] + i * st[0]] = s[o[1] + i * st[1]];
    }
  });
}

template <UnaryOp Op, class T>
void unary_loop(const Tensor& x, const Tensor& out, const UnaryParams& p) {
  const T* xp = x.data<T>();
  T* op = out.data<T>();
  strided_loop<2>(out.shape(), {out.strides(), x.strides()}, [&](int64_t n, Offsets<2> o, Offsets<2> st) {
    T* y = op + o[0];
    const T* a = xp + o[1];
    if (st[0] == 1 && st[1] == 1) {
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) y[i] = unary_value<T>(Op, a[i], p);
    } else {
      for (int64_t i = 0; i < n; ++i) y[i * st[0]] = unary_value<T>(Op, a[i * st[1]], p);
    }
  });
}

// Integer versions of the few unary ops defined on integers.
template <class T>
T unary_int(UnaryOp op, T x, const UnaryParams& p) {
  switch (op) {
    case UnaryOp::neg: return static_cast<T>(-x);
    case UnaryOp::abs: return x < T(0) ? static_cast<T>(-x) : x;
    case UnaryOp::sign: return static_cast<T>((x > T(0)) - (x < T(0)));
    case UnaryOp::square: return static_cast<T>(x * x);
    case UnaryOp::relu: return x > T(0) ? x : T(0);
    case UnaryOp::floor: case UnaryOp::ceil: case UnaryOp::round: return x;
    case UnaryOp::logical_not: return static_cast<T>(x == T(0));
    case UnaryOp::clamp: {
      double v = static_cast<double>(x);
      return v < p.a ? static_cast<T>(std::ceil(p.a)) : (v > p.b ? static_cast<T>(std::floor(p.b)) : x);
    }
    default: throw Error("unary op is not defined for integer tensors");
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
}

template <BinaryOp Op, class T>
inline auto binary_value(T a, T b) {
  if constexpr (Op == BinaryOp::add) return static_cast<T>(a + b);
  else if constexpr (Op == BinaryOp::sub) return static_cast<T>(a - b);
  else if constexpr (Op == BinaryOp::mul) return static_cast<T>(a * b);
  else if constexpr (Op == BinaryOp::div) return static_cast<T>(a / b);
  else if constexpr (Op == BinaryOp::pow) return static_cast<T>(std::pow(a, b));
  else if constexpr (Op == BinaryOp::maximum) return (a != a || a > b) ? a : b;  // NaN propagates
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

template <BinaryOp Op, class T>
void binary_loop(const Tensor& a, const Tensor& b, const Tensor& out) {
  using R = std::conditional_t<(Op >= BinaryOp::eq), bool, T>;
  const T* ap = static_cast<const T*>(a.raw_data());
  const T* bp = static_cast<const T*>(b.raw_data());
  R* op = static_cast<R*>(out.raw_data());
  strided_loop<3>(out.shape(), {out.strides(), a.strides(), b.strides()},
                  [&](int64_t n, Offsets<3> o, Offsets<3> st) {
                    R* y = op + o[0];
                    const T* x0 = ap + o[1];
                    const T* x1 = bp + o[2];
                    if (st[0] == 1 && st[1] == 1 && st[2] == 1) {
                      for (int64_t i = 0; i < n; ++i) y[i] = binary_value<Op, T>(x0[i], x1[i]);
                    } else if (st[0] == 1 && st[1] == 1 && st[2] == 0) {
                      const T s = x1[0];
                      for (int64_t i = 0; i < n; ++i) y[i] = binary_value<Op, T>(x0[i], s);
                    } else if (st[0] == 1 && st[1] == 0 && st[2] == 1) {
                      const T s = x0[0];
                      for (int64_t i = 0; i < n; ++i) y[i] = binary_value<Op, T>(s, x1[i]);
                    } else {
                      for (int64_t i = 0; i < n; ++i)
                        y[i * st[0]] = binary_value<Op, T>(x0[i * st[1]], x1[i * st[2]]);
                    }
                  });
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
}

}  // namespace

void CpuBackend::copy(const Tensor& src, const Tensor& dst) {
  IRIS_ASSERT(src.shape() == dst.shape());
  IRIS_CHECK(src.device().is_cpu() && dst.device().is_cpu(), "copy: the CPU backend cannot reach ",
             src.device().is_cpu() ? dst.device().str() : src.device().str());
  if (src.dtype() == dst.dtype()) {
    switch (dtype_size(src.dtype())) {
      case 1: copy_bits<uint8_t>(src, dst); return;
      case 2: copy_bits<uint16_t>(src, dst); return;
      case 4: copy_bits<uint32_t>(src, dst); return;
      default: copy_bits<uint64_t>(src, dst); return;
    }
  }
  dispatch_storage(src.dtype(), [&](auto s0) {
    using S = decltype(s0);
    dispatch_storage(dst.dtype(), [&](auto d0) {
      using D = decltype(d0);
      const S* s = static_cast<const S*>(src.raw_data());
      D* d = static_cast<D*>(dst.raw_data());
      strided_loop<2>(dst.shape(), {dst.strides(), src.strides()}, [&](int64_t n, Offsets<2> o, Offsets<2> st) {
        for (int64_t i = 0; i < n; ++i) d[o[0] + i * st[0]] = store_from<D>(load_as_double(s[o[1] + i * st[1]]));
      });
    });
  });
}

void CpuBackend::fill(const Tensor& dst, double value) {
  dispatch_storage(dst.dtype(), [&](auto z) {
    using T = decltype(z);
    T v = store_from<T>(value);
    T* d = static_cast<T*>(dst.raw_data());
    strided_loop<1>(dst.shape(), {dst.strides()}, [&](int64_t n, Offsets<1> o, Offsets<1> st) {
      for (int64_t i = 0; i < n; ++i) d[o[0] + i * st[0]] = v;
    });
  });
}

void CpuBackend::unary(UnaryOp op, const Tensor& x, const Tensor& out, UnaryParams p) {
  if (is_floating(x.dtype())) {
    dispatch_float(x.dtype(), "unary", [&](auto z) {
      using T = decltype(z);
      with_unary_op(op, [&](auto op_const) { unary_loop<decltype(op_const)::value, T>(x, out, p); });
    });
    return;
  }
  dispatch_all(x.dtype(), "unary", [&](auto z) {
    using T = decltype(z);
    const T* xp = x.data<T>();
    T* yp = out.data<T>();
    strided_loop<2>(out.shape(), {out.strides(), x.strides()}, [&](int64_t n, Offsets<2> o, Offsets<2> st) {
      for (int64_t i = 0; i < n; ++i) yp[o[0] + i * st[0]] = unary_int<T>(op, xp[o[1] + i * st[1]], p);
    });
  });
}

void CpuBackend::unary_backward(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& grad_out,
                                const Tensor& grad_in, UnaryParams p) {
  dispatch_float(grad_in.dtype(), "unary_backward", [&](auto z) {
    using T = decltype(z);
    // x or y may be undefined when the derivative does not read it: point at g instead (unused).
    const Tensor& xs = x.defined() ? x : grad_out;
    const Tensor& ys = y.defined() ? y : grad_out;
    const T* xp = xs.data<T>();
    const T* yp = ys.data<T>();
    const T* gp = grad_out.data<T>();
    T* dp = grad_in.data<T>();
    with_unary_op(op, [&](auto op_const) {
      constexpr UnaryOp Op = decltype(op_const)::value;
      strided_loop<4>(grad_in.shape(), {grad_in.strides(), xs.strides(), ys.strides(), grad_out.strides()},
                      [&](int64_t n, Offsets<4> o, Offsets<4> st) {
                        if (st[0] == 1 && st[1] == 1 && st[2] == 1 && st[3] == 1) {
                          T* d = dp + o[0];
                          const T *xv = xp + o[1], *yv = yp + o[2], *gv = gp + o[3];
#pragma omp simd
                          for (int64_t i = 0; i < n; ++i) d[i] = gv[i] * unary_derivative<T>(Op, xv[i], yv[i], p);
                          return;
                        }
                        for (int64_t i = 0; i < n; ++i)
                          dp[o[0] + i * st[0]] = gp[o[3] + i * st[3]] *
                                                 unary_derivative<T>(Op, xp[o[1] + i * st[1]], yp[o[2] + i * st[2]], p);
                      });
    });
  });
}

void CpuBackend::binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) {
  IRIS_ASSERT(a.dtype() == b.dtype() && a.shape() == out.shape() && b.shape() == out.shape());
  dispatch_all(a.dtype(), "binary", [&](auto z) {
    using T = decltype(z);
    with_binary_op(op, [&](auto op_const) {
      constexpr BinaryOp Op = decltype(op_const)::value;
      if constexpr (std::is_same_v<T, bool> && (Op == BinaryOp::sub || Op == BinaryOp::div || Op == BinaryOp::pow)) {
        throw Error("binary: sub, div and pow are not defined for bool tensors; convert with .to(DType::f32)");
      } else {
        binary_loop<Op, T>(a, b, out);
      }
    });
  });
}

void CpuBackend::where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out) {
  dispatch_all(out.dtype(), "where", [&](auto z) {
    using T = decltype(z);
    const bool* cp = cond.data<bool>();
    const T* ap = a.data<T>();
    const T* bp = b.data<T>();
    T* op = out.data<T>();
    strided_loop<4>(out.shape(), {out.strides(), cond.strides(), a.strides(), b.strides()},
                    [&](int64_t n, Offsets<4> o, Offsets<4> st) {
                      for (int64_t i = 0; i < n; ++i)
                        op[o[0] + i * st[0]] = cp[o[1] + i * st[1]] ? ap[o[2] + i * st[2]] : bp[o[3] + i * st[3]];
                    });
  });
}

}  // namespace iris::cpu
