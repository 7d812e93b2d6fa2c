// Segmentation metrics over a confusion histogram accumulated across a whole test set (the face
// parsing protocol of FaRL's code: one histogram, then per-class scores, not per-image averages):
//   F1_c  = 2 TP_c / (|pred_c| + |gt_c|)      IoU_c = TP_c / (|pred_c| + |gt_c| - TP_c)
//   mean F1 over the foreground classes (every class but `background`), mIoU over all classes,
//   pixel accuracy = trace / total.
// A class absent from both prediction and truth has F1 and IoU NaN and is skipped by the means.
// Label maps are int64 per pixel, row-major; pixels whose truth is `ignore` are not counted.
// Leaves out: boundary F1, per-image averaging, instance/panoptic quality.
#pragma once

#include <cstdint>
#include <vector>

namespace iris::metrics {

struct SegmentationHistogram {
  int64_t classes = 0;
  std::vector<int64_t> counts;  // [classes * classes], counts[truth * classes + predicted]
  explicit SegmentationHistogram(int64_t classes = 0);
  // Adds one image. Throws when the sizes differ, or a label or prediction (other than a truth of
  // `ignore`) is outside [0, classes).
  void add(const std::vector<int64_t>& predicted, const std::vector<int64_t>& truth, int64_t ignore = -1);
  void add(const SegmentationHistogram& other);  // merges another histogram (same classes)
};

struct SegmentationScores {
  std::vector<double> f1;    // [classes], NaN where the class is in neither prediction nor truth
  std::vector<double> iou;   // [classes], NaN likewise
  double mean_f1 = 0;        // over foreground classes with a defined F1 (0..1)
  double miou = 0;           // over all classes with a defined IoU (0..1)
  double pixel_accuracy = 0; // 0..1; 0 for an empty histogram
};
// background: the class left out of mean_f1 (-1: none left out).
SegmentationScores segmentation_scores(const SegmentationHistogram& histogram, int64_t background = 0);

}  // namespace iris::metrics
