// Swin Transformer, top-down as in the paper's figure: patch partition (P x P conv + LN) turns the
// image into a token map; each stage merges 2x2 patches (stages 1..) and runs blocks that alternate
// window attention and shifted-window attention (cyclic shift + mask), each with a relative position
// bias; a final norm, average pooling and a linear head classify.
// Tokens travel as a channels-last map [B, H, W, C]; LayerNorm and Linear work on it directly.
#include "models/stochastic_depth.h"
#include "models/swin.h"

#include "models/windows.h"
#include "nn/init.h"

namespace iris::models {

// ---- configs ------------------------------------------------------------------------------

SwinConfig SwinConfig::named(const std::string& name) {
  SwinConfig c;
  if (name == "swin-fmnist") return c;  // the defaults: 14x14 -> 7x7 -> 4x4 tokens, window 7 (then 4)
  c.img_size = 224, c.patch_size = 4, c.in_chans = 3, c.num_classes = 1000, c.window_size = 7;
  if (name == "swin-tiny") {
    c.embed_dim = 96, c.depths = {2, 2, 6, 2}, c.num_heads = {3, 6, 12, 24}, c.drop_path_rate = 0.2;
  } else if (name == "swin-small") {
    c.embed_dim = 96, c.depths = {2, 2, 18, 2}, c.num_heads = {3, 6, 12, 24}, c.drop_path_rate = 0.3;
  } else if (name == "swin-base") {
    c.embed_dim = 128, c.depths = {2, 2, 18, 2}, c.num_heads = {4, 8, 16, 32}, c.drop_path_rate = 0.5;
  } else {
    throw Error("unknown Swin config '" + name + "': use swin-fmnist, swin-tiny, swin-small or swin-base");
  }
  return c;
}

std::vector<std::string> SwinConfig::names() { return {"swin-fmnist", "swin-tiny", "swin-small", "swin-base"}; }

int64_t SwinConfig::resolution(int64_t stage) const {
  int64_t side = img_size / patch_size;
  for (int64_t s = 1; s <= stage; ++s) side = (side + 1) / 2;
  return side;
}

int64_t SwinConfig::stage_window(int64_t stage) const { return std::min(window_size, resolution(stage)); }

int64_t SwinConfig::stage_shift(int64_t stage) const {
  return resolution(stage) <= window_size ? 0 : window_size / 2;
}

void SwinConfig::check() const {
  const size_t S = depths.size();
  IRIS_CHECK(S >= 1 && num_heads.size() == S, "Swin: depths and num_heads must have one entry per stage, got ",
             depths.size(), " and ", num_heads.size());
  IRIS_CHECK(embed_dim >= 1 && S <= 16, "Swin: embed_dim must be positive (got ", embed_dim, ") and stages at most 16");
  for (size_t s = 0; s < S; ++s) {
    IRIS_CHECK(depths[s] >= 0 && num_heads[s] >= 1, "Swin: stage ", s, " needs a depth >= 0 and a head count >= 1");
    IRIS_CHECK(dim(static_cast<int64_t>(s)) % num_heads[s] == 0, "Swin: stage ", s, " has ", dim(static_cast<int64_t>(s)),
               " channels, not divisible by its ", num_heads[s], " heads");
  }
  IRIS_CHECK(patch_size >= 1 && window_size >= 1, "Swin: patch_size and window_size must be positive, got ",
             patch_size, " and ", window_size);
  IRIS_CHECK(img_size >= patch_size && img_size % patch_size == 0, "Swin: image size ", img_size,
             " is not a multiple of the patch size ", patch_size, "; choose img_size = k * patch_size");
  IRIS_CHECK(in_chans >= 1 && num_classes >= 1 && mlp_ratio > 0, "Swin: in_chans, num_classes and mlp_ratio must be positive");
}

namespace {

// [B, H, W, C] <-> [B, C, H, W] for the convolution.
Tensor to_nhwc(const Tensor& x) { return x.permute({0, 2, 3, 1}); }

void check_map(const char* who, const Tensor& x, int64_t C) {
  IRIS_CHECK(x.dim() == 4 && x.shape()[3] == C, who, ": expects a token map [B, H, W, ", C, "], got ",
             shape_str(x.shape()));
}

}  // namespace

// ---- patch partition and merging ----------------------------------------------------------

SwinPatchEmbed::SwinPatchEmbed(int64_t in_chans, int64_t dim, int64_t patch, double ln_eps, Generator* gen)
    : Module("PatchEmbed") {
  proj = register_module("proj", std::make_shared<nn::Conv2d>(in_chans, dim, patch, patch, 0, 1, 1, true, gen));
  norm = register_module("norm", std::make_shared<nn::LayerNorm>(dim, ln_eps));
}

Tensor SwinPatchEmbed::forward(const Tensor& images) { return norm->forward(to_nhwc(proj->forward(images))); }

PatchMerging::PatchMerging(int64_t dim, int64_t out_dim, double ln_eps, Generator* gen) : Module("PatchMerging") {
  norm = register_module("norm", std::make_shared<nn::LayerNorm>(4 * dim, ln_eps));
  reduction = register_module("reduction", std::make_shared<nn::Linear>(4 * dim, out_dim, false, gen));
}

Tensor PatchMerging::forward(const Tensor& x_in) {
  check_map("PatchMerging", x_in, norm->normalized_shape[0] / 4);
  Tensor x = pad_map_to(x_in, 2);  // [B, H+, W+, C], even sides
  const int64_t B = x.shape()[0], H = x.shape()[1], W = x.shape()[2], C = x.shape()[3];
  // [B, H/2, dh, W/2, dw, C] -> [B, H/2, W/2, dw, dh, C] -> [B, H/2, W/2, 4C]
  Tensor merged = x.reshape({B, H / 2, 2, W / 2, 2, C}).permute({0, 1, 3, 4, 2, 5}).reshape({B, H / 2, W / 2, 4 * C});
  return reduction->forward(norm->forward(merged));
}

// ---- window attention ---------------------------------------------------------------------

SwinWindowAttention::SwinWindowAttention(int64_t dim, int64_t heads, int64_t window_, bool qkv_bias, Generator* gen)
    : Module("WindowAttention"), num_heads(heads), window(window_) {
  IRIS_CHECK(heads >= 1 && dim % heads == 0, "WindowAttention: dim ", dim, " is not divisible by ", heads, " heads");
  IRIS_CHECK(window_ >= 1, "WindowAttention: window must be positive, got ", window_);
  const int64_t w = window_, span = 2 * w - 1, N = w * w;
  register_parameter("relative_position_bias_table", relative_position_bias_table, zeros({span * span, heads}));
  nn::init::trunc_normal_(relative_position_bias_table, 0.02, 0.0, -2.0, 2.0, gen);
  std::vector<int64_t> index(static_cast<size_t>(N * N));
  for (int64_t i = 0; i < N; ++i)
    for (int64_t j = 0; j < N; ++j)
      index[i * N + j] = (i / w - j / w + w - 1) * span + (i % w - j % w + w - 1);
  relative_position_index = from_vector(index, {N, N});
  qkv = register_module("qkv", std::make_shared<nn::Linear>(dim, 3 * dim, qkv_bias, gen));
  proj = register_module("proj", std::make_shared<nn::Linear>(dim, dim, true, gen));
}

Tensor SwinWindowAttention::relative_position_bias() {
  if (relative_position_index.device() != relative_position_bias_table.device())
    relative_position_index = relative_position_index.to(relative_position_bias_table.device());
  // table [(2w-1)^2, G] gathered at index [N, N] -> [N, N, G] -> [G, N, N]
  return embedding(relative_position_bias_table, relative_position_index).permute({2, 0, 1});
}

namespace {

// Linear over the head axis of attention scores: [B', G, N, N] -> [B', G, N, N].
Tensor mix_heads(nn::Linear& mix, const Tensor& scores) {
  return mix.forward(scores.permute({0, 2, 3, 1})).permute({0, 3, 1, 2});
}

}  // namespace

Tensor SwinWindowAttention::forward(const Tensor& windows, const Tensor& mask, const HeadMixing& mixing) {
  const int64_t N = window * window, C = qkv->in_features, G = num_heads;
  IRIS_CHECK(windows.dim() == 3 && windows.shape()[1] == N && windows.shape()[2] == C,
             "WindowAttention: expects windows [B', ", N, ", ", C, "] (window ", window, "), got ",
             shape_str(windows.shape()));
  const int64_t Bw = windows.shape()[0];
  // [B', N, 3C] -> q, k, v [B', G, N, D]
  std::array<Tensor, 3> qkv_heads = split_packed_qkv(qkv->forward(windows), G);
  const Tensor &q = qkv_heads[0], &k = qkv_heads[1], &v = qkv_heads[2];
  Tensor logits = matmul(q * (1.0 / std::sqrt(static_cast<double>(C / G))), k.transpose(-1, -2));  // [B', G, N, N]
  logits = logits + relative_position_bias();
  if (mixing.pre) logits = mix_heads(*mixing.pre, logits);
  if (mask.defined()) {
    const int64_t nW = mask.shape()[0];
    IRIS_CHECK(mask.dim() == 3 && mask.shape()[1] == N && mask.shape()[2] == N && Bw % nW == 0,
               "WindowAttention: the mask ", shape_str(mask.shape()), " does not fit ", Bw, " windows of ", N, " tokens");
    Tensor m = mask.dtype() == logits.dtype() ? mask : mask.to(logits.dtype());
    // [B, nW, G, N, N] + [nW, 1, N, N]: windows of one image follow each other
    logits = (logits.reshape({Bw / nW, nW, G, N, N}) + m.unsqueeze(1)).reshape({Bw, G, N, N});
  }
  Tensor attn = softmax(logits, -1);
  if (mixing.post) attn = mix_heads(*mixing.post, attn);
  Tensor o = matmul(attn, v);  // [B', G, N, D]
  return proj->forward(merge_heads(o));
}

Tensor shifted_window_mask(int64_t Hp, int64_t Wp, int64_t w, int64_t s) {
  IRIS_CHECK(w >= 1 && Hp % w == 0 && Wp % w == 0 && s >= 0 && s < w, "shifted_window_mask: a ", Hp, "x", Wp,
             " map, window ", w, " and shift ", s, " do not fit (sides must be multiples of the window, shift < window)");
  // region of a row (column) of the rolled map: 0 before the last w, 1 in the last w but before the last s, 2 after
  auto region = [w, s](int64_t i, int64_t side) { return i < side - w ? 0 : (i < side - s ? 1 : 2); };
  const int64_t nh = Hp / w, nw = Wp / w, N = w * w;
  std::vector<float> mask(static_cast<size_t>(nh * nw * N * N));
  std::vector<int> label(static_cast<size_t>(N));
  for (int64_t wy = 0; wy < nh; ++wy) {
    for (int64_t wx = 0; wx < nw; ++wx) {
      for (int64_t t = 0; t < N; ++t) label[t] = 3 * region(wy * w + t / w, Hp) + region(wx * w + t % w, Wp);
      float* m = mask.data() + (wy * nw + wx) * N * N;
      for (int64_t i = 0; i < N; ++i)
        for (int64_t j = 0; j < N; ++j) m[i * N + j] = label[i] == label[j] ? 0.0f : -100.0f;
    }
  }
  return from_vector(mask, {nh * nw, N, N});
}

Tensor shifted_window_attention(SwinWindowAttention& attn, const Tensor& x, int64_t shift, const Tensor& mask,
                                const HeadMixing& mixing) {
  check_map("shifted window attention", x, attn.qkv->in_features);
  const int64_t B = x.shape()[0], H = x.shape()[1], W = x.shape()[2], w = attn.window;
  Tensor shifted = shift > 0 ? roll(x, {-shift, -shift}, {1, 2}) : x;
  Tensor xp = pad_map_to(shifted, w);  // [B, Hp, Wp, C]; padded tokens are zeros, not masked (timm)
  const int64_t Hp = xp.shape()[1], Wp = xp.shape()[2];
  Tensor o = attn.forward(window_partition(xp, w), mask, mixing);  // [B', N, C]
  Tensor merged = window_merge(o, w, B, Hp, Wp);
  if (Hp != H || Wp != W) merged = merged.slice(1, 0, H).slice(2, 0, W);
  return shift > 0 ? roll(merged, {shift, shift}, {1, 2}) : merged;
}

// ---- block, stage, head -------------------------------------------------------------------

SwinBlock::SwinBlock(int64_t dim, int64_t heads, int64_t window, int64_t shift_, int64_t map_side, double mlp_ratio,
                     bool qkv_bias, double drop_path_p, double ln_eps, Generator* gen)
    : Module("SwinTransformerBlock"), shift(shift_) {
  norm1 = register_module("norm1", std::make_shared<nn::LayerNorm>(dim, ln_eps));
  attn = register_module("attn", std::make_shared<SwinWindowAttention>(dim, heads, window, qkv_bias, gen));
  norm2 = register_module("norm2", std::make_shared<nn::LayerNorm>(dim, ln_eps));
  mlp = register_module("mlp", std::make_shared<nn::Mlp>(dim, static_cast<int64_t>(dim * mlp_ratio), dim,
                                                          nn::Activation::gelu, 0.0, gen));
  drop_path = std::make_shared<nn::DropPath>(drop_path_p, gen);
  add_child("drop_path", drop_path);
  const int64_t padded = (map_side + window - 1) / window * window;
  if (shift > 0) attn_mask = shifted_window_mask(padded, padded, window, shift);
}

Tensor SwinBlock::forward(const Tensor& x_in) {
  if (attn_mask.defined() && attn_mask.device() != x_in.device()) attn_mask = attn_mask.to(x_in.device());
  Tensor x = x_in + drop_path->forward(shifted_window_attention(*attn, norm1->forward(x_in), shift, attn_mask));
  return x + drop_path->forward(mlp->forward(norm2->forward(x)));
}

SwinStage::SwinStage(std::shared_ptr<PatchMerging> downsample_, const std::vector<std::shared_ptr<nn::Module>>& mods)
    : Module("SwinTransformerStage"), downsample(std::move(downsample_)) {
  if (downsample) add_child("downsample", downsample);
  auto list = std::make_shared<nn::ModuleList<nn::Module>>();
  for (const auto& m : mods) list->push_back(m);
  blocks = list.get();
  add_child("blocks", list);
}

Tensor SwinStage::forward(const Tensor& x_in) {
  Tensor x = downsample ? downsample->forward(x_in) : x_in;
  for (const auto& blk : *blocks) x = blk->forward(x);
  return x;
}

SwinHead::SwinHead(int64_t dim, int64_t num_classes, double drop_rate, Generator* gen) : Module("ClassifierHead") {
  drop = std::make_shared<nn::Dropout>(drop_rate, gen);
  add_child("drop", drop);
  fc = register_module("fc", std::make_shared<nn::Linear>(dim, num_classes, true, gen));
}

Tensor SwinHead::forward(const Tensor& x) { return fc->forward(drop->forward(mean(x, {1, 2}))); }

// ---- SwinTransformer ----------------------------------------------------------------------

namespace {

std::vector<std::shared_ptr<nn::Module>> swin_blocks(const SwinConfig& c, int64_t s, const std::vector<double>& rates,
                                                     Generator* gen) {
  std::vector<std::shared_ptr<nn::Module>> out;
  for (int64_t i = 0; i < c.depths[s]; ++i)
    out.push_back(std::make_shared<SwinBlock>(c.dim(s), c.num_heads[s], c.stage_window(s), i % 2 ? c.stage_shift(s) : 0,
                                              c.resolution(s), c.mlp_ratio, c.qkv_bias, rates[i], c.ln_eps, gen));
  return out;
}

}  // namespace

SwinTransformer::SwinTransformer(const SwinConfig& c, Generator* gen)
    : SwinTransformer(c, [&c](int64_t s, const std::vector<double>& r, Generator* g) { return swin_blocks(c, s, r, g); },
                      gen) {}

SwinTransformer::SwinTransformer(const SwinConfig& c, const SwinBlockBuilder& build_blocks, Generator* gen)
    : Module("SwinTransformer"), cfg(c) {
  c.check();
  patch_embed = register_module("patch_embed", std::make_shared<SwinPatchEmbed>(c.in_chans, c.embed_dim, c.patch_size,
                                                                                c.ln_eps, gen));
  int64_t total = 0;
  for (int64_t d : c.depths) total += d;
  const std::vector<double> all_rates = drop_path_rates(c.drop_path_rate, total);  // over every block
  auto list = std::make_shared<nn::ModuleList<SwinStage>>();
  int64_t first = 0;
  for (int64_t s = 0; s < c.num_stages(); ++s) {
    std::vector<double> rates(all_rates.begin() + first, all_rates.begin() + first + c.depths[s]);
    first += c.depths[s];
    auto merge = s > 0 ? std::make_shared<PatchMerging>(c.dim(s - 1), c.dim(s), c.ln_eps, gen) : nullptr;
    list->push_back(std::make_shared<SwinStage>(merge, build_blocks(s, rates, gen)));
  }
  layers = list.get();
  add_child("layers", list);
  norm = register_module("norm", std::make_shared<nn::LayerNorm>(c.dim(c.num_stages() - 1), c.ln_eps));
  head = register_module("head", std::make_shared<SwinHead>(c.dim(c.num_stages() - 1), c.num_classes, c.drop_rate, gen));

  // timm's init: every Linear ~ trunc_normal(std 0.02) with zero bias (the relative position tables
  // were drawn the same way at construction); convolutions keep PyTorch's default.
  nn::init_linears_trunc_normal(*this, 0.02, gen);
}

Tensor SwinTransformer::forward_features(const Tensor& images) {
  IRIS_CHECK(images.dim() == 4 && images.shape()[1] == cfg.in_chans && images.shape()[2] == cfg.img_size &&
                 images.shape()[3] == cfg.img_size,
             "Swin: expects images [B, ", cfg.in_chans, ", ", cfg.img_size, ", ", cfg.img_size,
             "] (the shift masks are built for img_size), got ", shape_str(images.shape()));
  Tensor x = patch_embed->forward(images);  // [B, img/P, img/P, C]
  for (const auto& stage : *layers) x = stage->forward(x);
  return norm->forward(x);
}

Tensor SwinTransformer::forward(const Tensor& images) { return head->forward(forward_features(images)); }

}  // namespace iris::models
