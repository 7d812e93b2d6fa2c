// MiniViT's step and hooks on the shared loop: one student (any arm), optionally a frozen teacher, and one of
// three objectives (label CE, logit KD, full weight distillation) as classify's batch_loss, with the per-block
// gradient-norm statistics sampled after backward. The loop itself is apps/common's train_classifier on
// train_loop (AdamW with timm's decay groups, warmup + cosine, progress bars, metrics.jsonl, checkpoints,
// exact resume, pictures).
// Leaves out: mixed precision, EMA, mixup/cutmix (the paper's recipe has them; this small plan does not).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "apps/common/classify.h"
#include "apps/common/run.h"
#include "apps/minivit/grad_stats.h"
#include "losses/distill.h"
#include "models/minivit.h"

namespace iris {

enum class Objective {
  label_ce,             // cross-entropy with the labels (teacher, shared, shared-ln, transform)
  logit_kd,             // soft CE against the teacher's logits only (logit-kd)
  weight_distillation,  // logit soft CE + Q/K/V relations + hidden-state relations (minivit)
};

struct MiniVitTrainOptions {
  ClassifyOptions base;                 // epochs, batch, lr, decay, warmup, clipping, seed, device, resume, ...
  Objective objective = Objective::label_ce;
  losses::DistillWeights weights;       // weight_distillation (logit only for logit_kd)
  double label_weight = 0.0;            // distilled arms: + this * label CE (the code's alpha; 0 there)
  int64_t grad_every = 5;               // sample the gradient norms every this many steps (0: never)
};

struct MiniVitTrainResult {
  ClassifyResult r;
  json::Value grad_norms = json::Value::object();  // GradNormTracker::summary()
  std::vector<GradNormSample> grad_samples;
};

// Student layer -> teacher layer pairs for distillation: empty when the depths match (same index),
// else student layer l pairs with teacher layer round((l + 1) * Dt / Ds) - 1.
std::vector<std::pair<int, int>> distill_layer_pairs(int64_t student_depth, int64_t teacher_depth);

// Trains `student` on train_set; the teacher (required unless label_ce) is put in eval mode and run
// without gradients. Writes metrics.jsonl, grad_norms.jsonl, checkpoints/last.safetensors, curves.png
// and predictions.png (when base.pictures) into the run folder.
MiniVitTrainResult train_minivit(models::MiniVit& student, models::MiniVit* teacher,
                                 const std::shared_ptr<const data::Dataset>& train_set,
                                 const std::shared_ptr<const data::Dataset>& eval_set, const MiniVitTrainOptions& opts,
                                 Run& run, const std::vector<std::string>& class_names);

}  // namespace iris
