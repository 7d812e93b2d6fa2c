// STUB: to be written. Every kernel here throws until implemented.
#include "tensor/cpu/cpu_backend.h"

namespace iris::cpu {

void CpuBackend::adamw_step(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq, const AdamWParams& p) {
  throw Error("adamw_step: not implemented on the CPU yet");
}

}  // namespace iris::cpu
