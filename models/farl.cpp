// FaRL-mini: the image encoder with the MIM branch, the text tower, the pre-training pass (farl.h).
#include "models/farl.h"

#include "nn/init.h"

namespace iris::models {

void check_farl_config(const FarlConfig& c) {
  IRIS_CHECK(c.patch >= 1 && c.img_size % c.patch == 0, "FaRL: img_size ", c.img_size,
             " is not a multiple of patch ", c.patch);
  IRIS_CHECK(c.width % c.heads == 0, "FaRL: width ", c.width, " is not divisible by ", c.heads, " heads");
  IRIS_CHECK(c.depth >= 1 && c.mim_layers >= 1 && c.vocab >= 2, "FaRL: depth, mim_layers >= 1 and vocab >= 2");
  for (int64_t b : c.feature_blocks)
    IRIS_CHECK(b >= 0 && b < c.depth, "FaRL: feature block ", b, " is outside the ", c.depth, " blocks");
}

FarlVisual::FarlVisual(const FarlConfig& c, Generator* gen) : Module("FarlVisual"), cfg(c) {
  check_farl_config(c);
  const int64_t W = c.width, N = c.num_patches();
  const double scale = 1.0 / std::sqrt(static_cast<double>(W));  // CLIP's init
  conv1 = register_module("conv1", std::make_shared<nn::Conv2d>(c.in_chans, W, c.patch, c.patch, 0, 1, 1, false, gen));
  register_parameter("class_embedding", class_embedding, zeros({W}));
  nn::init::normal_(class_embedding, 0.0, scale, gen);
  register_parameter("positional_embedding", positional_embedding, zeros({N + 1, W}));
  nn::init::normal_(positional_embedding, 0.0, scale, gen);
  register_parameter("mask_token", mask_token, zeros({W}));
  nn::init::trunc_normal_(mask_token, 0.02, 0.0, -2.0, 2.0, gen);
  ln_pre = register_module("ln_pre", std::make_shared<nn::LayerNorm>(W));
  auto list = std::make_shared<nn::ModuleList<Block>>();
  for (int64_t i = 0; i < c.depth; ++i)
    list->push_back(std::make_shared<Block>(W, c.heads, c.mlp_ratio, true, 0.0, 0.0, 1e-5, gen));
  blocks = list.get();
  add_child("blocks", list);
  ln_post = register_module("ln_post", std::make_shared<nn::LayerNorm>(W));
  register_parameter("proj", proj, zeros({W, c.embed_dim}));
  nn::init::normal_(proj, 0.0, scale, gen);
  auto lm = std::make_shared<nn::ModuleList<Block>>();
  for (int64_t i = 0; i < c.mim_layers; ++i)
    lm->push_back(std::make_shared<Block>(W, c.heads, c.mlp_ratio, true, 0.0, 0.0, 1e-5, gen));
  lm_blocks = lm.get();
  add_child("lm_blocks", lm);
  ln_lm = register_module("ln_lm", std::make_shared<nn::LayerNorm>(W));
  lm_head = register_module("lm_head", std::make_shared<nn::Linear>(W, c.vocab, true, gen));
  for (auto* l : {blocks, lm_blocks}) nn::init_linears_trunc_normal(*l, 0.02, gen);
  nn::init::trunc_normal_(lm_head->weight, 0.02, 0.0, -2.0, 2.0, gen);
  nn::init::zeros_(lm_head->bias);
}

Tensor FarlVisual::embed(const Tensor& images, const Tensor& mask) {
  IRIS_CHECK(images.dim() == 4 && images.shape()[1] == cfg.in_chans && images.shape()[2] == cfg.img_size &&
                 images.shape()[3] == cfg.img_size,
             "FaRL: expects images [B, ", cfg.in_chans, ", ", cfg.img_size, ", ", cfg.img_size, "], got ",
             shape_str(images.shape()));
  const int64_t B = images.shape()[0], N = cfg.num_patches(), W = cfg.width;
  Tensor e = conv1->forward(images).flatten(2).transpose(1, 2);  // [B, N, W]
  if (mask.defined()) {
    IRIS_CHECK(mask.shape() == Shape({B, N}), "FaRL: mask must be [", B, ", ", N, "], got ", shape_str(mask.shape()));
    Tensor m = mask.to(e.dtype()).unsqueeze(2);                  // [B, N, 1]
    e = e * (1.0 - m) + mask_token.reshape({1, 1, W}) * m;
  }
  Tensor cls = class_embedding.reshape({1, 1, W}).expand({B, 1, W});
  return ln_pre->forward(cat({cls, e}, 1) + positional_embedding.unsqueeze(0));
}

Tensor FarlVisual::run_blocks(const Tensor& tokens, std::vector<Tensor>* taps) {
  Tensor x = tokens;
  for (int64_t i = 0; i < static_cast<int64_t>(blocks->size()); ++i) {
    x = (*blocks)[i]->forward(x);
    if (taps)
      for (int64_t b : cfg.feature_blocks)
        if (b == i) taps->push_back(x);
  }
  return x;
}

Tensor FarlVisual::project(const Tensor& tokens) {
  return normalize(matmul(ln_post->forward(tokens.select(1, 0)), proj), 2.0, -1);
}

Tensor FarlVisual::mim_logits(const Tensor& tokens) {
  Tensor x = tokens;
  for (const auto& blk : *lm_blocks) x = blk->forward(x);
  x = x.slice(1, 1, x.shape()[1]);  // drop cls
  return lm_head->forward(ln_lm->forward(x));
}

Tensor FarlVisual::encode(const Tensor& images) { return project(run_blocks(embed(images))); }

std::vector<Tensor> FarlVisual::feature_maps(const Tensor& images) {
  std::vector<Tensor> taps;
  run_blocks(embed(images), &taps);
  const int64_t B = images.shape()[0], g = cfg.grid();
  std::vector<Tensor> maps;
  for (const Tensor& t : taps)  // [B, N + 1, W] -> patches [B, N, W] -> [B, W, h, w]
    maps.push_back(t.slice(1, 1, t.shape()[1]).transpose(1, 2).reshape({B, cfg.width, g, g}));
  return maps;
}

Farl::Farl(const FarlConfig& c, Generator* gen) : Module("Farl"), cfg(c) {
  visual = register_module("visual", std::make_shared<FarlVisual>(c, gen));
  TextTransformerConfig t = c.text;
  t.embed_dim = c.embed_dim;
  text = register_module("text", std::make_shared<TextTransformer>(t, gen));
  register_parameter("logit_scale", logit_scale_param, scalar_tensor(c.init_logit_scale));
}

Tensor Farl::encode_text(const Tensor& ids, const Tensor& eot) { return normalize(text->encode(ids, eot), 2.0, -1); }

Tensor Farl::logit_scale() { return exp(clamp(logit_scale_param, -INFINITY, std::log(cfg.max_logit_scale))); }

FarlPretrainOutput Farl::forward_pretrain(const Tensor& images, const Tensor& mask, const Tensor& ids,
                                          const Tensor& eot, bool itc, bool mim) {
  IRIS_CHECK(itc || mim, "FaRL: a pre-training step needs ITC, MIM or both");
  FarlPretrainOutput out;
  const int64_t B = images.shape()[0];
  Tensor tokens;
  if (itc && mim) {
    // [clean; masked] along the batch, through one pass (the official visual model's layout)
    Tensor both = visual->embed(cat({images, images}, 0), cat({zeros_like(mask), mask}, 0));
    tokens = visual->run_blocks(both);
    out.image_emb = visual->project(tokens.slice(0, 0, B));
    out.mim_logits = visual->mim_logits(tokens.slice(0, B, 2 * B));
  } else if (itc) {
    out.image_emb = visual->project(visual->run_blocks(visual->embed(images)));
  } else {
    out.mim_logits = visual->mim_logits(visual->run_blocks(visual->embed(images, mask)));
  }
  if (itc) out.text_emb = encode_text(ids, eot);
  return out;
}

}  // namespace iris::models
