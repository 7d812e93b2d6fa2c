// Classification metrics (classification.h). Scores come to the host as f64 (every f32 and bf16
// value is exact there, so the ranking is the one the device's dtype gives).
#include "metrics/classification.h"

#include <cmath>
#include <limits>

#include "tensor/error.h"

namespace iris::metrics {

double top1_percent(const std::vector<int64_t>& predictions, const std::vector<int64_t>& labels) {
  IRIS_CHECK(predictions.size() == labels.size(), "top1_percent: ", predictions.size(), " predictions for ",
             labels.size(), " labels; pass one prediction per label");
  if (labels.empty()) return 0.0;
  int64_t right = 0;
  for (size_t i = 0; i < labels.size(); ++i) right += predictions[i] == labels[i];
  return 100.0 * static_cast<double>(right) / static_cast<double>(labels.size());
}

double topk_percent(const Tensor& scores, const Tensor& labels, int64_t k) {
  IRIS_CHECK(scores.dim() == 2 && labels.dim() == 1 && scores.shape()[0] == labels.shape()[0],
             "topk_percent: scores [N, K] and labels [N] do not match: ", shape_str(scores.shape()), " and ",
             shape_str(labels.shape()));
  const int64_t n = scores.shape()[0], classes = scores.shape()[1];
  IRIS_CHECK(k >= 1 && k <= classes, "topk_percent: k = ", k, " must be in [1, ", classes, "] (the classes)");
  if (n == 0) return 0.0;
  std::vector<double> s = scores.cpu().to(DType::f64).contiguous().to_vector<double>();
  std::vector<int64_t> y = labels.cpu().to(DType::i64).contiguous().to_vector<int64_t>();
  int64_t right = 0;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t truth = y[i];
    IRIS_CHECK(truth >= 0 && truth < classes, "topk_percent: label ", truth, " of row ", i, " is outside [0, ",
               classes, ")");
    const double* row = s.data() + i * classes;
    // The label's rank: classes that beat it (a higher score, or an equal one at a lower index).
    const bool nan = std::isnan(row[truth]);
    int64_t rank = 0;
    for (int64_t j = 0; j < classes && rank < k; ++j) {
      if (j == truth) continue;
      const bool above = nan ? (std::isnan(row[j]) && j < truth)
                             : (std::isnan(row[j]) || row[j] > row[truth] || (row[j] == row[truth] && j < truth));
      rank += above;
    }
    right += rank < k;
  }
  return 100.0 * static_cast<double>(right) / static_cast<double>(n);
}

int64_t ConfusionMatrix::total() const {
  int64_t t = 0;
  for (int64_t c : counts) t += c;
  return t;
}

int64_t ConfusionMatrix::correct() const {
  int64_t t = 0;
  for (int64_t c = 0; c < classes; ++c) t += at(c, c);
  return t;
}

ConfusionMatrix confusion_matrix(const std::vector<int64_t>& predictions, const std::vector<int64_t>& labels,
                                 int64_t classes) {
  IRIS_CHECK(predictions.size() == labels.size(), "confusion_matrix: ", predictions.size(), " predictions for ",
             labels.size(), " labels; pass one prediction per label");
  IRIS_CHECK(classes >= 1, "confusion_matrix: classes must be at least 1, got ", classes);
  ConfusionMatrix m;
  m.classes = classes;
  m.counts.assign(static_cast<size_t>(classes * classes), 0);
  for (size_t i = 0; i < labels.size(); ++i) {
    IRIS_CHECK(labels[i] >= 0 && labels[i] < classes && predictions[i] >= 0 && predictions[i] < classes,
               "confusion_matrix: example ", i, " has label ", labels[i], " and prediction ", predictions[i],
               "; both must be in [0, ", classes, ")");
    ++m.counts[labels[i] * classes + predictions[i]];
  }
  return m;
}

std::vector<double> per_class_accuracy(const ConfusionMatrix& confusion) {
  std::vector<double> out(static_cast<size_t>(confusion.classes));
  for (int64_t c = 0; c < confusion.classes; ++c) {
    int64_t row = 0;
    for (int64_t p = 0; p < confusion.classes; ++p) row += confusion.at(c, p);
    out[c] = row == 0 ? std::numeric_limits<double>::quiet_NaN()
                      : 100.0 * static_cast<double>(confusion.at(c, c)) / static_cast<double>(row);
  }
  return out;
}

}  // namespace iris::metrics
