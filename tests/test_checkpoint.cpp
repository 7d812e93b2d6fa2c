// Checkpoints: save/load of model + optimiser + RNG state, stop-and-resume giving exactly the
// losses of an uninterrupted run (mid-epoch, with dropout and stochastic depth drawing from the
// RNG), plain weight files, and the errors a wrong or damaged checkpoint gives.
#include <cstdio>
#include <fstream>

#include "apps/common/classify.h"
#include "models/vit.h"
#include "nn/checkpoint.h"
#include "io/safetensors.h"
#include "tests/helpers.h"

using namespace iris;

namespace {

// Two easy classes of 8x8 images: bright top half or bright bottom half, plus noise.
std::shared_ptr<data::TensorDataset> toy_dataset(int64_t n, uint64_t seed) {
  Generator g(seed);
  Tensor labels = randint(0, 2, {n}, DType::i64, &g);
  Tensor noise = rand({n, 1, 8, 8}, DType::f32, &g) * 0.3;
  Tensor rows = arange(0, 8, 1, DType::f32).reshape({1, 1, 8, 1});
  Tensor top = lt(rows, 4.0).to(DType::f32);                                   // [1, 1, 8, 1]
  Tensor lab = labels.to(DType::f32).reshape({n, 1, 1, 1});
  Tensor images = noise + (top * (1.0 - lab) + (1.0 - top) * lab);            // [n, 1, 8, 8]
  return std::make_shared<data::TensorDataset>(images.expand({n, 1, 8, 8}).contiguous(), labels);
}

models::VitConfig toy_config() {
  models::VitConfig c;
  c.img_size = 8, c.patch_size = 4, c.in_chans = 1, c.num_classes = 2;
  c.embed_dim = 16, c.depth = 2, c.num_heads = 2;
  c.drop_rate = 0.1, c.drop_path_rate = 0.2;  // both draw from the global generator
  return c;
}

ClassifyOptions toy_options(const std::string& dir) {
  ClassifyOptions o;
  o.epochs = 3;
  o.batch_size = 8;
  o.lr = 3e-3;
  o.warmup_epochs = 0.5;
  o.workers = 1;
  o.log_every = 1;
  o.pictures = false;
  o.progress = false;
  (void)dir;
  return o;
}

std::string fresh_dir(const std::string& name) {
  std::string d = "/tmp/iris_test_ckpt_" + name;
  std::system(("rm -rf " + d).c_str());
  return d;
}

}  // namespace

TEST_CASE("stop and resume give the same losses as an uninterrupted run") {
  auto train = toy_dataset(128, 1), test = toy_dataset(64, 2);  // 16 steps per epoch, 48 in all
  std::vector<double> full;
  double full_top1;
  {
    manual_seed(5);
    models::VisionTransformer m(toy_config());
    Run run("toy", "train", fresh_dir("full"));
    ClassifyResult r = train_classifier(m, train, test, toy_options(""), run, {"top", "bottom"});
    full = r.step_losses;
    full_top1 = r.top1;
    CHECK(full.size() == 48);
    CHECK(r.top1 > 80.0);  // the toy task is learnable: the loop really trains
  }
  std::string dir = fresh_dir("resume");
  std::vector<double> joined;
  {
    manual_seed(5);
    models::VisionTransformer m(toy_config());
    Run run("toy", "train", dir);
    ClassifyOptions o = toy_options(dir);
    o.stop_after_steps = 21;  // in the middle of the second epoch
    ClassifyResult r = train_classifier(m, train, test, o, run, {"top", "bottom"});
    CHECK(r.stopped_early);
    joined = r.step_losses;
  }
  // A new process would start with another global RNG state and fresh weights.
  manual_seed(999);
  {
    models::VisionTransformer m(toy_config());
    Run run("toy", "train", dir);
    ClassifyOptions o = toy_options(dir);
    o.resume = dir + "/checkpoints/last.safetensors";
    ClassifyResult r = train_classifier(m, train, test, o, run, {"top", "bottom"});
    joined.insert(joined.end(), r.step_losses.begin(), r.step_losses.end());
    CHECK(r.top1 == full_top1);
  }
  REQUIRE(joined.size() == full.size());
  for (size_t i = 0; i < full.size(); ++i) {
    CAPTURE(i);
    CHECK(joined[i] == full[i]);  // bit for bit
  }
}

TEST_CASE("checkpoint contents, plain weights and errors") {
  std::string dir = fresh_dir("files");
  std::system(("mkdir -p " + dir).c_str());
  models::VisionTransformer m(toy_config());
  nn::AdamW opt(m.parameters(), 1e-3);
  nn::TrainState st;
  st.epoch = 2;
  st.step = 17;
  st.epoch_step = 1;
  st.extra["note"] = "hello";
  Generator& g = default_generator();
  g.set_state(77, 1234);
  std::string path = dir + "/c.safetensors";
  nn::save_checkpoint(path, m, &opt, st);
  SafetensorsFile f = load_safetensors(path);
  CHECK(f.contains("model.pos_embed"));
  CHECK(f.contains("optim.steps"));
  CHECK(f.metadata.at("format") == "iris-checkpoint-1");

  g.set_state(1, 1);
  models::VisionTransformer m2(toy_config());
  nn::AdamW opt2(m2.parameters(), 1e-3);
  nn::TrainState back = nn::load_checkpoint(path, m2, &opt2);
  CHECK(back.epoch == 2);
  CHECK(back.step == 17);
  CHECK(back.epoch_step == 1);
  CHECK(back.extra["note"].as_string() == "hello");
  CHECK(g.seed() == 77);
  CHECK(g.offset() == 1234);
  CHECK(m2.pos_embed.to_vector<float>() == m.pos_embed.to_vector<float>());

  // plain weights (as Python's save_file(model.state_dict()) writes them) and the prefixed form
  nn::save_weights(dir + "/w.safetensors", m);
  models::VisionTransformer m3(toy_config());
  nn::load_weights(dir + "/w.safetensors", m3);
  CHECK(m3.head->weight.to_vector<float>() == m.head->weight.to_vector<float>());
  models::VisionTransformer m4(toy_config());
  nn::load_weights(path, m4);
  CHECK(m4.head->weight.to_vector<float>() == m.head->weight.to_vector<float>());

  // errors
  CHECK_THROWS_WITH_SUBSTR(nn::load_checkpoint(dir + "/w.safetensors", m2, &opt2), "not an iris training checkpoint");
  models::VitConfig other = toy_config();
  other.embed_dim = 32;
  models::VisionTransformer wrong(other);
  CHECK_THROWS_WITH_SUBSTR(nn::load_weights(path, wrong), "do not fit the model");
  CHECK_THROWS_WITH_SUBSTR(nn::load_checkpoint(path, wrong, nullptr), "does not match this model");
  CHECK_THROWS_WITH_SUBSTR(nn::load_checkpoint(dir + "/missing.safetensors", m2, nullptr), "missing.safetensors");
  // a truncated checkpoint is an error, never a crash
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::ofstream(dir + "/cut.safetensors", std::ios::binary).write(bytes.data(), bytes.size() / 2);
  CHECK_THROWS_AS(nn::load_checkpoint(dir + "/cut.safetensors", m2, &opt2), Error);
}

TEST_CASE("damaged checkpoints are refused, not resumed silently (issue 27)") {
  std::string dir = fresh_dir("damaged");
  std::system(("mkdir -p " + dir).c_str());
  models::VisionTransformer m(toy_config());
  nn::AdamW opt(m.parameters(), 1e-3);
  Tensor loss = sum(m.forward(rand({2, 1, 8, 8})));
  loss.backward();
  opt.step();  // every parameter now has exp_avg and exp_avg_sq
  nn::TrainState st;
  st.epoch = 1;
  const std::string path = dir + "/c.safetensors";
  nn::save_checkpoint(path, m, &opt, st);
  SafetensorsFile f = load_safetensors(path);
  auto rewrite = [&](const std::string& name, const std::string& drop, const std::string& key, const std::string& value) {
    std::vector<std::pair<std::string, Tensor>> kept;
    for (auto& [k, t] : f.tensors)
      if (k != drop) kept.push_back({k, t});
    std::map<std::string, std::string> meta = f.metadata;
    if (!key.empty()) meta[key] = value;
    save_safetensors(dir + "/" + name, kept, meta);
    return dir + "/" + name;
  };
  models::VisionTransformer m2(toy_config());
  nn::AdamW opt2(m2.parameters(), 1e-3);
  // one moment of one parameter missing: once resumed with it at zero
  std::string one_moment = rewrite("moment.safetensors", "optim.0.0.exp_avg_sq", "", "");
  CHECK_THROWS_WITH_SUBSTR(nn::load_checkpoint(one_moment, m2, &opt2), "parameter 0.0 has some state but no 'exp_avg_sq'");
  // negative counters: once trained "epoch -4/3", or wrapped the RNG offset around
  CHECK_THROWS_WITH_SUBSTR(nn::load_checkpoint(rewrite("epoch.safetensors", "", "epoch", "-5"), m2, &opt2),
                           "'epoch' is -5; it must be >= 0");
  CHECK_THROWS_WITH_SUBSTR(nn::load_checkpoint(rewrite("rng.safetensors", "", "rng_offset", "-1"), m2, &opt2),
                           "'rng_offset' is -1");
  nn::AdamW opt3(m2.parameters(), 1e-3);
  CHECK_NOTHROW(nn::load_checkpoint(path, m2, &opt3));  // the undamaged file still loads
}
