// Boxes: the geometry of geometry/box.h (area, intersection, IoU against hand-computed cases, the
// x1/y1-exclusive convention), box coding of models/box_coder.h (round trips, hand-computed
// offsets, the exp clamp, gradients) and greedy per-class NMS of geometry/nms.h (hand-worked cases,
// ties, thresholds).
#include <cmath>

#include "geometry/box.h"
#include "geometry/box_ops.h"
#include "geometry/nms.h"
#include "models/box_coder.h"
#include "tests/helpers.h"

using namespace iris;
using namespace iris::models;

TEST_CASE("box geometry: area, intersect and IoU by hand") {
  Box a{0, 0, 4, 2}, b{2, 1, 6, 5};  // 8 and 16 pixels, overlapping in [2, 4) x [1, 2): 2 pixels
  CHECK(a.width() == 4);
  CHECK(area(a) == 8);
  CHECK(intersect(a, b) == Box{2, 1, 4, 2});
  CHECK(area(intersect(a, b)) == 2);
  CHECK(iou(a, b) == 2.0 / 22.0);
  CHECK(iou(b, a) == iou(a, b));
  CHECK(iou(a, a) == 1.0);
  // x1 exclusive: boxes that share only an edge do not overlap
  CHECK(iou(Box{0, 0, 2, 2}, Box{2, 0, 4, 2}) == 0.0);
  CHECK(area(intersect(Box{0, 0, 2, 2}, Box{5, 5, 6, 6})) == 0.0);
  CHECK(Box{3, 3, 3, 5}.empty());
  CHECK(area(Box{3, 3, 1, 5}) == 0.0);
  CHECK(iou(Box{}, Box{}) == 0.0);
  CHECK(Box{NAN, 0, 1, 1}.empty());
  CHECK(box_from_size(1.5, 2, 3, 4) == Box{1.5, 2, 4.5, 6});
  CHECK(iou(Box{0, 0, 10, 10}, Box{0, 0, 10, 5}) == 0.5);  // containment
}

TEST_CASE("box coding: corners <-> centre, offsets by hand, round trips") {
  Tensor corners = from_vector(std::vector<double>{0, 0, 4, 2, 10, 20, 16, 28}, {2, 4});
  CHECK_CLOSE(corners_to_center(corners), from_vector(std::vector<double>{2, 1, 4, 2, 13, 24, 6, 8}, {2, 4}), 0, 0);
  CHECK_CLOSE(center_to_corners(corners_to_center(corners)), corners, 0, 0);
  // anchor centre (2, 1), size 4 x 2; box centre (3, 2), size 8 x 1
  Tensor anchor = from_vector(std::vector<double>{0, 0, 4, 2}, {1, 4});
  Tensor box = from_vector(std::vector<double>{-1, 1.5, 7, 2.5}, {1, 4});
  Tensor offsets = encode_boxes(box, anchor);
  CHECK_CLOSE(offsets, from_vector(std::vector<double>{0.25, 0.5, std::log(2.0), std::log(0.5)}, {1, 4}), 1e-15, 0);
  BoxCoderOptions rcnn{10, 10, 5, 5};
  Tensor weighted = encode_boxes(box, anchor, rcnn);
  CHECK_CLOSE(weighted, from_vector(std::vector<double>{2.5, 5, 5 * std::log(2.0), 5 * std::log(0.5)}, {1, 4}), 1e-14,
              0);
  CHECK_CLOSE(decode_boxes(weighted, anchor, rcnn), box, 1e-14, 0);
  // anchors broadcast over a batch of offsets; zero offsets give the anchors back
  Tensor anchors = from_vector(std::vector<double>{0, 0, 4, 2, 10, 20, 16, 28}, {2, 4});
  CHECK_CLOSE(decode_boxes(zeros({3, 2, 4}, DType::f64), anchors), anchors.unsqueeze(0).expand({3, 2, 4}), 0, 0);
  // wild size offsets are clamped at log(1000 / 16): width at most 62.5 anchor widths
  Tensor wild = decode_boxes(from_vector(std::vector<double>{0, 0, 100, 0}, {1, 4}), anchor);
  CHECK(std::isfinite(wild.to_vector<double>()[2]));
  CHECK(wild.to_vector<double>()[2] - wild.to_vector<double>()[0] == doctest::Approx(4 * 1000.0 / 16.0));
  CHECK_THROWS_WITH_SUBSTR(decode_boxes(zeros({2, 3}), anchor), "offsets must be [..., 4]");
  CHECK_THROWS_WITH_SUBSTR(decode_boxes(zeros({1, 4}), anchor, {0, 1, 1, 1}), "weights must be positive");
}

TEST_CASE("box decoding differentiates (finite differences)") {
  Tensor anchors = from_vector(std::vector<double>{0, 0, 4, 2, 10, 20, 16, 28}, {2, 4});
  Tensor offsets = testing::randn64({2, 4}, 3) * 0.3;
  offsets = offsets.detach().requires_grad_(true);
  CHECK_GRADCHECK([&](const std::vector<Tensor>& in) { return decode_boxes(in[0], anchors, {10, 10, 5, 5}); },
                  {offsets}, {});
}

TEST_CASE("NMS: greedy by score, per class, thresholds and deterministic ties") {
  // 0 and 1 overlap by IoU 0.6; 2 is far away; 3 overlaps 0 by IoU 1/3.
  std::vector<Box> boxes = {{0, 0, 10, 10}, {0, 0, 10, 6}, {50, 50, 60, 60}, {5, 0, 15, 10}};
  CHECK(iou(boxes[0], boxes[1]) == doctest::Approx(0.6));
  CHECK(iou(boxes[0], boxes[3]) == doctest::Approx(1.0 / 3.0));
  std::vector<double> scores = {0.9, 0.95, 0.5, 0.8};
  // 1 first (0.95), suppresses 0 (IoU 0.6 > 0.5); 3 overlaps 1 by 30 / 130 < 0.5: kept; then 2
  CHECK(nms(boxes, scores) == std::vector<int64_t>{1, 3, 2});
  NmsOptions loose;
  loose.iou_threshold = 0.7;
  CHECK(nms(boxes, scores, {}, loose) == std::vector<int64_t>{1, 0, 3, 2});
  NmsOptions strict;
  strict.iou_threshold = 0.2;  // 3 overlaps 1 by 0.23 > 0.2: dropped
  CHECK(nms(boxes, scores, {}, strict) == std::vector<int64_t>{1, 2});
  // per class: 1 (class 1) no longer suppresses 0 (class 0), and 0 then suppresses 3 (IoU 1/3 > 0.2)
  CHECK(nms(boxes, scores, {0, 1, 0, 0}, strict) == std::vector<int64_t>{1, 0, 2});
  // the score threshold drops before suppressing: without 1, box 0 survives and suppresses nothing at 0.5
  NmsOptions threshold;
  threshold.score_threshold = 0.85;
  CHECK(nms(boxes, {0.9, 0.8, 0.99, 0.86}, {}, threshold) == std::vector<int64_t>{2, 0, 3});
  threshold.max_detections = 2;
  CHECK(nms(boxes, {0.9, 0.8, 0.99, 0.86}, {}, threshold) == std::vector<int64_t>{2, 0});
  // ties go to the lower index, whatever the input order; NaN scores never pass
  CHECK(nms(boxes, {0.7, 0.7, 0.7, 0.7}) == std::vector<int64_t>{0, 2, 3});
  CHECK(nms({boxes[1], boxes[0]}, {0.7, 0.7}) == std::vector<int64_t>{0});
  CHECK(nms(boxes, {NAN, 0.1, 0.2, 0.3}) == std::vector<int64_t>{3, 2, 1});
  CHECK(nms(std::vector<Box>{}, std::vector<double>{}).empty());
  // the tensor form gives the same indices
  Tensor t = nms(boxes_to_tensor(boxes), from_vector(std::vector<float>{0.9f, 0.95f, 0.5f, 0.8f}),
                 from_vector(std::vector<int64_t>{0, 1, 0, 0}), strict);
  CHECK(t.to_vector<int64_t>() == std::vector<int64_t>{1, 0, 2});
  CHECK(boxes_from_tensor(boxes_to_tensor(boxes))[3] == boxes[3]);
  CHECK_THROWS_WITH_SUBSTR(nms(boxes, {0.5}), "4 boxes, 1 scores and 0 classes");
  CHECK_THROWS_WITH_SUBSTR(nms(zeros({3, 5}), zeros({3}), Tensor()), "expects boxes [N, 4]");
}
