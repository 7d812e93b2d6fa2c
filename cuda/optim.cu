// The fused AdamW step on the GPU: one pass over parameter, gradient and both moments (f32, f64),
// the formula of tensor/cpu/optim.cpp (PyTorch's):
// p <- p - lr * wd * p;  m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2;
// p <- p - (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
// Leaves out: multi-tensor launches (one launch per parameter), AMSGrad, other optimisers.
#include <cmath>
#include <type_traits>

#include "cuda/common.cuh"

namespace iris::cuda {

void use_device(Device d);  // runtime.cu

namespace {

// The step's scalars, computed on the host in double and rounded to T once, as the CPU does.
template <class T>
struct AdamWScalars {
  T decay, b1, b2, step_size, inv_sqrt_bc2, eps;
};

template <class T>
__global__ void adamw_kernel(T* param, const T* grad, T* exp_avg, T* exp_avg_sq, int64_t n, AdamWScalars<T> s) {
  IRIS_KERNEL_LOOP(i, n) {
    T g = grad[i];
    T m = s.b1 * exp_avg[i] + (T(1) - s.b1) * g;
    T v = s.b2 * exp_avg_sq[i] + (T(1) - s.b2) * g * g;
    exp_avg[i] = m;
    exp_avg_sq[i] = v;
    T root;
    if constexpr (std::is_same_v<T, float>) root = ::sqrtf(v);
    else root = ::sqrt(v);
    param[i] = param[i] * s.decay - s.step_size * m / (root * s.inv_sqrt_bc2 + s.eps);
  }
}

}  // namespace

void CudaBackend::adamw_step(const Tensor& param, const Tensor& grad, const Tensor& exp_avg,
                             const Tensor& exp_avg_sq, const AdamWParams& h) {
  check_on_gpu("adamw", {&param, &grad, &exp_avg, &exp_avg_sq});
  use_device(param.device());
  IRIS_ASSERT(param.is_contiguous() && grad.is_contiguous() && exp_avg.is_contiguous() && exp_avg_sq.is_contiguous());
  IRIS_CHECK(grad.shape() == param.shape(), "adamw: gradient shape ", shape_str(grad.shape()),
             " differs from the parameter's ", shape_str(param.shape()));
  IRIS_CHECK(exp_avg.numel() == param.numel() && exp_avg_sq.numel() == param.numel(),
             "adamw: the moment buffers have ", exp_avg.numel(), " and ", exp_avg_sq.numel(),
             " elements but the parameter has ", param.numel());
  cuda_dispatch_float(param.dtype(), "adamw", [&](auto z) {
    using T = decltype(z);
    T* p = param.data<T>();
    const T* g = grad.data<T>();
    T* m = exp_avg.data<T>();
    T* v = exp_avg_sq.data<T>();
    const double bc1 = 1.0 - std::pow(h.beta1, static_cast<double>(h.step));
    const double bc2 = 1.0 - std::pow(h.beta2, static_cast<double>(h.step));
    AdamWScalars<T> s;
    s.decay = static_cast<T>(1.0 - h.lr * h.weight_decay);
    s.b1 = static_cast<T>(h.beta1);
    s.b2 = static_cast<T>(h.beta2);
    s.step_size = static_cast<T>(h.lr / bc1);
    s.inv_sqrt_bc2 = static_cast<T>(1.0 / std::sqrt(bc2));
    s.eps = static_cast<T>(h.eps);
    const int64_t n = param.numel();
    if (n == 0) return;
    adamw_kernel<T><<<blocks_for(n), kThreads, 0, stream()>>>(p, g, m, v, n, s);
    IRIS_CUDA_LAUNCHED();
  });
}

}  // namespace iris::cuda
