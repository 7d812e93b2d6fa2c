// Landmark NME, failure rate and CED AUC (see landmarks.h).
#include "metrics/landmarks.h"

#include <algorithm>
#include <cmath>

#include "tensor/error.h"

namespace iris::metrics {

double landmark_nme(const std::vector<Point2>& predicted, const std::vector<Point2>& truth, double d) {
  IRIS_CHECK(predicted.size() == truth.size(), "landmark_nme: ", predicted.size(), " predicted points but ",
             truth.size(), " true points");
  IRIS_CHECK(!truth.empty(), "landmark_nme: no landmarks");
  IRIS_CHECK(d > 0 && std::isfinite(d), "landmark_nme: the normaliser must be positive and finite, got ", d);
  double sum = 0;
  for (size_t l = 0; l < truth.size(); ++l)
    sum += std::hypot(predicted[l][0] - truth[l][0], predicted[l][1] - truth[l][1]);
  return sum / static_cast<double>(truth.size()) / d;
}

double inter_ocular_distance(const std::vector<Point2>& truth, int64_t left, int64_t right) {
  const int64_t n = static_cast<int64_t>(truth.size());
  IRIS_CHECK(left >= 0 && left < n && right >= 0 && right < n && left != right,
             "inter_ocular_distance: eye landmarks ", left, " and ", right, " of ", n);
  return std::hypot(truth[left][0] - truth[right][0], truth[left][1] - truth[right][1]);
}

double box_diagonal(double w, double h) { return std::hypot(w, h); }

double failure_rate(const std::vector<double>& nmes, double threshold) {
  if (nmes.empty()) return 0.0;
  int64_t fails = 0;
  for (double e : nmes) fails += !(e <= threshold);  // a NaN error is a failure
  return fails / static_cast<double>(nmes.size());
}

double ced_auc(const std::vector<double>& nmes, double threshold) {
  IRIS_CHECK(threshold > 0, "ced_auc: the threshold must be positive, got ", threshold);
  if (nmes.empty()) return 0.0;
  // CED(e) = #{NME_i <= e} / n steps up at each error; the area under it on [0, t] is
  // sum_i max(0, t - NME_i) / n for the faces with NME_i <= t.
  double area = 0;
  for (double e : nmes)
    if (e <= threshold) area += threshold - std::max(e, 0.0);
  return area / static_cast<double>(nmes.size()) / threshold;
}

}  // namespace iris::metrics
