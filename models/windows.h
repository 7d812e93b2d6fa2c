// Window helpers shared by the windowed-attention models (DaViT, Swin, Mini-Swin) on channels-last
// token maps [B, H, W, C]: zero-padding to whole windows, partition into w x w windows and the inverse.
// Leaves out: rectangular windows and the attention itself (each model has its own).
#pragma once

#include "autograd/ops.h"

namespace iris::models {

// Zero-pads the map [B, H, W, C] right and bottom to multiples of `multiple`.
inline Tensor pad_map_to(const Tensor& x, int64_t multiple) {
  int64_t pad_b = (multiple - x.shape()[1] % multiple) % multiple;
  int64_t pad_r = (multiple - x.shape()[2] % multiple) % multiple;
  if (pad_b == 0 && pad_r == 0) return x;
  return pad(x, {0, 0, 0, pad_r, 0, pad_b});
}

// [B, Hp, Wp, C] -> [B * Hp/w * Wp/w, w*w, C]: the windows in row-major order, each row-major inside.
inline Tensor window_partition(const Tensor& x, int64_t w) {
  const int64_t B = x.shape()[0], Hp = x.shape()[1], Wp = x.shape()[2], C = x.shape()[3];
  return x.reshape({B, Hp / w, w, Wp / w, w, C}).permute({0, 1, 3, 2, 4, 5}).reshape({B * (Hp / w) * (Wp / w), w * w, C});
}

// The inverse: [B * Hp/w * Wp/w, w*w, C] -> [B, Hp, Wp, C].
inline Tensor window_merge(const Tensor& windows, int64_t w, int64_t B, int64_t Hp, int64_t Wp) {
  const int64_t C = windows.shape()[2];
  return windows.reshape({B, Hp / w, Wp / w, w, w, C}).permute({0, 1, 3, 2, 4, 5}).reshape({B, Hp, Wp, C});
}

}  // namespace iris::models
