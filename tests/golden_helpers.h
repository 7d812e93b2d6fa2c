// A model against PyTorch through a golden safetensors file (tests/golden/<name>.safetensors, written
// by a script beside it) holding "param.*" weights, "input.images" [B, C, H, W] and "input.labels" [B],
// "out.logits" [B, classes], "out.loss", "grad.*" and optionally "train.losses" [5]:
//   check_model_against_golden(model, golden)   loads param.* (strict), then checks logits, loss, every
//                                               parameter's gradient and, when present, 5 AdamW steps
//   check_logits_against_golden(model, golden)  the logits and the cross-entropy loss (returned, for backward)
//   check_gradients_against_golden(model, g)    every parameter's gradient against grad.*, none left over
//   scaled_error(a, e)                          worst |a - e| over the largest |e| (printed on failure)
//   with_prefix(golden, "param.")               the tensors named prefix*, without the prefix
// Leaves out building the model from the file's config (each model's test knows its own config).
#pragma once

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "nn/optim.h"
#include "io/safetensors.h"
#include "tests/helpers.h"

namespace iris::testing {

// Worst |a - e| relative to the largest |e| of the tensor; printed on failure.
inline double scaled_error(const Tensor& a, const Tensor& e) {
  REQUIRE(a.shape() == e.shape());
  std::vector<double> av = a.to_vector<double>(), ev = e.to_vector<double>();
  double worst = 0, scale = 1e-30;
  for (size_t i = 0; i < av.size(); ++i) {
    worst = std::max(worst, std::fabs(av[i] - ev[i]));
    scale = std::max(scale, std::fabs(ev[i]));
  }
  return worst / scale;
}

inline nn::NamedTensors with_prefix(const SafetensorsFile& f, const std::string& prefix) {
  nn::NamedTensors out;
  for (auto& [k, v] : f.tensors)
    if (k.rfind(prefix, 0) == 0) out.push_back({k.substr(prefix.size()), v});
  return out;
}

// Model: an nn::Module with forward(images) -> logits. Checks the logits of input.images against
// out.logits (1e-4 scaled error) and their cross-entropy with input.labels against out.loss (1e-5
// relative); returns that loss.
template <class Model>
Tensor check_logits_against_golden(Model& model, const SafetensorsFile& g) {
  Tensor logits = model.forward(g.get("input.images"));
  double e_logits = scaled_error(logits, g.get("out.logits"));
  CHECK_MESSAGE(e_logits <= 1e-4, "logits: scaled error " << e_logits);
  Tensor loss = cross_entropy(logits, g.get("input.labels"));
  CHECK(loss.item() == doctest::Approx(g.get("out.loss").item()).epsilon(1e-5));
  return loss;
}

// After backward: every parameter's gradient against grad.<name> (1e-4 scaled error), and the file
// holds no grad.* beyond them. check_own(name, grad), when given and returning true, has checked that
// gradient itself (e.g. one that is rounding noise on both sides).
template <class Model>
void check_gradients_against_golden(
    Model& model, const SafetensorsFile& g,
    const std::function<bool(const std::string& name, const Tensor& grad)>& check_own = nullptr) {
  int checked = 0;
  for (auto& [pname, p] : model.named_parameters()) {
    CAPTURE(pname);
    REQUIRE(p.grad().defined());
    if (!check_own || !check_own(pname, p.grad())) {
      double e = scaled_error(p.grad(), g.get("grad." + pname));
      CHECK_MESSAGE(e <= 1e-4, "gradient of " << pname << ": scaled error " << e);
    }
    ++checked;
  }
  CHECK(checked == static_cast<int>(with_prefix(g, "grad.").size()));
}

// Model: an nn::Module with forward(images) -> logits, built from the golden file's config.
// Tolerances: logits and gradients 1e-4 scaled error, loss 1e-5 relative, each training loss 1e-4 relative.
template <class Model>
void check_model_against_golden(Model& model, const SafetensorsFile& g) {
  model.load_state_dict(with_prefix(g, "param."));  // strict: every timm name must exist here, and only those
  Tensor images = g.get("input.images"), labels = g.get("input.labels");
  Tensor loss = check_logits_against_golden(model, g);
  loss.backward();
  check_gradients_against_golden(model, g);

  if (!g.contains("train.losses")) return;
  // 5 AdamW steps on the same batch (lr 1e-3, wd 0.05 on every parameter, as the make scripts do).
  model.zero_grad();
  nn::AdamW opt(model.parameters(), 1e-3, 0.05);
  std::vector<float> expected = g.get("train.losses").to_vector<float>();
  REQUIRE(expected.size() == 5);
  for (size_t step = 0; step < expected.size(); ++step) {
    opt.zero_grad();
    Tensor l = cross_entropy(model.forward(images), labels);
    CHECK_MESSAGE(std::fabs(l.item() - expected[step]) <= 1e-4 * std::fabs(expected[step]),
                  "step " << step << ": loss " << l.item() << " vs PyTorch " << expected[step]);
    l.backward();
    opt.step();
  }
}

}  // namespace iris::testing
