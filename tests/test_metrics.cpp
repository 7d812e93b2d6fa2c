// Metrics (metrics/): top-1 and top-k accuracy against hand-counted cases, ties and NaN scores
// ranked as argmax ranks them, the confusion matrix and per-class accuracy, and the error paths.
#include <cmath>
#include <limits>

#include "metrics/classification.h"
#include "tests/helpers.h"

using namespace iris;
using namespace iris::metrics;

TEST_CASE("top-1 from predictions: 100 * right / N, 0 for none") {
  CHECK(top1_percent(std::vector<int64_t>{0, 1, 2, 2}, std::vector<int64_t>{0, 1, 1, 2}) == 75.0);
  CHECK(top1_percent(std::vector<int64_t>{3, 3, 3}, std::vector<int64_t>{0, 1, 3}) == 100.0 / 3.0);
  CHECK(top1_percent(std::vector<int64_t>{}, std::vector<int64_t>{}) == 0.0);
  CHECK_THROWS_WITH_SUBSTR(top1_percent(std::vector<int64_t>{1, 2}, std::vector<int64_t>{1}),
                           "2 predictions for 1 labels");
}

TEST_CASE("top-k from scores: hand-counted rows") {
  // row 0: label 2 is the best (top-1 right); row 1: label 0 is second; row 2: label 1 is third
  // of four; row 3: label 3 is last.
  Tensor scores = from_vector(std::vector<float>{0.1f, 0.2f, 0.9f, 0.0f,
                                                 0.5f, 0.7f, 0.1f, 0.2f,
                                                 0.3f, 0.2f, 0.4f, 0.1f,
                                                 0.9f, 0.8f, 0.7f, 0.6f}, {4, 4});
  Tensor labels = from_vector(std::vector<int64_t>{2, 0, 1, 3});
  CHECK(top1_percent(scores, labels) == 25.0);
  CHECK(topk_percent(scores, labels, 2) == 50.0);
  CHECK(topk_percent(scores, labels, 3) == 75.0);
  CHECK(topk_percent(scores, labels, 4) == 100.0);
  // f64 scores, a non-contiguous view and i32 labels give the same answer
  Tensor t = scores.to(DType::f64).t().contiguous().t();
  CHECK(!t.is_contiguous());
  CHECK(topk_percent(t, labels.to(DType::i32), 2) == 50.0);
  CHECK(top1_percent(from_vector(std::vector<float>{}, {0, 3}), from_vector(std::vector<int64_t>{})) == 0.0);
}

TEST_CASE("top-k ties go to the lower class index, NaN ranks first, as argmax does") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  // Every row ties or holds a NaN; top-1 must agree with argmax for each possible label.
  Tensor scores = from_vector(std::vector<float>{0.5f, 0.5f, 0.1f,
                                                 0.2f, 0.7f, 0.7f,
                                                 0.3f, nan, 0.9f,
                                                 nan, 0.4f, nan,
                                                 1.0f, 1.0f, 1.0f}, {5, 3});
  std::vector<int64_t> argmaxes = argmax(scores, 1).to_vector<int64_t>();
  CHECK(argmaxes == std::vector<int64_t>{0, 1, 1, 0, 0});
  for (int64_t label = 0; label < 3; ++label) {
    Tensor labels = full({5}, static_cast<double>(label), DType::i64);
    double expected = 0;
    for (int64_t a : argmaxes) expected += a == label ? 20.0 : 0.0;
    CHECK(top1_percent(scores, labels) == expected);
  }
  // top-2 by hand: row 0 {0, 1}, row 1 {1, 2}, row 2 {1, 2}, row 3 {0, 2}, row 4 {0, 1}
  CHECK(topk_percent(scores, from_vector(std::vector<int64_t>{1, 2, 2, 2, 1}), 2) == 100.0);
  CHECK(topk_percent(scores, from_vector(std::vector<int64_t>{2, 0, 0, 1, 2}), 2) == 0.0);
}

TEST_CASE("top-k errors name the shapes, k and the label") {
  Tensor scores = zeros({2, 3});
  CHECK_THROWS_WITH_SUBSTR(topk_percent(scores, from_vector(std::vector<int64_t>{0}), 1), "do not match: [2, 3]");
  CHECK_THROWS_WITH_SUBSTR(topk_percent(scores, from_vector(std::vector<int64_t>{0, 1}), 4), "k = 4 must be in [1, 3]");
  CHECK_THROWS_WITH_SUBSTR(topk_percent(scores, from_vector(std::vector<int64_t>{0, 3}), 1),
                           "label 3 of row 1 is outside [0, 3)");
}

TEST_CASE("confusion matrix and per-class accuracy") {
  //                 truth: 0  0  0  1  1  2  2  2  2
  std::vector<int64_t> labels = {0, 0, 0, 1, 1, 2, 2, 2, 2};
  std::vector<int64_t> preds = {0, 1, 0, 1, 1, 0, 2, 2, 3};
  ConfusionMatrix m = confusion_matrix(preds, labels, 4);
  CHECK(m.classes == 4);
  CHECK(m.counts == std::vector<int64_t>{2, 1, 0, 0,
                                         0, 2, 0, 0,
                                         1, 0, 2, 1,
                                         0, 0, 0, 0});
  CHECK(m.at(2, 3) == 1);
  CHECK(m.total() == 9);
  CHECK(m.correct() == 6);
  CHECK(100.0 * m.correct() / m.total() == top1_percent(preds, labels));
  std::vector<double> per = per_class_accuracy(m);
  REQUIRE(per.size() == 4);
  CHECK(per[0] == 200.0 / 3.0);
  CHECK(per[1] == 100.0);
  CHECK(per[2] == 50.0);
  CHECK(std::isnan(per[3]));  // class 3 has no examples
  CHECK_THROWS_WITH_SUBSTR(confusion_matrix({0, 4}, {0, 1}, 4), "example 1 has label 1 and prediction 4");
  CHECK_THROWS_WITH_SUBSTR(confusion_matrix({0}, {0, 1}, 4), "1 predictions for 2 labels");
  CHECK_THROWS_WITH_SUBSTR(confusion_matrix({}, {}, 0), "classes must be at least 1");
}
