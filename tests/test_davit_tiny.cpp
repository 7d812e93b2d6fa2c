// The full-size DaViT-Tiny (models::DaVit "davit-tiny", 224x224, 1000 classes) against timm's davit_tiny on
// one image: both filled with the same closed-form weights (tests/golden/make_davit_tiny.py), so the golden
// file holds only the logits and pooled features (18 KB instead of 110 MB of weights).
// Leaves out gradients and training steps (tests/test_davit.cpp checks those on small configs). Not skipped
// under the sanitizer build: the 4.5 GMAC forward took ~1.5 s in Release and ~11 s under ASan/UBSan (2 cores).
#include <algorithm>
#include <cmath>
#include <iomanip>
#include <memory>
#include <string>

#include "io/json.h"
#include "models/davit.h"
#include "nn/init.h"
#include "io/safetensors.h"
#include "tensor/grad_mode.h"
#include "tests/golden_helpers.h"

using namespace iris;
using namespace iris::models;

namespace {

// The formula of make_davit_tiny.py, element i of tensor k: h = (7919 i + 104729 k + 31 i^2) mod 65521
// in exact integer arithmetic, u = 2 h / 65521 - 1 in [-1, 1) (one correctly rounded division, so Python
// and C++ agree to the last bit in float64), then value = offset + scale u, cast to float32.
// h is stepped, not recomputed: h(i+1) - h(i) = 7919 + 31 (2 i + 1), itself growing by 62 (mod 65521).
constexpr int64_t kModulus = 65521;

std::vector<float> formula_values(int64_t n, int64_t k, double offset, double scale) {
  static const std::vector<double> u_of_h = [] {
    std::vector<double> u(kModulus);
    for (int64_t h = 0; h < kModulus; ++h) u[static_cast<size_t>(h)] = 2.0 * static_cast<double>(h) / kModulus - 1.0;
    return u;
  }();
  std::vector<float> out(static_cast<size_t>(n));
  int64_t h = ((104729 * k) % kModulus + kModulus) % kModulus;  // i = 0; Python's % is non-negative (k = -1)
  int64_t step = 7919 + 31;                                     // h(1) - h(0)
  for (int64_t i = 0; i < n; ++i) {
    const double u = u_of_h[static_cast<size_t>(h)];
    out[static_cast<size_t>(i)] = static_cast<float>(offset + scale * u);
    h += step;
    if (h >= kModulus) h -= kModulus;
    step += 62;
    if (step >= kModulus) step -= kModulus;
  }
  return out;
}

// Fills tensor k of the sorted state dict: weights of 2+ dims u sqrt(3 / fan_in), norm weights 1 + 0.2 u,
// other 1-d tensors (biases) 0.1 u.
void fill_formula(const std::string& name, const Tensor& t, int64_t k) {
  const bool norm_weight = name.find("norm") != std::string::npos && name.size() >= 7 &&
                           name.compare(name.size() - 7, 7, ".weight") == 0;
  std::vector<float> v;
  if (t.dim() >= 2) {
    const int64_t fan_in = t.numel() / t.shape()[0];
    v = formula_values(t.numel(), k, 0.0, std::sqrt(3.0 / static_cast<double>(fan_in)));
  } else if (norm_weight) {
    v = formula_values(t.numel(), k, 1.0, 0.2);
  } else {
    v = formula_values(t.numel(), k, 0.0, 0.1);
  }
  REQUIRE(t.dtype() == DType::f32);
  REQUIRE(t.is_contiguous());
  std::copy(v.begin(), v.end(), t.data<float>());
}

double abs_sum(const Tensor& t) {  // sum of |value| of a contiguous f32 tensor, in float64
  const float* p = t.data<float>();
  double total = 0;
  for (int64_t i = 0; i < t.numel(); ++i) total += std::fabs(static_cast<double>(p[i]));
  return total;
}

}  // namespace

TEST_CASE("DaViT-Tiny at 224x224 with formula weights matches timm's davit_tiny (logits, pooled features)") {
  SafetensorsFile g = load_safetensors("tests/golden/davit_tiny_formula.safetensors");
  std::unique_ptr<DaVit> model;
  {
    nn::init::SkipInitGuard skip;  // every value is overwritten below
    model = std::make_unique<DaVit>(DavitConfig::named("davit-tiny"));
  }
  nn::NamedTensors state = model->state_dict();
  std::sort(state.begin(), state.end(), [](const auto& a, const auto& b) { return a.first < b.first; });

  // Same names and shapes as timm's state dict, in the same sorted order (the formula's k depends on it).
  json::Value timm_state = json::parse(g.metadata.at("state"));
  REQUIRE(timm_state.elements().size() == state.size());
  for (size_t k = 0; k < state.size(); ++k) {
    const json::Value& entry = timm_state.elements()[k];
    CAPTURE(k);
    REQUIRE(state[k].first == entry.elements()[0].as_string());
    std::vector<int64_t> dims;
    for (const json::Value& d : entry.elements()[1].elements()) dims.push_back(d.as_int());
    REQUIRE(state[k].second.shape() == Shape(dims));
  }

  for (size_t k = 0; k < state.size(); ++k) fill_formula(state[k].first, state[k].second, static_cast<int64_t>(k));
  model->eval();
  // The fill is Python's: the sums of |value| in float64 agree (up to summation order), before any forward.
  double state_abs_sum = 0;
  for (const auto& [name, t] : state) state_abs_sum += abs_sum(t);
  const double want_state_sum = std::stod(g.metadata.at("state_abs_sum"));
  CHECK_MESSAGE(std::fabs(state_abs_sum - want_state_sum) <= 1e-9 * want_state_sum,
                "sum of |weights| " << std::setprecision(17) << state_abs_sum << ", Python's " << want_state_sum);

  // The image [1, 3, 224, 224]: 1.5 u with k = -1.
  Tensor image = from_vector(formula_values(3 * 224 * 224, -1, 0.0, 1.5), Shape{1, 3, 224, 224});
  const double image_sum = abs_sum(image), want_image_sum = std::stod(g.metadata.at("image_abs_sum"));
  CHECK_MESSAGE(std::fabs(image_sum - want_image_sum) <= 1e-9 * want_image_sum,
                "sum of |pixels| " << std::setprecision(17) << image_sum << ", Python's " << want_image_sum);

  NoGradGuard no_grad;
  Tensor features = model->forward_features(image);  // [1, 7, 7, 768]
  REQUIRE(features.shape() == Shape{1, 7, 7, 768});
  Tensor pooled = mean(features, {1, 2});             // [1, 768]
  Tensor logits = model->head->forward(features);     // [1, 1000]
  REQUIRE(logits.shape() == Shape{1, 1000});

  // float32 against float32 (timm on PyTorch's kernels). Tolerance 1e-4 of the largest value, as the other
  // golden tests: the file's metadata records that timm's own float32 logits differ from its float64 ones
  // by 6e-7 of the largest logit, and ours differ from timm's by 2e-6 (measured), so the depth leaves
  // ample room; one element of stages.0.blocks.0.0.attn.proj.weight moved by 0.05 already shows as 2e-3.
  double e_features = testing::scaled_error(pooled, g.get("out.features"));
  double e_logits = testing::scaled_error(logits, g.get("out.logits"));
  MESSAGE("DaViT-Tiny scaled errors: pooled features " << e_features << ", logits " << e_logits);
  CHECK_MESSAGE(e_features <= 1e-4, "pooled features: scaled error " << e_features);
  CHECK_MESSAGE(e_logits <= 1e-4, "logits: scaled error " << e_logits);
  // The logits are not degenerate: they spread (a constant or zero output would pass a loose check).
  std::vector<double> lv = logits.to_vector<double>();
  double lo = *std::min_element(lv.begin(), lv.end()), hi = *std::max_element(lv.begin(), lv.end());
  CHECK(hi - lo > 1.0);
}
