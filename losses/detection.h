// Differentiable detection losses, each equal to its reference's formula (and checked against it):
//   sigmoid_focal_loss        torchvision.ops.sigmoid_focal_loss (Lin et al. 2017), any reduction
//   masked_focal_loss         GLIP's token_sigmoid_binary_focal_loss over the (anchor, token) pairs a
//                             text mask keeps, summed and divided by max(number of positives, 1)
//   giou_loss                 torchvision.ops.generalized_box_iou_loss (eps 1e-7)
//   centernet_focal_loss      CenterNet's _neg_loss on clamped sigmoid(logits) (alpha 2, beta 4)
//   weighted_bce_with_logits  F.binary_cross_entropy_with_logits(..., weight=w)
//   kl_div_batchmean          F.kl_div(log_probs, probs, reduction="batchmean", log_target=False)
// Multi-positive InfoNCE is losses/contrastive.h's multi_positive_infonce (UniCL is built on it).
// All are compositions of autograd ops (autograd/ops.h): targets, masks and weights are constants.
// Leaves out: ATSS's own GIoU variant (eps added differently, x1 forced >= x0), IoU/DIoU/CIoU losses,
// quality focal loss, the assignment (geometry/atss.h) and the Gaussian targets (geometry/gaussian_heatmap.h).
#pragma once

#include "autograd/ops.h"

namespace iris::losses {

// logits, targets: the same shape (targets in [0, 1]). Per element, p = sigmoid(x):
//   ce = BCE-with-logits(x, t), p_t = p t + (1 - p)(1 - t), l = ce (1 - p_t)^gamma,
//   times alpha_t = alpha t + (1 - alpha)(1 - t) when alpha >= 0. Reduced by `reduction`.
Tensor sigmoid_focal_loss(const Tensor& logits, const Tensor& targets, double alpha = 0.25, double gamma = 2.0,
                          Reduction reduction = Reduction::none);

// GLIP's alignment loss: the focal loss of every (anchor, token) pair, times mask (bool or 0/1 floats,
// broadcastable to logits; undefined: every pair), summed, divided by max(num_positives, 1). GLIP's
// num_positives is the number of positive anchors (anchors assigned a gt), not of positive pairs.
// logits, targets: e.g. [B, A, T]; mask e.g. [B, 1, T] (the text mask, [PAD] off).
Tensor masked_focal_loss(const Tensor& logits, const Tensor& targets, const Tensor& mask, double num_positives,
                         double alpha = 0.25, double gamma = 2.0);

// pred, target: [..., 4] xyxy. Per box: 1 - (IoU - (C - U) / C), with IoU = I / (U + eps) and
// C = area of the smallest enclosing box, + eps in the last division (torchvision's order).
Tensor giou_loss(const Tensor& pred, const Tensor& target, Reduction reduction = Reduction::none, double eps = 1e-7);

// logits, heatmap: the same shape (e.g. [B, C, H, W]); p = clamp(sigmoid(logits), 1e-4, 1 - 1e-4).
// pos = (heatmap == 1), neg = (heatmap < 1):
//   L = -(sum pos log(p) (1 - p)^alpha + sum neg (1 - heatmap)^beta log(1 - p) p^alpha) / num_pos,
// where num_pos = sum pos; with no positive the negative sum alone (not divided).
Tensor centernet_focal_loss(const Tensor& logits, const Tensor& heatmap, double alpha = 2.0, double beta = 4.0);

// BCE-with-logits times per-element weights (broadcastable to logits), reduced as PyTorch does with
// weight=: mean averages w * l over all elements (it does not divide by the weights' sum).
Tensor weighted_bce_with_logits(const Tensor& logits, const Tensor& target, const Tensor& weight,
                                Reduction reduction = Reduction::mean);

// sum(target (log target - log_probs)) / log_probs.shape[0]; target * log(target) is 0 where target is 0.
Tensor kl_div_batchmean(const Tensor& log_probs, const Tensor& target);

}  // namespace iris::losses
