// layer_norm, batch_norm, group_norm and dropout: forward against naive loops, gradients by finite
// differences (inputs, weights, biases; non-contiguous inputs), f32, batch_norm's running statistics
// (momentum, unbiased variance, no graph), dropout's mask (seeded, keep rate, scaling), and errors.
#include "tests/helpers.h"

using namespace iris;
using iris::testing::noncontiguous;
using iris::testing::randn64;

namespace {

std::vector<double> values(const Tensor& t) { return t.to_vector<double>(); }
Tensor f64(const std::vector<double>& v, const Shape& s) { return from_vector<double>(v, s, DType::f64); }

// Naive normalisation of `count` groups of `size` consecutive values each (biased variance).
std::vector<double> normalize_groups(const std::vector<double>& x, int64_t count, int64_t size, double eps) {
  std::vector<double> y(x.size());
  for (int64_t g = 0; g < count; ++g) {
    double m = 0, v = 0;
    for (int64_t i = 0; i < size; ++i) m += x[g * size + i];
    m /= size;
    for (int64_t i = 0; i < size; ++i) v += (x[g * size + i] - m) * (x[g * size + i] - m);
    v /= size;
    for (int64_t i = 0; i < size; ++i) y[g * size + i] = (x[g * size + i] - m) / std::sqrt(v + eps);
  }
  return y;
}

// Reference layer norm composed of mean/var ops (its own autograd), for gradient comparisons.
Tensor composed_layer_norm(const Tensor& x, const Tensor& w, const Tensor& b, double eps) {
  Tensor c = sub(x, mean(x, {-1}, true));
  Tensor y = div(c, sqrt(add(var(x, {-1}, false, true), eps)));
  return add(mul(y, w), b);
}

GradcheckOptions loose() {
  GradcheckOptions o;
  o.atol = 1e-6;
  o.rtol = 1e-4;
  return o;
}

}  // namespace

// ---- layer_norm -------------------------------------------------------------------------

TEST_CASE("layer_norm forward matches a naive loop") {
  Tensor x = randn64({3, 4, 5}, 1, false);
  Tensor w = randn64({5}, 2, false), b = randn64({5}, 3, false);
  std::vector<double> xn = normalize_groups(values(x), 12, 5, 1e-5);
  std::vector<double> wv = values(w), bv = values(b), expect(xn.size());
  for (size_t i = 0; i < xn.size(); ++i) expect[i] = xn[i] * wv[i % 5] + bv[i % 5];
  CHECK_CLOSE(layer_norm(x, {5}, w, b), f64(expect, {3, 4, 5}), 1e-12, 1e-12);
  CHECK_CLOSE(layer_norm(x, {5}), f64(xn, {3, 4, 5}), 1e-12, 1e-12);
  // Two normalised dims, weight only / bias only, another eps.
  Tensor w2 = randn64({4, 5}, 4, false);
  std::vector<double> xn2 = normalize_groups(values(x), 3, 20, 0.1), w2v = values(w2), e2(xn2.size());
  for (size_t i = 0; i < xn2.size(); ++i) e2[i] = xn2[i] * w2v[i % 20];
  CHECK_CLOSE(layer_norm(x, {4, 5}, w2, Tensor(), 0.1), f64(e2, {3, 4, 5}), 1e-12, 1e-12);
  std::vector<double> e3(xn.size());
  for (size_t i = 0; i < xn.size(); ++i) e3[i] = xn[i] + bv[i % 5];
  CHECK_CLOSE(layer_norm(x, {5}, Tensor(), b), f64(e3, {3, 4, 5}), 1e-12, 1e-12);
  // A 1-D input is one row; size-1 rows normalise to 0 (plus bias).
  CHECK_CLOSE(layer_norm(x.select(0, 0).select(0, 0), {5}), f64(std::vector<double>(xn.begin(), xn.begin() + 5), {5}),
              1e-12, 1e-12);
  CHECK_CLOSE(layer_norm(x, {3, 4, 5}), f64(normalize_groups(values(x), 1, 60, 1e-5), {3, 4, 5}), 1e-12, 1e-12);
  CHECK_CLOSE(layer_norm(randn64({4, 1}, 5, false), {1}), zeros({4, 1}, DType::f64), 0, 0);
}

TEST_CASE("layer_norm in f32, with a large mean, and on the parallel path") {
  // |mean| >> std: the centred two-pass statistics keep f32 accurate.
  Tensor x = add(randn64({6, 64}, 6, false), 1e4);
  Tensor y32 = layer_norm(x.to(DType::f32), {64});
  CHECK(y32.dtype() == DType::f32);
  CHECK_CLOSE(y32, layer_norm(x, {64}), 2e-3, 0);  // f32 spacing near 1e4 is ~1e-3 in the input itself
  Tensor z = randn64({5, 40}, 7, false);
  Tensor w = randn64({40}, 8, false), b = randn64({40}, 9, false);
  CHECK_CLOSE(layer_norm(z.to(DType::f32), {40}, w.to(DType::f32), b.to(DType::f32)), layer_norm(z, {40}, w, b), 1e-5,
              1e-5);

  // R * D large enough for several row chunks in the backward: compare every gradient with the
  // composed reference (its own autograd through mean/var).
  Tensor xb = randn64({300, 96}, 10), wb = randn64({96}, 11), bb = randn64({96}, 12);
  Tensor r = randn64({300, 96}, 13, false);
  sum(mul(layer_norm(xb, {96}, wb, bb), r)).backward();
  Tensor xr = xb.detach().requires_grad_(), wr = wb.detach().requires_grad_(), br = bb.detach().requires_grad_();
  Tensor ref = composed_layer_norm(xr, wr, br, 1e-5);
  CHECK_CLOSE(layer_norm(xb.detach(), {96}, wb.detach(), bb.detach()), ref, 1e-12, 1e-10);
  sum(mul(ref, r)).backward();
  CHECK_CLOSE(xb.grad(), xr.grad(), 1e-10, 1e-8);
  CHECK_CLOSE(wb.grad(), wr.grad(), 1e-10, 1e-8);
  CHECK_CLOSE(bb.grad(), br.grad(), 1e-10, 1e-8);

  // f32 backward against f64.
  Tensor x32 = xb.detach().to(DType::f32).requires_grad_(), w32 = wb.detach().to(DType::f32).requires_grad_();
  sum(mul(layer_norm(x32, {96}, w32), r.to(DType::f32))).backward();
  Tensor x64 = xb.detach().requires_grad_(), w64 = wb.detach().requires_grad_();
  sum(mul(layer_norm(x64, {96}, w64), r)).backward();
  CHECK_CLOSE(x32.grad(), x64.grad(), 1e-4, 1e-4);
  CHECK_CLOSE(w32.grad(), w64.grad(), 1e-3, 1e-4);
}

TEST_CASE("layer_norm gradients by finite differences") {
  Tensor x = randn64({3, 4}, 20), w = randn64({4}, 21), b = randn64({4}, 22);
  std::vector<Tensor> in{x, w, b};
  CHECK_GRADCHECK([](const std::vector<Tensor>& t) { return layer_norm(t[0], {4}, t[1], t[2]); }, in, loose());
  std::vector<Tensor> in_x{randn64({2, 3, 2}, 23)};
  CHECK_GRADCHECK([](const std::vector<Tensor>& t) { return layer_norm(t[0], {3, 2}); }, in_x, loose());
  // Non-contiguous input; weight only; bias only; only the weight requires grad.
  std::vector<Tensor> in_nc{noncontiguous(randn64({4, 5}, 24)), randn64({5}, 25)};
  CHECK_GRADCHECK([](const std::vector<Tensor>& t) { return layer_norm(t[0], {5}, t[1]); }, in_nc, loose());
  std::vector<Tensor> in_b{randn64({3, 5}, 26), randn64({5}, 27)};
  CHECK_GRADCHECK([](const std::vector<Tensor>& t) { return layer_norm(t[0], {5}, Tensor(), t[1]); }, in_b, loose());
  std::vector<Tensor> in_w{randn64({3, 5}, 28, false), randn64({5}, 29)};
  CHECK_GRADCHECK([](const std::vector<Tensor>& t) { return layer_norm(t[0].permute({1, 0}), {3}, Tensor(), Tensor())
                                                           .permute({1, 0}) * t[1]; }, in_w, loose());
  Tensor only_w = randn64({5}, 30);
  std::vector<Tensor> in_ow{randn64({3, 5}, 31, false), only_w};
  CHECK_GRADCHECK([](const std::vector<Tensor>& t) { return layer_norm(t[0], {5}, t[1]); }, in_ow, loose());
}

TEST_CASE("layer_norm errors") {
  Tensor x = randn64({2, 3}, 40, false);
  CHECK_THROWS_WITH_SUBSTR(layer_norm(x, {2}), "trailing dims");
  CHECK_THROWS_WITH_SUBSTR(layer_norm(x, {2, 2, 3}), "trailing dims");
  CHECK_THROWS_WITH_SUBSTR(layer_norm(x, Shape{}), "at least one dim");
  CHECK_THROWS_WITH_SUBSTR(layer_norm(x, {3}, randn64({4}, 41, false)), "weight has shape [4]");
  CHECK_THROWS_WITH_SUBSTR(layer_norm(x, {3}, Tensor(), randn64({2, 3}, 41, false)), "bias has shape");
  CHECK_THROWS_WITH_SUBSTR(layer_norm(x, {3}, ones({3})), "weight is f32 but the input is f64");
  CHECK_THROWS_WITH_SUBSTR(layer_norm(x, {3}, Tensor(), Tensor(), -1.0), "eps must be");
  CHECK_THROWS_WITH_SUBSTR(layer_norm(arange(6).reshape({2, 3}), {3}), "needs a floating tensor");
  CHECK_THROWS_WITH_SUBSTR(layer_norm(Tensor(), {3}), "undefined");
  CHECK(layer_norm(zeros({0, 3}), {3}).shape() == Shape{0, 3});
}

// ---- batch_norm -------------------------------------------------------------------------

namespace {

// Per-channel statistics of x [N, C, P] (P = product of the spatial dims) as plain vectors.
struct ChannelStats {
  std::vector<double> mean, biased_var, unbiased_var;
};
ChannelStats channel_stats(const std::vector<double>& x, int64_t N, int64_t C, int64_t P) {
  ChannelStats s{std::vector<double>(C, 0), std::vector<double>(C, 0), std::vector<double>(C, 0)};
  double n = static_cast<double>(N * P);
  for (int64_t c = 0; c < C; ++c) {
    for (int64_t i = 0; i < N; ++i)
      for (int64_t p = 0; p < P; ++p) s.mean[c] += x[(i * C + c) * P + p];
    s.mean[c] /= n;
    double sq = 0;
    for (int64_t i = 0; i < N; ++i)
      for (int64_t p = 0; p < P; ++p) sq += std::pow(x[(i * C + c) * P + p] - s.mean[c], 2);
    s.biased_var[c] = sq / n;
    s.unbiased_var[c] = sq / (n - 1);
  }
  return s;
}

std::vector<double> naive_batch_norm(const std::vector<double>& x, int64_t N, int64_t C, int64_t P,
                                     const std::vector<double>& m, const std::vector<double>& v,
                                     const std::vector<double>& w, const std::vector<double>& b, double eps) {
  std::vector<double> y(x.size());
  for (int64_t i = 0; i < N; ++i)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t p = 0; p < P; ++p) {
        int64_t k = (i * C + c) * P + p;
        y[k] = (x[k] - m[c]) / std::sqrt(v[c] + eps) * w[c] + b[c];
      }
  return y;
}

}  // namespace

TEST_CASE("batch_norm in training: batch statistics and running-stat updates") {
  const int64_t N = 4, C = 3, P = 6;
  Tensor x = randn64({N, C, 2, 3}, 50);
  Tensor w = randn64({C}, 51), b = randn64({C}, 52);
  Tensor rm = f64({0.5, -1.0, 2.0}, {C}), rv = f64({1.0, 2.0, 0.5}, {C});
  std::vector<double> rm0 = values(rm), rv0 = values(rv);
  Tensor y = batch_norm(x, rm, rv, w, b, true, 0.3, 1e-5);
  ChannelStats s = channel_stats(values(x), N, C, P);
  CHECK_CLOSE(y, f64(naive_batch_norm(values(x), N, C, P, s.mean, s.biased_var, values(w), values(b), 1e-5), x.shape()),
              1e-12, 1e-12);
  // running <- 0.7 running + 0.3 batch (unbiased variance); no graph on the running stats.
  std::vector<double> em(C), ev(C);
  for (int64_t c = 0; c < C; ++c) {
    em[c] = 0.7 * rm0[c] + 0.3 * s.mean[c];
    ev[c] = 0.7 * rv0[c] + 0.3 * s.unbiased_var[c];
  }
  CHECK_CLOSE(rm, f64(em, {C}), 1e-14, 1e-12);
  CHECK_CLOSE(rv, f64(ev, {C}), 1e-14, 1e-12);
  CHECK_FALSE(rm.requires_grad());
  CHECK(rm.grad_fn() == nullptr);
  CHECK(rv.grad_fn() == nullptr);
  // A second step keeps averaging; f32 running stats update from f64 inputs too.
  Tensor rm32 = zeros({C}), rv32 = ones({C});
  batch_norm(x, rm32, rv32, Tensor(), Tensor(), true);  // default momentum 0.1
  std::vector<float> m32 = rm32.to_vector<float>(), v32 = rv32.to_vector<float>();
  for (int64_t c = 0; c < C; ++c) {
    CHECK(std::fabs(m32[c] - 0.1 * s.mean[c]) < 1e-6);
    CHECK(std::fabs(v32[c] - (0.9 + 0.1 * s.unbiased_var[c])) < 1e-6);
  }
  // Without running stats, training still normalises with batch statistics.
  CHECK_CLOSE(batch_norm(x, Tensor(), Tensor(), w, b, true), y, 1e-15, 0);
  // 2-D input [N, C] (BatchNorm1d).
  Tensor x2 = randn64({5, 2}, 53, false);
  ChannelStats s2 = channel_stats(values(x2), 5, 2, 1);
  CHECK_CLOSE(batch_norm(x2, Tensor(), Tensor(), Tensor(), Tensor(), true),
              f64(naive_batch_norm(values(x2), 5, 2, 1, s2.mean, s2.biased_var, {1, 1}, {0, 0}, 1e-5), {5, 2}), 1e-12,
              1e-12);
}

TEST_CASE("batch_norm in evaluation uses the running statistics") {
  const int64_t N = 2, C = 3, P = 4;
  Tensor x = randn64({N, C, 4}, 60);
  Tensor rm = f64({0.5, -1.0, 2.0}, {C}), rv = f64({1.0, 2.0, 0.5}, {C});
  Tensor w = randn64({C}, 61), b = randn64({C}, 62);
  Tensor y = batch_norm(x, rm, rv, w, b, false, 0.1, 1e-3);
  CHECK_CLOSE(y, f64(naive_batch_norm(values(x), N, C, P, values(rm), values(rv), values(w), values(b), 1e-3), x.shape()),
              1e-12, 1e-12);
  CHECK_CLOSE(rm, f64({0.5, -1.0, 2.0}, {C}), 0, 0);  // untouched
  // f32 input with f64 running stats: computes in f32.
  Tensor y32 = batch_norm(x.detach().to(DType::f32), rm, rv, w.detach().to(DType::f32), b.detach().to(DType::f32), false,
                          0.1, 1e-3);
  CHECK(y32.dtype() == DType::f32);
  CHECK_CLOSE(y32, y, 1e-5, 1e-5);
  std::vector<Tensor> in{x, w, b};
  CHECK_GRADCHECK([rm, rv](const std::vector<Tensor>& t) { return batch_norm(t[0], rm, rv, t[1], t[2], false); }, in,
                  loose());
}

TEST_CASE("batch_norm training gradients by finite differences") {
  std::vector<Tensor> in{randn64({3, 2, 2, 2}, 70), randn64({2}, 71), randn64({2}, 72)};
  CHECK_GRADCHECK([](const std::vector<Tensor>& t) { return batch_norm(t[0], Tensor(), Tensor(), t[1], t[2], true); },
                  in, loose());
  // Non-contiguous input (and running stats updated on every call: harmless, no graph).
  Tensor rm = zeros({3}, DType::f64), rv = ones({3}, DType::f64);
  std::vector<Tensor> in_nc{noncontiguous(randn64({4, 3}, 73))};
  CHECK_GRADCHECK([rm, rv](const std::vector<Tensor>& t) {
    return batch_norm(t[0], rm, rv, Tensor(), Tensor(), true);
  }, in_nc, loose());
  CHECK_FALSE(rm.requires_grad());
}

TEST_CASE("batch_norm errors") {
  Tensor x = randn64({2, 3, 4}, 80, false);
  Tensor rm = zeros({3}, DType::f64), rv = ones({3}, DType::f64);
  CHECK_THROWS_WITH_SUBSTR(batch_norm(randn64({1, 3}, 81, false), rm, rv, Tensor(), Tensor(), true),
                           "more than 1 value per channel");
  CHECK_THROWS_WITH_SUBSTR(batch_norm(x, Tensor(), Tensor(), Tensor(), Tensor(), false), "evaluation mode");
  CHECK_THROWS_WITH_SUBSTR(batch_norm(x, zeros({4}, DType::f64), rv, Tensor(), Tensor(), true),
                           "running_mean has shape [4]");
  CHECK_THROWS_WITH_SUBSTR(batch_norm(x, rm, Tensor(), Tensor(), Tensor(), true), "both");
  CHECK_THROWS_WITH_SUBSTR(batch_norm(x, rm, rv, ones({2}, DType::f64), Tensor(), true), "weight has shape [2]");
  CHECK_THROWS_WITH_SUBSTR(batch_norm(randn64({3}, 82, false), rm, rv, Tensor(), Tensor(), true), "at least 2 dims");
  CHECK_THROWS_WITH_SUBSTR(batch_norm(x, rm, rv, Tensor(), Tensor(), true, 0.1, -1), "eps must be");
  CHECK_THROWS_WITH_SUBSTR(batch_norm(x, rm, rv, Tensor(), Tensor(), true, NAN), "momentum");
  CHECK_THROWS_WITH_SUBSTR(batch_norm(arange(8).reshape({2, 4}), Tensor(), Tensor(), Tensor(), Tensor(), true),
                           "needs a floating tensor");
  CHECK_THROWS_WITH_SUBSTR(batch_norm(x, zeros({3}, DType::i64), ones({3}, DType::i64), Tensor(), Tensor(), true),
                           "needs a floating tensor");
}

// ---- group_norm -------------------------------------------------------------------------

TEST_CASE("group_norm forward, gradients and errors") {
  const int64_t N = 2, C = 6, P = 3;
  Tensor x = randn64({N, C, P}, 90);
  Tensor w = randn64({C}, 91), b = randn64({C}, 92);
  for (int64_t groups : {1, 2, 3, 6}) {
    CAPTURE(groups);
    std::vector<double> xn = normalize_groups(values(x), N * groups, C / groups * P, 1e-5);
    std::vector<double> wv = values(w), bv = values(b), e(xn.size());
    for (size_t i = 0; i < xn.size(); ++i) {
      int64_t c = (i / P) % C;
      e[i] = xn[i] * wv[c] + bv[c];
    }
    CHECK_CLOSE(group_norm(x, groups, w, b), f64(e, x.shape()), 1e-12, 1e-12);
    CHECK_CLOSE(group_norm(x, groups), f64(xn, x.shape()), 1e-12, 1e-12);
  }
  std::vector<Tensor> in{x, w, b};
  CHECK_GRADCHECK([](const std::vector<Tensor>& t) { return group_norm(t[0], 3, t[1], t[2]); }, in, loose());
  std::vector<Tensor> in_nc{noncontiguous(randn64({2, 4, 2, 3}, 93))};
  CHECK_GRADCHECK([](const std::vector<Tensor>& t) { return group_norm(t[0], 2); }, in_nc, loose());
  CHECK_CLOSE(group_norm(x.to(DType::f32), 2), group_norm(x, 2), 1e-5, 1e-5);

  CHECK_THROWS_WITH_SUBSTR(group_norm(x, 4), "must be positive and divide");
  CHECK_THROWS_WITH_SUBSTR(group_norm(x, 0), "must be positive and divide");
  CHECK_THROWS_WITH_SUBSTR(group_norm(x, 2, ones({3}, DType::f64)), "weight has shape [3]");
  CHECK_THROWS_WITH_SUBSTR(group_norm(randn64({6}, 94, false), 2), "at least 2 dims");
  CHECK_THROWS_WITH_SUBSTR(group_norm(x, 2, Tensor(), Tensor(), NAN), "eps must be");
}

// ---- dropout ----------------------------------------------------------------------------

TEST_CASE("dropout: mask from the seed, keep rate and scaling") {
  const double p = 0.3;
  const int64_t n = 100000;
  Tensor x = add(rand({n}, DType::f32), 0.5);  // values in [0.5, 1.5): never 0 before dropout
  Generator g1(42);
  Tensor y = dropout(x, p, true, &g1);
  std::vector<float> xv = x.to_vector<float>(), yv = y.to_vector<float>();
  // The mask is u >= p for u = rand(shape) drawn from the same generator state.
  Generator g2(42);
  std::vector<float> u = rand({n}, DType::f32, &g2).to_vector<float>();
  int64_t kept = 0;
  bool mask_matches = true, scaled = true;
  for (int64_t i = 0; i < n; ++i) {
    bool keep = yv[i] != 0.0f;
    kept += keep;
    mask_matches = mask_matches && keep == (u[i] >= p);
    if (keep) scaled = scaled && std::fabs(yv[i] - xv[i] / (1 - p)) <= 1e-6f * std::fabs(yv[i]);
  }
  CHECK(mask_matches);
  CHECK(scaled);
  // Keep rate 0.7; the binomial sd is sqrt(0.21 / n) = 0.00145: allow 7 sd.
  CHECK(std::fabs(static_cast<double>(kept) / n - (1 - p)) < 0.01);
  // The generator advanced: the next call draws a different mask; reseeding repeats it.
  CHECK(g1.offset() > 0);
  Tensor y_next = dropout(x, p, true, &g1);
  CHECK_FALSE(iris::testing::allclose(y_next, y, 0, 0).ok);
  Generator g3(42);
  CHECK_CLOSE(dropout(x, p, true, &g3), y, 0, 0);
  // f64 and the default generator.
  manual_seed(7);
  Tensor a = dropout(ones({1000}, DType::f64), 0.5);
  manual_seed(7);
  CHECK_CLOSE(dropout(ones({1000}, DType::f64), 0.5), a, 0, 0);
  for (double v : values(a)) CHECK((v == 0.0 || v == 2.0));
}

TEST_CASE("dropout: identities, extremes, gradients and errors") {
  Tensor x = randn64({3, 4}, 100);
  CHECK(dropout(x, 0.5, false).impl() == x.impl());  // evaluation: the input itself
  CHECK(dropout(x, 0.0, true).impl() == x.impl());
  Tensor z = dropout(x, 1.0, true);
  CHECK_CLOSE(z, zeros({3, 4}, DType::f64), 0, 0);
  sum(mul(z, 3.0)).backward();
  CHECK_CLOSE(x.grad(), zeros({3, 4}, DType::f64), 0, 0);

  // Gradient: the same mask and scale as the forward (mask recomputed from the seed).
  Tensor xg = randn64({4, 5}, 101);
  Generator g(9);
  Tensor y = dropout(xg, 0.4, true, &g);
  sum(y).backward();
  std::vector<double> gy = values(xg.grad()), yv = values(y), xv = values(xg.detach());
  for (size_t i = 0; i < gy.size(); ++i) CHECK(gy[i] == (yv[i] == 0.0 ? 0.0 : 1.0 / 0.6));
  for (size_t i = 0; i < gy.size(); ++i)
    if (yv[i] != 0.0) CHECK(std::fabs(yv[i] - xv[i] / 0.6) < 1e-12);
  std::vector<Tensor> in{noncontiguous(randn64({3, 4}, 102))};
  CHECK_GRADCHECK([](const std::vector<Tensor>& t) {
    Generator local(5);  // same mask on every call
    return dropout(t[0], 0.5, true, &local);
  }, in, loose());

  CHECK_THROWS_WITH_SUBSTR(dropout(x, -0.1), "p must be in [0, 1]");
  CHECK_THROWS_WITH_SUBSTR(dropout(x, 1.5), "p must be in [0, 1]");
  CHECK_THROWS_WITH_SUBSTR(dropout(x, NAN), "p must be in [0, 1]");
  CHECK_THROWS_WITH_SUBSTR(dropout(arange(4), 0.5), "needs a floating tensor");
  CHECK_THROWS_WITH_SUBSTR(dropout(Tensor(), 0.5), "undefined");
}
