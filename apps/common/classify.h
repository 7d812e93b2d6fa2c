// The training loop every image-classification app shares (vit, and later minivit, davit, ...):
// AdamW with timm's decay groups, linear warmup + cosine schedule, label smoothing, gradient
// clipping, a progress bar, per-epoch evaluation, metrics.jsonl, atomic checkpoints every epoch
// (and every `save_every` steps), exact resume (mid-epoch too), and the pictures: training
// curves and a grid of test predictions; and the flags that fill its options.
// Leaves out: mixed precision, multi-GPU; distillation losses themselves (apps pass batch_loss).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "apps/common/run.h"
#include "data/loader.h"
#include "nn/module.h"

namespace iris {

struct ClassifyOptions {
  int epochs = 10;
  int64_t batch_size = 128;
  double lr = 1e-3, weight_decay = 0.05, warmup_epochs = 1.0, min_lr_factor = 0.01;
  double label_smoothing = 0.0, clip_norm = 0.0;  // 0: off
  uint64_t seed = 0;
  int workers = 1;
  int64_t log_every = 50;         // a metrics.jsonl line every this many steps
  int64_t save_every = 0;         // also checkpoint every this many steps (0: only per epoch)
  int64_t stop_after_steps = -1;  // stop (after checkpointing) once this many steps are done
  int64_t eval_every_epochs = 1;
  std::string resume;             // checkpoint to continue from
  json::Value checkpoint_extra = json::Value::object();  // stored in every checkpoint (e.g. the model config)
  bool pictures = true;
  bool progress = true;
  Device device = Device::cpu();
  // Optional: the loss of one batch (default: cross-entropy with label_smoothing), e.g. distillation
  // from a teacher. Numbers it puts in `parts` (the loss's terms) go into the step's metrics line.
  std::function<Tensor(nn::Module& model, const Tensor& x, const Tensor& y, json::Value& parts)> batch_loss;
  // Optional: called after backward, before clipping and the optimiser step (gradient statistics).
  // epoch: fractional position, e.g. 1.25 = a quarter into the second epoch.
  std::function<void(int64_t step, double epoch)> after_backward;
};

struct ClassifyResult {
  double top1 = 0;                       // percent, on the eval set after the last epoch
  double final_train_loss = 0;
  int64_t params = 0;
  int64_t steps = 0;
  std::vector<double> step_losses;       // every step's loss (of this process)
  bool stopped_early = false;            // stop_after_steps reached
};

// The flags of the training loop that davit and minivit register alike, in this order: --eval-every
// (default 0: only after the last epoch), --workers (0), --log-every (`log_every`).
void add_loop_flags(Flags& flags, int64_t log_every = 50);

// ClassifyOptions filled from the shared flags (--epochs, --batch-size, --lr, --seed, --resume,
// --device) and from those of --weight-decay, --warmup, --label-smoothing, --clip-norm, --workers,
// --log-every, --eval-every, --save-every and --stop-after-steps the app registered (a flag it did not
// register keeps the ClassifyOptions default). Apps then apply their own --quick/demo overrides.
ClassifyOptions classify_options(const Flags& flags);

// model(images [B, C, H, W]) -> logits [B, classes].
ClassifyResult train_classifier(nn::Module& model, const std::shared_ptr<const data::Dataset>& train_set,
                                const std::shared_ptr<const data::Dataset>& eval_set, const ClassifyOptions& opts,
                                Run& run, const std::vector<std::string>& class_names);

struct EvalResult {
  double top1 = 0, loss = 0;
  Tensor predictions, labels;  // i64 [N]
};
EvalResult evaluate_classifier(nn::Module& model, const std::shared_ptr<const data::Dataset>& eval_set,
                               int64_t batch_size, Device device, bool progress = true);

// A grid of the first `count` images of eval_set with "predicted / true" captions (green/red).
void save_prediction_grid(const std::string& path, const data::Dataset& eval_set, const Tensor& predictions,
                          const std::vector<std::string>& class_names, int count = 32);

// The whole of an `<app> eval` after loading: moves the model to device, evaluates it on eval_set,
// saves predictions.png in the run folder, prints "<app>: test accuracy X% on N <what> images"
// and returns the metrics {top1, params, loss} for run.finish (the caller may add more).
json::Value evaluate_and_report(const std::string& app, nn::Module& model,
                                const std::shared_ptr<const data::Dataset>& eval_set,
                                const std::vector<std::string>& class_names, int64_t batch_size, Device device,
                                Run& run, const std::string& what = "");

}  // namespace iris
