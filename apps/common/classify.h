// Image classification on the shared training loop (apps/common/train_loop.h), for vit, davit and minivit:
// cross-entropy with label smoothing (or the app's own batch loss, e.g. distillation), a data::DataLoader as the
// batch source, top-1 and the eval loss as the evaluation, a grid of test predictions as the picture; the
// evaluation and report of `<app> eval`; and the flags that fill its options.
// Leaves out: the loop itself (AdamW, schedule, clipping, checkpoints, resume, metrics.jsonl: train_loop.h),
// multi-GPU, distillation losses themselves (apps pass batch_loss); mixed precision is app_main's --amp.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "apps/common/run.h"
#include "apps/common/train_loop.h"
#include "data/loader.h"
#include "nn/module.h"

namespace iris {

// The loop's options (epochs, lr, decay, warmup, clipping, logging, checkpoints, resume, device, ...) and
// those of classification.
struct ClassifyOptions : TrainLoopOptions {
  int64_t batch_size = 128;
  double label_smoothing = 0.0;
  uint64_t seed = 0;  // the loader's shuffling and augmentation
  int workers = 1;
  // Optional: the loss of one batch (default: cross-entropy with label_smoothing), e.g. distillation
  // from a teacher. Numbers it puts in `parts` (the loss's terms) go into the step's metrics line.
  std::function<Tensor(nn::Module& model, const Tensor& x, const Tensor& y, json::Value& parts)> batch_loss;
  // Optional: called after backward, before clipping and the optimiser step (gradient statistics).
  std::function<void(const StepInfo& at)> after_backward;
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

// model(images [B, C, H, W]) -> logits [B, classes]. Checkpoints keep the model as "model.<name>" and the
// optimiser as "optim.<key>", so checkpoints of earlier versions resume.
ClassifyResult train_classifier(nn::Module& model, const std::shared_ptr<const data::Dataset>& train_set,
                                const std::shared_ptr<const data::Dataset>& eval_set, const ClassifyOptions& opts,
                                Run& run, const std::vector<std::string>& class_names);

struct EvalResult {
  double top1 = 0, loss = 0;
  Tensor predictions, labels;  // i64 [N]
};
EvalResult evaluate_classifier(nn::Module& model, const std::shared_ptr<const data::Dataset>& eval_set,
                               int64_t batch_size, Device device, bool progress = true);
// The same with the training loop's eval bar (EvalContext::bar).
EvalResult evaluate_classifier(nn::Module& model, const std::shared_ptr<const data::Dataset>& eval_set,
                               int64_t batch_size, Device device, const EvalBar& bar);

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
