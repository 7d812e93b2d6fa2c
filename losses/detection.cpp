// Detection losses (detection.h), composed from autograd ops in the references' order of operations.
#include "losses/detection.h"

#include <algorithm>
#include <string>

namespace iris::losses {

namespace {

void check_same_shape(const char* op, const char* a_name, const Tensor& a, const char* b_name, const Tensor& b) {
  IRIS_CHECK(a.defined() && b.defined(), op, ": ", a_name, " or ", b_name, " is undefined");
  IRIS_CHECK(a.shape() == b.shape(), op, ": ", a_name, " ", shape_str(a.shape()), " and ", b_name, " ",
             shape_str(b.shape()), " must have the same shape");
  IRIS_CHECK(is_floating(a.dtype()), op, ": ", a_name, " must be a float tensor, got ", dtype_name(a.dtype()));
}

Tensor reduce(const Tensor& per_element, Reduction reduction) {
  switch (reduction) {
    case Reduction::none: return per_element;
    case Reduction::sum: return sum(per_element);
    case Reduction::mean: break;
  }
  return mean(per_element);
}

// A constant in x's dtype and device (masks, weights, targets carry no gradient).
Tensor constant_like(const Tensor& t, const Tensor& x) { return t.detach().to(x.dtype()).to(x.device()); }

}  // namespace

Tensor sigmoid_focal_loss(const Tensor& logits, const Tensor& targets, double alpha, double gamma,
                          Reduction reduction) {
  check_same_shape("sigmoid_focal_loss", "logits", logits, "targets", targets);
  Tensor t = constant_like(targets, logits);
  Tensor p = sigmoid(logits);
  Tensor ce = binary_cross_entropy_with_logits(logits, t, Tensor(), Reduction::none);
  Tensor p_t = p * t + (1.0 - p) * (1.0 - t);
  Tensor loss = ce * pow(1.0 - p_t, gamma);
  if (alpha >= 0) loss = (t * alpha + (1.0 - t) * (1.0 - alpha)) * loss;
  return reduce(loss, reduction);
}

Tensor masked_focal_loss(const Tensor& logits, const Tensor& targets, const Tensor& mask, double num_positives,
                         double alpha, double gamma) {
  Tensor loss = sigmoid_focal_loss(logits, targets, alpha, gamma, Reduction::none);
  if (mask.defined()) {
    bool fits = mask.dim() <= logits.dim();
    for (int64_t i = 0; fits && i < mask.dim(); ++i) {
      const int64_t m = mask.shape()[mask.dim() - 1 - i], l = logits.shape()[logits.dim() - 1 - i];
      fits = m == 1 || m == l;
    }
    IRIS_CHECK(fits, "masked_focal_loss: the mask ", shape_str(mask.shape()), " does not broadcast to the logits ",
               shape_str(logits.shape()), " (e.g. a text mask [B, 1, T] for logits [B, A, T])");
    // where, not a product: a masked-out pair contributes exactly 0 even when its loss is inf or NaN.
    Tensor keep = mask.dtype() == DType::b8 ? mask.to(logits.device()) : ne(constant_like(mask, logits), 0.0);
    loss = where(keep, loss, zeros_like(loss));
  }
  return sum(loss) / std::max(num_positives, 1.0);
}

Tensor giou_loss(const Tensor& pred, const Tensor& target, Reduction reduction, double eps) {
  check_same_shape("giou_loss", "pred", pred, "target", target);
  IRIS_CHECK(pred.dim() >= 1 && pred.shape()[pred.dim() - 1] == 4, "giou_loss: boxes must be [..., 4] xyxy, got ",
             shape_str(pred.shape()));
  const int64_t last = pred.dim() - 1;
  auto col = [&](const Tensor& t, int64_t i) { return t.slice(last, i, i + 1).squeeze(last); };
  Tensor x1 = col(pred, 0), y1 = col(pred, 1), x2 = col(pred, 2), y2 = col(pred, 3);
  Tensor g = constant_like(target, pred);
  Tensor x1g = col(g, 0), y1g = col(g, 1), x2g = col(g, 2), y2g = col(g, 3);
  Tensor xk1 = maximum(x1, x1g), yk1 = maximum(y1, y1g), xk2 = minimum(x2, x2g), yk2 = minimum(y2, y2g);
  Tensor overlap = logical_and(gt(yk2, yk1), gt(xk2, xk1));
  Tensor inter = where(overlap, (xk2 - xk1) * (yk2 - yk1), zeros_like(x1));
  Tensor uni = (x2 - x1) * (y2 - y1) + (x2g - x1g) * (y2g - y1g) - inter;
  Tensor iou = inter / (uni + eps);
  Tensor xc1 = minimum(x1, x1g), yc1 = minimum(y1, y1g), xc2 = maximum(x2, x2g), yc2 = maximum(y2, y2g);
  Tensor area_c = (xc2 - xc1) * (yc2 - yc1);
  Tensor giou = iou - (area_c - uni) / (area_c + eps);
  return reduce(1.0 - giou, reduction);
}

Tensor centernet_focal_loss(const Tensor& logits, const Tensor& heatmap, double alpha, double beta) {
  check_same_shape("centernet_focal_loss", "logits", logits, "heatmap", heatmap);
  Tensor gt_map = constant_like(heatmap, logits);
  Tensor p = clamp(sigmoid(logits), 1e-4, 1 - 1e-4);
  Tensor pos = eq(gt_map, 1.0).to(logits.dtype()), neg = lt(gt_map, 1.0).to(logits.dtype());
  Tensor neg_weights = pow(1.0 - gt_map, beta);
  Tensor pos_loss = sum(log(p) * pow(1.0 - p, alpha) * pos);
  Tensor neg_loss = sum(log(1.0 - p) * pow(p, alpha) * neg_weights * neg);
  const double num_pos = sum(pos).item();
  if (num_pos == 0) return -neg_loss;
  return -(pos_loss + neg_loss) / num_pos;
}

Tensor weighted_bce_with_logits(const Tensor& logits, const Tensor& target, const Tensor& weight,
                                Reduction reduction) {
  check_same_shape("weighted_bce_with_logits", "logits", logits, "target", target);
  IRIS_CHECK(weight.defined(), "weighted_bce_with_logits: weight is undefined");
  Tensor l = binary_cross_entropy_with_logits(logits, constant_like(target, logits), Tensor(), Reduction::none);
  return reduce(l * constant_like(weight, logits), reduction);
}

Tensor kl_div_batchmean(const Tensor& log_probs, const Tensor& target) {
  check_same_shape("kl_div_batchmean", "log_probs", log_probs, "target", target);
  IRIS_CHECK(log_probs.dim() >= 1 && log_probs.shape()[0] >= 1,
             "kl_div_batchmean: log_probs needs a non-empty batch dimension, got ", shape_str(log_probs.shape()));
  return kl_div(log_probs, target, Reduction::sum, false) / static_cast<double>(log_probs.shape()[0]);
}

}  // namespace iris::losses
