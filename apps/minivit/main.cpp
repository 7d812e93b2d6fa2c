// minivit: MiniViT's weight multiplexing (models/minivit, losses/distill) at small scale on Fashion-MNIST
// (papers/minivit.md 1.6): a DeiT-style teacher without class token, and students whose consecutive blocks
// share weights, with or without per-layer norms, attention/MLP transforms and weight distillation.
//   minivit train --arm ARM [--share N] [--teacher CKPT]   one arm; a distilled arm without --teacher first
//                                                          trains a teacher in <run>/teacher
//   minivit eval --weights FILE                            test accuracy of weights written by train
//   minivit ablate [--arms LIST]                           the teacher, then every arm on the same budget:
//                                                          ablation.md / ablation.json (top-1, params, per-block
//                                                          gradient norms), ablation.png, grad_norms.png
// Leaves out: ImageNet-sized runs (the Mini-DeiT configs exist for counts), Mini-Swin windows, mixup/cutmix.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <iostream>
#include <sstream>

#include "apps/common/classify.h"
#include "apps/common/flags.h"
#include "apps/common/plot.h"
#include "apps/common/run.h"
#include "apps/minivit/chart.h"
#include "apps/minivit/distill_step.h"
#include "data/augment.h"
#include "data/file_util.h"
#include "data/idx.h"
#include "nn/checkpoint.h"
#include "nn/init.h"
#include "nn/safetensors.h"

using namespace iris;

namespace {

// Fashion-MNIST's pixel statistics (train split), for normalisation.
constexpr double kMean = 0.2860, kStd = 0.3530;

// Every arm of the ablation, in table order. "single-layer" is the minivit recipe with share = depth.
const std::vector<std::string> kArms = {"teacher", "shared", "shared-ln", "transform", "minivit", "logit-kd",
                                        "single-layer"};

Flags make_flags() {
  Flags f("minivit", "MiniViT weight multiplexing (shared blocks + per-layer transforms + weight distillation) on Fashion-MNIST",
          {{"train", "train one arm (--arm) and evaluate it on the test set"},
           {"eval", "evaluate weights written by minivit train (--weights FILE)"},
           {"ablate", "the teacher, then every arm with the same budget: table (md + json), bar chart, gradient norms"}});
  // One arm per line in --help (continuation lines indented to the help column).
  const std::string next = "\n" + std::string(25, ' ');
  f.add_string("arm", "minivit",
               "which model and loss (same macro shape: patch 4, dim 64, depth 6, 4 heads, MLP ratio 2):" + next +
                   "teacher       unshared DeiT-style ViT (no class token, average pooling), label CE" + next +
                   "shared        --share N consecutive layers use one weight set, LayerNorms shared too, "
                   "no transforms, CE" + next +
                   "shared-ln     shared + per-layer LayerNorms, CE" + next +
                   "transform     shared-ln + per-layer head mixing before and after the softmax + the MLP "
                   "transform (--mlp-transform), CE" + next +
                   "minivit       transform + weight distillation from the teacher: logit soft CE + 1.0 Q/K/V "
                   "relations + 0.1 hidden cosine-Gram MSE, no label CE (as the official code)" + next +
                   "logit-kd      transform + logit soft CE from the teacher only" + next +
                   "single-layer  minivit with all layers sharing one weight set (share = depth)" + next,
               "ARM");
  f.add_int("share", 2, "layers per shared weight set (must divide the depth; 1 = unshared)");
  f.add_string("arms", "teacher,shared,shared-ln,transform,minivit,logit-kd,single-layer",
               "ablate: the arms, comma-separated", "LIST");
  f.add_string("teacher", "", "teacher weights for the distilled arms (weights.safetensors or a checkpoint of "
               "minivit train --arm teacher); empty: train one first", "CKPT");
  f.add_int("teacher-depth", 0, "teacher trained by the app: depth (0: the students' depth; 8 with "
            "--teacher-dim 96 is the spec's stronger teacher)");
  f.add_int("teacher-dim", 0, "teacher trained by the app: embedding dim (0: the students')");
  f.add_string("mlp-transform", "dwconv", "MLP transformation: dwconv (Mini-Swin: per-layer LN + depthwise KxK conv "
               "residual before the MLP), relpos (Mini-DeiT spirit: per-layer relative-position logit bias), none",
               "KIND");
  f.add_int("dwconv-kernel", 3, "dwconv: kernel size (odd; Mini-Swin uses 7 on 7x7 windows, 3 suits a 7x7 token grid)");
  f.add_bool("transform-bias", true, "bias on the head-mixing transforms (Mini-Swin; off: Mini-DeiT)");
  f.add_double("attn-weight", 1.0, "minivit: weight of the Q/K/V relation loss");
  f.add_double("hidden-weight", 0.1, "minivit: weight of the hidden-state relation loss");
  f.add_double("label-weight", 0.0, "distilled arms: weight of an extra label CE (0 as in the official code)");
  f.add_string("weights", "", "weights to evaluate (eval)", "FILE");
  f.add_double("weight-decay", 0.05, "AdamW weight decay (not on biases, norms and pos_embed)");
  f.add_double("warmup", 1.0, "linear warmup, in epochs, then cosine decay", "EPOCHS");
  f.add_double("label-smoothing", 0.0, "label smoothing of the label CE");
  f.add_double("drop-path", 0.0, "stochastic depth rate of the last layer");
  f.add_double("clip-norm", 0.0, "clip gradients to this global norm (0: off); gradient norms are recorded before");
  f.add_int("shift", 2, "augmentation: random shift by up to this many pixels (zero fill; 0: off)");
  f.add_bool("flip", false, "augmentation: random horizontal flip");
  f.add_int("train-subset", 15000, "train on a stratified subset: the first N/10 images of each class in file "
            "order (0: all 60000)");
  f.add_int("test-subset", 0, "evaluate on the first N test images (0: all 10000)");
  f.add_int("grad-every", 5, "record the per-block gradient norms every N steps (0: never)");
  add_loop_flags(f);
  f.set_range("share", 1, 1024);
  f.set_range("shift", 0, 8);
  f.set_range("grad-every", 0, 1000000);
  f.set_range("teacher-depth", 0, 64);
  f.set_range("teacher-dim", 0, 4096);
  f.set_default("epochs", "8");
  f.set_default("batch-size", "128");
  f.set_default("lr", "0.001");
  f.set_default("data", data::fashion_mnist_dir());
  return f;
}

bool is_distilled(const std::string& arm) { return arm == "minivit" || arm == "logit-kd" || arm == "single-layer"; }

void check_arm(const std::string& arm, const char* where) {
  IRIS_CHECK(std::find(kArms.begin(), kArms.end(), arm) != kArms.end(), "minivit ", where, ": unknown arm '", arm,
             "': use teacher, shared, shared-ln, transform, minivit, logit-kd or single-layer (see --help)");
}

// ---- model configs ------------------------------------------------------------------------

models::MlpTransform mlp_transform_from(const std::string& name) {
  if (name == "dwconv") return models::MlpTransform::dwconv;
  if (name == "relpos") return models::MlpTransform::relpos;
  if (name == "none") return models::MlpTransform::none;
  throw Error("minivit: unknown --mlp-transform '" + name + "': use dwconv, relpos or none");
}

std::string mlp_transform_name(models::MlpTransform t) {
  return t == models::MlpTransform::dwconv ? "dwconv" : t == models::MlpTransform::relpos ? "relpos" : "none";
}

// The student (or teacher) config of an arm: the spec's FMNIST macro shape (patch 4, dim 64, depth 6,
// 4 heads, MLP ratio 2, average pooling) with the arm's sharing and transforms.
models::MiniVitConfig arm_config(const std::string& arm, const Flags& flags) {
  check_arm(arm, "train");
  models::MiniVitConfig c = models::MiniVitConfig::named("teacher-fmnist");  // plain: share 1, no transforms
  c.vit.drop_path_rate = flags.get_double("drop-path");
  if (arm == "teacher") {
    if (flags.get_int("teacher-depth") > 0) c.vit.depth = flags.get_int("teacher-depth");
    if (flags.get_int("teacher-dim") > 0) c.vit.embed_dim = flags.get_int("teacher-dim");
    return c;
  }
  c.share = arm == "single-layer" ? c.vit.depth : flags.get_int("share");
  IRIS_CHECK(c.vit.depth % c.share == 0, "minivit: --share ", c.share, " does not divide the depth ", c.vit.depth,
             "; use 1, 2, 3 or 6");
  c.per_layer_norm = arm != "shared";
  const bool transforms = arm != "shared" && arm != "shared-ln";
  c.attn_transform = transforms;
  c.transform_bias = flags.get_bool("transform-bias");
  c.mlp_transform = transforms ? mlp_transform_from(flags.get_string("mlp-transform")) : models::MlpTransform::none;
  c.dwconv_kernel = flags.get_int("dwconv-kernel");
  return c;
}

json::Value config_json(const models::MiniVitConfig& c) {
  json::Value v = json::Value::object();
  v["img_size"] = c.vit.img_size, v["patch_size"] = c.vit.patch_size, v["in_chans"] = c.vit.in_chans;
  v["num_classes"] = c.vit.num_classes, v["embed_dim"] = c.vit.embed_dim, v["depth"] = c.vit.depth;
  v["num_heads"] = c.vit.num_heads, v["mlp_ratio"] = c.vit.mlp_ratio, v["qkv_bias"] = c.vit.qkv_bias;
  v["drop_path_rate"] = c.vit.drop_path_rate, v["ln_eps"] = c.vit.ln_eps;
  v["share"] = c.share, v["per_layer_norm"] = c.per_layer_norm, v["attn_transform"] = c.attn_transform;
  v["transform_bias"] = c.transform_bias, v["mlp_transform"] = mlp_transform_name(c.mlp_transform);
  v["dwconv_kernel"] = c.dwconv_kernel;
  return v;
}

models::MiniVitConfig config_from_json(const json::Value& v) {
  models::MiniVitConfig c = models::MiniVitConfig::named("teacher-fmnist");
  c.vit.img_size = v["img_size"].as_int(), c.vit.patch_size = v["patch_size"].as_int();
  c.vit.in_chans = v["in_chans"].as_int(), c.vit.num_classes = v["num_classes"].as_int();
  c.vit.embed_dim = v["embed_dim"].as_int(), c.vit.depth = v["depth"].as_int();
  c.vit.num_heads = v["num_heads"].as_int(), c.vit.mlp_ratio = v["mlp_ratio"].as_number();
  c.vit.qkv_bias = v["qkv_bias"].as_bool(), c.vit.drop_path_rate = v["drop_path_rate"].as_number();
  c.vit.ln_eps = v["ln_eps"].as_number();
  c.share = v["share"].as_int(), c.per_layer_norm = v["per_layer_norm"].as_bool();
  c.attn_transform = v["attn_transform"].as_bool(), c.transform_bias = v["transform_bias"].as_bool();
  c.mlp_transform = mlp_transform_from(v["mlp_transform"].as_string());
  c.dwconv_kernel = v["dwconv_kernel"].as_int();
  return c;
}

// A MiniViT with the weights and config of a file written by this app: weights.safetensors (config in
// the metadata) or a checkpoint (config in the metadata's "extra").
std::unique_ptr<models::MiniVit> load_model(const std::string& path, const char* what) {
  SafetensorsFile file = load_safetensors(path);
  json::Value config;
  if (file.metadata.count("config")) config = json::parse(file.metadata.at("config"));
  else if (file.metadata.count("extra")) {
    json::Value extra = json::parse(file.metadata.at("extra"));
    if (extra.is_object() && extra.contains("config")) config = extra["config"];
  }
  IRIS_CHECK(config.is_object(), "minivit: ", what, " ", path, " has no MiniViT config in its metadata; use the "
             "weights.safetensors (or checkpoints/last.safetensors) that minivit train writes");
  models::MiniVitConfig cfg;
  try {
    cfg = config_from_json(config);
  } catch (const Error& e) {
    throw Error(cat_str("minivit: ", what, " ", path, ": its config is incomplete: ", e.what()));
  }
  std::unique_ptr<models::MiniVit> model;
  {
    nn::init::SkipInitGuard skip;  // every weight is loaded next
    model = std::make_unique<models::MiniVit>(cfg);
  }
  try {
    nn::load_weights(path, *model);
  } catch (const Error& e) {
    throw Error(cat_str("minivit: ", what, " ", path, ": the weights do not fit the config stored with them: ", e.what()));
  }
  return model;
}

// ---- data ------------------------------------------------------------------------------------

struct Data {
  std::shared_ptr<data::TensorDataset> train, test;
  int64_t train_size = 0, test_size = 0;
};

// The budget every arm shares.
struct Budget {
  int64_t train_subset = 15000, test_subset = 0;
  int64_t shift = 2;
  bool flip = false;
};

Budget budget_from(const Flags& flags, bool ablate) {
  Budget b;
  b.train_subset = flags.get_int("train-subset");
  b.test_subset = flags.get_int("test-subset");
  IRIS_CHECK(b.train_subset >= 0 && b.test_subset >= 0, "minivit: --train-subset and --test-subset must be >= 0");
  b.shift = flags.get_int("shift");
  b.flip = flags.get_bool("flip");
  if (flags.quick()) {  // seconds per arm: a smoke test of the whole pipeline
    if (!flags.is_set("train-subset")) b.train_subset = ablate ? 160 : 320;
    if (!flags.is_set("test-subset")) b.test_subset = ablate ? 100 : 200;
  }
  return b;
}

// The first ceil/floor(n / classes) images of each class in file order (the remainder goes to the
// lowest classes), kept in file order.
std::vector<int64_t> stratified_indices(const std::vector<int64_t>& labels, int64_t n, int64_t classes) {
  std::vector<int64_t> quota(classes, n / classes);
  for (int64_t c = 0; c < n % classes; ++c) ++quota[c];
  std::vector<int64_t> picked;
  for (size_t i = 0; i < labels.size() && static_cast<int64_t>(picked.size()) < n; ++i) {
    int64_t c = labels[i];
    if (c >= 0 && c < classes && quota[c] > 0) --quota[c], picked.push_back(static_cast<int64_t>(i));
  }
  return picked;
}

Data load_data(const Flags& flags, const Budget& bud) {
  data::LabelledImages tr = data::load_fashion_mnist(flags.data_dir(), true);
  data::LabelledImages te = data::load_fashion_mnist(flags.data_dir(), false);
  if (bud.train_subset > 0 && bud.train_subset < tr.images.shape()[0]) {
    Tensor idx = from_vector(stratified_indices(tr.labels.to_vector<int64_t>(), bud.train_subset, 10));
    tr.images = index_select(tr.images, 0, idx);
    tr.labels = index_select(tr.labels, 0, idx);
  }
  if (bud.test_subset > 0 && bud.test_subset < te.images.shape()[0]) {
    te.images = te.images.slice(0, 0, bud.test_subset);
    te.labels = te.labels.slice(0, 0, bud.test_subset);
  }
  // [B, 1, 28, 28]: random shift (pad + crop back) and optional flip, then normalisation
  const int64_t shift = bud.shift;
  const bool flip = bud.flip;
  auto train_tf = [shift, flip](const Tensor& x, Generator& rng) {
    Tensor t = shift > 0 ? data::random_crop(x, shift, rng) : x;
    if (flip) t = data::random_horizontal_flip(t, rng);
    return data::normalize_channels(t, {kMean}, {kStd});
  };
  auto test_tf = [](const Tensor& x, Generator&) { return data::normalize_channels(x, {kMean}, {kStd}); };
  Data d;
  d.train = std::make_shared<data::TensorDataset>(tr.images, tr.labels, train_tf);
  d.test = std::make_shared<data::TensorDataset>(te.images, te.labels, test_tf);
  d.train_size = d.train->size(), d.test_size = d.test->size();
  return d;
}

// ---- one arm -----------------------------------------------------------------------------------

MiniVitTrainOptions train_options(const Flags& flags, const std::string& arm, int64_t train_size) {
  MiniVitTrainOptions o;
  o.base = classify_options(flags);  // train_arm sets base.resume (never in ablate)
  ClassifyOptions& b = o.base;
  o.grad_every = flags.get_int("grad-every");
  if (flags.quick()) {
    if (!flags.is_set("epochs")) b.epochs = 1;
    if (!flags.is_set("batch-size")) b.batch_size = 32;
    if (!flags.is_set("log-every")) b.log_every = 1;
    if (!flags.is_set("grad-every")) o.grad_every = 1;
    if (!flags.is_set("warmup")) b.warmup_epochs = 0.3;
  }
  b.batch_size = std::min<int64_t>(b.batch_size, std::max<int64_t>(1, train_size));  // tiny --quick sets
  if (arm == "minivit" || arm == "single-layer") o.objective = Objective::weight_distillation;
  else if (arm == "logit-kd") o.objective = Objective::logit_kd;
  else o.objective = Objective::label_ce;
  o.weights.logit = 1.0;
  o.weights.attn = flags.get_double("attn-weight");
  o.weights.hidden = flags.get_double("hidden-weight");
  o.label_weight = flags.get_double("label-weight");
  IRIS_CHECK(o.weights.attn >= 0 && o.weights.hidden >= 0 && o.label_weight >= 0,
             "minivit: --attn-weight, --hidden-weight and --label-weight must be >= 0");
  return o;
}

struct ArmResult {
  std::string arm;
  models::MiniVitConfig cfg;
  MiniVitTrainResult t;
  int64_t params = 0;
  double seconds = 0;
};

// Trains one arm in `run` (its own folder) and writes weights.safetensors and grad_norms.png there.
ArmResult train_arm(const Flags& flags, const std::string& arm, const Data& d, models::MiniVit* teacher, Run& run,
                    bool ablate) {
  ArmResult out;
  out.arm = arm;
  out.cfg = arm_config(arm, flags);
  Generator init_gen(flags.seed());
  models::MiniVit model(out.cfg, &init_gen);
  MiniVitTrainOptions o = train_options(flags, arm, d.train_size);
  o.base.resume = ablate ? "" : flags.resume();
  o.base.checkpoint_extra["config"] = config_json(out.cfg);
  o.base.checkpoint_extra["arm"] = arm;
  run.set_config("arm", arm);
  run.set_config("model", config_json(out.cfg));
  out.params = model.parameter_count();
  std::cerr << "minivit: arm " << arm << " (share " << out.cfg.share << ", " << model.unique_blocks()
            << " unique blocks of " << model.depth() << " layers): " << out.params << " parameters, " << d.train_size
            << " training images, " << o.base.epochs << " epochs, run folder " << run.dir() << "\n";
  out.t = train_minivit(model, is_distilled(arm) ? teacher : nullptr, d.train, d.test, o, run,
                        data::fashion_mnist_classes());
  out.seconds = run.seconds();
  nn::save_weights(run.path("weights.safetensors"), model, {{"config", config_json(out.cfg).dump()}, {"arm", arm}});
  if (!out.t.grad_samples.empty()) {  // one series per unique block
    LinePlot p;
    p.title = "arm " + arm + ": gradient L2 norm per unique block";
    p.x_label = "step";
    p.y_label = "grad norm";
    p.log_y = true;
    for (int64_t blk = 0; blk < model.unique_blocks(); ++blk) {
      PlotSeries s;
      s.label = "block " + std::to_string(blk);
      for (const GradNormSample& g : out.t.grad_samples)
        s.x.push_back(static_cast<double>(g.step)), s.y.push_back(g.block[blk]);
      p.series.push_back(s);
    }
    save_line_plots(run.path("grad_norms.png"), {p});
  }
  return out;
}

json::Value arm_metrics(const ArmResult& r) {
  json::Value m = json::Value::object();
  m["top1"] = r.t.r.top1;
  m["params"] = r.params;
  m["share"] = r.cfg.share;
  m["steps"] = r.t.r.steps;
  m["train_loss"] = r.t.r.final_train_loss;
  m["first_loss"] = r.t.r.step_losses.empty() ? 0.0 : r.t.r.step_losses.front();
  const json::Value& g = r.t.grad_norms;
  m["grad_norm_mean"] = g["mean_over_blocks"];
  m["grad_norm_max"] = g["max_over_blocks"];
  m["grad_norm_cv_mean"] = g["cv_mean_over_blocks"];
  m["grad_norm_cv_max"] = g["cv_max_over_blocks"];
  m["grad_norm_samples"] = g["samples"];
  m["seconds"] = r.seconds;
  return m;
}

// The teacher of the distilled arms: loaded from --teacher, or trained (arm "teacher") in <parent>/teacher.
struct Teacher {
  std::unique_ptr<models::MiniVit> model;
  ArmResult trained;  // when trained here
  bool was_trained = false;
  double top1 = NAN;
  std::string path;
};

Teacher get_teacher(const Flags& flags, const Data& d, const Run& parent, bool ablate) {
  Teacher t;
  const std::string& given = flags.get_string("teacher");
  if (!given.empty()) {
    t.model = load_model(given, "--teacher");
    t.path = given;
    t.model->to(flags.device());
    EvalResult ev = evaluate_classifier(*t.model, d.test, flags.batch_size(), flags.device(), false);
    t.top1 = ev.top1;
    std::cerr << "minivit: teacher " << given << ": " << t.model->parameter_count() << " parameters, test top-1 "
              << ev.top1 << "%\n";
    return t;
  }
  const std::string earlier = parent.path("teacher/weights.safetensors");
  if (!flags.resume().empty() && std::ifstream(earlier).good()) {  // a resumed run keeps its teacher
    t.model = load_model(earlier, "teacher");
    t.model->to(flags.device());
    t.top1 = evaluate_classifier(*t.model, d.test, flags.batch_size(), flags.device(), false).top1;
    t.path = earlier;
    std::cerr << "minivit: resuming with the teacher trained before, " << earlier << "\n";
    return t;
  }
  std::cerr << "minivit: no --teacher given: training one first (arm teacher) in " << parent.path("teacher") << "\n";
  Run sub("minivit", "train", parent.path("teacher"));
  t.trained = train_arm(flags, "teacher", d, nullptr, sub, ablate);
  write_file_atomic(sub.path("result.json"), final_json_line("minivit", "train", arm_metrics(t.trained)) + "\n");
  t.was_trained = true;
  t.top1 = t.trained.t.r.top1;
  t.path = sub.path("weights.safetensors");
  t.model = load_model(t.path, "teacher");
  return t;
}

// ---- commands ----------------------------------------------------------------------------------

// A --teacher that cannot be read fails before the data is loaded.
void check_teacher_file(const Flags& flags) {
  const std::string& path = flags.get_string("teacher");
  IRIS_CHECK(path.empty() || std::ifstream(path).good(), "minivit: cannot read --teacher ", path,
             ": give the weights.safetensors of minivit train --arm teacher (or leave --teacher out to train one)");
}

int run_train(const Flags& flags) {
  const std::string arm = flags.get_string("arm");
  { models::MiniVit check(arm_config(arm, flags)); }  // a bad arm or config fails before loading data
  check_teacher_file(flags);
  Data d = load_data(flags, budget_from(flags, false));
  Run run(flags);
  Teacher teacher;
  if (is_distilled(arm)) {
    teacher = get_teacher(flags, d, run, false);
    run.set_config("teacher", teacher.path);
  }
  ArmResult r = train_arm(flags, arm, d, teacher.model.get(), run, false);
  std::cerr << "minivit: arm " << arm << ": test top-1 " << r.t.r.top1 << "%, " << r.params << " parameters; "
            << "pictures: " << run.path("curves.png") << ", " << run.path("predictions.png") << ", "
            << run.path("grad_norms.png") << "\n";
  json::Value m = arm_metrics(r);
  if (is_distilled(arm)) m["teacher_top1"] = teacher.top1;
  run.finish(m);
  return 0;
}

int run_eval(const Flags& flags) {
  const std::string& weights = flags.get_string("weights");
  IRIS_CHECK(!weights.empty(), "minivit eval: give the weights with --weights FILE.safetensors (from minivit train)");
  std::unique_ptr<models::MiniVit> model = load_model(weights, "--weights");
  Data d = load_data(flags, budget_from(flags, false));
  Run run(flags);
  run.set_config("model", config_json(model->cfg));
  run.finish(evaluate_and_report("minivit", *model, d.test, data::fashion_mnist_classes(), flags.batch_size(),
                                 flags.device(), run));
  return 0;
}

std::string fixed(const json::Value& v, int decimals) {
  if (!v.is_number()) return "n/a";
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v.as_number());
  return buf;
}

int run_ablate(const Flags& flags) {
  std::vector<std::string> arms = split_list(flags.get_string("arms"));
  IRIS_CHECK(!arms.empty(), "minivit ablate: --arms must name at least one arm");
  for (const std::string& a : arms) {
    check_arm(a, "ablate");
    models::MiniVit check(arm_config(a, flags));  // a config that cannot be built fails before any training
  }
  IRIS_CHECK(flags.resume().empty(), "minivit ablate: --resume applies to minivit train only");
  check_teacher_file(flags);
  const Budget bud = budget_from(flags, true);
  Data d = load_data(flags, bud);
  Run run(flags);

  const bool want_teacher = std::find(arms.begin(), arms.end(), "teacher") != arms.end();
  bool need_teacher = want_teacher;
  for (const std::string& a : arms) need_teacher |= is_distilled(a);
  Teacher teacher;
  if (need_teacher) teacher = get_teacher(flags, d, run, true);
  run.set_config("teacher", teacher.path);

  json::Value arms_json = json::Value::object();
  std::vector<ArmBar> bars;
  int reference = -1;
  LinePlot grad_max, grad_mean;
  grad_max.title = "max over unique blocks of the block gradient norm";
  grad_mean.title = "mean over unique blocks of the block gradient norm";
  for (LinePlot* p : {&grad_max, &grad_mean}) p->x_label = "step", p->y_label = "grad norm", p->log_y = true;
  std::ostringstream table;
  table << "| arm | share | top-1 % | params | grad norm: mean over blocks | max over blocks | CV mean | CV max | seconds |\n"
        << "|---|---|---|---|---|---|---|---|---|\n";
  for (size_t i = 0; i < arms.size(); ++i) {
    const std::string& arm = arms[i];
    json::Value m;
    const ArmResult* r = nullptr;
    ArmResult trained;
    if (arm == "teacher" && teacher.was_trained) {
      r = &teacher.trained;
    } else if (arm == "teacher") {  // loaded with --teacher: evaluated, not trained
      m = json::Value::object();
      m["top1"] = teacher.top1;
      m["params"] = teacher.model->parameter_count();
      m["share"] = teacher.model->cfg.share;
      m["loaded_from"] = teacher.path;
    } else {
      Run sub("minivit", "train", run.path(arm));
      sub.set_config("teacher", is_distilled(arm) ? teacher.path : "");
      trained = train_arm(flags, arm, d, teacher.model.get(), sub, true);
      write_file_atomic(sub.path("result.json"), final_json_line("minivit", "train", arm_metrics(trained)) + "\n");
      r = &trained;
    }
    if (r) {
      m = arm_metrics(*r);
      m["grad_norms"] = r->t.grad_norms;  // per block and per layer
      PlotSeries smax, smean;
      smax.label = smean.label = arm;
      smax.color = smean.color = colors::palette(static_cast<int>(i));
      for (const GradNormSample& g : r->t.grad_samples) {
        double mx = 0, sum = 0;
        for (double v : g.block) mx = std::max(mx, v), sum += v;
        smax.x.push_back(static_cast<double>(g.step)), smax.y.push_back(mx);
        smean.x.push_back(static_cast<double>(g.step)), smean.y.push_back(sum / std::max<size_t>(1, g.block.size()));
      }
      grad_max.series.push_back(smax);
      grad_mean.series.push_back(smean);
    }
    arms_json[arm] = m;
    if (arm == "teacher") reference = static_cast<int>(i);
    bars.push_back(ArmBar{arm, m["top1"].as_number(), m["params"].as_int()});
    table << "| " << arm << " | " << m["share"].as_int() << " | " << fixed(m["top1"], 2) << " | " << m["params"].as_int()
          << " | " << (m.contains("grad_norm_mean") ? fixed(m["grad_norm_mean"], 3) : "n/a") << " | "
          << (m.contains("grad_norm_max") ? fixed(m["grad_norm_max"], 3) : "n/a") << " | "
          << (m.contains("grad_norm_cv_mean") ? fixed(m["grad_norm_cv_mean"], 3) : "n/a") << " | "
          << (m.contains("grad_norm_cv_max") ? fixed(m["grad_norm_cv_max"], 3) : "n/a") << " | "
          << (m.contains("seconds") ? fixed(m["seconds"], 0) : "n/a") << " |\n";
    std::cerr << "minivit ablate: " << arm << ": top-1 " << fixed(m["top1"], 2) << "%, " << m["params"].as_int()
              << " parameters\n";
  }

  MiniVitTrainOptions used = train_options(flags, "teacher", d.train_size);
  std::ostringstream md;
  md << "# MiniViT-FMNIST ablation\n\n`" << flags.command_line() << "`\n\n" << table.str() << "\n"
     << "Budget per arm: " << used.base.epochs << " epochs, batch " << used.base.batch_size << ", AdamW lr "
     << used.base.lr << " (warmup " << used.base.warmup_epochs << " epochs, then cosine), weight decay "
     << used.base.weight_decay << ", seed " << flags.seed() << "; " << d.train_size
     << " training images (stratified: the first N/10 of each class), " << d.test_size << " test images; shift +-"
     << bud.shift << " px" << (bud.flip ? " and horizontal flip" : "") << ". Students: --share " << flags.get_int("share")
     << " (single-layer: share = depth), MLP transform " << flags.get_string("mlp-transform")
     << (flags.get_string("mlp-transform") == "dwconv" ? " " + std::to_string(flags.get_int("dwconv-kernel")) + "x" +
                                                             std::to_string(flags.get_int("dwconv-kernel"))
                                                       : std::string())
     << ", transform bias " << (flags.get_bool("transform-bias") ? "on" : "off") << ". Teacher: "
     << (teacher.was_trained ? "trained first with the same budget" : teacher.path.empty() ? "none" : "loaded from " + teacher.path)
     << ". Wall time " << std::lround(run.seconds()) << " s.\n\n"
     << "Gradient norms: every " << used.grad_every << " steps, after backward and before clipping, the L2 norm of the "
     << "gradients of each unique block (the parameters its layers use, each tensor once; a shared tensor's gradient "
     << "is the sum over the layers that use it, so a block shared by N layers is expected to be larger). Per block: "
     << "the mean over training and the coefficient of variation (std / mean over the samples); the table gives "
     << "the mean and max of those over blocks. Per-layer norms of the layer-own parameters (norms, transforms) "
     << "are in ablation.json and in each arm's grad_norms.jsonl.\n";
  write_file_atomic(run.path("ablation.md"), md.str());
  write_file_atomic(run.path("ablation.json"), arms_json.dump(2) + "\n");
  std::cerr << table.str();
  save_png(run.path("ablation.png"),
           render_arm_chart("MiniViT-FMNIST: test top-1 by arm (dashed: teacher)", bars, reference));
  bool any_grad = false;
  for (const PlotSeries& s : grad_max.series) any_grad |= !s.x.empty();
  if (any_grad) save_line_plots(run.path("grad_norms.png"), {grad_max, grad_mean});

  json::Value line = json::Value::object();  // the final line: top1 and params per arm
  for (const auto& [arm, m] : arms_json.items()) {
    json::Value a = json::Value::object();
    a["top1"] = m["top1"];
    a["params"] = m["params"];
    if (m.contains("grad_norm_mean")) a["grad_norm_mean"] = m["grad_norm_mean"], a["grad_norm_cv_mean"] = m["grad_norm_cv_mean"];
    line[arm] = a;
  }
  run.finish_arms(line);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags = make_flags();
  return app_main(flags, argc, argv, [](const Flags& f) {
    if (f.command() == "train") return run_train(f);
    if (f.command() == "ablate") return run_ablate(f);
    return run_eval(f);
  });
}
