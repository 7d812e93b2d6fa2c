// Parameter initialisation, in place (under no_grad), with the fan conventions of PyTorch:
// fan_in = in_features (or C_in/groups * kh * kw for a conv weight), fan_out likewise.
// All draws come from a Generator (the global one by default), so inits are reproducible.
// Leaves out: orthogonal and sparse inits.
#pragma once

#include "tensor/tensor.h"

namespace iris::nn::init {

void constant_(const Tensor& t, double value);
void zeros_(const Tensor& t);
void ones_(const Tensor& t);
void uniform_(const Tensor& t, double low, double high, Generator* gen = nullptr);
void normal_(const Tensor& t, double mean = 0.0, double std = 1.0, Generator* gen = nullptr);
// Normal(mean, std) restricted to [a, b] (absolute bounds, as timm's trunc_normal_).
void trunc_normal_(const Tensor& t, double std = 1.0, double mean = 0.0, double a = -2.0, double b = 2.0,
                   Generator* gen = nullptr);
void xavier_uniform_(const Tensor& t, double gain = 1.0, Generator* gen = nullptr);
void xavier_normal_(const Tensor& t, double gain = 1.0, Generator* gen = nullptr);
// He init. a: negative slope of the leaky ReLU that follows (0 for ReLU); fan_in mode.
void kaiming_uniform_(const Tensor& t, double a = 0.0, Generator* gen = nullptr);
void kaiming_normal_(const Tensor& t, double a = 0.0, Generator* gen = nullptr);

// While alive, every initialiser above does nothing (tensors keep their zeros or garbage). For
// models whose weights are loaded right after construction: skips the random draws, which for a
// DeiT-B are most of its construction time.
class SkipInitGuard {
 public:
  SkipInitGuard();
  ~SkipInitGuard();
  SkipInitGuard(const SkipInitGuard&) = delete;
  SkipInitGuard& operator=(const SkipInitGuard&) = delete;

 private:
  bool prev_;
};
bool init_skipped();

struct Fans {
  int64_t in, out;
};
Fans fans_of(const Tensor& t);  // needs at least 2 dims

}  // namespace iris::nn::init
