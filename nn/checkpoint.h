// Training checkpoints in safetensors: everything a run needs to continue exactly where it stopped.
//   tensors   "model.<name>"  the model's state dict (parameters and buffers)
//             "optim.<key>"   the optimiser's state (moments, step count)
//   metadata  "format": "iris-checkpoint-1", "epoch", "step" (steps done), "rng_seed", "rng_offset"
//             (the global generator), "extra" (JSON: config, schedule, best metric, ...)
// The file is written atomically (io/safetensors.h), so a crash mid-write loses nothing.
// Plain weight files (a timm state dict exported from Python, no prefix) load with load_weights.
// Leaves out: sharded checkpoints, optimiser state for a different parameter grouping.
#pragma once

#include <string>

#include "io/json.h"
#include "nn/module.h"
#include "nn/optim.h"

namespace iris::nn {

struct TrainState {
  int64_t epoch = 0;         // epochs completed
  int64_t step = 0;          // optimiser steps completed
  int64_t epoch_step = 0;    // steps completed inside the current (unfinished) epoch
  uint64_t rng_seed = 0, rng_offset = 0;
  json::Value extra = json::Value::object();
};

// Saves model (+ optimizer when given) and the state; state.rng_* are taken from the global generator.
void save_checkpoint(const std::string& path, const Module& model, const Optimizer* optimizer, TrainState state);

// Loads a checkpoint into model (strict) and optimizer (when given), restores the global generator
// and returns the state. Errors name the file and what does not match.
TrainState load_checkpoint(const std::string& path, Module& model, Optimizer* optimizer);

// Loads model weights from a checkpoint (its "model." tensors) or from a plain state dict file
// (names as the model's own, e.g. exported from timm). strict as Module::load_state_dict.
void load_weights(const std::string& path, Module& model, bool strict = true);

// Writes only the model's state dict with plain names (what Python's load_file + load_state_dict expects).
void save_weights(const std::string& path, const Module& model,
                  const std::map<std::string, std::string>& metadata = {});

}  // namespace iris::nn
