// Segmentation metrics from one accumulated confusion histogram (see segmentation.h).
#include "metrics/segmentation.h"

#include <cmath>
#include <limits>

#include "tensor/error.h"

namespace iris::metrics {

SegmentationHistogram::SegmentationHistogram(int64_t classes) : classes(classes) {
  IRIS_CHECK(classes >= 0, "SegmentationHistogram: classes must be >= 0, got ", classes);
  counts.assign(static_cast<size_t>(classes * classes), 0);
}

void SegmentationHistogram::add(const std::vector<int64_t>& predicted, const std::vector<int64_t>& truth,
                                int64_t ignore) {
  IRIS_CHECK(predicted.size() == truth.size(), "SegmentationHistogram::add: ", predicted.size(),
             " predicted pixels but ", truth.size(), " truth pixels");
  for (size_t i = 0; i < truth.size(); ++i) {
    const int64_t t = truth[i], p = predicted[i];
    if (t == ignore) continue;
    IRIS_CHECK(t >= 0 && t < classes, "SegmentationHistogram::add: truth label ", t, " at pixel ", i,
               " is outside [0, ", classes, ")");
    IRIS_CHECK(p >= 0 && p < classes, "SegmentationHistogram::add: predicted label ", p, " at pixel ", i,
               " is outside [0, ", classes, ")");
    ++counts[static_cast<size_t>(t * classes + p)];
  }
}

void SegmentationHistogram::add(const SegmentationHistogram& other) {
  IRIS_CHECK(other.classes == classes, "SegmentationHistogram::add: merging ", other.classes,
             " classes into ", classes);
  for (size_t i = 0; i < counts.size(); ++i) counts[i] += other.counts[i];
}

SegmentationScores segmentation_scores(const SegmentationHistogram& h, int64_t background) {
  const int64_t k = h.classes;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  SegmentationScores s;
  s.f1.assign(static_cast<size_t>(k), nan);
  s.iou.assign(static_cast<size_t>(k), nan);
  int64_t total = 0, trace = 0;
  double f1_sum = 0, iou_sum = 0;
  int64_t f1_n = 0, iou_n = 0;
  for (int64_t c = 0; c < k; ++c) {
    int64_t gt = 0, pred = 0;
    for (int64_t j = 0; j < k; ++j) {
      gt += h.counts[static_cast<size_t>(c * k + j)];
      pred += h.counts[static_cast<size_t>(j * k + c)];
    }
    const int64_t tp = h.counts[static_cast<size_t>(c * k + c)];
    total += gt;
    trace += tp;
    if (gt + pred == 0) continue;
    s.f1[c] = 2.0 * tp / static_cast<double>(gt + pred);
    s.iou[c] = tp / static_cast<double>(gt + pred - tp);
    iou_sum += s.iou[c];
    ++iou_n;
    if (c != background) {
      f1_sum += s.f1[c];
      ++f1_n;
    }
  }
  s.mean_f1 = f1_n ? f1_sum / f1_n : 0.0;
  s.miou = iou_n ? iou_sum / iou_n : 0.0;
  s.pixel_accuracy = total ? trace / static_cast<double>(total) : 0.0;
  return s;
}

}  // namespace iris::metrics
