// CPU pooling kernels: max (with the index of the first maximum, for the backward), average (with
// or without the padding in the divisor) and adaptive average, each with its backward. Inputs are
// contiguous NCHW; the work is split over (image, channel) planes, so writes never collide.
// Backward kernels overwrite grad_x. Leaves out shape checks and the output-size rule (autograd/pool.cpp).
#include <algorithm>
#include <cmath>
#include <limits>

#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/loops.h"
#include "tensor/pool_geometry.h"

namespace iris::cpu {

namespace {

// out, indices [N*C, Ho, Wo]. The first maximum of each window wins; a NaN beats any number.
// A window that covers only padding (possible with large dilation) gives -inf and index -1.
template <class T>
void max_pool_typed(const T* x, const Pool2dGeometry& g, T* out, int64_t* indices) {
  const int64_t plane = g.H * g.W, out_plane = g.Ho * g.Wo;
  parallel_for(g.N * g.C, out_plane * g.kh * g.kw, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const T* xp = x + p * plane;
      for (int64_t oh = 0; oh < g.Ho; ++oh) {
        for (int64_t ow = 0; ow < g.Wo; ++ow) {
          T best;
          int64_t best_i;
          max_pool_window(xp, g, oh, ow, best, best_i);
          out[p * out_plane + oh * g.Wo + ow] = best;
          indices[p * out_plane + oh * g.Wo + ow] = best_i;
        }
      }
    }
  });
}

template <class T>
void max_pool_backward_typed(const T* grad_out, const int64_t* indices, const Pool2dGeometry& g, T* grad_x) {
  const int64_t plane = g.H * g.W, out_plane = g.Ho * g.Wo;
  parallel_for(g.N * g.C, out_plane + plane, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      T* gp = grad_x + p * plane;
      std::fill(gp, gp + plane, T(0));
      for (int64_t o = 0; o < out_plane; ++o) {
        const int64_t i = indices[p * out_plane + o];
        if (i >= 0 && i < plane) gp[i] += grad_out[p * out_plane + o];
      }
    }
  });
}

template <class T>
void avg_pool_typed(const T* x, const Pool2dGeometry& g, bool count_include_pad, T* out) {
  const int64_t plane = g.H * g.W, out_plane = g.Ho * g.Wo;
  parallel_for(g.N * g.C, out_plane * g.kh * g.kw, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const T* xp = x + p * plane;
      for (int64_t oh = 0; oh < g.Ho; ++oh) {
        const AvgWindow wh = avg_window(oh, g.sh, g.ph, g.kh, g.H);
        for (int64_t ow = 0; ow < g.Wo; ++ow) {
          const AvgWindow ww = avg_window(ow, g.sw, g.pw, g.kw, g.W);
          double sum = 0;
          for (int64_t ih = wh.start; ih < wh.end; ++ih)
            for (int64_t iw = ww.start; iw < ww.end; ++iw) sum += xp[ih * g.W + iw];
          const int64_t divisor = avg_divisor(wh, ww, count_include_pad);
          out[p * out_plane + oh * g.Wo + ow] = divisor > 0 ? static_cast<T>(sum / divisor) : T(0);
        }
      }
    }
  });
}

template <class T>
void avg_pool_backward_typed(const T* grad_out, const Pool2dGeometry& g, bool count_include_pad, T* grad_x) {
  const int64_t plane = g.H * g.W, out_plane = g.Ho * g.Wo;
  parallel_for(g.N * g.C, out_plane * g.kh * g.kw + plane, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      T* gp = grad_x + p * plane;
      std::fill(gp, gp + plane, T(0));
      for (int64_t oh = 0; oh < g.Ho; ++oh) {
        const AvgWindow wh = avg_window(oh, g.sh, g.ph, g.kh, g.H);
        for (int64_t ow = 0; ow < g.Wo; ++ow) {
          const AvgWindow ww = avg_window(ow, g.sw, g.pw, g.kw, g.W);
          const int64_t divisor = avg_divisor(wh, ww, count_include_pad);
          if (divisor <= 0) continue;
          const T share = grad_out[p * out_plane + oh * g.Wo + ow] / static_cast<T>(divisor);
          for (int64_t ih = wh.start; ih < wh.end; ++ih)
            for (int64_t iw = ww.start; iw < ww.end; ++iw) gp[ih * g.W + iw] += share;
        }
      }
    }
  });
}

// x [N*C, H, W] -> out [N*C, Ho, Wo].
template <class T>
void adaptive_avg_typed(const T* x, int64_t planes, int64_t H, int64_t W, int64_t Ho, int64_t Wo, T* out) {
  const int64_t cost = (H / Ho + 2) * (W / Wo + 2) * Ho * Wo;
  parallel_for(planes, cost, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const T* xp = x + p * H * W;
      for (int64_t oh = 0; oh < Ho; ++oh) {
        const int64_t h0 = adaptive_start(oh, H, Ho), h1 = adaptive_end(oh, H, Ho);
        for (int64_t ow = 0; ow < Wo; ++ow) {
          const int64_t w0 = adaptive_start(ow, W, Wo), w1 = adaptive_end(ow, W, Wo);
          double sum = 0;
          for (int64_t ih = h0; ih < h1; ++ih)
            for (int64_t iw = w0; iw < w1; ++iw) sum += xp[ih * W + iw];
          out[(p * Ho + oh) * Wo + ow] = static_cast<T>(sum / ((h1 - h0) * (w1 - w0)));
        }
      }
    }
  });
}

template <class T>
void adaptive_avg_backward_typed(const T* grad_out, int64_t planes, int64_t H, int64_t W, int64_t Ho, int64_t Wo,
                                 T* grad_x) {
  const int64_t cost = (H / Ho + 2) * (W / Wo + 2) * Ho * Wo + H * W;
  parallel_for(planes, cost, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      T* gp = grad_x + p * H * W;
      std::fill(gp, gp + H * W, T(0));
      for (int64_t oh = 0; oh < Ho; ++oh) {
        const int64_t h0 = adaptive_start(oh, H, Ho), h1 = adaptive_end(oh, H, Ho);
        for (int64_t ow = 0; ow < Wo; ++ow) {
          const int64_t w0 = adaptive_start(ow, W, Wo), w1 = adaptive_end(ow, W, Wo);
          const T share = grad_out[(p * Ho + oh) * Wo + ow] / static_cast<T>((h1 - h0) * (w1 - w0));
          for (int64_t ih = h0; ih < h1; ++ih)
            for (int64_t iw = w0; iw < w1; ++iw) gp[ih * W + iw] += share;
        }
      }
    }
  });
}

}  // namespace

void CpuBackend::max_pool2d(const Tensor& x, const Pool2dGeometry& g, const Tensor& out, const Tensor& indices) {
  IRIS_ASSERT(x.is_contiguous() && out.is_contiguous() && indices.is_contiguous() && indices.dtype() == DType::i64);
  dispatch_float(x.dtype(), "max_pool2d", [&](auto z) {
    using T = decltype(z);
    max_pool_typed<T>(x.data<T>(), g, out.data<T>(), indices.data<int64_t>());
  });
}

void CpuBackend::max_pool2d_backward(const Tensor& grad_out, const Tensor& indices, const Pool2dGeometry& g,
                                     const Tensor& grad_x) {
  IRIS_ASSERT(grad_out.is_contiguous() && indices.is_contiguous() && grad_x.is_contiguous());
  IRIS_ASSERT(indices.dtype() == DType::i64);
  dispatch_float(grad_out.dtype(), "max_pool2d_backward", [&](auto z) {
    using T = decltype(z);
    max_pool_backward_typed<T>(grad_out.data<T>(), indices.data<int64_t>(), g, grad_x.data<T>());
  });
}

void CpuBackend::avg_pool2d(const Tensor& x, const Pool2dGeometry& g, bool count_include_pad, const Tensor& out) {
  IRIS_ASSERT(x.is_contiguous() && out.is_contiguous());
  dispatch_float(x.dtype(), "avg_pool2d", [&](auto z) {
    using T = decltype(z);
    avg_pool_typed<T>(x.data<T>(), g, count_include_pad, out.data<T>());
  });
}

void CpuBackend::avg_pool2d_backward(const Tensor& grad_out, const Pool2dGeometry& g, bool count_include_pad,
                                     const Tensor& grad_x) {
  IRIS_ASSERT(grad_out.is_contiguous() && grad_x.is_contiguous());
  dispatch_float(grad_out.dtype(), "avg_pool2d_backward", [&](auto z) {
    using T = decltype(z);
    avg_pool_backward_typed<T>(grad_out.data<T>(), g, count_include_pad, grad_x.data<T>());
  });
}

void CpuBackend::adaptive_avg_pool2d(const Tensor& x, const Tensor& out) {
  IRIS_ASSERT(x.is_contiguous() && out.is_contiguous() && x.dim() == 4 && out.dim() == 4);
  const int64_t planes = x.shape()[0] * x.shape()[1];
  const int64_t H = x.shape()[2], W = x.shape()[3], Ho = out.shape()[2], Wo = out.shape()[3];
  IRIS_ASSERT(Ho > 0 && Wo > 0 && out.shape()[0] * out.shape()[1] == planes);
  dispatch_float(x.dtype(), "adaptive_avg_pool2d", [&](auto z) {
    using T = decltype(z);
    adaptive_avg_typed<T>(x.data<T>(), planes, H, W, Ho, Wo, out.data<T>());
  });
}

void CpuBackend::adaptive_avg_pool2d_backward(const Tensor& grad_out, const Tensor& grad_x) {
  IRIS_ASSERT(grad_out.is_contiguous() && grad_x.is_contiguous() && grad_out.dim() == 4 && grad_x.dim() == 4);
  const int64_t planes = grad_x.shape()[0] * grad_x.shape()[1];
  const int64_t H = grad_x.shape()[2], W = grad_x.shape()[3], Ho = grad_out.shape()[2], Wo = grad_out.shape()[3];
  IRIS_ASSERT(Ho > 0 && Wo > 0 && grad_out.shape()[0] * grad_out.shape()[1] == planes);
  dispatch_float(grad_out.dtype(), "adaptive_avg_pool2d_backward", [&](auto z) {
    using T = decltype(z);
    adaptive_avg_backward_typed<T>(grad_out.data<T>(), planes, H, W, Ho, Wo, grad_x.data<T>());
  });
}

}  // namespace iris::cpu
