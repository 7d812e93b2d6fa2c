// The box Kalman filter (kalman.h): small fixed-size products and a 4x4 Cholesky solve, in double.
#include "track/kalman.h"

#include <cmath>

#include "tensor/error.h"

namespace iris::track {

const double kChi2Inv95[10] = {0, 3.8415, 5.9915, 7.8147, 9.4877, 11.070, 12.592, 14.067, 15.507, 16.919};

Vec4 box_to_xyah(const Box& box) {
  const double w = box.width(), h = box.height();
  IRIS_CHECK(h > 0, "box_to_xyah: height ", h, " must be > 0");
  return {box.x0 + w / 2, box.y0 + h / 2, w / h, h};
}

Box xyah_to_box(const Vec4& m) {
  const double w = m[2] * m[3], h = m[3];
  return {m[0] - w / 2, m[1] - h / 2, m[0] + w / 2, m[1] + h / 2};
}

namespace {

// Lower Cholesky factor of the leading n x n block of a row-major 4x4 matrix.
Mat4 cholesky(const Mat4& s, int n, const char* who) {
  Mat4 l{};
  for (int i = 0; i < n; ++i)
    for (int j = 0; j <= i; ++j) {
      double sum = s[i * 4 + j];
      for (int k = 0; k < j; ++k) sum -= l[i * 4 + k] * l[j * 4 + k];
      if (i == j) {
        IRIS_CHECK(sum > 0 && std::isfinite(sum), who, ": the innovation covariance is not positive definite");
        l[i * 4 + i] = std::sqrt(sum);
      } else {
        l[i * 4 + j] = sum / l[j * 4 + j];
      }
    }
  return l;
}

// Solves L y = b (forward substitution) in the leading n entries.
Vec4 forward_solve(const Mat4& l, Vec4 b, int n) {
  for (int i = 0; i < n; ++i) {
    for (int k = 0; k < i; ++k) b[i] -= l[i * 4 + k] * b[k];
    b[i] /= l[i * 4 + i];
  }
  return b;
}

// Solves L^T x = y (back substitution) in the leading n entries.
Vec4 backward_solve(const Mat4& l, Vec4 y, int n) {
  for (int i = n - 1; i >= 0; --i) {
    for (int k = i + 1; k < n; ++k) y[i] -= l[k * 4 + i] * y[k];
    y[i] /= l[i * 4 + i];
  }
  return y;
}

}  // namespace

KalmanState KalmanBoxFilter::initiate(const Vec4& z) const {
  KalmanState s;
  for (int i = 0; i < 4; ++i) s.mean[i] = z[i];
  const double h = z[3], p = 2 * std_weight_position * h, v = 10 * std_weight_velocity * h;
  const double std[8] = {p, p, 1e-2, p, v, v, 1e-5, v};
  for (int i = 0; i < 8; ++i) s.cov[i * 8 + i] = std[i] * std[i];
  return s;
}

void KalmanBoxFilter::predict(KalmanState& s) const {
  const double h = s.mean[3], p = std_weight_position * h, v = std_weight_velocity * h;
  const double std[8] = {p, p, 1e-2, p, v, v, 1e-5, v};
  for (int i = 0; i < 4; ++i) s.mean[i] += s.mean[i + 4];
  // F P F^T with F = [I I; 0 I]: rows then columns i += i + 4 for i < 4.
  Mat8& c = s.cov;
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 8; ++j) c[i * 8 + j] += c[(i + 4) * 8 + j];
  for (int j = 0; j < 4; ++j)
    for (int i = 0; i < 8; ++i) c[i * 8 + j] += c[i * 8 + j + 4];
  for (int i = 0; i < 8; ++i) c[i * 8 + i] += std[i] * std[i];
}

KalmanProjection KalmanBoxFilter::project(const KalmanState& s) const {
  KalmanProjection pr;
  const double p = std_weight_position * s.mean[3];
  const double std[4] = {p, p, 1e-1, p};
  for (int i = 0; i < 4; ++i) {
    pr.mean[i] = s.mean[i];
    for (int j = 0; j < 4; ++j) pr.cov[i * 4 + j] = s.cov[i * 8 + j];
    pr.cov[i * 4 + i] += std[i] * std[i];
  }
  return pr;
}

void KalmanBoxFilter::update(KalmanState& s, const Vec4& z) const {
  const KalmanProjection pr = project(s);
  const Mat4 l = cholesky(pr.cov, 4, "KalmanBoxFilter::update");
  // K (8x4) = P H^T S^-1: row r of K solves S k = (P H^T)[r] (S is symmetric).
  std::array<Vec4, 8> k;
  for (int r = 0; r < 8; ++r) {
    Vec4 b = {s.cov[r * 8 + 0], s.cov[r * 8 + 1], s.cov[r * 8 + 2], s.cov[r * 8 + 3]};
    k[r] = backward_solve(l, forward_solve(l, b, 4), 4);
  }
  Vec4 innovation;
  for (int i = 0; i < 4; ++i) innovation[i] = z[i] - pr.mean[i];
  for (int r = 0; r < 8; ++r)
    for (int i = 0; i < 4; ++i) s.mean[r] += k[r][i] * innovation[i];
  // P -= K S K^T.
  std::array<Vec4, 8> ks;  // K S
  for (int r = 0; r < 8; ++r)
    for (int j = 0; j < 4; ++j) {
      double sum = 0;
      for (int i = 0; i < 4; ++i) sum += k[r][i] * pr.cov[i * 4 + j];
      ks[r][j] = sum;
    }
  for (int r = 0; r < 8; ++r)
    for (int c = 0; c < 8; ++c) {
      double sum = 0;
      for (int j = 0; j < 4; ++j) sum += ks[r][j] * k[c][j];
      s.cov[r * 8 + c] -= sum;
    }
}

std::vector<double> KalmanBoxFilter::gating_distance(const KalmanState& s, const std::vector<Vec4>& measurements,
                                                     bool only_position) const {
  const KalmanProjection pr = project(s);
  const int n = only_position ? 2 : 4;
  const Mat4 l = cholesky(pr.cov, n, "KalmanBoxFilter::gating_distance");
  std::vector<double> out;
  out.reserve(measurements.size());
  for (const Vec4& z : measurements) {
    Vec4 d{};
    for (int i = 0; i < n; ++i) d[i] = z[i] - pr.mean[i];
    const Vec4 y = forward_solve(l, d, n);
    double sum = 0;
    for (int i = 0; i < n; ++i) sum += y[i] * y[i];
    out.push_back(sum);
  }
  return out;
}

}  // namespace iris::track
