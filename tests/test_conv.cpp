// conv2d and conv_transpose2d: forward against naive loops (stride, padding, dilation, groups,
// depthwise with a channel multiplier, 1x1, odd sizes, chunked batches), gradients by finite
// differences for input, weight and bias, non-contiguous and unbatched inputs, f32, error paths.
// Leaves out speed (bench/) and the GPU twin comparison (tests that need CUDA).
#include "tests/helpers.h"

using namespace iris;
using iris::testing::noncontiguous;
using iris::testing::randn64;

namespace {

struct ConvCase {
  int64_t N, C, H, W, Cout, kh, kw;
  Size2 stride = 1, padding = 0, dilation = 1;
  int64_t groups = 1;
};

int64_t conv_out(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d) { return (in + 2 * p - d * (k - 1) - 1) / s + 1; }

// out [N, Cout, Ho, Wo]: the definition of a grouped, strided, padded, dilated cross-correlation.
std::vector<double> conv2d_reference(const std::vector<double>& x, const std::vector<double>& w,
                                     const std::vector<double>& b, const ConvCase& c) {
  const int64_t Ho = conv_out(c.H, c.kh, c.stride.h, c.padding.h, c.dilation.h);
  const int64_t Wo = conv_out(c.W, c.kw, c.stride.w, c.padding.w, c.dilation.w);
  const int64_t Cg = c.C / c.groups, Cog = c.Cout / c.groups;
  std::vector<double> out(c.N * c.Cout * Ho * Wo, 0.0);
  for (int64_t n = 0; n < c.N; ++n)
    for (int64_t oc = 0; oc < c.Cout; ++oc)
      for (int64_t oh = 0; oh < Ho; ++oh)
        for (int64_t ow = 0; ow < Wo; ++ow) {
          double acc = b.empty() ? 0.0 : b[oc];
          const int64_t grp = oc / Cog;
          for (int64_t icg = 0; icg < Cg; ++icg)
            for (int64_t ki = 0; ki < c.kh; ++ki)
              for (int64_t kj = 0; kj < c.kw; ++kj) {
                const int64_t ih = oh * c.stride.h - c.padding.h + ki * c.dilation.h;
                const int64_t iw = ow * c.stride.w - c.padding.w + kj * c.dilation.w;
                if (ih < 0 || ih >= c.H || iw < 0 || iw >= c.W) continue;
                const int64_t ic = grp * Cg + icg;
                acc += x[((n * c.C + ic) * c.H + ih) * c.W + iw] * w[((oc * Cg + icg) * c.kh + ki) * c.kw + kj];
              }
          out[((n * c.Cout + oc) * Ho + oh) * Wo + ow] = acc;
        }
  return out;
}

// Transposed conv as a scatter: input pixel (ih, iw) of channel ic adds w[ic, ocg] * x into
// output pixel (ih * s - p + ki * d, ...). Here C is the input channels, Cout the output ones.
std::vector<double> conv_transpose_reference(const std::vector<double>& x, const std::vector<double>& w,
                                             const std::vector<double>& b, const ConvCase& c, Size2 output_padding,
                                             int64_t& Ho, int64_t& Wo) {
  Ho = (c.H - 1) * c.stride.h - 2 * c.padding.h + c.dilation.h * (c.kh - 1) + output_padding.h + 1;
  Wo = (c.W - 1) * c.stride.w - 2 * c.padding.w + c.dilation.w * (c.kw - 1) + output_padding.w + 1;
  const int64_t Cg = c.C / c.groups, Cog = c.Cout / c.groups;
  std::vector<double> out(c.N * c.Cout * Ho * Wo, 0.0);
  for (int64_t n = 0; n < c.N; ++n)
    for (int64_t oc = 0; oc < c.Cout; ++oc)
      for (int64_t i = 0; i < Ho * Wo; ++i) out[(n * c.Cout + oc) * Ho * Wo + i] = b.empty() ? 0.0 : b[oc];
  for (int64_t n = 0; n < c.N; ++n)
    for (int64_t ic = 0; ic < c.C; ++ic)
      for (int64_t ih = 0; ih < c.H; ++ih)
        for (int64_t iw = 0; iw < c.W; ++iw)
          for (int64_t ocg = 0; ocg < Cog; ++ocg)
            for (int64_t ki = 0; ki < c.kh; ++ki)
              for (int64_t kj = 0; kj < c.kw; ++kj) {
                const int64_t oh = ih * c.stride.h - c.padding.h + ki * c.dilation.h;
                const int64_t ow = iw * c.stride.w - c.padding.w + kj * c.dilation.w;
                if (oh < 0 || oh >= Ho || ow < 0 || ow >= Wo) continue;
                const int64_t oc = (ic / Cg) * Cog + ocg;
                out[((n * c.Cout + oc) * Ho + oh) * Wo + ow] +=
                    x[((n * c.C + ic) * c.H + ih) * c.W + iw] * w[((ic * Cog + ocg) * c.kh + ki) * c.kw + kj];
              }
  return out;
}

Tensor conv_of(const std::vector<Tensor>& in, const ConvCase& c) {
  return conv2d(in[0], in[1], in.size() > 2 ? in[2] : Tensor(), c.stride, c.padding, c.dilation, c.groups);
}

void check_conv_forward(const ConvCase& c, DType dt, bool with_bias, uint64_t seed) {
  Tensor x = randn64({c.N, c.C, c.H, c.W}, seed, false);
  Tensor w = randn64({c.Cout, c.C / c.groups, c.kh, c.kw}, seed + 1, false);
  Tensor b = with_bias ? randn64({c.Cout}, seed + 2, false) : Tensor();
  const int64_t Ho = conv_out(c.H, c.kh, c.stride.h, c.padding.h, c.dilation.h);
  const int64_t Wo = conv_out(c.W, c.kw, c.stride.w, c.padding.w, c.dilation.w);
  std::vector<double> ref = conv2d_reference(x.to_vector<double>(), w.to_vector<double>(),
                                             with_bias ? b.to_vector<double>() : std::vector<double>(), c);
  Tensor y = conv2d(x.to(dt), w.to(dt), with_bias ? b.to(dt) : Tensor(), c.stride, c.padding, c.dilation, c.groups);
  CHECK(y.dtype() == dt);
  double tol = dt == DType::f64 ? 1e-12 : 1e-4;
  CHECK_CLOSE(y, from_vector<double>(ref, {c.N, c.Cout, Ho, Wo}), tol, tol);
}

const std::vector<ConvCase>& forward_cases() {
  static const std::vector<ConvCase> cases = {
      {2, 3, 7, 6, 4, 3, 3},                                // plain 3x3, odd sizes
      {2, 3, 7, 6, 4, 3, 2, {2, 1}, {1, 0}, {1, 2}},        // asymmetric stride/padding/dilation
      {1, 4, 9, 8, 6, 3, 3, 2, 2, 2, 2},                    // groups = 2
      {2, 6, 5, 5, 3, 2, 2, 1, 1, 1, 3},                    // groups = 3, Cout/groups = 1
      {2, 3, 8, 7, 6, 3, 3, {1, 2}, 1, 1, 3},               // depthwise, multiplier 2
      {1, 4, 6, 9, 4, 5, 3, 2, {2, 1}, {1, 2}, 4},          // depthwise, multiplier 1, dilated
      {2, 5, 4, 3, 3, 1, 1},                                // pointwise 1x1 (input read directly)
      {2, 5, 5, 4, 3, 1, 1, 2},                             // 1x1 with stride: im2col path
      {1, 2, 3, 3, 2, 1, 1, 1, 1},                          // 1x1 with padding
      {3, 1, 5, 5, 2, 5, 5, 1, 0},                          // kernel covers the whole input
      {1, 2, 1, 9, 3, 1, 4, {1, 3}, {0, 2}},                // H = 1
      {2, 1, 6, 6, 1, 3, 3, 3, 1, 1, 1},                    // single channel, stride 3
  };
  return cases;
}

}  // namespace

TEST_CASE("conv2d matches the naive loop (f64 and f32, with and without bias)") {
  uint64_t seed = 10;
  for (const ConvCase& c : forward_cases()) {
    CAPTURE(c.N);
    CAPTURE(c.C);
    CAPTURE(c.kh);
    CAPTURE(c.groups);
    check_conv_forward(c, DType::f64, true, seed);
    check_conv_forward(c, DType::f64, false, seed + 5);
    check_conv_forward(c, DType::f32, true, seed + 9);
    seed += 13;
  }
}

TEST_CASE("conv2d gradients for input, weight and bias") {
  GradcheckOptions opts;
  opts.max_elements = 40;
  uint64_t seed = 100;
  for (const ConvCase& c : forward_cases()) {
    CAPTURE(c.C);
    CAPTURE(c.groups);
    CAPTURE(c.kh);
    Tensor x = randn64({c.N, c.C, c.H, c.W}, seed);
    Tensor w = randn64({c.Cout, c.C / c.groups, c.kh, c.kw}, seed + 1);
    Tensor b = randn64({c.Cout}, seed + 2);
    CHECK_GRADCHECK([c](const std::vector<Tensor>& in) { return conv_of(in, c); }, (std::vector<Tensor>{x, w, b}),
                    opts);
    seed += 7;
  }
}

TEST_CASE("conv2d gradient of one input at a time") {
  ConvCase c{2, 4, 6, 5, 4, 3, 3, 2, 1, 1, 2};
  Tensor x = randn64({c.N, c.C, c.H, c.W}, 1);
  Tensor w = randn64({c.Cout, c.C / c.groups, c.kh, c.kw}, 2, false);
  CHECK_GRADCHECK([c](const std::vector<Tensor>& in) { return conv_of(in, c); }, (std::vector<Tensor>{x, w}),
                  GradcheckOptions{});
  x = randn64({c.N, c.C, c.H, c.W}, 3, false);
  w = randn64({c.Cout, c.C / c.groups, c.kh, c.kw}, 4);
  CHECK_GRADCHECK([c](const std::vector<Tensor>& in) { return conv_of(in, c); }, (std::vector<Tensor>{x, w}),
                  GradcheckOptions{});
  // Only the bias requires grad: the others get none.
  Tensor b = randn64({c.Cout}, 5);
  Tensor y = conv2d(x, w.detach(), b, c.stride, c.padding, c.dilation, c.groups);
  sum(y).backward();
  CHECK_CLOSE(b.grad(), full({c.Cout}, double(c.N * 3 * 3), DType::f64), 1e-12, 0);
}

TEST_CASE("conv2d on non-contiguous, permuted and unbatched inputs") {
  ConvCase c{2, 3, 6, 5, 4, 3, 3, 1, 1, 1, 1};
  Tensor x = randn64({c.N, c.C, c.H, c.W}, 21, false);
  Tensor w = randn64({c.Cout, c.C, c.kh, c.kw}, 22, false);
  Tensor b = randn64({c.Cout}, 23, false);
  Tensor expected = conv2d(x, w, b, 1, 1);

  // Strided leaves, with gradients.
  Tensor xs = noncontiguous(x).requires_grad_(), ws = noncontiguous(w).requires_grad_();
  Tensor bs = noncontiguous(b).requires_grad_();
  CHECK(!xs.is_contiguous());
  CHECK_CLOSE(conv2d(xs, ws, bs, 1, 1), expected, 1e-12, 0);
  CHECK_GRADCHECK([](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], in[2], 1, 1); },
                  (std::vector<Tensor>{xs, ws, bs}), GradcheckOptions{});

  // An NHWC buffer seen as NCHW through permute.
  Tensor nhwc = x.permute({0, 2, 3, 1}).contiguous();
  Tensor xp = nhwc.permute({0, 3, 1, 2});
  CHECK(!xp.is_contiguous());
  CHECK_CLOSE(conv2d(xp, w, b, 1, 1), expected, 1e-12, 0);

  // An expanded (stride-0) batch: every image the same.
  Tensor one = x.slice(0, 0, 1);
  Tensor xe = one.expand({3, c.C, c.H, c.W});
  Tensor ye = conv2d(xe, w, b, 1, 1);
  for (int i = 0; i < 3; ++i) CHECK_CLOSE(ye.slice(0, i, i + 1), expected.slice(0, 0, 1), 1e-12, 0);

  // Unbatched [C, H, W] in, [Cout, Ho, Wo] out, with its gradient.
  Tensor x3 = x[1].detach().requires_grad_();
  Tensor y3 = conv2d(x3, w, b, 1, 1);
  CHECK(y3.shape() == Shape{c.Cout, c.H, c.W});
  CHECK_CLOSE(y3, expected[1], 1e-12, 0);
  CHECK_GRADCHECK([w, b](const std::vector<Tensor>& in) { return conv2d(in[0], w, b, 1, 1); },
                  (std::vector<Tensor>{x3}), GradcheckOptions{});
}

TEST_CASE("conv2d processes large batches in chunks") {
  // The cols buffer is capped at 2^20 elements; each image's cols hold 4*9*108*108 = 420k, so
  // the batch of 3 is processed as 2 + 1 images (f32).
  ConvCase c{3, 4, 110, 110, 4, 3, 3, 1, 0, 1, 2};
  Tensor x = randn64({c.N, c.C, c.H, c.W}, 31, false);
  Tensor w = randn64({c.Cout, c.C / c.groups, c.kh, c.kw}, 32, false);
  Tensor x32 = x.to(DType::f32).requires_grad_(), w32 = w.to(DType::f32).requires_grad_();
  Tensor y = conv2d(x32, w32, Tensor(), 1, 0, 1, c.groups);
  std::vector<double> ref = conv2d_reference(x.to_vector<double>(), w.to_vector<double>(), {}, c);
  CHECK_CLOSE(y, from_vector<double>(ref, y.shape()), 1e-4, 1e-4);

  // Gradients of the whole batch = per-image gradients stacked (x) and summed (w).
  Tensor seed = randn(y.shape(), DType::f32);
  y.backward(seed);
  Tensor gw_sum = zeros(w32.shape(), DType::f32);
  for (int64_t n = 0; n < c.N; ++n) {
    Tensor xn = x32.detach().slice(0, n, n + 1).contiguous().requires_grad_();
    Tensor wn = w32.detach().clone().requires_grad_();
    conv2d(xn, wn, Tensor(), 1, 0, 1, c.groups).backward(seed.slice(0, n, n + 1).contiguous());
    CHECK_CLOSE(x32.grad().slice(0, n, n + 1), xn.grad(), 1e-4, 1e-4);
    gw_sum = add(gw_sum, wn.grad());
  }
  CHECK_CLOSE(w32.grad(), gw_sum, 1e-2, 1e-4);
}

TEST_CASE("conv2d with an empty batch") {
  Tensor x = zeros({0, 3, 5, 5}, DType::f64).requires_grad_();
  Tensor w = randn64({2, 3, 3, 3}, 1);
  Tensor b = randn64({2}, 2);
  Tensor y = conv2d(x, w, b, 1, 1);
  CHECK(y.shape() == Shape{0, 2, 5, 5});
  sum(y).backward();
  CHECK(x.grad().shape() == x.shape());
  CHECK_CLOSE(w.grad(), zeros({2, 3, 3, 3}, DType::f64), 0, 0);
  CHECK_CLOSE(b.grad(), zeros({2}, DType::f64), 0, 0);
}

TEST_CASE("conv2d errors") {
  Tensor x = randn64({1, 4, 5, 5}, 1, false);
  Tensor w = randn64({6, 4, 3, 3}, 2, false);
  CHECK_THROWS_WITH_SUBSTR(conv2d(randn64({4, 5, 5, 1, 1}, 3, false), w), "must have 3 or 4 dims");
  CHECK_THROWS_WITH_SUBSTR(conv2d(x, randn64({6, 4, 3}, 3, false)), "weight must have 4 dims");
  CHECK_THROWS_WITH_SUBSTR(conv2d(x, w, Tensor(), 0), "stride must be positive");
  CHECK_THROWS_WITH_SUBSTR(conv2d(x, w, Tensor(), {1, -1}), "stride must be positive");
  CHECK_THROWS_WITH_SUBSTR(conv2d(x, w, Tensor(), 1, -1), "padding must be non-negative");
  CHECK_THROWS_WITH_SUBSTR(conv2d(x, w, Tensor(), 1, 0, 0), "dilation must be positive");
  CHECK_THROWS_WITH_SUBSTR(conv2d(x, w, Tensor(), 1, 0, 1, 0), "groups must be positive");
  CHECK_THROWS_WITH_SUBSTR(conv2d(x, w, Tensor(), int64_t(1) << 40), "below 2^30");
  CHECK_THROWS_WITH_SUBSTR(conv2d(x, w, Tensor(), 1, 0, int64_t(1) << 62), "below 2^30");
  CHECK_THROWS_WITH_SUBSTR(conv2d(x, randn64({6, 1, 3, 3}, 3, false), Tensor(), 1, 0, 1, 3),
                           "input channels 4 are not divisible by groups=3");
  CHECK_THROWS_WITH_SUBSTR(conv2d(x, randn64({5, 2, 3, 3}, 3, false), Tensor(), 1, 0, 1, 2),
                           "not divisible by groups=2");
  CHECK_THROWS_WITH_SUBSTR(conv2d(x, randn64({6, 3, 3, 3}, 3, false)), "expects 3 input channels");
  CHECK_THROWS_WITH_SUBSTR(conv2d(x, w, randn64({5}, 3, false)), "bias of shape [5] does not match the 6");
  CHECK_THROWS_WITH_SUBSTR(conv2d(x, w, randn64({6, 1}, 3, false)), "bias of shape [6, 1]");
  CHECK_THROWS_WITH_SUBSTR(conv2d(x, randn64({6, 4, 7, 3}, 3, false)), "larger than the padded input");
  CHECK_THROWS_WITH_SUBSTR(conv2d(x, w, Tensor(), 1, 0, 3), "dilated to 7x7");
  CHECK_NOTHROW(conv2d(x, randn64({6, 4, 7, 3}, 3, false), Tensor(), 1, 1));
  CHECK_THROWS_WITH_SUBSTR(conv2d(x, zeros({6, 4, 0, 3}, DType::f64)), "empty kernel");
  CHECK_THROWS_WITH_SUBSTR(conv2d(x, w.to(DType::f32)), "input is f64 but weight is f32");
  CHECK_THROWS_WITH_SUBSTR(conv2d(x, w, zeros({6}, DType::f32)), "but bias is f32");
  CHECK_THROWS_WITH_SUBSTR(conv2d(x.to(DType::i64), w.to(DType::i64)), "needs a floating tensor");
  CHECK_THROWS_WITH_SUBSTR(conv2d(Tensor(), w), "undefined");
  CHECK_THROWS_WITH_SUBSTR(conv2d(randn64({4, 5, 5}, 3, false), randn64({6, 3, 3, 3}, 4, false)),
                           "expects 3 input channels");
}

TEST_CASE("conv_transpose2d matches the scatter loop and a PyTorch value") {
  struct Case {
    ConvCase c;
    Size2 output_padding;
  };
  const std::vector<Case> cases = {
      {{2, 3, 4, 5, 2, 3, 3}, 0},
      {{2, 3, 4, 3, 4, 3, 2, {2, 3}, {1, 0}, 1, 1}, {1, 2}},      // stride with output_padding
      {{1, 4, 3, 4, 6, 2, 3, 2, 1, {2, 1}, 2}, 1},                // groups and dilation
      {{2, 4, 5, 4, 4, 3, 3, 1, 1, {1, 2}, 1}, {0, 1}},           // output_padding < dilation, stride 1
      {{2, 6, 4, 4, 3, 3, 3, 2, 1, 1, 3}, 1},                     // groups = output channels: depthwise
      {{1, 3, 3, 4, 5, 1, 1}, 0},                                 // 1x1
      {{2, 2, 1, 1, 3, 2, 2, 1, 0}, 0},                           // 1x1 input
  };
  uint64_t seed = 200;
  for (const Case& k : cases) {
    const ConvCase& c = k.c;
    CAPTURE(c.C);
    CAPTURE(c.groups);
    Tensor x = randn64({c.N, c.C, c.H, c.W}, seed, false);
    Tensor w = randn64({c.C, c.Cout / c.groups, c.kh, c.kw}, seed + 1, false);
    Tensor b = randn64({c.Cout}, seed + 2, false);
    int64_t Ho, Wo;
    std::vector<double> ref = conv_transpose_reference(x.to_vector<double>(), w.to_vector<double>(),
                                                       b.to_vector<double>(), c, k.output_padding, Ho, Wo);
    Tensor y = conv_transpose2d(x, w, b, c.stride, c.padding, k.output_padding, c.groups, c.dilation);
    CHECK_CLOSE(y, from_vector<double>(ref, {c.N, c.Cout, Ho, Wo}), 1e-12, 1e-12);
    Tensor y32 = conv_transpose2d(x.to(DType::f32), w.to(DType::f32), b.to(DType::f32), c.stride, c.padding,
                                  k.output_padding, c.groups, c.dilation);
    CHECK_CLOSE(y32, from_vector<double>(ref, {c.N, c.Cout, Ho, Wo}), 1e-4, 1e-4);
    seed += 5;
  }

  // The scatter loop's convention agrees with PyTorch:
  //   x = torch.arange(8.).reshape(1, 2, 2, 2); w = torch.arange(12.).reshape(2, 1, 2, 3) / 10
  //   F.conv_transpose2d(x, w, stride=2, padding=(0, 1), output_padding=(1, 0), groups=2)[0, 1, :, 1]
  //   -> tensor([ 6.2000,  8.9000,  9.0000, 12.9000,  0.0000])
  Tensor x = arange(8, DType::f64).reshape({1, 2, 2, 2});
  Tensor w = div(arange(12, DType::f64).reshape({2, 1, 2, 3}), 10.0);
  Tensor y = conv_transpose2d(x, w, Tensor(), 2, {0, 1}, {1, 0}, 2);
  CHECK(y.shape() == Shape{1, 2, 5, 3});
  CHECK_CLOSE(y[0][1].select(1, 1), from_vector<double>({6.2, 8.9, 9.0, 12.9, 0.0}), 1e-12, 1e-12);
}

TEST_CASE("conv_transpose2d gradients, non-contiguous and unbatched inputs") {
  struct Case {
    ConvCase c;
    Size2 output_padding;
  };
  const std::vector<Case> cases = {
      {{2, 3, 3, 4, 2, 3, 2, 2, 1, 1, 1}, 1},
      {{1, 4, 3, 3, 6, 2, 3, {1, 2}, {0, 1}, 2, 2}, {1, 1}},
      {{2, 4, 3, 3, 2, 3, 3, 2, 1, 1, 2}, 0},  // depthwise: groups = output channels
      {{2, 3, 3, 3, 4, 1, 1}, 0},
  };
  uint64_t seed = 300;
  for (const Case& k : cases) {
    const ConvCase& c = k.c;
    CAPTURE(c.C);
    CAPTURE(c.groups);
    Tensor x = randn64({c.N, c.C, c.H, c.W}, seed);
    Tensor w = randn64({c.C, c.Cout / c.groups, c.kh, c.kw}, seed + 1);
    Tensor b = randn64({c.Cout}, seed + 2);
    auto fn = [c, op = k.output_padding](const std::vector<Tensor>& in) {
      return conv_transpose2d(in[0], in[1], in[2], c.stride, c.padding, op, c.groups, c.dilation);
    };
    CHECK_GRADCHECK(fn, (std::vector<Tensor>{x, w, b}), GradcheckOptions{});
    CHECK_GRADCHECK(fn, (std::vector<Tensor>{noncontiguous(x), noncontiguous(w), b}), GradcheckOptions{});
    seed += 5;
  }
  Tensor x = randn64({3, 4, 5}, 7);
  Tensor w = randn64({3, 2, 3, 3}, 8, false);
  Tensor y = conv_transpose2d(x, w, Tensor(), 2, 1);
  CHECK(y.shape() == Shape{2, 7, 9});
  CHECK_CLOSE(y, conv_transpose2d(x.unsqueeze(0), w, Tensor(), 2, 1)[0], 1e-12, 0);
  CHECK_GRADCHECK([w](const std::vector<Tensor>& in) { return conv_transpose2d(in[0], w, Tensor(), 2, 1); },
                  (std::vector<Tensor>{x}), GradcheckOptions{});
}

TEST_CASE("conv_transpose2d is the adjoint of conv2d") {
  // <conv2d(x, w), y> == <x, conv_transpose2d(y, w)> for the same stride/padding/dilation/groups.
  Tensor x = randn64({2, 4, 9, 8}, 1, false);
  Tensor w = randn64({6, 2, 3, 2}, 2, false);
  Tensor cx = conv2d(x, w, Tensor(), {2, 3}, {1, 1}, {1, 2}, 2);
  Tensor y = randn64(cx.shape(), 3, false);
  // output_padding restores what the floor division lost: W: 8 = (3-1)*3 - 2 + 2*1 + 1 + op_w.
  Tensor ty = conv_transpose2d(y, w, Tensor(), {2, 3}, {1, 1}, {0, 1}, 2, {1, 2});
  CHECK(ty.shape() == x.shape());
  CHECK(sum(mul(cx, y)).item() == doctest::Approx(sum(mul(x, ty)).item()).epsilon(1e-12));
}

TEST_CASE("conv_transpose2d errors") {
  Tensor x = randn64({1, 4, 3, 3}, 1, false);
  Tensor w = randn64({4, 2, 3, 3}, 2, false);
  CHECK_THROWS_WITH_SUBSTR(conv_transpose2d(x, randn64({3, 2, 3, 3}, 3, false)), "expects 3 input channels");
  CHECK_THROWS_WITH_SUBSTR(conv_transpose2d(x, w, Tensor(), 1, 0, 0, 3), "not divisible by groups=3");
  CHECK_THROWS_WITH_SUBSTR(conv_transpose2d(x, w, Tensor(), 2, 0, 2), "smaller than either stride");
  CHECK_THROWS_WITH_SUBSTR(conv_transpose2d(x, w, Tensor(), 1, 0, 1), "smaller than either stride");
  CHECK_NOTHROW(conv_transpose2d(x, w, Tensor(), 1, 0, 1, 1, 2));  // output_padding < dilation is fine
  CHECK_THROWS_WITH_SUBSTR(conv_transpose2d(x, w, Tensor(), 1, 0, -1), "non-negative");
  CHECK_THROWS_WITH_SUBSTR(conv_transpose2d(x, w, Tensor(), 1, 3), "removes too much");
  CHECK_THROWS_WITH_SUBSTR(conv_transpose2d(x, w, randn64({4}, 3, false), 1), "bias of shape [4] does not match the 2");
  CHECK_NOTHROW(conv_transpose2d(x, w, randn64({4}, 3, false), 1, 0, 0, 2));
  CHECK_THROWS_WITH_SUBSTR(conv_transpose2d(x, w, Tensor(), 0), "stride must be positive");
  CHECK_THROWS_WITH_SUBSTR(conv_transpose2d(x, w.to(DType::f32)), "but weight is f32");
  CHECK_THROWS_WITH_SUBSTR(conv_transpose2d(randn64({2, 2}, 3, false), w), "must have 3 or 4 dims");
}
