// The AdamW step written once for both devices: the scalars of step t, computed on the host in
// double and rounded to T once, and the per-element update the CPU loop (tensor/cpu/optim.cpp) and
// the CUDA kernel (cuda/optim.cu) both call (PyTorch's formulation):
//   p <- p * (1 - lr * wd);  m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2;
//   p <- p - (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
// Leaves out the loops and the dtype dispatch (each backend's), AMSGrad and other optimisers.
#pragma once

#include <cmath>
#include <type_traits>

#include "tensor/backend.h"
#include "tensor/error.h"
#include "tensor/host_device.h"

namespace iris {

template <class T>
struct AdamWScalars {
  T decay, b1, b2, step_size, inv_sqrt_bc2, eps;
};

// The kernels' preconditions, checked the same way on both devices (autograd/ and nn/optim already
// hand over contiguous, same-sized buffers; a broken caller gets a message, not a stray write).
inline void check_adamw_buffers(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq) {
  IRIS_ASSERT(param.is_contiguous() && grad.is_contiguous() && exp_avg.is_contiguous() && exp_avg_sq.is_contiguous());
  IRIS_CHECK(grad.shape() == param.shape(), "adamw: gradient shape ", shape_str(grad.shape()),
             " differs from the parameter's ", shape_str(param.shape()));
  IRIS_CHECK(exp_avg.numel() == param.numel() && exp_avg_sq.numel() == param.numel(),
             "adamw: the moment buffers have ", exp_avg.numel(), " and ", exp_avg_sq.numel(),
             " elements but the parameter has ", param.numel());
}

template <class T>
inline AdamWScalars<T> adamw_scalars(const AdamWParams& h) {
  const double bc1 = 1.0 - std::pow(h.beta1, static_cast<double>(h.step));
  const double bc2 = 1.0 - std::pow(h.beta2, static_cast<double>(h.step));
  AdamWScalars<T> s;
  s.decay = static_cast<T>(1.0 - h.lr * h.weight_decay);
  s.b1 = static_cast<T>(h.beta1);
  s.b2 = static_cast<T>(h.beta2);
  s.step_size = static_cast<T>(h.lr / bc1);
  s.inv_sqrt_bc2 = static_cast<T>(1.0 / std::sqrt(bc2));
  s.eps = static_cast<T>(h.eps);
  return s;
}

// One element: updates the parameter p and the moments m, v in place from the gradient g.
template <class T>
IRIS_HOST_DEVICE IRIS_FORCE_INLINE void adamw_update(T& p, T g, T& m, T& v, const AdamWScalars<T>& s) {
  m = s.b1 * m + (T(1) - s.b1) * g;
  v = s.b2 * v + (T(1) - s.b2) * g * g;
  T root;
#if defined(__CUDA_ARCH__)
  if constexpr (std::is_same_v<T, float>) root = ::sqrtf(v);
  else root = ::sqrt(v);
#else
  root = std::sqrt(v);
#endif
  p = p * s.decay - s.step_size * m / (root * s.inv_sqrt_bc2 + s.eps);
}

}  // namespace iris
