// Image-text retrieval and zero-shot classification metrics (CLIP-style evaluation, as
// clip_benchmark's recall_at_k):
//   similarity: [I, T] scores (any float dtype, any device; higher = more similar) between I images
//   and T captions; caption_image[t] = the image caption t describes (an image may have several).
//   image -> text recall@k: percent of images with at least one of their captions among the k
//     highest-scored captions of their row;
//   text -> image recall@k: percent of captions whose image is among the k highest-scored images of
//     their column.
//   Ties go to the lower index and a NaN score ranks above every number, as metrics::topk_percent
//   (classification.h) does; clip_benchmark's torch.topk leaves tie order unspecified.
// Zero-shot top-k accuracy is metrics::topk_percent on the [images, classes] similarity to the class
// prompts' embeddings (zero_shot_topk_percent below only names it).
// Leaves out: mean/median rank, mAP@R, and computing embeddings (models/).
#pragma once

#include <cstdint>
#include <vector>

#include "metrics/classification.h"
#include "tensor/tensor.h"

namespace iris::metrics {

// Throw naming the sizes when caption_image has not T entries, an entry is outside [0, I), an image
// has no caption (image -> text), or k is not in [1, T] (image -> text) / [1, I] (text -> image).
double image_to_text_recall(const Tensor& similarity, const std::vector<int64_t>& caption_image, int64_t k);
double text_to_image_recall(const Tensor& similarity, const std::vector<int64_t>& caption_image, int64_t k);

// [images, classes] similarity, labels i64 [images]: topk_percent.
inline double zero_shot_topk_percent(const Tensor& similarity, const Tensor& labels, int64_t k) {
  return topk_percent(similarity, labels, k);
}

}  // namespace iris::metrics
