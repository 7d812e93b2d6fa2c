// The fused AdamW step on the GPU: one pass over parameter, gradient and both moments (f32, f64),
// the formula of tensor/optim_formulas.h, shared with the CPU (PyTorch's formulation).
// Leaves out: multi-tensor launches (one launch per parameter), AMSGrad, other optimisers.
#include "cuda/common.cuh"
#include "tensor/optim_formulas.h"

namespace iris::cuda {

void use_device(Device d);  // runtime.cu

namespace {

template <class T>
__global__ void adamw_kernel(T* param, const T* grad, T* exp_avg, T* exp_avg_sq, int64_t n, AdamWScalars<T> s) {
  IRIS_KERNEL_LOOP(i, n) {
    T p = param[i], m = exp_avg[i], v = exp_avg_sq[i];
    adamw_update(p, grad[i], m, v, s);
    param[i] = p, exp_avg[i] = m, exp_avg_sq[i] = v;
  }
}

}  // namespace

void CudaBackend::adamw_step(const Tensor& param, const Tensor& grad, const Tensor& exp_avg,
                             const Tensor& exp_avg_sq, const AdamWParams& h) {
  check_on_gpu("adamw", {&param, &grad, &exp_avg, &exp_avg_sq});
  use_device(param.device());
  check_adamw_buffers(param, grad, exp_avg, exp_avg_sq);
  cuda_dispatch_float(param.dtype(), "adamw", [&](auto z) {
    using T = decltype(z);
    T* p = param.data<T>();
    const T* g = grad.data<T>();
    T* m = exp_avg.data<T>();
    T* v = exp_avg_sq.data<T>();
    const AdamWScalars<T> s = adamw_scalars<T>(h);
    const int64_t n = param.numel();
    if (n == 0) return;
    adamw_kernel<T><<<blocks_for(n), kThreads, 0, stream()>>>(p, g, m, v, n, s);
    IRIS_CUDA_LAUNCHED();
  });
}

}  // namespace iris::cuda
