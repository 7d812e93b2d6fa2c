// CPU unary kernels and their backward (grad_in = grad_out * f'(x)), through strided_loop. The op
// is a compile-time constant inside each loop, so the per-element switch folds away and contiguous
// runs vectorise (the scalar formulas are in math.h).
#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/loops.h"
#include "tensor/cpu/math.h"

namespace iris::cpu {

namespace {

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

}  // namespace

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

}  // namespace iris::cpu
