// DaViT: Dual Attention Vision Transformers (Ding et al. 2022) with timm's DaVit layout and parameter
// names, so a timm state dict of the same config loads as is:
//   stem.{conv, norm} -> stages.S.[downsample.{norm, conv}] blocks.P.K.{cpe1.proj, norm1, attn.{qkv, proj},
//   cpe2.proj, norm2, mlp.{fc1, fc2}} -> head.{norm, fc}
// (S stage, P dual block, K = 0, 1 its two halves: spatial then channel in DaViT). Also the ablation
// arms (spatial-only, channel-only, channel->spatial, no ConvPosEnc) and an analytic FLOP count.
// Letters: B batch, H x W token map, N = H W tokens, C channels, G heads = channel groups, Cg = C / G
// (the group width), w window side, Hp x Wp the map padded to whole windows.
// Leaves out: shifted windows (DaViT has none), timm's ChannelAttentionV2 and odd downsample kernels
// (Florence-2), the GELU option in ConvPosEnc (off in every released model), feature pyramids.
#pragma once

#include <string>
#include <vector>

#include "nn/layers.h"

namespace iris::models {

enum class AttnKind { spatial, channel };

struct DavitConfig {
  int64_t img_size = 32, in_chans = 1, num_classes = 10;
  // The stem convolution. timm's DaViT: 7x7, stride 4, padding 3; the 32x32 miniature: 3x3, stride 2,
  // padding 1 (a stride-4 stem would leave only 8x8 tokens). The input is zero-padded right/bottom to a
  // multiple of the stride first, as timm does.
  int64_t stem_kernel = 3, stem_stride = 2, stem_padding = 1;
  std::vector<int64_t> embed_dims = {32, 64, 128};
  std::vector<int64_t> depths = {1, 1, 1};     // dual blocks per stage (each is len(attn_types) blocks)
  std::vector<int64_t> num_heads = {2, 4, 8};  // spatial heads = channel groups, per stage
  int64_t window_size = 4;
  double mlp_ratio = 4.0;
  bool qkv_bias = true;
  // The blocks of one dual block, in order: DaViT is {spatial, channel}. The arms change this.
  std::vector<AttnKind> attn_types = {AttnKind::spatial, AttnKind::channel};
  bool conv_pos_enc = true;    // false: no ConvPosEnc anywhere (the dual-nope arm; no position information)
  double drop_rate = 0.0;      // dropout before the classifier
  double drop_path_rate = 0.0; // stochastic depth, rising linearly from 0 over all blocks
  double ln_eps = 1e-5;

  // "davit-pico" (the 32x32 miniature of the spec), "davit-tiny", "davit-small", "davit-base" (224x224).
  static DavitConfig named(const std::string& name);
  static std::vector<std::string> names();
  // The ablation arms: "dual" (DaViT: spatial -> channel), "dual-cs" (channel -> spatial), "spatial"
  // (every block spatial), "channel" (every block channel), "dual-nope" (dual without ConvPosEnc).
  DavitConfig with_arm(const std::string& arm) const;
  static std::vector<std::string> arms();
  std::string arm() const;  // the arm this config is ("custom" when none fits)
  int64_t num_blocks() const;  // attention blocks in all stages
};

// ConvPosEnc: x + DWConv3x3(x), a depthwise 3x3 convolution (with bias) used as a residual.
class ConvPosEnc : public nn::Module {
 public:
  ConvPosEnc(int64_t dim, Generator* gen = nullptr);
  Tensor forward(const Tensor& x) override;  // [B, H, W, C] -> [B, H, W, C]
  std::shared_ptr<nn::Conv2d> proj;
};

// Stem: conv (overlapping) on the right/bottom-padded image, then LayerNorm over channels.
class DavitStem : public nn::Module {
 public:
  DavitStem(int64_t in_chans, int64_t dim, int64_t kernel, int64_t stride, int64_t padding, double ln_eps,
            Generator* gen = nullptr);
  Tensor forward(const Tensor& images) override;  // [B, Cin, H, W] -> [B, H', W', C]
  std::shared_ptr<nn::Conv2d> conv;
  std::shared_ptr<nn::LayerNorm> norm;
  int64_t stride;
};

// Downsampling between stages: LayerNorm, zero-pad to an even size, 2x2 conv with stride 2.
class DavitDownsample : public nn::Module {
 public:
  DavitDownsample(int64_t in_dim, int64_t out_dim, double ln_eps, Generator* gen = nullptr);
  Tensor forward(const Tensor& x) override;  // [B, H, W, Cin] -> [B, ceil(H/2), ceil(W/2), Cout]
  std::shared_ptr<nn::LayerNorm> norm;
  std::shared_ptr<nn::Conv2d> conv;
};

// Spatial window attention: zero-pad to whole windows (no mask), multi-head self-attention inside
// each non-overlapping w x w window (scale 1/sqrt(C/G)), merge, crop.
class WindowAttention : public nn::Module {
 public:
  WindowAttention(int64_t dim, int64_t num_heads, int64_t window, bool qkv_bias, Generator* gen = nullptr);
  Tensor forward(const Tensor& x) override;  // [B, H, W, C] -> [B, H, W, C]
  // softmax(q k^T / sqrt(C/G)) of every window, no grad: [B, Hp/w, Wp/w, G, w*w, w*w]
  Tensor attention_weights(const Tensor& x);
  std::shared_ptr<nn::Linear> qkv, proj;
  int64_t num_heads, window;
};

// Channel group attention: the channels split into G groups; within a group, each channel is a token
// whose features are its values at all N positions. With the three projections P1, P2, P3 of a group
// (timm's k, v, q), A = softmax(P1^T P2 / sqrt(Cg)) over the last axis [Cg, Cg], out = P3 A^T [N, Cg].
// Cost O(N C Cg): linear in the number of tokens.
class ChannelAttention : public nn::Module {
 public:
  ChannelAttention(int64_t dim, int64_t groups, bool qkv_bias, Generator* gen = nullptr);
  Tensor forward(const Tensor& x) override;  // [B, H, W, C] -> [B, H, W, C]
  Tensor attention_weights(const Tensor& x);  // A of every group, no grad: [B, G, Cg, Cg]
  std::shared_ptr<nn::Linear> qkv, proj;
  int64_t groups;

 private:
  std::vector<Tensor> split_groups(const Tensor& x);  // P1, P2, P3 as channel tokens: [B, G, Cg, N]
};

// One attention block (timm's SpatialBlock / ChannelBlock; they differ only in the attention):
//   x = cpe1(x);  x = x + drop_path(attn(norm1(x)));  x = cpe2(x);  x = x + drop_path(mlp(norm2(x)))
class DavitBlock : public nn::Module {
 public:
  DavitBlock(AttnKind kind, int64_t dim, int64_t num_heads, int64_t window, double mlp_ratio, bool qkv_bias,
             bool conv_pos_enc, double drop_path, double ln_eps, Generator* gen = nullptr);
  Tensor forward(const Tensor& x) override;  // [B, H, W, C] -> [B, H, W, C]
  // The attention weights this block computes on input x (see the two attention classes), no grad.
  Tensor attention_weights(const Tensor& x);
  AttnKind kind;
  std::shared_ptr<ConvPosEnc> cpe1, cpe2;  // null without ConvPosEnc
  std::shared_ptr<nn::LayerNorm> norm1, norm2;
  std::shared_ptr<WindowAttention> window_attn;    // one of the two, registered as "attn"
  std::shared_ptr<ChannelAttention> channel_attn;
  std::shared_ptr<nn::Mlp> mlp;
  std::shared_ptr<nn::DropPath> drop_path;
};

// A stage: optional downsampling, then `depth` dual blocks (each a list of DavitBlocks named 0, 1, ...).
class DavitStage : public nn::Module {
 public:
  DavitStage(const DavitConfig& cfg, int64_t stage, const std::vector<double>& drop_paths, Generator* gen = nullptr);
  Tensor forward(const Tensor& x) override;  // [B, H, W, Cin] -> [B, H', W', C]
  std::shared_ptr<DavitDownsample> downsample;  // null in the first stage
  nn::ModuleList<nn::ModuleList<DavitBlock>>* blocks = nullptr;
};

// Head: global average pool -> LayerNorm -> dropout -> Linear (the norm after pooling, as DaViT).
class DavitHead : public nn::Module {
 public:
  DavitHead(int64_t dim, int64_t num_classes, double drop_rate, double ln_eps, Generator* gen = nullptr);
  Tensor forward(const Tensor& x) override;  // [B, H, W, C] -> [B, classes]
  std::shared_ptr<nn::LayerNorm> norm;
  std::shared_ptr<nn::Dropout> drop;
  std::shared_ptr<nn::Linear> fc;
};

// The attention weights of the first spatial and the first channel block of one stage, for pictures.
struct DavitAttentionMaps {
  int64_t stage = 0, map_h = 0, map_w = 0, window = 0;
  Tensor spatial;  // [B, Hp/w, Wp/w, G, w*w, w*w] or undefined when the stage has no spatial block
  Tensor channel;  // [B, G, Cg, Cg] or undefined when the stage has no channel block
};

class DaVit : public nn::Module {
 public:
  explicit DaVit(const DavitConfig& cfg, Generator* gen = nullptr);
  Tensor forward(const Tensor& images) override;  // [B, Cin, H, W] -> logits [B, classes]
  Tensor forward_features(const Tensor& images);  // [B, H/32, W/32, C4] for DaViT-T (H/8 for pico)
  DavitAttentionMaps attention_maps(const Tensor& images, int64_t stage = 0);

  DavitConfig cfg;
  std::shared_ptr<DavitStem> stem;
  nn::ModuleList<DavitStage>* stages = nullptr;
  std::shared_ptr<DavitHead> head;
};

// ---- FLOPs -------------------------------------------------------------------------------
// Multiply-adds of one forward pass at img_size x img_size, counted analytically per layer:
// convolutions, linear layers and the two attention products (q k^T and A v; P1^T P2 and P3 A^T).
// Norms, softmax, GELU, residual adds and pooling are left out (as published DaViT counts do).
struct LayerMacs {
  std::string name;  // e.g. "stages.2.blocks.1.0.attn (window)"
  int64_t macs;
};
std::vector<LayerMacs> davit_layer_macs(const DavitConfig& cfg);
int64_t davit_macs(const DavitConfig& cfg);  // the sum

}  // namespace iris::models
