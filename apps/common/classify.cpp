// The shared classification training loop (see classify.h).
#include "apps/common/classify.h"

#include <cmath>
#include <fstream>
#include <iostream>

#include "apps/common/plot.h"
#include "apps/common/progress.h"
#include "data/draw.h"
#include "metrics/classification.h"
#include "nn/checkpoint.h"
#include "nn/optim.h"

namespace iris {

namespace {

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

}  // namespace

EvalResult evaluate_classifier(nn::Module& model, const std::shared_ptr<const data::Dataset>& eval_set,
                               int64_t batch_size, Device device, bool progress) {
  NoGradGuard ng;
  bool was_training = model.is_training();
  model.eval();
  data::LoaderOptions lo;
  lo.batch_size = batch_size;
  lo.shuffle = false;
  lo.pin_memory = device.is_cuda();  // batches in pinned memory: the host-to-GPU copy is asynchronous
  data::DataLoader loader(eval_set, lo);
  loader.start_epoch(0);
  ProgressBar bar(0, loader.num_batches(), "eval", bar_mode(progress));
  bar.start_epoch(1);
  std::vector<int64_t> preds, labels;
  double loss_sum = 0;
  data::Batch b;
  while (loader.next(b)) {
    Tensor logits = model.forward(b.x.to(device));
    CrossEntropyOptions sum_losses;
    sum_losses.reduction = Reduction::sum;
    loss_sum += cross_entropy(logits, b.y.to(device), sum_losses).item();
    for (int64_t p : argmax(logits, 1).to_vector<int64_t>()) preds.push_back(p);
    for (int64_t y : b.y.to_vector<int64_t>()) labels.push_back(y);
    bar.step(b.x.shape()[0]);
  }
  bar.end_epoch();
  model.train(was_training);
  EvalResult r;
  r.top1 = metrics::top1_percent(preds, labels);
  r.loss = preds.empty() ? 0.0 : loss_sum / static_cast<double>(preds.size());
  r.predictions = from_vector(preds);
  r.labels = from_vector(labels);
  return r;
}

json::Value evaluate_and_report(const std::string& app, nn::Module& model,
                                const std::shared_ptr<const data::Dataset>& eval_set,
                                const std::vector<std::string>& class_names, int64_t batch_size, Device device,
                                Run& run, const std::string& what) {
  model.to(device);
  EvalResult ev = evaluate_classifier(model, eval_set, batch_size, device);
  save_prediction_grid(run.path("predictions.png"), *eval_set, ev.predictions, class_names);
  std::cerr << app << ": test accuracy " << ev.top1 << "% on " << ev.labels.numel() << " "
            << (what.empty() ? "" : what + " ") << "images\n";
  json::Value m = json::Value::object();
  m["top1"] = ev.top1;
  m["params"] = model.parameter_count();
  m["loss"] = ev.loss;
  return m;
}

void save_prediction_grid(const std::string& path, const data::Dataset& eval_set, const Tensor& predictions,
                          const std::vector<std::string>& class_names, int count) {
  int64_t n = std::min<int64_t>(count, std::min<int64_t>(eval_set.size(), predictions.numel()));
  std::vector<int64_t> idx(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) idx[i] = i;
  Generator unused(0);
  data::Batch b = eval_set.get_batch(idx, unused);
  std::vector<int64_t> pred = predictions.to_vector<int64_t>(), truth = b.y.to_vector<int64_t>();
  auto name = [&](int64_t c) { return c >= 0 && c < static_cast<int64_t>(class_names.size()) ? class_names[c] : std::to_string(c); };
  std::vector<GridCell> cells;
  for (int64_t i = 0; i < n; ++i) {
    Tensor img = b.x.select(0, i);
    // undo a normalisation to [-1, 1]-ish ranges for display: rescale each image to [0, 1]
    double lo = min(img).item(), hi = max(img).item();
    Tensor shown = hi > lo ? (img - lo) / (hi - lo) : img;
    cells.push_back(prediction_cell(tensor_to_image(shown), name(pred[i]), name(truth[i])));
  }
  GridOptions go;
  go.columns = 8;
  go.cell_width = 84;
  go.title = "test images: predicted / true";
  save_png(path, make_image_grid(cells, go));
}

ClassifyResult train_classifier(nn::Module& model, const std::shared_ptr<const data::Dataset>& train_set,
                                const std::shared_ptr<const data::Dataset>& eval_set, const ClassifyOptions& o,
                                Run& run, const std::vector<std::string>& class_names) {
  IRIS_CHECK(o.epochs >= 0, "train: --epochs must be >= 0");
  model.to(o.device);
  model.train();
  data::LoaderOptions lo;
  lo.batch_size = o.batch_size;
  lo.shuffle = true;
  lo.drop_last = true;
  lo.seed = o.seed;
  lo.workers = o.workers;
  lo.pin_memory = o.device.is_cuda();
  data::DataLoader loader(train_set, lo);
  const int64_t steps_per_epoch = loader.num_batches();
  IRIS_CHECK(steps_per_epoch > 0, "train: the training set (", train_set->size(), " items) is smaller than one batch (",
             o.batch_size, "); lower --batch-size");

  nn::AdamW opt(nn::decay_groups(model, o.lr, o.weight_decay));
  const int64_t total_steps = std::max<int64_t>(1, o.epochs * steps_per_epoch);
  nn::LrSchedule schedule = nn::LrSchedule::warmup_cosine_schedule(
      static_cast<int64_t>(std::llround(o.warmup_epochs * steps_per_epoch)), total_steps, o.min_lr_factor);

  nn::TrainState st;
  if (!o.resume.empty()) {
    st = nn::load_checkpoint(o.resume, model, &opt);
    std::cerr << run.app() << ": resumed from " << o.resume << " at epoch " << st.epoch << ", step " << st.step << "\n";
  }
  std::vector<json::Value> curve_records = o.resume.empty() ? std::vector<json::Value>{} : previous_records(run.path("metrics.jsonl"));

  ClassifyResult res;
  res.params = model.parameter_count();
  CrossEntropyOptions ce;
  ce.label_smoothing = o.label_smoothing;
  ProgressBar bar(o.epochs, steps_per_epoch, "train", bar_mode(o.progress));
  const std::string ckpt = run.checkpoint_path("last.safetensors");
  auto checkpoint = [&](int64_t epoch, int64_t epoch_step) {
    nn::TrainState s;
    s.epoch = epoch;
    s.step = st.step;
    s.epoch_step = epoch_step;
    s.extra = o.checkpoint_extra.is_object() ? o.checkpoint_extra : json::Value::object();
    s.extra["steps_per_epoch"] = steps_per_epoch;
    nn::save_checkpoint(ckpt, model, &opt, s);
  };
  auto log = [&](json::Value rec) {
    curve_records.push_back(rec);
    run.log(std::move(rec));
  };

  EvalResult last_eval;
  bool have_last_eval = false;
  for (int64_t epoch = st.epoch; epoch < o.epochs; ++epoch) {
    int64_t epoch_step = epoch == st.epoch ? st.epoch_step : 0;
    loader.start_epoch(epoch, epoch_step);
    bar.start_epoch(static_cast<int>(epoch + 1));
    double loss_sum = 0;
    int64_t loss_count = 0;
    data::Batch b;
    while (loader.next(b)) {
      opt.set_lr_factor(schedule.factor(st.step));
      Tensor x = b.x.to(o.device), y = b.y.to(o.device);
      json::Value parts = json::Value::object();
      Tensor loss = o.batch_loss ? o.batch_loss(model, x, y, parts) : cross_entropy(model.forward(x), y, ce);
      opt.zero_grad();
      loss.backward();
      if (o.after_backward)
        o.after_backward(st.step, static_cast<double>(epoch) + static_cast<double>(epoch_step + 1) / steps_per_epoch);
      if (o.clip_norm > 0) nn::clip_grad_norm_(model.parameters(), o.clip_norm);
      opt.step();
      double lv = loss.item();
      IRIS_CHECK(std::isfinite(lv), "train: the loss became ", lv, " at step ", st.step,
                 "; lower --lr or enable --clip-norm");
      ++st.step;
      ++epoch_step;
      res.step_losses.push_back(lv);
      loss_sum += lv;
      ++loss_count;
      bar.step(lv, b.x.shape()[0]);
      if (o.log_every > 0 && st.step % o.log_every == 0) {
        json::Value rec = json::Value::object();
        rec["epoch"] = static_cast<double>(epoch) + static_cast<double>(epoch_step) / static_cast<double>(steps_per_epoch);
        rec["step"] = st.step;
        rec["loss"] = lv;
        for (const auto& [key, value] : parts.items()) rec[key] = value;
        rec["lr"] = opt.lr();
        log(rec);
      }
      if (o.save_every > 0 && st.step % o.save_every == 0) checkpoint(epoch, epoch_step);
      if (o.stop_after_steps >= 0 && st.step >= o.stop_after_steps) {
        checkpoint(epoch, epoch_step);
        res.stopped_early = true;
        res.steps = st.step;
        res.final_train_loss = lv;
        bar.end_epoch("(stopped)");
        return res;
      }
    }
    res.final_train_loss = loss_count ? loss_sum / static_cast<double>(loss_count) : 0.0;
    json::Value rec = json::Value::object();
    rec["epoch"] = epoch + 1;
    rec["step"] = st.step;
    rec["train_loss"] = res.final_train_loss;
    std::string extra;
    bool last = epoch + 1 == o.epochs;
    if (eval_set && (last || (o.eval_every_epochs > 0 && (epoch + 1) % o.eval_every_epochs == 0))) {
      EvalResult ev = evaluate_classifier(model, eval_set, o.batch_size, o.device, false);
      last_eval = ev;
      have_last_eval = last;
      rec["top1"] = ev.top1;
      rec["eval_loss"] = ev.loss;
      char buf[64];
      std::snprintf(buf, sizeof buf, "top1 %.2f%%", ev.top1);
      extra = buf;
    }
    log(rec);
    bar.end_epoch(extra);
    checkpoint(epoch + 1, 0);
    if (o.pictures) save_training_curves(run.path("curves.png"), curve_records, "epoch", run.app() + " training");
  }
  res.steps = st.step;
  if (eval_set) {
    EvalResult ev = have_last_eval ? last_eval : evaluate_classifier(model, eval_set, o.batch_size, o.device, o.progress);
    res.top1 = ev.top1;
    if (o.pictures) save_prediction_grid(run.path("predictions.png"), *eval_set, ev.predictions, class_names);
  }
  return res;
}

void add_loop_flags(Flags& flags, int64_t log_every) {
  flags.add_int("eval-every", 0, "evaluate every N epochs (0: only after the last)");
  flags.add_int("workers", 0, "background data loader threads (0: batches are made between steps)");
  flags.add_int("log-every", log_every, "a metrics.jsonl line every N steps");
}

ClassifyOptions classify_options(const Flags& flags) {
  ClassifyOptions o;
  o.epochs = flags.epochs();
  o.batch_size = flags.batch_size();
  o.lr = flags.lr();
  o.seed = flags.seed();
  o.resume = flags.resume();
  o.device = flags.device();
  auto number = [&](const char* name, double& field) {
    if (flags.has(name)) field = flags.get_double(name);
  };
  auto integer = [&](const char* name, int64_t& field) {
    if (flags.has(name)) field = flags.get_int(name);
  };
  number("weight-decay", o.weight_decay);
  number("warmup", o.warmup_epochs);
  number("label-smoothing", o.label_smoothing);
  number("clip-norm", o.clip_norm);
  if (flags.has("workers")) o.workers = static_cast<int>(flags.get_int("workers"));
  integer("log-every", o.log_every);
  integer("eval-every", o.eval_every_epochs);
  integer("save-every", o.save_every);
  integer("stop-after-steps", o.stop_after_steps);
  return o;
}

}  // namespace iris
