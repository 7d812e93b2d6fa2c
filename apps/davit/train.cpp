// davit: one training run of one arm on one task through apps/common's classification loop (AdamW,
// warmup + cosine, checkpoints, exact resume, curves and predictions), then its weights and
// attention.png. Leaves out: mixed precision beyond --amp, EMA, mixup.
#include <algorithm>
#include <iostream>

#include "apps/davit/davit_app.h"
#include "nn/checkpoint.h"

namespace iris::davit_app {

ClassifyOptions train_options(const Flags& flags, uint64_t seed, int64_t train_size, bool ablate) {
  ClassifyOptions o = classify_options(flags);
  o.seed = seed;
  if (flags.quick()) {
    if (!flags.is_set("epochs")) o.epochs = ablate ? 1 : 2;
    if (!flags.is_set("batch-size")) o.batch_size = 32;
    if (!flags.is_set("log-every")) o.log_every = 1;
    if (!flags.is_set("warmup")) o.warmup_epochs = 0.5;
  }
  // never more than one batch bigger than the data (tiny --quick sets)
  o.batch_size = std::min<int64_t>(o.batch_size, std::max<int64_t>(1, train_size));
  return o;
}

RunResult train_one(const Flags& flags, const TaskData& d, const std::string& arm, uint64_t seed, Run& run,
                    bool pictures, bool ablate) {
  models::DavitConfig cfg = model_config(arm, static_cast<int64_t>(d.classes.size()), flags);
  Generator init_gen(seed);
  models::DaVit model(cfg, &init_gen);
  ClassifyOptions o = train_options(flags, seed, d.train->size(), ablate);
  o.pictures = pictures;
  o.checkpoint_extra["config"] = config_json(cfg);
  o.checkpoint_extra["task"] = d.task;
  run.set_config("model", config_json(cfg));
  run.set_config("task", d.task);
  RunResult out;
  out.params = model.parameter_count();
  out.macs = models::davit_macs(cfg);
  std::cerr << "davit: " << d.task << ", arm " << arm << ", seed " << seed << ": " << out.params << " parameters, "
            << out.macs / 1e6 << " M multiply-adds per image, " << d.train->size() << " training images, " << o.epochs
            << " epochs, run folder " << run.dir() << "\n";
  out.r = train_classifier(model, d.train, d.test, o, run, d.classes);
  out.seconds = run.seconds();
  out.records = run.records();
  if (!out.r.stopped_early) {
    nn::save_weights(run.path("weights.safetensors"), model,
                     {{"config", config_json(cfg).dump()}, {"task", d.task}, {"probe_label", flags.get_string("probe-label")},
                      {"probe_glyphs", std::to_string(flags.get_int("probe-glyphs"))},
                      {"probe_scale", std::to_string(flags.get_int("probe-scale"))}});
    if (pictures && flags.get_int("maps") > 0)
      save_attention_picture(run.path("attention.png"), model, *d.test, d.classes, static_cast<int>(flags.get_int("maps")),
                             o.device);
  }
  return out;
}

}  // namespace iris::davit_app
