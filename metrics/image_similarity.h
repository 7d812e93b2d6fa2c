// Full-reference image similarity as scikit-image computes it: PSNR (peak_signal_noise_ratio) and
// SSIM (structural_similarity, Wang et al. 2004), with SSIM's map averaged over a mask as a variant.
// Images are Tensors [H, W] (grey) or [H, W, C] (channels last, e.g. an iris Image's bytes through
// from_buffer), dtype u8, f32 or f64, on any device; both images of a pair have the same shape.
// Everything is computed in double: equal to skimage run on float64 (or uint8) arrays; skimage on
// float32 arrays works in float32 and agrees to about 1e-6.
// SSIM, per channel (skimage's channel_axis=-1: the mean over channels):
//   local means / variances / covariance under a window w, filtered with scipy.ndimage's 'reflect'
//   border (d c b a | a b c d | d c b a); variances times NP / (NP - 1) (NP = window pixels) with
//   sample_covariance; S = (2 ux uy + C1)(2 vxy + C2) / ((ux^2 + uy^2 + C1)(vx + vy + C2)),
//   C1 = (K1 R)^2, C2 = (K2 R)^2, R = data_range; SSIM = mean of S over the map cropped by
//   (win - 1) / 2 on every side (skimage's crop).
//   Windows: SsimOptions::uniform7() (skimage's default: 7x7 box, sample covariance) and
//   SsimOptions::gaussian11() (gaussian_weights=True, sigma 1.5, use_sample_covariance=False: the
//   Gaussian truncated at 3.5 sigma, 11x11, normalised to sum 1).
// Masked SSIM: the mean of S over the cropped map's pixels whose mask is nonzero (windows whose centre
//   lies in the mask), then over channels.
// Leaves out: SSIM's gradient, MS-SSIM, 3-D volumes, and other K1/K2 than skimage's defaults unless set.
#pragma once

#include <cstdint>

#include "tensor/tensor.h"

namespace iris::metrics {

struct SsimOptions {
  bool gaussian = false;          // false: a win_size x win_size uniform window
  int64_t win_size = 7;           // uniform window side (odd); the Gaussian's follows from sigma
  double sigma = 1.5;             // Gaussian: side 2 * int(3.5 sigma + 0.5) + 1
  bool sample_covariance = true;  // variances times NP / (NP - 1)
  double data_range = 0;          // R; 0: 255 for u8 images, required for float images (as skimage)
  double k1 = 0.01, k2 = 0.03;

  static SsimOptions uniform7(double data_range = 0);
  static SsimOptions gaussian11(double data_range = 0);
  int64_t window_side() const;
};

// Mean SSIM of two images. Throws naming the shapes when they differ or are not [H, W] / [H, W, C],
// when the window is larger than the image or even, or when a float image comes without data_range.
double ssim(const Tensor& a, const Tensor& b, const SsimOptions& options);
// S per pixel before the crop: [H, W, C] f64 (C = 1 for grey images), skimage's full=True map.
Tensor ssim_map(const Tensor& a, const Tensor& b, const SsimOptions& options);
// mask: [H, W], any dtype, nonzero = in. Throws when no pixel of the cropped map is in the mask.
double ssim_masked(const Tensor& a, const Tensor& b, const Tensor& mask, const SsimOptions& options);

// 10 log10(R^2 / MSE) over every pixel and channel; +inf for identical images. data_range 0 follows
// skimage: 255 for u8, and for float images 1 when `reference` has no negative value, else 2 (it then
// must lie in [-1, 1]).
double psnr(const Tensor& reference, const Tensor& test, double data_range = 0);

}  // namespace iris::metrics
