// Contrastive losses composed from autograd ops: logits = scale * img @ txt^T [B, B], then soft-target
// cross-entropy of the rows (image -> text) and of the columns (text -> image). The targets are constants
// (no gradient); with identity targets this is CLIP's symmetric InfoNCE.
#include "losses/contrastive.h"

namespace iris::losses {

namespace {

void check_embeddings(const char* op, const Tensor& image_emb, const Tensor& text_emb, const Tensor& scale) {
  IRIS_CHECK(image_emb.defined() && text_emb.defined() && scale.defined(), op, ": an input is undefined");
  IRIS_CHECK(image_emb.dim() == 2 && text_emb.dim() == 2 && image_emb.shape() == text_emb.shape(), op,
             ": image_emb and text_emb must both be [B, E] with the same shape, got ", shape_str(image_emb.shape()),
             " and ", shape_str(text_emb.shape()));
  IRIS_CHECK(image_emb.shape()[0] >= 1, op, ": the batch is empty (", shape_str(image_emb.shape()), ")");
  IRIS_CHECK(is_floating(image_emb.dtype()) && image_emb.dtype() == text_emb.dtype(), op,
             ": embeddings must share one float dtype, got ", dtype_name(image_emb.dtype()), " and ",
             dtype_name(text_emb.dtype()));
  IRIS_CHECK(scale.numel() == 1 && scale.dim() <= 1, op, ": scale must be a scalar (0-d or [1]), got ",
             shape_str(scale.shape()));
  IRIS_CHECK(is_floating(scale.dtype()), op, ": scale must be a float tensor, got ", dtype_name(scale.dtype()));
  IRIS_CHECK(image_emb.device() == text_emb.device() && scale.device() == image_emb.device(), op,
             ": embeddings and scale must be on one device");
}

// Mean over rows of -sum_j target_ij log_softmax(logits)_ij; logits [B, B], target [B, B] rows summing to 1.
Tensor soft_cross_entropy(const Tensor& logits, const Tensor& target) {
  return -mean(sum(target * log_softmax(logits, 1), {1}));
}

Tensor bidirectional(const Tensor& image_emb, const Tensor& text_emb, const Tensor& scale, const Tensor& rows,
                     const Tensor& cols, bool average_directions) {
  // [B, E] x [E, B] -> [B, B]; row i: image i against every text.
  Tensor logits = scale.reshape({}) * matmul(image_emb, text_emb.t());
  Tensor i2t = soft_cross_entropy(logits, rows);
  Tensor t2i = soft_cross_entropy(logits.t(), cols);  // row j: text j against every image
  Tensor total = i2t + t2i;
  return average_directions ? total * 0.5 : total;
}

// label_targets in the given float dtype (f64 losses get f64 targets, exact to the last bit).
Tensor targets_as(const Tensor& labels, DType dtype) {
  IRIS_CHECK(labels.defined() && labels.dim() == 1, "label_targets: labels must be [B], got ",
             labels.defined() ? shape_str(labels.shape()) : std::string("an undefined tensor"));
  IRIS_CHECK(labels.dtype() == DType::i64 || labels.dtype() == DType::i32,
             "label_targets: labels must be i64 or i32 class ids, got ", dtype_name(labels.dtype()));
  NoGradGuard ng;
  const int64_t B = labels.shape()[0];
  // same[i, j] = (y_i == y_j); each row divided by its count |P(i)| >= 1 (the diagonal).
  Tensor same = eq(labels.reshape({B, 1}), labels.reshape({1, B})).to(dtype);
  return same / sum(same, {1}, true);
}

}  // namespace

Tensor multi_positive_infonce(const Tensor& logits, const Tensor& positives) {
  IRIS_CHECK(logits.defined() && positives.defined() && logits.dim() == 2 && positives.shape() == logits.shape(),
             "multi_positive_infonce: logits and positives must both be [N, M] with the same shape, got ",
             logits.defined() ? shape_str(logits.shape()) : std::string("undefined"), " and ",
             positives.defined() ? shape_str(positives.shape()) : std::string("undefined"));
  IRIS_CHECK(is_floating(logits.dtype()), "multi_positive_infonce: logits must be a float tensor, got ",
             dtype_name(logits.dtype()));
  Tensor pos, rows;
  double kept = 0;
  {
    NoGradGuard ng;
    pos = positives.detach().to(logits.dtype()).to(logits.device());
    Tensor count = sum(pos, {1}, true);  // [N, 1]
    rows = gt(count, 0.0).reshape({-1});
    kept = sum(rows.to(DType::f64)).item();
    pos = pos / clamp(count, 1.0);  // targets: each row sums to 1, or 0 without positives
  }
  IRIS_CHECK(kept > 0, "multi_positive_infonce: no row of positives ", shape_str(positives.shape()),
             " has a positive");
  if (kept == static_cast<double>(logits.shape()[0])) return soft_cross_entropy(logits, pos);  // UniCL's path
  return -sum(sum(pos * log_softmax(logits, 1), {1})) / kept;
}

Tensor label_targets(const Tensor& labels) { return targets_as(labels, DType::f32); }

Tensor unicl_loss(const Tensor& image_emb, const Tensor& text_emb, const Tensor& labels, const Tensor& scale,
                  bool average_directions) {
  check_embeddings("unicl_loss", image_emb, text_emb, scale);
  IRIS_CHECK(labels.defined() && labels.dim() == 1 && labels.shape()[0] == image_emb.shape()[0],
             "unicl_loss: labels must be [B] = [", image_emb.shape()[0], "], got ",
             labels.defined() ? shape_str(labels.shape()) : std::string("an undefined tensor"));
  IRIS_CHECK(labels.dtype() == DType::i64 || labels.dtype() == DType::i32,
             "unicl_loss: labels must be i64 or i32 class ids, got ", dtype_name(labels.dtype()));
  IRIS_CHECK(labels.device() == image_emb.device(), "unicl_loss: labels must be on the embeddings' device");
  // T is symmetric, so the column-normalised targets for text j are row j of T as well; rows of the
  // transposed logits use T itself.
  Tensor targets = targets_as(labels, image_emb.dtype());
  return bidirectional(image_emb, text_emb, scale, targets, targets, average_directions);
}

Tensor clip_loss(const Tensor& image_emb, const Tensor& text_emb, const Tensor& scale, bool average_directions) {
  check_embeddings("clip_loss", image_emb, text_emb, scale);
  const int64_t B = image_emb.shape()[0];
  Tensor targets = eye(B, B, {image_emb.dtype(), image_emb.device()});
  return bidirectional(image_emb, text_emb, scale, targets, targets, average_directions);
}

}  // namespace iris::losses
