// FaRL's pre-training losses beside ITC (losses/contrastive.h): BEiT-style masked image modelling, the
// cross-entropy of the visual-token classifier at the masked positions only, and the total
// L = L_ITC + lambda * L_MIM. Face alignment's loss: L1 on normalised coordinates plus BCE-with-logits
// against rendered Gaussian heatmaps (papers/farl.md 4.3).
// Leaves out: the dVAE's soft targets, label smoothing of the token classifier.
#pragma once

#include "autograd/ops.h"

namespace iris::losses {

// logits [B, N, K], targets i64 [B, N] (token ids in [0, K)), mask [B, N] (bool, u8 or float, nonzero =
// masked; at least one). Mean over the masked positions of -log softmax(logits)[target].
Tensor masked_token_loss(const Tensor& logits, const Tensor& targets, const Tensor& mask);

// The FaRL objective: clip_loss (mean of the two directions, CLIP's convention) + lambda * MIM.
Tensor farl_pretrain_loss(const Tensor& image_emb, const Tensor& text_emb, const Tensor& logit_scale,
                          const Tensor& mim_logits, const Tensor& targets, const Tensor& mask, double lambda = 1.0);

// Gaussian heatmaps exp(-d^2 / (2 sigma^2)) peaking at each point, in heatmap cells: points [B, L, 2]
// (x, y; cell centres at integers) -> [B, L, H, W]. Not differentiable (a target).
Tensor gaussian_heatmaps(const Tensor& points, int64_t H, int64_t W, double sigma);

// L1 between predicted and true coordinates (any matching shape, normalised by the caller) plus
// BCE-with-logits between heatmap logits and target heatmaps, both means, weights 1 and 1.
Tensor landmark_loss(const Tensor& coords, const Tensor& true_coords, const Tensor& heatmap_logits,
                     const Tensor& target_heatmaps);

}  // namespace iris::losses
