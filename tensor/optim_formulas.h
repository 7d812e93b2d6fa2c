// The AdamW step written once for both devices: the scalars of step t, computed on the host in
// double and rounded to T once, and the per-element update the CPU loop (tensor/cpu/optim.cpp) and
// the CUDA kernel (cuda/optim.cu) both call (PyTorch's formulation):
//   p <- p * (1 - lr * wd);  m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2;
//   p <- p - (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
// Leaves out the loops, the dtype dispatch and the shape checks (each backend's), AMSGrad and other
// optimisers.
#pragma once

#include <cmath>
#include <type_traits>

#include "tensor/backend.h"
#include "tensor/host_device.h"

namespace iris {

template <class T>
struct AdamWScalars {
  T decay, b1, b2, step_size, inv_sqrt_bc2, eps;
};

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
