// FaRL (Zheng et al. 2022, "General Facial Representation Learning in a Visual-Linguistic Manner") at the
// small scale of papers/farl.md 4.5: a CLIP-layout ViT image encoder with FaRL's MIM branch, CLIP's text
// tower and a learnable logit scale. Top-down, as the official visual model:
//   images [B, 3, S, S] -> conv1 (P x P, stride P, no bias) -> [B, N, W] patch embeddings e
//   MIM: e' = e (1 - m) + mask_token m, and the batch is [e; e'] (clean copy first, masked copy second)
//   -> [cls] + positional_embedding -> ln_pre -> blocks (pre-norm; features tapped after some of them)
//   ITC: the clean copy's cls -> ln_post -> @ proj -> L2-normalised [B, E]
//   MIM: the masked copy's tokens -> lm_blocks -> drop cls -> ln_lm -> lm_head -> [B, N, vocab]
// Parameter names follow the official code where it has them (conv1, class_embedding, positional_embedding,
// ln_pre, ln_post, proj, mask_token, ln_lm); the blocks are timm's (models/vit.h Block).
// Letters: B batch, N patches (h w), W width, E joint embedding, K visual vocabulary.
// Leaves out: QuickGELU in the image tower (timm's Block uses GELU), relative position bias, layer decay.
#pragma once

#include <cmath>
#include <vector>

#include "models/text_transformer.h"
#include "models/vit.h"

namespace iris::models {

struct FarlConfig {
  int64_t img_size = 48, patch = 6, in_chans = 3;
  int64_t width = 64, depth = 6, heads = 4;
  double mlp_ratio = 2.0;
  int64_t embed_dim = 64;
  int64_t mim_layers = 1, vocab = 256;          // the MIM branch: extra blocks, visual vocabulary
  std::vector<int64_t> feature_blocks = {1, 2, 3, 5};  // 0-based blocks whose outputs the dense heads read
  TextTransformerConfig text;                   // vocab_size from the tokenizer; embed_dim overridden
  double init_logit_scale = std::log(1 / 0.07), max_logit_scale = 100;

  int64_t grid() const { return img_size / patch; }
  int64_t num_patches() const { return grid() * grid(); }
};
void check_farl_config(const FarlConfig& cfg);

class FarlVisual : public nn::Module {
 public:
  explicit FarlVisual(const FarlConfig& cfg, Generator* gen = nullptr);
  // images [B, C, S, S], mask f32 [B, N] (1 = replaced by mask_token) or undefined -> tokens [B, N + 1, W]
  // after ln_pre.
  Tensor embed(const Tensor& images, const Tensor& mask = Tensor());
  // Runs the blocks over [B, N + 1, W]; the outputs of cfg.feature_blocks are appended to taps when given.
  Tensor run_blocks(const Tensor& tokens, std::vector<Tensor>* taps = nullptr);
  Tensor project(const Tensor& tokens);     // [B, N + 1, W] -> cls -> ln_post -> @ proj -> normalised [B, E]
  Tensor mim_logits(const Tensor& tokens);  // [B, N + 1, W] -> lm_blocks -> ln_lm -> lm_head [B, N, K]
  Tensor encode(const Tensor& images);      // project(run_blocks(embed(images)))
  // The dense heads' input: the tapped blocks' patch tokens as maps, each [B, W, h, w].
  std::vector<Tensor> feature_maps(const Tensor& images);

  FarlConfig cfg;
  std::shared_ptr<nn::Conv2d> conv1;
  Tensor class_embedding, positional_embedding, mask_token;  // [W], [N + 1, W], [W]
  std::shared_ptr<nn::LayerNorm> ln_pre, ln_post, ln_lm;
  nn::ModuleList<Block>* blocks = nullptr;
  nn::ModuleList<Block>* lm_blocks = nullptr;
  Tensor proj;                                              // [W, E]
  std::shared_ptr<nn::Linear> lm_head;                      // W -> K
};

// What one pre-training step computes, in FaRL's batch layout.
struct FarlPretrainOutput {
  Tensor image_emb;   // [B, E] from the clean copy's cls (undefined without ITC)
  Tensor text_emb;    // [B, E] (undefined without ITC)
  Tensor mim_logits;  // [B, N, K] of the masked copy (undefined without MIM)
};

class Farl : public nn::Module {
 public:
  explicit Farl(const FarlConfig& cfg, Generator* gen = nullptr);
  // itc: the clean copy and the text tower; mim: the masked copy (mask f32 [B, N]). Both: one pass over
  // the concatenated [clean; masked] batch [2B, ...].
  FarlPretrainOutput forward_pretrain(const Tensor& images, const Tensor& mask, const Tensor& ids, const Tensor& eot,
                                      bool itc, bool mim);
  Tensor encode_text(const Tensor& ids, const Tensor& eot);  // [B, E], normalised
  Tensor logit_scale();                                      // exp(s) clamped at max_logit_scale
  FarlConfig cfg;
  std::shared_ptr<FarlVisual> visual;
  std::shared_ptr<TextTransformer> text;
  Tensor logit_scale_param;
};

}  // namespace iris::models
