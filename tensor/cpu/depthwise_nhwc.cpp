// CPU channels-last depthwise convolution (DaViT's ConvPosEnc): x [N, H, W, C] with one kh x kw
// filter per channel, stride 1, dilation 1, zero padding. The weight is re-laid once per call as
// taps [kh*kw, C], so every inner loop runs over C contiguous values and vectorises.
// Leaves out stride or dilation != 1, channel multipliers (groups != C) and every shape check
// (autograd/depthwise_nhwc.cpp does those); conv.cpp has the general NCHW kernels.
#include <algorithm>
#include <vector>

#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/loops.h"

namespace iris::cpu {

namespace {

struct Geometry {
  int64_t N, H, W, C, kh, kw, ph, pw, Ho, Wo;
  int64_t taps() const { return kh * kw; }
};

// taps [kh*kw, C] <- w [C, 1, kh, kw]
template <class T>
std::vector<T> taps_major(const T* w, const Geometry& g) {
  std::vector<T> taps(static_cast<size_t>(g.taps() * g.C));
  for (int64_t c = 0; c < g.C; ++c)
    for (int64_t k = 0; k < g.taps(); ++k) taps[k * g.C + c] = w[c * g.taps() + k];
  return taps;
}

// acc[c] += a[c] * b[c] for c in [0, C)
template <class T>
inline void multiply_add(T* acc, const T* a, const T* b, int64_t C) {
#pragma omp simd
  for (int64_t c = 0; c < C; ++c) acc[c] += a[c] * b[c];
}

// out [N, Ho, Wo, C]: out[n, oh, ow] = bias + sum over taps (ki, kj) landing inside the image of
// taps[ki, kj] * x[n, oh - ph + ki, ow - pw + kj]. Parallel over output rows (n, oh).
template <class T>
void forward_typed(const T* x, const T* taps, const T* bias, const Geometry& g, T* out) {
  const int64_t C = g.C;
  parallel_for(g.N * g.Ho, g.Wo * g.taps() * C, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t n = r / g.Ho, oh = r % g.Ho;
      const int64_t ki_lo = std::max<int64_t>(0, g.ph - oh), ki_hi = std::min(g.kh, g.H + g.ph - oh);
      for (int64_t ow = 0; ow < g.Wo; ++ow) {
        T* acc = out + (r * g.Wo + ow) * C;
        if (bias)
          std::copy(bias, bias + C, acc);
        else
          std::fill(acc, acc + C, T(0));
        const int64_t kj_lo = std::max<int64_t>(0, g.pw - ow), kj_hi = std::min(g.kw, g.W + g.pw - ow);
        for (int64_t ki = ki_lo; ki < ki_hi; ++ki) {
          const T* x_row = x + (n * g.H + oh - g.ph + ki) * g.W * C;
          for (int64_t kj = kj_lo; kj < kj_hi; ++kj)
            multiply_add(acc, taps + (ki * g.kw + kj) * C, x_row + (ow - g.pw + kj) * C, C);
        }
      }
    }
  });
}

// grad_x [N, H, W, C] (overwritten): grad_x[n, ih, iw] = sum over taps (ki, kj) whose output
// position (ih + ph - ki, iw + pw - kj) exists of taps[ki, kj] * grad_out there. Parallel over
// input rows (n, ih), so each thread writes its own rows.
template <class T>
void grad_input_typed(const T* grad_out, const T* taps, const Geometry& g, T* grad_x) {
  const int64_t C = g.C;
  parallel_for(g.N * g.H, g.W * g.taps() * C, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t n = r / g.H, ih = r % g.H;
      const int64_t ki_lo = std::max<int64_t>(0, ih + g.ph - g.Ho + 1), ki_hi = std::min(g.kh, ih + g.ph + 1);
      for (int64_t iw = 0; iw < g.W; ++iw) {
        T* acc = grad_x + (r * g.W + iw) * C;
        std::fill(acc, acc + C, T(0));
        const int64_t kj_lo = std::max<int64_t>(0, iw + g.pw - g.Wo + 1), kj_hi = std::min(g.kw, iw + g.pw + 1);
        for (int64_t ki = ki_lo; ki < ki_hi; ++ki) {
          const T* g_row = grad_out + (n * g.Ho + ih + g.ph - ki) * g.Wo * C;
          for (int64_t kj = kj_lo; kj < kj_hi; ++kj)
            multiply_add(acc, taps + (ki * g.kw + kj) * C, g_row + (iw + g.pw - kj) * C, C);
        }
      }
    }
  });
}

// grad_w [C, 1, kh, kw] and grad_bias [C] (each optional, overwritten): sums over (n, oh, ow) of
// grad_out * the input under each tap, and of grad_out. The N*Ho output rows are cut into a number
// of chunks fixed by the sizes alone; each chunk sums into its own partial [kh*kw + 1, C] (the last
// row for the bias) and the partials are added in chunk order, so the result does not depend on
// the thread count.
template <class T>
void grad_weight_bias_typed(const T* grad_out, const T* x, const Geometry& g, T* grad_w, T* grad_bias) {
  const int64_t C = g.C, taps = g.taps(), rows = g.N * g.Ho;
  const int64_t work = rows * g.Wo * taps * C;
  const int64_t chunks = std::max<int64_t>(1, std::min<int64_t>({rows, work / 65536, 64}));
  const int64_t part_size = (taps + 1) * C;
  std::vector<T> partial(static_cast<size_t>(chunks * part_size), T(0));  // [chunks, taps + 1, C]
  parallel_for(chunks, std::max<int64_t>(1, work / chunks), [&](int64_t k0, int64_t k1) {
    for (int64_t k = k0; k < k1; ++k) {
      T* part_w = partial.data() + k * part_size;
      T* part_b = part_w + taps * C;
      for (int64_t r = rows * k / chunks; r < rows * (k + 1) / chunks; ++r) {
        const int64_t n = r / g.Ho, oh = r % g.Ho;
        const int64_t ki_lo = std::max<int64_t>(0, g.ph - oh), ki_hi = std::min(g.kh, g.H + g.ph - oh);
        for (int64_t ow = 0; ow < g.Wo; ++ow) {
          const T* go = grad_out + (r * g.Wo + ow) * C;
          if (grad_bias) {
#pragma omp simd
            for (int64_t c = 0; c < C; ++c) part_b[c] += go[c];
          }
          if (!grad_w) continue;
          const int64_t kj_lo = std::max<int64_t>(0, g.pw - ow), kj_hi = std::min(g.kw, g.W + g.pw - ow);
          for (int64_t ki = ki_lo; ki < ki_hi; ++ki) {
            const T* x_row = x + (n * g.H + oh - g.ph + ki) * g.W * C;
            for (int64_t kj = kj_lo; kj < kj_hi; ++kj)
              multiply_add(part_w + (ki * g.kw + kj) * C, go, x_row + (ow - g.pw + kj) * C, C);
          }
        }
      }
    }
  });
  // Fixed-order sum of the chunks: grad_w [C, taps] from partial rows 0..taps-1, grad_bias from row taps.
  for (int64_t t = 0; t <= taps; ++t) {
    if (t < taps ? !grad_w : !grad_bias) continue;
    for (int64_t c = 0; c < C; ++c) {
      T sum = 0;
      for (int64_t k = 0; k < chunks; ++k) sum += partial[k * part_size + t * C + c];
      if (t < taps)
        grad_w[c * taps + t] = sum;
      else
        grad_bias[c] = sum;
    }
  }
}

Geometry geometry_of(const Tensor& x, const Tensor& w, int64_t ph, int64_t pw) {
  Geometry g{x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3], w.shape()[2], w.shape()[3], ph, pw, 0, 0};
  g.Ho = g.H + 2 * ph - g.kh + 1;
  g.Wo = g.W + 2 * pw - g.kw + 1;
  return g;
}

}  // namespace

void CpuBackend::depthwise_conv2d_nhwc(const Tensor& x, const Tensor& w, const Tensor& bias, int64_t ph, int64_t pw,
                                       const Tensor& out) {
  IRIS_ASSERT(x.dim() == 4 && w.dim() == 4 && out.dim() == 4 && w.shape()[0] == x.shape()[3]);
  IRIS_ASSERT(x.is_contiguous() && w.is_contiguous() && out.is_contiguous());
  IRIS_ASSERT(!bias.defined() || bias.is_contiguous());
  const Geometry g = geometry_of(x, w, ph, pw);
  IRIS_ASSERT(out.shape() == Shape({g.N, g.Ho, g.Wo, g.C}));
  dispatch_float(x.dtype(), "depthwise_conv2d_nhwc", [&](auto z) {
    using T = decltype(z);
    const std::vector<T> taps = taps_major(w.data<T>(), g);
    forward_typed<T>(x.data<T>(), taps.data(), bias.defined() ? bias.data<T>() : nullptr, g, out.data<T>());
  });
}

void CpuBackend::depthwise_conv2d_nhwc_backward(const Tensor& grad_out, const Tensor& x, const Tensor& w, int64_t ph,
                                                int64_t pw, const Tensor& grad_x, const Tensor& grad_w,
                                                const Tensor& grad_bias) {
  IRIS_ASSERT(x.dim() == 4 && w.dim() == 4 && w.shape()[0] == x.shape()[3]);
  IRIS_ASSERT(grad_out.is_contiguous() && x.is_contiguous() && w.is_contiguous());
  const Geometry g = geometry_of(x, w, ph, pw);
  IRIS_ASSERT(grad_out.shape() == Shape({g.N, g.Ho, g.Wo, g.C}));
  IRIS_ASSERT(!grad_x.defined() || (grad_x.is_contiguous() && grad_x.shape() == x.shape()));
  IRIS_ASSERT(!grad_w.defined() || (grad_w.is_contiguous() && grad_w.shape() == w.shape()));
  IRIS_ASSERT(!grad_bias.defined() || (grad_bias.is_contiguous() && grad_bias.numel() == g.C));
  dispatch_float(grad_out.dtype(), "depthwise_conv2d_nhwc_backward", [&](auto z) {
    using T = decltype(z);
    if (grad_x.defined()) {
      const std::vector<T> taps = taps_major(w.data<T>(), g);
      grad_input_typed<T>(grad_out.data<T>(), taps.data(), g, grad_x.data<T>());
    }
    if (grad_w.defined() || grad_bias.defined())
      grad_weight_bias_typed<T>(grad_out.data<T>(), x.data<T>(), g, grad_w.defined() ? grad_w.data<T>() : nullptr,
                                grad_bias.defined() ? grad_bias.data<T>() : nullptr);
  });
}

}  // namespace iris::cpu
