// CPU resampling kernels: 2-D upsampling / resizing (nearest and bilinear, PyTorch's coordinate
// maps) and RoIAlign (torchvision's sampling rule), each with its backward. Inputs are contiguous
// NCHW; work is split over (image, channel) planes so that no two threads write one element.
// Backward kernels overwrite grad_x. Leaves out bicubic/area modes and every argument check.
#include <algorithm>
#include <cmath>
#include <vector>

#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/loops.h"
#include "tensor/resample_geometry.h"
#include "tensor/roi_geometry.h"

namespace iris::cpu {

namespace {

// ---- upsampling ---------------------------------------------------------------------------

// The coordinate maps (nearest_map, linear_map) are in tensor/resample_geometry.h, shared with CUDA.

// x [P, H, W] -> out [P, Ho, Wo], P = N * C planes.
template <class T>
void upsample_typed(const T* x, int64_t P, int64_t H, int64_t W, int64_t Ho, int64_t Wo, int mode,
                    bool align_corners, double scale_h, double scale_w, T* out) {
  if (mode == 0) {
    const std::vector<int64_t> src_h = nearest_map(H, Ho, scale_h), src_w = nearest_map(W, Wo, scale_w);
    parallel_for(P, Ho * Wo, [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p)
        for (int64_t oh = 0; oh < Ho; ++oh) {
          const T* xr = x + (p * H + src_h[oh]) * W;
          T* r = out + (p * Ho + oh) * Wo;
          for (int64_t ow = 0; ow < Wo; ++ow) r[ow] = xr[src_w[ow]];
        }
    });
    return;
  }
  const auto th = linear_map<T>(H, Ho, align_corners, scale_h), tw = linear_map<T>(W, Wo, align_corners, scale_w);
  parallel_for(P, 4 * Ho * Wo, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p)
      for (int64_t oh = 0; oh < Ho; ++oh) {
        const T* r0 = x + (p * H + th[oh].i0) * W;
        const T* r1 = x + (p * H + th[oh].i1) * W;
        const T a0 = th[oh].l0, a1 = th[oh].l1;
        T* r = out + (p * Ho + oh) * Wo;
        for (int64_t ow = 0; ow < Wo; ++ow) {
          const LinearTap<T>& t = tw[ow];
          r[ow] = a0 * (t.l0 * r0[t.i0] + t.l1 * r0[t.i1]) + a1 * (t.l0 * r1[t.i0] + t.l1 * r1[t.i1]);
        }
      }
  });
}

// grad_x [P, H, W] (overwritten) <- the adjoint of upsample_typed applied to grad_out [P, Ho, Wo].
template <class T>
void upsample_backward_typed(const T* grad_out, int64_t P, int64_t H, int64_t W, int64_t Ho, int64_t Wo, int mode,
                             bool align_corners, double scale_h, double scale_w, T* grad_x) {
  if (mode == 0) {
    const std::vector<int64_t> src_h = nearest_map(H, Ho, scale_h), src_w = nearest_map(W, Wo, scale_w);
    parallel_for(P, Ho * Wo + H * W, [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p) {
        T* gp = grad_x + p * H * W;
        std::fill(gp, gp + H * W, T(0));
        for (int64_t oh = 0; oh < Ho; ++oh) {
          T* gr = gp + src_h[oh] * W;
          const T* r = grad_out + (p * Ho + oh) * Wo;
          for (int64_t ow = 0; ow < Wo; ++ow) gr[src_w[ow]] += r[ow];
        }
      }
    });
    return;
  }
  const auto th = linear_map<T>(H, Ho, align_corners, scale_h), tw = linear_map<T>(W, Wo, align_corners, scale_w);
  parallel_for(P, 4 * Ho * Wo + H * W, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      T* gp = grad_x + p * H * W;
      std::fill(gp, gp + H * W, T(0));
      for (int64_t oh = 0; oh < Ho; ++oh) {
        T* r0 = gp + th[oh].i0 * W;
        T* r1 = gp + th[oh].i1 * W;
        const T a0 = th[oh].l0, a1 = th[oh].l1;
        const T* r = grad_out + (p * Ho + oh) * Wo;
        for (int64_t ow = 0; ow < Wo; ++ow) {
          const LinearTap<T>& t = tw[ow];
          const T g = r[ow];
          r0[t.i0] += a0 * t.l0 * g;
          r0[t.i1] += a0 * t.l1 * g;
          r1[t.i0] += a1 * t.l0 * g;
          r1[t.i1] += a1 * t.l1 * g;
        }
      }
    }
  });
}

// ---- RoIAlign -----------------------------------------------------------------------------

// The sample positions and bilinear_sample are in tensor/roi_geometry.h, shared with CUDA.

// Calls f(bin index, sample) for every valid sample of every bin of one box.
template <class T, class F>
void for_each_roi_sample(const RoiGeometry<T>& r, const RoiAlignParams& p, int64_t H, int64_t W, F&& f) {
  for (int64_t ph = 0; ph < p.out_h; ++ph)
    for (int64_t pw = 0; pw < p.out_w; ++pw)
      for (int64_t iy = 0; iy < r.grid_h; ++iy) {
        const T y = roi_sample_y(r, ph, iy);
        for (int64_t ix = 0; ix < r.grid_w; ++ix) {
          const T x = roi_sample_x(r, pw, ix);
          BilinearSample<T> s;
          if (bilinear_sample(y, x, H, W, s)) f(ph * p.out_w + pw, s);
        }
      }
}

// x [N, C, H, W], boxes [K, 5] -> out [K, C, out_h, out_w].
template <class T>
void roi_align_typed(const T* x, int64_t N, int64_t C, int64_t H, int64_t W, const T* boxes, int64_t K,
                     const RoiAlignParams& p, T* out) {
  std::vector<RoiGeometry<T>> rois(K);
  int64_t samples = 1;
  for (int64_t k = 0; k < K; ++k) {
    rois[k] = roi_geometry(boxes + 5 * k, p);
    samples = std::max(samples, rois[k].grid_h * rois[k].grid_w);
  }
  const int64_t bins = p.out_h * p.out_w;
  parallel_for(K * C, bins * samples * 8, [&](int64_t i0, int64_t i1) {
    std::vector<T> acc(bins);
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t k = i / C, c = i % C;
      const RoiGeometry<T>& r = rois[k];
      std::fill(acc.begin(), acc.end(), T(0));
      if (r.batch >= 0 && r.batch < N) {
        const T* xp = x + (r.batch * C + c) * H * W;
        for_each_roi_sample(r, p, H, W, [&](int64_t bin, const BilinearSample<T>& s) {
          acc[bin] += s.w00 * xp[s.y0 * W + s.x0] + s.w01 * xp[s.y0 * W + s.x1] + s.w10 * xp[s.y1 * W + s.x0] +
                      s.w11 * xp[s.y1 * W + s.x1];
        });
      }
      T* op = out + i * bins;
      for (int64_t b = 0; b < bins; ++b) op[b] = acc[b] / r.count;
    }
  });
}

// grad_x [N, C, H, W] (overwritten): each (image, channel) plane collects from the boxes on its image.
template <class T>
void roi_align_backward_typed(const T* grad_out, int64_t N, int64_t C, int64_t H, int64_t W, const T* boxes,
                              int64_t K, const RoiAlignParams& p, T* grad_x) {
  std::vector<RoiGeometry<T>> rois(K);
  std::vector<std::vector<int64_t>> boxes_of_image(N);
  int64_t work = H * W;
  for (int64_t k = 0; k < K; ++k) {
    rois[k] = roi_geometry(boxes + 5 * k, p);
    if (rois[k].batch >= 0 && rois[k].batch < N) boxes_of_image[rois[k].batch].push_back(k);
    work += p.out_h * p.out_w * rois[k].grid_h * rois[k].grid_w * 8 / std::max<int64_t>(N, 1);
  }
  const int64_t bins = p.out_h * p.out_w;
  parallel_for(N * C, work, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t n = i / C, c = i % C;
      T* gp = grad_x + i * H * W;
      std::fill(gp, gp + H * W, T(0));
      for (int64_t k : boxes_of_image[n]) {
        const RoiGeometry<T>& r = rois[k];
        const T* go = grad_out + (k * C + c) * bins;
        for_each_roi_sample(r, p, H, W, [&](int64_t bin, const BilinearSample<T>& s) {
          const T g = go[bin] / r.count;
          gp[s.y0 * W + s.x0] += g * s.w00;
          gp[s.y0 * W + s.x1] += g * s.w01;
          gp[s.y1 * W + s.x0] += g * s.w10;
          gp[s.y1 * W + s.x1] += g * s.w11;
        });
      }
    }
  });
}

}  // namespace

void CpuBackend::upsample2d(const Tensor& x, int mode, bool align_corners, double scale_h, double scale_w,
                            const Tensor& out) {
  IRIS_ASSERT(x.is_contiguous() && out.is_contiguous() && x.dim() == 4 && out.dim() == 4);
  IRIS_ASSERT(mode == 0 || mode == 1);
  const int64_t P = x.shape()[0] * x.shape()[1];
  const int64_t H = x.shape()[2], W = x.shape()[3], Ho = out.shape()[2], Wo = out.shape()[3];
  IRIS_ASSERT(out.shape()[0] * out.shape()[1] == P && (P == 0 || (H > 0 && W > 0)));
  dispatch_float(x.dtype(), "upsample2d", [&](auto z) {
    using T = decltype(z);
    upsample_typed<T>(x.data<T>(), P, H, W, Ho, Wo, mode, align_corners, scale_h, scale_w, out.data<T>());
  });
}

void CpuBackend::upsample2d_backward(const Tensor& grad_out, int mode, bool align_corners, double scale_h,
                                     double scale_w, const Tensor& grad_x) {
  IRIS_ASSERT(grad_out.is_contiguous() && grad_x.is_contiguous() && grad_out.dim() == 4 && grad_x.dim() == 4);
  IRIS_ASSERT(mode == 0 || mode == 1);
  const int64_t P = grad_x.shape()[0] * grad_x.shape()[1];
  const int64_t H = grad_x.shape()[2], W = grad_x.shape()[3], Ho = grad_out.shape()[2], Wo = grad_out.shape()[3];
  IRIS_ASSERT(grad_out.shape()[0] * grad_out.shape()[1] == P && (P == 0 || (H > 0 && W > 0)));
  dispatch_float(grad_out.dtype(), "upsample2d_backward", [&](auto z) {
    using T = decltype(z);
    upsample_backward_typed<T>(grad_out.data<T>(), P, H, W, Ho, Wo, mode, align_corners, scale_h, scale_w,
                               grad_x.data<T>());
  });
}

void CpuBackend::roi_align(const Tensor& x, const Tensor& boxes, const RoiAlignParams& p, const Tensor& out) {
  IRIS_ASSERT(x.is_contiguous() && boxes.is_contiguous() && out.is_contiguous() && x.dim() == 4);
  IRIS_ASSERT(boxes.dim() == 2 && boxes.shape()[1] == 5 && boxes.dtype() == x.dtype());
  IRIS_ASSERT(p.out_h > 0 && p.out_w > 0);
  dispatch_float(x.dtype(), "roi_align", [&](auto z) {
    using T = decltype(z);
    roi_align_typed<T>(x.data<T>(), x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3], boxes.data<T>(),
                       boxes.shape()[0], p, out.data<T>());
  });
}

void CpuBackend::roi_align_backward(const Tensor& grad_out, const Tensor& boxes, const RoiAlignParams& p,
                                    const Tensor& grad_x) {
  IRIS_ASSERT(grad_out.is_contiguous() && boxes.is_contiguous() && grad_x.is_contiguous() && grad_x.dim() == 4);
  IRIS_ASSERT(boxes.dim() == 2 && boxes.shape()[1] == 5 && boxes.dtype() == grad_out.dtype());
  IRIS_ASSERT(p.out_h > 0 && p.out_w > 0);
  dispatch_float(grad_out.dtype(), "roi_align_backward", [&](auto z) {
    using T = decltype(z);
    roi_align_backward_typed<T>(grad_out.data<T>(), grad_x.shape()[0], grad_x.shape()[1], grad_x.shape()[2],
                                grad_x.shape()[3], boxes.data<T>(), boxes.shape()[0], p, grad_x.data<T>());
  });
}

}  // namespace iris::cpu
