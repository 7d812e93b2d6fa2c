// Mixed precision (--amp): inside an AutocastGuard(true), the matrix products of matmul, bmm and
// linear and the products inside scaled_dot_product_attention and the packed attention ops read
// bf16 copies of their f32 operands and accumulate and write in f32 (on the GPU through cuBLAS's
// bf16 GEMM with f32 compute; on the CPU the bf16 values are widened back to f32, which gives the
// same rounding, not speed). Everything else (norms, softmax, losses, optimiser, parameters: the
// "master weights") stays f32, and gradients are f32. bf16 keeps f32's exponent range, so no loss
// scaling is needed. The flag is thread-local, like grad mode; a node records whether it ran under
// autocast, so its backward uses bf16 products too, wherever backward() is called.
// Leaves out: convolutions (they stay f32, where PyTorch's autocast would run them in bf16; in the
// ViT only the patch embedding is one), f16 (needs loss scaling), a cache of the weights' bf16
// copies across calls (each call converts its weight again), f64 (never autocast).
#pragma once

#include "tensor/dtype.h"

namespace iris {

bool autocast_enabled();
void set_autocast(bool enabled);
// The rule every autocast op applies: an op computing in dt reads bf16 operands now (f32 only).
inline bool autocast_applies(DType dt) { return dt == DType::f32 && autocast_enabled(); }

class AutocastGuard {
 public:
  explicit AutocastGuard(bool enabled) : prev_(autocast_enabled()) { set_autocast(enabled); }
  ~AutocastGuard() { set_autocast(prev_); }
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  bool prev_;
};

}  // namespace iris
