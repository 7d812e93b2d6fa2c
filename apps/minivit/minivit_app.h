// minivit app, shared pieces: the arms and their model configs (model.cpp), Fashion-MNIST with the
// stratified subset (data.cpp), one arm's training run (train_arm.cpp, on the loop of train_loop.h),
// the teacher of the distilled arms (teacher.cpp) and the gradient-norm plots (pictures.cpp).
// main.cpp holds the flags and the commands. Leaves out: ImageNet-sized runs, Mini-Swin windows.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "apps/common/flags.h"
#include "image/plot.h"
#include "apps/common/run.h"
#include "apps/minivit/distill_step.h"
#include "data/loader.h"
#include "models/minivit.h"

namespace iris::minivit_app {

// ---- the arms and their models (model.cpp) --------------------------------------------------------

// Every arm of the ablation, in table order. "single-layer" is the minivit recipe with share = depth.
extern const std::vector<std::string> kArms;
bool is_distilled(const std::string& arm);  // minivit, logit-kd, single-layer: they need a teacher
void check_arm(const std::string& arm, const char* where);  // throws for an unknown arm

// The student (or teacher) config of an arm: the spec's FMNIST macro shape (patch 4, dim 64, depth 6,
// 4 heads, MLP ratio 2, average pooling) with the arm's sharing and transforms.
models::MiniVitConfig arm_config(const std::string& arm, const Flags& flags);
json::Value config_json(const models::MiniVitConfig& config);
models::MiniVitConfig config_from_json(const json::Value& v);
// A MiniViT with the weights and config of a file written by this app: weights.safetensors (config in
// the metadata) or a checkpoint (config in the metadata's "extra"). `what` names the file in errors.
std::unique_ptr<models::MiniVit> load_model(const std::string& path, const char* what);

// ---- data (data.cpp) -------------------------------------------------------------------------------

struct Data {
  std::shared_ptr<data::TensorDataset> train, test;
  int64_t train_size = 0, test_size = 0;
};

// The budget every arm shares.
struct Budget {
  int64_t train_subset = 15000, test_subset = 0;
  int64_t shift = 2;
  bool flip = false;
};
Budget budget_from(const Flags& flags, bool ablate);

// The first ceil/floor(n / classes) images of each class in file order (the remainder goes to the
// lowest classes), kept in file order.
std::vector<int64_t> stratified_indices(const std::vector<int64_t>& labels, int64_t n, int64_t classes);
// Fashion-MNIST [B, 1, 28, 28], normalised; train: the stratified subset, random shift and flip.
Data load_data(const Flags& flags, const Budget& budget);

// ---- one arm (train_arm.cpp) ---------------------------------------------------------------------

MiniVitTrainOptions train_options(const Flags& flags, const std::string& arm, int64_t train_size);

struct ArmResult {
  std::string arm;
  models::MiniVitConfig cfg;
  MiniVitTrainResult t;
  int64_t params = 0;
  double seconds = 0;
};

// Trains one arm with `seed` in `run` (its own folder) and writes weights.safetensors and
// grad_norms.png there. ablate: never resumes.
ArmResult train_arm(const Flags& flags, const std::string& arm, const Data& data, models::MiniVit* teacher, Run& run,
                    bool ablate, uint64_t seed);
// The arm's line: top1, params, share, steps, losses and the gradient-norm summary.
json::Value arm_metrics(const ArmResult& result);

// ---- the teacher (teacher.cpp) -----------------------------------------------------------------------

// The teacher of the distilled arms: loaded from --teacher, or trained (arm "teacher") in a folder.
struct Teacher {
  std::unique_ptr<models::MiniVit> model;
  ArmResult trained;  // when trained here
  bool was_trained = false;
  double top1 = NAN;
  std::string path;   // its weights
};

// --teacher when given; else the one a resumed run trained before in `dir`; else trains one there
// with `seed` (and writes its result.json).
Teacher get_teacher(const Flags& flags, const Data& data, const std::string& dir, bool ablate, uint64_t seed);
// A --teacher that cannot be read fails before the data is loaded.
void check_teacher_file(const Flags& flags);

// ---- pictures (pictures.cpp) ---------------------------------------------------------------------------

// One arm's gradient L2 norm per unique block over the steps (log-y), one series per block.
LinePlot grad_norm_plot(const std::string& arm, const std::vector<GradNormSample>& samples, int64_t unique_blocks);
// The ablation's two panels: the max and the mean over unique blocks of each arm's block norms.
struct GradNormPanels {
  LinePlot max, mean;
  GradNormPanels();
  void add(const std::string& arm, Color color, const std::vector<GradNormSample>& samples);
  bool empty() const;
};

}  // namespace iris::minivit_app
