// k-means visual tokens: patch extraction, assignment, Lloyd's iterations, the file (visual_tokens.h).
#include "data/visual_tokens.h"

#include <algorithm>
#include <vector>

#include "autograd/ops.h"
#include "data/synth/items.h"
#include "io/safetensors.h"

namespace iris::data {

Tensor image_patches(const Tensor& images, int64_t P) {
  IRIS_CHECK(images.dim() == 4, "image_patches: expects images [B, C, H, W], got ", shape_str(images.shape()));
  const int64_t B = images.shape()[0], C = images.shape()[1], H = images.shape()[2], W = images.shape()[3];
  IRIS_CHECK(P >= 1 && H % P == 0 && W % P == 0, "image_patches: ", H, " x ", W, " is not a grid of ", P, " x ", P,
             " patches");
  // [B, C, h, P, w, P] -> [B, h, w, C, P, P] -> [B, h w, C P P]
  return images.contiguous()
      .reshape({B, C, H / P, P, W / P, P})
      .permute({0, 2, 4, 1, 3, 5})
      .contiguous()
      .reshape({B, (H / P) * (W / P), C * P * P});
}

Tensor kmeans_assign(const Tensor& points, const Tensor& centroids) {
  IRIS_CHECK(points.dim() == 2 && centroids.dim() == 2 && points.shape()[1] == centroids.shape()[1],
             "kmeans_assign: expects points [M, D] and centroids [K, D], got ", shape_str(points.shape()), " and ",
             shape_str(centroids.shape()));
  NoGradGuard ng;
  const int64_t M = points.shape()[0], K = centroids.shape()[0];
  Tensor c = centroids.cpu().to(DType::f64);
  Tensor cc = sum(c * c, {1}).unsqueeze(0), ct = c.t().contiguous();
  std::vector<int64_t> out(static_cast<size_t>(M));
  constexpr int64_t kChunk = 8192;  // rows at a time: [chunk, K] distances stay small
  for (int64_t r0 = 0; r0 < M; r0 += kChunk) {
    const int64_t r1 = std::min(M, r0 + kChunk);
    Tensor x = points.slice(0, r0, r1).cpu().to(DType::f64);
    // |x - c|^2 = |c|^2 - 2 x.c (+ |x|^2, the same for every centroid)
    std::vector<double> v = (cc - 2.0 * matmul(x, ct)).contiguous().to_vector<double>();
    for (int64_t i = 0; i < r1 - r0; ++i) {
      int64_t best = 0;
      for (int64_t k = 1; k < K; ++k)
        if (v[i * K + k] < v[i * K + best]) best = k;
      out[r0 + i] = best;
    }
  }
  return from_vector(out);
}

Tensor kmeans_fit(const Tensor& points, int64_t k, int iterations, uint64_t seed) {
  IRIS_CHECK(points.dim() == 2, "kmeans_fit: expects points [M, D], got ", shape_str(points.shape()));
  const int64_t M = points.shape()[0], D = points.shape()[1];
  IRIS_CHECK(k >= 1 && k <= M, "kmeans_fit: need 1 <= k <= points (", M, "), got k = ", k);
  NoGradGuard ng;
  Tensor x = points.cpu().to(DType::f32).contiguous();
  std::vector<int64_t> order(static_cast<size_t>(M));
  for (int64_t i = 0; i < M; ++i) order[i] = i;
  synth::SynthRandom rng(seed, 0x6b6d65616e73ull);  // "kmeans"
  rng.shuffle(order);
  order.resize(static_cast<size_t>(k));
  Tensor centroids = index_select(x, 0, from_vector(order)).contiguous();
  std::vector<float> xs = x.to_vector<float>();
  for (int it = 0; it < iterations; ++it) {
    std::vector<int64_t> a = kmeans_assign(x, centroids).to_vector<int64_t>();
    std::vector<double> sums(static_cast<size_t>(k * D), 0.0);
    std::vector<int64_t> counts(static_cast<size_t>(k), 0);
    for (int64_t i = 0; i < M; ++i) {
      ++counts[a[i]];
      for (int64_t j = 0; j < D; ++j) sums[a[i] * D + j] += xs[i * D + j];
    }
    std::vector<float> c = centroids.to_vector<float>();
    for (int64_t q = 0; q < k; ++q)
      if (counts[q] > 0)
        for (int64_t j = 0; j < D; ++j) c[q * D + j] = static_cast<float>(sums[q * D + j] / counts[q]);
    centroids = from_vector(c, {k, D});
  }
  return centroids;
}

void save_visual_tokens(const std::string& path, const Tensor& centroids, int64_t patch) {
  save_safetensors(path, {{"centroids", centroids}},
                   {{"kind", "farl-visual-tokens"}, {"patch", std::to_string(patch)}});
}

Tensor load_visual_tokens(const std::string& path, int64_t expect_patch) {
  SafetensorsFile f = load_safetensors(path);
  auto kind = f.metadata.find("kind");
  IRIS_CHECK(kind != f.metadata.end() && kind->second == "farl-visual-tokens", path,
             " is not a visual-token file (no kind = farl-visual-tokens in its metadata)");
  auto patch = f.metadata.find("patch");
  IRIS_CHECK(patch != f.metadata.end() && patch->second == std::to_string(expect_patch), path,
             ": its tokens are of ", patch == f.metadata.end() ? std::string("unknown") : patch->second,
             "-pixel patches, the model's are ", expect_patch);
  return f.get("centroids");
}

}  // namespace iris::data
