// Swin Transformer (Liu et al. 2021) with timm's SwinTransformer layout and parameter names, so a timm
// state dict of the same config loads as is:
//   patch_embed.{proj, norm} -> layers.S.[downsample.{norm, reduction}] blocks.K.{norm1,
//   attn.{relative_position_bias_table, qkv, proj}, norm2, mlp.{fc1, fc2}} -> norm -> avg pool -> head.fc
// (downsampling at the start of stages 1.., as timm; relative_position_index and attn_mask are not
// in the state dict, as timm's non-persistent buffers). Mini-Swin (models/mini_swin.h) reuses the
// window attention with its per-layer head-mixing transforms and builds the same trunk.
// Letters: B batch, H x W token map, C channels, G heads, D = C / G, w window side, N = w*w tokens of a
// window, nW windows of a map, B' = B nW, s shift, Hp x Wp the map padded to whole windows.
// Leaves out: attention dropout, rectangular windows and per-stage window sizes, dynamic image sizes
// (the masks are built for img_size; another input size is an error), timm's set_input_size.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "nn/layers.h"

namespace iris::models {

struct SwinConfig {
  int64_t img_size = 28, patch_size = 2, in_chans = 1, num_classes = 10;
  int64_t embed_dim = 32;                       // stage s has embed_dim * 2^s channels
  std::vector<int64_t> depths = {2, 2, 2};      // blocks per stage
  std::vector<int64_t> num_heads = {2, 4, 8};   // per stage
  int64_t window_size = 7;
  double mlp_ratio = 4.0;
  bool qkv_bias = true;
  double drop_rate = 0.0;       // dropout before the classifier
  double drop_path_rate = 0.0;  // stochastic depth, rising linearly from 0 over all blocks (timm)
  double ln_eps = 1e-5;

  // "swin-fmnist" (the defaults: 28x28x1, patch 2 -> 14x14 tokens, dims 32/64/128, window 7),
  // "swin-tiny", "swin-small", "swin-base" (224x224, patch 4, window 7).
  static SwinConfig named(const std::string& name);
  static std::vector<std::string> names();
  int64_t num_stages() const { return static_cast<int64_t>(depths.size()); }
  int64_t dim(int64_t stage) const { return embed_dim << stage; }
  int64_t resolution(int64_t stage) const;  // token map side of a stage: img/patch, then halved (rounding up)
  // timm's rule: a map no larger than the window is one window (w = side) and is never shifted.
  int64_t stage_window(int64_t stage) const;
  int64_t stage_shift(int64_t stage) const;  // of the odd blocks; w/2, or 0 when the map fits one window
  void check() const;                        // throws iris::Error on an inconsistent config
};

// Patch partition: a P x P convolution with stride P, then LayerNorm over channels.
class SwinPatchEmbed : public nn::Module {
 public:
  SwinPatchEmbed(int64_t in_chans, int64_t dim, int64_t patch, double ln_eps, Generator* gen = nullptr);
  Tensor forward(const Tensor& images) override;  // [B, Cin, H, W] -> [B, H/P, W/P, C]
  std::shared_ptr<nn::Conv2d> proj;
  std::shared_ptr<nn::LayerNorm> norm;
};

// Patch merging: each 2x2 neighbourhood concatenated (zero-padded to even sides first) -> LayerNorm(4C)
// -> Linear 4C -> 2C without bias. The 4C order is timm's: (dw, dh, c), dh fastest among the two offsets.
class PatchMerging : public nn::Module {
 public:
  PatchMerging(int64_t dim, int64_t out_dim, double ln_eps, Generator* gen = nullptr);
  Tensor forward(const Tensor& x) override;  // [B, H, W, C] -> [B, ceil(H/2), ceil(W/2), out_dim]
  std::shared_ptr<nn::LayerNorm> norm;
  std::shared_ptr<nn::Linear> reduction;
};

// Mini-Swin's attention transformation: two Linear(G, G) over the head axis of the logits (pre, before
// the shift mask and softmax) and of the probabilities (post, before @ v). Not owned here.
struct HeadMixing {
  nn::Linear* pre = nullptr;
  nn::Linear* post = nullptr;
};

// Window multi-head self-attention with the relative position bias: per window of N = w*w tokens,
//   logits = (q / sqrt(D)) k^T + B_rel [G, N, N]  -> [pre mix] -> + mask -> softmax -> [post mix] -> @ v
// B_rel[g, i, j] = table[index[i, j], g], the table holding one value per relative offset (2w-1)^2.
class SwinWindowAttention : public nn::Module {
 public:
  SwinWindowAttention(int64_t dim, int64_t num_heads, int64_t window, bool qkv_bias, Generator* gen = nullptr);
  // windows [B', N, C]; mask [nW, N, N] additive (0 / -100) with B' = B nW, or undefined.
  Tensor forward(const Tensor& windows, const Tensor& mask, const HeadMixing& mixing = {});
  Tensor forward(const Tensor& windows) override { return forward(windows, Tensor()); }
  Tensor relative_position_bias();  // [G, N, N]
  std::shared_ptr<nn::Linear> qkv, proj;
  Tensor relative_position_bias_table;  // [(2w-1)^2, G]
  Tensor relative_position_index;       // [N, N] i64, offset (dy + w-1)(2w-1) + (dx + w-1); not in the state dict
  int64_t num_heads, window;
};

// The additive mask of shifted windows on a padded map Hp x Wp (timm's): the rolled map is cut into
// 3 x 3 regions (by the last w and the last s rows and columns); tokens of one window that came from
// different regions may not attend to each other (-100). [nW, N, N] in f32.
Tensor shifted_window_mask(int64_t Hp, int64_t Wp, int64_t window, int64_t shift);

// The (shifted) window attention on a token map: roll by -s, zero-pad to whole windows, attend in each
// window (with `mask` when shifted), merge, crop, roll back by +s. x [B, H, W, C] -> [B, H, W, C].
Tensor shifted_window_attention(SwinWindowAttention& attn, const Tensor& x, int64_t shift, const Tensor& mask,
                                const HeadMixing& mixing = {});

// One Swin block: x = x + drop_path(SW-MSA(norm1(x))); x = x + drop_path(mlp(norm2(x))).
class SwinBlock : public nn::Module {
 public:
  SwinBlock(int64_t dim, int64_t num_heads, int64_t window, int64_t shift, int64_t map_side, double mlp_ratio,
            bool qkv_bias, double drop_path, double ln_eps, Generator* gen = nullptr);
  Tensor forward(const Tensor& x) override;  // [B, H, W, C] -> [B, H, W, C]
  std::shared_ptr<nn::LayerNorm> norm1, norm2;
  std::shared_ptr<SwinWindowAttention> attn;
  std::shared_ptr<nn::Mlp> mlp;
  std::shared_ptr<nn::DropPath> drop_path;
  int64_t shift;
  Tensor attn_mask;  // [nW, N, N] for the map side given at construction; undefined when not shifted
};

// A stage: patch merging (stages 1..), then its blocks (any modules mapping [B, H, W, C] to itself).
class SwinStage : public nn::Module {
 public:
  SwinStage(std::shared_ptr<PatchMerging> downsample, const std::vector<std::shared_ptr<nn::Module>>& blocks);
  Tensor forward(const Tensor& x) override;  // [B, H, W, Cin] -> [B, H', W', C]
  std::shared_ptr<PatchMerging> downsample;  // null in stage 0
  nn::ModuleList<nn::Module>* blocks = nullptr;
};

// Builds the blocks of one stage; `drop_paths` holds the stochastic-depth rate of each block.
using SwinBlockBuilder =
    std::function<std::vector<std::shared_ptr<nn::Module>>(int64_t stage, const std::vector<double>& drop_paths, Generator* gen)>;

// timm's ClassifierHead for channels-last maps: average pool over H, W -> dropout -> fc.
class SwinHead : public nn::Module {
 public:
  SwinHead(int64_t dim, int64_t num_classes, double drop_rate, Generator* gen = nullptr);
  Tensor forward(const Tensor& x) override;  // [B, H, W, C] -> [B, classes]
  std::shared_ptr<nn::Dropout> drop;
  std::shared_ptr<nn::Linear> fc;
};

class SwinTransformer : public nn::Module {
 public:
  explicit SwinTransformer(const SwinConfig& cfg, Generator* gen = nullptr);
  // The trunk with other blocks (Mini-Swin). Every Linear and every relative position table then gets
  // timm's init: trunc_normal(std 0.02), zero bias; convolutions keep PyTorch's default.
  SwinTransformer(const SwinConfig& cfg, const SwinBlockBuilder& build_blocks, Generator* gen = nullptr);
  Tensor forward(const Tensor& images) override;  // [B, Cin, img, img] -> logits [B, classes]
  Tensor forward_features(const Tensor& images);  // [B, h, h, C_last] after the final norm

  SwinConfig cfg;
  std::shared_ptr<SwinPatchEmbed> patch_embed;
  nn::ModuleList<SwinStage>* layers = nullptr;
  std::shared_ptr<nn::LayerNorm> norm;
  std::shared_ptr<SwinHead> head;
};

}  // namespace iris::models
