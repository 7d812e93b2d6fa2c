// MiniViT, top-down: patch embedding + absolute positions (no class token), L layers where layer l uses
// weight set l / share (qkv, proj, fc1, fc2 registered under every layer that uses them), final norm on all
// tokens, average pool, head. Per-layer transforms around the shared weights; see models/minivit.h.
#include "models/minivit.h"

#include <algorithm>
#include <cmath>

#include "models/stochastic_depth.h"
#include "nn/init.h"

namespace iris::models {

// ---- configs ------------------------------------------------------------------------------

MiniVitConfig MiniVitConfig::named(const std::string& name) {
  MiniVitConfig c;
  c.vit.class_token = false;
  auto plain = [&c] {  // a DeiT without class token: no sharing, no transforms
    c.share = 1;
    c.attn_transform = false;
    c.mlp_transform = MlpTransform::none;
  };
  if (name == "teacher-fmnist" || name == "minivit-fmnist") {
    c.vit.img_size = 28, c.vit.patch_size = 4, c.vit.in_chans = 1, c.vit.num_classes = 10;
    c.vit.embed_dim = 64, c.vit.depth = 6, c.vit.num_heads = 4, c.vit.mlp_ratio = 2.0;
    if (name == "teacher-fmnist") plain();
    else c.share = 2, c.transform_bias = true, c.mlp_transform = MlpTransform::dwconv, c.dwconv_kernel = 3;
    return c;
  }
  const std::string sizes[] = {"tiny", "small", "base"};
  for (const std::string& size : sizes) {
    if (name == "deit-" + size + "-gap" || name == "mini-deit-" + size) {
      c.vit = VitConfig::named("deit-" + size);
      c.vit.class_token = false;
      if (name[0] == 'd') {
        plain();
      } else {  // Mini-DeiT: 6 weight sets used twice, head mixing without bias, relpos in place of iRPE
        c.share = 2, c.attn_transform = true, c.transform_bias = false, c.mlp_transform = MlpTransform::relpos;
      }
      return c;
    }
  }
  std::string known;
  for (const std::string& n : names()) known += (known.empty() ? "" : ", ") + n;
  throw Error("unknown MiniViT config '" + name + "': use one of " + known);
}

std::vector<std::string> MiniVitConfig::names() {
  return {"teacher-fmnist", "minivit-fmnist", "deit-tiny-gap", "deit-small-gap", "deit-base-gap",
          "mini-deit-tiny", "mini-deit-small", "mini-deit-base"};
}

// ---- attention ----------------------------------------------------------------------------

MiniVitAttention::MiniVitAttention(std::shared_ptr<nn::Linear> qkv_, std::shared_ptr<nn::Linear> proj_,
                                   int64_t heads, bool attn_transform, bool transform_bias, int64_t grid,
                                   double attn_drop_, Generator* gen_)
    : Module("MiniVitAttention"), num_heads(heads), relpos_grid(grid), attn_drop(attn_drop_), gen(gen_) {
  IRIS_CHECK(qkv_ && proj_, "MiniVitAttention: qkv and proj Linears are required");
  const int64_t D = proj_->in_features;
  IRIS_CHECK(heads > 0 && D % heads == 0, "MiniVitAttention: dim ", D, " is not divisible by ", heads, " heads");
  IRIS_CHECK(qkv_->in_features == D && qkv_->out_features == 3 * D && proj_->out_features == D,
             "MiniVitAttention: qkv must be Linear(", D, ", ", 3 * D, ") and proj Linear(", D, ", ", D, ")");
  IRIS_CHECK(grid >= 0, "MiniVitAttention: relpos grid must be >= 0 (0 = no relative-position bias)");
  qkv = register_module("qkv", qkv_);
  proj = register_module("proj", proj_);
  if (attn_transform) {
    // H x H head mixing as Linear(H, H) over the head axis; trunc-normal(0.02), zero bias (the MiniViT code).
    pre_mix = register_module("pre_mix", std::make_shared<nn::Linear>(heads, heads, transform_bias, gen));
    post_mix = register_module("post_mix", std::make_shared<nn::Linear>(heads, heads, transform_bias, gen));
    for (auto* mix : {pre_mix.get(), post_mix.get()}) {
      nn::init::trunc_normal_(mix->weight, 0.02, 0.0, -2.0, 2.0, gen);
      if (mix->bias.defined()) nn::init::zeros_(mix->bias);
    }
  }
  if (grid > 0) {
    // One bias per 2-D offset (dr, dc) in [-(g-1), g-1]^2, shared by the heads; zero init.
    const int64_t span = 2 * grid - 1, N = grid * grid;
    register_parameter("rel_bias", rel_bias, zeros({span * span}));
    std::vector<int64_t> index(static_cast<size_t>(N * N));
    for (int64_t i = 0; i < N; ++i)
      for (int64_t j = 0; j < N; ++j)
        index[static_cast<size_t>(i * N + j)] =
            (i / grid - j / grid + grid - 1) * span + (i % grid - j % grid + grid - 1);
    rel_index = from_vector(index, {N * N});
  }
}

Tensor MiniVitAttention::forward(const Tensor& x) { return forward_qkv(x, nullptr); }

namespace {
// Mixes the head axis of a [B, H, N, N] map: out_h = sum_h' W[h, h'] a_h' (+ b_h).
Tensor mix_heads(const nn::Linear& mix, const Tensor& a) {
  const Shape s = a.shape();
  Tensor flat = matmul(mix.weight, a.reshape({s[0], s[1], s[2] * s[3]}));  // [H, H] x [B, H, N*N]
  if (mix.bias.defined()) flat = flat + mix.bias.reshape({s[1], 1});
  return flat.reshape(s);
}
}  // namespace

Tensor MiniVitAttention::forward_qkv(const Tensor& x, std::vector<Tensor>* qkv_out) {
  IRIS_CHECK(x.dim() == 3 && x.shape()[2] == proj->in_features, "MiniVitAttention: expects tokens [B, N, ",
             proj->in_features, "], got ", shape_str(x.shape()));
  const int64_t N = x.shape()[1], D = x.shape()[2], H = num_heads;
  if (relpos_grid > 0)
    IRIS_CHECK(N == relpos_grid * relpos_grid, "MiniVitAttention: the relative-position table is for ",
               relpos_grid, "x", relpos_grid, " = ", relpos_grid * relpos_grid, " tokens, got ", N);
  Tensor raw = qkv->forward(x);  // [B, N, 3D]
  if (qkv_out) *qkv_out = {raw.slice(2, 0, D), raw.slice(2, D, 2 * D), raw.slice(2, 2 * D, 3 * D)};
  // [B, N, 3D] -> q, k, v [B, H, N, d]
  std::array<Tensor, 3> qkv_heads = split_packed_qkv(raw, H);
  const Tensor &q = qkv_heads[0], &k = qkv_heads[1], &v = qkv_heads[2];
  Tensor o;  // [B, H, N, d]
  if (!pre_mix && !rel_bias.defined()) {
    AttentionOptions opts;  // exactly timm's Attention
    opts.dropout_p = is_training() ? attn_drop : 0.0;
    opts.generator = gen;
    o = scaled_dot_product_attention(q, k, v, opts);
  } else {
    double scale = 1.0 / std::sqrt(static_cast<double>(D / H));
    Tensor logits = matmul(q, k.transpose(-1, -2)) * scale;  // [B, H, N, N]
    if (rel_bias.defined()) {
      if (rel_index.device() != rel_bias.device()) rel_index = rel_index.to(rel_bias.device());
      logits = logits + index_select(rel_bias, 0, rel_index).reshape({N, N});
    }
    if (pre_mix) logits = mix_heads(*pre_mix, logits);
    Tensor attn = softmax(logits, -1);
    if (post_mix) attn = mix_heads(*post_mix, attn);
    if (is_training() && attn_drop > 0.0) attn = dropout(attn, attn_drop, true, gen);
    o = matmul(attn, v);
  }
  return proj->forward(merge_heads(o));
}

// ---- block --------------------------------------------------------------------------------

MiniVitBlock::MiniVitBlock(std::shared_ptr<nn::LayerNorm> norm1_, std::shared_ptr<MiniVitAttention> attn_,
                           std::shared_ptr<nn::LayerNorm> norm2_, std::shared_ptr<nn::Mlp> mlp_, bool dwconv,
                           int64_t dim, int64_t kernel, int64_t grid_, double drop_path_p, double ln_eps,
                           Generator* gen)
    : Module("MiniVitBlock"), grid(grid_) {
  norm1 = register_module("norm1", norm1_);
  attn = register_module("attn", attn_);
  if (dwconv) {
    IRIS_CHECK(kernel >= 1 && kernel % 2 == 1, "MiniViT: dwconv_kernel must be odd and positive, got ", kernel);
    local_norm = register_module("local_norm", std::make_shared<nn::LayerNorm>(dim, ln_eps));
    local_conv = register_module("local_conv", std::make_shared<nn::Conv2d>(dim, dim, kernel, 1, kernel / 2, 1,
                                                                             dim, true, gen));
  }
  norm2 = register_module("norm2", norm2_);
  mlp = register_module("mlp", mlp_);
  drop_path = std::make_shared<nn::DropPath>(drop_path_p, gen);
  add_child("drop_path", drop_path);
}

Tensor MiniVitBlock::forward(const Tensor& x) { return forward_trace(x, nullptr); }

Tensor MiniVitBlock::forward_trace(const Tensor& x, std::vector<Tensor>* qkv_out) {
  Tensor h = x + drop_path->forward(attn->forward_qkv(norm1->forward(x), qkv_out));
  if (local_conv) {
    // The normalised tensor replaces the stream (as the Mini-Swin code), then a depthwise conv residual
    // on the h x w token grid: [B, N, D] -> [B, D, g, g] -> conv -> [B, N, D].
    const int64_t B = h.shape()[0], N = h.shape()[1], D = h.shape()[2];
    IRIS_CHECK(N == grid * grid, "MiniVitBlock: dwconv expects ", grid, "x", grid, " tokens, got ", N);
    h = local_norm->forward(h);
    Tensor map = h.transpose(1, 2).reshape({B, D, grid, grid});
    h = h + local_conv->forward(map).flatten(2).transpose(1, 2);
  }
  return h + drop_path->forward(mlp->forward(norm2->forward(h)));
}

// ---- MiniVit ------------------------------------------------------------------------------

MiniVit::MiniVit(const MiniVitConfig& c, Generator* gen) : Module("MiniVit"), cfg(c) {
  const VitConfig& v = c.vit;
  IRIS_CHECK(!v.class_token, "MiniViT: has no class token (average pooling); set vit.class_token = false");
  IRIS_CHECK(v.patch_size > 0 && v.img_size > 0 && v.img_size % v.patch_size == 0, "MiniViT: img_size ",
             v.img_size, " is not a multiple of patch_size ", v.patch_size);
  IRIS_CHECK(v.num_heads > 0 && v.embed_dim % v.num_heads == 0, "MiniViT: embed_dim ", v.embed_dim,
             " is not divisible by ", v.num_heads, " heads");
  IRIS_CHECK(v.depth >= 1 && v.num_classes >= 1 && v.in_chans >= 1,
             "MiniViT: depth, num_classes and in_chans must be positive");
  IRIS_CHECK(c.share >= 1 && v.depth % c.share == 0, "MiniViT: share ", c.share, " does not divide depth ", v.depth,
             "; use a divisor of the depth (1 = unshared, depth = a single shared layer)");
  const int64_t D = v.embed_dim, grid = c.grid();
  patch_embed = register_module("patch_embed", std::make_shared<PatchEmbed>(v.in_chans, D, v.patch_size, gen));
  register_parameter("pos_embed", pos_embed, zeros({1, v.num_patches(), D}));
  nn::init::trunc_normal_(pos_embed, 0.02, 0.0, -2.0, 2.0, gen);
  pos_drop = std::make_shared<nn::Dropout>(v.drop_rate, gen);

  auto list = std::make_shared<nn::ModuleList<MiniVitBlock>>();
  const std::vector<double> rates = drop_path_rates(v.drop_path_rate, v.depth);
  std::shared_ptr<nn::Linear> qkv, proj;
  std::shared_ptr<nn::Mlp> mlp;
  std::shared_ptr<nn::LayerNorm> norm1, norm2;
  for (int64_t i = 0; i < v.depth; ++i) {
    if (i % c.share == 0) {  // a new weight set
      qkv = std::make_shared<nn::Linear>(D, 3 * D, v.qkv_bias, gen);
      proj = std::make_shared<nn::Linear>(D, D, true, gen);
      mlp = std::make_shared<nn::Mlp>(D, static_cast<int64_t>(D * v.mlp_ratio), D, nn::Activation::gelu, 0.0, gen);
    }
    if (c.per_layer_norm || i % c.share == 0) {
      norm1 = std::make_shared<nn::LayerNorm>(D, v.ln_eps);
      norm2 = std::make_shared<nn::LayerNorm>(D, v.ln_eps);
    }
    auto attn = std::make_shared<MiniVitAttention>(qkv, proj, v.num_heads, c.attn_transform, c.transform_bias,
                                                   c.mlp_transform == MlpTransform::relpos ? grid : 0,
                                                   v.attn_drop_rate, gen);
    const double dp = rates[i];
    list->push_back(std::make_shared<MiniVitBlock>(norm1, attn, norm2, mlp, c.mlp_transform == MlpTransform::dwconv,
                                                   D, c.dwconv_kernel, grid, dp, v.ln_eps, gen));
  }
  blocks = list.get();
  add_child("blocks", list);
  norm = register_module("norm", std::make_shared<nn::LayerNorm>(D, v.ln_eps));
  head_drop = std::make_shared<nn::Dropout>(v.drop_rate, gen);
  head = register_module("head", std::make_shared<nn::Linear>(D, v.num_classes, true, gen));

  // timm's init: every Linear ~ trunc_normal(std 0.02) with zero bias (the head mixing included, as the
  // MiniViT code). Shared Linears appear under several names: each is drawn once.
  nn::init_linears_trunc_normal(*this, 0.02, gen);
}

int64_t MiniVit::depth() const { return cfg.vit.depth; }
int64_t MiniVit::unique_blocks() const { return cfg.vit.depth / cfg.share; }

std::vector<std::string> MiniVit::block_parameter_prefixes() const {
  std::vector<std::string> out;
  for (int64_t i = 0; i < cfg.vit.depth; ++i) out.push_back("blocks." + std::to_string(i) + ".");
  return out;
}

Tensor MiniVit::forward(const Tensor& images) { return forward_trace(images, nullptr); }

Tensor MiniVit::forward_trace(const Tensor& images, MiniVitTrace* trace) {
  const VitConfig& v = cfg.vit;
  IRIS_CHECK(images.dim() == 4 && images.shape()[1] == v.in_chans && images.shape()[2] == v.img_size &&
                 images.shape()[3] == v.img_size,
             "MiniViT: expects images [B, ", v.in_chans, ", ", v.img_size, ", ", v.img_size, "], got ",
             shape_str(images.shape()));
  if (trace) *trace = MiniVitTrace{};
  // [B, C, H, W] -> [B, N, D] + positions
  Tensor x = pos_drop->forward(patch_embed->forward(images) + pos_embed);
  std::vector<Tensor> qkv;
  for (const auto& blk : *blocks) {
    x = blk->forward_trace(x, trace ? &qkv : nullptr);
    if (trace) {
      trace->q.push_back(qkv[0]);
      trace->k.push_back(qkv[1]);
      trace->v.push_back(qkv[2]);
      trace->hidden.push_back(x);
    }
  }
  // final norm on all tokens, then the average over tokens: [B, N, D] -> [B, D] -> [B, classes]
  Tensor pooled = mean(norm->forward(x), {1});
  return head->forward(head_drop->forward(pooled));
}

}  // namespace iris::models
