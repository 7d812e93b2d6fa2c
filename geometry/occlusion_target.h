// OUTrack's occlusion targets (Liu et al. 2022; papers/outrack.md 5.3, the official `gen_occlusion_target`):
// wherever two GT (amodal) boxes overlap heavily, intersection / min(area_i, area_j) > 0.7, the centre of
// their intersection rectangle becomes a CenterNet Gaussian on a 1-channel occlusion heatmap (radius from
// gaussian_radius of the intersection's size, geometry/gaussian_heatmap.h), with the sub-pixel offset of that
// centre and its flat index as regression targets. Pure, no gradient.
// Leaves out: the focal and L1 losses on these targets (losses/detection.h has both), decoding at inference.
#pragma once

#include <cstdint>
#include <vector>

#include "geometry/box.h"

namespace iris {

struct OcclusionTargetOptions {
  double overlap_threshold = 0.7;  // occlusion_iou_thr: intersection / min(area_i, area_j) must exceed it
  int64_t max_occlusions = 2000;   // 4 x max_objs (FairMOT's max_objs = opt.K = 500); further pairs are dropped
  bool ordered_pairs = true;       // every ordered pair (5.3); false: each unordered pair once (i < j)
  double min_overlap = 0.7;        // gaussian_radius's min_overlap (CenterNet's default)
};

struct OcclusionTargets {
  std::vector<double> heatmap;   // [H * W], row-major
  std::vector<int64_t> index;    // [O]: y * W + x of each occlusion's integer centre
  std::vector<double> offset;    // [O * 2]: (cx - x, cy - y), the sub-pixel part
  std::vector<double> centre;    // [O * 2]: (cx, cy), the intersection's centre in map cells
  std::vector<int64_t> radius;   // [O]
  std::vector<int64_t> pair;     // [O * 2]: (i, j), the boxes that made it
  int64_t count() const { return static_cast<int64_t>(index.size()); }
};

// boxes: corners (x0, y0, x1, y1) in heatmap cells (already divided by the stride). Each box is first clipped to
// [0, W - 1] x [0, H - 1] (FairMOT's convention for its own targets); boxes with no area are skipped. Every
// ordered pair (i, j), i != j, in order i then j, (i < j only without ordered_pairs) whose clipped intersection has positive width and height and
// intersection / min(area_i, area_j) > overlap_threshold gives one occlusion (so each unordered pair gives two
// identical entries, as the spec's "every ordered pair"): radius = max(0, int(gaussian_radius(ceil(h), ceil(w))))
// of the intersection, Gaussian drawn at its centre by elementwise max.
OcclusionTargets occlusion_targets(const std::vector<Box>& boxes, int64_t height, int64_t width,
                                   const OcclusionTargetOptions& options = {});

}  // namespace iris
