// Image <-> text recall@k (see retrieval.h): for each query, the rank of its best-placed right answer
// is the number of candidates that beat it (a higher score, a NaN, or an equal score at a lower index).
// Leaves out: a GPU path (scores are copied to the CPU in f64).
#include "metrics/retrieval.h"

#include <cmath>

#include "tensor/error.h"
#include "tensor/shape.h"

namespace iris::metrics {

namespace {

// Does candidate (score s, index j) rank above (score t, index i)? NaN first, then higher, then lower index.
inline bool beats(double s, int64_t j, double t, int64_t i) {
  if (std::isnan(t)) return std::isnan(s) && j < i;
  return std::isnan(s) || s > t || (s == t && j < i);
}

struct Scores {
  int64_t images = 0, texts = 0;
  std::vector<double> s;  // [I, T]
  double at(int64_t i, int64_t t) const { return s[i * texts + t]; }
};

Scores load(const Tensor& similarity, const std::vector<int64_t>& caption_image, const char* who) {
  IRIS_CHECK(similarity.dim() == 2, who, ": similarity must be [images, texts], got ", shape_str(similarity.shape()));
  Scores sc;
  sc.images = similarity.shape()[0];
  sc.texts = similarity.shape()[1];
  IRIS_CHECK(static_cast<int64_t>(caption_image.size()) == sc.texts, who, ": ", sc.texts,
             " captions in the similarity but ", caption_image.size(), " entries in caption_image");
  for (size_t t = 0; t < caption_image.size(); ++t)
    IRIS_CHECK(caption_image[t] >= 0 && caption_image[t] < sc.images, who, ": caption ", t, " names image ",
               caption_image[t], ", outside [0, ", sc.images, ")");
  sc.s = similarity.cpu().to(DType::f64).contiguous().to_vector<double>();
  return sc;
}

// Is the best-placed candidate of `right` among the first k? candidates 0..n-1, score(j).
template <class Score, class Right>
bool hit(int64_t n, int64_t k, const Score& score, const Right& right) {
  int64_t best = -1;
  for (int64_t j = 0; j < n; ++j)
    if (right(j) && (best < 0 || beats(score(j), j, score(best), best))) best = j;
  if (best < 0) return false;
  int64_t rank = 0;
  for (int64_t j = 0; j < n && rank < k; ++j)
    if (j != best && beats(score(j), j, score(best), best)) ++rank;
  return rank < k;
}

}  // namespace

double image_to_text_recall(const Tensor& similarity, const std::vector<int64_t>& caption_image, int64_t k) {
  const Scores sc = load(similarity, caption_image, "image_to_text_recall");
  IRIS_CHECK(k >= 1 && k <= sc.texts, "image_to_text_recall: k = ", k, " must be in [1, ", sc.texts, "] (the texts)");
  std::vector<int64_t> captions(sc.images, 0);
  for (int64_t im : caption_image) ++captions[im];
  int64_t hits = 0;
  for (int64_t i = 0; i < sc.images; ++i) {
    IRIS_CHECK(captions[i] > 0, "image_to_text_recall: image ", i, " has no caption in caption_image");
    hits += hit(sc.texts, k, [&](int64_t t) { return sc.at(i, t); }, [&](int64_t t) { return caption_image[t] == i; });
  }
  return sc.images == 0 ? 0.0 : 100.0 * static_cast<double>(hits) / static_cast<double>(sc.images);
}

double text_to_image_recall(const Tensor& similarity, const std::vector<int64_t>& caption_image, int64_t k) {
  const Scores sc = load(similarity, caption_image, "text_to_image_recall");
  IRIS_CHECK(k >= 1 && k <= sc.images, "text_to_image_recall: k = ", k, " must be in [1, ", sc.images,
             "] (the images)");
  int64_t hits = 0;
  for (int64_t t = 0; t < sc.texts; ++t)
    hits += hit(sc.images, k, [&](int64_t i) { return sc.at(i, t); }, [&](int64_t i) { return i == caption_image[t]; });
  return sc.texts == 0 ? 0.0 : 100.0 * static_cast<double>(hits) / static_cast<double>(sc.texts);
}

}  // namespace iris::metrics
