// The shared training loop (see train_loop.h): one optimiser step per batch, a metrics line every log_every
// steps, per epoch a summary line, the evaluation, a checkpoint and the curves.
// Leaves out: anything about what a batch holds or what the model computes (the task's step does that).
#include "apps/common/train_loop.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>

#include "image/plot.h"
#include "nn/checkpoint.h"

namespace iris {

namespace {

using Clock = std::chrono::steady_clock;

ProgressBar::Mode bar_mode(bool on) { return on ? ProgressBar::Mode::automatic : ProgressBar::Mode::off; }

// metrics.jsonl lines already in the run folder (a resumed run continues the same curves).
std::vector<json::Value> previous_records(const std::string& path) {
  std::vector<json::Value> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    try {
      out.push_back(json::parse(line));
    } catch (const Error&) {  // a torn last line from a crash: skip it
    }
  }
  return out;
}

// "top1 88.40, eval_loss 0.3121": the numbers of an evaluation for the eval bar's summary line.
std::string metrics_text(const json::Value& metrics) {
  std::string out;
  for (const auto& [name, value] : metrics.items()) {
    if (!value.is_number()) continue;
    char buf[64];
    double v = value.as_number();
    if (value.is_integer()) std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(value.as_int()));
    else std::snprintf(buf, sizeof buf, "%.4g", v);
    out += (out.empty() ? "" : ", ") + name + " " + buf;
  }
  return out;
}

}  // namespace

namespace detail {

TrainResult train_loop_erased(const TrainTask<NoBatch>& task, const TrainLoopOptions& o, Run& run) {
  IRIS_CHECK(task.model != nullptr && task.step && task.batches.start_epoch && task.batches.next,
             "train_loop: the task needs a model, a step and a batch source (start_epoch and next)");
  IRIS_CHECK(o.epochs >= 0, "train: --epochs must be >= 0, got ", o.epochs);
  nn::Module& model = *task.model;
  model.to(o.device);
  model.train();
  const int64_t steps_per_epoch = task.batches.steps_per_epoch;
  IRIS_CHECK(steps_per_epoch > 0, "train: the batch source has ", steps_per_epoch,
             " batches per epoch; lower --batch-size or give more training data");

  nn::AdamW opt(task.param_groups.empty() ? nn::decay_groups(model, o.lr, o.weight_decay) : task.param_groups);
  const std::vector<Tensor> clip_params = task.clip_params.empty() ? model.parameters() : task.clip_params;
  const int64_t total_steps = std::max<int64_t>(1, o.epochs * steps_per_epoch);
  nn::LrSchedule schedule = nn::LrSchedule::warmup_cosine_schedule(
      static_cast<int64_t>(std::llround(o.warmup_epochs * steps_per_epoch)), total_steps, o.min_lr_factor);

  nn::TrainState st;
  if (!o.resume.empty()) {
    st = nn::load_checkpoint(o.resume, model, &opt);
    const json::Value* saved = st.extra.find("steps_per_epoch");
    IRIS_CHECK(saved == nullptr || saved->as_int() == steps_per_epoch, o.resume, ": the checkpoint was made with ",
               saved ? saved->as_int() : 0, " steps per epoch and this run has ", steps_per_epoch,
               "; resume with the same --batch-size and data");
    IRIS_CHECK(st.epoch <= o.epochs, o.resume, ": the checkpoint is at epoch ", st.epoch, ", past this run's ",
               o.epochs, " epochs; pass --epochs ", st.epoch, " or more to go on from it");
    IRIS_CHECK(st.epoch_step < steps_per_epoch || steps_per_epoch == 0, o.resume, ": the checkpoint is at step ",
               st.epoch_step, " of an epoch of ", steps_per_epoch, " steps");
    std::cerr << run.app() << ": resumed from " << o.resume << " at epoch " << st.epoch << ", step " << st.step << "\n";
  }
  std::vector<json::Value> curve_records =
      o.resume.empty() ? std::vector<json::Value>{} : previous_records(run.path("metrics.jsonl"));

  TrainResult res;
  double loss_sum = 0;  // of the epoch's steps so far (a mid-epoch checkpoint keeps them: the mean stays exact)
  int64_t loss_count = 0;
  if (st.epoch_step > 0 && st.extra.contains("epoch_loss_count")) {
    loss_sum = st.extra["epoch_loss_sum"].as_number();
    loss_count = st.extra["epoch_loss_count"].as_int();
  }
  ProgressBar bar(o.epochs, steps_per_epoch, o.bar_label, bar_mode(o.progress));
  const std::string ckpt = run.checkpoint_path("last.safetensors");
  auto checkpoint = [&](int64_t epoch, int64_t epoch_step) {
    nn::TrainState s;
    s.epoch = epoch;
    s.step = st.step;
    s.epoch_step = epoch_step;
    s.extra = o.checkpoint_extra.is_object() ? o.checkpoint_extra : json::Value::object();
    s.extra["steps_per_epoch"] = steps_per_epoch;
    if (epoch_step > 0) s.extra["epoch_loss_sum"] = loss_sum, s.extra["epoch_loss_count"] = loss_count;
    nn::save_checkpoint(ckpt, model, &opt, s);
  };
  auto log = [&](json::Value rec) {
    curve_records.push_back(rec);
    run.log(std::move(rec));
  };
  // The model in eval mode, an eval bar when the task asks for one, its summary line with the numbers.
  auto evaluate = [&](int64_t epoch, bool last) {
    std::unique_ptr<ProgressBar> eval_bar;
    EvalContext at;
    at.epoch = epoch;
    at.last = last;
    at.bar = [&](int64_t batches) -> ProgressBar& {
      IRIS_CHECK(!eval_bar, "train_loop: evaluate asked for its progress bar twice");
      eval_bar = std::make_unique<ProgressBar>(o.epochs, batches, "eval", bar_mode(o.progress));
      eval_bar->start_epoch(static_cast<int>(epoch));
      return *eval_bar;
    };
    auto started = Clock::now();
    model.eval();
    json::Value metrics = task.evaluate(at);
    model.train();
    IRIS_CHECK(metrics.is_object(), "train_loop: evaluate must return an object of named numbers");
    if (eval_bar) eval_bar->end_epoch(metrics_text(metrics));
    else if (o.progress)
      std::cerr << "eval epoch " << epoch << "/" << o.epochs << ": "
                << format_duration(std::chrono::duration<double>(Clock::now() - started).count()) << " | "
                << metrics_text(metrics) << "\n";
    return metrics;
  };
  auto pictures = [&](int64_t epoch, bool last) {
    if (o.pictures && task.pictures) task.pictures(epoch, last);
  };

  int64_t items = 0;
  bool evaluated_last = false;
  for (int64_t epoch = st.epoch; epoch < o.epochs; ++epoch) {
    int64_t epoch_step = epoch == st.epoch ? st.epoch_step : 0;
    auto started = Clock::now();
    task.batches.start_epoch(epoch, epoch_step);
    bar.start_epoch(static_cast<int>(epoch + 1));
    if (epoch_step == 0) loss_sum = 0, loss_count = 0;
    NoBatch batch;
    while (task.batches.next(batch)) {
      opt.set_lr_factor(schedule.factor(st.step));
      StepInfo at;
      at.step = st.step;
      at.epoch = epoch;
      at.epoch_step = epoch_step;
      at.epoch_position = static_cast<double>(epoch) + static_cast<double>(epoch_step + 1) / steps_per_epoch;
      StepOutput out = task.step(batch, at);
      opt.zero_grad();
      out.loss.backward();
      if (task.after_backward) task.after_backward(at);
      if (o.clip_norm > 0) nn::clip_grad_norm_(clip_params, o.clip_norm);
      opt.step();
      double lv = out.loss.item();
      IRIS_CHECK(std::isfinite(lv), "train: the loss became ", lv, " at step ", st.step,
                 "; lower --lr, lengthen --warmup or enable --clip-norm");
      ++st.step;
      ++epoch_step;
      res.step_losses.push_back(lv);
      loss_sum += lv;
      ++loss_count;
      items += out.items;
      bar.step(lv, out.items);
      if (o.log_every > 0 && st.step % o.log_every == 0) {
        json::Value rec = json::Value::object();
        rec["epoch"] = static_cast<double>(epoch) + static_cast<double>(epoch_step) / static_cast<double>(steps_per_epoch);
        rec["step"] = st.step;
        rec["loss"] = lv;
        for (const auto& [key, value] : out.parts.items()) rec[key] = value;
        rec["lr"] = opt.lr();
        log(rec);
      }
      const bool stop = o.stop_after_steps >= 0 && st.step >= o.stop_after_steps;
      if (stop || (o.save_every > 0 && st.step % o.save_every == 0)) {
        res.train_seconds += std::chrono::duration<double>(Clock::now() - started).count();
        checkpoint(epoch, epoch_step);
        started = Clock::now();
      }
      if (stop) {
        res.stopped_early = true;
        res.steps = st.step;
        res.final_train_loss = lv;
        res.items_per_second = res.train_seconds > 0 ? static_cast<double>(items) / res.train_seconds : 0.0;
        bar.end_epoch("(stopped)");
        return res;
      }
    }
    res.train_seconds += std::chrono::duration<double>(Clock::now() - started).count();
    bar.end_epoch();  // before the evaluation: the summary's items/s are the training's
    res.final_train_loss = loss_count ? loss_sum / static_cast<double>(loss_count) : 0.0;
    json::Value rec = json::Value::object();
    rec["epoch"] = epoch + 1;
    rec["step"] = st.step;
    rec["train_loss"] = res.final_train_loss;
    const bool last = epoch + 1 == o.epochs;
    if (task.evaluate && (last || (o.eval_every_epochs > 0 && (epoch + 1) % o.eval_every_epochs == 0))) {
      json::Value metrics = evaluate(epoch + 1, last);
      for (const auto& [key, value] : metrics.items()) rec[key] = value;
      if (last) res.metrics = metrics, evaluated_last = true;
    }
    log(rec);
    checkpoint(epoch + 1, 0);
    if (o.pictures)
      save_training_curves(run.path("curves.png"), curve_records, "epoch",
                           o.curves_title.empty() ? run.app() + " training" : o.curves_title);
    pictures(epoch + 1, false);
  }
  res.steps = st.step;
  res.items_per_second = res.train_seconds > 0 ? static_cast<double>(items) / res.train_seconds : 0.0;
  // A run resumed from its last epoch's checkpoint (or of 0 epochs) still reports the final numbers.
  if (task.evaluate && !evaluated_last) res.metrics = evaluate(o.epochs, true);
  pictures(o.epochs, true);
  return res;
}

}  // namespace detail

}  // namespace iris
