// The fused AdamW step on the CPU: one pass over parameter, gradient and both moments, with the
// formula of tensor/optim_formulas.h (shared with cuda/optim.cu).
// Leaves out multi-tensor fusion (one call per parameter), AMSGrad and other optimisers.
#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/loops.h"
#include "tensor/optim_formulas.h"

namespace iris::cpu {

void CpuBackend::adamw_step(const Tensor& param, const Tensor& grad, const Tensor& exp_avg,
                            const Tensor& exp_avg_sq, const AdamWParams& h) {
  check_adamw_buffers(param, grad, exp_avg, exp_avg_sq);
  dispatch_float(param.dtype(), "adamw", [&](auto z) {
    using T = decltype(z);
    T* p = param.data<T>();
    const T* g = grad.data<T>();
    T* m = exp_avg.data<T>();
    T* v = exp_avg_sq.data<T>();
    const AdamWScalars<T> s = adamw_scalars<T>(h);
    parallel_for(param.numel(), 8, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        T pi = p[i], mi = m[i], vi = v[i];  // locals: the loop vectorises without alias checks
        adamw_update(pi, g[i], mi, vi, s);
        p[i] = pi, m[i] = mi, v[i] = vi;
      }
    });
  });
}

}  // namespace iris::cpu
