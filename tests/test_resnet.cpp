// models/resnet against timm: its ResNet with the same tiny configs and weights (tests/golden/resnet_*.safetensors,
// written by make_unicl.py: basic and bottleneck blocks with the ImageNet stem, and the CIFAR stem of resnet-mini)
// must give the same train-mode logits (batch statistics), every gradient, the same running statistics after the
// step, and the same eval-mode logits. Also: the published parameter counts, timm names, shapes and errors.
#include <algorithm>

#include "io/json.h"
#include "models/resnet.h"
#include "nn/init.h"
#include "io/safetensors.h"
#include "tests/golden_helpers.h"

using namespace iris;
using namespace iris::models;
using testing::scaled_error;
using testing::with_prefix;

namespace {

ResNetConfig config_from(const SafetensorsFile& f) {
  json::Value c = json::parse(f.metadata.at("config"));
  ResNetConfig cfg;
  cfg.block = c["block"].as_string() == "basic" ? ResBlockKind::basic : ResBlockKind::bottleneck;
  cfg.layers.clear(), cfg.widths.clear();
  for (size_t i = 0; i < c["layers"].size(); ++i) cfg.layers.push_back(c["layers"][i].as_int());
  for (size_t i = 0; i < c["channels"].size(); ++i) cfg.widths.push_back(c["channels"][i].as_int());
  cfg.stem_width = c["stem_width"].as_int();
  cfg.cifar_stem = c["cifar_stem"].as_bool();
  cfg.in_chans = c["in_chans"].as_int();
  cfg.num_classes = c["num_classes"].as_int();
  return cfg;
}

void check_against_golden(const std::string& name) {
  CAPTURE(name);
  SafetensorsFile g = load_safetensors("tests/golden/" + name + ".safetensors");
  ResNet model(config_from(g));
  model.load_state_dict(with_prefix(g, "param."));  // strict: every timm name, buffers included
  Tensor images = g.get("input.images");

  model.train();
  Tensor logits = model.forward(images);
  double e = scaled_error(logits, g.get("out.train_logits"));
  CHECK_MESSAGE(e <= 1e-4, "train logits: scaled error " << e);
  Tensor loss = sum(logits * g.get("input.weights"));
  CHECK(loss.item() == doctest::Approx(g.get("out.train_loss").item()).epsilon(1e-4));
  loss.backward();
  testing::check_gradients_against_golden(model, g);
  int buffers = 0;
  for (auto& [bname, b] : model.named_buffers()) {
    CAPTURE(bname);
    double eb = scaled_error(b, g.get("after." + bname));
    CHECK_MESSAGE(eb <= 1e-5, "buffer " << bname << " after the step: scaled error " << eb);
    ++buffers;
  }
  CHECK(buffers == static_cast<int>(with_prefix(g, "after.").size()));

  model.eval();
  double ee = scaled_error(model.forward(images), g.get("out.eval_logits"));
  CHECK_MESSAGE(ee <= 1e-4, "eval logits: scaled error " << ee);
}

}  // namespace

TEST_CASE("ResNet with basic blocks matches timm (train-mode BN forward/backward, running stats, eval)") {
  check_against_golden("resnet_basic");
}

TEST_CASE("ResNet with bottleneck blocks matches timm") { check_against_golden("resnet_bottleneck"); }

TEST_CASE("ResNet with the CIFAR stem matches timm with its stem replaced") { check_against_golden("resnet_mini"); }

TEST_CASE("ResNet parameter counts match the published ones") {
  // timm / torchvision at 1000 classes: resnet18 11,689,512; resnet34 21,797,672; resnet50 25,557,032.
  struct Want {
    const char* name;
    int64_t count;
  };
  for (Want w : {Want{"resnet18", 11689512}, Want{"resnet34", 21797672}, Want{"resnet50", 25557032}}) {
    CAPTURE(w.name);
    nn::init::SkipInitGuard skip;
    ResNet m(ResNetConfig::named(w.name));
    CHECK(m.parameter_count() == w.count);
  }
}

TEST_CASE("ResNet: timm names, resnet-mini shapes, zero-init of the last BN") {
  nn::init::SkipInitGuard skip;
  ResNet r50(ResNetConfig::named("resnet50"));
  std::vector<std::string> names;
  for (auto& [n, t] : r50.state_dict()) names.push_back(n);
  for (const char* want : {"conv1.weight", "bn1.running_var", "layer1.0.conv3.weight", "layer1.0.downsample.0.weight",
                           "layer1.0.downsample.1.num_batches_tracked", "layer4.2.bn3.bias", "fc.weight", "fc.bias"})
    CHECK_MESSAGE(std::find(names.begin(), names.end(), want) != names.end(), want);
  CHECK(std::find(names.begin(), names.end(), "layer1.1.downsample.0.weight") == names.end());
}

TEST_CASE("resnet-mini on 28x28 and 32x32 inputs") {
  Generator gen(1);
  ResNetConfig c = ResNetConfig::named("resnet-mini");
  ResNet m(c, &gen);
  CHECK(m.num_features() == 128);
  CHECK(m.cfg.widths == std::vector<int64_t>{16, 32, 64, 128});
  // timm's zero_init_last: every block starts as its shortcut
  for (auto& stage : m.stages) {
    auto* blk = dynamic_cast<BasicBlock*>((*stage)[0].get());
    REQUIRE(blk != nullptr);
    CHECK(max(abs(blk->bn2->weight)).item() == 0.0);
    CHECK(max(abs(blk->bn1->weight)).item() == 1.0);
  }
  m.eval();  // running statistics: the three calls see the same function
  Tensor x28 = randn({2, 1, 28, 28}, {}, &gen);
  Tensor map = m.forward_map(x28);
  CHECK(map.shape() == Shape{2, 128, 4, 4});
  Tensor feats = m.forward_features(x28);
  CHECK_CLOSE(feats, mean(map, {2, 3}), 1e-6, 1e-5);  // global average pool
  CHECK_CLOSE(m.forward(x28), m.fc->forward(feats), 1e-6, 1e-5);
  CHECK(m.forward_map(randn({1, 1, 32, 32}, {}, &gen)).shape() == Shape{1, 128, 4, 4});
  c.num_classes = 0;
  c.in_chans = 3;
  ResNet headless(c, &gen);
  CHECK(headless.fc == nullptr);
  CHECK(headless.forward(randn({1, 3, 32, 32}, {}, &gen)).shape() == Shape{1, 128});  // features
  // a single image in eval mode (running statistics) works; in train mode BN needs > 1 value per channel
  headless.eval();
  CHECK(headless.forward(randn({1, 3, 9, 7}, {}, &gen)).shape() == Shape{1, 128});
}

TEST_CASE("ResNet: input and config errors") {
  ResNet m(ResNetConfig::named("resnet-mini"));
  CHECK_THROWS_WITH_SUBSTR(m.forward(zeros({2, 3, 28, 28})), "expects images [B, 1, H, W]");
  CHECK_THROWS_WITH_SUBSTR(m.forward(zeros({1, 28, 28})), "expects images");
  CHECK_THROWS_WITH_SUBSTR(m.forward(Tensor()), "undefined");
  CHECK_THROWS_WITH_SUBSTR(ResNetConfig::named("resnet-huge"), "unknown ResNet config");
  ResNetConfig bad;
  bad.widths = {64, 128};
  CHECK_THROWS_WITH_SUBSTR(ResNet{bad}, "same length");
  bad = ResNetConfig();
  bad.layers = {2, 0, 2, 2};
  CHECK_THROWS_WITH_SUBSTR(ResNet{bad}, "at least one block");
}
