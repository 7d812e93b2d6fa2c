// Landmark (face alignment) metrics: the normalised mean error of each face and, over a set of
// faces, the failure rate and the area under the cumulative error curve.
//   NME_i = mean_l ||p_il - g_il||_2 / d_i, with d_i one of
//     inter-ocular: ||g_i,a - g_i,b|| for two chosen landmarks (the outer eye corners)
//     box:          sqrt(w * h) of the face box        diagonal: sqrt(w^2 + h^2)
//   failure rate at t: the fraction of faces with NME > t
//   AUC at t: the integral of the CED curve (fraction of faces with NME <= e) for e in [0, t],
//     divided by t; integrated exactly (the CED is a step function), not on a grid.
// Points are (x, y) pairs, [faces][landmarks]. Leaves out: per-landmark visibility masks, 3-D landmarks.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

namespace iris::metrics {

using Point2 = std::array<double, 2>;

// One face's NME for a given normaliser d (> 0). Throws when the counts differ or d <= 0.
double landmark_nme(const std::vector<Point2>& predicted, const std::vector<Point2>& truth, double d);
double inter_ocular_distance(const std::vector<Point2>& truth, int64_t left, int64_t right);
inline double box_size(double w, double h);
double box_diagonal(double w, double h);

double failure_rate(const std::vector<double>& nmes, double threshold);  // 0..1
double ced_auc(const std::vector<double>& nmes, double threshold);        // 0..1

inline double box_size(double w, double h) { return w > 0 && h > 0 ? std::sqrt(w * h) : 0.0; }

}  // namespace iris::metrics
