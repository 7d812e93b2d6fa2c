// MiniViT (Zhang et al. 2022, "Weight Multiplexing"): a DeiT without class token (average pooling) whose
// consecutive blocks share qkv/proj/fc1/fc2, with small per-layer transforms (head mixing before and after
// the softmax, an MLP-side depthwise conv or a relative-position logit bias) so shared layers differ.
// Letters: B batch, N tokens (= h*w patches), D embed dim, H heads, K dwconv kernel.
// Leaves out: Mini-Swin windows and shifts, the contextual iRPE of Mini-DeiT (the relpos bias stands in).
#pragma once

#include <string>
#include <vector>

#include "losses/layer_trace.h"
#include "models/vit.h"

namespace iris::models {

enum class MlpTransform { none, dwconv, relpos };

struct MiniVitConfig {
  VitConfig vit;               // class_token=false (average pooling), mlp_ratio 2 for FMNIST
  int64_t share = 2;           // consecutive layers that use one weight set (1 = unshared; depth = single layer)
  bool per_layer_norm = true;  // false: norm1/norm2 are shared along with the weights (arm "shared")
  bool attn_transform = true;  // per-layer H x H head mixing before and after the softmax (trunc-normal 0.02)
  bool transform_bias = true;  // Mini-Swin style bias on the head mixing (false: Mini-DeiT style)
  MlpTransform mlp_transform = MlpTransform::dwconv;  // per-layer LN + depthwise KxK conv residual (Mini-Swin),
                                                      // per-layer relative-position logit bias, or none
  int64_t dwconv_kernel = 3;
  // "teacher-fmnist", "minivit-fmnist", "deit-{tiny,small,base}-gap", "mini-deit-{tiny,small,base}".
  static MiniVitConfig named(const std::string& name);
  static std::vector<std::string> names();
  int64_t grid() const { return vit.img_size / vit.patch_size; }  // h = w
};

// Per-layer intermediate values for distillation (q, k, v, hidden per layer), filled when a trace is
// passed: the plain struct losses/distill.h reads.
using MiniVitTrace = losses::LayerTrace;

// Attention with per-layer transforms around shared qkv/proj Linears:
//   logits_h = q_h k_h^T / sqrt(d) (+ rel_bias) -> pre_mix over heads -> softmax over keys -> post_mix over heads
//   -> @ v_h -> concat -> proj. Without transforms (and no rel_bias) this is timm's Attention.
class MiniVitAttention : public nn::Module {
 public:
  // qkv, proj: the (possibly shared) Linears. grid > 0 with relpos adds a bias table over (2g-1)^2 offsets.
  MiniVitAttention(std::shared_ptr<nn::Linear> qkv, std::shared_ptr<nn::Linear> proj, int64_t num_heads,
                   bool attn_transform, bool transform_bias, int64_t relpos_grid, double attn_drop,
                   Generator* gen = nullptr);
  Tensor forward(const Tensor& x) override;  // [B, N, D] -> [B, N, D]
  // The same, and the raw qkv output split into q, k, v [B, N, D] when qkv_out is non-null.
  Tensor forward_qkv(const Tensor& x, std::vector<Tensor>* qkv_out);
  std::shared_ptr<nn::Linear> qkv, proj;
  std::shared_ptr<nn::Linear> pre_mix, post_mix;  // Linear(H, H) over the head axis, or null
  Tensor rel_bias;                                // [(2g-1)^2] or undefined
  Tensor rel_index;                               // [N*N] i64 offset index into rel_bias (not in the state dict)
  int64_t num_heads, relpos_grid;
  double attn_drop;
  Generator* gen;
};

// One layer: x + dp(attn(norm1(x))); [x <- local_norm(x); x <- x + local_conv(x)]; x + dp(mlp(norm2(x))).
class MiniVitBlock : public nn::Module {
 public:
  MiniVitBlock(std::shared_ptr<nn::LayerNorm> norm1, std::shared_ptr<MiniVitAttention> attn,
               std::shared_ptr<nn::LayerNorm> norm2, std::shared_ptr<nn::Mlp> mlp, bool dwconv, int64_t dim,
               int64_t kernel, int64_t grid, double drop_path, double ln_eps, Generator* gen = nullptr);
  Tensor forward(const Tensor& x) override;  // [B, N, D]
  Tensor forward_trace(const Tensor& x, std::vector<Tensor>* qkv_out);
  std::shared_ptr<nn::LayerNorm> norm1, norm2, local_norm;  // local_norm only with dwconv
  std::shared_ptr<MiniVitAttention> attn;
  std::shared_ptr<nn::Mlp> mlp;
  std::shared_ptr<nn::Conv2d> local_conv;  // depthwise K x K, groups = D, with bias; only with dwconv
  std::shared_ptr<nn::DropPath> drop_path;
  int64_t grid;
};

class MiniVit : public nn::Module {
 public:
  explicit MiniVit(const MiniVitConfig& cfg, Generator* gen = nullptr);
  Tensor forward(const Tensor& images) override;                    // [B, C, H, W] -> logits [B, classes]
  Tensor forward_trace(const Tensor& images, MiniVitTrace* trace);  // same logits; fills trace when non-null
  int64_t depth() const;
  int64_t unique_blocks() const;
  // Parameter name prefix of each LAYER ("blocks.0.", "blocks.1.", ...), for per-block gradient statistics.
  // named_parameters() lists a shared tensor once, under the FIRST layer of its set: with share = 2,
  // "blocks.2." matches set 1's qkv/proj/fc1/fc2 and layer 2's own parts, "blocks.3." only layer 3's own parts
  // (norms, transforms). state_dict() names every tensor under every layer that uses it.
  std::vector<std::string> block_parameter_prefixes() const;

  MiniVitConfig cfg;
  std::shared_ptr<PatchEmbed> patch_embed;
  Tensor pos_embed;  // [1, N, D]
  nn::ModuleList<MiniVitBlock>* blocks = nullptr;
  std::shared_ptr<nn::LayerNorm> norm;
  std::shared_ptr<nn::Linear> head;
  std::shared_ptr<nn::Dropout> pos_drop, head_drop;
};

}  // namespace iris::models
