// Mixed precision (autograd/autocast.h) on the CPU: under AutocastGuard(true) matmul, linear and the
// attention ops must give exactly the maths of f32 on bf16-rounded operands (checked against f64
// references built from the rounded values), in the forward and in the backward (which runs after
// the guard has gone: the node remembers); f64 is never autocast; the flag is scoped; and a ViT
// trains under autocast like in f32 without being the same run. The GPU twins of these kernels are
// in tests/test_cuda_gemm_conv.cpp and tests/test_cuda_attention.cpp.
// Leaves out: speed (on the CPU autocast only emulates the rounding; bench/ measures the GPU).
#include "autograd/autocast.h"
#include "models/vit.h"
#include "nn/optim.h"
#include "tests/helpers.h"

using namespace iris;
using iris::testing::randn64;

namespace {

// The f32 tensor rounded to bf16 and back, as f64: what autocast's products multiply.
Tensor rounded(const Tensor& t) { return t.detach().to(DType::bf16).to(DType::f64); }

// An f32 leaf and its f64 twin holding the same values.
Tensor leaf32(const Shape& shape, uint64_t seed) { return randn64(shape, seed, false).to(DType::f32).requires_grad_(); }

// Largest |a - b| over two tensors.
double max_diff(const Tensor& a, const Tensor& b) {
  return amax(abs(a.detach().to(DType::f64) - b.detach().to(DType::f64))).item();
}

}  // namespace

TEST_CASE("autocast: the guard is scoped and nests") {
  CHECK_FALSE(autocast_enabled());
  {
    AutocastGuard on(true);
    CHECK(autocast_enabled());
    {
      AutocastGuard off(false);
      CHECK_FALSE(autocast_enabled());
    }
    CHECK(autocast_enabled());
  }
  CHECK_FALSE(autocast_enabled());
}

TEST_CASE("autocast: linear is f32 maths on bf16-rounded x and W, forward and backward") {
  // rows 7 (one K block) and 300 (the weight gradient's K is the row count)
  for (int64_t rows : {7, 300}) {
    CAPTURE(rows);
    Tensor x = leaf32({rows, 40}, 1), w = leaf32({24, 40}, 2), b = leaf32({24}, 3);
    Tensor g = randn64({rows, 24}, 4, false);  // the output's gradient (f64 to build references)
    Tensor y;
    {
      AutocastGuard amp(true);
      y = linear(x, w, b);
    }
    CHECK(y.dtype() == DType::f32);
    sum(mul(y, g.to(DType::f32))).backward();  // after the guard: the node ran under autocast

    Tensor want_y = add(matmul(rounded(x), rounded(w).t()), b.detach().to(DType::f64));
    CHECK_CLOSE(y.to(DType::f64), want_y, 1e-5, 1e-5);
    // it did round: plain f32 differs from it by far more than the tolerance above
    CHECK(max_diff(linear(x, w, b), want_y) > 1e-3);

    // gradients: dY (f32 here, exactly g) rounded too, as the backward's products read bf16
    Tensor gr = rounded(g.to(DType::f32));
    CHECK_CLOSE(x.grad().to(DType::f64), matmul(gr, rounded(w)), 1e-5, 1e-5);
    CHECK_CLOSE(w.grad().to(DType::f64), matmul(gr.t(), rounded(x)), 1e-5, 1e-5);
    CHECK_CLOSE(b.grad().to(DType::f64), sum(g, {0}), 1e-4, 1e-5);  // the bias gradient is not rounded
    CHECK(max_diff(x.grad(), matmul(g, w.detach().to(DType::f64))) > 1e-3);
  }
}

TEST_CASE("autocast: matmul (batched, broadcast, transposed) is f32 maths on bf16-rounded operands") {
  struct Case {
    const char* name;
    Shape a, b;
    bool transpose_b;
  };
  for (const Case& c : {Case{"batched @ matrix", {2, 3, 5, 16}, {16, 6}, false},
                        Case{"broadcast batches", {3, 5, 16}, {2, 1, 16, 7}, false},
                        Case{"a @ b^T (strided)", {4, 9, 33}, {4, 11, 33}, true}}) {
    CAPTURE(c.name);
    Tensor a = leaf32(c.a, 10), b = leaf32(c.b, 11);
    Tensor out;
    {
      AutocastGuard amp(true);
      out = matmul(a, c.transpose_b ? b.transpose(-1, -2) : b);
    }
    CHECK(out.dtype() == DType::f32);
    Tensor g = randn64(out.shape(), 12, false);
    sum(mul(out, g.to(DType::f32))).backward();
    Tensor ra = rounded(a).requires_grad_(), rb = rounded(b).requires_grad_();
    Tensor want = matmul(ra, c.transpose_b ? rb.transpose(-1, -2) : rb);
    CHECK_CLOSE(out.to(DType::f64), want, 1e-5, 1e-5);
    // the f64 reference's gradients with the output gradient rounded as the backward rounds it
    sum(mul(want, rounded(g.to(DType::f32)))).backward();
    CHECK_CLOSE(a.grad().to(DType::f64), ra.grad(), 1e-5, 1e-5);
    CHECK_CLOSE(b.grad().to(DType::f64), rb.grad(), 1e-5, 1e-5);
  }
}

TEST_CASE("autocast: f64 and the composed bias add are untouched") {
  Tensor x = randn64({5, 8}, 20), w = randn64({3, 8}, 21), b = randn64({3}, 22);
  Tensor plain = linear(x, w, b);
  AutocastGuard amp(true);
  CHECK(linear(x, w, b).dtype() == DType::f64);
  CHECK_CLOSE(linear(x, w, b), plain, 0.0, 0.0);
  CHECK_CLOSE(matmul(x, w.t()), matmul(x.detach(), w.detach().t()), 0.0, 0.0);
}

TEST_CASE("autocast: fused attention reads bf16-rounded q, k, v and returns f32, forward and backward") {
  // [B, H, N, E] heads as separate tensors, then the packed forms from one qkv projection
  Tensor q = leaf32({2, 3, 9, 8}, 30), k = leaf32({2, 3, 11, 8}, 31), v = leaf32({2, 3, 11, 8}, 32);
  Tensor out;
  {
    AutocastGuard amp(true);
    out = scaled_dot_product_attention(q, k, v);
  }
  CHECK(out.dtype() == DType::f32);
  Tensor g = randn64(out.shape(), 33, false);
  sum(mul(out, g.to(DType::f32))).backward();
  Tensor rq = rounded(q).requires_grad_(), rk = rounded(k).requires_grad_(), rv = rounded(v).requires_grad_();
  Tensor want = scaled_dot_product_attention(rq, rk, rv);
  CHECK_CLOSE(out.to(DType::f64), want, 1e-5, 1e-5);
  CHECK(max_diff(scaled_dot_product_attention(q, k, v), want) > 1e-4);
  // the fused backward takes dO in f32 (not rounded): the f64 reference's gradients with g itself
  sum(mul(want, g)).backward();
  CHECK_CLOSE(q.grad().to(DType::f64), rq.grad(), 1e-4, 1e-4);
  CHECK_CLOSE(k.grad().to(DType::f64), rk.grad(), 1e-4, 1e-4);
  CHECK_CLOSE(v.grad().to(DType::f64), rv.grad(), 1e-4, 1e-4);
}

TEST_CASE("autocast: packed qkv attention and channel attention read bf16-rounded qkv") {
  for (bool channel : {false, true}) {
    CAPTURE(channel);
    Tensor qkv = leaf32({2, 10, 3 * 12}, 40);
    auto op = [&](const Tensor& t) {
      return channel ? packed_qkv_channel_attention(t, 3, {}, {1, 2, 0}) : packed_qkv_attention(t, 3);
    };
    Tensor out;
    {
      AutocastGuard amp(true);
      out = op(qkv);
    }
    CHECK(out.dtype() == DType::f32);
    Tensor g = randn64(out.shape(), 41, false);
    sum(mul(out, g.to(DType::f32))).backward();
    Tensor rqkv = rounded(qkv).requires_grad_();
    Tensor want = op(rqkv);  // f64: never autocast, the composed or row-loop form
    CHECK_CLOSE(out.to(DType::f64), want, 1e-5, 1e-5);
    sum(mul(want, g)).backward();
    CHECK_CLOSE(qkv.grad().to(DType::f64), rqkv.grad(), 1e-4, 1e-4);
  }
}

TEST_CASE("autocast: a ViT trains like in f32, but not identically") {
  models::VitConfig cfg = models::VitConfig::named("vit-fmnist");
  cfg.depth = 2;
  Generator data_rng(5);
  Tensor x = rand({16, 1, 28, 28}, DType::f32, &data_rng), y = randint(0, 10, {16}, DType::i64, &data_rng);
  auto run = [&](bool amp) {
    manual_seed(3);
    models::VisionTransformer model(cfg);
    nn::AdamW opt(nn::decay_groups(model, 2e-3, 0.05));
    std::vector<double> losses;
    AutocastGuard guard(amp);
    for (int s = 0; s < 20; ++s) {
      opt.zero_grad();
      Tensor loss = cross_entropy(model.forward(x), y);
      loss.backward();
      opt.step();
      losses.push_back(loss.item());
    }
    return losses;
  };
  std::vector<double> f32 = run(false), bf16 = run(true);
  CHECK(f32.back() < f32.front() - 0.2);  // both learn this batch (random labels: slowly)
  CHECK(bf16.back() < bf16.front() - 0.2);
  bool differ = false;
  for (size_t s = 0; s < f32.size(); ++s) {
    CAPTURE(s);
    // bf16 operands (8 significant bits) moved these losses by 1e-4 at first, 3e-3 by step 20
    CHECK(bf16[s] == doctest::Approx(f32[s]).epsilon(0.01));
    differ = differ || bf16[s] != f32[s];
  }
  CHECK(differ);  // autocast really changed the products
}
