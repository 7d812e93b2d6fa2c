// Greedy non-maximum suppression, class-wise ("batched") NMS and top-k, as torchvision.ops.nms /
// batched_nms and a stable torch.sort do them on the CPU. Order: scores descending, equal scores to
// the lower index (torchvision's CPU kernel sorts with stable=true). A box is dropped when its IoU
// with an already kept box (of its class, for batched NMS) is > iou_threshold; the IoU is
// inter / (area_i + area_j - inter) in f64 (geometry/box.h's iou), which is torchvision's arithmetic
// for f64 inputs, so the kept set is bit-for-bit the same. For empty or inverted boxes geometry/box.h
// reads the area as 0 where torchvision computes a negative one; such boxes never suppress here.
// Leaves out: soft-NMS, matrix NMS, GPU kernels (the loop runs on the host).
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include "geometry/box.h"
#include "tensor/tensor.h"

namespace iris {

struct NmsOptions {
  double iou_threshold = 0.5;  // a box is dropped when its IoU with a kept box of its class exceeds this
  double score_threshold = -std::numeric_limits<double>::infinity();  // scores below it (and NaN) go first
  int64_t max_detections = 0;  // > 0: keep at most this many (the highest scores)
};

// Greedy NMS; classes empty: one class (torchvision nms), else per class (batched_nms). Returns the
// kept indices by descending score. Throws when the lengths differ.
std::vector<int64_t> nms(const std::vector<Box>& boxes, const std::vector<double>& scores,
                         const std::vector<int64_t>& classes = {}, const NmsOptions& options = {});
// The same on tensors (any device): boxes [N, 4] xyxy, scores [N], classes i64/i32 [N] or undefined
// -> i64 [K] on the CPU.
Tensor nms(const Tensor& boxes, const Tensor& scores, const Tensor& classes = Tensor(),
           const NmsOptions& options = {});
inline Tensor batched_nms(const Tensor& boxes, const Tensor& scores, const Tensor& classes,
                          const NmsOptions& options = {}) {
  return nms(boxes, scores, classes, options);
}

// Indices of the k largest values (largest = false: smallest), in that order, equal values to the
// lower index; NaN counts as the largest value (torch.sort's rule). k is clamped to the length.
std::vector<int64_t> topk_indices(const std::vector<double>& values, int64_t k, bool largest = true);
// values [N] -> i64 [min(k, N)] on the CPU.
Tensor topk_indices(const Tensor& values, int64_t k, bool largest = true);

}  // namespace iris
