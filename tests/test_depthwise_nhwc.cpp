// depthwise_conv2d_nhwc: forward against a naive channels-last loop (3x3, 1x1, 3x5, odd sizes,
// C = 1 and 37, batches, no bias), equality with the permute + conv2d + permute composition (values
// and gradients, f64 and f32), finite-difference gradients, non-contiguous inputs, an empty batch,
// gradients that do not depend on the thread count, and the error paths.
// Leaves out speed (bench/) and the fallback composition on backends without the kernel (CUDA).
#include "tests/helpers.h"

using namespace iris;
using iris::testing::noncontiguous;
using iris::testing::randn64;

namespace {

struct DwCase {
  int64_t B, H, W, C, kh, kw, ph, pw;
};

// out [B, Ho, Wo, C]: out[b, oh, ow, c] = bias[c] + sum over (ki, kj) inside the image of
// w[c, 0, ki, kj] * x[b, oh - ph + ki, ow - pw + kj, c].
std::vector<double> depthwise_reference(const std::vector<double>& x, const std::vector<double>& w,
                                        const std::vector<double>& bias, const DwCase& d) {
  const int64_t Ho = d.H + 2 * d.ph - d.kh + 1, Wo = d.W + 2 * d.pw - d.kw + 1;
  std::vector<double> out(d.B * Ho * Wo * d.C, 0.0);
  for (int64_t b = 0; b < d.B; ++b)
    for (int64_t oh = 0; oh < Ho; ++oh)
      for (int64_t ow = 0; ow < Wo; ++ow)
        for (int64_t c = 0; c < d.C; ++c) {
          double acc = bias.empty() ? 0.0 : bias[c];
          for (int64_t ki = 0; ki < d.kh; ++ki)
            for (int64_t kj = 0; kj < d.kw; ++kj) {
              const int64_t ih = oh - d.ph + ki, iw = ow - d.pw + kj;
              if (ih < 0 || ih >= d.H || iw < 0 || iw >= d.W) continue;
              acc += w[(c * d.kh + ki) * d.kw + kj] * x[((b * d.H + ih) * d.W + iw) * d.C + c];
            }
          out[((b * Ho + oh) * Wo + ow) * d.C + c] = acc;
        }
  return out;
}

const std::vector<DwCase>& cases() {
  static const std::vector<DwCase> all = {
      {2, 5, 7, 4, 3, 3, 1, 1},   // DaViT's 3x3, padding 1, odd W
      {1, 4, 3, 6, 1, 1, 0, 0},   // 1x1
      {2, 5, 6, 37, 3, 5, 1, 2},  // 3x5 kernel, padding (1, 2), C = 37
      {1, 3, 5, 1, 3, 3, 1, 1},   // C = 1
      {2, 7, 5, 37, 3, 3, 0, 0},  // no padding, output smaller than the input
      {1, 2, 3, 3, 3, 3, 2, 1},   // padding larger than half the kernel: taps fall fully outside
      {2, 1, 4, 5, 3, 3, 1, 1},   // H = 1
      {1, 3, 4, 2, 3, 4, 0, 0},   // the kernel covers the whole width: Wo = 1
  };
  return all;
}

Tensor composed(const Tensor& x, const Tensor& w, const Tensor& b, Size2 padding) {
  return conv2d(x.permute({0, 3, 1, 2}), w, b, 1, padding, 1, x.shape()[3]).permute({0, 2, 3, 1});
}

// The gradients of sum(f(x, w, b) * r) for a fixed r, as {grad x, grad w, grad b}.
std::vector<Tensor> grads_of(const std::function<Tensor(const Tensor&, const Tensor&, const Tensor&)>& f,
                             const Tensor& x, const Tensor& w, const Tensor& b, uint64_t seed) {
  Tensor xl = x.detach().clone().requires_grad_(), wl = w.detach().clone().requires_grad_();
  Tensor bl = b.detach().clone().requires_grad_();
  Tensor y = f(xl, wl, bl);
  Tensor r = randn64(y.shape(), seed, false).to(y.dtype());
  sum(y * r).backward();
  return {xl.grad(), wl.grad(), bl.grad()};
}

}  // namespace

TEST_CASE("depthwise_conv2d_nhwc matches the naive loop and the permute + conv2d composition") {
  uint64_t seed = 10;
  for (const DwCase& d : cases()) {
    CAPTURE(d.C);
    CAPTURE(d.kh);
    CAPTURE(d.kw);
    CAPTURE(d.ph);
    const int64_t Ho = d.H + 2 * d.ph - d.kh + 1, Wo = d.W + 2 * d.pw - d.kw + 1;
    Tensor x = randn64({d.B, d.H, d.W, d.C}, seed, false);
    Tensor w = randn64({d.C, 1, d.kh, d.kw}, seed + 1, false);
    Tensor b = randn64({d.C}, seed + 2, false);
    const Size2 pad{d.ph, d.pw};
    for (bool with_bias : {true, false}) {
      CAPTURE(with_bias);
      Tensor bias = with_bias ? b : Tensor();
      std::vector<double> ref = depthwise_reference(x.to_vector<double>(), w.to_vector<double>(),
                                                    with_bias ? b.to_vector<double>() : std::vector<double>(), d);
      Tensor y = depthwise_conv2d_nhwc(x, w, bias, pad);
      CHECK(y.dtype() == DType::f64);
      CHECK_CLOSE(y, from_vector<double>(ref, {d.B, Ho, Wo, d.C}), 1e-12, 1e-12);
      CHECK_CLOSE(y, composed(x, w, bias, pad), 1e-12, 1e-12);
      Tensor bias32 = with_bias ? b.to(DType::f32) : Tensor();
      Tensor y32 = depthwise_conv2d_nhwc(x.to(DType::f32), w.to(DType::f32), bias32, pad);
      CHECK(y32.dtype() == DType::f32);
      CHECK_CLOSE(y32, composed(x.to(DType::f32), w.to(DType::f32), bias32, pad), 1e-5, 1e-5);
      CHECK_CLOSE(y32, y, 1e-5, 1e-5);
    }
    seed += 7;
  }
}

TEST_CASE("depthwise_conv2d_nhwc gradients by finite differences") {
  GradcheckOptions opts;
  opts.max_elements = 40;
  uint64_t seed = 100;
  for (const DwCase& d : {DwCase{2, 4, 5, 3, 3, 3, 1, 1}, DwCase{1, 3, 4, 2, 3, 5, 1, 2}, DwCase{1, 3, 3, 2, 1, 1, 0, 0},
                          DwCase{1, 2, 3, 2, 3, 3, 2, 1}}) {
    CAPTURE(d.kh);
    CAPTURE(d.kw);
    Tensor x = randn64({d.B, d.H, d.W, d.C}, seed);
    Tensor w = randn64({d.C, 1, d.kh, d.kw}, seed + 1);
    Tensor b = randn64({d.C}, seed + 2);
    const Size2 pad{d.ph, d.pw};
    CHECK_GRADCHECK([pad](const std::vector<Tensor>& in) { return depthwise_conv2d_nhwc(in[0], in[1], in[2], pad); },
                    (std::vector<Tensor>{x, w, b}), opts);
    seed += 5;
  }
}

TEST_CASE("depthwise_conv2d_nhwc gradient of one input at a time") {
  // Only x wants a gradient (the kernel then never reads x), only w, only the bias.
  Tensor x = randn64({2, 4, 3, 3}, 31), w = randn64({3, 1, 3, 3}, 32), b = randn64({3}, 33);
  Tensor xc = x.detach(), wc = w.detach(), bc = b.detach();
  CHECK_GRADCHECK([wc, bc](const std::vector<Tensor>& in) { return depthwise_conv2d_nhwc(in[0], wc, bc, 1); },
                  (std::vector<Tensor>{x}), GradcheckOptions{});
  CHECK_GRADCHECK([xc, bc](const std::vector<Tensor>& in) { return depthwise_conv2d_nhwc(xc, in[0], bc, 1); },
                  (std::vector<Tensor>{w}), GradcheckOptions{});
  CHECK_GRADCHECK([xc, wc](const std::vector<Tensor>& in) { return depthwise_conv2d_nhwc(xc, wc, in[0], 1); },
                  (std::vector<Tensor>{b}), GradcheckOptions{});
  // Nothing requires grad: no graph.
  CHECK(!depthwise_conv2d_nhwc(xc, wc, bc, 1).requires_grad());
}

TEST_CASE("depthwise_conv2d_nhwc gradients equal the composition's, in f64 and f32") {
  uint64_t seed = 200;
  auto fused = [](Size2 p) {
    return [p](const Tensor& x, const Tensor& w, const Tensor& b) { return depthwise_conv2d_nhwc(x, w, b, p); };
  };
  auto composition = [](Size2 p) {
    return [p](const Tensor& x, const Tensor& w, const Tensor& b) { return composed(x, w, b, p); };
  };
  for (const DwCase& d : {DwCase{2, 5, 7, 4, 3, 3, 1, 1}, DwCase{2, 5, 6, 37, 3, 5, 1, 2}, DwCase{1, 3, 5, 1, 3, 3, 1, 1}}) {
    CAPTURE(d.C);
    const Size2 pad{d.ph, d.pw};
    Tensor x = randn64({d.B, d.H, d.W, d.C}, seed, false);
    Tensor w = randn64({d.C, 1, d.kh, d.kw}, seed + 1, false);
    Tensor b = randn64({d.C}, seed + 2, false);
    std::vector<Tensor> g64 = grads_of(fused(pad), x, w, b, seed + 3);
    std::vector<Tensor> ref = grads_of(composition(pad), x, w, b, seed + 3);
    std::vector<Tensor> g32 =
        grads_of(fused(pad), x.to(DType::f32), w.to(DType::f32), b.to(DType::f32), seed + 3);
    for (int i = 0; i < 3; ++i) {
      CAPTURE(i);
      CHECK_CLOSE(g64[i], ref[i], 1e-12, 1e-12);
      CHECK(g32[i].dtype() == DType::f32);
      CHECK_CLOSE(g32[i], g64[i], 1e-4, 1e-4);
    }
    seed += 11;
  }
}

TEST_CASE("depthwise_conv2d_nhwc on non-contiguous inputs") {
  const DwCase d{2, 5, 4, 6, 3, 3, 1, 1};
  Tensor x = randn64({d.B, d.H, d.W, d.C}, 41, false);
  Tensor w = randn64({d.C, 1, 3, 3}, 42, false);
  Tensor b = randn64({d.C}, 43, false);
  Tensor expected = depthwise_conv2d_nhwc(x, w, b, 1);

  // Strided leaves (last dim with stride 2), with gradients.
  Tensor xs = noncontiguous(x).requires_grad_(), ws = noncontiguous(w).requires_grad_();
  Tensor bs = noncontiguous(b).requires_grad_();
  CHECK(!xs.is_contiguous());
  CHECK_CLOSE(depthwise_conv2d_nhwc(xs, ws, bs, 1), expected, 1e-12, 0);
  CHECK_GRADCHECK([](const std::vector<Tensor>& in) { return depthwise_conv2d_nhwc(in[0], in[1], in[2], 1); },
                  (std::vector<Tensor>{xs, ws, bs}), GradcheckOptions{});

  // An NCHW buffer seen as NHWC through permute; the gradient flows back to the NCHW leaf.
  Tensor nchw = x.permute({0, 3, 1, 2}).contiguous().requires_grad_();
  Tensor xp = nchw.permute({0, 2, 3, 1});
  CHECK(!xp.is_contiguous());
  Tensor y = depthwise_conv2d_nhwc(xp, w, b, 1);
  CHECK_CLOSE(y, expected, 1e-12, 0);
  Tensor r = randn64(y.shape(), 44, false);
  sum(y * r).backward();
  std::vector<Tensor> ref = grads_of(
      [](const Tensor& a, const Tensor& k, const Tensor& c) { return depthwise_conv2d_nhwc(a, k, c, 1); }, x, w, b, 44);
  CHECK_CLOSE(nchw.grad(), ref[0].permute({0, 3, 1, 2}), 1e-12, 0);
}

TEST_CASE("depthwise_conv2d_nhwc with an empty batch") {
  Tensor x = zeros({0, 4, 5, 3}, DType::f64).requires_grad_();
  Tensor w = randn64({3, 1, 3, 3}, 51), b = randn64({3}, 52);
  Tensor y = depthwise_conv2d_nhwc(x, w, b, 1);
  CHECK(y.shape() == Shape({0, 4, 5, 3}));
  sum(y).backward();
  CHECK(x.grad().shape() == Shape({0, 4, 5, 3}));
  CHECK_CLOSE(w.grad(), zeros({3, 1, 3, 3}, DType::f64), 0, 0);
  CHECK_CLOSE(b.grad(), zeros({3}, DType::f64), 0, 0);
}

TEST_CASE("depthwise_conv2d_nhwc weight and bias gradients do not depend on the thread count") {
  // Large enough for several row chunks and for the kernels to use more than one thread.
  Generator gen(61);
  Tensor x = randn({2, 16, 16, 64}, DType::f32, &gen), w = randn({64, 1, 3, 3}, DType::f32, &gen);
  Tensor b = randn({64}, DType::f32, &gen), r = randn({2, 16, 16, 64}, DType::f32, &gen);
  auto run = [&](int threads) {
    set_num_threads(threads);
    return grads_of([](const Tensor& a, const Tensor& k, const Tensor& c) { return depthwise_conv2d_nhwc(a, k, c, 1); },
                    x, w, b, 62);
  };
  const int before = num_threads();
  std::vector<Tensor> one = run(1), four = run(4);
  set_num_threads(before);
  for (int i = 0; i < 3; ++i) {
    CAPTURE(i);
    CHECK(one[i].to_vector<float>() == four[i].to_vector<float>());  // bitwise
  }
}

TEST_CASE("depthwise_conv2d_nhwc errors") {
  Tensor x = randn64({2, 5, 5, 4}, 3, false), w = randn64({4, 1, 3, 3}, 4, false), b = randn64({4}, 5, false);
  CHECK_THROWS_WITH_SUBSTR(depthwise_conv2d_nhwc(Tensor(), w), "input or weight is undefined");
  CHECK_THROWS_WITH_SUBSTR(depthwise_conv2d_nhwc(x, Tensor()), "input or weight is undefined");
  CHECK_THROWS_WITH_SUBSTR(depthwise_conv2d_nhwc(randn64({5, 5, 4}, 3, false), w), "input must have 4 dims");
  CHECK_THROWS_WITH_SUBSTR(depthwise_conv2d_nhwc(x, randn64({4, 3, 3}, 3, false)), "weight must have 4 dims");
  CHECK_THROWS_WITH_SUBSTR(depthwise_conv2d_nhwc(x, randn64({5, 1, 3, 3}, 3, false)), "it must be [4, 1, kh, kw]");
  CHECK_THROWS_WITH_SUBSTR(depthwise_conv2d_nhwc(x, randn64({4, 2, 3, 3}, 3, false)), "weight of shape [4, 2, 3, 3]");
  CHECK_THROWS_WITH_SUBSTR(depthwise_conv2d_nhwc(x, zeros({4, 1, 0, 3}, DType::f64)), "it must be [4, 1, kh, kw]");
  CHECK_THROWS_WITH_SUBSTR(depthwise_conv2d_nhwc(x, w, randn64({5}, 3, false)), "bias of shape [5] does not match the 4");
  CHECK_THROWS_WITH_SUBSTR(depthwise_conv2d_nhwc(x, w, randn64({4, 1}, 3, false)), "bias of shape [4, 1]");
  CHECK_THROWS_WITH_SUBSTR(depthwise_conv2d_nhwc(x, w.to(DType::f32)), "input is f64 but weight is f32");
  CHECK_THROWS_WITH_SUBSTR(depthwise_conv2d_nhwc(x, w, b.to(DType::f32)), "input is f64 but bias is f32");
  CHECK_THROWS_WITH_SUBSTR(depthwise_conv2d_nhwc(x.to(DType::i64), w.to(DType::i64)), "needs a floating tensor");
  CHECK_THROWS_WITH_SUBSTR(depthwise_conv2d_nhwc(x, w, b, -1), "padding must be non-negative");
  CHECK_THROWS_WITH_SUBSTR(depthwise_conv2d_nhwc(x, w, b, {0, -2}), "padding must be non-negative");
  CHECK_THROWS_WITH_SUBSTR(depthwise_conv2d_nhwc(x, w, b, int64_t(1) << 40), "below 2^30");
  CHECK_THROWS_WITH_SUBSTR(depthwise_conv2d_nhwc(x, randn64({4, 1, 7, 3}, 3, false)),
                           "kernel is larger than the padded input (5x5)");
  CHECK_THROWS_WITH_SUBSTR(depthwise_conv2d_nhwc(randn64({1, 2, 2, 4}, 3, false), w), "larger than the padded input");
  // A host buffer labelled as GPU memory: the device check reads only the label, so no GPU is needed.
  std::vector<double> host(36, 0.0);
  Tensor w_elsewhere = from_blob(host.data(), {4, 1, 3, 3}, DType::f64, Device::cuda());
  CHECK_THROWS_WITH_SUBSTR(depthwise_conv2d_nhwc(x, w_elsewhere), "different devices");
}
