// DaViT, top-down as in the paper's figure: a convolutional stem turns the image into a token map;
// each stage downsamples (LN + 2x2 conv, stride 2) and runs dual blocks, each a spatial-window
// attention block followed by a channel-group attention block, every block with ConvPosEnc before
// its attention and before its MLP; the head pools, normalises and classifies.
// Tokens travel between layers as a channels-last map [B, H, W, C]: LayerNorm, Linear, the
// windowing and ConvPosEnc's depthwise conv work on it directly; the stem and downsampling
// convolutions see it permuted to [B, C, H, W].
#include "models/davit.h"
#include "models/stochastic_depth.h"

#include "models/windows.h"
#include "nn/init.h"

namespace iris::models {

// ---- configs ------------------------------------------------------------------------------

DavitConfig DavitConfig::named(const std::string& name) {
  DavitConfig c;
  if (name == "davit-pico") return c;  // the defaults: 32x32, dims (32, 64, 128), Cg = 16, window 4
  c.img_size = 224, c.in_chans = 3, c.num_classes = 1000;
  c.stem_kernel = 7, c.stem_stride = 4, c.stem_padding = 3;
  c.window_size = 7;
  if (name == "davit-tiny") {
    c.embed_dims = {96, 192, 384, 768}, c.depths = {1, 1, 3, 1}, c.num_heads = {3, 6, 12, 24};
  } else if (name == "davit-small") {
    c.embed_dims = {96, 192, 384, 768}, c.depths = {1, 1, 9, 1}, c.num_heads = {3, 6, 12, 24};
  } else if (name == "davit-base") {
    c.embed_dims = {128, 256, 512, 1024}, c.depths = {1, 1, 9, 1}, c.num_heads = {4, 8, 16, 32};
  } else {
    throw Error("unknown DaViT config '" + name + "': use davit-pico, davit-tiny, davit-small or davit-base");
  }
  return c;
}

std::vector<std::string> DavitConfig::names() { return {"davit-pico", "davit-tiny", "davit-small", "davit-base"}; }

std::vector<std::string> DavitConfig::arms() { return {"spatial", "channel", "dual", "dual-cs", "dual-nope"}; }

DavitConfig DavitConfig::with_arm(const std::string& arm) const {
  DavitConfig c = *this;
  const AttnKind S = AttnKind::spatial, C = AttnKind::channel;
  c.conv_pos_enc = true;
  if (arm == "spatial") c.attn_types = {S, S};
  else if (arm == "channel") c.attn_types = {C, C};
  else if (arm == "dual") c.attn_types = {S, C};
  else if (arm == "dual-cs") c.attn_types = {C, S};
  else if (arm == "dual-nope") c.attn_types = {S, C}, c.conv_pos_enc = false;
  else throw Error("unknown DaViT arm '" + arm + "': use spatial, channel, dual, dual-cs or dual-nope");
  return c;
}

std::string DavitConfig::arm() const {
  for (const std::string& a : arms()) {
    DavitConfig c = with_arm(a);
    if (c.attn_types == attn_types && c.conv_pos_enc == conv_pos_enc) return a;
  }
  return "custom";
}

int64_t DavitConfig::num_blocks() const {
  int64_t pairs = 0;
  for (int64_t d : depths) pairs += d;
  return pairs * static_cast<int64_t>(attn_types.size());
}

namespace {

void check_config(const DavitConfig& c) {
  const size_t S = c.embed_dims.size();
  IRIS_CHECK(S >= 1 && c.depths.size() == S && c.num_heads.size() == S, "DaViT: embed_dims, depths and num_heads ",
             "must have one entry per stage, got ", c.embed_dims.size(), ", ", c.depths.size(), " and ",
             c.num_heads.size());
  for (size_t i = 0; i < S; ++i) {
    IRIS_CHECK(c.embed_dims[i] >= 1 && c.depths[i] >= 0 && c.num_heads[i] >= 1, "DaViT: stage ", i,
               " needs a positive dim and head count and a depth >= 0");
    IRIS_CHECK(c.embed_dims[i] % c.num_heads[i] == 0, "DaViT: stage ", i, " dim ", c.embed_dims[i],
               " is not divisible by its ", c.num_heads[i], " heads (channel groups)");
  }
  IRIS_CHECK(!c.attn_types.empty(), "DaViT: attn_types must name at least one attention kind");
  IRIS_CHECK(c.window_size >= 1 && c.stem_kernel >= 1 && c.stem_stride >= 1 && c.stem_padding >= 0,
             "DaViT: window, stem kernel and stride must be positive");
  IRIS_CHECK(c.in_chans >= 1 && c.num_classes >= 1 && c.img_size >= 1 && c.mlp_ratio > 0,
             "DaViT: in_chans, num_classes, img_size and mlp_ratio must be positive");
}

// [B, H, W, C] <-> [B, C, H, W] for the convolutions.
Tensor to_nchw(const Tensor& x) { return x.permute({0, 3, 1, 2}); }
Tensor to_nhwc(const Tensor& x) { return x.permute({0, 2, 3, 1}); }

void check_map(const char* who, const Tensor& x, int64_t C) {
  IRIS_CHECK(x.dim() == 4 && x.shape()[3] == C, who, ": expects a token map [B, H, W, ", C, "], got ",
             shape_str(x.shape()));
}

}  // namespace

// ---- ConvPosEnc, stem, downsampling ------------------------------------------------------

ConvPosEnc::ConvPosEnc(int64_t dim, Generator* gen) : Module("ConvPosEnc") {
  proj = register_module("proj", std::make_shared<nn::Conv2d>(dim, dim, 3, 1, 1, 1, dim, true, gen));
}

Tensor ConvPosEnc::forward(const Tensor& x) {
  // [B, H, W, C] + depthwise 3x3 (padding 1) of it, computed channels-last with proj's weight
  // [C, 1, 3, 3] and bias [C] (no permutes; equal to proj->forward on the NCHW view)
  return x + depthwise_conv2d_nhwc(x, proj->weight, proj->bias, proj->padding);
}

DavitStem::DavitStem(int64_t in_chans, int64_t dim, int64_t kernel, int64_t stride_, int64_t padding, double ln_eps,
                     Generator* gen)
    : Module("Stem"), stride(stride_) {
  conv = register_module("conv", std::make_shared<nn::Conv2d>(in_chans, dim, kernel, stride_, padding, 1, 1, true, gen));
  norm = register_module("norm", std::make_shared<nn::LayerNorm>(dim, ln_eps));
}

Tensor DavitStem::forward(const Tensor& images) {
  const int64_t H = images.shape()[2], W = images.shape()[3];
  int64_t pad_b = (stride - H % stride) % stride, pad_r = (stride - W % stride) % stride;
  Tensor x = pad_b || pad_r ? pad(images, {0, pad_r, 0, pad_b}) : images;
  return norm->forward(to_nhwc(conv->forward(x)));  // [B, C, H', W'] -> [B, H', W', C]
}

DavitDownsample::DavitDownsample(int64_t in_dim, int64_t out_dim, double ln_eps, Generator* gen) : Module("Downsample") {
  norm = register_module("norm", std::make_shared<nn::LayerNorm>(in_dim, ln_eps));
  conv = register_module("conv", std::make_shared<nn::Conv2d>(in_dim, out_dim, 2, 2, 0, 1, 1, true, gen));
}

Tensor DavitDownsample::forward(const Tensor& x) {
  Tensor h = pad_map_to(norm->forward(x), 2);    // [B, H+, W+, Cin], even sides
  return to_nhwc(conv->forward(to_nchw(h)));     // [B, H+/2, W+/2, Cout]
}

// ---- spatial window attention -------------------------------------------------------------

WindowAttention::WindowAttention(int64_t dim, int64_t heads, int64_t window_, bool qkv_bias, Generator* gen)
    : Module("WindowAttention"), num_heads(heads), window(window_) {
  IRIS_CHECK(dim % heads == 0, "WindowAttention: dim ", dim, " is not divisible by ", heads, " heads");
  qkv = register_module("qkv", std::make_shared<nn::Linear>(dim, 3 * dim, qkv_bias, gen));
  proj = register_module("proj", std::make_shared<nn::Linear>(dim, dim, true, gen));
}

namespace {

// [B', T, C] -> q, k, v, each [B', G, T, C/G]
std::vector<Tensor> split_heads(nn::Linear& qkv, const Tensor& tokens, int64_t heads) {
  std::array<Tensor, 3> t = split_packed_qkv(qkv.forward(tokens), heads);
  return {t[0], t[1], t[2]};
}

}  // namespace

Tensor WindowAttention::forward(const Tensor& x) {
  check_map("WindowAttention", x, qkv->in_features);
  const int64_t B = x.shape()[0], H = x.shape()[1], W = x.shape()[2];
  Tensor xp = pad_map_to(x, window);                  // [B, Hp, Wp, C]; padded tokens are zeros, not masked
  const int64_t Hp = xp.shape()[1], Wp = xp.shape()[2];
  Tensor windows = window_partition(xp, window);      // [B', w*w, C]
  // [B', w*w, 3C] read as [B', w*w, 3, G, C/G] -> heads merged [B', w*w, C]; scale 1/sqrt(C/G)
  Tensor o = proj->forward(packed_qkv_attention(qkv->forward(windows), num_heads));
  Tensor merged = window_merge(o, window, B, Hp, Wp);  // [B, Hp, Wp, C]
  return Hp == H && Wp == W ? merged : merged.slice(1, 0, H).slice(2, 0, W);
}

Tensor WindowAttention::attention_weights(const Tensor& x) {
  NoGradGuard ng;
  check_map("WindowAttention", x, qkv->in_features);
  Tensor xp = pad_map_to(x, window);
  const int64_t B = x.shape()[0], nh = xp.shape()[1] / window, nw = xp.shape()[2] / window;
  std::vector<Tensor> h = split_heads(*qkv, window_partition(xp, window), num_heads);
  double scale = 1.0 / std::sqrt(static_cast<double>(h[0].shape()[3]));
  Tensor a = softmax(matmul(h[0], h[1].transpose(-1, -2)) * scale, -1);  // [B', G, w*w, w*w]
  return a.reshape({B, nh, nw, num_heads, window * window, window * window});
}

// ---- channel group attention --------------------------------------------------------------

ChannelAttention::ChannelAttention(int64_t dim, int64_t groups_, bool qkv_bias, Generator* gen)
    : Module("ChannelAttention"), groups(groups_) {
  IRIS_CHECK(dim % groups_ == 0, "ChannelAttention: dim ", dim, " is not divisible by ", groups_, " groups");
  qkv = register_module("qkv", std::make_shared<nn::Linear>(dim, 3 * dim, qkv_bias, gen));
  proj = register_module("proj", std::make_shared<nn::Linear>(dim, dim, true, gen));
}

std::vector<Tensor> ChannelAttention::split_groups(const Tensor& x) {
  const int64_t B = x.shape()[0], N = x.shape()[1] * x.shape()[2], C = x.shape()[3];
  // [B, N, 3C] -> [B, N, 3, G, Cg] -> [3, B, G, Cg, N]: every channel a token of N features
  Tensor t = qkv->forward(x.reshape({B, N, C})).reshape({B, N, 3, groups, C / groups}).permute({2, 0, 3, 4, 1});
  return {t.select(0, 1), t.select(0, 2), t.select(0, 0)};  // P1, P2, P3 = timm's k, v, q
}

Tensor ChannelAttention::forward(const Tensor& x) {
  check_map("ChannelAttention", x, qkv->in_features);
  const int64_t B = x.shape()[0], H = x.shape()[1], W = x.shape()[2], C = x.shape()[3];
  // softmax(P1^T P2 / sqrt(Cg)) P3^T is attention with the channels as tokens: queries P1^T, keys
  // P2^T, values P3^T, each [B, G, Cg, N], with P1, P2, P3 = timm's k, v, q (parts 1, 2, 0 of the
  // fused projection); the scale is set by the group width, not by N. split_groups spells out the
  // same layout for attention_weights.
  AttentionOptions opts;
  opts.scale = 1.0 / std::sqrt(static_cast<double>(C / groups));
  Tensor o = packed_qkv_channel_attention(qkv->forward(x.reshape({B, H * W, C})), groups, opts, {1, 2, 0});
  return proj->forward(o.reshape({B, H, W, C}));  // o: [B, N, C] = (P3 A^T)^T with the groups merged
}

Tensor ChannelAttention::attention_weights(const Tensor& x) {
  NoGradGuard ng;
  check_map("ChannelAttention", x, qkv->in_features);
  std::vector<Tensor> p = split_groups(x);
  double scale = 1.0 / std::sqrt(static_cast<double>(p[0].shape()[2]));
  return softmax(matmul(p[0], p[1].transpose(-1, -2)) * scale, -1);  // [B, G, Cg, Cg]
}

// ---- blocks and stages --------------------------------------------------------------------

DavitBlock::DavitBlock(AttnKind kind_, int64_t dim, int64_t heads, int64_t window, double mlp_ratio, bool qkv_bias,
                       bool conv_pos_enc, double drop_path_p, double ln_eps, Generator* gen)
    : Module(kind_ == AttnKind::spatial ? "SpatialBlock" : "ChannelBlock"), kind(kind_) {
  if (conv_pos_enc) cpe1 = register_module("cpe1", std::make_shared<ConvPosEnc>(dim, gen));
  norm1 = register_module("norm1", std::make_shared<nn::LayerNorm>(dim, ln_eps));
  if (kind == AttnKind::spatial)
    window_attn = register_module("attn", std::make_shared<WindowAttention>(dim, heads, window, qkv_bias, gen));
  else
    channel_attn = register_module("attn", std::make_shared<ChannelAttention>(dim, heads, qkv_bias, gen));
  if (conv_pos_enc) cpe2 = register_module("cpe2", std::make_shared<ConvPosEnc>(dim, gen));
  norm2 = register_module("norm2", std::make_shared<nn::LayerNorm>(dim, ln_eps));
  mlp = register_module("mlp", std::make_shared<nn::Mlp>(dim, static_cast<int64_t>(dim * mlp_ratio), dim,
                                                          nn::Activation::gelu, 0.0, gen));
  drop_path = std::make_shared<nn::DropPath>(drop_path_p, gen);
  add_child("drop_path", drop_path);
}

Tensor DavitBlock::forward(const Tensor& x_in) {
  Tensor x = cpe1 ? cpe1->forward(x_in) : x_in;
  Tensor h = norm1->forward(x);
  x = x + drop_path->forward(kind == AttnKind::spatial ? window_attn->forward(h) : channel_attn->forward(h));
  if (cpe2) x = cpe2->forward(x);
  return x + drop_path->forward(mlp->forward(norm2->forward(x)));
}

Tensor DavitBlock::attention_weights(const Tensor& x) {
  NoGradGuard ng;
  Tensor h = norm1->forward(cpe1 ? cpe1->forward(x) : x);
  return kind == AttnKind::spatial ? window_attn->attention_weights(h) : channel_attn->attention_weights(h);
}

DavitStage::DavitStage(const DavitConfig& c, int64_t s, const std::vector<double>& drop_paths, Generator* gen)
    : Module("DaVitStage") {
  const int64_t dim = c.embed_dims[s];
  if (s > 0) downsample = register_module("downsample", std::make_shared<DavitDownsample>(c.embed_dims[s - 1], dim, c.ln_eps, gen));
  auto list = std::make_shared<nn::ModuleList<nn::ModuleList<DavitBlock>>>();
  size_t k = 0;
  for (int64_t d = 0; d < c.depths[s]; ++d) {
    auto dual = std::make_shared<nn::ModuleList<DavitBlock>>();
    for (AttnKind kind : c.attn_types)
      dual->push_back(std::make_shared<DavitBlock>(kind, dim, c.num_heads[s], c.window_size, c.mlp_ratio, c.qkv_bias,
                                                   c.conv_pos_enc, drop_paths.at(k++), c.ln_eps, gen));
    list->push_back(dual);
  }
  blocks = list.get();
  add_child("blocks", list);
}

Tensor DavitStage::forward(const Tensor& x_in) {
  Tensor x = downsample ? downsample->forward(x_in) : x_in;
  for (const auto& dual : *blocks)
    for (const auto& blk : *dual) x = blk->forward(x);
  return x;
}

DavitHead::DavitHead(int64_t dim, int64_t num_classes, double drop_rate, double ln_eps, Generator* gen) : Module("Head") {
  norm = register_module("norm", std::make_shared<nn::LayerNorm>(dim, ln_eps));
  drop = std::make_shared<nn::Dropout>(drop_rate, gen);
  add_child("drop", drop);
  fc = register_module("fc", std::make_shared<nn::Linear>(dim, num_classes, true, gen));
}

Tensor DavitHead::forward(const Tensor& x) {
  return fc->forward(drop->forward(norm->forward(mean(x, {1, 2}))));  // [B, H, W, C] -> [B, C] -> [B, classes]
}

// ---- DaVit --------------------------------------------------------------------------------

DaVit::DaVit(const DavitConfig& c, Generator* gen) : Module("DaVit"), cfg(c) {
  check_config(c);
  stem = register_module("stem", std::make_shared<DavitStem>(c.in_chans, c.embed_dims[0], c.stem_kernel, c.stem_stride,
                                                             c.stem_padding, c.ln_eps, gen));
  // Stochastic depth rises linearly from 0 to drop_path_rate over every block of the network (the
  // authors' code; timm 1.0 instead shares one rate per dual block, rising per stage).
  const std::vector<double> rates = drop_path_rates(c.drop_path_rate, c.num_blocks());
  auto list = std::make_shared<nn::ModuleList<DavitStage>>();
  size_t first = 0;
  for (size_t s = 0; s < c.embed_dims.size(); ++s) {
    size_t count = static_cast<size_t>(c.depths[s]) * c.attn_types.size();
    std::vector<double> stage_rates(rates.begin() + first, rates.begin() + first + count);
    list->push_back(std::make_shared<DavitStage>(c, static_cast<int64_t>(s), stage_rates, gen));
    first += count;
  }
  stages = list.get();
  add_child("stages", list);
  head = register_module("head", std::make_shared<DavitHead>(c.embed_dims.back(), c.num_classes, c.drop_rate, c.ln_eps, gen));

  // timm's init: every Linear ~ trunc_normal(std 0.02) with zero bias; convolutions keep PyTorch's default.
  nn::init_linears_trunc_normal(*this, 0.02, gen);
}

Tensor DaVit::forward_features(const Tensor& images) {
  IRIS_CHECK(images.dim() == 4 && images.shape()[1] == cfg.in_chans && images.shape()[2] >= 1 && images.shape()[3] >= 1,
             "DaViT: expects images [B, ", cfg.in_chans, ", H, W], got ", shape_str(images.shape()));
  Tensor x = stem->forward(images);  // [B, H/s, W/s, C1]
  for (const auto& stage : *stages) x = stage->forward(x);
  return x;
}

Tensor DaVit::forward(const Tensor& images) { return head->forward(forward_features(images)); }

DavitAttentionMaps DaVit::attention_maps(const Tensor& images, int64_t stage) {
  IRIS_CHECK(stage >= 0 && stage < static_cast<int64_t>(stages->size()), "DaViT attention_maps: stage ", stage,
             " does not exist (the model has ", stages->size(), ")");
  IRIS_CHECK(images.dim() == 4 && images.shape()[1] == cfg.in_chans, "DaViT: expects images [B, ", cfg.in_chans,
             ", H, W], got ", shape_str(images.shape()));
  NoGradGuard ng;
  bool was_training = is_training();
  eval();  // no drop path while recording (restored below)
  Tensor x = stem->forward(images);
  for (int64_t s = 0; s < stage; ++s) x = (*stages)[s]->forward(x);
  const auto& st = (*stages)[stage];
  if (st->downsample) x = st->downsample->forward(x);
  DavitAttentionMaps maps;
  maps.stage = stage, maps.map_h = x.shape()[1], maps.map_w = x.shape()[2], maps.window = cfg.window_size;
  for (const auto& dual : *st->blocks) {
    for (const auto& blk : *dual) {
      Tensor& slot = blk->kind == AttnKind::spatial ? maps.spatial : maps.channel;
      if (!slot.defined()) slot = blk->attention_weights(x);
      x = blk->forward(x);
    }
  }
  train(was_training);
  return maps;
}

// ---- FLOPs --------------------------------------------------------------------------------

std::vector<LayerMacs> davit_layer_macs(const DavitConfig& c) {
  check_config(c);
  std::vector<LayerMacs> out;
  auto ceil_to = [](int64_t v, int64_t m) { return (v + m - 1) / m * m; };
  // stem: conv on the image padded to a multiple of the stride
  int64_t side = ceil_to(c.img_size, c.stem_stride);
  int64_t H = (side + 2 * c.stem_padding - c.stem_kernel) / c.stem_stride + 1;
  out.push_back({"stem.conv", H * H * c.embed_dims[0] * c.in_chans * c.stem_kernel * c.stem_kernel});
  for (size_t s = 0; s < c.embed_dims.size(); ++s) {
    const int64_t C = c.embed_dims[s], G = c.num_heads[s], hidden = static_cast<int64_t>(C * c.mlp_ratio);
    const std::string stage = "stages." + std::to_string(s);
    if (s > 0) {
      H = ceil_to(H, 2) / 2;
      out.push_back({stage + ".downsample.conv", H * H * C * c.embed_dims[s - 1] * 4});
    }
    const int64_t N = H * H, Np = ceil_to(H, c.window_size) * ceil_to(H, c.window_size);
    const int64_t w2 = c.window_size * c.window_size;
    for (int64_t d = 0; d < c.depths[s]; ++d) {
      for (size_t k = 0; k < c.attn_types.size(); ++k) {
        const std::string blk = stage + ".blocks." + std::to_string(d) + "." + std::to_string(k);
        if (c.conv_pos_enc) out.push_back({blk + ".cpe1+cpe2", 2 * N * C * 9});
        if (c.attn_types[k] == AttnKind::spatial) {
          // qkv and proj run on the padded windows; q k^T and A v: w^2 x w^2 x C/G per window and head
          out.push_back({blk + ".attn.qkv+proj (window)", Np * C * 4 * C});
          out.push_back({blk + ".attn.scores+mix (window)", 2 * Np * w2 * C});
        } else {
          // P1^T P2 and P3 A^T: per group Cg x Cg x N, twice
          out.push_back({blk + ".attn.qkv+proj (channel)", N * C * 3 * C + N * C * C});
          out.push_back({blk + ".attn.scores+mix (channel)", 2 * N * C * (C / G)});
        }
        out.push_back({blk + ".mlp", 2 * N * C * hidden});
      }
    }
  }
  out.push_back({"head.fc", c.embed_dims.back() * c.num_classes});
  return out;
}

int64_t davit_macs(const DavitConfig& c) {
  int64_t total = 0;
  for (const LayerMacs& l : davit_layer_macs(c)) total += l.macs;
  return total;
}

}  // namespace iris::models
