// The shared training loop (apps/common/train_loop.h) on a tiny linear regression: the loss falls, a stopped and
// resumed run is bit for bit the uninterrupted one, metrics.jsonl holds the step and epoch lines, the default
// decay groups spare biases and 1-D parameters, warmup + cosine gives the expected rates, clipping is applied
// after the after_backward hook, and wrong use gives clear errors.
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "apps/common/train_loop.h"
#include "nn/layers.h"
#include "io/safetensors.h"
#include "tests/helpers.h"

using namespace iris;

namespace {

// y = linear(x) * scale: a weight [1, 3], a bias [1] and a 1-D scale [1] (no decay for the last two).
class Regression : public nn::Module {
 public:
  explicit Regression(uint64_t seed) : nn::Module("Regression") {
    Generator g(seed);
    linear = register_module("linear", std::make_shared<nn::Linear>(3, 1, true, &g));
    register_parameter("scale", scale, ones({1}));
  }
  Tensor forward(const Tensor& x) override { return linear->forward(x) * scale; }
  std::shared_ptr<nn::Linear> linear;
  Tensor scale;
};

struct Rows {
  Tensor x, y;  // [8, 3], [8, 1]
};

// 64 rows of y = 2 x0 - 3 x1 + 0.5 x2 + 1, in 8 batches; epoch e's batch k is the block (k + 3e) mod 8.
struct Problem {
  Tensor x, y;  // [64, 3], [64, 1]
  Problem() {
    Generator g(1);
    x = randn({64, 3}, DType::f32, &g);
    y = matmul(x, from_vector(std::vector<float>{2.0f, -3.0f, 0.5f}).reshape({3, 1})) + 1.0;
  }
};

enum class Loss { mse, zero };  // zero: every gradient 0 (only weight decay moves the parameters)

struct Fixture {
  Problem data;
  Regression model;
  int64_t epoch = 0, next_block = 0;
  std::vector<std::pair<int64_t, bool>> picture_calls;
  std::vector<int64_t> eval_epochs;
  TrainTask<Rows> task;

  explicit Fixture(uint64_t init_seed, Loss loss = Loss::mse, int64_t blocks = 8) : model(init_seed) {
    task.model = &model;
    task.batches.steps_per_epoch = blocks;
    task.batches.start_epoch = [this](int64_t e, int64_t skip) { epoch = e, next_block = skip; };
    task.batches.next = [this, blocks](Rows& b) {
      if (next_block >= blocks) return false;
      int64_t k = (next_block++ + 3 * epoch) % 8;
      b.x = data.x.slice(0, k * 8, k * 8 + 8);
      b.y = data.y.slice(0, k * 8, k * 8 + 8);
      return true;
    };
    task.step = [this, loss](const Rows& b, const StepInfo&) {
      StepOutput out;
      out.items = 8;
      // input noise from the global generator, as dropout draws: a resume must restore it
      Tensor pred = model.forward(b.x + randn({8, 3}) * 0.01);
      Tensor err = pred - b.y;
      out.loss = loss == Loss::mse ? mean(err * err) : sum(pred) * 0.0;
      out.parts["abs_err"] = mean(abs(err)).item();
      return out;
    };
    task.evaluate = [this](const EvalContext& at) {
      eval_epochs.push_back(at.epoch);
      ProgressBar& bar = at.bar(1);
      Tensor err = model.forward(data.x) - data.y;
      bar.step(64);
      json::Value m = json::Value::object();
      m["eval_mse"] = mean(err * err).item();
      return m;
    };
    task.pictures = [this](int64_t e, bool last) { picture_calls.push_back({e, last}); };
  }
};

TrainLoopOptions options(int epochs) {
  TrainLoopOptions o;
  o.epochs = epochs;
  o.lr = 0.05;
  o.weight_decay = 0.0;
  o.warmup_epochs = 0.5;
  o.log_every = 1;
  o.pictures = false;
  o.progress = false;
  return o;
}

std::string fresh_dir(const std::string& name) {
  std::string d = "/tmp/iris_test_train_loop_" + name;
  REQUIRE(std::system(("rm -rf " + d).c_str()) == 0);
  return d;
}

Run toy_run(const std::string& name) { return Run("toy", "train", fresh_dir(name)); }

std::vector<json::Value> records(const std::string& dir) {
  std::vector<json::Value> out;
  std::ifstream in(dir + "/metrics.jsonl");
  for (std::string line; std::getline(in, line);) {
    json::Value rec = json::parse(line), kept = json::Value::object();
    for (const auto& [key, value] : rec.items())
      if (key != "seconds") kept[key] = value;
    out.push_back(kept);
  }
  return out;
}

std::vector<std::string> keys(const json::Value& rec) {
  std::vector<std::string> out;
  for (const auto& [key, value] : rec.items()) out.push_back(key);
  return out;
}

double grad_norm(const std::vector<Tensor>& params) {
  double total = 0;
  for (const Tensor& p : params)
    for (float g : p.grad().to_vector<float>()) total += static_cast<double>(g) * g;
  return std::sqrt(total);
}

}  // namespace

TEST_CASE("train_loop: the loss falls and the result adds up") {
  manual_seed(3);
  Fixture f(7);
  Run run("toy", "train", fresh_dir("falls"));
  TrainResult r = train_loop(f.task, options(20), run);
  REQUIRE(r.step_losses.size() == 160);
  CHECK(r.steps == 160);
  CHECK_FALSE(r.stopped_early);
  CHECK(r.step_losses.back() < r.step_losses.front() / 50);
  double last_epoch = 0;
  for (size_t i = 152; i < 160; ++i) last_epoch += r.step_losses[i];
  CHECK(r.final_train_loss == doctest::Approx(last_epoch / 8).epsilon(1e-12));
  CHECK(r.metrics["eval_mse"].as_number() < 0.01);
  REQUIRE(f.eval_epochs.size() == 20);  // eval_every_epochs 1
  CHECK(f.eval_epochs.front() == 1);
  CHECK(f.eval_epochs.back() == 20);
  CHECK(r.train_seconds > 0);
  CHECK(r.items_per_second > 0);
  CHECK(f.picture_calls.empty());  // pictures off
}

TEST_CASE("train_loop: stop and resume give the uninterrupted run bit for bit") {
  std::vector<double> whole;
  json::Value whole_metrics;
  std::vector<float> whole_weight;
  {
    manual_seed(3);
    Fixture f(7);
    Run run("toy", "train", fresh_dir("whole"));
    TrainResult r = train_loop(f.task, options(3), run);
    whole = r.step_losses, whole_metrics = r.metrics;
    whole_weight = f.model.linear->weight.to_vector<float>();
  }
  const std::string dir = fresh_dir("resumed");
  std::vector<double> joined;
  {
    manual_seed(3);
    Fixture f(7);
    Run run("toy", "train", dir);
    TrainLoopOptions o = options(3);
    o.stop_after_steps = 13;  // in the middle of the second epoch
    TrainResult r = train_loop(f.task, o, run);
    CHECK(r.stopped_early);
    CHECK(r.steps == 13);
    CHECK(r.metrics.size() == 0);  // not evaluated
    joined = r.step_losses;
  }
  manual_seed(999);  // a new process: another global generator state and other initial weights
  {
    Fixture f(12345);
    Run run("toy", "train", dir);
    TrainLoopOptions o = options(3);
    o.resume = dir + "/checkpoints/last.safetensors";
    TrainResult r = train_loop(f.task, o, run);
    CHECK(r.steps == 24);
    joined.insert(joined.end(), r.step_losses.begin(), r.step_losses.end());
    CHECK(r.metrics == whole_metrics);
    CHECK(f.model.linear->weight.to_vector<float>() == whole_weight);
    CHECK(f.eval_epochs == std::vector<int64_t>{2, 3});  // the resumed epochs only
  }
  REQUIRE(joined.size() == whole.size());
  for (size_t i = 0; i < whole.size(); ++i) {
    CAPTURE(i);
    CHECK(joined[i] == whole[i]);
  }
  // metrics.jsonl: the same lines, the mean loss of the interrupted epoch included
  std::vector<json::Value> a = records("/tmp/iris_test_train_loop_whole"), b = records(dir);
  CHECK(a.size() == 24 + 3);
  REQUIRE(b.size() == a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    CAPTURE(i);
    CHECK(b[i].dump() == a[i].dump());
  }
}

TEST_CASE("train_loop: metrics.jsonl lines, evaluation, checkpoint and pictures") {
  manual_seed(3);
  Fixture f(7);
  const std::string dir = fresh_dir("records");
  Run run("toy", "train", dir);
  TrainLoopOptions o = options(2);
  o.log_every = 4;
  o.pictures = true;
  o.checkpoint_extra["config"] = "tiny";
  TrainResult r = train_loop(f.task, o, run);
  std::vector<json::Value> recs = records(dir);
  REQUIRE(recs.size() == 6);  // steps 4, 8, epoch 1, steps 12, 16, epoch 2
  CHECK(keys(recs[0]) == std::vector<std::string>{"epoch", "step", "loss", "abs_err", "lr"});
  CHECK(recs[0]["step"].as_int() == 4);
  CHECK(recs[0]["epoch"].as_number() == 0.5);
  CHECK(recs[0]["loss"].as_number() == r.step_losses[3]);
  CHECK(recs[4]["step"].as_int() == 16);
  CHECK(keys(recs[2]) == std::vector<std::string>{"epoch", "step", "train_loss", "eval_mse"});
  CHECK(recs[2]["epoch"].as_int() == 1);
  CHECK(recs[2]["step"].as_int() == 8);
  double first_epoch = 0;
  for (size_t i = 0; i < 8; ++i) first_epoch += r.step_losses[i];
  CHECK(recs[2]["train_loss"].as_number() == first_epoch / 8);
  CHECK(recs[5]["eval_mse"].as_number() == r.metrics["eval_mse"].as_number());
  CHECK(run.records().size() == 6);  // also kept for the app's plots
  CHECK(f.eval_epochs == std::vector<int64_t>{1, 2});
  CHECK(f.picture_calls == std::vector<std::pair<int64_t, bool>>{{1, false}, {2, false}, {2, true}});
  CHECK(std::ifstream(dir + "/curves.png").good());

  SafetensorsFile ckpt = load_safetensors(dir + "/checkpoints/last.safetensors");
  for (const char* name : {"model.linear.weight", "model.linear.bias", "model.scale", "optim.steps"}) {
    INFO(std::string(name));
    CHECK(ckpt.contains(name));
  }
  CHECK(ckpt.metadata.at("epoch") == "2");
  CHECK(ckpt.metadata.at("step") == "16");
  json::Value extra = json::parse(ckpt.metadata.at("extra"));
  CHECK(extra["config"].as_string() == "tiny");
  CHECK(extra["steps_per_epoch"].as_int() == 8);

  // eval_every_epochs 0: only after the last epoch; no evaluate hook: no metrics
  Fixture g(7);
  o.eval_every_epochs = 0;
  o.pictures = false;
  Run run_eval_last = toy_run("eval_last");
  train_loop(g.task, o, run_eval_last);
  CHECK(g.eval_epochs == std::vector<int64_t>{2});
  Fixture h(7);
  h.task.evaluate = nullptr;
  Run run_no_eval = toy_run("no_eval");
  CHECK(train_loop(h.task, o, run_no_eval).metrics.size() == 0);
}

TEST_CASE("train_loop: default decay groups spare biases and 1-D parameters; the app's groups are used as given") {
  // every gradient 0: AdamW's update is 0 and only the decoupled decay w *= 1 - lr * wd moves a weight
  TrainLoopOptions o = options(2);
  o.warmup_epochs = 0;
  o.min_lr_factor = 1.0;  // a constant rate
  o.weight_decay = 0.1;
  o.lr = 0.01;
  {
    Fixture f(7, Loss::zero);
    std::vector<float> w0 = f.model.linear->weight.to_vector<float>(), b0 = f.model.linear->bias.to_vector<float>();
    Run run_decay = toy_run("decay");
    train_loop(f.task, o, run_decay);
    std::vector<float> w = f.model.linear->weight.to_vector<float>();
    for (size_t i = 0; i < w.size(); ++i) CHECK(w[i] == doctest::Approx(w0[i] * std::pow(1 - 0.01 * 0.1, 16)).epsilon(1e-5));
    CHECK(w != w0);
    CHECK(f.model.linear->bias.to_vector<float>() == b0);      // a bias: no decay
    CHECK(f.model.scale.to_vector<float>() == std::vector<float>{1.0f});  // a 1-D parameter: no decay
  }
  {
    Fixture f(7, Loss::zero);
    std::vector<float> b0 = f.model.linear->bias.to_vector<float>();
    f.task.param_groups = {nn::ParamGroup{f.model.parameters(), o.lr, o.lr, 0.5, "all"}};
    Run run_groups = toy_run("groups");
    train_loop(f.task, o, run_groups);
    CHECK(f.model.linear->bias.to_vector<float>()[0] == doctest::Approx(b0[0] * std::pow(1 - 0.01 * 0.5, 16)).epsilon(1e-5));
    CHECK(f.model.scale.to_vector<float>()[0] == doctest::Approx(std::pow(1 - 0.01 * 0.5, 16)).epsilon(1e-5));
  }
}

TEST_CASE("train_loop: linear warmup, then cosine to lr * min_lr_factor") {
  Fixture f(7, Loss::zero, 4);  // 4 steps per epoch, 12 in all, 2 of warmup
  TrainLoopOptions o = options(3);
  o.lr = 1.0;
  o.min_lr_factor = 0.1;
  Run run = toy_run("schedule");
  train_loop(f.task, o, run);
  std::vector<double> lr;  // the rate of step k (0-based), from its metrics line
  for (const json::Value& rec : records(run.dir()))
    if (rec.contains("lr")) lr.push_back(rec["lr"].as_number());
  REQUIRE(lr.size() == 12);
  auto cosine = [](double t) { return 0.1 + 0.9 * 0.5 * (1 + std::cos(M_PI * t)); };
  CHECK(lr[0] == doctest::Approx(0.5));   // warmup: (k + 1) / 2
  CHECK(lr[1] == doctest::Approx(1.0));
  CHECK(lr[2] == doctest::Approx(1.0));   // the cosine starts at the top
  CHECK(lr[7] == doctest::Approx(0.55));  // half way: (1 + 0.1) / 2
  CHECK(lr[11] == doctest::Approx(cosine(0.9)));
  for (size_t k = 3; k < 12; ++k) CHECK(lr[k] < lr[k - 1]);
}

TEST_CASE("train_loop: clipping scales the gradients after the after_backward hook saw them") {
  TrainLoopOptions o = options(1);
  o.clip_norm = 0.01;
  Fixture f(7, Loss::mse, 1);  // one step: the gradients stay in place after it
  double raw = 0;
  f.task.after_backward = [&](const StepInfo& at) {
    CHECK(at.step == 0);
    CHECK(at.epoch_position == 1.0);
    raw = grad_norm(f.model.parameters());
  };
  Run run_clip = toy_run("clip");
  train_loop(f.task, o, run_clip);
  CHECK(raw > 1.0);
  CHECK(grad_norm(f.model.parameters()) == doctest::Approx(0.01).epsilon(1e-4));

  // clip_params: only the weight's share of the norm is clipped; the bias keeps its raw gradient
  Fixture g(7, Loss::mse, 1);
  g.task.clip_params = {g.model.linear->weight};
  std::vector<float> raw_bias;
  g.task.after_backward = [&](const StepInfo&) { raw_bias = g.model.linear->bias.grad().to_vector<float>(); };
  Run run_clip_some = toy_run("clip_some");
  train_loop(g.task, o, run_clip_some);
  CHECK(grad_norm({g.model.linear->weight}) == doctest::Approx(0.01).epsilon(1e-4));
  CHECK(g.model.linear->bias.grad().to_vector<float>() == raw_bias);
}

TEST_CASE("train_loop: wrong use gives clear errors") {
  Fixture f(7);
  Run run("toy", "train", fresh_dir("errors"));
  TrainLoopOptions o = options(1);
  o.epochs = -1;
  CHECK_THROWS_WITH_SUBSTR(train_loop(f.task, o, run), "--epochs must be >= 0");
  Fixture empty(7, Loss::mse, 0);
  CHECK_THROWS_WITH_SUBSTR(train_loop(empty.task, options(1), run), "0 batches per epoch");
  Fixture no_step(7);
  no_step.task.step = nullptr;
  CHECK_THROWS_WITH_SUBSTR(train_loop(no_step.task, options(1), run), "needs a model, a step");
  // a checkpoint made with 8 steps per epoch does not resume a run of 4
  train_loop(f.task, options(1), run);
  Fixture shorter(7, Loss::mse, 4);
  o = options(2);
  o.resume = run.checkpoint_path("last.safetensors");
  CHECK_THROWS_WITH_SUBSTR(train_loop(shorter.task, o, run), "8 steps per epoch and this run has 4");
  // a checkpoint past the run's epochs once trained nothing and exited 0
  {
    Run deeper("toy", "train", fresh_dir("errors_deeper"));
    train_loop(f.task, options(2), deeper);
    Fixture again(7);
    TrainLoopOptions fewer = options(1);
    fewer.resume = deeper.checkpoint_path("last.safetensors");
    CHECK_THROWS_WITH_SUBSTR(train_loop(again.task, fewer, run), "past this run's 1 epochs; pass --epochs 2 or more");
  }
  // a diverging loss stops the run with a hint
  Fixture wild(7);
  o = options(1);
  o.lr = 1e30;  // the weights leap to ~1e30: the next loss overflows
  o.warmup_epochs = 0;
  CHECK_THROWS_WITH_SUBSTR(train_loop(wild.task, o, run), "the loss became");
}
