// track/kalman against a NumPy filter written from DeepSORT's formulas (tests/golden/kalman.json,
// written by tests/golden/make_kalman.py): initiate, every predict / update step of 6 tracks with
// missed frames, and the gating distances (full and position-only), all to 1e-9 relative to the
// largest entry of each vector or matrix; DeepSORT's chi-square table against scipy's quantiles.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "io/file_util.h"
#include "io/json.h"
#include "tests/helpers.h"
#include "track/kalman.h"

using namespace iris;
using namespace iris::track;

namespace {

std::vector<double> numbers(const json::Value& v) {
  std::vector<double> out;
  for (const json::Value& e : v.elements()) out.push_back(e.as_number());
  return out;
}

template <class A>
double scaled_error(const A& actual, const std::vector<double>& expected) {
  REQUIRE(actual.size() == expected.size());
  double worst = 0, scale = 1e-300;
  for (size_t i = 0; i < expected.size(); ++i) {
    worst = std::max(worst, std::fabs(actual[i] - expected[i]));
    scale = std::max(scale, std::fabs(expected[i]));
  }
  return worst / scale;
}

Vec4 vec4(const std::vector<double>& v) {
  REQUIRE(v.size() == 4);
  return {v[0], v[1], v[2], v[3]};
}

}  // namespace

TEST_CASE("kalman: initiate, predict, update and gating equal the NumPy reference to 1e-9") {
  json::Value doc = json::parse(read_file("tests/golden/kalman.json"));
  KalmanBoxFilter kf;
  int steps = 0, updates = 0, gates = 0;
  for (const json::Value& track : doc["tracks"].elements()) {
    KalmanState s = kf.initiate(vec4(numbers(track["initial"])));
    CHECK(scaled_error(s.mean, numbers(track["initial_mean"])) <= 1e-12);
    CHECK(scaled_error(s.cov, numbers(track["initial_cov"])) <= 1e-12);
    for (const json::Value& step : track["steps"].elements()) {
      CAPTURE(steps);
      kf.predict(s);
      if (const json::Value* c = step.find("candidates")) {
        std::vector<Vec4> zs;
        for (const json::Value& z : c->elements()) zs.push_back(vec4(numbers(z)));
        CHECK(scaled_error(kf.gating_distance(s, zs), numbers(step["gating"])) <= 1e-9);
        CHECK(scaled_error(kf.gating_distance(s, zs, true), numbers(step["gating_position"])) <= 1e-9);
        ++gates;
      }
      if (const json::Value* z = step.find("measurement")) {
        kf.update(s, vec4(numbers(*z)));
        ++updates;
      }
      const double e_mean = scaled_error(s.mean, numbers(step["mean"]));
      const double e_cov = scaled_error(s.cov, numbers(step["cov"]));
      CHECK_MESSAGE(e_mean <= 1e-9, "mean: scaled error " << e_mean);
      CHECK_MESSAGE(e_cov <= 1e-9, "cov: scaled error " << e_cov);
      ++steps;
    }
  }
  CHECK(steps == 120);
  CHECK(updates > 60);
  CHECK(updates < steps);  // some frames are predictions only
  CHECK(gates > 10);
  // DeepSORT's table is scipy's chi2.ppf(0.95, N) to its printed digits.
  std::vector<double> chi2 = numbers(doc["chi2inv95"]);
  for (int d = 1; d <= 9; ++d) CHECK(kChi2Inv95[d] == doctest::Approx(chi2[d - 1]).epsilon(1e-4));
}

TEST_CASE("kalman: xyah conversion and a bad covariance") {
  Box b{10, 20, 40, 80};
  Vec4 m = box_to_xyah(b);
  CHECK(m[0] == 25.0);
  CHECK(m[1] == 50.0);
  CHECK(m[2] == doctest::Approx(0.5));
  CHECK(m[3] == 60.0);
  CHECK(xyah_to_box(m) == b);
  CHECK_THROWS_WITH_SUBSTR(box_to_xyah(Box{0, 5, 3, 5}), "height 0 must be > 0");
  KalmanBoxFilter kf;
  KalmanState s = kf.initiate({0, 0, 0.5, 100});
  s.cov[0] = -1e9;  // not positive definite any more
  CHECK_THROWS_WITH_SUBSTR(kf.update(s, {1, 1, 0.5, 100}), "not positive definite");
}
