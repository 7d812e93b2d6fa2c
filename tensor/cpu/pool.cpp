// STUB: to be written. Every kernel here throws until implemented.
#include "tensor/cpu/cpu_backend.h"

namespace iris::cpu {

void CpuBackend::max_pool2d(const Tensor& x, const Pool2dGeometry& g, const Tensor& out, const Tensor& indices) {
  throw Error("max_pool2d: not implemented on the CPU yet");
}

void CpuBackend::max_pool2d_backward(const Tensor& grad_out, const Tensor& indices, const Pool2dGeometry& g, const Tensor& grad_x) {
  throw Error("max_pool2d_backward: not implemented on the CPU yet");
}

void CpuBackend::avg_pool2d(const Tensor& x, const Pool2dGeometry& g, bool count_include_pad, const Tensor& out) {
  throw Error("avg_pool2d: not implemented on the CPU yet");
}

void CpuBackend::avg_pool2d_backward(const Tensor& grad_out, const Pool2dGeometry& g, bool count_include_pad, const Tensor& grad_x) {
  throw Error("avg_pool2d_backward: not implemented on the CPU yet");
}

void CpuBackend::adaptive_avg_pool2d(const Tensor& x, const Tensor& out) {
  throw Error("adaptive_avg_pool2d: not implemented on the CPU yet");
}

void CpuBackend::adaptive_avg_pool2d_backward(const Tensor& grad_out, const Tensor& grad_x) {
  throw Error("adaptive_avg_pool2d_backward: not implemented on the CPU yet");
}

}  // namespace iris::cpu
