// Box coding and NMS (detection_boxes.h). The coding is written with autograd ops, so a loss on
// decoded boxes (GIoU) differentiates through it; NMS runs on the host, where its greedy loop is.
#include "models/detection_boxes.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>

#include "autograd/ops.h"

namespace iris::models {

namespace {

void check_boxes(const char* op, const char* what, const Tensor& t) {
  IRIS_CHECK(t.defined() && t.dim() >= 1 && t.shape()[t.dim() - 1] == 4, op, ": ", what,
             " must be [..., 4] (x0, y0, x1, y1 or offsets), got ",
             t.defined() ? shape_str(t.shape()) : std::string("an undefined tensor"));
}

// The four columns of a [..., 4] tensor, each [..., 1].
std::array<Tensor, 4> columns(const Tensor& t) {
  const int64_t last = t.dim() - 1;
  return {t.slice(last, 0, 1), t.slice(last, 1, 2), t.slice(last, 2, 3), t.slice(last, 3, 4)};
}

}  // namespace

Tensor corners_to_center(const Tensor& boxes) {
  check_boxes("corners_to_center", "boxes", boxes);
  auto [x0, y0, x1, y1] = columns(boxes);
  return cat({(x0 + x1) * 0.5, (y0 + y1) * 0.5, x1 - x0, y1 - y0}, -1);
}

Tensor center_to_corners(const Tensor& boxes) {
  check_boxes("center_to_corners", "boxes", boxes);
  auto [cx, cy, w, h] = columns(boxes);
  Tensor hw = w * 0.5, hh = h * 0.5;
  return cat({cx - hw, cy - hh, cx + hw, cy + hh}, -1);
}

Tensor encode_boxes(const Tensor& boxes, const Tensor& anchors, const BoxCoderWeights& weights) {
  check_boxes("encode_boxes", "boxes", boxes);
  check_boxes("encode_boxes", "anchors", anchors);
  auto [cx, cy, w, h] = columns(corners_to_center(boxes));
  auto [ax, ay, aw, ah] = columns(corners_to_center(anchors));
  return cat({(cx - ax) / aw * weights.x, (cy - ay) / ah * weights.y, log(w / aw) * weights.w,
              log(h / ah) * weights.h}, -1);
}

Tensor decode_boxes(const Tensor& offsets, const Tensor& anchors, const BoxCoderWeights& weights) {
  check_boxes("decode_boxes", "offsets", offsets);
  check_boxes("decode_boxes", "anchors", anchors);
  IRIS_CHECK(weights.x > 0 && weights.y > 0 && weights.w > 0 && weights.h > 0,
             "decode_boxes: the coder weights must be positive, got ", weights.x, ", ", weights.y, ", ", weights.w,
             ", ", weights.h);
  const double bound = std::log(1000.0 / 16.0);
  auto [dx, dy, dw, dh] = columns(offsets);
  auto [ax, ay, aw, ah] = columns(corners_to_center(anchors));
  Tensor cx = dx * (1.0 / weights.x) * aw + ax, cy = dy * (1.0 / weights.y) * ah + ay;
  Tensor w = exp(clamp(dw * (1.0 / weights.w), -INFINITY, bound)) * aw;
  Tensor h = exp(clamp(dh * (1.0 / weights.h), -INFINITY, bound)) * ah;
  return center_to_corners(cat({cx, cy, w, h}, -1));
}

std::vector<int64_t> nms(const std::vector<Box>& boxes, const std::vector<double>& scores,
                         const std::vector<int64_t>& classes, const NmsOptions& options) {
  IRIS_CHECK(boxes.size() == scores.size() && (classes.empty() || classes.size() == boxes.size()), "nms: ",
             boxes.size(), " boxes, ", scores.size(), " scores and ", classes.size(),
             " classes; pass one score (and one class, or none) per box");
  std::vector<int64_t> order;
  for (size_t i = 0; i < boxes.size(); ++i)
    if (scores[i] >= options.score_threshold) order.push_back(static_cast<int64_t>(i));  // NaN fails
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return scores[a] > scores[b]; });
  std::vector<int64_t> kept;
  for (int64_t i : order) {
    if (options.max_detections > 0 && static_cast<int64_t>(kept.size()) >= options.max_detections) break;
    bool suppressed = false;
    for (int64_t k : kept) {
      if (!classes.empty() && classes[k] != classes[i]) continue;
      if (iou(boxes[i], boxes[k]) > options.iou_threshold) {
        suppressed = true;
        break;
      }
    }
    if (!suppressed) kept.push_back(i);
  }
  return kept;
}

Tensor nms(const Tensor& boxes, const Tensor& scores, const Tensor& classes, const NmsOptions& options) {
  IRIS_CHECK(boxes.defined() && boxes.dim() == 2 && boxes.shape()[1] == 4 && scores.defined() && scores.dim() == 1 &&
                 scores.shape()[0] == boxes.shape()[0] &&
                 (!classes.defined() || (classes.dim() == 1 && classes.shape()[0] == boxes.shape()[0])),
             "nms: expects boxes [N, 4], scores [N] and classes [N] (or none), got ",
             boxes.defined() ? shape_str(boxes.shape()) : std::string("undefined"), ", ",
             scores.defined() ? shape_str(scores.shape()) : std::string("undefined"), ", ",
             classes.defined() ? shape_str(classes.shape()) : std::string("none"));
  std::vector<double> s = scores.cpu().to(DType::f64).contiguous().to_vector<double>();
  std::vector<int64_t> c;
  if (classes.defined()) c = classes.cpu().to(DType::i64).contiguous().to_vector<int64_t>();
  return from_vector(nms(boxes_from_tensor(boxes), s, c, options));
}

std::vector<Box> boxes_from_tensor(const Tensor& boxes) {
  IRIS_CHECK(boxes.defined() && boxes.dim() == 2 && boxes.shape()[1] == 4, "boxes_from_tensor: expects [N, 4], got ",
             boxes.defined() ? shape_str(boxes.shape()) : std::string("an undefined tensor"));
  std::vector<double> v = boxes.cpu().to(DType::f64).contiguous().to_vector<double>();
  std::vector<Box> out(static_cast<size_t>(boxes.shape()[0]));
  for (size_t i = 0; i < out.size(); ++i) out[i] = {v[4 * i], v[4 * i + 1], v[4 * i + 2], v[4 * i + 3]};
  return out;
}

Tensor boxes_to_tensor(const std::vector<Box>& boxes) {
  std::vector<float> v;
  v.reserve(boxes.size() * 4);
  for (const Box& b : boxes)
    for (double x : {b.x0, b.y0, b.x1, b.y1}) v.push_back(static_cast<float>(x));
  return from_vector(v, {static_cast<int64_t>(boxes.size()), 4});
}

}  // namespace iris::models
