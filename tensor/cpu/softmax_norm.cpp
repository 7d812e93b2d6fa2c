// STUB: to be written. Every kernel here throws until implemented.
#include "tensor/cpu/cpu_backend.h"

namespace iris::cpu {

void CpuBackend::softmax(const Tensor& x, int dim, bool log, const Tensor& out) {
  throw Error("softmax: not implemented on the CPU yet");
}

void CpuBackend::softmax_backward(const Tensor& y, const Tensor& grad_out, int dim, bool log, const Tensor& grad_in) {
  throw Error("softmax_backward: not implemented on the CPU yet");
}

void CpuBackend::layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, const Tensor& y, const Tensor& mean, const Tensor& rstd) {
  throw Error("layer_norm: not implemented on the CPU yet");
}

void CpuBackend::layer_norm_backward(const Tensor& grad_y, const Tensor& x, const Tensor& weight, const Tensor& mean, const Tensor& rstd, const Tensor& grad_x, const Tensor& grad_weight, const Tensor& grad_bias) {
  throw Error("layer_norm_backward: not implemented on the CPU yet");
}

}  // namespace iris::cpu
