// Masked-token cross-entropy, the FaRL total, heatmap targets and the landmark loss (mim.h).
#include "losses/mim.h"

#include <vector>

#include "losses/contrastive.h"

namespace iris::losses {

Tensor masked_token_loss(const Tensor& logits, const Tensor& targets, const Tensor& mask) {
  IRIS_CHECK(logits.dim() == 3, "masked_token_loss: expects logits [B, N, K], got ", shape_str(logits.shape()));
  const int64_t B = logits.shape()[0], N = logits.shape()[1], K = logits.shape()[2];
  IRIS_CHECK(targets.shape() == Shape({B, N}) && mask.shape() == Shape({B, N}),
             "masked_token_loss: targets and mask must be [", B, ", ", N, "], got ", shape_str(targets.shape()), " and ",
             shape_str(mask.shape()));
  std::vector<double> m = mask.cpu().to(DType::f64).contiguous().to_vector<double>();
  std::vector<int64_t> rows;
  for (int64_t i = 0; i < B * N; ++i)
    if (m[i] != 0) rows.push_back(i);
  IRIS_CHECK(!rows.empty(), "masked_token_loss: the mask holds no masked position");
  Tensor idx = from_vector(rows).to(logits.device());
  Tensor picked = index_select(logits.reshape({B * N, K}), 0, idx);                      // [M, K]
  Tensor y = index_select(targets.to(DType::i64).reshape({B * N}).to(logits.device()), 0, idx);  // [M]
  return cross_entropy(picked, y);
}

Tensor farl_pretrain_loss(const Tensor& image_emb, const Tensor& text_emb, const Tensor& logit_scale,
                          const Tensor& mim_logits, const Tensor& targets, const Tensor& mask, double lambda) {
  return clip_loss(image_emb, text_emb, logit_scale, true) + lambda * masked_token_loss(mim_logits, targets, mask);
}

Tensor gaussian_heatmaps(const Tensor& points, int64_t H, int64_t W, double sigma) {
  IRIS_CHECK(points.dim() == 3 && points.shape()[2] == 2, "gaussian_heatmaps: expects points [B, L, 2], got ",
             shape_str(points.shape()));
  IRIS_CHECK(H >= 1 && W >= 1 && sigma > 0, "gaussian_heatmaps: need H, W >= 1 and sigma > 0");
  NoGradGuard ng;
  const int64_t B = points.shape()[0], L = points.shape()[1];
  Tensor p = points.cpu().to(DType::f32);
  Tensor px = p.select(2, 0).reshape({B, L, 1, 1}), py = p.select(2, 1).reshape({B, L, 1, 1});
  Tensor gx = arange(0, static_cast<double>(W), 1.0, DType::f32).reshape({1, 1, 1, W});
  Tensor gy = arange(0, static_cast<double>(H), 1.0, DType::f32).reshape({1, 1, H, 1});
  Tensor d2 = square(gx - px) + square(gy - py);  // [B, L, H, W]
  return exp(d2 * (-0.5 / (sigma * sigma))).contiguous().to(points.device());
}

Tensor landmark_loss(const Tensor& coords, const Tensor& true_coords, const Tensor& heatmap_logits,
                     const Tensor& target_heatmaps) {
  return l1_loss(coords, true_coords) + binary_cross_entropy_with_logits(heatmap_logits, target_heatmaps);
}

}  // namespace iris::losses
