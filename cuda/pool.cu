// CUDA pooling and resampling kernels, twins of tensor/cpu/pool.cpp and tensor/cpu/resample.cpp:
// max pooling (with the index of the first maximum), average and adaptive average pooling,
// nearest / bilinear upsampling and RoIAlign, each with its backward. Inputs are contiguous NCHW.
// Coordinate maps (upsampling taps, RoI geometry) are computed on the host with the CPU's code and
// uploaded, so both devices sample the same points. Backward kernels overwrite grad_x; all but
// RoIAlign's gather (one thread per input pixel, no atomics). Leaves out argument checks (autograd/).
#include <algorithm>
#include <cmath>
#include <vector>

#include "cuda/common.cuh"
#include "tensor/pool_geometry.h"
#include "tensor/resample_geometry.h"
#include "tensor/roi_geometry.h"

namespace iris::cuda {

namespace {

// Device code avoids std::min/max (host constexpr functions).
__device__ inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
__device__ inline int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

// Floor division for a possibly negative numerator (positive divisor).
__host__ __device__ inline int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// A small host array copied to the GPU as raw bytes (lives as long as the returned tensor; the
// caching allocator orders its reuse after the kernels queued on stream()).
template <class V>
Tensor upload(const std::vector<V>& v, Device device) {
  return from_buffer(v.data(), {static_cast<int64_t>(v.size() * sizeof(V))}, DType::u8, device);
}
template <class V>
const V* device_ptr(const Tensor& bytes) {
  return static_cast<const V*>(bytes.raw_data());
}

// ---- max pooling ------------------------------------------------------------------------------

// out, indices [N*C, Ho, Wo]. The first maximum of each window wins; a NaN beats any number.
// A window that covers only padding gives -inf and index -1.
template <class T>
__global__ void max_pool_kernel(const T* x, Pool2dGeometry g, T* out, int64_t* indices, int64_t total) {
  IRIS_KERNEL_LOOP(i, total) {
    const int64_t ow = i % g.Wo, oh = (i / g.Wo) % g.Ho, p = i / (g.Wo * g.Ho);
    const T* xp = x + p * g.H * g.W;
    T best;
    int64_t best_i;
    max_pool_window(xp, g, oh, ow, best, best_i);
    out[i] = best;
    indices[i] = best_i;
  }
}

// grad_x [N*C, H, W] (overwritten): each input pixel sums the gradients of the windows whose
// recorded maximum it is. Windows are visited in increasing output order, as the CPU adds them.
template <class T>
__global__ void max_pool_backward_kernel(const T* grad_out, const int64_t* indices, Pool2dGeometry g, T* grad_x,
                                         int64_t total) {
  const int64_t out_plane = g.Ho * g.Wo;
  IRIS_KERNEL_LOOP(i, total) {
    const int64_t iw = i % g.W, ih = (i / g.W) % g.H, p = i / (g.W * g.H);
    const int64_t self = ih * g.W + iw;
    T acc = T(0);
    for (int64_t ki = g.kh - 1; ki >= 0; --ki) {  // output rows ascending
      const int64_t num_h = ih + g.ph - ki * g.dh;
      if (num_h < 0 || num_h % g.sh != 0 || num_h / g.sh >= g.Ho) continue;
      const int64_t oh = num_h / g.sh;
      for (int64_t kj = g.kw - 1; kj >= 0; --kj) {
        const int64_t num_w = iw + g.pw - kj * g.dw;
        if (num_w < 0 || num_w % g.sw != 0 || num_w / g.sw >= g.Wo) continue;
        const int64_t o = p * out_plane + oh * g.Wo + num_w / g.sw;
        if (indices[o] == self) acc += grad_out[o];
      }
    }
    grad_x[i] = acc;
  }
}

// ---- average pooling --------------------------------------------------------------------------

template <class T>
__global__ void avg_pool_kernel(const T* x, Pool2dGeometry g, bool count_include_pad, T* out, int64_t total) {
  IRIS_KERNEL_LOOP(i, total) {
    const int64_t ow = i % g.Wo, oh = (i / g.Wo) % g.Ho, p = i / (g.Wo * g.Ho);
    const T* xp = x + p * g.H * g.W;
    const AvgWindow wh = avg_window(oh, g.sh, g.ph, g.kh, g.H), ww = avg_window(ow, g.sw, g.pw, g.kw, g.W);
    double sum = 0;
    for (int64_t ih = wh.start; ih < wh.end; ++ih)
      for (int64_t iw = ww.start; iw < ww.end; ++iw) sum += static_cast<double>(xp[ih * g.W + iw]);
    const int64_t divisor = avg_divisor(wh, ww, count_include_pad);
    out[i] = divisor > 0 ? static_cast<T>(sum / static_cast<double>(divisor)) : T(0);
  }
}

// grad_x (overwritten): each input pixel gathers grad_out / divisor from every window covering it.
// Window o covers row r when o * stride - pad <= r < o * stride - pad + kernel.
template <class T>
__global__ void avg_pool_backward_kernel(const T* grad_out, Pool2dGeometry g, bool count_include_pad, T* grad_x,
                                         int64_t total) {
  IRIS_KERNEL_LOOP(i, total) {
    const int64_t iw = i % g.W, ih = (i / g.W) % g.H, p = i / (g.W * g.H);
    const int64_t oh_lo = max64(0, floor_div(ih + g.ph - g.kh, g.sh) + 1);
    const int64_t oh_hi = min64(g.Ho - 1, floor_div(ih + g.ph, g.sh));
    const int64_t ow_lo = max64(0, floor_div(iw + g.pw - g.kw, g.sw) + 1);
    const int64_t ow_hi = min64(g.Wo - 1, floor_div(iw + g.pw, g.sw));
    T acc = T(0);
    for (int64_t oh = oh_lo; oh <= oh_hi; ++oh) {
      const AvgWindow wh = avg_window(oh, g.sh, g.ph, g.kh, g.H);
      if (ih < wh.start || ih >= wh.end) continue;
      for (int64_t ow = ow_lo; ow <= ow_hi; ++ow) {
        const AvgWindow ww = avg_window(ow, g.sw, g.pw, g.kw, g.W);
        if (iw < ww.start || iw >= ww.end) continue;
        const int64_t divisor = avg_divisor(wh, ww, count_include_pad);
        if (divisor <= 0) continue;
        acc += grad_out[(p * g.Ho + oh) * g.Wo + ow] / static_cast<T>(divisor);
      }
    }
    grad_x[i] = acc;
  }
}

// ---- adaptive average pooling -----------------------------------------------------------------

// x [P, H, W] -> out [P, Ho, Wo].
template <class T>
__global__ void adaptive_avg_kernel(const T* x, int64_t H, int64_t W, int64_t Ho, int64_t Wo, T* out, int64_t total) {
  IRIS_KERNEL_LOOP(i, total) {
    const int64_t ow = i % Wo, oh = (i / Wo) % Ho, p = i / (Wo * Ho);
    const int64_t h0 = adaptive_start(oh, H, Ho), h1 = adaptive_end(oh, H, Ho);
    const int64_t w0 = adaptive_start(ow, W, Wo), w1 = adaptive_end(ow, W, Wo);
    const T* xp = x + p * H * W;
    double sum = 0;
    for (int64_t ih = h0; ih < h1; ++ih)
      for (int64_t iw = w0; iw < w1; ++iw) sum += static_cast<double>(xp[ih * W + iw]);
    out[i] = static_cast<T>(sum / static_cast<double>((h1 - h0) * (w1 - w0)));
  }
}

// grad_x [P, H, W] (overwritten). Window o covers r exactly when floor(r * out / in) <= o <=
// floor((r + 1) * out / in) and the window's own bounds hold (checked exactly).
template <class T>
__global__ void adaptive_avg_backward_kernel(const T* grad_out, int64_t H, int64_t W, int64_t Ho, int64_t Wo,
                                             T* grad_x, int64_t total) {
  IRIS_KERNEL_LOOP(i, total) {
    const int64_t iw = i % W, ih = (i / W) % H, p = i / (W * H);
    const int64_t oh_lo = (ih * Ho) / H, oh_hi = min64(Ho - 1, ((ih + 1) * Ho) / H);
    const int64_t ow_lo = (iw * Wo) / W, ow_hi = min64(Wo - 1, ((iw + 1) * Wo) / W);
    T acc = T(0);
    for (int64_t oh = oh_lo; oh <= oh_hi; ++oh) {
      const int64_t h0 = adaptive_start(oh, H, Ho), h1 = adaptive_end(oh, H, Ho);
      if (ih < h0 || ih >= h1) continue;
      for (int64_t ow = ow_lo; ow <= ow_hi; ++ow) {
        const int64_t w0 = adaptive_start(ow, W, Wo), w1 = adaptive_end(ow, W, Wo);
        if (iw < w0 || iw >= w1) continue;
        acc += grad_out[(p * Ho + oh) * Wo + ow] / static_cast<T>((h1 - h0) * (w1 - w0));
      }
    }
    grad_x[i] = acc;
  }
}

// ---- upsampling (host-side coordinate maps, as tensor/cpu/resample.cpp) -------------------------

// The taps of one axis (in -> out) from the CPU's coordinate maps (tensor/resample_geometry.h).
// Nearest mode is the tap (src, src, 1, 0).
template <class T>
std::vector<LinearTap<T>> taps_of(int64_t in, int64_t out, int mode, bool align_corners, double scale_factor) {
  if (mode != 0) return linear_map<T>(in, out, align_corners, scale_factor);
  const std::vector<int64_t> src = nearest_map(in, out, scale_factor);
  std::vector<LinearTap<T>> taps(out);
  for (int64_t d = 0; d < out; ++d) taps[d] = {src[d], src[d], T(1), T(0)};
  return taps;
}

// The adjoint of a tap list: for each input position, the (output position, weight) pairs that
// read it, in increasing output order (CSR: entries [start[i], start[i + 1])).
template <class T>
struct AdjointEntry {
  int64_t out;
  T weight;
};
template <class T>
void adjoint_of(const std::vector<LinearTap<T>>& taps, int64_t in, int mode, std::vector<int64_t>& start,
                std::vector<AdjointEntry<T>>& entries) {
  start.assign(in + 1, 0);
  const bool both = mode != 0;  // nearest reads one position per output
  for (const LinearTap<T>& t : taps) {
    ++start[t.i0 + 1];
    if (both) ++start[t.i1 + 1];
  }
  for (int64_t i = 0; i < in; ++i) start[i + 1] += start[i];
  entries.resize(start[in]);
  std::vector<int64_t> fill(start.begin(), start.end() - 1);
  for (int64_t o = 0; o < static_cast<int64_t>(taps.size()); ++o) {
    const LinearTap<T>& t = taps[o];
    entries[fill[t.i0]++] = {o, t.l0};
    if (both) entries[fill[t.i1]++] = {o, t.l1};
  }
}

// out [P, Ho, Wo] from x [P, H, W].
template <class T>
__global__ void upsample_nearest_kernel(const T* x, int64_t H, int64_t W, int64_t Ho, int64_t Wo,
                                        const LinearTap<T>* th, const LinearTap<T>* tw, T* out, int64_t total) {
  IRIS_KERNEL_LOOP(i, total) {
    const int64_t ow = i % Wo, oh = (i / Wo) % Ho, p = i / (Wo * Ho);
    out[i] = x[(p * H + th[oh].i0) * W + tw[ow].i0];
  }
}

template <class T>
__global__ void upsample_bilinear_kernel(const T* x, int64_t H, int64_t W, int64_t Ho, int64_t Wo,
                                         const LinearTap<T>* th, const LinearTap<T>* tw, T* out, int64_t total) {
  IRIS_KERNEL_LOOP(i, total) {
    const int64_t ow = i % Wo, oh = (i / Wo) % Ho, p = i / (Wo * Ho);
    const T* r0 = x + (p * H + th[oh].i0) * W;
    const T* r1 = x + (p * H + th[oh].i1) * W;
    const T a0 = th[oh].l0, a1 = th[oh].l1;
    const LinearTap<T> t = tw[ow];
    out[i] = a0 * (t.l0 * r0[t.i0] + t.l1 * r0[t.i1]) + a1 * (t.l0 * r1[t.i0] + t.l1 * r1[t.i1]);
  }
}

// grad_x [P, H, W] (overwritten): each input pixel gathers weight_h * weight_w * grad_out over
// the adjoint entries of its row and column.
template <class T>
__global__ void upsample_backward_kernel(const T* grad_out, int64_t H, int64_t W, int64_t Ho, int64_t Wo,
                                         const int64_t* start_h, const AdjointEntry<T>* adj_h, const int64_t* start_w,
                                         const AdjointEntry<T>* adj_w, T* grad_x, int64_t total) {
  IRIS_KERNEL_LOOP(i, total) {
    const int64_t iw = i % W, ih = (i / W) % H, p = i / (W * H);
    const T* gp = grad_out + p * Ho * Wo;
    T acc = T(0);
    for (int64_t a = start_h[ih]; a < start_h[ih + 1]; ++a) {
      const AdjointEntry<T> eh = adj_h[a];
      for (int64_t b = start_w[iw]; b < start_w[iw + 1]; ++b) {
        const AdjointEntry<T> ew = adj_w[b];
        acc += eh.weight * ew.weight * gp[eh.out * Wo + ew.out];
      }
    }
    grad_x[i] = acc;
  }
}

// ---- RoIAlign (torchvision's sampling rule) ----------------------------------------------------

// The geometry of every box, computed on the host from a host copy of boxes [K, 5].
template <class T>
std::vector<RoiGeometry<T>> roi_geometries(const Tensor& boxes, const RoiAlignParams& p) {
  const std::vector<T> b = boxes.to_vector<T>();
  const int64_t K = boxes.shape()[0];
  std::vector<RoiGeometry<T>> rois(K);
  for (int64_t k = 0; k < K; ++k) rois[k] = roi_geometry(b.data() + 5 * k, p);
  return rois;
}

// roi_sample_y / roi_sample_x and bilinear_sample (IRIS_HOST_DEVICE) are in tensor/roi_geometry.h,
// shared with the CPU.

// out [K, C, out_h, out_w] from x [N, C, H, W]: one thread per output bin.
template <class T>
__global__ void roi_align_kernel(const T* x, int64_t N, int64_t C, int64_t H, int64_t W, const RoiGeometry<T>* rois,
                                 int64_t out_h, int64_t out_w, T* out, int64_t total) {
  IRIS_KERNEL_LOOP(i, total) {
    const int64_t pw = i % out_w, ph = (i / out_w) % out_h, c = (i / (out_w * out_h)) % C,
                  k = i / (out_w * out_h * C);
    const RoiGeometry<T> r = rois[k];
    T acc = T(0);
    if (r.batch >= 0 && r.batch < N) {
      const T* xp = x + (r.batch * C + c) * H * W;
      for (int64_t iy = 0; iy < r.grid_h; ++iy) {
        const T y = roi_sample_y(r, ph, iy);
        for (int64_t ix = 0; ix < r.grid_w; ++ix) {
          BilinearSample<T> s;
          if (!bilinear_sample(y, roi_sample_x(r, pw, ix), H, W, s)) continue;
          acc += s.w00 * xp[s.y0 * W + s.x0] + s.w01 * xp[s.y0 * W + s.x1] + s.w10 * xp[s.y1 * W + s.x0] +
                 s.w11 * xp[s.y1 * W + s.x1];
        }
      }
    }
    out[i] = acc / r.count;
  }
}

// grad_x [N, C, H, W] (zeroed first) += each bin's gradient spread over its samples' neighbours
// (atomicAdd: boxes overlap arbitrarily).
template <class T>
__global__ void roi_align_backward_kernel(const T* grad_out, int64_t N, int64_t C, int64_t H, int64_t W,
                                          const RoiGeometry<T>* rois, int64_t out_h, int64_t out_w, T* grad_x,
                                          int64_t total) {
  IRIS_KERNEL_LOOP(i, total) {
    const int64_t pw = i % out_w, ph = (i / out_w) % out_h, c = (i / (out_w * out_h)) % C,
                  k = i / (out_w * out_h * C);
    const RoiGeometry<T> r = rois[k];
    if (r.batch < 0 || r.batch >= N) continue;
    T* gp = grad_x + (r.batch * C + c) * H * W;
    const T g = grad_out[i] / r.count;
    for (int64_t iy = 0; iy < r.grid_h; ++iy) {
      const T y = roi_sample_y(r, ph, iy);
      for (int64_t ix = 0; ix < r.grid_w; ++ix) {
        BilinearSample<T> s;
        if (!bilinear_sample(y, roi_sample_x(r, pw, ix), H, W, s)) continue;
        atomicAdd(gp + s.y0 * W + s.x0, g * s.w00);
        atomicAdd(gp + s.y0 * W + s.x1, g * s.w01);
        atomicAdd(gp + s.y1 * W + s.x0, g * s.w10);
        atomicAdd(gp + s.y1 * W + s.x1, g * s.w11);
      }
    }
  }
}

}  // namespace

// ---- pooling entry points ---------------------------------------------------------------------

void CudaBackend::max_pool2d(const Tensor& x, const Pool2dGeometry& g, const Tensor& out, const Tensor& indices) {
  IRIS_ASSERT(x.is_contiguous() && out.is_contiguous() && indices.is_contiguous() && indices.dtype() == DType::i64);
  check_on_gpu("max_pool2d", {&x, &out, &indices});
  cuda_dispatch_float(x.dtype(), "max_pool2d", [&](auto z) {
    using T = decltype(z);
    const int64_t total = g.N * g.C * g.Ho * g.Wo;
    if (total == 0) return;
    max_pool_kernel<T><<<blocks_for(total), kThreads, 0, stream()>>>(x.data<T>(), g, out.data<T>(),
                                                                     indices.data<int64_t>(), total);
    IRIS_CUDA_LAUNCHED();
  });
}

void CudaBackend::max_pool2d_backward(const Tensor& grad_out, const Tensor& indices, const Pool2dGeometry& g,
                                      const Tensor& grad_x) {
  IRIS_ASSERT(grad_out.is_contiguous() && indices.is_contiguous() && grad_x.is_contiguous());
  IRIS_ASSERT(indices.dtype() == DType::i64);
  check_on_gpu("max_pool2d_backward", {&grad_out, &indices, &grad_x});
  cuda_dispatch_float(grad_out.dtype(), "max_pool2d_backward", [&](auto z) {
    using T = decltype(z);
    const int64_t total = g.N * g.C * g.H * g.W;
    if (total == 0) return;
    max_pool_backward_kernel<T><<<blocks_for(total), kThreads, 0, stream()>>>(
        grad_out.data<T>(), indices.data<int64_t>(), g, grad_x.data<T>(), total);
    IRIS_CUDA_LAUNCHED();
  });
}

void CudaBackend::avg_pool2d(const Tensor& x, const Pool2dGeometry& g, bool count_include_pad, const Tensor& out) {
  IRIS_ASSERT(x.is_contiguous() && out.is_contiguous());
  check_on_gpu("avg_pool2d", {&x, &out});
  cuda_dispatch_float(x.dtype(), "avg_pool2d", [&](auto z) {
    using T = decltype(z);
    const int64_t total = g.N * g.C * g.Ho * g.Wo;
    if (total == 0) return;
    avg_pool_kernel<T><<<blocks_for(total), kThreads, 0, stream()>>>(x.data<T>(), g, count_include_pad,
                                                                     out.data<T>(), total);
    IRIS_CUDA_LAUNCHED();
  });
}

void CudaBackend::avg_pool2d_backward(const Tensor& grad_out, const Pool2dGeometry& g, bool count_include_pad,
                                      const Tensor& grad_x) {
  IRIS_ASSERT(grad_out.is_contiguous() && grad_x.is_contiguous());
  check_on_gpu("avg_pool2d_backward", {&grad_out, &grad_x});
  cuda_dispatch_float(grad_out.dtype(), "avg_pool2d_backward", [&](auto z) {
    using T = decltype(z);
    const int64_t total = g.N * g.C * g.H * g.W;
    if (total == 0) return;
    avg_pool_backward_kernel<T><<<blocks_for(total), kThreads, 0, stream()>>>(grad_out.data<T>(), g,
                                                                              count_include_pad, grad_x.data<T>(), total);
    IRIS_CUDA_LAUNCHED();
  });
}

void CudaBackend::adaptive_avg_pool2d(const Tensor& x, const Tensor& out) {
  IRIS_ASSERT(x.is_contiguous() && out.is_contiguous() && x.dim() == 4 && out.dim() == 4);
  check_on_gpu("adaptive_avg_pool2d", {&x, &out});
  const int64_t planes = x.shape()[0] * x.shape()[1];
  const int64_t H = x.shape()[2], W = x.shape()[3], Ho = out.shape()[2], Wo = out.shape()[3];
  IRIS_ASSERT(Ho > 0 && Wo > 0 && out.shape()[0] * out.shape()[1] == planes);
  cuda_dispatch_float(x.dtype(), "adaptive_avg_pool2d", [&](auto z) {
    using T = decltype(z);
    const int64_t total = planes * Ho * Wo;
    if (total == 0) return;
    IRIS_ASSERT(H > 0 && W > 0);
    adaptive_avg_kernel<T><<<blocks_for(total), kThreads, 0, stream()>>>(x.data<T>(), H, W, Ho, Wo, out.data<T>(),
                                                                         total);
    IRIS_CUDA_LAUNCHED();
  });
}

void CudaBackend::adaptive_avg_pool2d_backward(const Tensor& grad_out, const Tensor& grad_x) {
  IRIS_ASSERT(grad_out.is_contiguous() && grad_x.is_contiguous() && grad_out.dim() == 4 && grad_x.dim() == 4);
  check_on_gpu("adaptive_avg_pool2d_backward", {&grad_out, &grad_x});
  const int64_t planes = grad_x.shape()[0] * grad_x.shape()[1];
  const int64_t H = grad_x.shape()[2], W = grad_x.shape()[3], Ho = grad_out.shape()[2], Wo = grad_out.shape()[3];
  IRIS_ASSERT(Ho > 0 && Wo > 0 && grad_out.shape()[0] * grad_out.shape()[1] == planes);
  cuda_dispatch_float(grad_out.dtype(), "adaptive_avg_pool2d_backward", [&](auto z) {
    using T = decltype(z);
    const int64_t total = planes * H * W;
    if (total == 0) return;
    adaptive_avg_backward_kernel<T><<<blocks_for(total), kThreads, 0, stream()>>>(grad_out.data<T>(), H, W, Ho, Wo,
                                                                                  grad_x.data<T>(), total);
    IRIS_CUDA_LAUNCHED();
  });
}

// ---- resampling entry points ------------------------------------------------------------------

void CudaBackend::upsample2d(const Tensor& x, int mode, bool align_corners, double scale_h, double scale_w,
                             const Tensor& out) {
  IRIS_ASSERT(x.is_contiguous() && out.is_contiguous() && x.dim() == 4 && out.dim() == 4);
  IRIS_ASSERT(mode == 0 || mode == 1);
  check_on_gpu("upsample2d", {&x, &out});
  const int64_t P = x.shape()[0] * x.shape()[1];
  const int64_t H = x.shape()[2], W = x.shape()[3], Ho = out.shape()[2], Wo = out.shape()[3];
  IRIS_ASSERT(out.shape()[0] * out.shape()[1] == P && (P == 0 || (H > 0 && W > 0)));
  cuda_dispatch_float(x.dtype(), "upsample2d", [&](auto z) {
    using T = decltype(z);
    const int64_t total = P * Ho * Wo;
    if (total == 0) return;
    Tensor th = upload(taps_of<T>(H, Ho, mode, align_corners, scale_h), x.device());
    Tensor tw = upload(taps_of<T>(W, Wo, mode, align_corners, scale_w), x.device());
    if (mode == 0)
      upsample_nearest_kernel<T><<<blocks_for(total), kThreads, 0, stream()>>>(
          x.data<T>(), H, W, Ho, Wo, device_ptr<LinearTap<T>>(th), device_ptr<LinearTap<T>>(tw), out.data<T>(), total);
    else
      upsample_bilinear_kernel<T><<<blocks_for(total), kThreads, 0, stream()>>>(
          x.data<T>(), H, W, Ho, Wo, device_ptr<LinearTap<T>>(th), device_ptr<LinearTap<T>>(tw), out.data<T>(), total);
    IRIS_CUDA_LAUNCHED();
  });
}

void CudaBackend::upsample2d_backward(const Tensor& grad_out, int mode, bool align_corners, double scale_h,
                                      double scale_w, const Tensor& grad_x) {
  IRIS_ASSERT(grad_out.is_contiguous() && grad_x.is_contiguous() && grad_out.dim() == 4 && grad_x.dim() == 4);
  IRIS_ASSERT(mode == 0 || mode == 1);
  check_on_gpu("upsample2d_backward", {&grad_out, &grad_x});
  const int64_t P = grad_x.shape()[0] * grad_x.shape()[1];
  const int64_t H = grad_x.shape()[2], W = grad_x.shape()[3], Ho = grad_out.shape()[2], Wo = grad_out.shape()[3];
  IRIS_ASSERT(grad_out.shape()[0] * grad_out.shape()[1] == P && (P == 0 || (H > 0 && W > 0)));
  cuda_dispatch_float(grad_out.dtype(), "upsample2d_backward", [&](auto z) {
    using T = decltype(z);
    const int64_t total = P * H * W;
    if (total == 0) return;
    std::vector<int64_t> start_h, start_w;
    std::vector<AdjointEntry<T>> adj_h, adj_w;
    adjoint_of(taps_of<T>(H, Ho, mode, align_corners, scale_h), H, mode, start_h, adj_h);
    adjoint_of(taps_of<T>(W, Wo, mode, align_corners, scale_w), W, mode, start_w, adj_w);
    // One padding entry keeps the uploads non-empty when an output dim is empty.
    adj_h.push_back({0, T(0)});
    adj_w.push_back({0, T(0)});
    Tensor sh = upload(start_h, grad_x.device()), sw = upload(start_w, grad_x.device());
    Tensor ah = upload(adj_h, grad_x.device()), aw = upload(adj_w, grad_x.device());
    upsample_backward_kernel<T><<<blocks_for(total), kThreads, 0, stream()>>>(
        grad_out.data<T>(), H, W, Ho, Wo, device_ptr<int64_t>(sh), device_ptr<AdjointEntry<T>>(ah),
        device_ptr<int64_t>(sw), device_ptr<AdjointEntry<T>>(aw), grad_x.data<T>(), total);
    IRIS_CUDA_LAUNCHED();
  });
}

void CudaBackend::roi_align(const Tensor& x, const Tensor& boxes, const RoiAlignParams& p, const Tensor& out) {
  IRIS_ASSERT(x.is_contiguous() && boxes.is_contiguous() && out.is_contiguous() && x.dim() == 4);
  IRIS_ASSERT(boxes.dim() == 2 && boxes.shape()[1] == 5 && boxes.dtype() == x.dtype());
  IRIS_ASSERT(p.out_h > 0 && p.out_w > 0);
  check_on_gpu("roi_align", {&x, &boxes, &out});
  cuda_dispatch_float(x.dtype(), "roi_align", [&](auto z) {
    using T = decltype(z);
    const int64_t N = x.shape()[0], C = x.shape()[1], H = x.shape()[2], W = x.shape()[3];
    const int64_t total = boxes.shape()[0] * C * p.out_h * p.out_w;
    if (total == 0) return;
    Tensor rois = upload(roi_geometries<T>(boxes, p), x.device());
    roi_align_kernel<T><<<blocks_for(total), kThreads, 0, stream()>>>(
        x.data<T>(), N, C, H, W, device_ptr<RoiGeometry<T>>(rois), p.out_h, p.out_w, out.data<T>(), total);
    IRIS_CUDA_LAUNCHED();
  });
}

void CudaBackend::roi_align_backward(const Tensor& grad_out, const Tensor& boxes, const RoiAlignParams& p,
                                     const Tensor& grad_x) {
  IRIS_ASSERT(grad_out.is_contiguous() && boxes.is_contiguous() && grad_x.is_contiguous() && grad_x.dim() == 4);
  IRIS_ASSERT(boxes.dim() == 2 && boxes.shape()[1] == 5 && boxes.dtype() == grad_out.dtype());
  IRIS_ASSERT(p.out_h > 0 && p.out_w > 0);
  check_on_gpu("roi_align_backward", {&grad_out, &boxes, &grad_x});
  cuda_dispatch_float(grad_out.dtype(), "roi_align_backward", [&](auto z) {
    using T = decltype(z);
    const int64_t N = grad_x.shape()[0], C = grad_x.shape()[1], H = grad_x.shape()[2], W = grad_x.shape()[3];
    if (grad_x.numel() == 0) return;
    IRIS_CUDA_CHECK(cudaMemsetAsync(grad_x.raw_data(), 0, grad_x.nbytes(), stream()));
    const int64_t total = boxes.shape()[0] * C * p.out_h * p.out_w;
    if (total == 0) return;
    Tensor rois = upload(roi_geometries<T>(boxes, p), grad_x.device());
    roi_align_backward_kernel<T><<<blocks_for(total), kThreads, 0, stream()>>>(
        grad_out.data<T>(), N, C, H, W, device_ptr<RoiGeometry<T>>(rois), p.out_h, p.out_w, grad_x.data<T>(), total);
    IRIS_CUDA_LAUNCHED();
  });
}

}  // namespace iris::cuda
