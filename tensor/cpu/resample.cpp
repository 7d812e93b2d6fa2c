// STUB: to be written. Every kernel here throws until implemented.
#include "tensor/cpu/cpu_backend.h"

namespace iris::cpu {

void CpuBackend::upsample2d(const Tensor& x, int mode, bool align_corners, double scale_h, double scale_w, const Tensor& out) {
  throw Error("upsample2d: not implemented on the CPU yet");
}

void CpuBackend::upsample2d_backward(const Tensor& grad_out, int mode, bool align_corners, double scale_h, double scale_w, const Tensor& grad_x) {
  throw Error("upsample2d_backward: not implemented on the CPU yet");
}

void CpuBackend::roi_align(const Tensor& x, const Tensor& boxes, const RoiAlignParams& p, const Tensor& out) {
  throw Error("roi_align: not implemented on the CPU yet");
}

void CpuBackend::roi_align_backward(const Tensor& grad_out, const Tensor& boxes, const RoiAlignParams& p, const Tensor& grad_x) {
  throw Error("roi_align_backward: not implemented on the CPU yet");
}

}  // namespace iris::cpu
