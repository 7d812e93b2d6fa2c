// metrics/retrieval: image <-> text recall@k against tests/golden/retrieval.json (written by
// tests/golden/make_retrieval.py: a NumPy stable-sort reference, and clip_benchmark's recall_at_k
// formula in torch where no score ties), to 1e-9; zero-shot top-k against clip_benchmark's accuracy;
// hand-worked rankings with several captions per image, ties and NaN; and the error messages.
#include <cmath>
#include <string>
#include <vector>

#include "io/file_util.h"
#include "io/json.h"
#include "metrics/retrieval.h"
#include "tests/helpers.h"

using namespace iris;
using testing::json_ints;
using testing::json_matrix;
using namespace iris::metrics;

TEST_CASE("retrieval: hand-worked recall with several captions per image") {
  // 2 images, 3 captions: captions 0, 2 show image 0; caption 1 shows image 1.
  //            c0   c1   c2
  // image 0   0.1  0.9  0.5    its best caption (c2) is 2nd: miss at k 1, hit at k 2
  // image 1   0.8  0.7  0.2    its caption (c1) is 2nd
  Tensor s = from_vector(std::vector<double>{0.1, 0.9, 0.5, 0.8, 0.7, 0.2}, Shape{2, 3});
  const std::vector<int64_t> caption_image{0, 1, 0};
  CHECK(image_to_text_recall(s, caption_image, 1) == 0.0);
  CHECK(image_to_text_recall(s, caption_image, 2) == 100.0);
  // Columns: c0 -> image 1 first (miss), c1 -> image 0 first (miss), c2 -> image 0 first (hit).
  CHECK(text_to_image_recall(s, caption_image, 1) == doctest::Approx(100.0 / 3).epsilon(1e-12));
  CHECK(text_to_image_recall(s, caption_image, 2) == 100.0);
  // Ties go to the lower index; NaN ranks first.
  Tensor tie = from_vector(std::vector<double>{0.5, 0.5, 0.5, 0.5}, Shape{2, 2});
  CHECK(text_to_image_recall(tie, {0, 1}, 1) == 50.0);
  CHECK(image_to_text_recall(tie, {0, 1}, 1) == 50.0);
  Tensor nan = from_vector(std::vector<double>{0.5, std::nan(""), 0.9, 0.1}, Shape{2, 2});
  CHECK(image_to_text_recall(nan, {0, 1}, 1) == 0.0);  // image 0 ranks c1 (NaN) first; image 1 ranks c0 first
}

TEST_CASE("retrieval: equals the reference and clip_benchmark's formula on the golden cases") {
  const json::Value g = json::parse(read_file("tests/golden/retrieval.json"));
  int checked_cb = 0;
  for (const auto& c : g["cases"].elements()) {
    const std::string name = c["name"].as_string();
    CAPTURE(name);
    Tensor s = json_matrix(c["similarity"]);
    const std::vector<int64_t> caption_image = json_ints(c["caption_image"]);
    for (size_t i = 0; i < c["ks"].size(); ++i) {
      const int64_t k = c["ks"][i].as_int();
      CAPTURE(k);
      const double i2t = image_to_text_recall(s, caption_image, k), t2i = text_to_image_recall(s, caption_image, k);
      CHECK(std::fabs(i2t - c["image_to_text"][i].as_number()) < 1e-9);
      CHECK(std::fabs(t2i - c["text_to_image"][i].as_number()) < 1e-9);
      if (const json::Value* cb = c.find("clip_benchmark")) {
        ++checked_cb;
        CHECK(std::fabs(i2t - (*cb)["image_to_text"][i].as_number()) < 1e-9);
        CHECK(std::fabs(t2i - (*cb)["text_to_image"][i].as_number()) < 1e-9);
      }
    }
  }
  CHECK(checked_cb >= 12);
  for (const auto& z : g["zero_shot"].elements()) {
    Tensor s = json_matrix(z["similarity"]);
    Tensor labels = from_vector(json_ints(z["labels"]));
    for (size_t i = 0; i < z["ks"].size(); ++i)
      CHECK(std::fabs(zero_shot_topk_percent(s, labels, z["ks"][i].as_int()) - z["top"][i].as_number()) < 1e-9);
  }
}

TEST_CASE("retrieval: bad input gives clear errors") {
  Tensor s = zeros({2, 3});
  CHECK_THROWS_WITH(image_to_text_recall(s, {0, 1}, 1), doctest::Contains("3 captions in the similarity but 2"));
  CHECK_THROWS_WITH(image_to_text_recall(s, {0, 5, 1}, 1), doctest::Contains("caption 1 names image 5"));
  CHECK_THROWS_WITH(image_to_text_recall(s, {0, 0, 0}, 1), doctest::Contains("image 1 has no caption"));
  CHECK_THROWS_WITH(image_to_text_recall(s, {0, 1, 0}, 4), doctest::Contains("k = 4 must be in [1, 3]"));
  CHECK_THROWS_WITH(text_to_image_recall(s, {0, 1, 0}, 3), doctest::Contains("k = 3 must be in [1, 2]"));
  CHECK_THROWS_WITH(text_to_image_recall(zeros({6}), {}, 1), doctest::Contains("[images, texts]"));
}
