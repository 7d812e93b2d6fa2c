// MiniViT training on top of apps/common's train_classifier (see distill_step.h): the loss of each objective
// (its batch_loss) and the gradient-norm samples taken between backward and clipping (its after_backward).
// Leaves out: gradient-norm statistics across a resume (they cover the steps this process ran).
#include "apps/minivit/distill_step.h"

#include <cmath>
#include <fstream>
#include <iostream>

#include "io/file_util.h"

namespace iris {

namespace {

// The loss of one batch of the student; the unweighted terms of a distilled loss go into `parts`.
Tensor batch_loss(models::MiniVit& student, models::MiniVit* teacher, const Tensor& x, const Tensor& y,
                  const MiniVitTrainOptions& o, const std::vector<std::pair<int, int>>& pairs, json::Value& parts) {
  CrossEntropyOptions ce;
  ce.label_smoothing = o.base.label_smoothing;
  if (o.objective == Objective::label_ce) return cross_entropy(student.forward(x), y, ce);
  // The teacher is a constant: eval mode, no graph.
  Tensor teacher_logits;
  models::MiniVitTrace teacher_trace;
  const bool full = o.objective == Objective::weight_distillation;
  {
    NoGradGuard no_grad;
    teacher_logits = full ? teacher->forward_trace(x, &teacher_trace) : teacher->forward(x);
  }
  Tensor student_logits, total;
  if (full) {
    models::MiniVitTrace student_trace;
    student_logits = student.forward_trace(x, &student_trace);
    losses::DistillTerms terms =
        losses::weight_distillation(student_logits, student_trace, teacher_logits, teacher_trace, o.weights, pairs);
    total = terms.total;
    parts["logit_loss"] = terms.logit.item(), parts["attn_loss"] = terms.attn.item();
    parts["hidden_loss"] = terms.hidden.item();
  } else {
    student_logits = student.forward(x);
    Tensor logit = losses::soft_cross_entropy(student_logits, teacher_logits);
    total = logit * o.weights.logit;
    parts["logit_loss"] = logit.item();
  }
  if (o.label_weight > 0) {
    Tensor label = cross_entropy(student_logits, y, ce);
    total = total + label * o.label_weight;
    parts["label_loss"] = label.item();
  }
  return total;
}

void append_line(const std::string& path, const std::string& line) {
  std::ofstream out(path, std::ios::app);
  IRIS_CHECK(out.good(), "minivit: cannot write ", path);
  out << line << "\n";
}

}  // namespace

std::vector<std::pair<int, int>> distill_layer_pairs(int64_t student_depth, int64_t teacher_depth) {
  IRIS_CHECK(student_depth > 0 && teacher_depth > 0, "distill_layer_pairs: depths must be positive, got ",
             student_depth, " and ", teacher_depth);
  std::vector<std::pair<int, int>> pairs;
  if (student_depth == teacher_depth) return pairs;
  for (int64_t l = 0; l < student_depth; ++l) {
    int64_t t = std::llround(static_cast<double>((l + 1) * teacher_depth) / static_cast<double>(student_depth)) - 1;
    pairs.emplace_back(static_cast<int>(l), static_cast<int>(std::min(teacher_depth - 1, std::max<int64_t>(0, t))));
  }
  return pairs;
}

MiniVitTrainResult train_minivit(models::MiniVit& student, models::MiniVit* teacher,
                                 const std::shared_ptr<const data::Dataset>& train_set,
                                 const std::shared_ptr<const data::Dataset>& eval_set, const MiniVitTrainOptions& o,
                                 Run& run, const std::vector<std::string>& class_names) {
  IRIS_CHECK(o.objective == Objective::label_ce || teacher != nullptr,
             "minivit train: a distilled arm needs a teacher (--teacher CKPT, or let the app train one)");
  IRIS_CHECK(o.grad_every >= 0, "minivit train: --grad-every must be >= 0");
  std::vector<std::pair<int, int>> pairs;
  if (teacher) {
    IRIS_CHECK(teacher->cfg.grid() == student.cfg.grid(), "minivit: the teacher has ", teacher->cfg.grid(), "x",
               teacher->cfg.grid(), " tokens and the student ", student.cfg.grid(), "x", student.cfg.grid(),
               "; relations need the same tokens (same image and patch size)");
    IRIS_CHECK(teacher->cfg.vit.num_classes == student.cfg.vit.num_classes, "minivit: the teacher has ",
               teacher->cfg.vit.num_classes, " classes and the student ", student.cfg.vit.num_classes);
    pairs = distill_layer_pairs(student.depth(), teacher->depth());
    teacher->to(o.base.device);
    teacher->eval();
  }
  if (o.base.resume.empty()) write_file_atomic(run.path("grad_norms.jsonl"), "");
  GradNormTracker tracker(block_layout(student, student.block_parameter_prefixes()));
  MiniVitTrainResult res;
  ClassifyOptions c = o.base;
  c.batch_loss = [&](nn::Module&, const Tensor& x, const Tensor& y, json::Value& parts) {
    return batch_loss(student, teacher, x, y, o, pairs, parts);
  };
  c.after_backward = [&](const StepInfo& at) {  // before clipping: the raw gradients
    if (o.grad_every == 0 || at.step % o.grad_every != 0) return;
    GradNormSample s = tracker.measure(at.step, at.epoch_position);
    append_line(run.path("grad_norms.jsonl"), grad_norm_sample_json(s).dump());
    res.grad_samples.push_back(std::move(s));
  };
  res.r = train_classifier(student, train_set, eval_set, c, run, class_names);
  res.grad_norms = tracker.summary();
  return res;
}

}  // namespace iris
