// Per-block gradient L2 norms of a weight-shared transformer (MiniViT's stability claim: shared-only
// blocks have larger and more variable gradient norms), sampled after backward during training.
//   unique block j: every parameter used by the layers of weight group j, each tensor once; a shared
//                   tensor's gradient is already the SUM over the layers that use it
//   layer-own part: the parameters of layer l that no other layer uses (per-layer norms, transforms)
// Leaves out: per-tensor norms, histograms, and anything outside the blocks (patch embed, head).
#pragma once

#include <string>
#include <vector>

#include "io/json.h"
#include "nn/module.h"

namespace iris {

// Which parameters belong to which layer and which unique block, found from the state dict's names
// (a shared tensor is listed under every layer that uses it) and tensor identity.
struct BlockLayout {
  std::vector<std::string> layer_prefixes;             // one per layer, e.g. "blocks.3."
  std::vector<int> block_of_layer;                     // layer -> unique block (groups of layers sharing a tensor)
  std::vector<std::vector<Tensor>> block_params;       // unique block -> its parameters, each once
  std::vector<std::vector<Tensor>> layer_own_params;   // layer -> parameters only that layer uses (may be empty)
  int64_t unique_blocks() const { return static_cast<int64_t>(block_params.size()); }
  int64_t layers() const { return static_cast<int64_t>(layer_prefixes.size()); }
};

// Throws iris::Error when a prefix names no parameter.
BlockLayout block_layout(const nn::Module& model, const std::vector<std::string>& layer_prefixes);

struct GradNormSample {
  int64_t step = 0;
  double epoch = 0;
  std::vector<double> block;      // [unique blocks] L2 norm of the block's gradients
  std::vector<double> layer_own;  // [layers] L2 norm of the layer-own gradients (0 when the layer owns nothing)
};

// Running mean and coefficient of variation (std / mean over the samples) per block and per layer.
class GradNormTracker {
 public:
  explicit GradNormTracker(BlockLayout layout);
  // Reads the current .grad of every block parameter (call after backward, before clipping and the
  // optimiser step; a parameter without a gradient counts as zero), records and returns the sample.
  GradNormSample measure(int64_t step, double epoch);
  int64_t samples() const { return count_; }
  const BlockLayout& layout() const { return layout_; }
  // {"samples", "block_mean": [...], "block_cv": [...], "layer_own_mean": [...], "layer_own_cv": [...],
  //  "block_of_layer": [...], "mean_over_blocks", "max_over_blocks", "cv_mean_over_blocks", "cv_max_over_blocks"}
  // (statistics are null when nothing was sampled).
  json::Value summary() const;

 private:
  BlockLayout layout_;
  int64_t count_ = 0;
  std::vector<double> block_sum_, block_sq_, own_sum_, own_sq_;
};

// One grad_norms.jsonl line: {"step", "epoch", "block": [...], "layer_own": [...]}.
json::Value grad_norm_sample_json(const GradNormSample& s);

}  // namespace iris
