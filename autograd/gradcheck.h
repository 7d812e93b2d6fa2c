// gradcheck: compares the gradients backward() computes with central finite differences, in f64.
// The function's output is projected on a fixed random tensor r (L = sum(f(x) * r)), so one
// backward pass checks the whole vector-Jacobian product. Each input that requires grad is
// perturbed element by element (at most max_elements of them, evenly spread), on its own storage,
// so non-contiguous inputs are checked as they are.
// Leaves out: complex numbers, second derivatives, and inputs that are not leaves.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace iris {

struct GradcheckOptions {
  double eps = 1e-6;             // finite-difference step
  double atol = 1e-6;            // |numeric - analytic| <= atol + rtol * |numeric|
  double rtol = 1e-4;
  int64_t max_elements = 48;     // per input; the rest are skipped
  uint64_t seed = 7;             // for the projection r
};

struct GradcheckResult {
  bool ok = true;
  std::string message;   // the worst element when !ok
  double max_abs_error = 0;
  int64_t checked = 0;   // elements compared
};

using TensorFn = std::function<Tensor(const std::vector<Tensor>&)>;

GradcheckResult gradcheck(const TensorFn& f, const std::vector<Tensor>& inputs, const GradcheckOptions& opts = {});

}  // namespace iris
