// The training loop every app trains through (classify and its apps, unicl, and the detectors, generator,
// trackers and re-ID nets to come). An app supplies a batch source, step(batch) -> {loss, parts} and,
// optionally, evaluate() -> metrics and pictures; the loop does AdamW with decay groups, linear warmup +
// cosine, gradient clipping, a train and an eval progress bar, metrics.jsonl, curves.png, atomic checkpoints
// (every epoch, every `save_every` steps, at `stop_after_steps`) and exact resume, mid-epoch too.
// Leaves out: multi-GPU, gradient accumulation, EMA, other optimisers; mixed precision is app_main's --amp.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "apps/common/progress.h"
#include "apps/common/run.h"
#include "nn/module.h"
#include "nn/optim.h"

namespace iris {

// Exact resume: a checkpoint (checkpoints/last.safetensors, nn/checkpoint.h) holds the model ("model.<name>"),
// the optimiser's moments and step count ("optim.<key>"), the global generator's state (dropout, drop path),
// the epoch, the step, the step inside the epoch and that epoch's loss sum so far. The batch source must make
// epoch e's batches from (e, position) alone, as data::DataLoader does; then a stopped and resumed run computes
// every loss, every metrics.jsonl number and every evaluation bit for bit as an uninterrupted one (the step
// losses of TrainResult are this process's). A resumed run appends to the same metrics.jsonl; a checkpoint made
// with another number of steps per epoch is refused.
struct TrainLoopOptions {
  int epochs = 10;
  double lr = 1e-3, weight_decay = 0.05;           // of the default decay groups (TrainTask::param_groups empty)
  double warmup_epochs = 1.0, min_lr_factor = 0.01;  // linear warmup, then cosine down to lr * min_lr_factor
  double clip_norm = 0.0;                          // clip gradients to this global norm (0: off)
  int64_t log_every = 50;                          // a metrics.jsonl line every this many steps (0: none)
  int64_t save_every = 0;                          // also checkpoint every this many steps (0: only per epoch)
  int64_t stop_after_steps = -1;                   // stop (after checkpointing) once this many steps are done
  int64_t eval_every_epochs = 1;                   // evaluate every N epochs (0: only after the last)
  std::string resume;                              // checkpoint to continue from
  json::Value checkpoint_extra = json::Value::object();  // stored in every checkpoint (e.g. the model config)
  bool pictures = true;                            // curves.png after every epoch, and the task's pictures
  bool progress = true;                            // progress bars on stderr
  Device device = Device::cpu();
  std::string bar_label = "train";                 // the training bar's label
  std::string curves_title;                        // curves.png's title (empty: "<app> training")
};

struct StepInfo {
  int64_t step = 0;           // steps done before this one (its 0-based index over the whole run)
  int64_t epoch = 0;          // 0-based
  int64_t epoch_step = 0;     // its 0-based index inside the epoch
  double epoch_position = 0;  // epochs done once this step is: epoch + (epoch_step + 1) / steps per epoch
};

struct StepOutput {
  Tensor loss;                                // scalar; the loop runs its backward
  json::Value parts = json::Value::object();  // named numbers (the loss's terms), added to the step's metrics line
  int64_t items = 0;                          // items (images, pairs) in the batch, for items/s
};

// An "eval" progress bar over `batches` steps in the loop's mode, started; the loop ends it with the metrics.
using EvalBar = std::function<ProgressBar&(int64_t batches)>;

struct EvalContext {
  int64_t epoch = 0;  // epochs done (the one just finished, 1-based)
  bool last = false;  // after the last epoch: its metrics become TrainResult::metrics
  EvalBar bar;        // call at most once, then bar.step(items) per batch
};

template <class Batch>
struct BatchSource {
  int64_t steps_per_epoch = 0;                                   // batches per epoch, every epoch
  std::function<void(int64_t epoch, int64_t skip)> start_epoch;  // epoch 0-based; skip its first batches (resume)
  std::function<bool(Batch& out)> next;                          // false when the epoch is over
};

// All of a task but its batches.
struct TrainTaskBase {
  nn::Module* model = nullptr;               // trained: moved to the device, train mode, checkpointed
  std::vector<nn::ParamGroup> param_groups;  // AdamW's; empty: nn::decay_groups(*model, lr, weight_decay)
  std::vector<Tensor> clip_params;           // clipping's global norm is summed over these, in this order
                                             // (empty: model->parameters())
  std::function<void(const StepInfo&)> after_backward;      // optional: after backward, before clipping
  // Optional: named numbers, added to the epoch's metrics line; called with the model in eval mode but with
  // gradients on (an evaluation may train a probe), after the last epoch and every eval_every_epochs.
  std::function<json::Value(const EvalContext&)> evaluate;
  // Optional, with TrainLoopOptions::pictures: after every epoch (last = false) and once after training, after
  // the final evaluation (last = true).
  std::function<void(int64_t epoch, bool last)> pictures;
};

template <class Batch>
struct TrainTask : TrainTaskBase {
  BatchSource<Batch> batches;
  std::function<StepOutput(const Batch&, const StepInfo&)> step;  // the loss of one batch (forward only)
};

struct TrainResult {
  int64_t steps = 0;               // steps done, counting those before a resume
  std::vector<double> step_losses;  // every step's loss (of this process)
  double final_train_loss = 0;     // mean loss of the last epoch run; the last loss when stopped early
  json::Value metrics = json::Value::object();  // the last evaluation after the last epoch (empty: none)
  bool stopped_early = false;      // stop_after_steps reached
  double train_seconds = 0;        // in batches and steps: evaluation, checkpoints and pictures left out
  double items_per_second = 0;     // items of this process / train_seconds
  // The first and the last step's loss of this process (0 when it ran no step).
  double first_loss() const { return step_losses.empty() ? 0.0 : step_losses.front(); }
  double last_loss() const { return step_losses.empty() ? 0.0 : step_losses.back(); }
};

namespace detail {
struct NoBatch {};  // the loop itself never looks inside a batch
TrainResult train_loop_erased(const TrainTask<NoBatch>& task, const TrainLoopOptions& opts, Run& run);
}  // namespace detail

// Trains task.model for opts.epochs over task.batches; see TrainLoopOptions for what it writes into `run`.
template <class Batch>
TrainResult train_loop(const TrainTask<Batch>& task, const TrainLoopOptions& opts, Run& run) {
  Batch current;  // between next() and step()
  TrainTask<detail::NoBatch> erased;
  static_cast<TrainTaskBase&>(erased) = task;
  erased.batches.steps_per_epoch = task.batches.steps_per_epoch;
  erased.batches.start_epoch = task.batches.start_epoch;
  if (task.batches.next) erased.batches.next = [&](detail::NoBatch&) { return task.batches.next(current); };
  if (task.step) erased.step = [&](const detail::NoBatch&, const StepInfo& at) { return task.step(current, at); };
  return detail::train_loop_erased(erased, opts, run);
}

}  // namespace iris
