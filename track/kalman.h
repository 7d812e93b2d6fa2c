// The constant-velocity Kalman filter that DeepSORT, JDE and FairMOT track boxes with, in double.
// State (8): x, y (box centre), a (aspect width / height), h (height), and their velocities
// vx, vy, va, vh, in pixels (and aspect units) per frame. Measurement (4): x, y, a, h.
//   motion     F = [I4 I4; 0 I4] (dt = 1)          observation  H = [I4 0]
//   noise      set from the current height h (so from the box's scale), with
//              w_p = std_weight_position (1/20), w_v = std_weight_velocity (1/160):
//     initiate std = (2 w_p h, 2 w_p h, 1e-2, 2 w_p h, 10 w_v h, 10 w_v h, 1e-5, 10 w_v h), h measured
//     predict  Q   = diag(w_p h, w_p h, 1e-2, w_p h, w_v h, w_v h, 1e-5, w_v h)^2, h of the mean before
//     project  R   = diag(w_p h, w_p h, 1e-1, w_p h)^2
//   predict: m = F m, P = F P F^T + Q;  project: Hm, S = H P H^T + R;
//   update:  K = P H^T S^-1, m += K (z - Hm), P -= K S K^T;
//   gating distance: (z - Hm)^T S^-1 (z - Hm) (squared Mahalanobis; x, y only with only_position),
//   compared with kChi2Inv95[4] (or [2]) to rule out unlikely pairs.
// Leaves out: the vectorised multi_predict of JDE/FairMOT (predict each track in turn: the same
// numbers), FairMOT's "gaussian" metric, and any track bookkeeping (models/, with the trackers).
#pragma once

#include <array>
#include <vector>

#include "geometry/box.h"

namespace iris::track {

using Vec4 = std::array<double, 4>;
using Vec8 = std::array<double, 8>;
using Mat4 = std::array<double, 16>;  // row-major
using Mat8 = std::array<double, 64>;  // row-major

// The 0.95 quantile of the chi-square distribution with N degrees of freedom, N = 1..9 (index 0
// unused), to the digits DeepSORT's table gives (3.8415, 5.9915, ..., 16.919).
extern const double kChi2Inv95[10];

// Box corners <-> (centre x, centre y, width / height, height). The height must be > 0.
Vec4 box_to_xyah(const Box& box);
Box xyah_to_box(const Vec4& xyah);

struct KalmanState {
  Vec8 mean{};
  Mat8 cov{};
};

struct KalmanProjection {  // the state seen through H, with the measurement noise
  Vec4 mean{};
  Mat4 cov{};
};

struct KalmanBoxFilter {
  double std_weight_position = 1.0 / 20;
  double std_weight_velocity = 1.0 / 160;

  // A new track at a measurement: zero velocity, the initiate std above.
  KalmanState initiate(const Vec4& xyah) const;
  // One frame ahead.
  void predict(KalmanState& state) const;
  KalmanProjection project(const KalmanState& state) const;
  // Corrects the state with a measurement. Throws iris::Error if S is not positive definite.
  void update(KalmanState& state, const Vec4& xyah) const;
  // Squared Mahalanobis distance of each measurement to the projected state.
  std::vector<double> gating_distance(const KalmanState& state, const std::vector<Vec4>& measurements,
                                      bool only_position = false) const;
};

}  // namespace iris::track
