// The fused AdamW step on the CPU: one pass over parameter, gradient and both moments.
// p <- p - lr * wd * p;  m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2;
// p <- p - (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)     (PyTorch's formulation)
#include <cmath>

#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/loops.h"

namespace iris::cpu {

void CpuBackend::adamw_step(const Tensor& param, const Tensor& grad, const Tensor& exp_avg,
                            const Tensor& exp_avg_sq, const AdamWParams& h) {
  IRIS_ASSERT(param.is_contiguous() && grad.is_contiguous() && exp_avg.is_contiguous() && exp_avg_sq.is_contiguous());
  IRIS_CHECK(grad.shape() == param.shape(), "adamw: gradient shape ", shape_str(grad.shape()),
             " differs from the parameter's ", shape_str(param.shape()));
  dispatch_float(param.dtype(), "adamw", [&](auto z) {
    using T = decltype(z);
    T* p = param.data<T>();
    const T* g = grad.data<T>();
    T* m = exp_avg.data<T>();
    T* v = exp_avg_sq.data<T>();
    const double bc1 = 1.0 - std::pow(h.beta1, static_cast<double>(h.step));
    const double bc2 = 1.0 - std::pow(h.beta2, static_cast<double>(h.step));
    const T decay = static_cast<T>(1.0 - h.lr * h.weight_decay);
    const T b1 = static_cast<T>(h.beta1), b2 = static_cast<T>(h.beta2);
    const T step_size = static_cast<T>(h.lr / bc1);
    const T inv_sqrt_bc2 = static_cast<T>(1.0 / std::sqrt(bc2));
    const T eps = static_cast<T>(h.eps);
    parallel_for(param.numel(), 8, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        T gi = g[i];
        m[i] = b1 * m[i] + (T(1) - b1) * gi;
        v[i] = b2 * v[i] + (T(1) - b2) * gi * gi;
        p[i] = p[i] * decay - step_size * m[i] / (std::sqrt(v[i]) * inv_sqrt_bc2 + eps);
      }
    });
  });
}

}  // namespace iris::cpu
