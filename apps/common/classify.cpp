// Classification on the shared training loop (see classify.h): the loader as batch source, the cross-entropy
// step, top-1 as the evaluation, the prediction grid as the picture; and `<app> eval`'s report.
#include "apps/common/classify.h"

#include <iostream>
#include <memory>

#include "image/plot.h"
#include "image/draw.h"
#include "metrics/classification.h"

namespace iris {

EvalResult evaluate_classifier(nn::Module& model, const std::shared_ptr<const data::Dataset>& eval_set,
                               int64_t batch_size, Device device, bool progress) {
  std::unique_ptr<ProgressBar> bar;
  EvalResult r = evaluate_classifier(model, eval_set, batch_size, device, [&](int64_t batches) -> ProgressBar& {
    bar = std::make_unique<ProgressBar>(0, batches, "eval",
                                        progress ? ProgressBar::Mode::automatic : ProgressBar::Mode::off);
    bar->start_epoch(1);
    return *bar;
  });
  if (bar) bar->end_epoch();
  return r;
}

EvalResult evaluate_classifier(nn::Module& model, const std::shared_ptr<const data::Dataset>& eval_set,
                               int64_t batch_size, Device device, const EvalBar& make_bar) {
  NoGradGuard ng;
  bool was_training = model.is_training();
  model.eval();
  data::LoaderOptions lo;
  lo.batch_size = batch_size;
  lo.shuffle = false;
  lo.pin_memory = device.is_cuda();  // batches in pinned memory: the host-to-GPU copy is asynchronous
  data::DataLoader loader(eval_set, lo);
  loader.start_epoch(0);
  ProgressBar& bar = make_bar(loader.num_batches());
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
  data::LoaderOptions lo;
  lo.batch_size = o.batch_size;
  lo.shuffle = true;
  lo.drop_last = true;
  lo.seed = o.seed;
  lo.workers = o.workers;
  lo.pin_memory = o.device.is_cuda();
  data::DataLoader loader(train_set, lo);
  IRIS_CHECK(loader.num_batches() > 0, "train: the training set (", train_set->size(),
             " items) is smaller than one batch (", o.batch_size, "); lower --batch-size");

  TrainTask<data::Batch> task;
  task.model = &model;  // default decay groups (timm's); clipping over model.parameters()
  task.batches.steps_per_epoch = loader.num_batches();
  task.batches.start_epoch = [&](int64_t epoch, int64_t skip) { loader.start_epoch(epoch, skip); };
  task.batches.next = [&](data::Batch& b) { return loader.next(b); };
  CrossEntropyOptions ce;
  ce.label_smoothing = o.label_smoothing;
  task.step = [&](const data::Batch& b, const StepInfo&) {
    StepOutput out;
    Tensor x = b.x.to(o.device), y = b.y.to(o.device);
    out.loss = o.batch_loss ? o.batch_loss(model, x, y, out.parts) : cross_entropy(model.forward(x), y, ce);
    out.items = b.x.shape()[0];
    return out;
  };
  task.after_backward = o.after_backward;
  EvalResult last_eval;
  if (eval_set) {
    task.evaluate = [&](const EvalContext& at) {
      last_eval = evaluate_classifier(model, eval_set, o.batch_size, o.device, at.bar);
      json::Value m = json::Value::object();
      m["top1"] = last_eval.top1;
      m["eval_loss"] = last_eval.loss;
      return m;
    };
    task.pictures = [&](int64_t, bool last) {
      if (last) save_prediction_grid(run.path("predictions.png"), *eval_set, last_eval.predictions, class_names);
    };
  }

  ClassifyResult res;
  res.params = model.parameter_count();
  TrainResult t = train_loop(task, o, run);
  res.steps = t.steps;
  res.step_losses = std::move(t.step_losses);
  res.final_train_loss = t.final_train_loss;
  res.stopped_early = t.stopped_early;
  if (t.metrics.contains("top1")) res.top1 = t.metrics["top1"].as_number();
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
