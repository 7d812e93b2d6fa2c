// ViT / DeiT, top-down as in the paper's figure: split the image into patches, embed them, add
// position embeddings (and a class token), run pre-norm transformer blocks, pool, classify.
#include "models/vit.h"

#include "models/config_bounds.h"
#include "models/stochastic_depth.h"
#include "nn/init.h"

namespace iris::models {

// ---- configs ------------------------------------------------------------------------------

VitConfig VitConfig::named(const std::string& name) {
  VitConfig c;
  if (name == "vit-fmnist") return c;  // the defaults
  if (name == "vit-fmnist-p7") {       // 4x4 patches of 7x7 pixels: 16 tokens, about 4x faster
    c.patch_size = 7;
    return c;
  }
  c.img_size = 224, c.patch_size = 16, c.in_chans = 3, c.num_classes = 1000;
  if (name == "deit-tiny") c.embed_dim = 192, c.depth = 12, c.num_heads = 3;
  else if (name == "deit-small") c.embed_dim = 384, c.depth = 12, c.num_heads = 6;
  else if (name == "deit-base") c.embed_dim = 768, c.depth = 12, c.num_heads = 12;
  else throw Error("unknown ViT config '" + name + "': use vit-fmnist, vit-fmnist-p7, deit-tiny, deit-small or deit-base");
  return c;
}

std::vector<std::string> VitConfig::names() {
  return {"vit-fmnist", "vit-fmnist-p7", "deit-tiny", "deit-small", "deit-base"};
}

// ---- PatchEmbed -----------------------------------------------------------------------------

PatchEmbed::PatchEmbed(int64_t in_chans, int64_t dim, int64_t patch, Generator* gen) : Module("PatchEmbed") {
  proj = register_module("proj", std::make_shared<nn::Conv2d>(in_chans, dim, patch, patch, 0, 1, 1, true, gen));
}

Tensor PatchEmbed::forward(const Tensor& images) { return proj->forward(images).flatten(2).transpose(1, 2); }

// ---- Attention ------------------------------------------------------------------------------

Attention::Attention(int64_t dim, int64_t heads, bool qkv_bias, double attn_drop_, Generator* gen_)
    : Module("Attention"), num_heads(heads), attn_drop(attn_drop_), gen(gen_) {
  IRIS_CHECK(dim % heads == 0, "Attention: dim ", dim, " is not divisible by ", heads, " heads");
  qkv = register_module("qkv", std::make_shared<nn::Linear>(dim, 3 * dim, qkv_bias, gen));
  proj = register_module("proj", std::make_shared<nn::Linear>(dim, dim, true, gen));
}

std::vector<Tensor> Attention::split_heads(const Tensor& x) {
  std::array<Tensor, 3> t = split_packed_qkv(qkv->forward(x), num_heads);  // [B, N, 3D] -> 3 x [B, H, N, D/H]
  return {t[0], t[1], t[2]};
}

Tensor Attention::forward(const Tensor& x) {
  IRIS_CHECK(x.dim() == 3, "Attention: expects tokens [B, N, D], got ", shape_str(x.shape()));
  const int64_t B = x.shape()[0], N = x.shape()[1], D = x.shape()[2];
  AttentionOptions opts;
  opts.dropout_p = is_training() ? attn_drop : 0.0;
  opts.generator = gen;
  // [B, N, 3D] read as [B, N, 3, H, D/H] -> heads merged [B, N, D] (split_heads + attention + merge, fused)
  Tensor o = packed_qkv_attention(qkv->forward(x), num_heads, opts);
  IRIS_ASSERT(o.shape() == Shape({B, N, D}));
  return proj->forward(o);
}

Tensor Attention::attention_weights(const Tensor& x) {
  NoGradGuard ng;
  std::vector<Tensor> h = split_heads(x);
  double scale = 1.0 / std::sqrt(static_cast<double>(h[0].shape()[3]));
  return softmax(matmul(h[0], h[1].transpose(-1, -2)) * scale, -1);
}

// ---- Block ----------------------------------------------------------------------------------

Block::Block(int64_t dim, int64_t heads, double mlp_ratio, bool qkv_bias, double attn_drop, double drop_path_p,
             double ln_eps, Generator* gen)
    : Module("Block") {
  norm1 = register_module("norm1", std::make_shared<nn::LayerNorm>(dim, ln_eps));
  attn = register_module("attn", std::make_shared<Attention>(dim, heads, qkv_bias, attn_drop, gen));
  norm2 = register_module("norm2", std::make_shared<nn::LayerNorm>(dim, ln_eps));
  mlp = register_module("mlp", std::make_shared<nn::Mlp>(dim, static_cast<int64_t>(dim * mlp_ratio), dim,
                                                          nn::Activation::gelu, 0.0, gen));
  drop_path = std::make_shared<nn::DropPath>(drop_path_p, gen);
  add_child("drop_path", drop_path);
}

Tensor Block::forward(const Tensor& x) {
  Tensor h = x + drop_path->forward(attn->forward(norm1->forward(x)));
  return h + drop_path->forward(mlp->forward(norm2->forward(h)));
}

// ---- VisionTransformer ----------------------------------------------------------------------

VisionTransformer::VisionTransformer(const VitConfig& c, Generator* gen) : Module("VisionTransformer"), cfg(c) {
  check_config_field("ViT", "img_size", c.img_size, 1, 65536);
  check_config_field("ViT", "patch_size", c.patch_size, 1, c.img_size);
  check_config_field("ViT", "in_chans", c.in_chans, 1, 4096);
  check_config_field("ViT", "num_classes", c.num_classes, 1, 1 << 24);
  check_config_field("ViT", "embed_dim", c.embed_dim, 1, 1 << 16);
  check_config_field("ViT", "depth", c.depth, 1, 4096);
  check_config_field("ViT", "num_heads", c.num_heads, 1, c.embed_dim);
  IRIS_CHECK(c.mlp_ratio > 0 && c.mlp_ratio <= 64, "ViT: mlp_ratio is ", c.mlp_ratio, "; it must be in (0, 64]");
  {
    const double D = static_cast<double>(c.embed_dim), P = static_cast<double>(c.patch_size);
    const double tokens = static_cast<double>(c.img_size / c.patch_size) * static_cast<double>(c.img_size / c.patch_size) + 1;
    check_parameter_budget("ViT", c.depth * (4 + 2 * c.mlp_ratio) * D * D + P * P * c.in_chans * D + tokens * D +
                                      D * c.num_classes);
  }
  IRIS_CHECK(c.img_size % c.patch_size == 0, "ViT: img_size ", c.img_size, " is not a multiple of patch_size ",
             c.patch_size);
  IRIS_CHECK(c.embed_dim % c.num_heads == 0, "ViT: embed_dim ", c.embed_dim, " is not divisible by ", c.num_heads,
             " heads");
  IRIS_CHECK(c.depth >= 1 && c.num_classes >= 1, "ViT: depth and num_classes must be positive");
  const int64_t D = c.embed_dim;
  patch_embed = register_module("patch_embed", std::make_shared<PatchEmbed>(c.in_chans, D, c.patch_size, gen));
  int64_t tokens = c.num_patches() + (c.class_token ? 1 : 0);
  if (c.class_token) {
    register_parameter("cls_token", cls_token, zeros({1, 1, D}));
    nn::init::normal_(cls_token, 0.0, 1e-6, gen);
  }
  register_parameter("pos_embed", pos_embed, zeros({1, tokens, D}));
  nn::init::trunc_normal_(pos_embed, 0.02, 0.0, -2.0, 2.0, gen);
  pos_drop = std::make_shared<nn::Dropout>(c.drop_rate, gen);

  auto list = std::make_shared<nn::ModuleList<Block>>();
  const std::vector<double> rates = drop_path_rates(c.drop_path_rate, c.depth);
  for (int64_t i = 0; i < c.depth; ++i) {
    list->push_back(std::make_shared<Block>(D, c.num_heads, c.mlp_ratio, c.qkv_bias, c.attn_drop_rate, rates[i],
                                            c.ln_eps, gen));
  }
  blocks = list.get();
  add_child("blocks", list);
  if (c.class_token) norm = register_module("norm", std::make_shared<nn::LayerNorm>(D, c.ln_eps));
  else fc_norm = register_module("fc_norm", std::make_shared<nn::LayerNorm>(D, c.ln_eps));
  head_drop = std::make_shared<nn::Dropout>(c.drop_rate, gen);
  head = register_module("head", std::make_shared<nn::Linear>(D, c.num_classes, true, gen));

  // timm's init: every Linear ~ trunc_normal(std 0.02) with zero bias.
  nn::init_linears_trunc_normal(*this, 0.02, gen);
}

Tensor VisionTransformer::embed(const Tensor& images) {
  IRIS_CHECK(images.dim() == 4 && images.shape()[1] == cfg.in_chans && images.shape()[2] == cfg.img_size &&
                 images.shape()[3] == cfg.img_size,
             "ViT: expects images [B, ", cfg.in_chans, ", ", cfg.img_size, ", ", cfg.img_size, "], got ",
             shape_str(images.shape()));
  const int64_t B = images.shape()[0];
  // [B, C, H, W] -> [B, D, H/P, W/P] -> [B, N, D]
  Tensor x = patch_embed->forward(images);
  if (cfg.class_token) x = cat({cls_token.expand({B, 1, cfg.embed_dim}), x}, 1);
  return pos_drop->forward(x + pos_embed);
}

Tensor VisionTransformer::forward_features(const Tensor& images) {
  Tensor x = embed(images);
  for (const auto& blk : *blocks) x = blk->forward(x);
  return cfg.class_token ? norm->forward(x) : x;
}

Tensor VisionTransformer::forward_head(const Tensor& tokens) {
  Tensor pooled = cfg.class_token ? tokens.select(1, 0) : fc_norm->forward(mean(tokens, {1}));
  return head->forward(head_drop->forward(pooled));
}

Tensor VisionTransformer::forward(const Tensor& images) { return forward_head(forward_features(images)); }

Tensor VisionTransformer::last_attention_map(const Tensor& images) {
  NoGradGuard ng;
  Tensor x = embed(images);
  for (size_t i = 0; i + 1 < blocks->size(); ++i) x = (*blocks)[i]->forward(x);
  const auto& last = (*blocks)[blocks->size() - 1];
  Tensor w = last->attn->attention_weights(last->norm1->forward(x));  // [B, H, N, N]
  int64_t side = cfg.img_size / cfg.patch_size, first = cfg.class_token ? 1 : 0;
  Tensor to_patches = w.slice(3, first, w.shape()[3]);                 // [B, H, N, n_patches]
  Tensor from = cfg.class_token ? to_patches.select(2, 0) : mean(to_patches, {2});
  return from.reshape({w.shape()[0], w.shape()[1], side, side});
}

}  // namespace iris::models
