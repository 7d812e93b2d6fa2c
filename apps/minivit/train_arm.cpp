// minivit: one arm's training run: the loop's options from the flags (and the --quick budget), the
// objective of the arm (label CE, logit KD, weight distillation), the model built with the run's seed,
// train_minivit (train_loop.h), then weights.safetensors and grad_norms.png. Leaves out: the loop itself.
#include <algorithm>
#include <iostream>

#include "apps/minivit/minivit_app.h"
#include "data/idx.h"
#include "nn/checkpoint.h"

namespace iris::minivit_app {

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

ArmResult train_arm(const Flags& flags, const std::string& arm, const Data& d, models::MiniVit* teacher, Run& run,
                    bool ablate, uint64_t seed) {
  ArmResult out;
  out.arm = arm;
  out.cfg = arm_config(arm, flags);
  Generator init_gen(seed);
  models::MiniVit model(out.cfg, &init_gen);
  MiniVitTrainOptions o = train_options(flags, arm, d.train_size);
  o.base.seed = seed;
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
  if (!out.t.grad_samples.empty())
    save_line_plots(run.path("grad_norms.png"), {grad_norm_plot(arm, out.t.grad_samples, model.unique_blocks())});
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

}  // namespace iris::minivit_app
