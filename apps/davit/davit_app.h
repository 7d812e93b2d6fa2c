// davit app, shared pieces: the two tasks as datasets (data.cpp), the arm's model config (model.cpp),
// one training run (train.cpp) and the attention picture (pictures.cpp). main.cpp holds the flags and
// the commands. Leaves out: ImageNet-sized data (models/davit's Tiny/Small/Base exist for counts).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "apps/common/classify.h"
#include "apps/common/flags.h"
#include "apps/common/run.h"
#include "data/loader.h"
#include "data/synth/probe.h"
#include "models/davit.h"

namespace iris::davit_app {

// ---- data (data.cpp) ----------------------------------------------------------------------------

struct TaskData {
  std::string task;  // "fmnist" or "probe"
  std::shared_ptr<data::TensorDataset> train, test;
  std::vector<std::string> classes;
};

// The budget of one run, shared by train and by every run of ablate.
struct Budget {
  int64_t fmnist_train = 6000, fmnist_test = 0, probe_train = 6000, probe_test = 2000;
  int probe_glyphs = 4, probe_scale = 1;
  bool probe_pair = true;
  bool augment = true;
};
Budget budget_from(const Flags& flags, bool ablate = false);
// The corner probe's options for a budget (letters, scale, label kind, jitter).
synth::CornerProbeOptions probe_options(const Budget& budget);
// fmnist: Fashion-MNIST zero-padded to [1, 32, 32] and normalised (train: random crop and flip when
// augment); probe: the corner probe, train and test drawn with different seeds. Throws for another task.
TaskData load_task(const std::string& task, const Flags& flags, const Budget& budget);
// The classes of a task without loading it (fmnist 10, probe by the budget).
int64_t task_classes(const std::string& task, const Budget& budget);

// ---- the model (model.cpp) ----------------------------------------------------------------------

// davit-pico with the arm's attention blocks, the task's classes, --mlp-ratio and --drop-path.
models::DavitConfig model_config(const std::string& arm, int64_t num_classes, const Flags& flags);
json::Value config_json(const models::DavitConfig& config);  // config.json, weights metadata

// ---- one training run (train.cpp) ---------------------------------------------------------------

struct RunResult {
  ClassifyResult r;
  int64_t params = 0, macs = 0;
  double seconds = 0;
  std::vector<json::Value> records;  // the run's metrics.jsonl records
};

// The loop's options from the flags, with the --quick budget (ablate: one epoch per run).
ClassifyOptions train_options(const Flags& flags, uint64_t seed, int64_t train_size, bool ablate);
// Trains one arm on one task in `run`: weights.safetensors, and with `pictures` the loop's pictures
// and attention.png.
RunResult train_one(const Flags& flags, const TaskData& data, const std::string& arm, uint64_t seed, Run& run,
                    bool pictures, bool ablate);

// ---- pictures (pictures.cpp) --------------------------------------------------------------------

// attention.png: for `count` test images, the image, its stage-1 spatial window attention and its
// stage-1 channel attention matrix.
void save_attention_picture(const std::string& path, models::DaVit& model, const data::Dataset& test,
                            const std::vector<std::string>& classes, int count, Device device);

}  // namespace iris::davit_app
