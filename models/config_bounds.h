// Bounds on model configurations, checked by the constructors before anything is allocated, so a
// config read from a file's metadata (vit eval --weights, unicl's checkpoints) or written in code
// gets one clear message instead of a division by zero or an allocation that never ends.
//   check_config_field("ViT", "patch_size", 0, 1, 1024)
//     -> "ViT: patch_size is 0; it must be in [1, 1024]"
//   check_parameter_budget("ViT", estimate) refuses models above kMaxModelParameters.
// Leaves out float fields (each constructor checks its own) and memory for activations.
#pragma once

#include <cstdint>

#include "tensor/error.h"

namespace iris::models {

// 2^31 parameters (8 GiB of f32): far above any model these apps train, far below what would
// exhaust a machine before the first block is built.
constexpr double kMaxModelParameters = 2147483648.0;

inline void check_config_field(const char* model, const char* field, int64_t value, int64_t lo, int64_t hi) {
  IRIS_CHECK(value >= lo && value <= hi, model, ": ", field, " is ", value, "; it must be in [", lo, ", ", hi, "]");
}

inline void check_parameter_budget(const char* model, double estimated_parameters) {
  IRIS_CHECK(estimated_parameters <= kMaxModelParameters, model, ": this configuration has about ",
             estimated_parameters, " parameters, above the limit of ", kMaxModelParameters,
             " (2^31); is a size field in the config wrong?");
}

}  // namespace iris::models
