// metrics/segmentation and metrics/landmarks on cases worked out by hand.
#include <doctest/doctest.h>

#include <cmath>

#include "metrics/landmarks.h"
#include "metrics/segmentation.h"
#include "tensor/error.h"

using namespace iris;
using namespace iris::metrics;

TEST_CASE("segmentation: F1, IoU and pixel accuracy from one histogram, ignore and absent classes") {
  SegmentationHistogram h(4);
  // truth:     0 0 1 1 1 2 -1     (class 3 appears nowhere)
  // predicted: 0 1 1 1 2 2  3
  h.add({0, 1, 1, 1, 2, 2, 3}, {0, 0, 1, 1, 1, 2, -1});
  SegmentationScores s = segmentation_scores(h, 0);
  // class 0: tp 1, gt 2, pred 1 -> F1 2/3, IoU 1/2; class 1: tp 2, gt 3, pred 3 -> F1 2/3, IoU 1/2;
  // class 2: tp 1, gt 1, pred 2 -> F1 2/3, IoU 1/2; class 3: none -> NaN.
  CHECK(s.f1[0] == doctest::Approx(2.0 / 3));
  CHECK(s.iou[1] == doctest::Approx(0.5));
  CHECK(s.f1[2] == doctest::Approx(2.0 / 3));
  CHECK(std::isnan(s.f1[3]));
  CHECK(s.mean_f1 == doctest::Approx(2.0 / 3));
  CHECK(s.miou == doctest::Approx(0.5));
  CHECK(s.pixel_accuracy == doctest::Approx(4.0 / 6));
  SegmentationHistogram h2(4);
  h2.add({3, 3}, {3, 0});
  h.add(h2);
  s = segmentation_scores(h, 0);
  CHECK(s.f1[3] == doctest::Approx(2.0 / 3));  // tp 1, gt 1, pred 2
  CHECK(s.pixel_accuracy == doctest::Approx(5.0 / 8));
  CHECK_THROWS_AS(h.add({0}, {4}), Error);
  CHECK_THROWS_AS(h.add({0, 1}, {0}), Error);
  CHECK(segmentation_scores(SegmentationHistogram(3)).pixel_accuracy == 0.0);
}

TEST_CASE("landmarks: NME with each normaliser, failure rate and the exact CED area") {
  std::vector<Point2> truth = {{0, 0}, {10, 0}, {5, 5}};
  std::vector<Point2> pred = {{3, 4}, {10, 0}, {5, 5}};  // errors 5, 0, 0
  const double io = inter_ocular_distance(truth, 0, 1);
  CHECK(io == 10.0);
  CHECK(landmark_nme(pred, truth, io) == doctest::Approx(5.0 / 3 / 10));
  CHECK(box_size(4, 9) == 6.0);
  CHECK(box_diagonal(3, 4) == 5.0);
  CHECK_THROWS_AS(landmark_nme(pred, truth, 0.0), Error);
  CHECK_THROWS_AS(landmark_nme({{0, 0}}, truth, 1.0), Error);
  // errors 0.02, 0.05, 0.2 at t = 0.1: one failure; area = (0.08 + 0.05) / 3 / 0.1
  std::vector<double> nmes = {0.02, 0.05, 0.2};
  CHECK(failure_rate(nmes, 0.1) == doctest::Approx(1.0 / 3));
  CHECK(ced_auc(nmes, 0.1) == doctest::Approx(0.13 / 0.3));
  CHECK(ced_auc({0.0}, 0.1) == doctest::Approx(1.0));
  CHECK(failure_rate({NAN}, 0.1) == 1.0);
}
