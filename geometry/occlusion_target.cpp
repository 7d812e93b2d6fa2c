// OUTrack's occlusion targets (occlusion_target.h): clip, pair, threshold, draw. The Gaussian and its radius
// are CenterNet's (geometry/gaussian_heatmap.h), so detection and occlusion targets share one formula.
#include "geometry/occlusion_target.h"

#include <algorithm>
#include <cmath>

#include "geometry/gaussian_heatmap.h"
#include "tensor/error.h"

namespace iris {

OcclusionTargets occlusion_targets(const std::vector<Box>& boxes, int64_t height, int64_t width,
                                   const OcclusionTargetOptions& options) {
  IRIS_CHECK(height >= 1 && width >= 1, "occlusion_targets: the heatmap must be at least 1 x 1, got ", height,
             " x ", width);
  IRIS_CHECK(options.overlap_threshold >= 0 && options.overlap_threshold < 1,
             "occlusion_targets: overlap_threshold must be in [0, 1), got ", options.overlap_threshold);
  IRIS_CHECK(options.max_occlusions >= 0, "occlusion_targets: max_occlusions must be >= 0, got ",
             options.max_occlusions);
  OcclusionTargets out;
  out.heatmap.assign(static_cast<size_t>(height * width), 0.0);
  const double w_max = static_cast<double>(width - 1), h_max = static_cast<double>(height - 1);
  std::vector<Box> clipped;
  clipped.reserve(boxes.size());
  for (const Box& b : boxes) {
    IRIS_CHECK(std::isfinite(b.x0) && std::isfinite(b.y0) && std::isfinite(b.x1) && std::isfinite(b.y1),
               "occlusion_targets: box corners must be finite, got (", b.x0, ", ", b.y0, ", ", b.x1, ", ", b.y1, ")");
    clipped.push_back({std::clamp(b.x0, 0.0, w_max), std::clamp(b.y0, 0.0, h_max), std::clamp(b.x1, 0.0, w_max),
                       std::clamp(b.y1, 0.0, h_max)});
  }
  const size_t n = clipped.size();
  for (size_t i = 0; i < n; ++i)
    for (size_t j = options.ordered_pairs ? 0 : i + 1; j < n; ++j) {
      if (i == j) continue;
      const Box &a = clipped[i], &b = clipped[j];
      const double smaller = std::min(area(a), area(b));
      if (smaller <= 0) continue;
      const Box inter = intersect(a, b);
      if (inter.empty() || area(inter) / smaller <= options.overlap_threshold) continue;
      if (out.count() >= options.max_occlusions) return out;
      const double cx = (inter.x0 + inter.x1) / 2, cy = (inter.y0 + inter.y1) / 2;
      const int64_t x = static_cast<int64_t>(cx), y = static_cast<int64_t>(cy);  // int(): the centre is >= 0
      const int64_t r = std::max<int64_t>(
          0, static_cast<int64_t>(gaussian_radius(std::ceil(inter.height()), std::ceil(inter.width()),
                                                  options.min_overlap)));
      draw_gaussian(out.heatmap, height, width, cx, cy, r);
      out.index.push_back(y * width + x);
      out.offset.insert(out.offset.end(), {cx - static_cast<double>(x), cy - static_cast<double>(y)});
      out.centre.insert(out.centre.end(), {cx, cy});
      out.radius.push_back(r);
      out.pair.insert(out.pair.end(), {static_cast<int64_t>(i), static_cast<int64_t>(j)});
    }
  return out;
}

}  // namespace iris
