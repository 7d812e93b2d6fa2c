// What a detection head's outputs become boxes through, written once for the detection apps: box
// coding (corners <-> centre/size, and the anchor-relative offsets a head predicts, as torchvision's
// BoxCoder) and greedy non-maximum suppression per class. Box tensors are [..., 4] corners
// (x0, y0, x1, y1) in pixels, x1/y1 exclusive (geometry/box.h states the convention).
// Leaves out: the heads and their losses (they come with the apps), anchor generation, soft-NMS.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include "geometry/box.h"
#include "tensor/tensor.h"

namespace iris::models {

// [..., 4] (x0, y0, x1, y1) <-> [..., 4] (cx, cy, w, h): cx = (x0 + x1) / 2, w = x1 - x0. Differentiable.
Tensor corners_to_center(const Tensor& boxes);
Tensor center_to_corners(const Tensor& boxes);

// The weights of the offsets (Faster R-CNN's second stage uses 10, 10, 5, 5; 1 everywhere is RetinaNet's).
struct BoxCoderWeights {
  double x = 1, y = 1, w = 1, h = 1;
};
// Offsets of boxes from anchors (both [..., 4] corners, broadcastable; anchors must have w, h > 0):
//   dx = wx (cx - acx) / aw,  dy = wy (cy - acy) / ah,  dw = ww log(w / aw),  dh = wh log(h / ah).
Tensor encode_boxes(const Tensor& boxes, const Tensor& anchors, const BoxCoderWeights& weights = {});
// The inverse: offsets [..., 4] and anchors -> corners [..., 4]. dw / ww and dh / wh are clamped at
// log(1000 / 16) (torchvision's bound) so that exp stays finite for wild predictions. Differentiable.
Tensor decode_boxes(const Tensor& offsets, const Tensor& anchors, const BoxCoderWeights& weights = {});

struct NmsOptions {
  double iou_threshold = 0.5;  // a box is dropped when its IoU with a kept box of its class exceeds this
  double score_threshold = -std::numeric_limits<double>::infinity();  // scores below it (and NaN) go first
  int64_t max_detections = 0;  // > 0: keep at most this many (the highest scores)
};
// Greedy NMS: boxes in order of score, highest first, ties to the lower index; each is kept unless
// it overlaps a kept box of the same class by more than iou_threshold. classes empty: one class.
// Returns the kept indices in that order. Throws when the lengths differ.
std::vector<int64_t> nms(const std::vector<Box>& boxes, const std::vector<double>& scores,
                         const std::vector<int64_t>& classes = {}, const NmsOptions& options = {});
// The same on tensors (any device): boxes [N, 4], scores [N], classes i64 [N] or undefined -> i64 [K].
Tensor nms(const Tensor& boxes, const Tensor& scores, const Tensor& classes, const NmsOptions& options = {});

// Rows of a [N, 4] corner tensor as boxes (host copy), and back (f32 [N, 4] on the CPU).
std::vector<Box> boxes_from_tensor(const Tensor& boxes);
Tensor boxes_to_tensor(const std::vector<Box>& boxes);

}  // namespace iris::models
