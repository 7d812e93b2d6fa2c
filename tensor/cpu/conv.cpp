// STUB: to be written. Every kernel here throws until implemented.
#include "tensor/cpu/cpu_backend.h"

namespace iris::cpu {

void CpuBackend::im2col(const Tensor& x, const Conv2dGeometry& g, const Tensor& cols) {
  throw Error("im2col: not implemented on the CPU yet");
}

void CpuBackend::col2im(const Tensor& cols, const Conv2dGeometry& g, const Tensor& grad_x) {
  throw Error("col2im: not implemented on the CPU yet");
}

void CpuBackend::depthwise_conv2d(const Tensor& x, const Tensor& w, const Conv2dGeometry& g, const Tensor& out) {
  throw Error("depthwise_conv2d: not implemented on the CPU yet");
}

void CpuBackend::depthwise_conv2d_backward(const Tensor& grad_out, const Tensor& x, const Tensor& w, const Conv2dGeometry& g, const Tensor& grad_x, const Tensor& grad_w) {
  throw Error("depthwise_conv2d_backward: not implemented on the CPU yet");
}

}  // namespace iris::cpu
