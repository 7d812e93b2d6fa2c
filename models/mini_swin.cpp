// Mini-Swin: Swin's trunk (models/swin.cpp) with stages of weight-multiplexed blocks. Each stage makes
// separate_layers[s] unique (attention, MLP) pairs and hands each to `repeats` consecutive layers; every
// layer adds its own norms, head mixing and depthwise-conv transformation. The window shift alternates
// over the layers of a stage (layer i shifts when i is odd), across the repeats of a shared block.
// Leaves out: the distillation hooks (the qkv outputs and hidden states the losses read).
#include "models/mini_swin.h"

namespace iris::models {

// ---- configs ------------------------------------------------------------------------------

MiniSwinConfig MiniSwinConfig::named(const std::string& name) {
  MiniSwinConfig c;
  if (name == "mini-swin-fmnist") {
    c.swin = SwinConfig::named("swin-fmnist");
    c.separate_layers = {1, 1, 1}, c.local_kernel = 3;
    return c;
  }
  if (name == "mini-swin-tiny") {
    c.swin = SwinConfig::named("swin-tiny"), c.separate_layers = {1, 1, 1, 1}, c.swin.drop_path_rate = 0.0;
  } else if (name == "mini-swin-small") {
    c.swin = SwinConfig::named("swin-small"), c.separate_layers = {1, 1, 9, 1}, c.swin.drop_path_rate = 0.1;
  } else if (name == "mini-swin-base") {
    c.swin = SwinConfig::named("swin-base"), c.separate_layers = {1, 1, 9, 1}, c.swin.drop_path_rate = 0.2;
  } else {
    throw Error("unknown Mini-Swin config '" + name +
                "': use mini-swin-fmnist, mini-swin-tiny, mini-swin-small or mini-swin-base");
  }
  return c;
}

std::vector<std::string> MiniSwinConfig::names() {
  return {"mini-swin-fmnist", "mini-swin-tiny", "mini-swin-small", "mini-swin-base"};
}

int64_t MiniSwinConfig::repeats(int64_t stage) const {
  return separate_layers.at(stage) > 0 ? swin.depths.at(stage) / separate_layers.at(stage) : 1;
}

void MiniSwinConfig::check() const {
  swin.check();
  IRIS_CHECK(separate_layers.size() == swin.depths.size(), "Mini-Swin: separate_layers needs one entry per stage (",
             swin.depths.size(), "), got ", separate_layers.size());
  for (size_t s = 0; s < separate_layers.size(); ++s) {
    const int64_t d = swin.depths[s], u = separate_layers[s];
    IRIS_CHECK((d == 0 && u == 0) || (u >= 1 && d % u == 0), "Mini-Swin: stage ", s, " has ", d,
               " blocks, which do not split into ", u, " equal groups of shared blocks; use a divisor of the depth");
  }
  IRIS_CHECK(local_kernel >= 1 && local_kernel % 2 == 1, "Mini-Swin: local_kernel must be odd and positive, got ",
             local_kernel);
}

// ---- one layer of a shared group ----------------------------------------------------------

MiniSwinBlock::MiniSwinBlock(std::shared_ptr<SwinWindowAttention> attn_, std::shared_ptr<nn::Mlp> mlp_,
                             const MiniSwinConfig& c, int64_t stage, int64_t shift_, double drop_path_p, Generator* gen)
    : Module("MiniSwinBlock"), shift(shift_) {
  const int64_t dim = c.swin.dim(stage), G = c.swin.num_heads[stage];
  norm1 = register_module("norm1", std::make_shared<nn::LayerNorm>(dim, c.swin.ln_eps));
  attn = register_module("attn", std::move(attn_));
  if (c.attn_transform) {
    // trunc_normal(0.02) weights and zero biases come with the trunk's init of every Linear
    pre_mix = register_module("pre_mix", std::make_shared<nn::Linear>(G, G, true, gen));
    post_mix = register_module("post_mix", std::make_shared<nn::Linear>(G, G, true, gen));
  }
  if (c.mlp_transform) {
    local_norm = register_module("local_norm", std::make_shared<nn::LayerNorm>(dim, c.swin.ln_eps));
    local_conv = register_module("local_conv", std::make_shared<nn::Conv2d>(dim, dim, c.local_kernel, 1, c.local_kernel / 2,
                                                                            1, dim, true, gen));
  }
  norm2 = register_module("norm2", std::make_shared<nn::LayerNorm>(dim, c.swin.ln_eps));
  mlp = register_module("mlp", std::move(mlp_));
  drop_path = std::make_shared<nn::DropPath>(drop_path_p, gen);
  add_child("drop_path", drop_path);
  const int64_t w = attn->window, padded = (c.swin.resolution(stage) + w - 1) / w * w;
  if (shift > 0) attn_mask = shifted_window_mask(padded, padded, w, shift);
}

Tensor MiniSwinBlock::forward(const Tensor& x_in) {
  if (attn_mask.defined() && attn_mask.device() != x_in.device()) attn_mask = attn_mask.to(x_in.device());
  HeadMixing mixing{pre_mix.get(), post_mix.get()};
  Tensor x = x_in + drop_path->forward(shifted_window_attention(*attn, norm1->forward(x_in), shift, attn_mask, mixing));
  if (local_norm) {
    x = local_norm->forward(x);                                                    // replaces the stream
    x = x + local_conv->forward(x.permute({0, 3, 1, 2})).permute({0, 2, 3, 1});    // depthwise on [B, C, H, W]
  }
  return x + drop_path->forward(mlp->forward(norm2->forward(x)));
}

// ---- MiniSwin -----------------------------------------------------------------------------

namespace {

const MiniSwinConfig& checked(const MiniSwinConfig& c) {
  c.check();
  return c;
}

// The blocks of stage s: a new shared (attention, MLP) pair every `repeats` layers.
SwinBlockBuilder multiplexed_blocks(const MiniSwinConfig& c) {
  return [c](int64_t s, const std::vector<double>& rates, Generator* gen) {
    const SwinConfig& sc = c.swin;
    const int64_t dim = sc.dim(s), repeats = c.repeats(s);
    std::vector<std::shared_ptr<nn::Module>> out;
    std::shared_ptr<SwinWindowAttention> attn;
    std::shared_ptr<nn::Mlp> mlp;
    for (int64_t i = 0; i < sc.depths[s]; ++i) {
      if (i % repeats == 0) {
        attn = std::make_shared<SwinWindowAttention>(dim, sc.num_heads[s], sc.stage_window(s), sc.qkv_bias, gen);
        mlp = std::make_shared<nn::Mlp>(dim, static_cast<int64_t>(dim * sc.mlp_ratio), dim, nn::Activation::gelu, 0.0, gen);
      }
      out.push_back(std::make_shared<MiniSwinBlock>(attn, mlp, c, s, i % 2 ? sc.stage_shift(s) : 0, rates[i], gen));
    }
    return out;
  };
}

}  // namespace

MiniSwin::MiniSwin(const MiniSwinConfig& c, Generator* gen)
    : SwinTransformer(checked(c).swin, multiplexed_blocks(c), gen), mini_cfg(c) {}

MiniSwinBlock& MiniSwin::block(int64_t stage, int64_t index) {
  IRIS_CHECK(stage >= 0 && stage < static_cast<int64_t>(layers->size()), "MiniSwin: no stage ", stage);
  const auto& blocks = *(*layers)[stage]->blocks;
  IRIS_CHECK(index >= 0 && index < static_cast<int64_t>(blocks.size()), "MiniSwin: stage ", stage, " has no block ", index);
  return static_cast<MiniSwinBlock&>(*blocks[index]);
}

}  // namespace iris::models
