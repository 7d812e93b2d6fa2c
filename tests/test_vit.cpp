// models/vit against PyTorch: timm's VisionTransformer with the same config and weights
// (tests/golden/vit_*.safetensors, written by tests/golden/make.py) must give the same logits,
// loss, parameter gradients and the same losses over 5 AdamW steps. Also: parameter counts of the
// published DeiT sizes, the errors a wrong input or state dict gives, and the drop-path schedule.
#include "io/json.h"
#include "models/stochastic_depth.h"
#include "models/vit.h"
#include "nn/init.h"
#include "io/safetensors.h"
#include "tests/golden_helpers.h"

using namespace iris;
using namespace iris::models;

namespace {

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

void check_against_golden(const std::string& name) {
  CAPTURE(name);
  SafetensorsFile g = load_safetensors("tests/golden/" + name + ".safetensors");
  REQUIRE(g.contains("train.losses"));  // make.py writes 5 AdamW steps for every ViT config
  VisionTransformer model(config_from(g));
  testing::check_model_against_golden(model, g);
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
  // Sizes from a weights file's metadata (issue 27): a zero once divided by zero (SIGFPE) and a
  // huge depth built blocks until memory ran out; both are refused before anything is allocated.
  VitConfig zero_patch;
  zero_patch.patch_size = 0;
  CHECK_THROWS_WITH_SUBSTR(VisionTransformer{zero_patch}, "ViT: patch_size is 0; it must be in [1, 28]");
  VitConfig zero_heads;
  zero_heads.num_heads = 0;
  CHECK_THROWS_WITH_SUBSTR(VisionTransformer{zero_heads}, "ViT: num_heads is 0");
  VitConfig deep;
  deep.depth = int64_t(1) << 40;
  CHECK_THROWS_WITH_SUBSTR(VisionTransformer{deep}, "ViT: depth is 1099511627776; it must be in [1, 4096]");
  VitConfig wide;
  wide.embed_dim = 32768;
  wide.num_heads = 4;
  wide.depth = 4096;
  CHECK_THROWS_WITH_SUBSTR(VisionTransformer{wide}, "above the limit");
  Tensor maps = m.last_attention_map(rand({2, 1, 28, 28}));
  CHECK(maps.shape() == Shape{2, 4, 7, 7});
  // each head's attention from the class token sums to at most 1 over the patches
  std::vector<float> s = sum(maps, {2, 3}).to_vector<float>();
  for (float v : s) CHECK(v <= 1.0f + 1e-5f);
}

TEST_CASE("stochastic depth: the linear drop-path schedule every model shares") {
  CHECK(models::drop_path_rates(0.1, 5) == std::vector<double>{0.0, 0.025, 0.05, 0.1 * 3 / 4, 0.1});
  CHECK(models::drop_path_rates(0.3, 1) == std::vector<double>{0.0});  // one block: no dropping
  CHECK(models::drop_path_rates(0.3, 0).empty());
  CHECK(models::drop_path_rates(0.0, 3) == std::vector<double>{0.0, 0.0, 0.0});
  CHECK_THROWS_WITH_SUBSTR(models::drop_path_rates(0.1, -1), "block count must be >= 0");
}
