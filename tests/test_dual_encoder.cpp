// models/dual_encoder: each image backbone gives pooled features of image_feature_dim() and unit-norm
// embeddings; the text side unit-norm embeddings; the logit scale starts at 1/0.07, is clamped at 100 with a
// zero (never NaN) gradient beyond; a UniCL step sends a finite gradient to every parameter in use; names.
#include <algorithm>

#include "losses/contrastive.h"
#include "models/dual_encoder.h"
#include "tests/helpers.h"

using namespace iris;
using namespace iris::models;

namespace {

DualEncoderConfig small_config(const std::string& image) {
  DualEncoderConfig c;
  c.image = image;
  c.img_size = 16, c.in_chans = 1, c.embed_dim = 16;  // 16x16 keeps the test fast
  c.text.vocab_size = 30, c.text.context_length = 6, c.text.width = 16, c.text.heads = 2, c.text.layers = 1;
  c.text.embed_dim = 999;  // overridden by embed_dim
  return c;
}

void check_unit_rows(const Tensor& x) { CHECK_CLOSE(norm(x, 2.0, {1}), ones({x.shape()[0]}), 1e-5, 0); }

}  // namespace

TEST_CASE("DualEncoder: every backbone gives pooled features and unit embeddings; gradients reach every used parameter") {
  for (const std::string& image : DualEncoderConfig::image_backbones()) {
    CAPTURE(image);
    Generator gen(5);
    DualEncoder m(small_config(image), &gen);
    CHECK(m.cfg.text.embed_dim == 16);
    CHECK(m.text->text_projection.shape() == Shape{16, 16});
    const int64_t B = 3;
    Tensor images = randn({B, 1, 16, 16}, {}, &gen);
    Tensor feats = m.image_features(images);
    CHECK(feats.shape() == Shape{B, m.image_feature_dim()});
    CHECK(m.image_feature_dim() == (image == "vit-mini" ? 64 : 128));
    Tensor img = m.encode_image(images);
    CHECK(img.shape() == Shape{B, 16});
    check_unit_rows(img);
    Tensor ids = from_vector(std::vector<int64_t>{1, 5, 29, 0, 0, 0, 2, 3, 4, 29, 0, 0, 7, 29, 0, 0, 0, 0}, {B, 6});
    Tensor eot = from_vector(std::vector<int64_t>{2, 3, 1});
    Tensor txt = m.encode_text(ids, eot);
    CHECK(txt.shape() == Shape{B, 16});
    check_unit_rows(txt);

    Tensor loss = losses::unicl_loss(img, txt, from_vector(std::vector<int64_t>{0, 1, 0}), m.logit_scale());
    loss.backward();
    int with_grad = 0;
    for (auto& [name, p] : m.named_parameters()) {
      CAPTURE(name);
      // the backbone's classifier is never used (DaViT's head.norm is: it normalises the pooled feature)
      bool unused_head = name.rfind(image == "davit-pico" ? "visual.head.fc." : "visual.head.", 0) == 0;
      if (unused_head) {
        CHECK_FALSE(p.grad().defined());
        continue;
      }
      REQUIRE(p.grad().defined());
      bool finite = true;
      for (double v : p.grad().to_vector<double>()) finite = finite && std::isfinite(v);
      CHECK(finite);
      ++with_grad;
    }
    CHECK(with_grad > 10);
  }
}

TEST_CASE("DualEncoder: names, logit scale init and clamp (no NaN gradient)") {
  DualEncoder m(small_config("resnet-mini"));
  std::vector<std::string> names;
  for (auto& [n, p] : m.named_parameters()) names.push_back(n);
  for (const char* want : {"logit_scale", "image_projection.weight", "text.token_embedding.weight",
                           "text.text_projection", "visual.conv1.weight", "visual.layer4.0.bn2.weight"})
    CHECK_MESSAGE(std::find(names.begin(), names.end(), want) != names.end(), want);
  CHECK(m.image_projection->bias.defined() == false);
  CHECK(m.image_projection->weight.shape() == Shape{16, 128});
  CHECK(m.logit_scale_param.dim() == 0);
  CHECK(m.logit_scale().item() == doctest::Approx(1 / 0.07).epsilon(1e-6));

  // below the clamp: d exp(s) / ds = exp(s)
  Tensor s = m.logit_scale();
  s.backward();
  CHECK(m.logit_scale_param.grad().item() == doctest::Approx(1 / 0.07).epsilon(1e-6));
  // beyond the clamp: 100, and a zero gradient, even for a huge or infinite raw value
  for (double raw : {10.0, 1e4, static_cast<double>(INFINITY)}) {
    CAPTURE(raw);
    {
      NoGradGuard ng;
      m.logit_scale_param.fill_(raw);
    }
    m.zero_grad();
    Tensor c = m.logit_scale();
    CHECK(c.item() == doctest::Approx(100.0));
    c.backward();
    CHECK(m.logit_scale_param.grad().item() == 0.0);
  }
  DualEncoderConfig c = small_config("resnet-mini");
  c.max_logit_scale = 50;
  DualEncoder m50(c);
  {
    NoGradGuard ng;
    m50.logit_scale_param.fill_(5.0);
  }
  CHECK(m50.logit_scale().item() == doctest::Approx(50.0));
}

TEST_CASE("DualEncoder: errors") {
  CHECK_THROWS_WITH_SUBSTR(DualEncoder(small_config("vit-huge")), "unknown image backbone");
  DualEncoderConfig c = small_config("vit-mini");
  c.text.vocab_size = 0;
  CHECK_THROWS_WITH_SUBSTR(DualEncoder{c}, "vocab_size");
  c = small_config("vit-mini");
  c.embed_dim = 0;
  CHECK_THROWS_WITH_SUBSTR(DualEncoder{c}, "embed_dim must be positive");
  DualEncoder m(small_config("vit-mini"));
  CHECK_THROWS_WITH_SUBSTR(m.encode_image(zeros({2, 1, 16})), "expects images");
  CHECK_THROWS(m.encode_image(zeros({2, 3, 16, 16})));
  CHECK_THROWS_WITH_SUBSTR(m.encode_text(zeros({2, 7}, DType::i64), zeros({2}, DType::i64)), "context_length");
}
