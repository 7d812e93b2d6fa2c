// CUDA elementwise kernels: unary ops and their backward (grad_in = grad_out * f'(x)), binary ops
// (arithmetic and predicates, operands already broadcast to out's shape with stride 0), and where.
// The formulas are tensor/elementwise_formulas.h's, shared with tensor/cpu/{unary,binary}.cpp, with
// the scalar math of DeviceMath below; one difference: f32 gelu uses CUDA's erff/expf where the CPU
// uses its fast polynomial forms (the two agree to ~2e-7). Accepted dtypes and error messages are
// the CPU's. Leaves out: vectorised (float4) loads.
#include <type_traits>

#include "cuda/common.cuh"
#include "tensor/elementwise_formulas.h"

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

// ---- the device's scalar math for the shared formulas (tensor/elementwise_formulas.h) -----------
// CUDA's libm for float and double (never the iris:: Tensor functions of the same names); GELU's erf
// and exp are erff/expf here, where the CPU uses its fast polynomial forms.
#define IRIS_DEVICE_MATH(name, fn)                                                              \
  static IRIS_HOST_DEVICE IRIS_FORCE_INLINE float name(float x) { return ::fn##f(x); }         \
  static IRIS_HOST_DEVICE IRIS_FORCE_INLINE double name(double x) { return ::fn(x); }
struct DeviceMath {
  IRIS_DEVICE_MATH(abs, fabs)
  IRIS_DEVICE_MATH(exp, exp)
  IRIS_DEVICE_MATH(log, log)
  IRIS_DEVICE_MATH(log1p, log1p)
  IRIS_DEVICE_MATH(sqrt, sqrt)
  IRIS_DEVICE_MATH(sin, sin)
  IRIS_DEVICE_MATH(cos, cos)
  IRIS_DEVICE_MATH(tanh, tanh)
  IRIS_DEVICE_MATH(erf, erf)
  IRIS_DEVICE_MATH(floor, floor)
  IRIS_DEVICE_MATH(ceil, ceil)
  IRIS_DEVICE_MATH(rint, rint)  // round half to even, as std::nearbyint on the CPU
  IRIS_DEVICE_MATH(gelu_erf, erf)
  IRIS_DEVICE_MATH(gelu_exp, exp)
  static IRIS_HOST_DEVICE IRIS_FORCE_INLINE float pow(float x, float y) { return ::powf(x, y); }
  static IRIS_HOST_DEVICE IRIS_FORCE_INLINE double pow(double x, double y) { return ::pow(x, y); }
  template <class T>
  static IRIS_HOST_DEVICE IRIS_FORCE_INLINE bool isnan(T x) { return x != x; }
  // a^b for integer operands, computed in double as std::pow does on the CPU, but exactly: by
  // squaring (exact while the result fits in 53 bits), so CUDA's pow (2 ulp) cannot turn 27 into
  // 26.999... and truncate it to 26. Negative exponents: 1 / a^-b, which truncates to 0 unless |a| = 1.
  static IRIS_HOST_DEVICE IRIS_FORCE_INLINE double integer_pow(double a, double b) {
    double magnitude = 1.0, base = a;
    for (double e = b < 0 ? -b : b; e >= 1.0; e = ::floor(e * 0.5)) {
      if (::fmod(e, 2.0) == 1.0) magnitude *= base;
      base *= base;
    }
    return b < 0 ? 1.0 / magnitude : magnitude;
  }
};
#undef IRIS_DEVICE_MATH

// ix: {out, x}
template <UnaryOp Op, class T>
__global__ void unary_kernel(StridedIndex<2> ix, const T* x, T* out, UnaryParams p) {
  IRIS_KERNEL_LOOP(i, ix.numel) {
    int64_t o[2];
    element_offsets(ix, i, o);
    out[o[0]] = unary_value<Op, DeviceMath>(x[o[1]], p);
  }
}

template <class T>
__global__ void unary_int_kernel(StridedIndex<2> ix, const T* x, T* out, UnaryOp op, UnaryParams p) {
  IRIS_KERNEL_LOOP(i, ix.numel) {
    int64_t o[2];
    element_offsets(ix, i, o);
    out[o[0]] = unary_int_value<DeviceMath>(op, x[o[1]], p);
  }
}

// ix: {grad_in, x, y, grad_out}
template <UnaryOp Op, class T>
__global__ void unary_backward_kernel(StridedIndex<4> ix, const T* x, const T* y, const T* grad_out, T* grad_in,
                                      UnaryParams p) {
  IRIS_KERNEL_LOOP(i, ix.numel) {
    int64_t o[4];
    element_offsets(ix, i, o);
    grad_in[o[0]] = grad_out[o[3]] * unary_derivative<Op, DeviceMath>(x[o[1]], y[o[2]], p);
  }
}

// ---- binary ---------------------------------------------------------------------------------------

// ix: {out, a, b}
template <BinaryOp Op, class T>
__global__ void binary_kernel(StridedIndex<3> ix, const T* a, const T* b, BinaryResult<Op, T>* out) {
  IRIS_KERNEL_LOOP(i, ix.numel) {
    int64_t o[3];
    element_offsets(ix, i, o);
    out[o[0]] = binary_value<Op, DeviceMath, T>(a[o[1]], b[o[2]]);
  }
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
    if (!unary_defined_for_integers(op)) throw Error("unary op is not defined for integer tensors");
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
      if constexpr (binary_undefined_for<Op, T>) {
        throw Error(kBinaryBoolError);
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
