// The discrete visual vocabulary of FaRL-mini's MIM (papers/farl.md 4.5, the flagged substitute for the
// DALL-E dVAE): k-means (Lloyd) on the pixels of image patches; a patch's token is its nearest centroid.
// Patches are flattened channel-major inside the patch (c, y, x), the layout of a patch-embedding
// convolution's weight, and ordered row-major over the grid, the ViT's token order.
// Leaves out: k-means++ seeding, mini-batch k-means, a learned (dVAE / VQ) tokenizer.
#pragma once

#include <cstdint>
#include <string>

#include "tensor/tensor.h"

namespace iris::data {

// images [B, C, H, W] (H, W multiples of patch) -> [B, (H/P)(W/P), C P P], contiguous, same dtype.
Tensor image_patches(const Tensor& images, int64_t patch);

// Nearest centroid by squared Euclidean distance (computed in f64; ties go to the lower index).
// points [M, D], centroids [K, D] -> i64 [M].
Tensor kmeans_assign(const Tensor& points, const Tensor& centroids);

// Lloyd's k-means: k distinct rows of `points` drawn by the seed start it; each of `iterations` rounds
// assigns every point and moves each centroid to the mean of its points (a centroid that gets none stays).
// points [M, D] (M >= k) -> centroids f32 [k, D]. The same points and seed give the same bytes.
Tensor kmeans_fit(const Tensor& points, int64_t k, int iterations, uint64_t seed);

// The fitted vocabulary as a file: "centroids" [K, D] with metadata patch and kind = "farl-visual-tokens".
void save_visual_tokens(const std::string& path, const Tensor& centroids, int64_t patch);
Tensor load_visual_tokens(const std::string& path, int64_t expect_patch);  // throws on a wrong file

}  // namespace iris::data
