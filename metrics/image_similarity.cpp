// PSNR and SSIM as scikit-image (see image_similarity.h): separable window filters with scipy's
// 'reflect' border, in double.
// Leaves out: a GPU path (images are copied to the CPU).
#include "metrics/image_similarity.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "tensor/error.h"
#include "tensor/shape.h"

namespace iris::metrics {

SsimOptions SsimOptions::uniform7(double data_range) {
  SsimOptions o;
  o.data_range = data_range;
  return o;
}

SsimOptions SsimOptions::gaussian11(double data_range) {
  SsimOptions o;
  o.gaussian = true;
  o.sample_covariance = false;
  o.data_range = data_range;
  return o;
}

int64_t SsimOptions::window_side() const {
  return gaussian ? 2 * static_cast<int64_t>(3.5 * sigma + 0.5) + 1 : win_size;
}

namespace {

struct Planes {
  int64_t h = 0, w = 0, c = 0;
  std::vector<double> a, b;  // [H, W, C] each
};

Planes load_pair(const Tensor& a, const Tensor& b, const char* who) {
  IRIS_CHECK(a.shape() == b.shape(), who, ": the images differ in shape: ", shape_str(a.shape()), " and ",
             shape_str(b.shape()));
  IRIS_CHECK(a.dim() == 2 || a.dim() == 3, who, ": images must be [H, W] or [H, W, C], got ", shape_str(a.shape()));
  for (const Tensor* t : {&a, &b})
    IRIS_CHECK(t->dtype() == DType::u8 || t->dtype() == DType::f32 || t->dtype() == DType::f64, who,
               ": images must be u8, f32 or f64, got ", dtype_name(t->dtype()));
  Planes p;
  p.h = a.shape()[0];
  p.w = a.shape()[1];
  p.c = a.dim() == 3 ? a.shape()[2] : 1;
  p.a = a.cpu().to(DType::f64).contiguous().to_vector<double>();
  p.b = b.cpu().to(DType::f64).contiguous().to_vector<double>();
  return p;
}

// scipy.ndimage 'reflect': d c b a | a b c d | d c b a (one reflection: the radius is below n).
inline int64_t reflect(int64_t i, int64_t n) { return i < 0 ? -i - 1 : (i >= n ? 2 * n - i - 1 : i); }

// The window's 1-D weights (the 2-D window is their outer product).
std::vector<double> window_weights(const SsimOptions& o) {
  const int64_t side = o.window_side();
  std::vector<double> w(side);
  if (!o.gaussian) {
    std::fill(w.begin(), w.end(), 1.0 / static_cast<double>(side));
    return w;
  }
  const int64_t r = side / 2;
  double sum = 0;
  for (int64_t i = 0; i < side; ++i) {
    const double x = static_cast<double>(i - r);
    w[i] = std::exp(-0.5 * x * x / (o.sigma * o.sigma));
    sum += w[i];
  }
  for (double& v : w) v /= sum;
  return w;
}

// Separable filter of an [H, W] plane: along rows (W) then columns (H).
std::vector<double> filter2d(const std::vector<double>& in, int64_t h, int64_t w, const std::vector<double>& k) {
  const int64_t r = static_cast<int64_t>(k.size()) / 2;
  std::vector<double> tmp(in.size()), out(in.size());
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x) {
      double acc = 0;
      for (int64_t j = -r; j <= r; ++j) acc += k[j + r] * in[y * w + reflect(x + j, w)];
      tmp[y * w + x] = acc;
    }
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x) {
      double acc = 0;
      for (int64_t j = -r; j <= r; ++j) acc += k[j + r] * tmp[reflect(y + j, h) * w + x];
      out[y * w + x] = acc;
    }
  return out;
}

double ssim_data_range(const Tensor& a, const Tensor& b, const SsimOptions& o, const char* who) {
  if (o.data_range > 0) return o.data_range;
  IRIS_CHECK(o.data_range == 0, who, ": data_range ", o.data_range, " must be positive (or 0: from the dtype)");
  IRIS_CHECK(a.dtype() == DType::u8 && b.dtype() == DType::u8, who,
             ": float images need SsimOptions::data_range (1 for images in [0, 1]), as skimage requires");
  return 255.0;
}

// S per pixel, [H, W, C].
std::vector<double> compute_map(const Tensor& ta, const Tensor& tb, const SsimOptions& o, const char* who,
                                Planes& p) {
  const double range = ssim_data_range(ta, tb, o, who);
  p = load_pair(ta, tb, who);
  const int64_t side = o.window_side();
  IRIS_CHECK(side % 2 == 1 && side >= 1, who, ": the window side ", side, " must be odd");
  IRIS_CHECK(p.h >= side && p.w >= side, who, ": the ", side, "x", side, " window exceeds the ", p.h, "x", p.w,
             " image");
  const std::vector<double> k = window_weights(o);
  const double np_ = static_cast<double>(side * side);
  const double cov_norm = o.sample_covariance ? np_ / (np_ - 1) : 1.0;
  const double c1 = (o.k1 * range) * (o.k1 * range), c2 = (o.k2 * range) * (o.k2 * range);
  const int64_t hw = p.h * p.w;
  std::vector<double> s(static_cast<size_t>(hw * p.c));
  std::vector<double> x(hw), y(hw), xx(hw), yy(hw), xy(hw);
  for (int64_t ch = 0; ch < p.c; ++ch) {
    for (int64_t i = 0; i < hw; ++i) {
      x[i] = p.a[i * p.c + ch];
      y[i] = p.b[i * p.c + ch];
      xx[i] = x[i] * x[i];
      yy[i] = y[i] * y[i];
      xy[i] = x[i] * y[i];
    }
    const std::vector<double> ux = filter2d(x, p.h, p.w, k), uy = filter2d(y, p.h, p.w, k),
                              uxx = filter2d(xx, p.h, p.w, k), uyy = filter2d(yy, p.h, p.w, k),
                              uxy = filter2d(xy, p.h, p.w, k);
    for (int64_t i = 0; i < hw; ++i) {
      const double vx = cov_norm * (uxx[i] - ux[i] * ux[i]);
      const double vy = cov_norm * (uyy[i] - uy[i] * uy[i]);
      const double vxy = cov_norm * (uxy[i] - ux[i] * uy[i]);
      const double a1 = 2 * ux[i] * uy[i] + c1, a2 = 2 * vxy + c2;
      const double b1 = ux[i] * ux[i] + uy[i] * uy[i] + c1, b2 = vx + vy + c2;
      s[i * p.c + ch] = (a1 * a2) / (b1 * b2);
    }
  }
  return s;
}

// Mean over channels of the mean of S over the cropped pixels kept by `keep` (all when null).
double cropped_mean(const std::vector<double>& s, const Planes& p, int64_t side, const std::vector<double>* keep,
                    const char* who) {
  const int64_t pad = (side - 1) / 2;
  double total = 0;
  int64_t count = 0;
  for (int64_t y = pad; y < p.h - pad; ++y)
    for (int64_t x = pad; x < p.w - pad; ++x) {
      if (keep != nullptr && (*keep)[y * p.w + x] == 0) continue;
      ++count;
      for (int64_t ch = 0; ch < p.c; ++ch) total += s[(y * p.w + x) * p.c + ch];
    }
  IRIS_CHECK(count > 0, who, ": no pixel of the mask lies inside the map cropped by ", pad, " on each side");
  return total / static_cast<double>(count * p.c);
}

}  // namespace

Tensor ssim_map(const Tensor& a, const Tensor& b, const SsimOptions& options) {
  Planes p;
  std::vector<double> s = compute_map(a, b, options, "ssim_map", p);
  return from_vector(s, Shape{p.h, p.w, p.c});
}

double ssim(const Tensor& a, const Tensor& b, const SsimOptions& options) {
  Planes p;
  std::vector<double> s = compute_map(a, b, options, "ssim", p);
  return cropped_mean(s, p, options.window_side(), nullptr, "ssim");
}

double ssim_masked(const Tensor& a, const Tensor& b, const Tensor& mask, const SsimOptions& options) {
  Planes p;
  std::vector<double> s = compute_map(a, b, options, "ssim_masked", p);
  IRIS_CHECK(mask.dim() == 2 && mask.shape()[0] == p.h && mask.shape()[1] == p.w,
             "ssim_masked: the mask must be [H, W] = [", p.h, ", ", p.w, "], got ", shape_str(mask.shape()));
  const std::vector<double> keep = mask.cpu().to(DType::f64).contiguous().to_vector<double>();
  return cropped_mean(s, p, options.window_side(), &keep, "ssim_masked");
}

double psnr(const Tensor& reference, const Tensor& test, double data_range) {
  Planes p = load_pair(reference, test, "psnr");
  IRIS_CHECK(data_range >= 0, "psnr: data_range ", data_range, " must be positive (or 0: from the dtype)");
  if (data_range == 0) {
    if (reference.dtype() == DType::u8) {
      data_range = 255;
    } else {
      const auto [lo, hi] = std::minmax_element(p.a.begin(), p.a.end());
      const double mn = p.a.empty() ? 0 : *lo, mx = p.a.empty() ? 0 : *hi;
      IRIS_CHECK(mn >= -1 && mx <= 1, "psnr: a float reference image with values in [", mn, ", ", mx,
                 "] needs data_range (without it skimage assumes [-1, 1])");
      data_range = mn >= 0 ? 1.0 : 2.0;
    }
  }
  IRIS_CHECK(!p.a.empty(), "psnr: the images are empty");
  double mse = 0;
  for (size_t i = 0; i < p.a.size(); ++i) mse += (p.a[i] - p.b[i]) * (p.a[i] - p.b[i]);
  mse /= static_cast<double>(p.a.size());
  if (mse == 0) return std::numeric_limits<double>::infinity();
  return 10 * std::log10(data_range * data_range / mse);
}

}  // namespace iris::metrics
