// losses/detection and losses/contrastive's multi_positive_infonce against PyTorch
// (tests/golden/detection_losses.safetensors, written by make_detection_losses.py, all f64): each loss's
// value and its gradient at 1e-9 relative (torchvision's sigmoid_focal_loss and generalized_box_iou_loss,
// GLIP's masked token focal loss, CenterNet's _neg_loss with heatmaps drawn by its gaussian_radius /
// draw_umich_gaussian, F.binary_cross_entropy_with_logits(weight=), F.kl_div batchmean), plus
// finite-difference gradchecks of every loss in f64 and the errors.
#include <cmath>
#include <string>

#include "geometry/gaussian_heatmap.h"
#include "io/safetensors.h"
#include "losses/contrastive.h"
#include "losses/detection.h"
#include "tests/helpers.h"

using namespace iris;
using namespace iris::losses;

namespace {

const SafetensorsFile& golden() {
  static SafetensorsFile g = load_safetensors("tests/golden/detection_losses.safetensors");
  return g;
}
const Tensor& G(const std::string& name) { return golden().get(name); }
Tensor leaf(const std::string& name) { return G(name).detach().clone().requires_grad_(true); }

constexpr double kRel = 1e-9;

// loss (0-d, or summed when not) equals `value`, and the gradient of its sum w.r.t. x equals `grad`.
void check_value_and_grad(const Tensor& loss, const Tensor& x, const std::string& value, const std::string& grad) {
  INFO(value);
  if (loss.dim() == 0) {
    CHECK(loss.item() == doctest::Approx(G(value).item()).epsilon(kRel));
  } else {
    CHECK_CLOSE(loss, G(value), 1e-15, kRel);
  }
  x.zero_grad();
  (loss.dim() == 0 ? loss : sum(loss)).backward();
  REQUIRE(x.grad().defined());
  CHECK_CLOSE(x.grad(), G(grad), 1e-15, kRel);
}

}  // namespace

TEST_CASE("sigmoid focal loss equals torchvision.ops.sigmoid_focal_loss") {
  const Tensor t = G("focal.targets");
  for (auto [alpha, gamma, tag] : {std::tuple<double, double, std::string>{0.25, 2.0, ""}, {-1.0, 1.5, "_noalpha"}}) {
    Tensor x = leaf("focal.logits");
    CHECK_CLOSE(sigmoid_focal_loss(x, t, alpha, gamma, Reduction::none), G("focal.none" + tag), 1e-15, kRel);
    check_value_and_grad(sigmoid_focal_loss(x, t, alpha, gamma, Reduction::sum), x, "focal.sum" + tag,
                         "focal.grad_sum" + tag);
    x = leaf("focal.logits");
    check_value_and_grad(sigmoid_focal_loss(x, t, alpha, gamma, Reduction::mean), x, "focal.mean" + tag,
                         "focal.grad_mean" + tag);
  }
  Tensor x = testing::randn64({3, 4}, 5), y = gt(testing::randn64({3, 4}, 6, false), 0.0).to(DType::f64);
  CHECK_GRADCHECK([&](const std::vector<Tensor>& in) { return sigmoid_focal_loss(in[0], y); }, {x});
  CHECK_THROWS_WITH_SUBSTR(sigmoid_focal_loss(x, zeros({4, 3}, DType::f64)), "must have the same shape");
}

TEST_CASE("masked token focal loss equals GLIP's token_sigmoid_binary_focal_loss / num_pos") {
  Tensor x = leaf("masked.logits");
  Tensor mask = G("masked.mask").unsqueeze(1);  // [B, 1, T]: the text mask over every anchor
  const double num_pos = G("masked.num_pos").item();
  CHECK(num_pos == 4);
  check_value_and_grad(masked_focal_loss(x, G("masked.targets"), mask, num_pos), x, "masked.loss", "masked.grad");
  // a bool mask gives the same; masked-out tokens get no gradient
  Tensor y = leaf("masked.logits");
  Tensor loss = masked_focal_loss(y, G("masked.targets"), ne(mask, 0.0), num_pos);
  CHECK(loss.item() == doctest::Approx(G("masked.loss").item()).epsilon(kRel));
  loss.backward();
  CHECK(max(abs(y.grad().slice(2, 5, 6))).item() == 0.0);
  CHECK_GRADCHECK([&](const std::vector<Tensor>& in) { return masked_focal_loss(in[0], G("masked.targets"), mask, 4); },
                  {leaf("masked.logits")});
  CHECK_THROWS_WITH_SUBSTR(masked_focal_loss(x, G("masked.targets"), zeros({2, 1, 5}), 1), "does not broadcast");
}

TEST_CASE("GIoU loss equals torchvision.ops.generalized_box_iou_loss") {
  Tensor p = leaf("giou.pred");
  CHECK_CLOSE(giou_loss(p, G("giou.target")), G("giou.none"), 1e-15, kRel);
  check_value_and_grad(giou_loss(p, G("giou.target"), Reduction::sum), p, "giou.sum", "giou.grad_sum");
  p = leaf("giou.pred");
  check_value_and_grad(giou_loss(p, G("giou.target"), Reduction::mean), p, "giou.mean", "giou.grad_mean");
  CHECK_GRADCHECK([&](const std::vector<Tensor>& in) { return giou_loss(in[0], G("giou.target")); }, {leaf("giou.pred")});
  CHECK_THROWS_WITH_SUBSTR(giou_loss(zeros({3, 5}, DType::f64), zeros({3, 5}, DType::f64)), "must be [..., 4]");
}

TEST_CASE("CenterNet: gaussian_radius, the drawn heatmap and the Gaussian focal loss equal the reference") {
  std::vector<double> sizes = G("centernet.sizes").to_vector<double>();
  std::vector<double> radii = G("centernet.radii").to_vector<double>(), radii5 = G("centernet.radii_0.5").to_vector<double>();
  for (size_t i = 0; i < radii.size(); ++i) {
    CHECK(gaussian_radius(sizes[2 * i], sizes[2 * i + 1]) == doctest::Approx(radii[i]).epsilon(1e-12));
    CHECK(gaussian_radius(sizes[2 * i], sizes[2 * i + 1], 0.5) == doctest::Approx(radii5[i]).epsilon(1e-12));
  }
  const Tensor& ref = G("centernet.heatmap");  // [C, H, W]
  const int64_t C = ref.shape()[0], H = ref.shape()[1], W = ref.shape()[2];
  std::vector<std::vector<double>> maps(static_cast<size_t>(C), std::vector<double>(static_cast<size_t>(H * W), 0.0));
  std::vector<double> obj = G("centernet.objects").to_vector<double>();
  std::vector<int64_t> obj_r = G("centernet.object_radii").to_vector<int64_t>();
  for (size_t o = 0; o < obj_r.size(); ++o) {
    const double* v = &obj[5 * o];  // class, cx, cy, h, w
    const int64_t r = std::max<int64_t>(0, static_cast<int64_t>(gaussian_radius(std::ceil(v[3]), std::ceil(v[4]))));
    CHECK(r == obj_r[o]);
    draw_gaussian(maps[static_cast<size_t>(v[0])], H, W, v[1], v[2], r);
  }
  std::vector<double> flat;
  for (auto& m : maps) flat.insert(flat.end(), m.begin(), m.end());
  CHECK_CLOSE(from_vector(flat, ref.shape()), ref, 1e-15, 1e-12);
  // the tensor form draws the same peak
  Tensor one = draw_gaussian(zeros({H, W}, DType::f64), obj[1], obj[2], obj_r[0]);
  CHECK(max(one).item() == 1.0);

  Tensor heat = ref.unsqueeze(0);
  Tensor x = leaf("centernet.logits");
  check_value_and_grad(centernet_focal_loss(x, heat), x, "centernet.loss", "centernet.grad");
  x = leaf("centernet.logits");
  check_value_and_grad(centernet_focal_loss(x, heat * 0.9), x, "centernet.loss_nopos", "centernet.grad_nopos");
  Tensor small = testing::randn64({1, 2, 4, 4}, 9);
  Tensor small_heat = draw_gaussian(zeros({4, 4}, DType::f64), 1.5, 2.2, 1).reshape({1, 1, 4, 4}).expand({1, 2, 4, 4});
  CHECK_GRADCHECK([&](const std::vector<Tensor>& in) { return centernet_focal_loss(in[0], small_heat); }, {small});
  CHECK_THROWS_WITH_SUBSTR(draw_gaussian(zeros({4, 4}, DType::f64), 4.5, 1, 1), "must lie in the 4 x 4 heatmap");
  CHECK_THROWS_WITH_SUBSTR(gaussian_radius(3, 4, 1.5), "min_overlap must be in (0, 1)");
}

TEST_CASE("BCE-with-logits with per-element weights and KL divergence (batchmean) equal PyTorch") {
  Tensor x = leaf("bce.logits");
  check_value_and_grad(weighted_bce_with_logits(x, G("bce.target"), G("bce.weight"), Reduction::sum), x, "bce.sum",
                       "bce.grad_sum");
  x = leaf("bce.logits");
  check_value_and_grad(weighted_bce_with_logits(x, G("bce.target"), G("bce.weight")), x, "bce.mean", "bce.grad_mean");
  x = leaf("bce.logits");
  check_value_and_grad(weighted_bce_with_logits(x, G("bce.target"), G("bce.weight_row")), x, "bce.mean_row",
                       "bce.grad_mean_row");
  CHECK_GRADCHECK([&](const std::vector<Tensor>& in) {
    return weighted_bce_with_logits(in[0], G("bce.target"), G("bce.weight"));
  }, {leaf("bce.logits")});

  Tensor s = leaf("kl.input"), q = leaf("kl.target");
  Tensor kl = kl_div_batchmean(s, q);
  CHECK(kl.item() == doctest::Approx(G("kl.loss").item()).epsilon(kRel));
  kl.backward();
  CHECK_CLOSE(s.grad(), G("kl.grad_input"), 1e-15, kRel);
  CHECK_CLOSE(q.grad(), G("kl.grad_target"), 1e-15, kRel);
  CHECK_GRADCHECK([&](const std::vector<Tensor>& in) { return kl_div_batchmean(in[0], in[1]); },
                  {leaf("kl.input"), leaf("kl.target")});
}

TEST_CASE("multi-positive InfoNCE equals its PyTorch formula; UniCL is built on it") {
  Tensor z = leaf("nce.logits");
  check_value_and_grad(multi_positive_infonce(z, G("nce.positives")), z, "nce.loss", "nce.grad");
  CHECK_GRADCHECK([&](const std::vector<Tensor>& in) { return multi_positive_infonce(in[0], G("nce.positives")); },
                  {leaf("nce.logits")});
  // identity positives on image-text logits: one direction of CLIP's loss
  Tensor img = normalize(testing::randn64({4, 3}, 1, false), 2.0, -1), txt = normalize(testing::randn64({4, 3}, 2, false), 2.0, -1);
  Tensor scale = scalar_tensor(3.0, DType::f64);
  Tensor logits = matmul(img, txt.t()) * 3.0;
  Tensor eye4 = eye(4, 4, DType::f64);
  CHECK(clip_loss(img, txt, scale).item() ==
        doctest::Approx(multi_positive_infonce(logits, eye4).item() + multi_positive_infonce(logits.t(), eye4).item())
            .epsilon(1e-12));
  CHECK_THROWS_WITH_SUBSTR(multi_positive_infonce(logits, zeros({4, 4})), "has a positive");
}
