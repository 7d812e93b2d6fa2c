// max_pool2d, avg_pool2d, adaptive_avg_pool2d: forward against naive loops (stride, padding,
// dilation, ceil_mode, count_include_pad), output sizes and values checked against PyTorch,
// gradients by finite differences, ties, non-contiguous and unbatched inputs, f32, error paths.
// Leaves out speed (bench/) and the GPU twin comparison.
#include <limits>

#include "tests/helpers.h"

using namespace iris;
using iris::testing::noncontiguous;
using iris::testing::randn64;

namespace {

struct PoolCase {
  int64_t N, C, H, W;
  Size2 kernel, stride, padding, dilation;
  bool ceil_mode;
};

int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

int64_t pool_out(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d, bool ceil_mode) {
  int64_t out = floor_div(in + 2 * p - d * (k - 1) - 1 + (ceil_mode ? s - 1 : 0), s) + 1;
  if (ceil_mode && (out - 1) * s >= in + p) --out;
  return out;
}

// max over each window (padding never wins), or the average with PyTorch's two divisors.
std::vector<double> pool_reference(const std::vector<double>& x, const PoolCase& c, bool is_max,
                                   bool count_include_pad, int64_t& Ho, int64_t& Wo) {
  const int64_t sh = c.stride.h ? c.stride.h : c.kernel.h, sw = c.stride.w ? c.stride.w : c.kernel.w;
  Ho = pool_out(c.H, c.kernel.h, sh, c.padding.h, c.dilation.h, c.ceil_mode);
  Wo = pool_out(c.W, c.kernel.w, sw, c.padding.w, c.dilation.w, c.ceil_mode);
  std::vector<double> out;
  for (int64_t p = 0; p < c.N * c.C; ++p)
    for (int64_t oh = 0; oh < Ho; ++oh)
      for (int64_t ow = 0; ow < Wo; ++ow) {
        double best = -INFINITY, total = 0;
        int64_t valid = 0;
        for (int64_t ki = 0; ki < c.kernel.h; ++ki)
          for (int64_t kj = 0; kj < c.kernel.w; ++kj) {
            int64_t ih = oh * sh - c.padding.h + ki * c.dilation.h, iw = ow * sw - c.padding.w + kj * c.dilation.w;
            if (ih < 0 || ih >= c.H || iw < 0 || iw >= c.W) continue;
            double v = x[(p * c.H + ih) * c.W + iw];
            best = std::max(best, v);
            total += v;
            ++valid;
          }
        if (is_max) {
          out.push_back(best);
        } else {
          // With count_include_pad the divisor is the window clipped to the padded input.
          int64_t h0 = oh * sh - c.padding.h, w0 = ow * sw - c.padding.w;
          int64_t h1 = std::min(h0 + c.kernel.h, c.H + c.padding.h), w1 = std::min(w0 + c.kernel.w, c.W + c.padding.w);
          out.push_back(total / double(count_include_pad ? (h1 - h0) * (w1 - w0) : valid));
        }
      }
  return out;
}

const std::vector<PoolCase>& pool_cases() {
  static const std::vector<PoolCase> cases = {
      {2, 3, 6, 6, 2, 0, 0, 1, false},                      // stride defaults to the kernel
      {1, 2, 7, 5, 3, 2, 1, 1, false},
      {1, 2, 7, 5, 3, 2, 1, 1, true},                       // ceil_mode adds a partial window
      {2, 1, 5, 8, {2, 3}, {1, 2}, {1, 0}, 1, true},
      {1, 2, 9, 7, 3, {2, 3}, 1, {2, 1}, false},            // dilation
      {1, 1, 8, 8, 2, 3, 1, 1, true},                       // ceil_mode window dropped (starts in the right pad)
      {2, 2, 1, 5, {1, 2}, 0, 0, 1, true},                  // H = 1
      {1, 3, 4, 4, 4, 0, 2, 1, false},                      // padding = kernel / 2
  };
  return cases;
}

}  // namespace

TEST_CASE("pool output sizes follow PyTorch, ceil_mode included") {
  // torch: F.max_pool2d(torch.zeros(1, 1, H, H), k, s, p, d, ceil_mode=c).shape[-1] for c in (False, True)
  struct Row {
    int64_t H, k, s, p, d, floor_out, ceil_out;
  };
  const std::vector<Row> rows = {{5, 2, 2, 0, 1, 2, 3}, {5, 3, 2, 1, 1, 3, 3}, {6, 3, 2, 1, 1, 3, 4},
                                 {7, 3, 3, 1, 1, 3, 3}, {4, 3, 2, 1, 2, 1, 2}, {8, 2, 3, 1, 1, 3, 3},
                                 {6, 4, 4, 2, 1, 2, 2}};
  for (const Row& r : rows) {
    CAPTURE(r.H);
    CAPTURE(r.k);
    CAPTURE(r.s);
    Tensor x = zeros({1, 1, r.H, r.H}, DType::f64);
    CHECK(max_pool2d(x, r.k, r.s, r.p, r.d, false).shape() == Shape{1, 1, r.floor_out, r.floor_out});
    CHECK(max_pool2d(x, r.k, r.s, r.p, r.d, true).shape() == Shape{1, 1, r.ceil_out, r.ceil_out});
    if (r.d == 1) CHECK(avg_pool2d(x, r.k, r.s, r.p, true).shape() == Shape{1, 1, r.ceil_out, r.ceil_out});
  }
}

TEST_CASE("max_pool2d and avg_pool2d match naive loops") {
  uint64_t seed = 1;
  for (const PoolCase& c : pool_cases()) {
    CAPTURE(c.H);
    CAPTURE(c.kernel.h);
    CAPTURE(c.ceil_mode);
    Tensor x = randn64({c.N, c.C, c.H, c.W}, seed++, false);
    std::vector<double> xv = x.to_vector<double>();
    int64_t Ho, Wo;
    std::vector<double> ref = pool_reference(xv, c, true, false, Ho, Wo);
    Tensor y = max_pool2d(x, c.kernel, c.stride, c.padding, c.dilation, c.ceil_mode);
    CHECK_CLOSE(y, from_vector<double>(ref, {c.N, c.C, Ho, Wo}), 0, 0);
    CHECK_CLOSE(max_pool2d(x.to(DType::f32), c.kernel, c.stride, c.padding, c.dilation, c.ceil_mode),
                from_vector<double>(ref, {c.N, c.C, Ho, Wo}), 1e-6, 1e-6);
    if (c.dilation.h != 1 || c.dilation.w != 1) continue;
    for (bool include_pad : {true, false}) {
      CAPTURE(include_pad);
      ref = pool_reference(xv, c, false, include_pad, Ho, Wo);
      y = avg_pool2d(x, c.kernel, c.stride, c.padding, c.ceil_mode, include_pad);
      CHECK_CLOSE(y, from_vector<double>(ref, {c.N, c.C, Ho, Wo}), 1e-12, 1e-12);
      CHECK_CLOSE(avg_pool2d(x.to(DType::f32), c.kernel, c.stride, c.padding, c.ceil_mode, include_pad),
                  from_vector<double>(ref, {c.N, c.C, Ho, Wo}), 1e-5, 1e-5);
    }
  }
}

TEST_CASE("avg_pool2d divisors agree with PyTorch in ceil_mode") {
  // x = torch.arange(25.).reshape(1, 1, 5, 5)
  // F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=True / False)
  Tensor x = arange(25, DType::f64).reshape({1, 1, 5, 5});
  CHECK_CLOSE(avg_pool2d(x, 3, 2, 1, true, true),
              from_vector<double>({4.0 / 3, 3, 8.0 / 3, 7, 12, 9, 8, 13, 28.0 / 3}, {1, 1, 3, 3}), 1e-12, 0);
  CHECK_CLOSE(avg_pool2d(x, 3, 2, 1, true, false),
              from_vector<double>({3, 4.5, 6, 10.5, 12, 13.5, 18, 19.5, 21}, {1, 1, 3, 3}), 1e-12, 0);
  // x = torch.arange(30.).reshape(1, 1, 5, 6)
  // F.avg_pool2d(x, (2, 3), (2, 2), (1, 1), ceil_mode=True, count_include_pad=True)
  Tensor x2 = arange(30, DType::f64).reshape({1, 1, 5, 6});
  CHECK_CLOSE(avg_pool2d(x2, {2, 3}, {2, 2}, {1, 1}, true, true),
              from_vector<double>({1.0 / 6, 1, 2, 1.25, 19.0 / 3, 11, 13, 7, 43.0 / 3, 23, 25, 13}, {1, 1, 3, 4}),
              1e-12, 0);
}

TEST_CASE("pool gradients") {
  GradcheckOptions opts;
  opts.max_elements = 60;
  uint64_t seed = 50;
  for (const PoolCase& c : pool_cases()) {
    CAPTURE(c.H);
    CAPTURE(c.kernel.h);
    Tensor x = randn64({c.N, c.C, c.H, c.W}, seed++);
    CHECK_GRADCHECK([c](const std::vector<Tensor>& in) {
      return max_pool2d(in[0], c.kernel, c.stride, c.padding, c.dilation, c.ceil_mode);
    }, (std::vector<Tensor>{x}), opts);
    if (c.dilation.h != 1 || c.dilation.w != 1) continue;
    for (bool include_pad : {true, false})
      CHECK_GRADCHECK([c, include_pad](const std::vector<Tensor>& in) {
        return avg_pool2d(in[0], c.kernel, c.stride, c.padding, c.ceil_mode, include_pad);
      }, (std::vector<Tensor>{x}), opts);
  }
}

TEST_CASE("max_pool2d: ties send the gradient to the first maximum; overlapping windows add up") {
  // Window [[1, 5], [5, 2]]: the 5 at (0, 1) comes first in row-major order.
  Tensor x = from_vector<double>({1, 5, 5, 2}, {1, 1, 2, 2}, DType::f64).requires_grad_();
  max_pool2d(x, 2).backward(ones({1, 1, 1, 1}, DType::f64));
  CHECK(x.grad().to_vector<double>() == std::vector<double>{0, 1, 0, 0});

  // Stride 1: the centre 9 is the max of all four 2x2 windows.
  Tensor y = from_vector<double>({1, 2, 3, 4, 9, 5, 6, 7, 8}, {1, 1, 3, 3}, DType::f64).requires_grad_();
  max_pool2d(y, 2, 1).backward(from_vector<double>({1, 2, 3, 4}, {1, 1, 2, 2}, DType::f64));
  CHECK(y.grad().to_vector<double>() == std::vector<double>{0, 0, 0, 0, 10, 0, 0, 0, 0});

  // -inf everywhere still picks a real element (the first), never the padding.
  Tensor z = full({1, 1, 3, 3}, -INFINITY, DType::f64).requires_grad_();
  Tensor mz = max_pool2d(z, 3, 1, 1);
  CHECK(std::isinf(mz.to_vector<double>()[0]));
  sum(mz).backward();
  double total = 0;
  for (double v : z.grad().to_vector<double>()) total += v;
  CHECK(total == 9.0);

  // NaN propagates.
  Tensor n = from_vector<double>({1, NAN, 3, 4}, {1, 1, 1, 4}, DType::f64);
  CHECK(std::isnan(max_pool2d(n, {1, 4}).item()));

  // A dilated window that lands only on padding (2x2 input, kernel 2, padding 1, dilation 3)
  // gives -inf and no gradient, instead of reading out of bounds.
  Tensor w = randn64({1, 1, 2, 2}, 3);
  Tensor mw = max_pool2d(w, 2, 0, 1, 3);
  CHECK(mw.shape() == Shape{1, 1, 1, 1});
  CHECK(mw.item() == -INFINITY);
  sum(mw).backward();
  CHECK_CLOSE(w.grad(), zeros({1, 1, 2, 2}, DType::f64), 0, 0);
}

TEST_CASE("adaptive_avg_pool2d matches PyTorch's windows") {
  // Windows [floor(i*H/Ho), ceil((i+1)*H/Ho)), overlapping when H is not a multiple of Ho.
  auto reference = [](const std::vector<double>& x, int64_t P, int64_t H, int64_t W, int64_t Ho, int64_t Wo) {
    std::vector<double> out;
    for (int64_t p = 0; p < P; ++p)
      for (int64_t oh = 0; oh < Ho; ++oh)
        for (int64_t ow = 0; ow < Wo; ++ow) {
          int64_t h0 = oh * H / Ho, h1 = ((oh + 1) * H + Ho - 1) / Ho;
          int64_t w0 = ow * W / Wo, w1 = ((ow + 1) * W + Wo - 1) / Wo;
          double s = 0;
          for (int64_t i = h0; i < h1; ++i)
            for (int64_t j = w0; j < w1; ++j) s += x[(p * H + i) * W + j];
          out.push_back(s / double((h1 - h0) * (w1 - w0)));
        }
    return out;
  };
  struct Case {
    int64_t H, W, Ho, Wo;
  };
  uint64_t seed = 70;
  for (Case c : std::vector<Case>{{7, 5, 3, 2}, {4, 4, 1, 1}, {5, 6, 5, 6}, {3, 2, 5, 4}, {9, 1, 4, 1}}) {
    CAPTURE(c.H);
    CAPTURE(c.Ho);
    Tensor x = randn64({2, 3, c.H, c.W}, seed++);
    Tensor y = adaptive_avg_pool2d(x, {c.Ho, c.Wo});
    CHECK_CLOSE(y, from_vector<double>(reference(x.to_vector<double>(), 6, c.H, c.W, c.Ho, c.Wo), {2, 3, c.Ho, c.Wo}),
                1e-12, 1e-12);
    CHECK_CLOSE(adaptive_avg_pool2d(x.to(DType::f32), {c.Ho, c.Wo}), y, 1e-5, 1e-5);
    CHECK_GRADCHECK([c](const std::vector<Tensor>& in) { return adaptive_avg_pool2d(in[0], {c.Ho, c.Wo}); },
                    (std::vector<Tensor>{x}), GradcheckOptions{});
  }
  // torch: F.adaptive_avg_pool2d(torch.arange(10.).reshape(1, 1, 2, 5), (1, 3))
  //   -> tensor([[[[3.0000, 4.5000, 6.0000]]]])
  CHECK_CLOSE(adaptive_avg_pool2d(arange(10, DType::f64).reshape({1, 1, 2, 5}), {1, 3}),
              from_vector<double>({3.0, 4.5, 6.0}, {1, 1, 1, 3}), 1e-12, 0);
}

TEST_CASE("pools on non-contiguous, unbatched and empty-batch inputs") {
  Tensor x = randn64({2, 3, 6, 5}, 90, false);
  Tensor xs = noncontiguous(x).requires_grad_();
  Tensor xp = x.permute({0, 2, 3, 1}).contiguous().permute({0, 3, 1, 2});
  CHECK(!xp.is_contiguous());
  for (const Tensor& v : {xs, xp}) {
    CHECK_CLOSE(max_pool2d(v, 3, 2, 1), max_pool2d(x, 3, 2, 1), 0, 0);
    CHECK_CLOSE(avg_pool2d(v, 2, 1, 1, true, false), avg_pool2d(x, 2, 1, 1, true, false), 1e-12, 0);
    CHECK_CLOSE(adaptive_avg_pool2d(v, {2, 3}), adaptive_avg_pool2d(x, {2, 3}), 1e-12, 0);
  }
  CHECK_GRADCHECK([](const std::vector<Tensor>& in) { return max_pool2d(in[0], 3, 2, 1); },
                  (std::vector<Tensor>{xs}), GradcheckOptions{});
  CHECK_GRADCHECK([](const std::vector<Tensor>& in) { return avg_pool2d(in[0], 3, 2, 1); },
                  (std::vector<Tensor>{xs}), GradcheckOptions{});

  Tensor x3 = x[0].detach().requires_grad_();  // [C, H, W]
  CHECK(max_pool2d(x3, 2).shape() == Shape{3, 3, 2});
  CHECK_CLOSE(max_pool2d(x3, 2), max_pool2d(x, 2)[0], 0, 0);
  CHECK_CLOSE(avg_pool2d(x3, 3, 1, 1), avg_pool2d(x, 3, 1, 1)[0], 1e-12, 0);
  CHECK_CLOSE(adaptive_avg_pool2d(x3, 1), adaptive_avg_pool2d(x, 1)[0], 1e-12, 0);
  CHECK_GRADCHECK([](const std::vector<Tensor>& in) { return avg_pool2d(in[0], 3, 1, 1); },
                  (std::vector<Tensor>{x3}), GradcheckOptions{});
  CHECK_GRADCHECK([](const std::vector<Tensor>& in) { return adaptive_avg_pool2d(in[0], {4, 2}); },
                  (std::vector<Tensor>{x3}), GradcheckOptions{});

  Tensor e = zeros({0, 3, 4, 4}, DType::f64).requires_grad_();
  Tensor me = max_pool2d(e, 2);
  CHECK(me.shape() == Shape{0, 3, 2, 2});
  sum(add(add(me, avg_pool2d(e, 2)), adaptive_avg_pool2d(e, 2))).backward();
  CHECK(e.grad().shape() == e.shape());
}

TEST_CASE("pool errors") {
  Tensor x = randn64({1, 2, 5, 5}, 1, false);
  CHECK_THROWS_WITH_SUBSTR(max_pool2d(randn64({5, 5}, 1, false), 2), "must have 3 or 4 dims");
  CHECK_THROWS_WITH_SUBSTR(max_pool2d(x, 0), "kernel size must be positive");
  CHECK_THROWS_WITH_SUBSTR(max_pool2d(x, 2, -1), "stride must be positive");
  CHECK_THROWS_WITH_SUBSTR(max_pool2d(x, 2, 1, 0, 0), "dilation must be positive");
  CHECK_THROWS_WITH_SUBSTR(max_pool2d(x, 3, 1, 2), "at most half the kernel size");
  CHECK_THROWS_WITH_SUBSTR(max_pool2d(x, 2, 1, -1), "must be non-negative");
  CHECK_THROWS_WITH_SUBSTR(max_pool2d(x, 6), "too small");
  CHECK_THROWS_WITH_SUBSTR(max_pool2d(x, 2, 1, 0, int64_t(1) << 62), "below 2^30");
  CHECK_THROWS_WITH_SUBSTR(avg_pool2d(x, int64_t(1) << 40), "below 2^30");
  CHECK_THROWS_WITH_SUBSTR(max_pool2d(x, 3, 1, 0, 3), "too small");
  CHECK_THROWS_WITH_SUBSTR(max_pool2d(x.to(DType::i64), 2), "needs a floating tensor");
  CHECK_THROWS_WITH_SUBSTR(avg_pool2d(x, {2, 7}), "too small");
  CHECK_THROWS_WITH_SUBSTR(avg_pool2d(x, 2, 1, 2), "at most half the kernel size");
  CHECK_THROWS_WITH_SUBSTR(avg_pool2d(Tensor(), 2), "undefined");
  CHECK_THROWS_WITH_SUBSTR(adaptive_avg_pool2d(x, {0, 2}), "output size must be positive");
  CHECK_THROWS_WITH_SUBSTR(adaptive_avg_pool2d(zeros({1, 2, 0, 3}), 2), "empty spatial dim");
  CHECK_THROWS_WITH_SUBSTR(adaptive_avg_pool2d(randn64({2, 2, 2, 2, 2}, 1, false), 2), "must have 3 or 4 dims");
}
