// ATSS anchor assignment (Zhang et al. 2020, "Bridging the Gap Between Anchor-based and Anchor-free
// Detection via Adaptive Training Sample Selection") as GLIP's ATSSLossComputation does it
// (shared/papers/glip.md §1.4), for one image:
//   1. per level, the `topk` anchors whose centres are nearest (Euclidean) to each gt's centre;
//   2. per gt, threshold = mean + std (unbiased, torch.std's default) of those candidates' IoUs;
//   3. a candidate is positive when its IoU >= the threshold and its centre lies inside the gt by
//      more than 0.01 on every side (min(l, t, r, b) > 0.01);
//   4. an anchor positive for several gts takes the gt of highest IoU (equal IoUs: the lower gt index).
// Nearest-centre ties are broken towards the lower anchor index (GLIP's torch.topk leaves the order of
// equal distances unspecified; only a tie at the k-th place can change the outcome).
// IoU convention: plus_one = false uses geometry/box.h's x1-exclusive widths (x1 - x0), the tree's
// convention; plus_one = true is GLIP's maskrcnn_benchmark boxlist_iou (TO_REMOVE = 1: widths
// x1 - x0 + 1, pixel-inclusive corners), for reproducing GLIP's numbers exactly.
// Leaves out: the loss itself (losses/detection.h), anchor generation, the other POSITIVE_TYPEs.
#pragma once

#include <cstdint>
#include <vector>

#include "geometry/box.h"
#include "tensor/tensor.h"

namespace iris {

struct AtssOptions {
  int64_t topk = 9;        // candidates per level and gt: GLIP's TOPK x anchors per location
  double center_eps = 0.01;
  bool plus_one = false;   // GLIP's TO_REMOVE = 1 in the IoU (see above)
};

struct AtssAssignment {
  std::vector<int64_t> gt;          // [A]: the assigned gt index, -1 for background
  std::vector<double> iou;          // [A]: IoU with that gt (0 for background)
  std::vector<double> threshold;    // [G]: mean + std of each gt's candidate IoUs
};

// anchors: all levels concatenated, level after level, anchors_per_level[l] of each (they sum to
// anchors.size()); gts: the image's ground-truth boxes (may be empty: everything is background).
AtssAssignment atss_assign(const std::vector<Box>& anchors, const std::vector<int64_t>& anchors_per_level,
                           const std::vector<Box>& gts, const AtssOptions& options = {});
// Tensors: anchors [A, 4], gts [G, 4] xyxy -> i64 [A] on the CPU, the assigned gt or -1.
Tensor atss_assign(const Tensor& anchors, const std::vector<int64_t>& anchors_per_level, const Tensor& gts,
                   const AtssOptions& options = {});

// The IoU matrix ATSS uses, [A * G] row-major (anchor a, gt g at a * G + g), with the +1 convention
// when plus_one.
std::vector<double> atss_iou(const std::vector<Box>& anchors, const std::vector<Box>& gts, bool plus_one);

// FCOS/ATSS centerness target of an anchor for its gt: with (cx, cy) the anchor centre,
// l = cx - x0, r = x1 - cx, t = cy - y0, b = y1 - cy: sqrt(min(l, r) / max(l, r) * min(t, b) / max(t, b)).
// (GLIP decodes its encoded target first; that round trip changes the last bits only.)
double centerness_target(const Box& anchor, const Box& gt);

}  // namespace iris
