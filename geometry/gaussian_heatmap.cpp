// CenterNet heatmap targets (gaussian_heatmap.h), transcribed from the reference formulas.
#include "geometry/gaussian_heatmap.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace iris {

double gaussian_radius(double height, double width, double min_overlap) {
  IRIS_CHECK(height >= 0 && width >= 0, "gaussian_radius: the box size must be >= 0, got ", height, " x ", width);
  IRIS_CHECK(min_overlap > 0 && min_overlap < 1, "gaussian_radius: min_overlap must be in (0, 1), got ", min_overlap);
  const double a1 = 1, b1 = height + width, c1 = width * height * (1 - min_overlap) / (1 + min_overlap);
  const double r1 = (b1 + std::sqrt(b1 * b1 - 4 * a1 * c1)) / 2;
  const double a2 = 4, b2 = 2 * (height + width), c2 = (1 - min_overlap) * width * height;
  const double r2 = (b2 + std::sqrt(b2 * b2 - 4 * a2 * c2)) / 2;
  const double a3 = 4 * min_overlap, b3 = -2 * min_overlap * (height + width);
  const double c3 = (min_overlap - 1) * width * height;
  const double r3 = (b3 + std::sqrt(b3 * b3 - 4 * a3 * c3)) / 2;
  return std::min(r1, std::min(r2, r3));
}

void draw_gaussian(std::vector<double>& heatmap, int64_t height, int64_t width, double cx, double cy,
                   int64_t radius, double k) {
  IRIS_CHECK(height >= 0 && width >= 0 && static_cast<int64_t>(heatmap.size()) == height * width,
             "draw_gaussian: the heatmap holds ", heatmap.size(), " values, expected ", height, " x ", width);
  IRIS_CHECK(radius >= 0, "draw_gaussian: radius must be >= 0, got ", radius);
  const int64_t d = 2 * radius + 1;
  const double sigma = static_cast<double>(d) / 6.0;
  // gaussian2D((d, d), sigma): offsets -r..r; values below eps * max are zeroed (max is 1, the centre).
  std::vector<double> g(static_cast<size_t>(d * d));
  for (int64_t i = 0; i < d; ++i)
    for (int64_t j = 0; j < d; ++j) {
      const double y = static_cast<double>(i - radius), x = static_cast<double>(j - radius);
      g[i * d + j] = std::exp(-(x * x + y * y) / (2 * sigma * sigma));
    }
  const double cut = std::numeric_limits<double>::epsilon() * 1.0;
  for (double& v : g)
    if (v < cut) v = 0;
  const int64_t x = static_cast<int64_t>(cx), y = static_cast<int64_t>(cy);  // int(): towards zero
  IRIS_CHECK(cx >= 0 && cy >= 0 && x < width && y < height, "draw_gaussian: the centre (", cx, ", ", cy,
             ") must lie in the ", height, " x ", width, " heatmap");
  const int64_t left = std::min(x, radius), right = std::min(width - x, radius + 1);
  const int64_t top = std::min(y, radius), bottom = std::min(height - y, radius + 1);
  for (int64_t dy = -top; dy < bottom; ++dy)
    for (int64_t dx = -left; dx < right; ++dx) {
      double& h = heatmap[static_cast<size_t>((y + dy) * width + (x + dx))];
      h = std::max(h, g[static_cast<size_t>((radius + dy) * d + (radius + dx))] * k);
    }
}

Tensor draw_gaussian(const Tensor& heatmap, double cx, double cy, int64_t radius, double k) {
  IRIS_CHECK(heatmap.defined() && heatmap.dim() == 2 && is_floating(heatmap.dtype()),
             "draw_gaussian: heatmap must be a float [H, W] tensor, got ",
             heatmap.defined() ? shape_str(heatmap.shape()) + " " + dtype_name(heatmap.dtype())
                               : std::string("an undefined tensor"));
  std::vector<double> v = heatmap.cpu().to(DType::f64).contiguous().to_vector<double>();
  draw_gaussian(v, heatmap.shape()[0], heatmap.shape()[1], cx, cy, radius, k);
  return from_vector(v, heatmap.shape()).to(heatmap.dtype()).to(heatmap.device());
}

}  // namespace iris
