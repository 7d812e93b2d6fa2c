// losses/distill: each MiniViT distillation loss against a naive loop, f64 gradchecks on the student side,
// values and gradients from PyTorch (tests/golden/minivit_distill.safetensors, make_minivit.py), the
// student == teacher cases, teacher detachment, and the errors. Leaves out: training with the losses (apps/).
#include "losses/distill.h"
#include "io/safetensors.h"
#include "tests/helpers.h"

using namespace iris;
using namespace iris::losses;

namespace {

using Vec = std::vector<double>;

// Rows of length M: -sum_j softmax(t)_j log_softmax(s)_j averaged over the rows.
double naive_row_ce(const Vec& s, const Vec& t, int64_t M) {
  double total = 0;
  int64_t rows = static_cast<int64_t>(s.size()) / M;
  for (int64_t r = 0; r < rows; ++r) {
    double ms = -1e300, mt = -1e300, zs = 0, zt = 0;
    for (int64_t j = 0; j < M; ++j) ms = std::max(ms, s[r * M + j]), mt = std::max(mt, t[r * M + j]);
    for (int64_t j = 0; j < M; ++j) zs += std::exp(s[r * M + j] - ms), zt += std::exp(t[r * M + j] - mt);
    for (int64_t j = 0; j < M; ++j) {
      double pt = std::exp(t[r * M + j] - mt) / zt;
      double log_ps = s[r * M + j] - ms - std::log(zs);
      total -= pt * log_ps;
    }
  }
  return total / static_cast<double>(rows);
}

// [B, N, D] x [B, N, D] -> per relation head a: sum over the head's channels, times scale: [B, A, N, N].
Vec naive_relation(const Vec& x, const Vec& y, int64_t B, int64_t N, int64_t D, int64_t A, double scale) {
  int64_t d = D / A;
  Vec out(B * A * N * N);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t a = 0; a < A; ++a)
      for (int64_t i = 0; i < N; ++i)
        for (int64_t j = 0; j < N; ++j) {
          double s = 0;
          for (int64_t c = 0; c < d; ++c) s += x[(b * N + i) * D + a * d + c] * y[(b * N + j) * D + a * d + c];
          out[((b * A + a) * N + i) * N + j] = s * scale;
        }
  return out;
}

double naive_qkv(const std::vector<Tensor>& s, const std::vector<Tensor>& t, int64_t A) {
  int64_t B = s[0].shape()[0], N = s[0].shape()[1], Ds = s[0].shape()[2], Dt = t[0].shape()[2];
  double total = 0;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) {
      Vec rs = naive_relation(s[i].to_vector<double>(), s[j].to_vector<double>(), B, N, Ds, A,
                              1.0 / std::sqrt(double(Ds / A)));
      Vec rt = naive_relation(t[i].to_vector<double>(), t[j].to_vector<double>(), B, N, Dt, A,
                              1.0 / std::sqrt(double(Dt / A)));
      total += naive_row_ce(rs, rt, N);
    }
  return total / 9.0;
}

double naive_hidden(const Tensor& s, const Tensor& t, HiddenRelation form) {
  int64_t B = s.shape()[0], N = s.shape()[1], Ds = s.shape()[2], Dt = t.shape()[2];
  Vec sv = s.to_vector<double>(), tv = t.to_vector<double>();
  if (form == HiddenRelation::softmax_ce)
    return naive_row_ce(naive_relation(sv, sv, B, N, Ds, 1, 1.0 / std::sqrt(double(Ds))),
                        naive_relation(tv, tv, B, N, Dt, 1, 1.0 / std::sqrt(double(Dt))), N);
  auto unit = [&](Vec v, int64_t D) {
    for (int64_t r = 0; r < B * N; ++r) {
      double n = 0;
      for (int64_t c = 0; c < D; ++c) n += v[r * D + c] * v[r * D + c];
      for (int64_t c = 0; c < D; ++c) v[r * D + c] /= std::max(std::sqrt(n), 1e-12);
    }
    return v;
  };
  Vec gs = naive_relation(unit(sv, Ds), unit(sv, Ds), B, N, Ds, 1, 1.0);
  Vec gt = naive_relation(unit(tv, Dt), unit(tv, Dt), B, N, Dt, 1, 1.0);
  double sq = 0;
  for (size_t i = 0; i < gs.size(); ++i) sq += (gs[i] - gt[i]) * (gs[i] - gt[i]);
  return sq / static_cast<double>(gs.size()) * static_cast<double>(N);
}

std::vector<Tensor> rand_qkv(const Shape& shape, uint64_t seed, bool grad = true) {
  return {testing::randn64(shape, seed, grad), testing::randn64(shape, seed + 1, grad),
          testing::randn64(shape, seed + 2, grad)};
}

}  // namespace

TEST_CASE("soft_cross_entropy: loop reference, gradcheck, entropy at student == teacher, f32, errors") {
  Tensor s = testing::randn64({3, 5}, 1) * 2.0, t = testing::randn64({3, 5}, 2) * 2.0;
  s = s.detach().requires_grad_(true);
  for (double T : {1.0, 2.0, 0.5}) {
    CAPTURE(T);
    Vec sv = s.to_vector<double>(), tv = t.to_vector<double>();
    for (auto& v : sv) v /= T;
    for (auto& v : tv) v /= T;
    CHECK(soft_cross_entropy(s, t, T).item() == doctest::Approx(naive_row_ce(sv, tv, 5)).epsilon(1e-12));
    CHECK_GRADCHECK([&](const std::vector<Tensor>& in) { return soft_cross_entropy(in[0], t, T); }, {s});
    // at s == t it is the entropy of softmax(t / T), not zero, and the gradient vanishes
    Tensor same = t.detach().clone().requires_grad_(true);
    Tensor l = soft_cross_entropy(same, t, T);
    CHECK(l.item() == doctest::Approx(naive_row_ce(tv, tv, 5)).epsilon(1e-12));
    CHECK(l.item() > 0.1);
    l.backward();
    CHECK(max(abs(same.grad())).item() < 1e-12);
  }
  // the teacher gets no gradient; non-contiguous and f32 inputs give the same value
  Tensor tg = t.detach().clone().requires_grad_(true);
  soft_cross_entropy(s, tg).backward();
  CHECK(!tg.grad().defined());
  CHECK(soft_cross_entropy(testing::noncontiguous(s), t.transpose(0, 1).contiguous().transpose(0, 1)).item() ==
        doctest::Approx(soft_cross_entropy(s, t).item()).epsilon(1e-12));
  CHECK(soft_cross_entropy(s.to(DType::f32), t.to(DType::f32)).item() ==
        doctest::Approx(soft_cross_entropy(s, t).item()).epsilon(1e-5));
  CHECK_THROWS_WITH_SUBSTR(soft_cross_entropy(s, zeros({4, 5}, DType::f64)), "same shape");
  CHECK_THROWS_WITH_SUBSTR(soft_cross_entropy(zeros({5}), zeros({5})), "[B, C]");
  CHECK_THROWS_WITH_SUBSTR(soft_cross_entropy(s, t, 0.0), "temperature must be > 0");
  CHECK_THROWS_WITH_SUBSTR(soft_cross_entropy(zeros({2, 3}, DType::i64), zeros({2, 3}, DType::i64)), "floating");
}

TEST_CASE("qkv_relation_loss: loop reference, gradcheck, student == teacher, different dims, errors") {
  std::vector<Tensor> s = rand_qkv({2, 4, 6}, 10), t = rand_qkv({2, 4, 4}, 20, false);
  for (int64_t A : {1, 2}) {
    CAPTURE(A);
    CHECK(qkv_relation_loss(s, t, A).item() == doctest::Approx(naive_qkv(s, t, A)).epsilon(1e-12));
    CHECK_GRADCHECK([&](const std::vector<Tensor>& in) { return qkv_relation_loss(in, t, A); }, s);
  }
  // student == teacher: the mean row entropy (not zero), and a stationary point
  std::vector<Tensor> same = {t[0].detach().clone().requires_grad_(true), t[1].detach().clone().requires_grad_(true),
                              t[2].detach().clone().requires_grad_(true)};
  Tensor l = qkv_relation_loss(same, t, 2);
  CHECK(l.item() == doctest::Approx(naive_qkv(t, t, 2)).epsilon(1e-12));
  CHECK(l.item() > 0.1);
  l.backward();
  for (const Tensor& x : same) CHECK(max(abs(x.grad())).item() < 1e-12);
  // teacher detached; non-contiguous and f32
  std::vector<Tensor> tg = rand_qkv({2, 4, 4}, 20, true);
  qkv_relation_loss(s, tg).backward();
  for (const Tensor& x : tg) CHECK(!x.grad().defined());
  std::vector<Tensor> nc = {testing::noncontiguous(s[0]), s[1], testing::noncontiguous(s[2])};
  CHECK(qkv_relation_loss(nc, t).item() == doctest::Approx(qkv_relation_loss(s, t).item()).epsilon(1e-12));
  std::vector<Tensor> s32, t32;
  for (int i = 0; i < 3; ++i) s32.push_back(s[i].to(DType::f32)), t32.push_back(t[i].to(DType::f32));
  CHECK(qkv_relation_loss(s32, t32).item() == doctest::Approx(qkv_relation_loss(s, t).item()).epsilon(1e-5));

  CHECK_THROWS_WITH_SUBSTR(qkv_relation_loss(s, rand_qkv({3, 4, 4}, 1)), "same batch and token counts");
  CHECK_THROWS_WITH_SUBSTR(qkv_relation_loss(s, rand_qkv({2, 5, 4}, 1)), "same batch and token counts");
  CHECK_THROWS_WITH_SUBSTR(qkv_relation_loss({s[0], s[1]}, t), "expects {q, k, v}");
  CHECK_THROWS_WITH_SUBSTR(qkv_relation_loss(s, t, 4), "must divide the student dim 6");
  CHECK_THROWS_WITH_SUBSTR(qkv_relation_loss(s, t, 0), "relation_heads must be >= 1");
  CHECK_THROWS_WITH_SUBSTR(qkv_relation_loss({s[0], s[1], zeros({2, 4, 5}, DType::f64)}, t), "one shape per side");
  CHECK_THROWS_WITH_SUBSTR(qkv_relation_loss({zeros({4, 6}), s[1], s[2]}, t), "[B, N, D]");
}

TEST_CASE("hidden_relation_loss: both forms against loops, gradcheck, zero / entropy at student == teacher") {
  Tensor s = testing::randn64({2, 5, 6}, 30), t = testing::randn64({2, 5, 3}, 31, false);
  for (HiddenRelation form : {HiddenRelation::cosine_gram_mse, HiddenRelation::softmax_ce}) {
    CAPTURE(static_cast<int>(form));
    CHECK(hidden_relation_loss(s, t, form).item() == doctest::Approx(naive_hidden(s, t, form)).epsilon(1e-12));
    CHECK_GRADCHECK([&](const std::vector<Tensor>& in) { return hidden_relation_loss(in[0], t, form); }, {s});
    Tensor f32 = hidden_relation_loss(s.to(DType::f32), t.to(DType::f32), form);
    CHECK(f32.item() == doctest::Approx(hidden_relation_loss(s, t, form).item()).epsilon(1e-5));
    CHECK(hidden_relation_loss(testing::noncontiguous(s), t, form).item() ==
          doctest::Approx(hidden_relation_loss(s, t, form).item()).epsilon(1e-12));
  }
  // cosine Gram: zero when equal, and invariant to a per-token scale of the student
  CHECK(hidden_relation_loss(t, t).item() == doctest::Approx(0.0));
  Tensor scaled = t * (abs(testing::randn64({2, 5, 1}, 32, false)) + 0.5);
  CHECK(std::fabs(hidden_relation_loss(scaled, t).item()) < 1e-12);
  CHECK(hidden_relation_loss(s, t).item() > 0.01);
  // softmax CE: the mean row entropy when equal, not zero
  Tensor l = hidden_relation_loss(t, t, HiddenRelation::softmax_ce);
  CHECK(l.item() == doctest::Approx(naive_hidden(t, t, HiddenRelation::softmax_ce)).epsilon(1e-12));
  CHECK(l.item() > 0.1);
  Tensor tg = t.detach().clone().requires_grad_(true);
  hidden_relation_loss(s, tg).backward();
  CHECK(!tg.grad().defined());
  CHECK_THROWS_WITH_SUBSTR(hidden_relation_loss(s, zeros({3, 5, 3}, DType::f64)), "same batch and token counts");
  CHECK_THROWS_WITH_SUBSTR(hidden_relation_loss(s, zeros({2, 4, 3}, DType::f64)), "same batch and token counts");
  CHECK_THROWS_WITH_SUBSTR(hidden_relation_loss(zeros({2, 5}), zeros({2, 5})), "[B, N, D]");
}

TEST_CASE("distillation losses match PyTorch (values and gradients of the weighted total)") {
  SafetensorsFile g = load_safetensors("tests/golden/minivit_distill.safetensors");
  auto in = [&](const std::string& n) { return g.get("input." + n).detach().clone().requires_grad_(n[0] == 's'); };
  auto out = [&](const std::string& n) { return doctest::Approx(g.get("out." + n).item()).epsilon(1e-10); };
  Tensor sl = in("s.logits"), tl = in("t.logits");
  CHECK(soft_cross_entropy(sl, tl, 1.0).item() == out("soft_ce.T1"));
  CHECK(soft_cross_entropy(sl, tl, 2.0).item() == out("soft_ce.T2"));

  LayerTrace s, t;
  for (int layer = 0; layer < 2; ++layer) {
    s.q.push_back(in("s.q." + std::to_string(layer)));
    s.k.push_back(in("s.k." + std::to_string(layer)));
    s.v.push_back(in("s.v." + std::to_string(layer)));
    s.hidden.push_back(in("s.hidden." + std::to_string(layer)));
  }
  for (int layer = 0; layer < 3; ++layer) {
    t.q.push_back(in("t.q." + std::to_string(layer)));
    t.k.push_back(in("t.k." + std::to_string(layer)));
    t.v.push_back(in("t.v." + std::to_string(layer)));
    t.hidden.push_back(in("t.hidden." + std::to_string(layer)));
  }
  CHECK(qkv_relation_loss({s.q[0], s.k[0], s.v[0]}, {t.q[1], t.k[1], t.v[1]}, 1).item() == out("qkv.heads1"));
  CHECK(qkv_relation_loss({s.q[0], s.k[0], s.v[0]}, {t.q[1], t.k[1], t.v[1]}, 2).item() == out("qkv.heads2"));
  CHECK(hidden_relation_loss(s.hidden[0], t.hidden[1], HiddenRelation::cosine_gram_mse).item() ==
        out("hidden.cosine_gram_mse"));
  CHECK(hidden_relation_loss(s.hidden[0], t.hidden[1], HiddenRelation::softmax_ce).item() == out("hidden.softmax_ce"));

  DistillWeights w;
  w.logit = 0.9, w.attn = 1.1, w.hidden = 0.3;
  DistillTerms terms = weight_distillation(sl, s, tl, t, w, {{0, 0}, {1, 2}});
  CHECK(terms.total.item() == out("total"));
  CHECK(terms.attn.item() == out("total.attn"));
  CHECK(terms.hidden.item() == out("total.hidden"));
  CHECK(terms.logit.item() == out("soft_ce.T1"));
  terms.total.backward();
  CHECK_CLOSE(sl.grad(), g.get("grad.s.logits"), 1e-12, 1e-9);
  for (int layer = 0; layer < 2; ++layer) {
    std::string l = std::to_string(layer);
    CHECK_CLOSE(s.q[layer].grad(), g.get("grad.s.q." + l), 1e-12, 1e-9);
    CHECK_CLOSE(s.k[layer].grad(), g.get("grad.s.k." + l), 1e-12, 1e-9);
    CHECK_CLOSE(s.v[layer].grad(), g.get("grad.s.v." + l), 1e-12, 1e-9);
    CHECK_CLOSE(s.hidden[layer].grad(), g.get("grad.s.hidden." + l), 1e-12, 1e-9);
  }
}

TEST_CASE("weight_distillation: default pairing, zero weights skip terms, gradcheck, errors") {
  LayerTrace s, t;
  for (int layer = 0; layer < 2; ++layer) {
    std::vector<Tensor> sq = rand_qkv({1, 3, 4}, 40 + 10 * layer), tq = rand_qkv({1, 3, 2}, 70 + 10 * layer, false);
    s.q.push_back(sq[0]), s.k.push_back(sq[1]), s.v.push_back(sq[2]);
    t.q.push_back(tq[0]), t.k.push_back(tq[1]), t.v.push_back(tq[2]);
    s.hidden.push_back(testing::randn64({1, 3, 4}, 100 + layer));
    t.hidden.push_back(testing::randn64({1, 3, 2}, 110 + layer, false));
  }
  Tensor sl = testing::randn64({1, 4}, 120), tl = testing::randn64({1, 4}, 121, false);
  DistillWeights w;  // 1, 1, 0.1 and the code's forms
  DistillTerms d = weight_distillation(sl, s, tl, t, w);
  double attn = (qkv_relation_loss({s.q[0], s.k[0], s.v[0]}, {t.q[0], t.k[0], t.v[0]}).item() +
                 qkv_relation_loss({s.q[1], s.k[1], s.v[1]}, {t.q[1], t.k[1], t.v[1]}).item()) / 2;
  double hidden = (hidden_relation_loss(s.hidden[0], t.hidden[0]).item() +
                   hidden_relation_loss(s.hidden[1], t.hidden[1]).item()) / 2;
  CHECK(d.attn.item() == doctest::Approx(attn).epsilon(1e-12));
  CHECK(d.hidden.item() == doctest::Approx(hidden).epsilon(1e-12));
  CHECK(d.total.item() == doctest::Approx(soft_cross_entropy(sl, tl).item() + attn + 0.1 * hidden).epsilon(1e-12));
  CHECK(d.total.dim() == 0);

  // gradcheck of the total over every student tensor
  std::vector<Tensor> inputs = {sl, s.q[0], s.k[1], s.v[0], s.hidden[0], s.hidden[1]};
  CHECK_GRADCHECK(
      [&](const std::vector<Tensor>&) { return weight_distillation(sl, s, tl, t, w, {{0, 1}, {1, 0}}).total; },
      inputs);

  // logit-only: the traces may be empty, the other terms read 0
  DistillWeights logit_only;
  logit_only.attn = logit_only.hidden = 0.0;
  DistillTerms lo = weight_distillation(sl, {}, tl, {}, logit_only);
  CHECK(lo.attn.item() == 0.0);
  CHECK(lo.hidden.item() == 0.0);
  CHECK(lo.total.item() == doctest::Approx(soft_cross_entropy(sl, tl).item()).epsilon(1e-12));

  LayerTrace three = t;
  three.hidden.push_back(t.hidden[0]);
  CHECK_THROWS_WITH_SUBSTR(weight_distillation(sl, s, tl, three, w), "same number of layers");
  CHECK_THROWS_WITH_SUBSTR(weight_distillation(sl, s, tl, t, w, {{0, 2}}), "teacher layer 2 is not in the trace");
  CHECK_THROWS_WITH_SUBSTR(weight_distillation(sl, s, tl, t, w, {{-1, 0}}), "student layer -1");
  CHECK_THROWS_WITH_SUBSTR(weight_distillation(sl, s, testing::randn64({2, 4}, 1), t, w), "same shape");
  LayerTrace other_tokens = t;
  other_tokens.hidden[0] = testing::randn64({1, 5, 2}, 3, false);
  CHECK_THROWS_WITH_SUBSTR(weight_distillation(sl, s, tl, other_tokens, w), "same batch and token counts");
}
