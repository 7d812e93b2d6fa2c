// ATSS assignment (atss.h): IoUs and centre distances of every (anchor, gt) pair, the per-level
// nearest candidates, the mean + std threshold, the centre-inside test, then the best gt per anchor.
#include "geometry/atss.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "geometry/box_ops.h"
#include "geometry/nms.h"

namespace iris {

std::vector<double> atss_iou(const std::vector<Box>& anchors, const std::vector<Box>& gts, bool plus_one) {
  const double extra = plus_one ? 1.0 : 0.0;
  const size_t G = gts.size();
  std::vector<double> out(anchors.size() * G);
  for (size_t a = 0; a < anchors.size(); ++a) {
    const Box& p = anchors[a];
    const double area_p = (p.x1 - p.x0 + extra) * (p.y1 - p.y0 + extra);
    for (size_t g = 0; g < G; ++g) {
      const Box& q = gts[g];
      const double area_q = (q.x1 - q.x0 + extra) * (q.y1 - q.y0 + extra);
      const double w = std::max(0.0, std::min(p.x1, q.x1) - std::max(p.x0, q.x0) + extra);
      const double h = std::max(0.0, std::min(p.y1, q.y1) - std::max(p.y0, q.y0) + extra);
      const double inter = w * h;
      out[a * G + g] = inter / (area_p + area_q - inter);
    }
  }
  return out;
}

AtssAssignment atss_assign(const std::vector<Box>& anchors, const std::vector<int64_t>& anchors_per_level,
                           const std::vector<Box>& gts, const AtssOptions& options) {
  IRIS_CHECK(options.topk >= 1, "atss_assign: topk must be >= 1, got ", options.topk);
  int64_t total = 0;
  for (int64_t n : anchors_per_level) {
    IRIS_CHECK(n >= 0, "atss_assign: anchors_per_level holds a negative count (", n, ")");
    total += n;
  }
  IRIS_CHECK(total == static_cast<int64_t>(anchors.size()), "atss_assign: anchors_per_level sums to ", total,
             " but there are ", anchors.size(), " anchors");
  const size_t A = anchors.size(), G = gts.size();
  AtssAssignment out;
  out.gt.assign(A, -1);
  out.iou.assign(A, 0.0);
  out.threshold.assign(G, 0.0);
  if (G == 0 || A == 0) return out;

  const std::vector<double> ious = atss_iou(anchors, gts, options.plus_one);
  std::vector<double> acx(A), acy(A);
  for (size_t a = 0; a < A; ++a) acx[a] = (anchors[a].x1 + anchors[a].x0) / 2.0, acy[a] = (anchors[a].y1 + anchors[a].y0) / 2.0;

  // Candidates of every gt (per level, the topk nearest centres), then its threshold and positives.
  std::vector<std::vector<int64_t>> positives(G);
  std::vector<double> dist;
  for (size_t g = 0; g < G; ++g) {
    const Box& q = gts[g];
    const double gcx = (q.x1 + q.x0) / 2.0, gcy = (q.y1 + q.y0) / 2.0;
    std::vector<int64_t> cand;
    int64_t start = 0;
    for (int64_t n : anchors_per_level) {
      dist.resize(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) {
        const double dx = acx[start + i] - gcx, dy = acy[start + i] - gcy;
        dist[i] = std::sqrt(dx * dx + dy * dy);
      }
      for (int64_t i : topk_indices(dist, options.topk, /*largest=*/false)) cand.push_back(start + i);
      start += n;
    }
    double mean = 0;
    for (int64_t a : cand) mean += ious[a * G + g];
    mean /= static_cast<double>(cand.size());
    double var = 0;
    for (int64_t a : cand) var += (ious[a * G + g] - mean) * (ious[a * G + g] - mean);
    // unbiased; one candidate gives NaN as torch.std does, and then nothing passes the threshold
    const double stdev = std::sqrt(var / static_cast<double>(cand.size() - 1));
    const double threshold = mean + stdev;
    out.threshold[g] = threshold;
    for (int64_t a : cand) {
      const double l = acx[a] - q.x0, t = acy[a] - q.y0, r = q.x1 - acx[a], b = q.y1 - acy[a];
      if (ious[a * G + g] >= threshold && std::min(std::min(l, t), std::min(r, b)) > options.center_eps)
        positives[g].push_back(a);
    }
  }
  // An anchor positive for several gts: the highest IoU, ties to the lower gt index (gts in order,
  // a later gt replaces only on a strictly higher IoU).
  for (size_t g = 0; g < G; ++g)
    for (int64_t a : positives[g]) {
      const double v = ious[a * G + g];
      if (out.gt[a] < 0 || v > out.iou[a]) out.gt[a] = static_cast<int64_t>(g), out.iou[a] = v;
    }
  return out;
}

}  // namespace iris

namespace iris {

Tensor atss_assign(const Tensor& anchors, const std::vector<int64_t>& anchors_per_level, const Tensor& gts,
                   const AtssOptions& options) {
  AtssAssignment r = atss_assign(boxes_from_tensor(anchors), anchors_per_level, boxes_from_tensor(gts), options);
  return from_vector(r.gt);
}

double centerness_target(const Box& anchor, const Box& gt) {
  const double cx = (anchor.x0 + anchor.x1) / 2.0, cy = (anchor.y0 + anchor.y1) / 2.0;
  const double l = cx - gt.x0, r = gt.x1 - cx, t = cy - gt.y0, b = gt.y1 - cy;
  return std::sqrt(std::min(l, r) / std::max(l, r) * (std::min(t, b) / std::max(t, b)));
}

}  // namespace iris
