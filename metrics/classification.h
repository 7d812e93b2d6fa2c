// Classification metrics: top-1 and top-k accuracy (percent), the confusion matrix and per-class
// accuracy. Scores are [N, K] tensors on any device, labels i64 [N]; ties in the scores go to the
// lower class index and a NaN score ranks above every number, as argmax does (tensor/cpu/reduce.cpp).
// Leaves out: detection, re-ID, tracking and segmentation metrics (their own files, their own issue).
#pragma once

#include <cstdint>
#include <vector>

#include "tensor/tensor.h"

namespace iris::metrics {

// Percent of predictions equal to their labels (100 * right / N); 0 when there are none. Throws
// when the lengths differ.
double top1_percent(const std::vector<int64_t>& predictions, const std::vector<int64_t>& labels);
// Percent of rows whose label's score is among the row's k highest (k = 1: the argmax is the
// label). Throws naming the shapes when scores is not [N, K] with labels [N], when k is not in
// [1, K], or when a label is outside [0, K).
double topk_percent(const Tensor& scores, const Tensor& labels, int64_t k);
inline double top1_percent(const Tensor& scores, const Tensor& labels) { return topk_percent(scores, labels, 1); }

// counts[truth * classes + predicted]: rows are the true classes, columns the predictions.
struct ConfusionMatrix {
  int64_t classes = 0;
  std::vector<int64_t> counts;  // [classes * classes]
  int64_t at(int64_t truth, int64_t predicted) const { return counts[truth * classes + predicted]; }
  int64_t total() const;        // every counted example
  int64_t correct() const;      // the diagonal
};
// Throws when the lengths differ or a label or prediction is outside [0, classes).
ConfusionMatrix confusion_matrix(const std::vector<int64_t>& predictions, const std::vector<int64_t>& labels,
                                 int64_t classes);
// Percent right per true class (row), NaN for a class with no examples.
std::vector<double> per_class_accuracy(const ConfusionMatrix& confusion);

}  // namespace iris::metrics
