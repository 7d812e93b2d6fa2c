// Losses: cross_entropy (class indices [N] and [N, d1, d2], soft targets, label smoothing,
// ignore_index, class weights, every reduction), binary_cross_entropy_with_logits (pos_weight,
// stability at +-1e4, exact gradient at 0), mse / l1 / smooth_l1, kl_div, cosine_similarity and
// normalize: forward against naive loops (and a few PyTorch literals), finite-difference gradients,
// non-contiguous inputs, f32, and the error paths.
#include "tests/helpers.h"

using namespace iris;
using iris::testing::noncontiguous;
using iris::testing::randn64;

namespace {

std::vector<double> values(const Tensor& t) { return t.to_vector<double>(); }
Tensor f64(const std::vector<double>& v, const Shape& s) { return from_vector<double>(v, s, DType::f64); }
Tensor i64(const std::vector<int64_t>& v, const Shape& s) { return from_vector<int64_t>(v, s, DType::i64); }

struct LossValues {
  std::vector<double> per;  // reduction none
  double sum = 0, mean = 0;
};

// Naive cross entropy for logits [N, C, D] (D = product of the extra dims, row-major) and class
// targets [N, D]. w empty = all ones.
LossValues naive_ce(const std::vector<double>& x, const std::vector<int64_t>& t, int64_t N, int64_t C, int64_t D,
                    const std::vector<double>& w, int64_t ignore, double eps) {
  LossValues r;
  r.per.assign(N * D, 0.0);
  double weight_total = 0;
  auto wc = [&](int64_t c) { return w.empty() ? 1.0 : w[c]; };
  for (int64_t n = 0; n < N; ++n)
    for (int64_t d = 0; d < D; ++d) {
      int64_t target = t[n * D + d];
      if (target == ignore) continue;
      auto at = [&](int64_t c) { return x[(n * C + c) * D + d]; };
      double mx = -INFINITY;
      for (int64_t c = 0; c < C; ++c) mx = std::max(mx, at(c));
      double total = 0;
      for (int64_t c = 0; c < C; ++c) total += std::exp(at(c) - mx);
      double lse = mx + std::log(total);
      double nll = -(at(target) - lse) * wc(target);
      double smooth = 0;
      for (int64_t c = 0; c < C; ++c) smooth -= wc(c) * (at(c) - lse);
      smooth /= C;
      r.per[n * D + d] = (1 - eps) * nll + eps * smooth;
      weight_total += wc(target);
    }
  for (double v : r.per) r.sum += v;
  r.mean = r.sum / weight_total;
  return r;
}

// Soft targets p [N, C, D] (smoothed by eps towards uniform).
LossValues naive_soft_ce(const std::vector<double>& x, const std::vector<double>& p, int64_t N, int64_t C, int64_t D,
                         const std::vector<double>& w, double eps) {
  LossValues r;
  r.per.assign(N * D, 0.0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t d = 0; d < D; ++d) {
      auto at = [&](int64_t c) { return (n * C + c) * D + d; };
      double mx = -INFINITY, total = 0;
      for (int64_t c = 0; c < C; ++c) mx = std::max(mx, x[at(c)]);
      for (int64_t c = 0; c < C; ++c) total += std::exp(x[at(c)] - mx);
      for (int64_t c = 0; c < C; ++c) {
        double target = p[at(c)] * (1 - eps) + eps / C;
        r.per[n * D + d] -= (w.empty() ? 1.0 : w[c]) * target * (x[at(c)] - mx - std::log(total));
      }
    }
  for (double v : r.per) r.sum += v;
  r.mean = r.sum / (N * D);
  return r;
}

LossValues reduce_all(std::vector<double> per) {
  LossValues r;
  r.per = std::move(per);
  for (double v : r.per) r.sum += v;
  r.mean = r.sum / r.per.size();
  return r;
}

void check_reductions(const std::function<Tensor(Reduction)>& loss, const LossValues& expect, const Shape& shape,
                      double tol) {
  CHECK_CLOSE(loss(Reduction::none), f64(expect.per, shape), tol, tol);
  CHECK(std::fabs(loss(Reduction::sum).item() - expect.sum) <= tol * (1 + std::fabs(expect.sum)));
  CHECK(std::fabs(loss(Reduction::mean).item() - expect.mean) <= tol * (1 + std::fabs(expect.mean)));
  CHECK(loss(Reduction::mean).dim() == 0);
}

GradcheckOptions tolerance() {
  GradcheckOptions o;
  o.atol = 1e-6;
  o.rtol = 1e-4;
  return o;
}

}  // namespace

// ---- cross_entropy ----------------------------------------------------------------------

TEST_CASE("cross_entropy with class indices matches the naive loop") {
  const int64_t N = 5, C = 4;
  Tensor x = randn64({N, C}, 1);
  std::vector<int64_t> tv{0, 3, 1, -100, 2};
  Tensor t = i64(tv, {N});
  std::vector<double> wv{0.5, 1.0, 2.0, 1.5};
  for (double eps : {0.0, 0.2}) {
    for (bool weighted : {false, true}) {
      CAPTURE(eps);
      CAPTURE(weighted);
      CrossEntropyOptions o;
      o.label_smoothing = eps;
      if (weighted) o.weight = f64(wv, {C});
      LossValues e = naive_ce(values(x), tv, N, C, 1, weighted ? wv : std::vector<double>{}, -100, eps);
      check_reductions([&](Reduction r) {
        CrossEntropyOptions oo = o;
        oo.reduction = r;
        return cross_entropy(x, t, oo);
      }, e, {N}, 1e-12);
    }
  }
  // i32 targets, an ignore_index inside the class range, and the default options.
  Tensor t32 = from_vector<int32_t>({0, 3, 1, 1, 2}, {N}, DType::i32);
  CrossEntropyOptions oi;
  oi.ignore_index = 1;
  LossValues e = naive_ce(values(x), {0, 3, 1, 1, 2}, N, C, 1, {}, 1, 0.0);
  CHECK(std::fabs(cross_entropy(x, t32, oi).item() - e.mean) < 1e-12);
  LossValues d = naive_ce(values(x), {0, 3, 1, 1, 2}, N, C, 1, {}, -100, 0.0);
  CHECK(std::fabs(cross_entropy(x, t32).item() - d.mean) < 1e-12);
}

TEST_CASE("cross_entropy matches PyTorch on weights + smoothing + ignore_index") {
  // import torch, torch.nn.functional as F
  // x = torch.tensor([[1.0, -2.0, 0.5, 3.0], [0.0, 0.1, -0.3, 2.0], [4.0, 1.0, -1.0, 0.0]], dtype=torch.float64)
  // t = torch.tensor([3, -100, 0]); w = torch.tensor([0.5, 1.0, 2.0, 1.5], dtype=torch.float64)
  // F.cross_entropy(x, t, weight=w, label_smoothing=0.1, reduction=red).tolist()  for red in none, sum, mean
  Tensor x = f64({1.0, -2.0, 0.5, 3.0, 0.0, 0.1, -0.3, 2.0, 4.0, 1.0, -1.0, 0.0}, {3, 4});
  CrossEntropyOptions o;
  o.weight = f64({0.5, 1.0, 2.0, 1.5}, {4});
  o.label_smoothing = 0.1;
  Tensor t = i64({3, -100, 0}, {3});
  o.reduction = Reduction::none;
  CHECK_CLOSE(cross_entropy(x, t, o), f64({0.5733238353270438, 0.0, 0.5164991426461575}, {3}), 1e-14, 1e-13);
  o.reduction = Reduction::sum;
  CHECK(std::fabs(cross_entropy(x, t, o).item() - 1.0898229779732012) < 1e-13);
  o.reduction = Reduction::mean;
  CHECK(std::fabs(cross_entropy(x, t, o).item() - 0.5449114889866006) < 1e-13);
}

TEST_CASE("cross_entropy with extra dims [N, C, d1, d2], unbatched, and soft targets") {
  const int64_t N = 2, C = 3, D = 6;
  Tensor x = randn64({N, C, 2, 3}, 10);
  std::vector<int64_t> tv{0, 2, 1, -100, 1, 0, 2, 2, -100, 0, 1, 1};
  Tensor t = i64(tv, {N, 2, 3});
  std::vector<double> wv{1.0, 0.3, 2.0};
  CrossEntropyOptions o;
  o.weight = f64(wv, {C});
  o.label_smoothing = 0.15;
  LossValues e = naive_ce(values(x), tv, N, C, D, wv, -100, 0.15);
  check_reductions([&](Reduction r) {
    CrossEntropyOptions oo = o;
    oo.reduction = r;
    return cross_entropy(x, t, oo);
  }, e, {N, 2, 3}, 1e-12);

  // Unbatched: logits [C], target 0-d.
  Tensor xu = randn64({4}, 11, false);
  LossValues eu = naive_ce(values(xu), {2}, 1, 4, 1, {}, -100, 0.0);
  CrossEntropyOptions on;
  on.reduction = Reduction::none;
  Tensor lu = cross_entropy(xu, scalar_tensor(2, DType::i64), on);
  CHECK(lu.dim() == 0);
  CHECK(std::fabs(lu.item() - eu.per[0]) < 1e-12);

  // Soft targets of the logits' shape, with weights and smoothing; mean divides by N * d1 * d2.
  Generator g(12);
  Tensor p = softmax(randn({N, C, 2, 3}, DType::f64, &g), 1);
  LossValues es = naive_soft_ce(values(x), values(p), N, C, D, wv, 0.15);
  check_reductions([&](Reduction r) {
    CrossEntropyOptions oo = o;
    oo.reduction = r;
    return cross_entropy(x, p, oo);
  }, es, {N, 2, 3}, 1e-12);
}

TEST_CASE("cross_entropy gradients by finite differences") {
  Tensor t = i64({1, 0, -100, 2}, {4});
  CrossEntropyOptions o;
  o.weight = f64({0.7, 1.3, 2.0}, {3});
  o.label_smoothing = 0.1;
  std::vector<Tensor> in{randn64({4, 3}, 20)};
  CHECK_GRADCHECK([t, o](const std::vector<Tensor>& v) { return cross_entropy(v[0], t, o); }, in, tolerance());
  CrossEntropyOptions none;
  none.reduction = Reduction::none;
  std::vector<Tensor> in_nc{noncontiguous(randn64({4, 3}, 21))};
  CHECK_GRADCHECK([t, none](const std::vector<Tensor>& v) { return cross_entropy(v[0], t, none); }, in_nc, tolerance());
  // [N, C, d] with the class dim not innermost; a permuted (non-contiguous) view.
  Tensor t3 = i64({0, 1, 2, 2, -100, 0}, {2, 3});
  std::vector<Tensor> in3{randn64({2, 3, 3}, 22)};
  CHECK_GRADCHECK([t3](const std::vector<Tensor>& v) { return cross_entropy(v[0].permute({0, 2, 1}), t3); }, in3,
                  tolerance());
  // Soft targets: gradients w.r.t. the logits and the target probabilities.
  std::vector<Tensor> in_soft{randn64({3, 4}, 23), softmax(randn64({3, 4}, 24, false), 1).requires_grad_()};
  CHECK_GRADCHECK([](const std::vector<Tensor>& v) {
    CrossEntropyOptions os;
    os.label_smoothing = 0.2;
    os.weight = f64({1.0, 0.5, 2.0, 1.0}, {4});
    return cross_entropy(v[0], v[1], os);
  }, in_soft, tolerance());
}

TEST_CASE("cross_entropy is stable for logits of 1e4, in f64 and f32") {
  for (DType dt : {DType::f64, DType::f32}) {
    CAPTURE(std::string(dtype_name(dt)));
    // import torch.nn.functional as F; F.cross_entropy(torch.tensor([[1e4, 0., -1e4]]), torch.tensor([1])) -> 10000.0
    Tensor x = f64({1e4, 0.0, -1e4, -1e4, 1e4, 1e4}, {2, 3}).to(dt).requires_grad_();
    CrossEntropyOptions o;
    o.reduction = Reduction::none;
    o.label_smoothing = 0.1;
    Tensor l = cross_entropy(x, i64({1, 2}, {2}), o);
    std::vector<double> lv = values(l);
    // Row 0: nll 1e4, smoothing (0 + 1e4 + 2e4) / 3 = 1e4. Row 1: nll log 2, smoothing (2e4 + 3 log 2) / 3.
    CHECK(std::fabs(lv[0] - 1e4) < 1e-2);
    CHECK(std::fabs(lv[1] - (0.9 * std::log(2.0) + 0.1 * (2e4 + 3 * std::log(2.0)) / 3)) < 1e-2);
    sum(l).backward();
    // d/dx = softmax - smoothed one-hot: row 0 (1, 0, 0) - (0.1/3, 0.9 + 0.1/3, 0.1/3).
    double s = 0.1 / 3;
    CHECK_CLOSE(x.grad().to(DType::f64), f64({1 - s, -0.9 - s, -s, -s, 0.5 - s, 0.5 - 0.9 - s}, {2, 3}), 1e-6, 1e-6);
  }
}

TEST_CASE("cross_entropy reductions over ignored targets") {
  Tensor x = randn64({3, 4}, 30);
  Tensor t = i64({-100, -100, -100}, {3});
  CHECK(std::isnan(cross_entropy(x, t).item()));  // mean over nothing: NaN, as PyTorch
  CrossEntropyOptions o;
  o.reduction = Reduction::sum;
  Tensor s = cross_entropy(x, t, o);
  CHECK(s.item() == 0.0);
  s.backward();
  CHECK_CLOSE(x.grad(), zeros({3, 4}, DType::f64), 0, 0);
  // An ignored row stays exactly 0 even when its logits hold -inf.
  Tensor xi = f64({-INFINITY, 0.0, 0.0, 1.0}, {2, 2});
  CrossEntropyOptions on;
  on.reduction = Reduction::none;
  on.ignore_index = 0;
  CHECK_CLOSE(cross_entropy(xi, i64({0, 1}, {2}), on), f64({0.0, std::log1p(std::exp(-1.0))}, {2}), 1e-15, 1e-12);
}

TEST_CASE("cross_entropy errors") {
  Tensor x = randn64({3, 4}, 40, false);
  CHECK_THROWS_WITH_SUBSTR(cross_entropy(x, i64({0, 4, 1}, {3})), "target 4 at position 1 is out of range");
  CHECK_THROWS_WITH_SUBSTR(cross_entropy(x, i64({0, 1, -1}, {3})), "target -1 at position 2");
  CHECK_THROWS_WITH_SUBSTR(cross_entropy(x, i64({0, 1}, {2})), "must have shape [3]");
  CHECK_THROWS_WITH_SUBSTR(cross_entropy(x, i64({0, 1, 2}, {3, 1})), "must have shape [3]");
  CHECK_THROWS_WITH_SUBSTR(cross_entropy(x, randn64({3, 5}, 41, false)), "soft (probability) targets");
  CHECK_THROWS_WITH_SUBSTR(cross_entropy(x, ones({3}, DType::b8)), "class indices (i64/i32) or probabilities");
  CHECK_THROWS_WITH_SUBSTR(cross_entropy(scalar_tensor(1.0), i64({0}, {1})), "0-d");
  CHECK_THROWS_WITH_SUBSTR(cross_entropy(arange(12).reshape({3, 4}), i64({0, 1, 2}, {3})), "floating");
  CrossEntropyOptions o;
  o.weight = ones({3}, DType::f64);
  CHECK_THROWS_WITH_SUBSTR(cross_entropy(x, i64({0, 1, 2}, {3}), o), "weight must be [C] = [4]");
  CrossEntropyOptions ls;
  ls.label_smoothing = 1.5;
  CHECK_THROWS_WITH_SUBSTR(cross_entropy(x, i64({0, 1, 2}, {3}), ls), "label_smoothing must be in [0, 1]");
  CHECK_THROWS_WITH_SUBSTR(cross_entropy(Tensor(), i64({0}, {1})), "undefined");
}

// ---- binary_cross_entropy_with_logits ---------------------------------------------------

TEST_CASE("binary_cross_entropy_with_logits: naive loop, pos_weight, stability, gradients") {
  Tensor x = randn64({3, 4}, 50);
  Generator g(51);
  Tensor y = rand({3, 4}, DType::f64, &g).requires_grad_();
  Tensor pw = f64({0.5, 1.0, 2.0, 3.0}, {4}).requires_grad_();
  std::vector<double> xv = values(x), yv = values(y), pwv = values(pw), plain(12), weighted(12);
  for (int i = 0; i < 12; ++i) {
    double sig = 1 / (1 + std::exp(-xv[i]));
    plain[i] = -(yv[i] * std::log(sig) + (1 - yv[i]) * std::log(1 - sig));
    weighted[i] = -(pwv[i % 4] * yv[i] * std::log(sig) + (1 - yv[i]) * std::log(1 - sig));
  }
  check_reductions([&](Reduction r) { return binary_cross_entropy_with_logits(x, y, Tensor(), r); }, reduce_all(plain),
                   {3, 4}, 1e-12);
  check_reductions([&](Reduction r) { return binary_cross_entropy_with_logits(x, y, pw, r); }, reduce_all(weighted),
                   {3, 4}, 1e-12);
  std::vector<Tensor> in{x, y, pw};
  CHECK_GRADCHECK([](const std::vector<Tensor>& v) {
    return binary_cross_entropy_with_logits(v[0], v[1], v[2], Reduction::none);
  }, in, tolerance());
  std::vector<Tensor> in_nc{noncontiguous(randn64({2, 3}, 52)), noncontiguous(rand({2, 3}, DType::f64))};
  CHECK_GRADCHECK([](const std::vector<Tensor>& v) { return binary_cross_entropy_with_logits(v[0], v[1]); }, in_nc,
                  tolerance());

  // Logits of +-1e4: finite, exact; the gradient at x = 0 is sigmoid(0) - y = 0.5 - y exactly.
  for (DType dt : {DType::f64, DType::f32}) {
    Tensor big = f64({1e4, -1e4, 1e4, -1e4, 0.0}, {5}).to(dt).requires_grad_();
    Tensor target = f64({0.0, 1.0, 1.0, 0.0, 0.25}, {5}).to(dt);
    Tensor l = binary_cross_entropy_with_logits(big, target, Tensor(), Reduction::none);
    CHECK_CLOSE(l.to(DType::f64), f64({1e4, 1e4, 0.0, 0.0, std::log(2.0)}, {5}), 1e-6, 1e-7);
    sum(l).backward();
    CHECK_CLOSE(big.grad().to(DType::f64), f64({1.0, -1.0, 0.0, 0.0, 0.25}, {5}), 1e-7, 0);
  }
  // f32 against f64 with pos_weight.
  CHECK_CLOSE(binary_cross_entropy_with_logits(x.to(DType::f32), y.to(DType::f32), pw.to(DType::f32)),
              binary_cross_entropy_with_logits(x, y, pw), 1e-5, 1e-5);
}

TEST_CASE("binary_cross_entropy_with_logits errors") {
  Tensor x = randn64({3, 4}, 60, false);
  CHECK_THROWS_WITH_SUBSTR(binary_cross_entropy_with_logits(x, randn64({4}, 61, false)), "must have the same shape");
  CHECK_THROWS_WITH_SUBSTR(binary_cross_entropy_with_logits(x, zeros({3, 4})), "must share a dtype");
  CHECK_THROWS_WITH_SUBSTR(binary_cross_entropy_with_logits(x, zeros_like(x), ones({3}, DType::f64)),
                           "pos_weight of shape [3] does not broadcast");
  CHECK_THROWS_WITH_SUBSTR(binary_cross_entropy_with_logits(x, zeros_like(x), ones({4})), "pos_weight must be f64");
  CHECK_THROWS_WITH_SUBSTR(binary_cross_entropy_with_logits(x, zeros({3, 4}, DType::i64)), "floating");
}

// ---- regression losses ------------------------------------------------------------------

TEST_CASE("mse, l1 and smooth_l1 losses match naive loops") {
  Tensor a = randn64({3, 5}, 70), b = randn64({3, 5}, 71);
  std::vector<double> av = values(a), bv = values(b), mse(15), l1(15), sl1(15), sl1_half(15);
  for (int i = 0; i < 15; ++i) {
    double d = av[i] - bv[i], ad = std::fabs(d);
    mse[i] = d * d;
    l1[i] = ad;
    sl1[i] = ad < 1.0 ? 0.5 * d * d : ad - 0.5;
    sl1_half[i] = ad < 0.5 ? 0.5 * d * d / 0.5 : ad - 0.25;
  }
  check_reductions([&](Reduction r) { return mse_loss(a, b, r); }, reduce_all(mse), {3, 5}, 1e-12);
  check_reductions([&](Reduction r) { return l1_loss(a, b, r); }, reduce_all(l1), {3, 5}, 1e-12);
  check_reductions([&](Reduction r) { return smooth_l1_loss(a, b, 1.0, r); }, reduce_all(sl1), {3, 5}, 1e-12);
  check_reductions([&](Reduction r) { return smooth_l1_loss(a, b, 0.5, r); }, reduce_all(sl1_half), {3, 5}, 1e-12);
  check_reductions([&](Reduction r) { return smooth_l1_loss(a, b, 0.0, r); }, reduce_all(l1), {3, 5}, 1e-12);

  // Gradients (random values keep |d| away from 0 and from beta).
  std::vector<Tensor> in{a, noncontiguous(b)};
  CHECK_GRADCHECK([](const std::vector<Tensor>& v) { return mse_loss(v[0], v[1], Reduction::none); }, in, tolerance());
  CHECK_GRADCHECK([](const std::vector<Tensor>& v) { return l1_loss(v[0], v[1]); }, in, tolerance());
  CHECK_GRADCHECK([](const std::vector<Tensor>& v) { return smooth_l1_loss(v[0], v[1], 0.8, Reduction::sum); }, in,
                  tolerance());
  // f32, and the mean over nothing is NaN as in PyTorch.
  CHECK_CLOSE(smooth_l1_loss(a.to(DType::f32), b.to(DType::f32), 0.5), smooth_l1_loss(a, b, 0.5), 1e-6, 1e-6);
  CHECK(std::isnan(mse_loss(zeros({0}), zeros({0})).item()));
  CHECK(mse_loss(zeros({0}), zeros({0}), Reduction::sum).item() == 0.0);

  CHECK_THROWS_WITH_SUBSTR(mse_loss(a, randn64({5}, 72, false)), "must have the same shape");
  CHECK_THROWS_WITH_SUBSTR(l1_loss(a, Tensor()), "undefined");
  CHECK_THROWS_WITH_SUBSTR(smooth_l1_loss(a, b, -1.0), "beta must be");
  CHECK_THROWS_WITH_SUBSTR(mse_loss(arange(3), arange(3)), "floating");
}

TEST_CASE("kl_div matches a naive loop, with probability and log-probability targets") {
  Tensor input = log_softmax(randn64({3, 4}, 80, false), 1).requires_grad_();
  Tensor p = softmax(randn64({3, 4}, 81, false), 1);
  std::vector<double> pv = values(p);
  pv[1] = 0.0;  // a zero target contributes 0 (0 log 0 = 0)
  p = f64(pv, {3, 4}).requires_grad_();
  std::vector<double> iv = values(input), per(12), per_log(12);
  for (int i = 0; i < 12; ++i) {
    per[i] = pv[i] == 0.0 ? 0.0 : pv[i] * (std::log(pv[i]) - iv[i]);
    per_log[i] = std::exp(iv[i]) * (iv[i] - iv[(i + 1) % 12]);
  }
  check_reductions([&](Reduction r) { return kl_div(input, p, r); }, reduce_all(per), {3, 4}, 1e-12);
  Tensor log_t = f64(values(input), {3, 4}).requires_grad_();
  Tensor shifted_input = f64([&] {
    std::vector<double> s(12);
    for (int i = 0; i < 12; ++i) s[i] = iv[(i + 1) % 12];
    return s;
  }(), {3, 4});
  check_reductions([&](Reduction r) { return kl_div(shifted_input, log_t, r, true); }, reduce_all(per_log), {3, 4},
                   1e-12);
  // Gradients: w.r.t. the input everywhere; w.r.t. the target where it is positive (log_target
  // is smooth everywhere).
  std::vector<Tensor> in{input, softmax(randn64({3, 4}, 82, false), 1).requires_grad_()};
  CHECK_GRADCHECK([](const std::vector<Tensor>& v) { return kl_div(v[0], v[1], Reduction::none); }, in, tolerance());
  std::vector<Tensor> in_zero{input, p.detach()};
  CHECK_GRADCHECK([](const std::vector<Tensor>& v) { return kl_div(v[0], v[1]); }, in_zero, tolerance());
  std::vector<Tensor> in_log{noncontiguous(randn64({2, 3}, 83)), randn64({2, 3}, 84)};
  CHECK_GRADCHECK([](const std::vector<Tensor>& v) { return kl_div(v[0], v[1], Reduction::sum, true); }, in_log,
                  tolerance());
  // A zero target has a finite gradient, never NaN: d(0 log 0)/dt is taken as 0 (PyTorch's xlogy),
  // leaving -input.
  kl_div(input.detach(), p, Reduction::sum).backward();
  CHECK(values(p.grad())[1] == -iv[1]);
  CHECK_THROWS_WITH_SUBSTR(kl_div(input, randn64({4, 3}, 85, false)), "must have the same shape");
}

// ---- cosine_similarity and normalize ----------------------------------------------------

TEST_CASE("cosine_similarity: naive loop, eps clamps each norm, broadcasting, gradients") {
  Tensor a = randn64({3, 4}, 90), b = randn64({3, 4}, 91);
  std::vector<double> av = values(a), bv = values(b), e1(3), e0(4);
  for (int i = 0; i < 3; ++i) {
    double dot = 0, na = 0, nb = 0;
    for (int j = 0; j < 4; ++j) {
      dot += av[i * 4 + j] * bv[i * 4 + j];
      na += av[i * 4 + j] * av[i * 4 + j];
      nb += bv[i * 4 + j] * bv[i * 4 + j];
    }
    e1[i] = dot / (std::sqrt(na) * std::sqrt(nb));
  }
  for (int j = 0; j < 4; ++j) {
    double dot = 0, na = 0, nb = 0;
    for (int i = 0; i < 3; ++i) {
      dot += av[i * 4 + j] * bv[i * 4 + j];
      na += av[i * 4 + j] * av[i * 4 + j];
      nb += bv[i * 4 + j] * bv[i * 4 + j];
    }
    e0[j] = dot / (std::sqrt(na) * std::sqrt(nb));
  }
  CHECK_CLOSE(cosine_similarity(a, b), f64(e1, {3}), 1e-14, 1e-12);
  CHECK_CLOSE(cosine_similarity(a, b, 0), f64(e0, {4}), 1e-14, 1e-12);
  CHECK_CLOSE(cosine_similarity(a, b, -1), f64(e1, {3}), 1e-14, 1e-12);
  // Broadcasting: one vector against each row.
  CHECK_CLOSE(cosine_similarity(a.detach().select(0, 1).unsqueeze(0), a.detach()).select(0, 1).reshape({1}),
              ones({1}, DType::f64), 1e-14, 0);
  CHECK(cosine_similarity(randn64({1, 4}, 92, false), randn64({5, 4}, 93, false)).shape() == Shape{5});

  // import torch, torch.nn.functional as F
  // F.cosine_similarity(torch.tensor([[1e-9, 0.]], dtype=torch.float64), torch.tensor([[1e-9, 0.]], dtype=torch.float64), eps=1e-8)
  //   -> 0.01 (each norm is clamped to eps separately: 1e-18 / (1e-8 * 1e-8))
  Tensor tiny = f64({1e-9, 0.0}, {1, 2});
  CHECK(std::fabs(cosine_similarity(tiny, tiny).item() - 0.01) < 1e-15);
  // u = [[1e-9, 0], [3, 4]], v = [[1, 0], [1e-10, 0]] -> [0.1, 0.006]
  CHECK_CLOSE(cosine_similarity(f64({1e-9, 0, 3, 4}, {2, 2}), f64({1, 0, 1e-10, 0}, {2, 2})), f64({0.1, 0.006}, {2}),
              1e-15, 1e-10);
  // A zero vector: similarity 0 and a finite gradient.
  Tensor z = zeros({1, 3}, DType::f64).requires_grad_();
  Tensor c = cosine_similarity(z, randn64({1, 3}, 94, false));
  CHECK(c.item() == 0.0);
  c.backward();
  for (double g : values(z.grad())) CHECK(std::isfinite(g));

  std::vector<Tensor> in{a, noncontiguous(b)};
  CHECK_GRADCHECK([](const std::vector<Tensor>& v) { return cosine_similarity(v[0], v[1]); }, in, tolerance());
  CHECK_GRADCHECK([](const std::vector<Tensor>& v) { return cosine_similarity(v[0], v[1], 0); }, in, tolerance());
  CHECK_CLOSE(cosine_similarity(a.to(DType::f32), b.to(DType::f32)), f64(e1, {3}), 1e-6, 1e-6);
  CHECK_THROWS_WITH_SUBSTR(cosine_similarity(a, randn64({3, 5}, 95, false)), "broadcast");
  CHECK_THROWS_WITH_SUBSTR(cosine_similarity(a, b, 2), "out of range");
  CHECK_THROWS_WITH_SUBSTR(cosine_similarity(a, b, 1, -1.0), "eps must be");
}

TEST_CASE("normalize: x / max(||x||_p, eps)") {
  Tensor x = randn64({3, 4}, 100);
  std::vector<double> xv = values(x), e2(12), e1(12), e_col(12);
  for (int i = 0; i < 3; ++i) {
    double n2 = 0, n1 = 0;
    for (int j = 0; j < 4; ++j) {
      n2 += xv[i * 4 + j] * xv[i * 4 + j];
      n1 += std::fabs(xv[i * 4 + j]);
    }
    for (int j = 0; j < 4; ++j) {
      e2[i * 4 + j] = xv[i * 4 + j] / std::sqrt(n2);
      e1[i * 4 + j] = xv[i * 4 + j] / n1;
    }
  }
  for (int j = 0; j < 4; ++j) {
    double n2 = 0;
    for (int i = 0; i < 3; ++i) n2 += xv[i * 4 + j] * xv[i * 4 + j];
    for (int i = 0; i < 3; ++i) e_col[i * 4 + j] = xv[i * 4 + j] / std::sqrt(n2);
  }
  CHECK_CLOSE(normalize(x), f64(e2, {3, 4}), 1e-14, 1e-12);
  CHECK_CLOSE(normalize(x, 1.0, 1), f64(e1, {3, 4}), 1e-14, 1e-12);
  CHECK_CLOSE(normalize(x, 2.0, 0), f64(e_col, {3, 4}), 1e-14, 1e-12);
  // Below eps the norm is replaced by eps: small vectors are scaled by 1/eps, zeros stay zero.
  CHECK_CLOSE(normalize(f64({3e-13, 4e-13, 0, 0}, {2, 2})), f64({0.3, 0.4, 0, 0}, {2, 2}), 1e-15, 1e-10);
  Tensor z = zeros({2, 3}, DType::f64).requires_grad_();
  sum(normalize(z)).backward();
  for (double g : values(z.grad())) CHECK(std::isfinite(g));

  std::vector<Tensor> in{noncontiguous(x)};
  CHECK_GRADCHECK([](const std::vector<Tensor>& v) { return normalize(v[0]); }, in, tolerance());
  CHECK_GRADCHECK([](const std::vector<Tensor>& v) { return normalize(v[0], 3.0, 0); }, in, tolerance());
  CHECK_CLOSE(normalize(x.to(DType::f32)), f64(e2, {3, 4}), 1e-6, 1e-6);
  CHECK_THROWS_WITH_SUBSTR(normalize(x, 0.0), "p must be positive");
  CHECK_THROWS_WITH_SUBSTR(normalize(x, 2.0, 3), "out of range");
  CHECK_THROWS_WITH_SUBSTR(normalize(scalar_tensor(1.0)), "at least one dim");
  CHECK_THROWS_WITH_SUBSTR(normalize(arange(3)), "floating");
}
