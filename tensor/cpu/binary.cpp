// CPU binary kernels (arithmetic and predicates, operands already broadcast to the output's
// shape) and where, through strided_loop; scalar-operand runs get their own loops. The formulas are
// tensor/elementwise_formulas.h's, shared with CUDA.
#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/loops.h"
#include "tensor/cpu/math.h"
#include "tensor/elementwise_formulas.h"

namespace iris::cpu {

namespace {

template <BinaryOp Op, class T>
void binary_loop(const Tensor& a, const Tensor& b, const Tensor& out) {
  using R = BinaryResult<Op, T>;
  const T* ap = static_cast<const T*>(a.raw_data());
  const T* bp = static_cast<const T*>(b.raw_data());
  R* op = static_cast<R*>(out.raw_data());
  strided_loop<3>(out.shape(), {out.strides(), a.strides(), b.strides()},
                  [&](int64_t n, Offsets<3> o, Offsets<3> st) {
                    R* y = op + o[0];
                    const T* x0 = ap + o[1];
                    const T* x1 = bp + o[2];
                    // omp simd: GCC 12 at -O2 will not version these loops for aliasing, so without
                    // the hint they ran scalar. Outputs alias inputs only exactly (in-place
                    // accumulation, element i onto element i), which vector lanes keep correct.
                    if (st[0] == 1 && st[1] == 1 && st[2] == 1) {
#pragma omp simd
                      for (int64_t i = 0; i < n; ++i) y[i] = binary_value<Op, CpuMath, T>(x0[i], x1[i]);
                    } else if (st[0] == 1 && st[1] == 1 && st[2] == 0) {
                      const T s = x1[0];
#pragma omp simd
                      for (int64_t i = 0; i < n; ++i) y[i] = binary_value<Op, CpuMath, T>(x0[i], s);
                    } else if (st[0] == 1 && st[1] == 0 && st[2] == 1) {
                      const T s = x0[0];
#pragma omp simd
                      for (int64_t i = 0; i < n; ++i) y[i] = binary_value<Op, CpuMath, T>(s, x1[i]);
                    } else {
                      for (int64_t i = 0; i < n; ++i)
                        y[i * st[0]] = binary_value<Op, CpuMath, T>(x0[i * st[1]], x1[i * st[2]]);
                    }
                  });
}

}  // namespace

void CpuBackend::binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) {
  IRIS_ASSERT(a.dtype() == b.dtype() && a.shape() == out.shape() && b.shape() == out.shape());
  dispatch_all(a.dtype(), "binary", [&](auto z) {
    using T = decltype(z);
    with_binary_op(op, [&](auto op_const) {
      constexpr BinaryOp Op = decltype(op_const)::value;
      if constexpr (binary_undefined_for<Op, T>) {
        throw Error(kBinaryBoolError);
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
