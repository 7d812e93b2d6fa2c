// minivit: MiniViT's weight multiplexing (models/minivit, losses/distill) at small scale on Fashion-MNIST
// (papers/minivit.md 1.6): a DeiT-style teacher without class token, and students whose consecutive blocks
// share weights, with or without per-layer norms, attention/MLP transforms and weight distillation.
//   minivit train --arm ARM [--share N] [--teacher CKPT]   one arm; a distilled arm without --teacher first
//                                                          trains a teacher in <run>/teacher
//   minivit eval --weights FILE                            test accuracy of weights written by train
//   minivit ablate [--arms LIST] [--seeds N]               the teacher, then every arm on the same budget:
//                                                          ablation.md / ablation.json (top-1, params, per-block
//                                                          gradient norms), ablation.png, grad_norms.png
// Leaves out: ImageNet-sized runs (the Mini-DeiT configs exist for counts), Mini-Swin windows, mixup/cutmix.
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <sstream>

#include "apps/common/ablate.h"
#include "apps/common/classify.h"
#include "apps/minivit/minivit_app.h"
#include "data/idx.h"

using namespace iris;
using namespace iris::minivit_app;

namespace {

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
  f.add_int("seeds", 1, "ablate: runs per arm, with seeds --seed, --seed+1, ... (the distilled arms use the "
            "teacher of the same seed)");
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
  OptimizerFlagDefaults opt;
  opt.clip_norm = 0.0;
  opt.no_decay_on = "biases, norms and pos_embed";
  opt.warmup_help = "linear warmup, in epochs, then cosine decay";
  opt.label_smoothing_help = "label smoothing of the label CE";
  opt.drop_path_help = "stochastic depth rate of the last layer";
  opt.clip_norm_help = "clip gradients to this global norm (0: off); gradient norms are recorded before";
  add_optimizer_flags(f, opt);
  f.add_int("shift", 2, "augmentation: random shift by up to this many pixels (zero fill; 0: off)");
  f.add_bool("flip", false, "augmentation: random horizontal flip");
  f.add_int("train-subset", 15000, "train on a stratified subset: the first N/10 images of each class in file "
            "order (0: all 60000)");
  f.add_int("test-subset", 0, "evaluate on the first N test images (0: all 10000)");
  f.add_int("grad-every", 5, "record the per-block gradient norms every N steps (0: never)");
  add_loop_flags(f);
  f.set_range("seeds", 1, 100);
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

// ---- commands ----------------------------------------------------------------------------------

int run_train(const Flags& flags) {
  const std::string arm = flags.get_string("arm");
  { models::MiniVit check(arm_config(arm, flags)); }  // a bad arm or config fails before loading data
  check_teacher_file(flags);
  Data d = load_data(flags, budget_from(flags, false));
  Run run(flags);
  Teacher teacher;
  if (is_distilled(arm)) {
    teacher = get_teacher(flags, d, run.path("teacher"), false, flags.seed());
    run.set_config("teacher", teacher.path);
  }
  ArmResult r = train_arm(flags, arm, d, teacher.model.get(), run, false, flags.seed());
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

// The teacher first (it is also the reference line of the chart), then every arm; a distilled arm
// learns from the teacher of its own seed, trained once in that seed's teacher folder.
int run_ablate(const Flags& flags) {
  std::vector<std::string> arms = split_list(flags.get_string("arms"));
  IRIS_CHECK(!arms.empty(), "minivit ablate: --arms must name at least one arm");
  check_teacher_file(flags);
  const bool loaded_teacher = !flags.get_string("teacher").empty();
  AblationSpec spec;
  spec.title = "MiniViT-FMNIST ablation";
  spec.seeds = static_cast<int>(flags.get_int("seeds"));
  spec.first_seed = flags.seed();
  std::map<std::string, int> arm_index;
  for (const std::string& a : arms) {
    check_arm(a, "ablate");
    models::MiniVit check(arm_config(a, flags));  // a config that cannot be built fails before any training
    char bar[96];
    std::snprintf(bar, sizeof bar, "%s (%.1fk params)", a.c_str(), static_cast<double>(check.parameter_count()) / 1000.0);
    arm_index.emplace(a, static_cast<int>(spec.arms.size()));
    spec.arms.push_back(AblationArm{a, {}, "", a == "teacher" && loaded_teacher ? a : std::string(bar)});
  }
  spec.columns = {AblationColumn::plain("share", "share"),
                  AblationColumn::measured("top-1 %", "top1", 2, true),
                  AblationColumn::plain("params", "params"),
                  AblationColumn::measured("grad norm: mean over blocks", "grad_norm_mean", 3),
                  AblationColumn::measured("max over blocks", "grad_norm_max", 3),
                  AblationColumn::measured("CV mean", "grad_norm_cv_mean", 3),
                  AblationColumn::measured("CV max", "grad_norm_cv_max", 3),
                  AblationColumn::plain("seconds", "seconds")};
  spec.line_metrics = {"top1", "params", "grad_norm_mean", "grad_norm_cv_mean"};
  spec.chart_title = "MiniViT-FMNIST: test top-1 by arm";
  spec.chart_y_label = "test top-1 %";
  spec.reference_arm = spec.reference_label = "teacher";
  spec.chart_from_zero = false;  // the arms differ by a few points: the axis starts near them, its break marked

  const Budget bud = budget_from(flags, true);
  Run run(flags);
  run.set_config("teacher", "");
  std::unique_ptr<Data> data;
  auto get_data = [&]() -> const Data& {
    if (!data) data = std::make_unique<Data>(load_data(flags, bud));
    return *data;
  };
  std::map<uint64_t, Teacher> teachers;  // by seed
  auto teacher_for = [&](uint64_t seed) -> Teacher& {
    auto found = teachers.find(seed);
    if (found != teachers.end()) return found->second;
    Teacher& t = teachers[seed] =
        get_teacher(flags, get_data(), run.path(ablation_subdir("teacher", seed, spec.seeds)), true, seed);
    if (seed == spec.first_seed) run.set_config("teacher", t.path);
    return t;
  };
  GradNormPanels panels;  // of the first seed
  spec.run_one = [&](const AblationArm& arm, uint64_t seed, const std::string& dir) {
    const Data& d = get_data();
    Teacher* teacher = arm.name == "teacher" || is_distilled(arm.name) ? &teacher_for(seed) : nullptr;
    json::Value m = json::Value::object();
    ArmResult trained;
    const ArmResult* r = nullptr;
    if (arm.name == "teacher" && teacher->was_trained) {
      r = &teacher->trained;
    } else if (arm.name == "teacher") {  // loaded with --teacher: evaluated, not trained
      m["top1"] = teacher->top1;
      m["params"] = teacher->model->parameter_count();
      m["share"] = teacher->model->cfg.share;
      m["loaded_from"] = teacher->path;
    } else {
      Run sub("minivit", "train", dir);
      sub.set_config("teacher", teacher ? teacher->path : "");
      trained = train_arm(flags, arm.name, d, teacher ? teacher->model.get() : nullptr, sub, true, seed);
      r = &trained;
    }
    if (r) {
      m = arm_metrics(*r);
      m["grad_norms"] = r->t.grad_norms;  // per block and per layer
      if (seed == spec.first_seed) panels.add(arm.name, colors::palette(arm_index.at(arm.name)), r->t.grad_samples);
    }
    return m;
  };
  spec.notes = [&] {
    const Data& d = get_data();
    MiniVitTrainOptions used = train_options(flags, "teacher", d.train_size);
    const Teacher* first = teachers.count(spec.first_seed) ? &teachers.at(spec.first_seed) : nullptr;
    std::ostringstream md;
    md << "Budget per arm: " << used.base.epochs << " epochs, batch " << used.base.batch_size << ", AdamW lr "
       << used.base.lr << " (warmup " << used.base.warmup_epochs << " epochs, then cosine), weight decay "
       << used.base.weight_decay << "; " << d.train_size
       << " training images (stratified: the first N/10 of each class), " << d.test_size << " test images; shift +-"
       << bud.shift << " px" << (bud.flip ? " and horizontal flip" : "") << ". Students: --share " << flags.get_int("share")
       << " (single-layer: share = depth), MLP transform " << flags.get_string("mlp-transform")
       << (flags.get_string("mlp-transform") == "dwconv" ? " " + std::to_string(flags.get_int("dwconv-kernel")) + "x" +
                                                               std::to_string(flags.get_int("dwconv-kernel"))
                                                         : std::string())
       << ", transform bias " << (flags.get_bool("transform-bias") ? "on" : "off") << ". Teacher: "
       << (!first ? "none" : first->was_trained ? "trained first with the same budget" : "loaded from " + first->path)
       << ". Dashed in the chart: the teacher.\n\n"
       << "Gradient norms: every " << used.grad_every << " steps, after backward and before clipping, the L2 norm of the "
       << "gradients of each unique block (the parameters its layers use, each tensor once; a shared tensor's gradient "
       << "is the sum over the layers that use it, so a block shared by N layers is expected to be larger). Per block: "
       << "the mean over training and the coefficient of variation (std / mean over the samples); the table gives "
       << "the mean and max of those over blocks. Per-layer norms of the layer-own parameters (norms, transforms) "
       << "are in ablation.json and in each arm's grad_norms.jsonl.\n\n";
    return md.str();
  };
  run_ablation(flags, run, spec, [&](const std::vector<AblationResult>&) {
    if (!panels.empty()) save_line_plots(run.path("grad_norms.png"), {panels.max, panels.mean});
  });
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
