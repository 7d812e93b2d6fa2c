// Resampling ops on [N, C, H, W]: interpolate (nearest, bilinear; by size or by scale factor, with
// PyTorch's coordinate maps, where a given scale factor enters the map as 1/scale) and roi_align
// (torchvision.ops.roi_align: boxes [K, 5], differentiable w.r.t. the features only).
// Leaves out bicubic/area/nearest-exact modes, recompute_scale_factor, antialiasing, 3-D/5-D
// inputs, and box lists (boxes must already carry their batch index).
#include <cmath>

#include "autograd/op_util.h"

namespace iris {

namespace {

using detail::contiguous_nograd;

// The most samples roi_align may average per output bin (a guard against runaway box sizes).
constexpr double kMaxSamplesPerBin = double(int64_t(1) << 24);

// scale_h/scale_w > 0: the scale factor the output size came from (it then drives the map).
Tensor resize(const Tensor& x, int64_t Ho, int64_t Wo, double scale_h, double scale_w, InterpMode mode,
              bool align_corners) {
  const int kernel_mode = mode == InterpMode::nearest ? 0 : 1;
  const Shape in_shape = x.shape();
  Tensor out = empty({in_shape[0], in_shape[1], Ho, Wo}, {x.dtype(), x.device()});
  if (out.numel() > 0)
    backend(x.device()).upsample2d(contiguous_nograd(x.detach()), kernel_mode, align_corners, scale_h, scale_w, out);
  return record(mode == InterpMode::nearest ? "UpsampleNearest2dBackward" : "UpsampleBilinear2dBackward", out, {x},
                [in_shape, kernel_mode, align_corners, scale_h, scale_w](const Tensor& grad) {
                  Tensor grad_x = empty(in_shape, {grad.dtype(), grad.device()});
                  if (grad_x.numel() > 0)
                    backend(grad.device())
                        .upsample2d_backward(contiguous_nograd(grad), kernel_mode, align_corners, scale_h, scale_w,
                                             grad_x);
                  return std::vector<Tensor>{grad_x};
                });
}

void check_interpolate_input(const Tensor& x, InterpMode mode, bool align_corners) {
  IRIS_CHECK(x.defined(), "interpolate: the input is undefined");
  IRIS_CHECK(x.dim() == 4, "interpolate: input must be [N, C, H, W], got shape ", shape_str(x.shape()),
             "; add a batch dim with unsqueeze(0)");
  detail::check_floating("interpolate", x);
  IRIS_CHECK(x.shape()[2] > 0 && x.shape()[3] > 0, "interpolate: input of shape ", shape_str(x.shape()),
             " has an empty spatial dim");
  IRIS_CHECK(!(align_corners && mode == InterpMode::nearest),
             "interpolate: align_corners only applies to bilinear mode; pass align_corners=false with nearest");
}

}  // namespace

Tensor interpolate(const Tensor& x, Size2 size, InterpMode mode, bool align_corners) {
  check_interpolate_input(x, mode, align_corners);
  IRIS_CHECK(size.h > 0 && size.w > 0, "interpolate: output size must be positive, got (", size.h, ", ", size.w,
             ")");
  return resize(x, size.h, size.w, -1.0, -1.0, mode, align_corners);
}

Tensor interpolate_by_scale(const Tensor& x, double scale_factor, InterpMode mode, bool align_corners) {
  check_interpolate_input(x, mode, align_corners);
  IRIS_CHECK(std::isfinite(scale_factor) && scale_factor > 0,
             "interpolate: scale_factor must be positive and finite, got ", scale_factor);
  // Output size floor(in * scale), as PyTorch.
  const double h = std::floor(static_cast<double>(x.shape()[2]) * scale_factor);
  const double w = std::floor(static_cast<double>(x.shape()[3]) * scale_factor);
  IRIS_CHECK(h >= 1 && w >= 1, "interpolate: scale_factor ", scale_factor, " turns input of shape ",
             shape_str(x.shape()), " into an empty output; use a larger scale_factor");
  IRIS_CHECK(h < 2147483648.0 && w < 2147483648.0, "interpolate: scale_factor ", scale_factor,
             " gives an output of ", h, "x", w, ", too large");
  return resize(x, static_cast<int64_t>(h), static_cast<int64_t>(w), scale_factor, scale_factor, mode, align_corners);
}

Tensor roi_align(const Tensor& x, const Tensor& boxes, Size2 output_size, double spatial_scale,
                 int64_t sampling_ratio, bool aligned) {
  const char* op = "roi_align";
  IRIS_CHECK(x.defined() && boxes.defined(), "roi_align: input or boxes is undefined");
  IRIS_CHECK(x.dim() == 4, "roi_align: input must be [N, C, H, W], got shape ", shape_str(x.shape()));
  detail::check_floating(op, x);
  detail::check_same_device(op, {&x, &boxes});
  IRIS_CHECK(boxes.dim() == 2 && boxes.shape()[1] == 5, "roi_align: boxes must be [K, 5] rows of (batch index, x1, ",
             "y1, x2, y2), got shape ", shape_str(boxes.shape()));
  IRIS_CHECK(is_floating(boxes.dtype()), "roi_align: boxes must be floating, got ", dtype_name(boxes.dtype()),
             "; convert with .to(DType::f32)");
  IRIS_CHECK(output_size.h > 0 && output_size.w > 0, "roi_align: output size must be positive, got (",
             output_size.h, ", ", output_size.w, ")");
  IRIS_CHECK(std::isfinite(spatial_scale) && spatial_scale > 0,
             "roi_align: spatial_scale must be positive and finite, got ", spatial_scale);
  const int64_t N = x.shape()[0];
  IRIS_CHECK(x.shape()[2] > 0 && x.shape()[3] > 0, "roi_align: input of shape ", shape_str(x.shape()),
             " has an empty spatial dim");

  // Boxes in x's dtype (what the kernel reads), validated on the host: they are few.
  Tensor bx = contiguous_nograd(detail::cast(boxes.detach(), x.dtype()));
  const std::vector<double> b = bx.to_vector<double>();
  for (int64_t k = 0; k < boxes.shape()[0]; ++k) {
    const double* r = &b[5 * k];
    for (int i = 0; i < 5; ++i)
      IRIS_CHECK(std::isfinite(r[i]), "roi_align: box ", k, " has a non-finite value (", r[i], ")");
    IRIS_CHECK(r[0] >= 0 && r[0] < static_cast<double>(N), "roi_align: box ", k, " has batch index ", r[0],
               " but the input has ", N, " images");
    double roi_w = (r[3] - r[1]) * spatial_scale, roi_h = (r[4] - r[2]) * spatial_scale;
    if (!aligned) {
      roi_w = std::max(roi_w, 1.0);
      roi_h = std::max(roi_h, 1.0);
    }
    const double grid_h = sampling_ratio > 0 ? sampling_ratio : std::ceil(roi_h / output_size.h);
    const double grid_w = sampling_ratio > 0 ? sampling_ratio : std::ceil(roi_w / output_size.w);
    bool moderate = std::max(grid_h, 0.0) * std::max(grid_w, 0.0) <= kMaxSamplesPerBin;
    for (int i = 1; i < 5; ++i) moderate = moderate && std::fabs(r[i] * spatial_scale) < 1e9;
    IRIS_CHECK(moderate,
               "roi_align: box ", k, " (", r[1], ", ", r[2], ", ", r[3], ", ", r[4], ") at spatial_scale ",
               spatial_scale, " would average ", grid_h, "x", grid_w,
               " samples per bin; pass a small positive sampling_ratio or check the box units");
  }

  RoiAlignParams p{output_size.h, output_size.w, spatial_scale, sampling_ratio, aligned};
  const Shape in_shape = x.shape();
  Tensor out = empty({boxes.shape()[0], in_shape[1], p.out_h, p.out_w}, {x.dtype(), x.device()});
  if (out.numel() > 0) backend(x.device()).roi_align(contiguous_nograd(x.detach()), bx, p, out);
  return record("RoiAlignBackward", out, {x}, [bx, p, in_shape](const Tensor& grad) {
    Tensor grad_x = empty(in_shape, {grad.dtype(), grad.device()});
    if (grad_x.numel() > 0) backend(grad.device()).roi_align_backward(contiguous_nograd(grad), bx, p, grad_x);
    return std::vector<Tensor>{grad_x};
  });
}

}  // namespace iris
