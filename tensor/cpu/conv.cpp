// CPU convolution kernels: im2col / col2im (the data movement around the GEMM of conv2d) and the
// direct depthwise convolution with its backward. All work on contiguous NCHW tensors and split the
// work over (image, channel) planes, so no two threads ever write the same element.
// Leaves out the GEMM itself (gemm.cpp) and every shape check (autograd/conv.cpp does those).
#include <algorithm>

#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/loops.h"

namespace iris::cpu {

namespace {

// The output positions o in [0, count) whose input position o * stride + offset lies in
// [0, limit): the half-open range [lo, hi). Positions outside it read the zero padding.
inline void valid_range(int64_t offset, int64_t stride, int64_t limit, int64_t count, int64_t& lo, int64_t& hi) {
  lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  hi = limit - offset <= 0 ? 0 : (limit - offset - 1) / stride + 1;
  lo = std::min(lo, count);
  hi = std::max(lo, std::min(hi, count));
}

// cols [N*C, kh*kw, Ho*Wo] <- x [N*C, H, W]: row (ki, kj) of plane p holds x[p] shifted by the
// kernel offset, sampled with the stride (zero where the window covers padding).
template <class T>
void im2col_typed(const T* x, const Conv2dGeometry& g, T* cols) {
  const int64_t L = g.Ho * g.Wo, plane = g.H * g.W, taps = g.kh * g.kw;
  parallel_for(g.N * g.C, taps * L, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const T* xp = x + p * plane;
      T* cp = cols + p * taps * L;
      for (int64_t ki = 0; ki < g.kh; ++ki) {
        int64_t oh_lo, oh_hi;
        valid_range(ki * g.dh - g.ph, g.sh, g.H, g.Ho, oh_lo, oh_hi);
        for (int64_t kj = 0; kj < g.kw; ++kj) {
          int64_t ow_lo, ow_hi;
          const int64_t w_off = kj * g.dw - g.pw;
          valid_range(w_off, g.sw, g.W, g.Wo, ow_lo, ow_hi);
          T* row = cp + (ki * g.kw + kj) * L;
          std::fill(row, row + oh_lo * g.Wo, T(0));
          for (int64_t oh = oh_lo; oh < oh_hi; ++oh) {
            const T* xr = xp + (oh * g.sh + ki * g.dh - g.ph) * g.W;
            T* r = row + oh * g.Wo;
            std::fill(r, r + ow_lo, T(0));
            for (int64_t ow = ow_lo; ow < ow_hi; ++ow) r[ow] = xr[ow * g.sw + w_off];
            std::fill(r + ow_hi, r + g.Wo, T(0));
          }
          std::fill(row + oh_hi * g.Wo, row + L, T(0));
        }
      }
    }
  });
}

// grad_x [N*C, H, W] += the scatter of cols [N*C, kh*kw, Ho*Wo] (the adjoint of im2col).
template <class T>
void col2im_typed(const T* cols, const Conv2dGeometry& g, T* grad_x) {
  const int64_t L = g.Ho * g.Wo, plane = g.H * g.W, taps = g.kh * g.kw;
  parallel_for(g.N * g.C, taps * L, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      T* gp = grad_x + p * plane;
      const T* cp = cols + p * taps * L;
      for (int64_t ki = 0; ki < g.kh; ++ki) {
        int64_t oh_lo, oh_hi;
        valid_range(ki * g.dh - g.ph, g.sh, g.H, g.Ho, oh_lo, oh_hi);
        for (int64_t kj = 0; kj < g.kw; ++kj) {
          int64_t ow_lo, ow_hi;
          const int64_t w_off = kj * g.dw - g.pw;
          valid_range(w_off, g.sw, g.W, g.Wo, ow_lo, ow_hi);
          const T* row = cp + (ki * g.kw + kj) * L;
          for (int64_t oh = oh_lo; oh < oh_hi; ++oh) {
            T* gr = gp + (oh * g.sh + ki * g.dh - g.ph) * g.W;
            const T* r = row + oh * g.Wo;
            for (int64_t ow = ow_lo; ow < ow_hi; ++ow) gr[ow * g.sw + w_off] += r[ow];
          }
        }
      }
    }
  });
}

// out [N, C*m, Ho, Wo]: output channel oc reads input channel oc / m with its own kh x kw filter.
template <class T>
void depthwise_typed(const T* x, const T* w, const Conv2dGeometry& g, int64_t Cout, T* out) {
  const int64_t m = Cout / g.C, L = g.Ho * g.Wo, plane = g.H * g.W;
  parallel_for(g.N * Cout, g.kh * g.kw * L, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t n = p / Cout, oc = p % Cout;
      const T* xp = x + (n * g.C + oc / m) * plane;
      const T* wp = w + oc * g.kh * g.kw;
      T* op = out + p * L;
      std::fill(op, op + L, T(0));
      for (int64_t ki = 0; ki < g.kh; ++ki) {
        int64_t oh_lo, oh_hi;
        valid_range(ki * g.dh - g.ph, g.sh, g.H, g.Ho, oh_lo, oh_hi);
        for (int64_t kj = 0; kj < g.kw; ++kj) {
          int64_t ow_lo, ow_hi;
          const int64_t w_off = kj * g.dw - g.pw;
          valid_range(w_off, g.sw, g.W, g.Wo, ow_lo, ow_hi);
          const T tap = wp[ki * g.kw + kj];
          for (int64_t oh = oh_lo; oh < oh_hi; ++oh) {
            const T* xr = xp + (oh * g.sh + ki * g.dh - g.ph) * g.W;
            T* r = op + oh * g.Wo;
            for (int64_t ow = ow_lo; ow < ow_hi; ++ow) r[ow] += tap * xr[ow * g.sw + w_off];
          }
        }
      }
    }
  });
}

// grad_x [N, C, H, W] (overwritten): each input plane gathers from its m output channels.
template <class T>
void depthwise_grad_input_typed(const T* grad_out, const T* w, const Conv2dGeometry& g, int64_t Cout, T* grad_x) {
  const int64_t m = Cout / g.C, L = g.Ho * g.Wo, plane = g.H * g.W;
  parallel_for(g.N * g.C, m * g.kh * g.kw * L, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t n = p / g.C, c = p % g.C;
      T* gp = grad_x + p * plane;
      std::fill(gp, gp + plane, T(0));
      for (int64_t j = 0; j < m; ++j) {
        const int64_t oc = c * m + j;
        const T* go = grad_out + (n * Cout + oc) * L;
        const T* wp = w + oc * g.kh * g.kw;
        for (int64_t ki = 0; ki < g.kh; ++ki) {
          int64_t oh_lo, oh_hi;
          valid_range(ki * g.dh - g.ph, g.sh, g.H, g.Ho, oh_lo, oh_hi);
          for (int64_t kj = 0; kj < g.kw; ++kj) {
            int64_t ow_lo, ow_hi;
            const int64_t w_off = kj * g.dw - g.pw;
            valid_range(w_off, g.sw, g.W, g.Wo, ow_lo, ow_hi);
            const T tap = wp[ki * g.kw + kj];
            for (int64_t oh = oh_lo; oh < oh_hi; ++oh) {
              T* gr = gp + (oh * g.sh + ki * g.dh - g.ph) * g.W;
              const T* r = go + oh * g.Wo;
              for (int64_t ow = ow_lo; ow < ow_hi; ++ow) gr[ow * g.sw + w_off] += tap * r[ow];
            }
          }
        }
      }
    }
  });
}

// grad_w [C*m, 1, kh, kw] (overwritten): each filter tap sums grad_out * x over images and positions.
template <class T>
void depthwise_grad_weight_typed(const T* grad_out, const T* x, const Conv2dGeometry& g, int64_t Cout, T* grad_w) {
  const int64_t m = Cout / g.C, L = g.Ho * g.Wo, plane = g.H * g.W;
  parallel_for(Cout, g.N * g.kh * g.kw * L, [&](int64_t c0, int64_t c1) {
    for (int64_t oc = c0; oc < c1; ++oc) {
      for (int64_t ki = 0; ki < g.kh; ++ki) {
        int64_t oh_lo, oh_hi;
        valid_range(ki * g.dh - g.ph, g.sh, g.H, g.Ho, oh_lo, oh_hi);
        for (int64_t kj = 0; kj < g.kw; ++kj) {
          int64_t ow_lo, ow_hi;
          const int64_t w_off = kj * g.dw - g.pw;
          valid_range(w_off, g.sw, g.W, g.Wo, ow_lo, ow_hi);
          double acc = 0;
          for (int64_t n = 0; n < g.N; ++n) {
            const T* xp = x + (n * g.C + oc / m) * plane;
            const T* go = grad_out + (n * Cout + oc) * L;
            for (int64_t oh = oh_lo; oh < oh_hi; ++oh) {
              const T* xr = xp + (oh * g.sh + ki * g.dh - g.ph) * g.W;
              const T* r = go + oh * g.Wo;
              T row_sum = 0;
              for (int64_t ow = ow_lo; ow < ow_hi; ++ow) row_sum += r[ow] * xr[ow * g.sw + w_off];
              acc += row_sum;
            }
          }
          grad_w[oc * g.kh * g.kw + ki * g.kw + kj] = static_cast<T>(acc);
        }
      }
    }
  });
}

}  // namespace

void CpuBackend::im2col(const Tensor& x, const Conv2dGeometry& g, const Tensor& cols) {
  IRIS_ASSERT(x.is_contiguous() && cols.is_contiguous() && x.dtype() == cols.dtype());
  IRIS_ASSERT(cols.numel() == g.N * g.C * g.kh * g.kw * g.Ho * g.Wo && x.numel() == g.N * g.C * g.H * g.W);
  dispatch_float(x.dtype(), "im2col", [&](auto z) {
    using T = decltype(z);
    im2col_typed<T>(x.data<T>(), g, cols.data<T>());
  });
}

void CpuBackend::col2im(const Tensor& cols, const Conv2dGeometry& g, const Tensor& grad_x) {
  IRIS_ASSERT(cols.is_contiguous() && grad_x.is_contiguous() && cols.dtype() == grad_x.dtype());
  IRIS_ASSERT(cols.numel() == g.N * g.C * g.kh * g.kw * g.Ho * g.Wo && grad_x.numel() == g.N * g.C * g.H * g.W);
  dispatch_float(cols.dtype(), "col2im", [&](auto z) {
    using T = decltype(z);
    col2im_typed<T>(cols.data<T>(), g, grad_x.data<T>());
  });
}

void CpuBackend::depthwise_conv2d(const Tensor& x, const Tensor& w, const Conv2dGeometry& g, const Tensor& out) {
  IRIS_ASSERT(x.is_contiguous() && w.is_contiguous() && out.is_contiguous());
  IRIS_ASSERT(w.dim() == 4 && g.C > 0 && w.shape()[0] % g.C == 0);
  dispatch_float(x.dtype(), "depthwise_conv2d", [&](auto z) {
    using T = decltype(z);
    depthwise_typed<T>(x.data<T>(), w.data<T>(), g, w.shape()[0], out.data<T>());
  });
}

void CpuBackend::depthwise_conv2d_backward(const Tensor& grad_out, const Tensor& x, const Tensor& w,
                                           const Conv2dGeometry& g, const Tensor& grad_x, const Tensor& grad_w) {
  IRIS_ASSERT(grad_out.is_contiguous() && w.dim() == 4 && g.C > 0 && w.shape()[0] % g.C == 0);
  const int64_t Cout = w.shape()[0];
  dispatch_float(grad_out.dtype(), "depthwise_conv2d_backward", [&](auto z) {
    using T = decltype(z);
    if (grad_x.defined()) {
      IRIS_ASSERT(w.is_contiguous() && grad_x.is_contiguous());
      depthwise_grad_input_typed<T>(grad_out.data<T>(), w.data<T>(), g, Cout, grad_x.data<T>());
    }
    if (grad_w.defined()) {
      IRIS_ASSERT(x.is_contiguous() && grad_w.is_contiguous());
      depthwise_grad_weight_typed<T>(grad_out.data<T>(), x.data<T>(), g, Cout, grad_w.data<T>());
    }
  });
}

}  // namespace iris::cpu
