// CPU unary kernels and their backward (grad_in = grad_out * f'(x)), through strided_loop. The op
// is a compile-time constant inside each loop, so the formula (tensor/elementwise_formulas.h, shared
// with CUDA; scalar math from CpuMath) is folded in and contiguous runs vectorise.
#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/loops.h"
#include "tensor/cpu/math.h"
#include "tensor/elementwise_formulas.h"

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
      for (int64_t i = 0; i < n; ++i) y[i] = unary_value<Op, CpuMath>(a[i], p);
    } else {
      for (int64_t i = 0; i < n; ++i) y[i * st[0]] = unary_value<Op, CpuMath>(a[i * st[1]], p);
    }
  });
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
  if (!unary_defined_for_integers(op)) throw Error("unary op is not defined for integer tensors");
  dispatch_all(x.dtype(), "unary", [&](auto z) {
    using T = decltype(z);
    const T* xp = x.data<T>();
    T* yp = out.data<T>();
    strided_loop<2>(out.shape(), {out.strides(), x.strides()}, [&](int64_t n, Offsets<2> o, Offsets<2> st) {
      for (int64_t i = 0; i < n; ++i) yp[o[0] + i * st[0]] = unary_int_value<CpuMath>(op, xp[o[1] + i * st[1]], p);
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
                          for (int64_t i = 0; i < n; ++i) d[i] = gv[i] * unary_derivative<Op, CpuMath>(xv[i], yv[i], p);
                          return;
                        }
                        for (int64_t i = 0; i < n; ++i)
                          dp[o[0] + i * st[0]] =
                              gp[o[3] + i * st[3]] *
                              unary_derivative<Op, CpuMath>(xp[o[1] + i * st[1]], yp[o[2] + i * st[2]], p);
                      });
    });
  });
}

}  // namespace iris::cpu
