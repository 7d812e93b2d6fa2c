// NMS and top-k (nms.h): a stable sort of the scores, then the greedy loop over kept boxes.
#include "geometry/nms.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "geometry/box_ops.h"

namespace iris {

namespace {

// a before b in descending order with NaN first (torch.sort descending puts NaN at the top).
bool before_descending(double a, double b) {
  if (std::isnan(a)) return !std::isnan(b);
  if (std::isnan(b)) return false;
  return a > b;
}

std::vector<double> host_vector(const char* op, const char* what, const Tensor& t) {
  IRIS_CHECK(t.defined() && t.dim() == 1, op, ": ", what, " must be [N], got ",
             t.defined() ? shape_str(t.shape()) : std::string("an undefined tensor"));
  return t.cpu().to(DType::f64).contiguous().to_vector<double>();
}

}  // namespace

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
      if (iou(boxes[k], boxes[i]) > options.iou_threshold) {
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

std::vector<int64_t> topk_indices(const std::vector<double>& values, int64_t k, bool largest) {
  IRIS_CHECK(k >= 0, "topk_indices: k must be >= 0, got ", k);
  std::vector<int64_t> order(values.size());
  std::iota(order.begin(), order.end(), int64_t{0});
  const size_t n = std::min(order.size(), static_cast<size_t>(k));
  auto cmp = [&](int64_t a, int64_t b) {
    return largest ? before_descending(values[a], values[b]) : before_descending(values[b], values[a]);
  };
  // stable: equal values keep index order; a full stable sort is simplest and N is small here.
  std::stable_sort(order.begin(), order.end(), cmp);
  order.resize(n);
  return order;
}

Tensor topk_indices(const Tensor& values, int64_t k, bool largest) {
  return from_vector(topk_indices(host_vector("topk_indices", "values", values), k, largest));
}

}  // namespace iris
