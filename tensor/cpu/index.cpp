// STUB: to be written. Every kernel here throws until implemented.
#include "tensor/cpu/cpu_backend.h"

namespace iris::cpu {

void CpuBackend::index_select(const Tensor& x, int dim, const Tensor& index, const Tensor& out) {
  throw Error("index_select: not implemented on the CPU yet");
}

void CpuBackend::index_add(const Tensor& target, int dim, const Tensor& index, const Tensor& src) {
  throw Error("index_add: not implemented on the CPU yet");
}

void CpuBackend::gather(const Tensor& x, int dim, const Tensor& index, const Tensor& out) {
  throw Error("gather: not implemented on the CPU yet");
}

void CpuBackend::scatter_add(const Tensor& target, int dim, const Tensor& index, const Tensor& src) {
  throw Error("scatter_add: not implemented on the CPU yet");
}

}  // namespace iris::cpu
