// models/vit against PyTorch: timm's VisionTransformer with the same config and weights
// (tests/golden/vit_*.safetensors, written by tests/golden/make.py) must give the same logits,
// loss, parameter gradients and the same losses over 5 AdamW steps. Also: parameter counts of the
// published DeiT sizes, and the errors a wrong input or state dict gives.
#include "data/json.h"
#include "models/vit.h"
#include "nn/init.h"
#include "nn/optim.h"
#include "nn/safetensors.h"
#include "tests/helpers.h"

using namespace iris;
using namespace iris::models;

namespace {

// Worst |a - e| relative to the largest |e| of the tensor; printed on failure.
double scaled_error(const Tensor& a, const Tensor& e) {
  std::vector<double> av = a.to_vector<double>(), ev = e.to_vector<double>();
  double worst = 0, scale = 1e-30;
  for (size_t i = 0; i < av.size(); ++i) {
    worst = std::max(worst, std::fabs(av[i] - ev[i]));
    scale = std::max(scale, std::fabs(ev[i]));
  }
  return worst / scale;
}

VitConfig config_from(const SafetensorsFile& f) {
  json::Value c = json::parse(f.metadata.at("config"));
  VitConfig cfg;
  cfg.img_size = c["img_size"].as_int();
  cfg.patch_size = c["patch_size"].as_int();
  cfg.in_chans = c["in_chans"].as_int();
  cfg.num_classes = c["num_classes"].as_int();
  cfg.embed_dim = c["embed_dim"].as_int();
  cfg.depth = c["depth"].as_int();
  cfg.num_heads = c["num_heads"].as_int();
  cfg.class_token = !c.contains("class_token") || c["class_token"].as_bool();
  return cfg;
}

nn::NamedTensors with_prefix(const SafetensorsFile& f, const std::string& prefix) {
  nn::NamedTensors out;
  for (auto& [k, v] : f.tensors)
    if (k.rfind(prefix, 0) == 0) out.push_back({k.substr(prefix.size()), v});
  return out;
}

void check_against_golden(const std::string& name) {
  CAPTURE(name);
  SafetensorsFile g = load_safetensors("tests/golden/" + name + ".safetensors");
  VisionTransformer model(config_from(g));
  model.load_state_dict(with_prefix(g, "param."));  // strict: every timm name must exist here
  Tensor images = g.get("input.images"), labels = g.get("input.labels");

  Tensor logits = model.forward(images);
  double e_logits = scaled_error(logits, g.get("out.logits"));
  CHECK_MESSAGE(e_logits <= 1e-4, "logits: scaled error " << e_logits);
  Tensor loss = cross_entropy(logits, labels);
  CHECK(loss.item() == doctest::Approx(g.get("out.loss").item()).epsilon(1e-5));

  loss.backward();
  int checked = 0;
  for (auto& [pname, p] : model.named_parameters()) {
    CAPTURE(pname);
    REQUIRE(p.grad().defined());
    double e = scaled_error(p.grad(), g.get("grad." + pname));
    CHECK_MESSAGE(e <= 1e-4, "gradient of " << pname << ": scaled error " << e);
    ++checked;
  }
  CHECK(checked == static_cast<int>(with_prefix(g, "grad.").size()));

  // 5 AdamW steps on the same batch (lr 1e-3, wd 0.05 on every parameter, as make.py).
  model.zero_grad();
  nn::AdamW opt(model.parameters(), 1e-3, 0.05);
  std::vector<float> expected = g.get("train.losses").to_vector<float>();
  for (size_t step = 0; step < expected.size(); ++step) {
    opt.zero_grad();
    Tensor l = cross_entropy(model.forward(images), labels);
    CHECK_MESSAGE(std::fabs(l.item() - expected[step]) <= 1e-4 * std::fabs(expected[step]),
                  "step " << step << ": loss " << l.item() << " vs PyTorch " << expected[step]);
    l.backward();
    opt.step();
  }
}

}  // namespace

TEST_CASE("ViT with a class token matches timm (logits, gradients, 5 AdamW steps)") { check_against_golden("vit_token"); }

TEST_CASE("ViT with average pooling matches timm") { check_against_golden("vit_avg"); }

TEST_CASE("DeiT parameter counts match the published ones") {
  // timm: deit_tiny 5,717,416; deit_small 22,050,664; deit_base 86,567,656 parameters.
  struct Want {
    const char* name;
    int64_t count;
  };
  // Built without the random init (SkipInitGuard): the counts do not depend on the values.
  for (Want w : {Want{"deit-tiny", 5717416}, Want{"deit-small", 22050664}, Want{"deit-base", 86567656}}) {
    CAPTURE(w.name);
    nn::init::SkipInitGuard skip;
    VisionTransformer m(VitConfig::named(w.name));
    CHECK(m.parameter_count() == w.count);
  }
  CHECK(VisionTransformer(VitConfig::named("vit-fmnist")).parameter_count() > 100000);
}

TEST_CASE("ViT input and config errors") {
  VisionTransformer m(VitConfig::named("vit-fmnist"));
  CHECK_THROWS_WITH_SUBSTR(m.forward(zeros({2, 1, 32, 32})), "expects images [B, 1, 28, 28]");
  CHECK_THROWS_WITH_SUBSTR(m.forward(zeros({1, 28, 28})), "expects images");
  CHECK_THROWS_WITH_SUBSTR(VitConfig::named("vit-huge"), "unknown ViT config");
  VitConfig bad;
  bad.patch_size = 5;
  CHECK_THROWS_WITH_SUBSTR(VisionTransformer{bad}, "not a multiple of patch_size");
  Tensor maps = m.last_attention_map(rand({2, 1, 28, 28}));
  CHECK(maps.shape() == Shape{2, 4, 7, 7});
  // each head's attention from the class token sums to at most 1 over the patches
  std::vector<float> s = sum(maps, {2, 3}).to_vector<float>();
  for (float v : s) CHECK(v <= 1.0f + 1e-5f);
}
