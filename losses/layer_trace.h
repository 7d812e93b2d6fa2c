// The per-layer values a distillation loss reads from a transformer (losses/distill.h): a plain
// struct, so that losses/ names no model; a model fills it (models/minivit.h: MiniVitTrace).
// Leaves out: attention maps and windows (the losses rebuild relations from q, k, v).
#pragma once

#include <vector>

#include "tensor/tensor.h"

namespace iris::losses {

struct LayerTrace {
  std::vector<Tensor> q, k, v;  // per layer: [B, N, D] raw outputs of the qkv Linear (before scaling / transforms)
  std::vector<Tensor> hidden;   // per layer: [B, N, D] the block output
};

}  // namespace iris::losses
