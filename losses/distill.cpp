// MiniViT weight distillation: soft-label logit CE, Q/K/V relation CE and hidden-state relations, written as
// compositions of autograd ops (the backward comes for free). The teacher side is detached everywhere.
// Leaves out: the DeiT "legacy" KL scaling (sum / numel); these are batch means.
#include "losses/distill.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "autograd/ops.h"

namespace iris::losses {

namespace {

// Soft CE of rows: -sum_j softmax(t)_j * log_softmax(s)_j over the last dim, then the mean over all rows.
// s, t: [..., M] logits of the same shape; t is treated as a constant.
Tensor row_soft_ce(const Tensor& s, const Tensor& t) {
  Tensor p = softmax(t.detach(), -1);
  return mean(neg(sum(p * log_softmax(s, -1), {-1})));
}

void check_tokens(const char* op, const Tensor& s, const Tensor& t) {
  IRIS_CHECK(s.defined() && t.defined(), op, ": a tensor is undefined");
  IRIS_CHECK(s.dim() == 3 && t.dim() == 3, op, ": expects [B, N, D] tensors, got student ", shape_str(s.shape()),
             " and teacher ", shape_str(t.shape()));
  IRIS_CHECK(s.shape()[0] == t.shape()[0] && s.shape()[1] == t.shape()[1], op,
             ": student and teacher must have the same batch and token counts, got ", shape_str(s.shape()), " and ",
             shape_str(t.shape()), "; pair layers with equal token grids");
  IRIS_CHECK(is_floating(s.dtype()) && is_floating(t.dtype()), op, ": expects floating-point tensors");
  IRIS_CHECK(s.device() == t.device(), op, ": student and teacher are on different devices");
}

// [B, N, D] -> [B, A, N, D/A] relation heads.
Tensor relation_heads_of(const Tensor& x, int64_t heads) {
  const Shape& s = x.shape();
  return x.reshape({s[0], s[1], heads, s[2] / heads}).transpose(1, 2);
}

}  // namespace

Tensor soft_cross_entropy(const Tensor& student_logits, const Tensor& teacher_logits, double temperature) {
  const Tensor &s = student_logits, &t = teacher_logits;
  IRIS_CHECK(s.defined() && t.defined(), "soft_cross_entropy: a tensor is undefined");
  IRIS_CHECK(s.dim() == 2 && s.shape() == t.shape(), "soft_cross_entropy: expects student and teacher logits [B, C] ",
             "of the same shape, got ", shape_str(s.shape()), " and ", shape_str(t.shape()));
  IRIS_CHECK(is_floating(s.dtype()) && is_floating(t.dtype()), "soft_cross_entropy: expects floating-point logits");
  IRIS_CHECK(std::isfinite(temperature) && temperature > 0.0, "soft_cross_entropy: temperature must be > 0, got ",
             temperature);
  return row_soft_ce(s / temperature, t / temperature);
}

Tensor qkv_relation_loss(const std::vector<Tensor>& student_qkv, const std::vector<Tensor>& teacher_qkv,
                         int64_t relation_heads) {
  IRIS_CHECK(student_qkv.size() == 3 && teacher_qkv.size() == 3,
             "qkv_relation_loss: expects {q, k, v} for student and teacher, got ", student_qkv.size(), " and ",
             teacher_qkv.size(), " tensors");
  IRIS_CHECK(relation_heads >= 1, "qkv_relation_loss: relation_heads must be >= 1, got ", relation_heads);
  for (int i = 0; i < 3; ++i) {
    check_tokens("qkv_relation_loss", student_qkv[i], teacher_qkv[i]);
    IRIS_CHECK(student_qkv[i].shape() == student_qkv[0].shape() && teacher_qkv[i].shape() == teacher_qkv[0].shape(),
               "qkv_relation_loss: q, k and v must have one shape per side, got student ",
               shape_str(student_qkv[i].shape()), " vs ", shape_str(student_qkv[0].shape()), ", teacher ",
               shape_str(teacher_qkv[i].shape()), " vs ", shape_str(teacher_qkv[0].shape()));
  }
  const int64_t Ds = student_qkv[0].shape()[2], Dt = teacher_qkv[0].shape()[2];
  IRIS_CHECK(Ds % relation_heads == 0 && Dt % relation_heads == 0, "qkv_relation_loss: relation_heads ",
             relation_heads, " must divide the student dim ", Ds, " and the teacher dim ", Dt);
  std::vector<Tensor> s, t;  // [B, A, N, d] each
  for (int i = 0; i < 3; ++i) {
    s.push_back(relation_heads_of(student_qkv[i], relation_heads));
    t.push_back(relation_heads_of(teacher_qkv[i].detach(), relation_heads));
  }
  const double scale_s = 1.0 / std::sqrt(static_cast<double>(Ds / relation_heads));
  const double scale_t = 1.0 / std::sqrt(static_cast<double>(Dt / relation_heads));
  Tensor total;
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) {
      Tensor rs = matmul(s[i], s[j].transpose(-1, -2)) * scale_s;  // [B, A, N, N]
      Tensor rt = matmul(t[i], t[j].transpose(-1, -2)) * scale_t;
      Tensor ce = row_soft_ce(rs, rt);  // mean over (B, A, rows)
      total = total.defined() ? total + ce : ce;
    }
  }
  return total / 9.0;
}

Tensor hidden_relation_loss(const Tensor& student_hidden, const Tensor& teacher_hidden, HiddenRelation form) {
  check_tokens("hidden_relation_loss", student_hidden, teacher_hidden);
  const Tensor& s = student_hidden;
  Tensor t = teacher_hidden.detach();
  const int64_t N = s.shape()[1];
  if (form == HiddenRelation::cosine_gram_mse) {
    Tensor ns = normalize(s, 2.0, -1), nt = normalize(t, 2.0, -1);
    Tensor gs = matmul(ns, ns.transpose(-1, -2)), gt = matmul(nt, nt.transpose(-1, -2));  // [B, N, N]
    return mean(square(gs - gt)) * static_cast<double>(N);
  }
  const double scale_s = 1.0 / std::sqrt(static_cast<double>(s.shape()[2]));
  const double scale_t = 1.0 / std::sqrt(static_cast<double>(t.shape()[2]));
  return row_soft_ce(matmul(s, s.transpose(-1, -2)) * scale_s, matmul(t, t.transpose(-1, -2)) * scale_t);
}

DistillTerms weight_distillation(const Tensor& s_logits, const LayerTrace& s, const Tensor& t_logits,
                                 const LayerTrace& t, const DistillWeights& w,
                                 const std::vector<std::pair<int, int>>& layer_pairs) {
  IRIS_CHECK(s_logits.defined(), "weight_distillation: the student logits are undefined");
  TensorOptions opts{s_logits.dtype(), s_logits.device()};
  DistillTerms out;
  out.logit = out.attn = out.hidden = zeros({}, opts);
  if (w.logit != 0.0) out.logit = soft_cross_entropy(s_logits, t_logits, w.temperature);

  std::vector<std::pair<int, int>> pairs = layer_pairs;
  if ((w.attn != 0.0 || w.hidden != 0.0) && pairs.empty()) {
    IRIS_CHECK(s.hidden.size() == t.hidden.size() && !s.hidden.empty(),
               "weight_distillation: with no layer_pairs the traces must have the same number of layers, got student ",
               s.hidden.size(), " and teacher ", t.hidden.size(), "; pass layer_pairs or forward_trace both models");
    for (size_t i = 0; i < s.hidden.size(); ++i) pairs.push_back({static_cast<int>(i), static_cast<int>(i)});
  }
  auto check_layer = [](const LayerTrace& tr, int layer, const char* who, bool need_qkv) {
    size_t n = need_qkv ? std::min({tr.q.size(), tr.k.size(), tr.v.size()}) : tr.hidden.size();
    IRIS_CHECK(layer >= 0 && static_cast<size_t>(layer) < n, "weight_distillation: ", who, " layer ", layer,
               " is not in the trace (", n, " layers); fill the trace with forward_trace");
  };
  if (w.attn != 0.0) {
    Tensor sum_attn;
    for (auto [ls, lt] : pairs) {
      check_layer(s, ls, "student", true);
      check_layer(t, lt, "teacher", true);
      Tensor l = qkv_relation_loss({s.q[ls], s.k[ls], s.v[ls]}, {t.q[lt], t.k[lt], t.v[lt]}, w.relation_heads);
      sum_attn = sum_attn.defined() ? sum_attn + l : l;
    }
    out.attn = sum_attn / static_cast<double>(pairs.size());
  }
  if (w.hidden != 0.0) {
    Tensor sum_hidden;
    for (auto [ls, lt] : pairs) {
      check_layer(s, ls, "student", false);
      check_layer(t, lt, "teacher", false);
      Tensor l = hidden_relation_loss(s.hidden[ls], t.hidden[lt], w.hidden_form);
      sum_hidden = sum_hidden.defined() ? sum_hidden + l : l;
    }
    out.hidden = sum_hidden / static_cast<double>(pairs.size());
  }
  out.total = out.logit * w.logit + out.attn * w.attn + out.hidden * w.hidden;
  return out;
}

}  // namespace iris::losses
