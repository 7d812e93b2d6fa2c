// Mini-Swin (MiniViT, Zhang et al. 2022): a Swin Transformer whose consecutive blocks share their large
// weights (qkv, proj, fc1, fc2 and the relative position bias table) in groups, made different again by
// small per-layer parts: norm1, norm2, pre- and post-softmax head mixing Linear(G, G) with bias, and the
// MLP transformation x <- LN(x); x <- x + DWConv_kxk(x) between the attention and the MLP residuals.
// The trunk (patch partition, merging, final norm, head) and the window attention are Swin's
// (models/swin.h). Shared modules are registered under every layer that uses them, so the state dict
// names each copy (layers.S.blocks.K.attn.qkv.weight ...) while parameters() counts them once.
// Letters as models/swin.h. Leaves out: weight distillation (losses/, apps/minivit), the 384 configs.
#pragma once

#include "models/swin.h"

namespace iris::models {

struct MiniSwinConfig {
  SwinConfig swin;
  // Unique blocks per stage; stage s repeats each of them depths[s] / separate_layers[s] times, in
  // consecutive groups. separate_layers == depths is an unshared Swin.
  std::vector<int64_t> separate_layers = {1, 1, 1};
  bool attn_transform = true;   // the per-layer pre/post head mixing
  bool mlp_transform = true;    // the per-layer LN + depthwise conv residual
  int64_t local_kernel = 7;     // side of the depthwise conv (odd)

  // "mini-swin-fmnist" (swin-fmnist, one unique block per stage, a 3x3 conv: the token maps are
  // 14/7/4 wide), "mini-swin-tiny" ([1,1,1,1]), "mini-swin-small" and "mini-swin-base" ([1,1,9,1]),
  // with drop path 0.0 / 0.1 / 0.2 as the MiniViT recipe.
  static MiniSwinConfig named(const std::string& name);
  static std::vector<std::string> names();
  int64_t repeats(int64_t stage) const;  // layers per shared block
  void check() const;
};

// One layer ℓ of a shared group, in the code's order:
//   x = x + drop_path(SW-MSA_shared(norm1_ℓ(x); pre_ℓ, post_ℓ))
//   x = local_norm_ℓ(x);  x = x + local_conv_ℓ(x)       (the normalised map replaces the stream)
//   x = x + drop_path(mlp_shared(norm2_ℓ(x)))
class MiniSwinBlock : public nn::Module {
 public:
  MiniSwinBlock(std::shared_ptr<SwinWindowAttention> attn, std::shared_ptr<nn::Mlp> mlp, const MiniSwinConfig& cfg,
                int64_t stage, int64_t shift, double drop_path, Generator* gen = nullptr);
  Tensor forward(const Tensor& x) override;  // [B, H, W, C] -> [B, H, W, C]
  std::shared_ptr<nn::LayerNorm> norm1, norm2;
  std::shared_ptr<SwinWindowAttention> attn;   // shared
  std::shared_ptr<nn::Mlp> mlp;                // shared
  std::shared_ptr<nn::Linear> pre_mix, post_mix;  // [G, G] + [G]; null without the attention transform
  std::shared_ptr<nn::LayerNorm> local_norm;      // null without the MLP transform
  std::shared_ptr<nn::Conv2d> local_conv;         // depthwise k x k, bias
  std::shared_ptr<nn::DropPath> drop_path;
  int64_t shift;
  Tensor attn_mask;  // [nW, N, N]; undefined when not shifted
};

class MiniSwin : public SwinTransformer {
 public:
  explicit MiniSwin(const MiniSwinConfig& cfg, Generator* gen = nullptr);
  MiniSwinBlock& block(int64_t stage, int64_t index);  // layer `index` of a stage
  MiniSwinConfig mini_cfg;
};

}  // namespace iris::models
