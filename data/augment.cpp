// Batch augmentations on the host: one pass of plain loops per batch; random numbers come from
// one rand() draw of the batch's Generator, so a batch is reproducible from its seed.
#include "data/augment.h"

#include <cmath>

namespace iris::data {

namespace {

void check_images(const Tensor& x, const char* op) {
  IRIS_CHECK(x.defined() && x.dim() == 4 && x.dtype() == DType::f32 && x.device().is_cpu(), op,
             ": expects f32 CPU images [B, C, H, W], got ",
             x.defined() ? shape_str(x.shape()) + " " + dtype_name(x.dtype()) : std::string("undefined"));
}

}  // namespace

Tensor random_crop(const Tensor& x0, int64_t padding, Generator& rng) {
  check_images(x0, "random_crop");
  IRIS_CHECK(padding >= 0, "random_crop: padding must be >= 0, got ", padding);
  Tensor x = x0.contiguous();
  const int64_t B = x.shape()[0], C = x.shape()[1], H = x.shape()[2], W = x.shape()[3];
  Tensor out = zeros(x.shape());
  std::vector<float> r = rand({B, 2}, DType::f32, &rng).to_vector<float>();
  const float* src = x.data<float>();
  float* dst = out.data<float>();
  for (int64_t b = 0; b < B; ++b) {
    // offset in the padded image, 0..2*padding; shift = offset - padding
    int64_t dy = static_cast<int64_t>(r[2 * b] * (2 * padding + 1)) - padding;
    int64_t dx = static_cast<int64_t>(r[2 * b + 1] * (2 * padding + 1)) - padding;
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < H; ++i) {
        int64_t si = i + dy;
        if (si < 0 || si >= H) continue;
        for (int64_t j = 0; j < W; ++j) {
          int64_t sj = j + dx;
          if (sj >= 0 && sj < W) dst[((b * C + c) * H + i) * W + j] = src[((b * C + c) * H + si) * W + sj];
        }
      }
  }
  return out;
}

Tensor random_horizontal_flip(const Tensor& x0, Generator& rng, double p) {
  check_images(x0, "random_horizontal_flip");
  Tensor x = x0.contiguous();
  const int64_t B = x.shape()[0], C = x.shape()[1], H = x.shape()[2], W = x.shape()[3];
  Tensor out = x.clone();
  std::vector<float> r = rand({B}, DType::f32, &rng).to_vector<float>();
  const float* src = x.data<float>();
  float* dst = out.data<float>();
  for (int64_t b = 0; b < B; ++b) {
    if (r[b] >= p) continue;
    for (int64_t row = 0; row < C * H; ++row)
      for (int64_t j = 0; j < W; ++j) dst[(b * C * H + row) * W + j] = src[(b * C * H + row) * W + (W - 1 - j)];
  }
  return out;
}

Tensor normalize_channels(const Tensor& x0, const std::vector<double>& mean, const std::vector<double>& stdv) {
  check_images(x0, "normalize_channels");
  const int64_t C = x0.shape()[1];
  IRIS_CHECK((mean.size() == 1 || static_cast<int64_t>(mean.size()) == C) && mean.size() == stdv.size(),
             "normalize_channels: need 1 or C=", C, " means and stds, got ", mean.size(), " and ", stdv.size());
  Tensor x = x0.contiguous();
  Tensor out = empty(x.shape());
  const int64_t B = x.shape()[0], HW = x.shape()[2] * x.shape()[3];
  const float* src = x.data<float>();
  float* dst = out.data<float>();
  for (int64_t b = 0; b < B; ++b)
    for (int64_t c = 0; c < C; ++c) {
      double m = mean[mean.size() == 1 ? 0 : c], s = stdv[stdv.size() == 1 ? 0 : c];
      IRIS_CHECK(s > 0, "normalize_channels: std must be positive, got ", s);
      float inv = static_cast<float>(1.0 / s), mf = static_cast<float>(m);
      const float* a = src + (b * C + c) * HW;
      float* o = dst + (b * C + c) * HW;
      for (int64_t i = 0; i < HW; ++i) o[i] = (a[i] - mf) * inv;
    }
  return out;
}

Tensor random_erasing(const Tensor& x0, Generator& rng, double p, double area_min, double area_max, double value) {
  check_images(x0, "random_erasing");
  IRIS_CHECK(p >= 0 && p <= 1 && area_min > 0 && area_min <= area_max && area_max <= 1,
             "random_erasing: need 0 <= p <= 1 and 0 < area_min <= area_max <= 1");
  Tensor out = x0.contiguous().clone();
  const int64_t B = out.shape()[0], C = out.shape()[1], H = out.shape()[2], W = out.shape()[3];
  constexpr int kTries = 10;
  std::vector<float> r = rand({B, 1 + 4 * kTries}, DType::f32, &rng).to_vector<float>();
  float* dst = out.data<float>();
  const double log_lo = std::log(1.0 / 3.3), log_hi = std::log(3.3);
  for (int64_t b = 0; b < B; ++b) {
    const float* u = &r[b * (1 + 4 * kTries)];
    if (u[0] >= p) continue;
    for (int t = 0; t < kTries; ++t) {
      const float* v = u + 1 + 4 * t;
      double area = (area_min + (area_max - area_min) * v[0]) * static_cast<double>(H * W);
      double aspect = std::exp(log_lo + (log_hi - log_lo) * v[1]);
      int64_t h = static_cast<int64_t>(std::round(std::sqrt(area * aspect)));
      int64_t w = static_cast<int64_t>(std::round(std::sqrt(area / aspect)));
      if (h < 1 || w < 1 || h > H || w > W) continue;
      int64_t top = static_cast<int64_t>(v[2] * (H - h + 1)), left = static_cast<int64_t>(v[3] * (W - w + 1));
      for (int64_t c = 0; c < C; ++c)
        for (int64_t i = top; i < top + h; ++i)
          for (int64_t j = left; j < left + w; ++j) dst[((b * C + c) * H + i) * W + j] = static_cast<float>(value);
      break;
    }
  }
  return out;
}

}  // namespace iris::data
