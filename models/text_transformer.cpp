// CLIP-style text tower, top-down: embed tokens, add learned positions, run pre-norm blocks under a causal
// mask, normalise, read the feature at each row's end token, project. Initialisation as open_clip's.
#include "models/text_transformer.h"

#include "models/config_bounds.h"

#include "nn/init.h"

namespace iris::models {

// ---- TextMlp --------------------------------------------------------------------------------

TextMlp::TextMlp(int64_t width, int64_t hidden, nn::Activation a, Generator* gen) : Module("TextMlp"), act(a) {
  c_fc = register_module("c_fc", std::make_shared<nn::Linear>(width, hidden, true, gen));
  c_proj = register_module("c_proj", std::make_shared<nn::Linear>(hidden, width, true, gen));
}

Tensor TextMlp::forward(const Tensor& x) { return c_proj->forward(nn::apply_activation(act, c_fc->forward(x))); }

// ---- ResidualAttentionBlock -----------------------------------------------------------------

ResidualAttentionBlock::ResidualAttentionBlock(int64_t width, int64_t heads, double mlp_ratio, nn::Activation act,
                                               double ln_eps, Generator* gen)
    : Module("ResidualAttentionBlock") {
  ln_1 = register_module("ln_1", std::make_shared<nn::LayerNorm>(width, ln_eps));
  attn = register_module("attn", std::make_shared<nn::MultiheadAttention>(width, heads, true, 0.0, gen));
  ln_2 = register_module("ln_2", std::make_shared<nn::LayerNorm>(width, ln_eps));
  mlp = register_module("mlp", std::make_shared<TextMlp>(width, static_cast<int64_t>(width * mlp_ratio), act, gen));
}

Tensor ResidualAttentionBlock::forward(const Tensor& x, const Tensor& attn_mask) {
  Tensor h = ln_1->forward(x);
  Tensor y = x + attn->forward(h, h, h, Tensor(), attn_mask);
  return y + mlp->forward(ln_2->forward(y));
}

TextBlocks::TextBlocks(int64_t width, int64_t layers, int64_t heads, double mlp_ratio, nn::Activation act,
                       double ln_eps, Generator* gen)
    : Module("Transformer") {
  auto list = std::make_shared<nn::ModuleList<ResidualAttentionBlock>>();
  for (int64_t i = 0; i < layers; ++i)
    list->push_back(std::make_shared<ResidualAttentionBlock>(width, heads, mlp_ratio, act, ln_eps, gen));
  resblocks = list.get();
  add_child("resblocks", list);
}

Tensor TextBlocks::forward(const Tensor& x, const Tensor& attn_mask) {
  IRIS_ASSERT(resblocks != nullptr);
  Tensor h = x;
  for (const auto& blk : *resblocks) h = blk->forward(h, attn_mask);
  return h;
}

// ---- TextTransformer ------------------------------------------------------------------------

TextTransformer::TextTransformer(const TextTransformerConfig& c, Generator* gen)
    : Module("TextTransformer"), cfg(c) {
  IRIS_CHECK(c.vocab_size > 0, "TextTransformer: vocab_size must be positive, got ", c.vocab_size,
             "; set it to the tokenizer's vocabulary size");
  IRIS_CHECK(c.context_length > 0 && c.width > 0 && c.layers > 0 && c.heads > 0 && c.embed_dim > 0,
             "TextTransformer: context_length, width, layers, heads and embed_dim must be positive, got ",
             c.context_length, ", ", c.width, ", ", c.layers, ", ", c.heads, ", ", c.embed_dim);
  check_config_field("TextTransformer", "vocab_size", c.vocab_size, 1, 1 << 24);
  check_config_field("TextTransformer", "context_length", c.context_length, 1, 1 << 16);
  check_config_field("TextTransformer", "width", c.width, 1, 1 << 16);
  check_config_field("TextTransformer", "layers", c.layers, 1, 4096);
  check_config_field("TextTransformer", "heads", c.heads, 1, c.width);
  check_config_field("TextTransformer", "embed_dim", c.embed_dim, 1, 1 << 16);
  IRIS_CHECK(c.mlp_ratio <= 64, "TextTransformer: mlp_ratio is ", c.mlp_ratio, "; it must be in (0, 64]");
  {
    const double W = static_cast<double>(c.width);
    check_parameter_budget("TextTransformer", c.layers * (4 + 2 * c.mlp_ratio) * W * W +
                                                  static_cast<double>(c.vocab_size + c.context_length) * W +
                                                  W * static_cast<double>(c.embed_dim));
  }
  IRIS_CHECK(c.width % c.heads == 0, "TextTransformer: width ", c.width, " is not divisible by ", c.heads, " heads");
  IRIS_CHECK(c.mlp_ratio > 0, "TextTransformer: mlp_ratio must be positive, got ", c.mlp_ratio);
  const int64_t W = c.width;
  token_embedding = register_module("token_embedding", std::make_shared<nn::Embedding>(c.vocab_size, W, gen));
  register_parameter("positional_embedding", positional_embedding, zeros({c.context_length, W}));
  nn::Activation act = c.quick_gelu ? nn::Activation::quick_gelu : nn::Activation::gelu;
  transformer = register_module(
      "transformer", std::make_shared<TextBlocks>(W, c.layers, c.heads, c.mlp_ratio, act, c.ln_eps, gen));
  ln_final = register_module("ln_final", std::make_shared<nn::LayerNorm>(W, c.ln_eps));
  register_parameter("text_projection", text_projection, zeros({W, c.embed_dim}));

  // open_clip's init: embeddings N(0, 0.02) / N(0, 0.01); attention and MLP weights scaled by width and depth.
  nn::init::normal_(token_embedding->weight, 0.0, 0.02, gen);
  nn::init::normal_(positional_embedding, 0.0, 0.01, gen);
  const double proj_std = std::pow(static_cast<double>(W), -0.5) * std::pow(2.0 * static_cast<double>(c.layers), -0.5);
  const double attn_std = std::pow(static_cast<double>(W), -0.5);
  const double fc_std = std::pow(2.0 * static_cast<double>(W), -0.5);
  for (const auto& blk : *transformer->resblocks) {
    nn::init::normal_(blk->attn->in_proj_weight, 0.0, attn_std, gen);
    nn::init::normal_(blk->attn->out_proj->weight, 0.0, proj_std, gen);
    nn::init::normal_(blk->mlp->c_fc->weight, 0.0, fc_std, gen);
    nn::init::normal_(blk->mlp->c_proj->weight, 0.0, proj_std, gen);
  }
  nn::init::normal_(text_projection, 0.0, attn_std, gen);
}

Tensor TextTransformer::causal_mask(int64_t L) {
  // [L, L] bool: true where key j > query i.
  Tensor row = arange(static_cast<double>(L)).reshape({L, 1});
  Tensor col = arange(static_cast<double>(L)).reshape({1, L});
  return gt(col, row);
}

Tensor TextTransformer::forward_tokens(const Tensor& ids) {
  IRIS_CHECK(ids.defined() && ids.dim() == 2, "TextTransformer: expects ids [B, L], got ",
             ids.defined() ? shape_str(ids.shape()) : std::string("an undefined tensor"));
  IRIS_CHECK(ids.dtype() == DType::i64 || ids.dtype() == DType::i32, "TextTransformer: ids must be i64 or i32, got ",
             dtype_name(ids.dtype()));
  const int64_t L = ids.shape()[1];
  IRIS_CHECK(L >= 1 && L <= cfg.context_length, "TextTransformer: ids have ", L,
             " tokens; expected 1 to context_length = ", cfg.context_length, " (truncate or raise context_length)");
  // [B, L] -> [B, L, W], plus positions [L, W]
  Tensor x = token_embedding->forward(ids) + positional_embedding.slice(0, 0, L);
  Tensor mask = cfg.causal ? causal_mask(L).to(ids.device()) : Tensor();
  x = transformer->forward(x, mask);
  return ln_final->forward(x);
}

Tensor TextTransformer::encode(const Tensor& ids, const Tensor& eot) {
  IRIS_CHECK(ids.defined() && ids.dim() == 2, "TextTransformer::encode: expects ids [B, L], got ",
             ids.defined() ? shape_str(ids.shape()) : std::string("an undefined tensor"));
  const int64_t B = ids.shape()[0], L = ids.shape()[1];
  IRIS_CHECK(eot.defined() && eot.dim() == 1 && eot.shape()[0] == B, "TextTransformer::encode: eot must be [B] = [",
             B, "], got ", eot.defined() ? shape_str(eot.shape()) : std::string("an undefined tensor"));
  IRIS_CHECK(eot.dtype() == DType::i64 || eot.dtype() == DType::i32, "TextTransformer::encode: eot must be i64 or i32, got ",
             dtype_name(eot.dtype()));
  IRIS_CHECK(eot.device() == ids.device(), "TextTransformer::encode: ids and eot are on different devices");
  for (int64_t e : eot.to(DType::i64).cpu().to_vector<int64_t>())
    IRIS_CHECK(e >= 0 && e < L, "TextTransformer::encode: eot index ", e, " is outside [0, ", L,
               "); it must point at each row's end-of-text token");
  Tensor x = forward_tokens(ids);  // [B, L, W]
  const int64_t W = cfg.width;
  Tensor idx = eot.to(DType::i64).reshape({B, 1, 1}).expand({B, 1, W}).contiguous();
  Tensor pooled = gather(x, 1, idx).reshape({B, W});  // [B, W]
  return matmul(pooled, text_projection);             // [B, E]
}

}  // namespace iris::models
