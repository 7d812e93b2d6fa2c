// interpolate (nearest, bilinear; by size and by scale_factor; align_corners both ways) and
// roi_align (torchvision semantics): forward against naive loops and PyTorch/torchvision values,
// gradients by finite differences, non-contiguous inputs, f32, error paths.
// Leaves out speed (bench/) and the GPU twin comparison.
#include <cmath>

#include "tests/helpers.h"

using namespace iris;
using iris::testing::noncontiguous;
using iris::testing::randn64;

namespace {

// ---- interpolate reference ------------------------------------------------------------------

// The scale in/out of one dim, or 1/scale_factor when given (PyTorch's map for scale_factor).
double map_scale(int64_t in, int64_t out, double scale_factor) {
  return scale_factor > 0 ? 1.0 / scale_factor : double(in) / double(out);
}

std::vector<double> interpolate_reference(const std::vector<double>& x, int64_t P, int64_t H, int64_t W, int64_t Ho,
                                          int64_t Wo, bool bilinear, bool align_corners, double scale_factor) {
  // Source coordinate of output index d along a dim of size in -> out.
  auto nearest = [&](int64_t d, int64_t in, int64_t out) {
    return std::min<int64_t>(int64_t(std::floor(d * map_scale(in, out, scale_factor))), in - 1);
  };
  auto linear = [&](int64_t d, int64_t in, int64_t out) {
    if (align_corners) return out > 1 ? d * double(in - 1) / double(out - 1) : 0.0;
    if (in == out) return double(d);
    return std::max(0.0, (d + 0.5) * map_scale(in, out, scale_factor) - 0.5);
  };
  std::vector<double> out;
  for (int64_t p = 0; p < P; ++p)
    for (int64_t oh = 0; oh < Ho; ++oh)
      for (int64_t ow = 0; ow < Wo; ++ow) {
        const double* plane = &x[p * H * W];
        if (!bilinear) {
          out.push_back(plane[nearest(oh, H, Ho) * W + nearest(ow, W, Wo)]);
          continue;
        }
        double sy = linear(oh, H, Ho), sx = linear(ow, W, Wo);
        int64_t y0 = std::min<int64_t>(int64_t(sy), H - 1), x0 = std::min<int64_t>(int64_t(sx), W - 1);
        int64_t y1 = std::min(y0 + 1, H - 1), x1 = std::min(x0 + 1, W - 1);
        double ly = sy - y0, lx = sx - x0;
        out.push_back((1 - ly) * ((1 - lx) * plane[y0 * W + x0] + lx * plane[y0 * W + x1]) +
                      ly * ((1 - lx) * plane[y1 * W + x0] + lx * plane[y1 * W + x1]));
      }
  return out;
}

// ---- roi_align reference ----------------------------------------------------------------------

// torchvision's bilinear sample: zero more than one pixel outside, clamped at the borders.
double roi_sample(const double* plane, int64_t H, int64_t W, double y, double x) {
  if (y < -1.0 || y > H || x < -1.0 || x > W) return 0.0;
  y = std::max(y, 0.0);
  x = std::max(x, 0.0);
  int64_t y0 = int64_t(y), x0 = int64_t(x), y1, x1;
  if (y0 >= H - 1) {
    y0 = y1 = H - 1;
    y = double(y0);
  } else {
    y1 = y0 + 1;
  }
  if (x0 >= W - 1) {
    x0 = x1 = W - 1;
    x = double(x0);
  } else {
    x1 = x0 + 1;
  }
  double ly = y - y0, lx = x - x0;
  return (1 - ly) * (1 - lx) * plane[y0 * W + x0] + (1 - ly) * lx * plane[y0 * W + x1] +
         ly * (1 - lx) * plane[y1 * W + x0] + ly * lx * plane[y1 * W + x1];
}

std::vector<double> roi_align_reference(const std::vector<double>& x, int64_t C, int64_t H, int64_t W,
                                        const std::vector<double>& boxes, int64_t oh, int64_t ow, double scale,
                                        int64_t sampling_ratio, bool aligned) {
  std::vector<double> out;
  const int64_t K = boxes.size() / 5;
  for (int64_t k = 0; k < K; ++k) {
    const double* b = &boxes[5 * k];
    const double off = aligned ? 0.5 : 0.0;
    double x1 = b[1] * scale - off, y1 = b[2] * scale - off, x2 = b[3] * scale - off, y2 = b[4] * scale - off;
    double rw = x2 - x1, rh = y2 - y1;
    if (!aligned) {
      rw = std::max(rw, 1.0);
      rh = std::max(rh, 1.0);
    }
    double bh = rh / oh, bw = rw / ow;
    int64_t gh = sampling_ratio > 0 ? sampling_ratio : int64_t(std::ceil(rh / oh));
    int64_t gw = sampling_ratio > 0 ? sampling_ratio : int64_t(std::ceil(rw / ow));
    double count = std::max<int64_t>(gh * gw, 1);
    for (int64_t c = 0; c < C; ++c) {
      const double* plane = &x[(int64_t(b[0]) * C + c) * H * W];
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          double s = 0;
          for (int64_t iy = 0; iy < gh; ++iy)
            for (int64_t ix = 0; ix < gw; ++ix)
              s += roi_sample(plane, H, W, y1 + i * bh + (iy + 0.5) * bh / gh, x1 + j * bw + (ix + 0.5) * bw / gw);
          out.push_back(s / count);
        }
    }
  }
  return out;
}

// x[n, c, h, w] = sin(0.5 h + 0.3 w^2 + c + 2 n): smooth but far from linear.
Tensor wavy(int64_t N, int64_t C, int64_t H, int64_t W) {
  std::vector<double> v;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t w = 0; w < W; ++w) v.push_back(std::sin(0.5 * h + 0.3 * w * w + c + 2 * n));
  return from_vector<double>(v, {N, C, H, W});
}

}  // namespace

TEST_CASE("interpolate matches the naive maps, by size and by scale factor") {
  struct Case {
    int64_t H, W;
    Size2 size;
    double scale;  // > 0: call the scale_factor overload instead of size
  };
  const std::vector<Case> cases = {{4, 5, {6, 8}, 0},  {4, 5, {3, 2}, 0}, {5, 3, {5, 7}, 0}, {3, 3, {1, 1}, 0},
                                   {4, 5, 0, 1.7},     {4, 5, 0, 0.6},    {3, 7, 0, 2.5},    {6, 4, 0, 0.5},
                                   {1, 4, {3, 1}, 0}};
  uint64_t seed = 1;
  for (const Case& c : cases) {
    for (int mode = 0; mode < 3; ++mode) {  // nearest, bilinear, bilinear + align_corners
      const bool bilinear = mode > 0, align = mode == 2;
      CAPTURE(c.H);
      CAPTURE(c.W);
      CAPTURE(c.scale);
      CAPTURE(mode);
      Tensor x = randn64({2, 3, c.H, c.W}, seed++);
      InterpMode m = bilinear ? InterpMode::bilinear : InterpMode::nearest;
      Tensor y = c.scale > 0 ? interpolate_by_scale(x, c.scale, m, align) : interpolate(x, c.size, m, align);
      const int64_t Ho = c.scale > 0 ? int64_t(std::floor(c.H * c.scale)) : c.size.h;
      const int64_t Wo = c.scale > 0 ? int64_t(std::floor(c.W * c.scale)) : c.size.w;
      REQUIRE(y.shape() == Shape{2, 3, Ho, Wo});
      std::vector<double> ref =
          interpolate_reference(x.to_vector<double>(), 6, c.H, c.W, Ho, Wo, bilinear, align, c.scale);
      CHECK_CLOSE(y, from_vector<double>(ref, y.shape()), 1e-12, 1e-12);
      Tensor y32 = c.scale > 0 ? interpolate_by_scale(x.to(DType::f32), c.scale, m, align)
                               : interpolate(x.to(DType::f32), c.size, m, align);
      CHECK_CLOSE(y32, y, 1e-5, 1e-5);
      auto fn = [c, m, align](const std::vector<Tensor>& in) {
        return c.scale > 0 ? interpolate_by_scale(in[0], c.scale, m, align) : interpolate(in[0], c.size, m, align);
      };
      CHECK_GRADCHECK(fn, (std::vector<Tensor>{x}), GradcheckOptions{});
    }
  }
}

TEST_CASE("interpolate agrees with PyTorch, including how scale_factor enters the map") {
  // x = torch.arange(20.).reshape(1, 1, 4, 5); output value v comes from row v // 5, column v % 5.
  Tensor x = arange(20, DType::f64).reshape({1, 1, 4, 5});
  auto sources = [](const Tensor& y, bool rows) {
    std::vector<double> v = y.to_vector<double>();
    int64_t Ho = y.shape()[2], Wo = y.shape()[3];
    std::vector<int64_t> s;
    for (int64_t i = 0; i < (rows ? Ho : Wo); ++i) {
      int64_t val = int64_t(v[rows ? i * Wo : i]);
      s.push_back(rows ? val / 5 : val % 5);
    }
    return s;
  };
  // F.interpolate(x, size=(6, 8), mode='nearest'): src = floor(dst * in / out)
  Tensor by_size = interpolate(x, Size2{6, 8});
  CHECK(sources(by_size, true) == std::vector<int64_t>{0, 0, 1, 2, 2, 3});
  CHECK(sources(by_size, false) == std::vector<int64_t>{0, 0, 1, 1, 2, 3, 3, 4});
  // F.interpolate(x, scale_factor=1.7, mode='nearest'): also 6x8, but src = floor(dst / 1.7)
  Tensor by_scale = interpolate_by_scale(x, 1.7);
  CHECK(by_scale.shape() == Shape{1, 1, 6, 8});
  CHECK(sources(by_scale, true) == std::vector<int64_t>{0, 0, 1, 1, 2, 2});
  CHECK(sources(by_scale, false) == std::vector<int64_t>{0, 0, 1, 1, 2, 2, 3, 4});
  // F.interpolate(x, scale_factor=0.6, mode='nearest').flatten() -> [0, 1, 3, 5, 6, 8]
  CHECK(interpolate_by_scale(x, 0.6).to_vector<double>() == std::vector<double>{0, 1, 3, 5, 6, 8});
  // x1 = torch.arange(10.).reshape(1, 1, 1, 10)
  // F.interpolate(x1, scale_factor=1.05) keeps the 10 columns and maps them exactly (no shift);
  // F.interpolate(x1, scale_factor=2.04) gives 20 columns mapped as dst // 2.
  Tensor x1 = arange(10, DType::f64).reshape({1, 1, 1, 10});
  CHECK(interpolate_by_scale(x1, 1.05).to_vector<double>() == x1.to_vector<double>());
  std::vector<double> doubled = interpolate_by_scale(x1, 2.04).to_vector<double>();
  REQUIRE(doubled.size() == 40);  // 2 rows x 20 columns
  for (int i = 0; i < 20; ++i) CHECK(doubled[i] == double(i / 2));

  // Bilinear, in f64: x.double()
  // F.interpolate(x, scale_factor=1.7, mode='bilinear', align_corners=False)[0, 0, 1]
  CHECK_CLOSE(interpolate_by_scale(x, 1.7, InterpMode::bilinear)[0][0][1],
              from_vector<double>({1.911764705882353, 2.294117647058824, 2.882352941176471, 3.4705882352941178,
                                   4.0588235294117645, 4.647058823529412, 5.23529411764706, 5.8235294117647065}),
              1e-12, 0);
  // F.interpolate(x, size=(6, 8), mode='bilinear', align_corners=False)[0, 0, 1]: same size, other map
  CHECK_CLOSE(interpolate(x, Size2{6, 8}, InterpMode::bilinear)[0][0][1],
              from_vector<double>({2.5, 2.9375, 3.5625, 4.1875, 4.8125, 5.4375, 6.0625, 6.5}), 1e-12, 0);
  // F.interpolate(x, scale_factor=0.6, mode='bilinear', align_corners=False).flatten()
  CHECK_CLOSE(interpolate_by_scale(x, 0.6, InterpMode::bilinear),
              from_vector<double>({2.0, 11.0 / 3, 16.0 / 3, 31.0 / 3, 12.0, 41.0 / 3}, {1, 1, 2, 3}), 1e-12, 0);
  // F.interpolate(x, scale_factor=1.7, mode='bilinear', align_corners=True)[0, 0, 1]: scale unused
  CHECK_CLOSE(interpolate_by_scale(x, 1.7, InterpMode::bilinear, true)[0][0][1],
              from_vector<double>({3.0, 3.571428571428571, 4.142857142857143, 4.714285714285714, 5.285714285714286,
                                   5.857142857142857, 6.428571428571429, 7.0}),
              1e-12, 0);
  // y = torch.arange(6.).reshape(1, 1, 2, 3).double()
  // F.interpolate(y, scale_factor=1.4, mode='bilinear').flatten()  (2x4: rows keep their size)
  Tensor y = arange(6, DType::f64).reshape({1, 1, 2, 3});
  CHECK_CLOSE(interpolate_by_scale(y, 1.4, InterpMode::bilinear),
              from_vector<double>({0.0, 0.5714285714285714, 1.2857142857142858, 2.0, 3.0, 3.571428571428571,
                                   4.285714285714286, 5.0},
                                  {1, 1, 2, 4}),
              1e-12, 0);
}

TEST_CASE("interpolate on non-contiguous inputs and in f32") {
  Tensor x = randn64({2, 3, 5, 4}, 40, false);
  Tensor xs = noncontiguous(x).requires_grad_();
  Tensor xp = x.permute({0, 2, 3, 1}).contiguous().permute({0, 3, 1, 2});
  for (InterpMode m : {InterpMode::nearest, InterpMode::bilinear}) {
    CHECK_CLOSE(interpolate(xs, Size2{7, 3}, m), interpolate(x, Size2{7, 3}, m), 0, 0);
    CHECK_CLOSE(interpolate_by_scale(xp, 1.5, m), interpolate_by_scale(x, 1.5, m), 0, 0);
  }
  CHECK_GRADCHECK([](const std::vector<Tensor>& in) { return interpolate(in[0], Size2{7, 3}, InterpMode::bilinear, true); },
                  (std::vector<Tensor>{xs}), GradcheckOptions{});
  // f32 backward agrees with f64.
  Tensor x32 = x.to(DType::f32).requires_grad_();
  Tensor g = randn64({2, 3, 8, 6}, 41, false);
  interpolate_by_scale(x32, 1.6, InterpMode::bilinear).backward(g.to(DType::f32));
  Tensor x64 = x.detach().clone().requires_grad_();
  interpolate_by_scale(x64, 1.6, InterpMode::bilinear).backward(g);
  CHECK_CLOSE(x32.grad(), x64.grad(), 1e-5, 1e-5);
}

TEST_CASE("interpolate errors") {
  Tensor x = randn64({1, 2, 4, 4}, 1, false);
  CHECK_THROWS_WITH_SUBSTR(interpolate(randn64({2, 4, 4}, 1, false), Size2{8, 8}), "must be [N, C, H, W]");
  CHECK_THROWS_WITH_SUBSTR(interpolate(x, Size2{0, 8}), "output size must be positive");
  CHECK_THROWS_WITH_SUBSTR(interpolate_by_scale(x, 0.0), "scale_factor must be positive");
  CHECK_THROWS_WITH_SUBSTR(interpolate_by_scale(x, -2.0), "scale_factor must be positive");
  CHECK_THROWS_WITH_SUBSTR(interpolate_by_scale(x, NAN), "scale_factor must be positive");
  CHECK_THROWS_WITH_SUBSTR(interpolate_by_scale(x, 0.2), "empty output");
  CHECK_THROWS_WITH_SUBSTR(interpolate_by_scale(x, 1e12), "too large");
  CHECK_THROWS_WITH_SUBSTR(interpolate_by_scale(x, 2.0, InterpMode::nearest, true), "align_corners only applies");
  CHECK_THROWS_WITH_SUBSTR(interpolate_by_scale(x.to(DType::i64), 2.0), "needs a floating tensor");
  CHECK_THROWS_WITH_SUBSTR(interpolate_by_scale(zeros({1, 1, 0, 3}), 2.0), "empty spatial dim");
  CHECK_THROWS_WITH_SUBSTR(interpolate_by_scale(Tensor(), 2.0), "undefined");
}

TEST_CASE("roi_align agrees with torchvision") {
  // import torch; from torchvision.ops import roi_align
  // h, w = torch.arange(6.).view(6, 1).double(), torch.arange(7.).view(1, 7).double()
  // n, c = torch.arange(2.).view(2, 1, 1, 1).double(), torch.arange(2.).view(1, 2, 1, 1).double()
  // x = torch.sin(0.5 * h + 0.3 * w * w + c + 2 * n)            # [2, 2, 6, 7]
  // boxes = torch.tensor([[0, 1.0, 1.5, 4.2, 5.0], [1, -1.0, 0.5, 3.0, 2.0], [0, 2.3, 2.3, 2.5, 2.4],
  //                       [1, 5.0, 3.0, 8.5, 7.5], [0, 3, 4, 1, 2]], dtype=torch.double)
  // roi_align(x, boxes, output_size, spatial_scale, sampling_ratio, aligned)[:, 1].flatten()
  Tensor x = wavy(2, 2, 6, 7);
  Tensor boxes = from_vector<double>({0, 1.0, 1.5, 4.2, 5.0, 1, -1.0, 0.5, 3.0, 2.0, 0, 2.3, 2.3, 2.5, 2.4,
                                      1, 5.0, 3.0, 8.5, 7.5, 0, 3, 4, 1, 2},
                                     {5, 5});
  struct Case {
    Size2 out;
    double scale;
    int64_t sampling_ratio;
    bool aligned;
    std::vector<double> channel1;
  };
  const std::vector<Case> cases = {
      {{2, 3}, 1.0, -1, false,
       {0.148270657392536,    -0.6630485241583388,  0.0997703713059571,   -0.5529026057176991,  -0.6244122554017196,
        0.4751416872569685,   -0.28929532322093393, -0.5822584350853935,  -0.7030995213768628,  -0.6045452699510626,
        -0.7899795549417352,  -0.544129362831485,   -0.6061656414790777,  -0.8122280696483603,  -0.7190713030955287,
        -0.6962065586878786,  -0.802837584547972,   -0.6368617791400428,  -0.08575409871972443, -0.07274355535720045,
        0.0,                  -0.05015363096872866, -0.0930087118811294,  0.0,                  -0.19908034513216494,
        0.270331979908712,    0.7397443049495882,   -0.012279579525298734, 0.3631381369491693,  0.7385558534236369}},
      {{3, 3}, 0.5, 2, true,
       {0.9374900255837719,   0.960502105189685,    0.8467738523203694,   0.9729716093671685,   0.9510621940374593,
        0.7504209932982229,   0.902281724659781,    0.836801743790595,    0.5692658718009884,   0.1411200080598672,
        0.11621453287627427,  -0.05812379340887638, 0.07963210359118132,  0.055120285063317724, -0.11646244463172756,
        -0.043343705346190434, -0.06706821056259538, -0.23313974707742993, 0.9616169755605797,  0.9624884850390903,
        0.963359994517601,    0.9625981027423473,   0.9633886485784495,   0.9641791944145518,   0.9635792299241149,
        0.9642888121178086,   0.9649983943115026,   -0.6482080473976053,  -0.03601263964946159, 0.41307319761944944,
        -0.46017511635478897, 0.27703827428958017,  0.4835972951995168,   -0.20100872308984435, 0.5534751438629767,
        0.48327384136951634,  0.9095160983166302,   0.9329479789944835,   0.9563798596723369,   0.9678139895937069,
        0.9756160290382705,   0.983418068482834,    0.9662626774379957,   0.9579524008649314,   0.9496421242918673}},
      {{2, 2}, 1.0, 0, true,
       {0.49329664641913806, -0.503899566616256,   -0.22534499587644902, -0.4466405889614494,  -0.04334370534619042,
        -0.6238719236440401, -0.40153563614190835, -0.8176305395010841,  0.14048240942361362,  0.06458267694998239,
        0.11812679527774253, 0.04093900477931161,  -0.10106373820288922, 0.04505067671967347,  -0.009569972366919552,
        -0.1860174237622588, 0.0,                  0.0,                  0.0,                  0.0}},
      {{1, 2}, 2.0, 3, false,
       {-0.06008901811602948, 0.1564723852756016, -0.5337774831590375, 0.07408091428463716, -0.6840645615386458,
        -0.2997145266551781, 0.0, 0.0, 0.0, 0.0}},
  };
  for (const Case& c : cases) {
    CAPTURE(c.scale);
    CAPTURE(c.aligned);
    Tensor y = roi_align(x, boxes, c.out, c.scale, c.sampling_ratio, c.aligned);
    REQUIRE(y.shape() == Shape{5, 2, c.out.h, c.out.w});
    CHECK_CLOSE(y.select(1, 1).contiguous().reshape({-1}), from_vector<double>(c.channel1), 1e-12, 1e-12);
    // The naive loop gives the same for both channels.
    std::vector<double> ref = roi_align_reference(x.to_vector<double>(), 2, 6, 7, boxes.to_vector<double>(), c.out.h,
                                                  c.out.w, c.scale, c.sampling_ratio, c.aligned);
    CHECK_CLOSE(y, from_vector<double>(ref, y.shape()), 1e-12, 1e-12);
    // f32 features and boxes.
    CHECK_CLOSE(roi_align(x.to(DType::f32), boxes.to(DType::f32), c.out, c.scale, c.sampling_ratio, c.aligned), y,
                1e-5, 1e-5);
  }
}

TEST_CASE("roi_align gradients, random boxes, non-contiguous inputs") {
  Tensor x = randn64({2, 3, 7, 6}, 60);
  Tensor boxes = from_vector<double>({1, 0.3, 0.7, 4.1, 5.9, 0, -0.8, 2.2, 3.3, 3.1, 1, 2.0, 1.0, 7.5, 8.0,
                                      0, 1.1, 1.2, 1.6, 1.9},
                                     {4, 5});
  struct Case {
    Size2 out;
    double scale;
    int64_t sampling_ratio;
    bool aligned;
  };
  for (Case c : std::vector<Case>{{{2, 2}, 1.0, -1, false}, {{3, 2}, 0.75, 2, true}, {1, 1.0, 1, false},
                                  {{2, 3}, 1.3, 0, true}}) {
    CAPTURE(c.scale);
    CAPTURE(c.aligned);
    Tensor y = roi_align(x, boxes, c.out, c.scale, c.sampling_ratio, c.aligned);
    std::vector<double> ref = roi_align_reference(x.to_vector<double>(), 3, 7, 6, boxes.to_vector<double>(), c.out.h,
                                                  c.out.w, c.scale, c.sampling_ratio, c.aligned);
    CHECK_CLOSE(y, from_vector<double>(ref, y.shape()), 1e-12, 1e-12);
    CHECK_GRADCHECK([&](const std::vector<Tensor>& in) {
      return roi_align(in[0], boxes, c.out, c.scale, c.sampling_ratio, c.aligned);
    }, (std::vector<Tensor>{x}), GradcheckOptions{});
  }
  // Non-contiguous features and boxes (a column slice of a wider table).
  Tensor xs = noncontiguous(x).requires_grad_();
  Tensor wide = zeros({4, 7}, DType::f64);
  wide.slice(1, 1, 6).copy_(boxes);
  Tensor bs = wide.slice(1, 1, 6);
  CHECK(!bs.is_contiguous());
  CHECK_CLOSE(roi_align(xs, bs, 2), roi_align(x, boxes, 2), 0, 0);
  CHECK_GRADCHECK([bs](const std::vector<Tensor>& in) { return roi_align(in[0], bs, 2, 0.5, 2, true); },
                  (std::vector<Tensor>{xs}), GradcheckOptions{});
  // Boxes that require grad get none (torchvision: features only); f32 boxes with f64 features.
  Tensor bg = boxes.detach().clone().requires_grad_();
  sum(roi_align(x, bg, 2)).backward();
  CHECK(!bg.grad().defined());
  CHECK_CLOSE(roi_align(x, boxes.to(DType::f32), 2), roi_align(x, boxes.to(DType::f32).to(DType::f64), 2), 0, 0);
  // No boxes: an empty result, and a zero gradient.
  Tensor none = zeros({0, 5}, DType::f64);
  Tensor x2 = randn64({1, 2, 3, 3}, 61);
  Tensor e = roi_align(x2, none, 2);
  CHECK(e.shape() == Shape{0, 2, 2, 2});
  sum(e).backward();
  CHECK_CLOSE(x2.grad(), zeros({1, 2, 3, 3}, DType::f64), 0, 0);
}

TEST_CASE("roi_align errors") {
  Tensor x = randn64({2, 3, 5, 5}, 1, false);
  Tensor b = from_vector<double>({0, 1, 1, 3, 3}, {1, 5});
  CHECK_THROWS_WITH_SUBSTR(roi_align(x[0], b, 2), "must be [N, C, H, W]");
  CHECK_THROWS_WITH_SUBSTR(roi_align(x, from_vector<double>({1, 1, 3, 3}, {1, 4}), 2), "boxes must be [K, 5]");
  CHECK_THROWS_WITH_SUBSTR(roi_align(x, from_vector<double>({0, 1, 1, 3, 3}), 2), "boxes must be [K, 5]");
  CHECK_THROWS_WITH_SUBSTR(roi_align(x, b.to(DType::i64), 2), "boxes must be floating");
  CHECK_THROWS_WITH_SUBSTR(roi_align(x, b, {0, 2}), "output size must be positive");
  CHECK_THROWS_WITH_SUBSTR(roi_align(x, b, 2, 0.0), "spatial_scale must be positive");
  CHECK_THROWS_WITH_SUBSTR(roi_align(x, b, 2, INFINITY), "spatial_scale must be positive");
  CHECK_THROWS_WITH_SUBSTR(roi_align(x, from_vector<double>({2, 1, 1, 3, 3}, {1, 5}), 2),
                           "batch index 2 but the input has 2 images");
  CHECK_THROWS_WITH_SUBSTR(roi_align(x, from_vector<double>({-1, 1, 1, 3, 3}, {1, 5}), 2), "batch index -1");
  CHECK_THROWS_WITH_SUBSTR(roi_align(x, from_vector<double>({0, 1, NAN, 3, 3}, {1, 5}), 2), "non-finite");
  CHECK_THROWS_WITH_SUBSTR(roi_align(x, from_vector<double>({0, 0, 0, 1e12, 1e12}, {1, 5}), 2),
                           "pass a small positive sampling_ratio");
  CHECK_THROWS_WITH_SUBSTR(roi_align(x, b, 2, 1.0, int64_t(1) << 40), "samples per bin");
  CHECK_THROWS_WITH_SUBSTR(roi_align(x.to(DType::i64), b, 2), "needs a floating tensor");
  CHECK_THROWS_WITH_SUBSTR(roi_align(zeros({1, 1, 0, 4}, DType::f64), b, 2), "empty spatial dim");
  CHECK_THROWS_WITH_SUBSTR(roi_align(Tensor(), b, 2), "undefined");
}
