// Contrastive image-text losses: UniCL's bidirectional loss with label-derived soft targets (Yang et al.
// 2022, "Unified Contrastive Learning in Image-Text-Label Space") and CLIP's InfoNCE (identity targets).
// Embeddings are expected L2-normalised already; scale is the (clamped) logit scale. Leaves out: gathering
// over devices, mixup affinity targets, SupCon (image-image) losses.
#pragma once

#include "autograd/ops.h"

namespace iris::losses {

// labels [B] (i32 or i64) -> [B, B] f32, T_ij = 1[y_i == y_j] / |P(i)| (rows sum to 1). Not differentiable.
Tensor label_targets(const Tensor& labels);

// UniCL bidirectional loss: logits = scale * img @ txt^T; soft-target CE of the rows (image->text) against
// label_targets(labels) plus soft-target CE of the columns (text->image) against the column-normalised targets;
// each averaged over the batch; the result is their sum (L_i2t + L_t2i); pass `average_directions=true` for the mean.
// image_emb, text_emb [B, E] (same float dtype and device), labels [B], scale: scalar (0-dim or one element).
Tensor unicl_loss(const Tensor& image_emb, const Tensor& text_emb, const Tensor& labels, const Tensor& scale,
                  bool average_directions = false);

// Multi-positive InfoNCE: logits [N, M], positives [N, M] (bool or 0/1 floats; constants). Row i's loss is
// -(1 / |P(i)|) sum_{j in P(i)} log_softmax(logits_i)_j, averaged over the rows with at least one
// positive (rows without one are left out; throws when no row has one). UniCL's loss is this in both
// directions with P(i) = {j : y_j = y_i}; CLIP's with P(i) = {i}.
Tensor multi_positive_infonce(const Tensor& logits, const Tensor& positives);

// CLIP's loss: the same with identity targets (image i and text i are the only positive pair).
Tensor clip_loss(const Tensor& image_emb, const Tensor& text_emb, const Tensor& scale, bool average_directions = false);

}  // namespace iris::losses
