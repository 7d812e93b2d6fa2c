// Dual encoder: builds the named image backbone (without using its classifier), the image projection,
// the text tower and the logit scale; the encoders return unit vectors. The scale is exp(min(s, log max)),
// clamped before the exp so that a runaway s gives a zero gradient, never inf * 0 = NaN.
#include "models/dual_encoder.h"

#include "nn/init.h"

namespace iris::models {

std::vector<std::string> DualEncoderConfig::image_backbones() { return {"vit-mini", "davit-pico", "resnet-mini"}; }

DualEncoder::DualEncoder(const DualEncoderConfig& c, Generator* gen) : Module("DualEncoder"), cfg(c) {
  IRIS_CHECK(c.embed_dim > 0, "DualEncoder: embed_dim must be positive, got ", c.embed_dim);
  IRIS_CHECK(c.img_size > 0 && c.in_chans > 0, "DualEncoder: img_size and in_chans must be positive, got ", c.img_size,
             ", ", c.in_chans);
  IRIS_CHECK(c.max_logit_scale > 0 && std::isfinite(c.init_logit_scale), "DualEncoder: max_logit_scale must be > 0 (got ",
             c.max_logit_scale, ") and init_logit_scale finite (got ", c.init_logit_scale, ")");
  if (c.image == "vit-mini") {
    VitConfig v;
    v.img_size = c.img_size, v.in_chans = c.in_chans, v.patch_size = 4, v.num_classes = 1;
    v.embed_dim = 64, v.depth = 4, v.num_heads = 4, v.class_token = false;
    vit = register_module("visual", std::make_shared<VisionTransformer>(v, gen));
  } else if (c.image == "davit-pico") {
    DavitConfig d = DavitConfig::named("davit-pico");
    d.img_size = c.img_size, d.in_chans = c.in_chans, d.num_classes = 1;
    davit = register_module("visual", std::make_shared<DaVit>(d, gen));
  } else if (c.image == "resnet-mini") {
    ResNetConfig r = ResNetConfig::named("resnet-mini");
    r.in_chans = c.in_chans, r.num_classes = 0;
    resnet = register_module("visual", std::make_shared<ResNet>(r, gen));
  } else {
    throw Error("DualEncoder: unknown image backbone '" + c.image + "': use vit-mini, davit-pico or resnet-mini");
  }
  const int64_t F = image_feature_dim();
  image_projection = register_module("image_projection", std::make_shared<nn::Linear>(F, c.embed_dim, false, gen));
  nn::init::normal_(image_projection->weight, 0.0, std::pow(static_cast<double>(F), -0.5), gen);
  TextTransformerConfig t = c.text;
  t.embed_dim = c.embed_dim;
  cfg.text = t;
  text = register_module("text", std::make_shared<TextTransformer>(t, gen));
  register_parameter("logit_scale", logit_scale_param, scalar_tensor(c.init_logit_scale));
}

int64_t DualEncoder::image_feature_dim() const {
  if (vit) return vit->cfg.embed_dim;
  if (davit) return davit->cfg.embed_dims.back();
  IRIS_ASSERT(resnet != nullptr);
  return resnet->num_features();
}

Tensor DualEncoder::image_features(const Tensor& images) {
  IRIS_CHECK(images.defined() && images.dim() == 4, "DualEncoder: expects images [B, C, H, W], got ",
             images.defined() ? shape_str(images.shape()) : std::string("an undefined tensor"));
  if (vit) return vit->fc_norm->forward(mean(vit->forward_features(images), {1}));         // [B, N, D] -> [B, D]
  if (davit) return davit->head->norm->forward(mean(davit->forward_features(images), {1, 2}));  // [B, h, w, C] -> [B, C]
  return resnet->forward_features(images);                                                  // [B, F]
}

Tensor DualEncoder::encode_image(const Tensor& images) {
  return normalize(image_projection->forward(image_features(images)), 2.0, -1);  // [B, E], unit rows
}

Tensor DualEncoder::encode_text(const Tensor& ids, const Tensor& eot) {
  return normalize(text->encode(ids, eot), 2.0, -1);  // [B, E], unit rows
}

Tensor DualEncoder::logit_scale() {
  return exp(clamp(logit_scale_param, -INFINITY, std::log(cfg.max_logit_scale)));
}

}  // namespace iris::models
