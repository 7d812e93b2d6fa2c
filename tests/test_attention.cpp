// scaled_dot_product_attention against a naive loop: plain, boolean mask, additive bias, causal
// (L < S and L > S), their combination, heads and broadcast batch dims, a custom scale, dropout on
// the weights (mask reproduced from the seed), fully masked rows (zeros, zero gradient, no NaN),
// non-contiguous operands, f32, finite-difference gradients for q, k, v and bias, and the errors.
#include "tests/helpers.h"

using namespace iris;
using iris::testing::noncontiguous;
using iris::testing::randn64;

namespace {

struct Problem {
  int64_t B, L, S, E, Ev;
};

// q [B, L, E], k [B, S, E], v [B, S, Ev]; allowed and bias are full [B, L, S] (or empty); weight_mask
// [B, L, S] multiplies the softmax weights (dropout), or empty. Rows with nothing allowed (or only
// -inf scores) give zeros.
std::vector<double> naive_attention(const Problem& p, const std::vector<double>& q, const std::vector<double>& k,
                                    const std::vector<double>& v, const std::vector<bool>& allowed,
                                    const std::vector<double>& bias, bool causal, double scale,
                                    const std::vector<double>& weight_mask = {}) {
  std::vector<double> out(p.B * p.L * p.Ev, 0.0);
  for (int64_t b = 0; b < p.B; ++b)
    for (int64_t i = 0; i < p.L; ++i) {
      std::vector<double> s(p.S, -INFINITY);
      double mx = -INFINITY;
      for (int64_t j = 0; j < p.S; ++j) {
        int64_t bij = (b * p.L + i) * p.S + j;
        if (!allowed.empty() && !allowed[bij]) continue;
        if (causal && j > i) continue;
        double dot = 0;
        for (int64_t e = 0; e < p.E; ++e) dot += q[(b * p.L + i) * p.E + e] * k[(b * p.S + j) * p.E + e];
        s[j] = dot * scale + (bias.empty() ? 0.0 : bias[bij]);
        mx = std::max(mx, s[j]);
      }
      if (mx == -INFINITY) continue;  // fully masked: zeros
      double total = 0;
      for (int64_t j = 0; j < p.S; ++j) total += std::exp(s[j] - mx);
      for (int64_t j = 0; j < p.S; ++j) {
        double w = std::exp(s[j] - mx) / total;
        if (!weight_mask.empty()) w *= weight_mask[(b * p.L + i) * p.S + j];
        for (int64_t e = 0; e < p.Ev; ++e) out[(b * p.L + i) * p.Ev + e] += w * v[(b * p.S + j) * p.Ev + e];
      }
    }
  return out;
}

std::vector<double> values(const Tensor& t) { return t.to_vector<double>(); }
std::vector<bool> bools(const Tensor& t) {
  std::vector<bool> r;
  for (uint8_t b : t.to(DType::u8).to_vector<uint8_t>()) r.push_back(b != 0);
  return r;
}
Tensor f64(const std::vector<double>& v, const Shape& s) { return from_vector<double>(v, s, DType::f64); }

GradcheckOptions attention_tolerance() {
  GradcheckOptions o;
  o.atol = 1e-6;
  o.rtol = 1e-4;
  return o;
}

// A random bool mask [B, L, S] where query row (0, 1) may attend to nothing.
Tensor mask_with_dead_row(const Problem& p, uint64_t seed) {
  Generator g(seed);
  Tensor m = gt(rand({p.B, p.L, p.S}, DType::f64, &g), 0.4);
  std::vector<uint8_t> mv = m.to(DType::u8).to_vector<uint8_t>();
  for (int64_t j = 0; j < p.S; ++j) mv[1 * p.S + j] = 0;
  return from_vector<uint8_t>(mv, {p.B, p.L, p.S}).to(DType::b8);
}

}  // namespace

TEST_CASE("attention without masks matches the naive loop") {
  Problem p{2, 3, 4, 5, 2};
  Tensor q = randn64({2, 3, 5}, 1), k = randn64({2, 4, 5}, 2), v = randn64({2, 4, 2}, 3);
  Tensor out = scaled_dot_product_attention(q, k, v);
  CHECK(out.shape() == Shape{2, 3, 2});
  CHECK_CLOSE(out, f64(naive_attention(p, values(q), values(k), values(v), {}, {}, false, 1 / std::sqrt(5.0)), {2, 3, 2}),
              1e-12, 1e-12);
  AttentionOptions o;
  o.scale = 0.7;
  CHECK_CLOSE(scaled_dot_product_attention(q, k, v, o),
              f64(naive_attention(p, values(q), values(k), values(v), {}, {}, false, 0.7), {2, 3, 2}), 1e-12, 1e-12);
  std::vector<Tensor> in{q, k, v};
  CHECK_GRADCHECK([](const std::vector<Tensor>& t) { return scaled_dot_product_attention(t[0], t[1], t[2]); }, in,
                  attention_tolerance());
  // Size-1 dims: one query, one key.
  Tensor q1 = randn64({1, 1, 3}, 4, false), k1 = randn64({1, 1, 3}, 5, false), v1 = randn64({1, 1, 2}, 6, false);
  CHECK_CLOSE(scaled_dot_product_attention(q1, k1, v1), v1, 1e-15, 0);
}

TEST_CASE("attention with a boolean mask, including a fully masked row") {
  Problem p{2, 3, 4, 3, 2};
  Tensor q = randn64({2, 3, 3}, 10), k = randn64({2, 4, 3}, 11), v = randn64({2, 4, 2}, 12);
  AttentionOptions o;
  o.mask = mask_with_dead_row(p, 13);
  Tensor out = scaled_dot_product_attention(q, k, v, o);
  CHECK_CLOSE(out,
              f64(naive_attention(p, values(q), values(k), values(v), bools(o.mask), {}, false, 1 / std::sqrt(3.0)),
                  {2, 3, 2}),
              1e-12, 1e-12);
  // The dead row (batch 0, query 1) is exactly zero, and so is every gradient through it.
  std::vector<double> ov = values(out);
  CHECK(ov[2] == 0.0);
  CHECK(ov[3] == 0.0);
  sum(mul(out, randn64({2, 3, 2}, 14, false))).backward();
  for (const Tensor& t : {q, k, v})
    for (double g : values(t.grad())) CHECK(std::isfinite(g));
  std::vector<double> gq = values(q.grad());
  for (int64_t e = 0; e < 3; ++e) CHECK(gq[1 * 3 + e] == 0.0);

  std::vector<Tensor> in{randn64({2, 3, 3}, 15), randn64({2, 4, 3}, 16), randn64({2, 4, 2}, 17)};
  CHECK_GRADCHECK([o](const std::vector<Tensor>& t) { return scaled_dot_product_attention(t[0], t[1], t[2], o); }, in,
                  attention_tolerance());
}

TEST_CASE("attention with an additive bias, causal masking, and all of them together") {
  Problem p{2, 3, 5, 4, 3};
  Tensor q = randn64({2, 3, 4}, 20), k = randn64({2, 5, 4}, 21), v = randn64({2, 5, 3}, 22);
  Tensor bias = randn64({3, 5}, 23);  // broadcast over the batch; learned, so it gets a gradient
  double sc = 1 / std::sqrt(4.0);
  std::vector<double> full_bias = values(bias.detach().expand({2, 3, 5}).contiguous());
  AttentionOptions ob;
  ob.bias = bias;
  CHECK_CLOSE(scaled_dot_product_attention(q, k, v, ob),
              f64(naive_attention(p, values(q), values(k), values(v), {}, full_bias, false, sc), {2, 3, 3}), 1e-12,
              1e-12);
  std::vector<Tensor> in{q, k, v, bias};
  CHECK_GRADCHECK([](const std::vector<Tensor>& t) {
    AttentionOptions o;
    o.bias = t[3];
    return scaled_dot_product_attention(t[0], t[1], t[2], o);
  }, in, attention_tolerance());

  // Causal is top-left aligned: query i sees keys 0..i. L < S here; L > S below.
  AttentionOptions oc;
  oc.causal = true;
  CHECK_CLOSE(scaled_dot_product_attention(q, k, v, oc),
              f64(naive_attention(p, values(q), values(k), values(v), {}, {}, true, sc), {2, 3, 3}), 1e-12, 1e-12);
  Problem pt{1, 5, 3, 4, 3};
  Tensor qt = randn64({1, 5, 4}, 24), kt = randn64({1, 3, 4}, 25), vt = randn64({1, 3, 3}, 26);
  CHECK_CLOSE(scaled_dot_product_attention(qt, kt, vt, oc),
              f64(naive_attention(pt, values(qt), values(kt), values(vt), {}, {}, true, sc), {1, 5, 3}), 1e-12, 1e-12);
  std::vector<Tensor> in_c{qt, kt, vt};
  CHECK_GRADCHECK([oc](const std::vector<Tensor>& t) { return scaled_dot_product_attention(t[0], t[1], t[2], oc); },
                  in_c, attention_tolerance());

  // mask AND causal, plus bias: row 1 of batch 0 is dead.
  AttentionOptions all;
  all.mask = mask_with_dead_row(p, 27);
  all.bias = bias.detach();
  all.causal = true;
  all.scale = 0.9;
  CHECK_CLOSE(scaled_dot_product_attention(q, k, v, all),
              f64(naive_attention(p, values(q), values(k), values(v), bools(all.mask), full_bias, true, 0.9), {2, 3, 3}),
              1e-12, 1e-12);
  std::vector<Tensor> in_all{randn64({2, 3, 4}, 28), randn64({2, 5, 4}, 29), randn64({2, 5, 3}, 30)};
  CHECK_GRADCHECK([all](const std::vector<Tensor>& t) { return scaled_dot_product_attention(t[0], t[1], t[2], all); },
                  in_all, attention_tolerance());
}

TEST_CASE("attention: a row of -inf bias is fully masked too") {
  Tensor q = randn64({2, 3}, 40), k = randn64({4, 3}, 41), v = randn64({4, 2}, 42);
  std::vector<double> bv(8, 0.0);
  for (int j = 0; j < 4; ++j) bv[4 + j] = -INFINITY;  // query 1 sees nothing
  bv[0] = -INFINITY;                                  // query 0 loses key 0 only
  Tensor bias = f64(bv, {2, 4}).requires_grad_();
  AttentionOptions o;
  o.bias = bias;
  Tensor out = scaled_dot_product_attention(q, k, v, o);
  Problem p{1, 2, 4, 3, 2};
  CHECK_CLOSE(out, f64(naive_attention(p, values(q), values(k), values(v), {}, bv, false, 1 / std::sqrt(3.0)), {2, 2}),
              1e-12, 1e-12);
  sum(out).backward();
  for (const Tensor& t : {q, k, v, bias})
    for (double g : values(t.grad())) CHECK(std::isfinite(g));
  std::vector<double> gb = values(bias.grad());
  for (int j = 0; j < 4; ++j) CHECK(gb[4 + j] == 0.0);
  CHECK(gb[0] == 0.0);
}

TEST_CASE("attention with heads, broadcast masks and broadcast batch dims") {
  // q/k/v [B, H, N, D] with a [L, S] mask shared by every batch and head.
  Tensor q = randn64({2, 2, 3, 4}, 50, false), k = randn64({2, 2, 3, 4}, 51, false), v = randn64({2, 2, 3, 2}, 52, false);
  Tensor m = from_vector<uint8_t>({1, 0, 1, 1, 1, 0, 0, 1, 1}, {3, 3}).to(DType::b8);
  AttentionOptions o;
  o.mask = m;
  Problem p{4, 3, 3, 4, 2};
  std::vector<bool> full_mask = bools(m.expand({4, 3, 3}).contiguous());
  CHECK_CLOSE(scaled_dot_product_attention(q, k, v, o),
              f64(naive_attention(p, values(q), values(k), values(v), full_mask, {}, false, 0.5), {2, 2, 3, 2}), 1e-12,
              1e-12);

  // q [2, 1, L, E] against k, v [3, S, E]: the output is [2, 3, L, Ev].
  Tensor qb = randn64({2, 1, 2, 3}, 53), kb = randn64({3, 4, 3}, 54), vb = randn64({3, 4, 2}, 55);
  Tensor out = scaled_dot_product_attention(qb, kb, vb);
  CHECK(out.shape() == Shape{2, 3, 2, 2});
  Problem pb{6, 2, 4, 3, 2};
  std::vector<double> expect = naive_attention(pb, values(qb.detach().expand({2, 3, 2, 3}).contiguous()),
                                               values(kb.detach().expand({2, 3, 4, 3}).contiguous()),
                                               values(vb.detach().expand({2, 3, 4, 2}).contiguous()), {}, {}, false,
                                               1 / std::sqrt(3.0));
  CHECK_CLOSE(out, f64(expect, {2, 3, 2, 2}), 1e-12, 1e-12);
  std::vector<Tensor> in{qb, kb, vb};
  CHECK_GRADCHECK([](const std::vector<Tensor>& t) { return scaled_dot_product_attention(t[0], t[1], t[2]); }, in,
                  attention_tolerance());
}

TEST_CASE("attention on non-contiguous operands and in f32") {
  Tensor q = randn64({2, 3, 4}, 60, false), k = randn64({2, 5, 4}, 61, false), v = randn64({2, 5, 3}, 62, false);
  Tensor ref = scaled_dot_product_attention(q, k, v);
  // k stored as [2, 4, 5] and transposed; v with stride 2; q permuted from [3, 2, 4].
  Tensor k_t = k.transpose(1, 2).contiguous().transpose(1, 2);
  Tensor q_p = q.permute({1, 0, 2}).contiguous().permute({1, 0, 2});
  CHECK_FALSE(k_t.is_contiguous());
  CHECK_CLOSE(scaled_dot_product_attention(q_p, k_t, noncontiguous(v)), ref, 1e-14, 1e-12);
  std::vector<Tensor> in{noncontiguous(randn64({2, 3, 4}, 63)), noncontiguous(randn64({2, 5, 4}, 64)),
                         noncontiguous(randn64({2, 5, 3}, 65))};
  CHECK_GRADCHECK([](const std::vector<Tensor>& t) {
    AttentionOptions o;
    o.causal = true;
    return scaled_dot_product_attention(t[0], t[1].transpose(1, 2).contiguous().transpose(1, 2), t[2], o);
  }, in, attention_tolerance());

  AttentionOptions o;
  o.mask = mask_with_dead_row({2, 3, 5, 4, 3}, 66);
  Tensor out32 = scaled_dot_product_attention(q.to(DType::f32), k.to(DType::f32), v.to(DType::f32), o);
  CHECK(out32.dtype() == DType::f32);
  CHECK_CLOSE(out32, scaled_dot_product_attention(q, k, v, o), 1e-5, 1e-5);
}

TEST_CASE("attention dropout acts on the weights, reproducibly from the seed") {
  Problem p{2, 3, 4, 3, 2};
  Tensor q = randn64({2, 3, 3}, 70, false), k = randn64({2, 4, 3}, 71, false), v = randn64({2, 4, 2}, 72, false);
  Generator g(123);
  AttentionOptions o;
  o.dropout_p = 0.5;
  o.generator = &g;
  Tensor out = scaled_dot_product_attention(q, k, v, o);
  // The dropout mask is u >= p for u = rand([B, L, S]) drawn from the same generator state.
  Generator g2(123);
  std::vector<double> u = values(rand({2, 3, 4}, DType::f64, &g2)), wm(u.size());
  for (size_t i = 0; i < u.size(); ++i) wm[i] = u[i] >= 0.5 ? 2.0 : 0.0;
  CHECK_CLOSE(out,
              f64(naive_attention(p, values(q), values(k), values(v), {}, {}, false, 1 / std::sqrt(3.0), wm), {2, 3, 2}),
              1e-12, 1e-12);
  Generator g3(123);
  o.generator = &g3;
  CHECK_CLOSE(scaled_dot_product_attention(q, k, v, o), out, 0, 0);
  std::vector<Tensor> in{randn64({2, 3, 3}, 73), randn64({2, 4, 3}, 74), randn64({2, 4, 2}, 75)};
  CHECK_GRADCHECK([](const std::vector<Tensor>& t) {
    Generator local(5);
    AttentionOptions od;
    od.dropout_p = 0.3;
    od.generator = &local;
    return scaled_dot_product_attention(t[0], t[1], t[2], od);
  }, in, attention_tolerance());
  // p = 1 drops every weight.
  o.dropout_p = 1.0;
  CHECK_CLOSE(scaled_dot_product_attention(q, k, v, o), zeros({2, 3, 2}, DType::f64), 0, 0);
}

TEST_CASE("attention with no keys gives zeros") {
  Tensor q = randn64({2, 3}, 80), k = zeros({0, 3}, DType::f64), v = zeros({0, 4}, DType::f64);
  Tensor out = scaled_dot_product_attention(q, k, v);
  CHECK_CLOSE(out, zeros({2, 4}, DType::f64), 0, 0);
  sum(out).backward();
  CHECK_CLOSE(q.grad(), zeros({2, 3}, DType::f64), 0, 0);
}

TEST_CASE("attention errors") {
  Tensor q = randn64({2, 3, 4}, 90, false), k = randn64({2, 5, 4}, 91, false), v = randn64({2, 5, 3}, 92, false);
  CHECK_THROWS_WITH_SUBSTR(scaled_dot_product_attention(q, randn64({2, 5, 3}, 93, false), v), "same feature size E");
  CHECK_THROWS_WITH_SUBSTR(scaled_dot_product_attention(q, k, randn64({2, 4, 3}, 94, false)), "number of keys S");
  CHECK_THROWS_WITH_SUBSTR(scaled_dot_product_attention(randn64({4}, 95, false), k, v), "[..., tokens, features]");
  CHECK_THROWS_WITH_SUBSTR(scaled_dot_product_attention(q, k, v.to(DType::f32)), "share a dtype");
  CHECK_THROWS_WITH_SUBSTR(scaled_dot_product_attention(arange(24).reshape({2, 3, 4}), k, v), "floating");
  CHECK_THROWS_WITH_SUBSTR(scaled_dot_product_attention(q, Tensor(), v), "k is undefined");
  CHECK_THROWS_WITH_SUBSTR(scaled_dot_product_attention(q, randn64({3, 5, 4}, 96, false), v), "broadcast");
  AttentionOptions o;
  o.mask = ones({3, 5});
  CHECK_THROWS_WITH_SUBSTR(scaled_dot_product_attention(q, k, v, o), "mask must be bool");
  o.mask = ones({3, 4}, DType::b8);
  CHECK_THROWS_WITH_SUBSTR(scaled_dot_product_attention(q, k, v, o), "mask of shape [3, 4] does not broadcast");
  o.mask = ones({3, 2, 3, 5}, DType::b8);  // would grow the batch
  CHECK_THROWS_WITH_SUBSTR(scaled_dot_product_attention(q, k, v, o), "does not broadcast");
  AttentionOptions ob;
  ob.bias = zeros({5, 3}, DType::f64);
  CHECK_THROWS_WITH_SUBSTR(scaled_dot_product_attention(q, k, v, ob), "bias of shape [5, 3]");
  ob.bias = zeros({3, 5}, DType::i64);
  CHECK_THROWS_WITH_SUBSTR(scaled_dot_product_attention(q, k, v, ob), "floating");
  AttentionOptions od;
  od.dropout_p = 1.5;
  CHECK_THROWS_WITH_SUBSTR(scaled_dot_product_attention(q, k, v, od), "dropout_p must be in [0, 1]");
  od.dropout_p = -0.1;
  CHECK_THROWS_WITH_SUBSTR(scaled_dot_product_attention(q, k, v, od), "dropout_p must be in [0, 1]");
  AttentionOptions os;
  os.scale = NAN;
  CHECK_THROWS_WITH_SUBSTR(scaled_dot_product_attention(q, k, v, os), "scale must be finite");
}

TEST_CASE("f32 fused attention (the blocked GEMM form on AVX2 CPUs) matches f64, forward and backward") {
  // L = 70 crosses the 64-row block; S = 37 and 129 leave partial micro-tiles; causal with L > S and L < S.
  for (auto [L, S, causal] : std::vector<std::tuple<int64_t, int64_t, bool>>{
           {70, 37, false}, {70, 129, false}, {70, 37, true}, {5, 129, true}, {1, 1, false}}) {
    CAPTURE(L);
    CAPTURE(S);
    CAPTURE(causal);
    Tensor q = randn64({3, L, 16}, 70 + L, false), k = randn64({3, S, 16}, 71 + S, false),
           v = randn64({3, S, 24}, 72 + S, false), go = randn64({3, L, 24}, 73, false);
    AttentionOptions o;
    o.causal = causal;
    auto run = [&](DType dt) {
      std::vector<Tensor> in{q.to(dt).detach().requires_grad_(), k.to(dt).detach().requires_grad_(),
                            v.to(dt).detach().requires_grad_()};
      Tensor out = scaled_dot_product_attention(in[0], in[1], in[2], o);
      sum(out * go.to(dt)).backward();
      return std::vector<Tensor>{out.detach(), in[0].grad(), in[1].grad(), in[2].grad()};
    };
    std::vector<Tensor> ref = run(DType::f64), got = run(DType::f32);
    for (size_t i = 0; i < ref.size(); ++i) {
      CAPTURE(i);
      CHECK(got[i].dtype() == DType::f32);
      CHECK_CLOSE(got[i], ref[i], 2e-5, 2e-5);
    }
  }
}

// The composed form packed_qkv_attention stands for: split [B, N, 3, H, hd], attend per head, merge.
Tensor composed_qkv_attention(const Tensor& qkv, int64_t heads, bool causal) {
  const int64_t B = qkv.shape()[0], N = qkv.shape()[1], D = qkv.shape()[2] / 3;
  Tensor t = qkv.reshape({B, N, 3, heads, D / heads}).permute({2, 0, 3, 1, 4});
  AttentionOptions o;
  o.causal = causal;
  Tensor out = scaled_dot_product_attention(t.select(0, 0).contiguous(), t.select(0, 1).contiguous(),
                                            t.select(0, 2).contiguous(), o);
  return out.transpose(1, 2).contiguous().reshape({B, N, D});
}

TEST_CASE("packed_qkv_attention equals split + attention + merge, and its gradient passes finite differences") {
  for (bool causal : {false, true}) {
    CAPTURE(causal);
    Tensor qkv = randn64({2, 5, 3 * 6}, 80 + causal, false);  // B 2, N 5, 2 heads of 3
    AttentionOptions o;
    o.causal = causal;
    CHECK_CLOSE(packed_qkv_attention(qkv, 2, o), composed_qkv_attention(qkv, 2, causal), 1e-12, 1e-12);
    std::vector<Tensor> in{randn64({2, 5, 18}, 82 + causal)};
    CHECK_GRADCHECK([o](const std::vector<Tensor>& t) { return packed_qkv_attention(t[0], 2, o); }, in,
                    attention_tolerance());
    // a non-contiguous qkv (a transposed buffer) gives the same
    Tensor qkv_t = qkv.transpose(0, 1).contiguous().transpose(0, 1);
    CHECK_FALSE(qkv_t.is_contiguous());
    CHECK_CLOSE(packed_qkv_attention(qkv_t, 2, o), packed_qkv_attention(qkv, 2, o), 0, 0);
  }
  // f32 (the blocked GEMM form on AVX2 CPUs), N = 70 crossing the 64-row block, 3 heads of 16:
  // output and the gradient of qkv against f64
  Tensor qkv = randn64({2, 70, 3 * 48}, 84, false), go = randn64({2, 70, 48}, 85, false);
  auto run = [&](DType dt) {
    Tensor x = qkv.to(dt).detach().requires_grad_();
    Tensor out = packed_qkv_attention(x, 3);
    sum(out * go.to(dt)).backward();
    return std::vector<Tensor>{out.detach(), x.grad()};
  };
  std::vector<Tensor> ref = run(DType::f64), got = run(DType::f32);
  CHECK_CLOSE(got[0], ref[0], 2e-5, 2e-5);
  CHECK_CLOSE(got[1], ref[1], 2e-5, 2e-5);
  // with dropout it takes the composed path, reproducibly from the seed
  AttentionOptions drop;
  drop.dropout_p = 0.3;
  Generator g1(7), g2(7);
  drop.generator = &g1;
  Tensor a = packed_qkv_attention(qkv, 3, drop);
  Tensor t = qkv.reshape({2, 70, 3, 3, 16}).permute({2, 0, 3, 1, 4});
  drop.generator = &g2;
  Tensor b = scaled_dot_product_attention(t.select(0, 0), t.select(0, 1), t.select(0, 2), drop)
                 .transpose(1, 2)
                 .reshape({2, 70, 48});
  CHECK_CLOSE(a, b, 0, 0);
}

TEST_CASE("packed_qkv_attention errors") {
  CHECK_THROWS_WITH_SUBSTR(packed_qkv_attention(zeros({2, 5}), 1), "[B, N, 3 * D]");
  CHECK_THROWS_WITH_SUBSTR(packed_qkv_attention(zeros({2, 5, 12}), 3), "3 * heads * head_dim");
  CHECK_THROWS_WITH_SUBSTR(packed_qkv_attention(zeros({2, 5, 12}), 0), "heads must be positive");
  CHECK_THROWS_WITH_SUBSTR(packed_qkv_attention(arange(24).reshape({1, 2, 12}), 2), "floating");
}

// The composed form packed_qkv_channel_attention stands for: [B, N, 3, G, Cg] -> per group the
// channels attend over the N positions, [B, G, Cg, N] -> [B, N, C].
Tensor composed_channel_attention(const Tensor& qkv, int64_t groups, std::array<int, 3> parts, double scale) {
  const int64_t B = qkv.shape()[0], N = qkv.shape()[1], C = qkv.shape()[2] / 3;
  Tensor t = qkv.reshape({B, N, 3, groups, C / groups}).permute({2, 0, 3, 4, 1});
  Tensor q = t.select(0, parts[0]), k = t.select(0, parts[1]), v = t.select(0, parts[2]);
  Tensor o = matmul(softmax(matmul(q, k.transpose(-1, -2)) * scale, -1), v);  // [B, G, Cg, N]
  return o.permute({0, 3, 1, 2}).reshape({B, N, C});
}

TEST_CASE("packed_qkv_channel_attention equals the composed channel attention, and its gradient passes finite differences") {
  for (std::array<int, 3> parts : {std::array<int, 3>{0, 1, 2}, std::array<int, 3>{1, 2, 0}}) {
    CAPTURE(parts[0]);
    Tensor qkv = randn64({2, 7, 3 * 6}, 90 + parts[0], false);  // B 2, N 7, 2 groups of 3 channels
    AttentionOptions o;
    o.scale = 0.4;
    CHECK_CLOSE(packed_qkv_channel_attention(qkv, 2, o, parts), composed_channel_attention(qkv, 2, parts, 0.4), 1e-12,
                1e-12);
    std::vector<Tensor> in{randn64({2, 7, 18}, 92 + parts[0])};
    CHECK_GRADCHECK([o, parts](const std::vector<Tensor>& t) { return packed_qkv_channel_attention(t[0], 2, o, parts); },
                    in, attention_tolerance());
    // a non-contiguous qkv gives the same; the default scale is 1 / sqrt(N)
    Tensor qkv_t = qkv.transpose(0, 1).contiguous().transpose(0, 1);
    CHECK_FALSE(qkv_t.is_contiguous());
    CHECK_CLOSE(packed_qkv_channel_attention(qkv_t, 2, o, parts), packed_qkv_channel_attention(qkv, 2, o, parts), 0, 0);
    CHECK_CLOSE(packed_qkv_channel_attention(qkv, 2, {}, parts),
                composed_channel_attention(qkv, 2, parts, 1.0 / std::sqrt(7.0)), 1e-12, 1e-12);
  }
  // f32 (the blocked GEMM form on AVX2 CPUs) with DaViT's sizes: 196 positions, 4 groups of 16
  // channels; output and the gradient of qkv against f64
  Tensor qkv = randn64({2, 196, 3 * 64}, 94, false), go = randn64({2, 196, 64}, 95, false);
  auto run = [&](DType dt) {
    Tensor x = qkv.to(dt).detach().requires_grad_();
    AttentionOptions o;
    o.scale = 0.25;
    Tensor out = packed_qkv_channel_attention(x, 4, o, {1, 2, 0});
    sum(out * go.to(dt)).backward();
    return std::vector<Tensor>{out.detach(), x.grad()};
  };
  std::vector<Tensor> ref = run(DType::f64), got = run(DType::f32);
  CHECK_CLOSE(ref[0], composed_channel_attention(qkv, 4, {1, 2, 0}, 0.25), 1e-12, 1e-12);
  CHECK_CLOSE(got[0], ref[0], 2e-5, 2e-5);
  CHECK_CLOSE(got[1], ref[1], 2e-5, 2e-5);
  // with dropout it takes the composed path, reproducibly from the seed
  AttentionOptions drop;
  drop.dropout_p = 0.3;
  Generator g1(7), g2(7);
  drop.generator = &g1;
  Tensor a = packed_qkv_channel_attention(qkv, 4, drop);
  Tensor t = qkv.reshape({2, 196, 3, 4, 16}).permute({2, 0, 3, 4, 1});
  drop.generator = &g2;
  Tensor b = scaled_dot_product_attention(t.select(0, 0), t.select(0, 1), t.select(0, 2), drop)
                 .permute({0, 3, 1, 2})
                 .reshape({2, 196, 64});
  CHECK_CLOSE(a, b, 0, 0);
}

TEST_CASE("packed_qkv_channel_attention errors") {
  CHECK_THROWS_WITH_SUBSTR(packed_qkv_channel_attention(zeros({2, 5}), 1), "[B, N, 3 * C]");
  CHECK_THROWS_WITH_SUBSTR(packed_qkv_channel_attention(zeros({2, 5, 12}), 3), "3 * groups * group_width");
  CHECK_THROWS_WITH_SUBSTR(packed_qkv_channel_attention(zeros({2, 5, 12}), 0), "groups must be positive");
  CHECK_THROWS_WITH_SUBSTR(packed_qkv_channel_attention(zeros({2, 5, 12}), 2, {}, {0, 0, 1}), "parts must order");
  CHECK_THROWS_WITH_SUBSTR(packed_qkv_channel_attention(zeros({2, 5, 12}), 2, {}, {0, 1, 3}), "parts must order");
  CHECK_THROWS_WITH_SUBSTR(packed_qkv_channel_attention(arange(24).reshape({1, 2, 12}), 2), "floating");
}

TEST_CASE("head layout: split_heads, merge_heads and split_packed_qkv move the elements where the index says") {
  const int64_t B = 2, N = 3, H = 2, D = 4;
  Tensor x = arange(static_cast<double>(B * N * H * D), DType::f64).reshape({B, N, H * D});
  Tensor s = split_heads(x, H);
  REQUIRE(s.shape() == Shape{B, H, N, D});
  std::vector<double> xs = x.to_vector<double>(), ss = s.contiguous().to_vector<double>();
  bool moved = true;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t n = 0; n < N; ++n)
        for (int64_t d = 0; d < D; ++d)
          moved &= ss[((b * H + h) * N + n) * D + d] == xs[(b * N + n) * H * D + h * D + d];
  CHECK(moved);
  CHECK(merge_heads(s).to_vector<double>() == xs);  // the inverse
  CHECK(s.raw_data() == x.raw_data());              // a view, no copy
  // packed: [B, N, 3 * H * D] -> part p of token n, head h is qkv[b, n, p * H * D + h * D + d]
  Tensor qkv = arange(static_cast<double>(B * N * 3 * H * D), DType::f64).reshape({B, N, 3 * H * D});
  std::array<Tensor, 3> parts = split_packed_qkv(qkv, H);
  for (int p = 0; p < 3; ++p) {
    REQUIRE(parts[p].shape() == Shape{B, H, N, D});
    CHECK_CLOSE(parts[p], split_heads(qkv.slice(2, p * H * D, (p + 1) * H * D), H), 0, 0);
  }
  CHECK_THROWS_WITH_SUBSTR(split_heads(x, 3), "is not divisible by 3 heads");
  CHECK_THROWS_WITH_SUBSTR(split_heads(s, 2), "expects tokens [B, N, H * D]");
  CHECK_THROWS_WITH_SUBSTR(merge_heads(x), "expects heads [B, H, N, D]");
  CHECK_THROWS_WITH_SUBSTR(split_packed_qkv(x, 2), "must be 3 * heads * head_dim");
}
