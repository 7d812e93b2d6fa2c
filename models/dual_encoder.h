// Dual encoder for contrastive image-text(-label) learning (CLIP / UniCL): an image backbone with a
// linear projection (no bias) and a CLIP-style text tower, both L2-normalised, plus a learnable logit scale.
// Parameter names: visual.* (the backbone), image_projection.weight [E, F], text.* (TextTransformer), logit_scale.
// Leaves out: the losses (losses/contrastive.h), gathering over devices, attention pooling, locked towers.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "models/davit.h"
#include "models/resnet.h"
#include "models/text_transformer.h"
#include "models/vit.h"

namespace iris::models {

struct DualEncoderConfig {
  std::string image = "vit-mini";  // "vit-mini" (4 layers, dim 64, heads 4, patch 4, average pool),
                                   // "davit-pico", "resnet-mini" (CIFAR-style ResNet, small widths)
  int64_t img_size = 28, in_chans = 1;
  TextTransformerConfig text;      // its embed_dim is overridden by embed_dim below
  int64_t embed_dim = 64;
  double init_logit_scale = std::log(1 / 0.07);
  double max_logit_scale = 100;

  static std::vector<std::string> image_backbones();  // the names `image` accepts
};

class DualEncoder : public nn::Module {
 public:
  explicit DualEncoder(const DualEncoderConfig& cfg, Generator* gen = nullptr);
  Tensor image_features(const Tensor& images);   // [B, C, H, W] -> pooled backbone features [B, F] (for a CE head / probe)
  int64_t image_feature_dim() const;
  Tensor encode_image(const Tensor& images);     // -> [B, E], projection (no bias) + L2-normalised
  Tensor encode_text(const Tensor& ids, const Tensor& eot);  // -> [B, E], L2-normalised
  Tensor logit_scale();                          // scalar tensor exp(s) clamped at max_logit_scale, differentiable
  Tensor logit_scale_param;                      // the raw learnable scalar (no weight decay)
  DualEncoderConfig cfg;

  // One of the three backbones is set (registered as "visual"). Their classifiers are built with 1 class and
  // never used (ViT: head; DaViT: head.fc, while head.norm normalises the pooled feature): they get no gradient.
  std::shared_ptr<VisionTransformer> vit;
  std::shared_ptr<DaVit> davit;
  std::shared_ptr<ResNet> resnet;
  std::shared_ptr<nn::Linear> image_projection;  // [F] -> [E], no bias
  std::shared_ptr<TextTransformer> text;
};

}  // namespace iris::models
