// CLIP-style text tower (Radford et al. 2021) with open_clip's TextTransformer layout and parameter names:
//   token_embedding + positional_embedding -> transformer.resblocks.N.{ln_1, attn.{in_proj_weight,
//   in_proj_bias, out_proj}, ln_2, mlp.{c_fc, c_proj}} -> ln_final -> feature at the end token -> @ text_projection
// Letters: B batch, L tokens (<= context_length), W width, E embed dim.
// Leaves out: the tokenizer (data/text/tokenizer.h), attention pooling variants, a CLS token, layer scale, dropout.
#pragma once

#include <cmath>

#include "nn/layers.h"

namespace iris::models {

struct TextTransformerConfig {
  int64_t vocab_size = 0, context_length = 16, width = 64, layers = 2, heads = 4, embed_dim = 64;
  bool causal = true;       // token i attends to tokens <= i (CLIP's default)
  bool quick_gelu = true;   // x * sigmoid(1.702 x) (OpenAI CLIP); false: exact GELU
  double ln_eps = 1e-5;
  double mlp_ratio = 4.0;
};

// open_clip's MLP of a residual block: c_fc -> act -> c_proj.
class TextMlp : public nn::Module {
 public:
  TextMlp(int64_t width, int64_t hidden, nn::Activation act, Generator* gen = nullptr);
  Tensor forward(const Tensor& x) override;  // [..., W] -> [..., W]
  std::shared_ptr<nn::Linear> c_fc, c_proj;
  nn::Activation act;
};

// Pre-norm residual block: x + attn(ln_1(x), mask), then x + mlp(ln_2(x)).
class ResidualAttentionBlock : public nn::Module {
 public:
  ResidualAttentionBlock(int64_t width, int64_t heads, double mlp_ratio, nn::Activation act, double ln_eps,
                         Generator* gen = nullptr);
  Tensor forward(const Tensor& x) override { return forward(x, Tensor()); }
  // attn_mask: bool [L, L], true = not allowed (PyTorch's convention), or undefined for none.
  Tensor forward(const Tensor& x, const Tensor& attn_mask);  // [B, L, W] -> [B, L, W]
  std::shared_ptr<nn::LayerNorm> ln_1, ln_2;
  std::shared_ptr<nn::MultiheadAttention> attn;
  std::shared_ptr<TextMlp> mlp;
};

// open_clip's Transformer: just the list of blocks ("transformer.resblocks.N").
class TextBlocks : public nn::Module {
 public:
  TextBlocks(int64_t width, int64_t layers, int64_t heads, double mlp_ratio, nn::Activation act, double ln_eps,
             Generator* gen = nullptr);
  Tensor forward(const Tensor& x) override { return forward(x, Tensor()); }
  Tensor forward(const Tensor& x, const Tensor& attn_mask);
  nn::ModuleList<ResidualAttentionBlock>* resblocks = nullptr;
};

class TextTransformer : public nn::Module {
 public:
  explicit TextTransformer(const TextTransformerConfig& cfg, Generator* gen = nullptr);
  // ids [B, L] (i64, L <= context_length, PAD anywhere after the end token), eot [B] (i64): the index of the
  // end-of-text token of each row, where the sentence feature is read. -> [B, embed_dim] (projected, NOT normalised)
  Tensor encode(const Tensor& ids, const Tensor& eot);
  // Every token after ln_final: ids [B, L] -> [B, L, W].
  Tensor forward_tokens(const Tensor& ids);
  // bool [L, L], true above the diagonal (= not allowed), as nn::MultiheadAttention's attn_mask.
  static Tensor causal_mask(int64_t L);

  TextTransformerConfig cfg;
  std::shared_ptr<nn::Embedding> token_embedding;  // weight [vocab, W]
  Tensor positional_embedding;                     // [context_length, W]
  std::shared_ptr<TextBlocks> transformer;
  std::shared_ptr<nn::LayerNorm> ln_final;
  Tensor text_projection;                          // [W, E] (features @ text_projection; no bias)
};

}  // namespace iris::models
