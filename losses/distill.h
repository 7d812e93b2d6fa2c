// MiniViT weight distillation losses: soft-label logit CE, MiniLMv2-style Q/K/V self-attention relations and
// hidden-state relations (the code's cosine-Gram MSE or the paper's softmax CE), and their weighted total.
// Teacher tensors are detached inside (constants). Leaves out: label CE (alpha = 0 in the code), window splitting.
#pragma once

#include <utility>
#include <vector>

#include "losses/layer_trace.h"
#include "tensor/tensor.h"

namespace iris::losses {

// mean over the batch of -sum_c softmax(t/T)_c * log_softmax(s/T)_c. s, t: [B, C].
Tensor soft_cross_entropy(const Tensor& student_logits, const Tensor& teacher_logits, double temperature = 1.0);

// For each of the 9 pairs (i, j) in {q,k,v}^2: R = softmax(S_i S_j^T / sqrt(D / relation_heads)) per relation
// head; soft CE of student rows against teacher rows, mean over (batch, heads, rows), averaged over the 9 pairs.
// student_qkv, teacher_qkv: {q, k, v}, each [B, N, D] (student and teacher D may differ; B, N must match).
Tensor qkv_relation_loss(const std::vector<Tensor>& student_qkv, const std::vector<Tensor>& teacher_qkv,
                         int64_t relation_heads = 1);

enum class HiddenRelation { cosine_gram_mse, softmax_ce };
// cosine_gram_mse (the official code): L2-normalise along D, G = X X^T [B, N, N], mean((G_s - G_t)^2) * N.
// softmax_ce (the paper): R = softmax(X X^T / sqrt(D)), soft CE of rows, mean over (batch, rows).
Tensor hidden_relation_loss(const Tensor& student_hidden, const Tensor& teacher_hidden,
                            HiddenRelation form = HiddenRelation::cosine_gram_mse);

struct DistillWeights {
  double logit = 1.0, attn = 1.0, hidden = 0.1;
  int64_t relation_heads = 1;                             // for qkv_relation_loss (A_r, 1 in the code)
  HiddenRelation hidden_form = HiddenRelation::cosine_gram_mse;
  double temperature = 1.0;                               // for soft_cross_entropy
};
// L = logit * softCE + attn * mean over layer pairs of qkv_relation + hidden * mean over layer pairs of
// hidden_relation. layer_pairs: (student layer, teacher layer); empty = every layer paired with the same index.
// The terms are the unweighted losses (0-d); a term whose weight is 0 is not computed and reads 0, so a
// logit-only run may pass empty traces. s, t: the student's and teacher's layer traces (MiniViT fills them).
struct DistillTerms {
  Tensor total, logit, attn, hidden;
};
DistillTerms weight_distillation(const Tensor& s_logits, const LayerTrace& s, const Tensor& t_logits,
                                 const LayerTrace& t, const DistillWeights& w,
                                 const std::vector<std::pair<int, int>>& layer_pairs = {});

}  // namespace iris::losses
