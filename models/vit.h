// ViT / DeiT (Dosovitskiy et al. 2021; Touvron et al. 2021) with timm's VisionTransformer layout and
// parameter names, so a timm state dict of the same config loads as is:
//   patch_embed.proj -> [cls_token] + pos_embed -> blocks.N.{norm1, attn.{qkv, proj}, norm2, mlp.{fc1, fc2}}
//   -> norm (token pooling) or fc_norm (average pooling) -> head
// Letters: B batch, N tokens (patches + class token), D embed dim, H heads, P patch size.
// Leaves out: distillation tokens, layer scale, register tokens, dynamic image sizes.
#pragma once

#include <string>

#include "nn/layers.h"

namespace iris::models {

struct VitConfig {
  int64_t img_size = 28, patch_size = 4, in_chans = 1, num_classes = 10;
  int64_t embed_dim = 64, depth = 6, num_heads = 4;
  double mlp_ratio = 4.0;
  bool qkv_bias = true;
  bool class_token = true;          // false: average pooling over the patch tokens ("avg" in timm)
  double drop_rate = 0.0;           // after the position embedding and before the head
  double attn_drop_rate = 0.0;
  double drop_path_rate = 0.0;      // stochastic depth, rising linearly over the blocks
  double ln_eps = 1e-6;

  int64_t num_patches() const { return (img_size / patch_size) * (img_size / patch_size); }
  // "vit-fmnist" (28x28, patch 4, dim 64, depth 6, heads 4), "vit-fmnist-p7" (the same with 7x7
  // patches), "deit-tiny", "deit-small", "deit-base".
  static VitConfig named(const std::string& name);
  static std::vector<std::string> names();
};

// Patch embedding: a P x P convolution with stride P, flattened to tokens.
class PatchEmbed : public nn::Module {
 public:
  PatchEmbed(int64_t in_chans, int64_t dim, int64_t patch, Generator* gen = nullptr);
  Tensor forward(const Tensor& images) override;  // [B, C, H, W] -> [B, (H/P)(W/P), D]
  std::shared_ptr<nn::Conv2d> proj;
};

// timm's Attention: one qkv projection, scaled dot-product attention per head, output projection.
class Attention : public nn::Module {
 public:
  Attention(int64_t dim, int64_t num_heads, bool qkv_bias = true, double attn_drop = 0.0, Generator* gen = nullptr);
  Tensor forward(const Tensor& x) override;  // [B, N, D] -> [B, N, D]
  Tensor attention_weights(const Tensor& x);  // [B, H, N, N], softmax(q k^T / sqrt(D/H)), no grad
  std::shared_ptr<nn::Linear> qkv, proj;
  int64_t num_heads;
  double attn_drop;
  Generator* gen;

 private:
  std::vector<Tensor> split_heads(const Tensor& x);  // q, k, v: [B, H, N, D/H]
};

// Pre-norm transformer block: x + drop_path(attn(norm1(x))), then x + drop_path(mlp(norm2(x))).
class Block : public nn::Module {
 public:
  Block(int64_t dim, int64_t num_heads, double mlp_ratio, bool qkv_bias, double attn_drop, double drop_path,
        double ln_eps, Generator* gen = nullptr);
  Tensor forward(const Tensor& x) override;  // [B, N, D]
  std::shared_ptr<nn::LayerNorm> norm1, norm2;
  std::shared_ptr<Attention> attn;
  std::shared_ptr<nn::Mlp> mlp;
  std::shared_ptr<nn::DropPath> drop_path;
};

class VisionTransformer : public nn::Module {
 public:
  explicit VisionTransformer(const VitConfig& cfg, Generator* gen = nullptr);
  Tensor forward(const Tensor& images) override;       // [B, C, H, W] -> logits [B, classes]
  Tensor forward_features(const Tensor& images);       // [B, N, D] after the blocks and norm
  Tensor forward_head(const Tensor& tokens);           // [B, N, D] -> [B, classes]
  // The last block's attention from the class token (or averaged over queries) to each patch,
  // [B, H, h, w] with h = w = img_size / patch_size; for pictures.
  Tensor last_attention_map(const Tensor& images);

  VitConfig cfg;
  std::shared_ptr<PatchEmbed> patch_embed;
  Tensor cls_token, pos_embed;                   // [1, 1, D], [1, N, D]
  nn::ModuleList<Block>* blocks = nullptr;
  std::shared_ptr<nn::LayerNorm> norm, fc_norm;  // one of the two, by pooling
  std::shared_ptr<nn::Linear> head;
  std::shared_ptr<nn::Dropout> pos_drop, head_drop;

 private:
  Tensor embed(const Tensor& images);  // [B, N, D] tokens with position embedding
};

}  // namespace iris::models
