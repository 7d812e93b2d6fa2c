// CUDA convolution kernels: im2col / col2im (the data movement around conv2d's cuBLAS product) and
// the direct depthwise convolution with its backward, twins of tensor/cpu/conv.cpp. Every kernel
// gathers (one thread per written element), so no atomics and results are deterministic.
// Leaves out the GEMM itself (gemm.cu) and every shape check (autograd/conv.cpp does those).
#include <algorithm>

#include "cuda/common.cuh"
#include "tensor/pool_geometry.h"

namespace iris::cuda {

namespace {

// The output position o along one dim whose kernel tap k reads input position i:
// o * stride - pad + k * dilation == i. Returns -1 when there is none inside [0, count).
__device__ inline int64_t output_of(int64_t i, int64_t k, int64_t stride, int64_t pad, int64_t dilation,
                                    int64_t count) {
  const int64_t num = i + pad - k * dilation;
  if (num < 0 || num % stride != 0) return -1;
  const int64_t o = num / stride;
  return o < count ? o : -1;
}

// cols [N*C, kh*kw, Ho*Wo] <- x [N*C, H, W]: row (ki, kj) of plane p holds x[p] shifted by the
// kernel offset and sampled with the stride (zero where the window covers padding).
template <class T>
__global__ void im2col_kernel(const T* x, Conv2dGeometry g, T* cols, int64_t total) {
  const int64_t L = g.Ho * g.Wo, taps = g.kh * g.kw;
  IRIS_KERNEL_LOOP(i, total) {
    const int64_t l = i % L, tap = (i / L) % taps, p = i / (L * taps);
    const int64_t oh = l / g.Wo, ow = l % g.Wo, ki = tap / g.kw, kj = tap % g.kw;
    const int64_t ih = oh * g.sh - g.ph + ki * g.dh, iw = ow * g.sw - g.pw + kj * g.dw;
    cols[i] = (ih >= 0 && ih < g.H && iw >= 0 && iw < g.W) ? x[(p * g.H + ih) * g.W + iw] : T(0);
  }
}

// grad_x [N*C, H, W] += the adjoint of im2col: each input pixel sums the cols entries that read it,
// in the CPU's order (taps ascending).
template <class T>
__global__ void col2im_kernel(const T* cols, Conv2dGeometry g, T* grad_x, int64_t total) {
  const int64_t L = g.Ho * g.Wo, taps = g.kh * g.kw;
  IRIS_KERNEL_LOOP(i, total) {
    const int64_t iw = i % g.W, ih = (i / g.W) % g.H, p = i / (g.W * g.H);
    const T* cp = cols + p * taps * L;
    T acc = grad_x[i];
    for (int64_t ki = 0; ki < g.kh; ++ki) {
      const int64_t oh = output_of(ih, ki, g.sh, g.ph, g.dh, g.Ho);
      if (oh < 0) continue;
      for (int64_t kj = 0; kj < g.kw; ++kj) {
        const int64_t ow = output_of(iw, kj, g.sw, g.pw, g.dw, g.Wo);
        if (ow < 0) continue;
        acc += cp[(ki * g.kw + kj) * L + oh * g.Wo + ow];
      }
    }
    grad_x[i] = acc;
  }
}

// out [N, C*m, Ho, Wo]: output channel oc reads input channel oc / m with its own kh x kw filter
// w [C*m, 1, kh, kw].
template <class T>
__global__ void depthwise_kernel(const T* x, const T* w, Conv2dGeometry g, int64_t Cout, T* out, int64_t total) {
  const int64_t m = Cout / g.C, L = g.Ho * g.Wo;
  IRIS_KERNEL_LOOP(i, total) {
    const int64_t l = i % L, oc = (i / L) % Cout, n = i / (L * Cout);
    const int64_t oh = l / g.Wo, ow = l % g.Wo;
    const T* xp = x + (n * g.C + oc / m) * g.H * g.W;
    const T* wp = w + oc * g.kh * g.kw;
    T acc = T(0);
    for_each_window_tap(g, oh, ow, [&](int64_t ki, int64_t kj, int64_t at) { acc += wp[ki * g.kw + kj] * xp[at]; });
    out[i] = acc;
  }
}

// grad_x [N, C, H, W] (overwritten): each input pixel gathers from the m output channels of its
// input channel, over the taps that read it.
template <class T>
__global__ void depthwise_grad_input_kernel(const T* grad_out, const T* w, Conv2dGeometry g, int64_t Cout, T* grad_x,
                                            int64_t total) {
  const int64_t m = Cout / g.C, L = g.Ho * g.Wo;
  IRIS_KERNEL_LOOP(i, total) {
    const int64_t iw = i % g.W, ih = (i / g.W) % g.H, c = (i / (g.W * g.H)) % g.C, n = i / (g.W * g.H * g.C);
    T acc = T(0);
    for (int64_t j = 0; j < m; ++j) {
      const int64_t oc = c * m + j;
      const T* go = grad_out + (n * Cout + oc) * L;
      const T* wp = w + oc * g.kh * g.kw;
      for (int64_t ki = 0; ki < g.kh; ++ki) {
        const int64_t oh = output_of(ih, ki, g.sh, g.ph, g.dh, g.Ho);
        if (oh < 0) continue;
        for (int64_t kj = 0; kj < g.kw; ++kj) {
          const int64_t ow = output_of(iw, kj, g.sw, g.pw, g.dw, g.Wo);
          if (ow < 0) continue;
          acc += wp[ki * g.kw + kj] * go[oh * g.Wo + ow];
        }
      }
    }
    grad_x[i] = acc;
  }
}

// grad_w [C*m, 1, kh, kw] (overwritten): one block per filter tap sums grad_out * x over images
// and output positions. Fixed block size and a tree reduction: deterministic.
constexpr int kReduceThreads = 256;

template <class T>
__global__ void depthwise_grad_weight_kernel(const T* grad_out, const T* x, Conv2dGeometry g, int64_t Cout,
                                             T* grad_w) {
  using A = typename Acc<T>::type;
  __shared__ A partial[kReduceThreads];
  const int64_t m = Cout / g.C, L = g.Ho * g.Wo, taps = g.kh * g.kw, work = g.N * L;
  for (int64_t e = blockIdx.x; e < Cout * taps; e += gridDim.x) {
    const int64_t oc = e / taps, ki = (e % taps) / g.kw, kj = e % g.kw;
    A acc = A(0);
    for (int64_t t = threadIdx.x; t < work; t += blockDim.x) {
      const int64_t n = t / L, l = t % L, oh = l / g.Wo, ow = l % g.Wo;
      const int64_t ih = oh * g.sh - g.ph + ki * g.dh, iw = ow * g.sw - g.pw + kj * g.dw;
      if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) continue;
      acc += static_cast<A>(grad_out[(n * Cout + oc) * L + l]) *
             static_cast<A>(x[((n * g.C + oc / m) * g.H + ih) * g.W + iw]);
    }
    partial[threadIdx.x] = acc;
    __syncthreads();
    for (int half = kReduceThreads / 2; half > 0; half /= 2) {
      if (threadIdx.x < half) partial[threadIdx.x] += partial[threadIdx.x + half];
      __syncthreads();
    }
    if (threadIdx.x == 0) grad_w[e] = static_cast<T>(partial[0]);
    __syncthreads();  // partial[] is reused by the next tap
  }
}

}  // namespace

void CudaBackend::im2col(const Tensor& x, const Conv2dGeometry& g, const Tensor& cols) {
  IRIS_ASSERT(x.is_contiguous() && cols.is_contiguous() && x.dtype() == cols.dtype());
  IRIS_ASSERT(cols.numel() == g.N * g.C * g.kh * g.kw * g.Ho * g.Wo && x.numel() == g.N * g.C * g.H * g.W);
  check_on_gpu("im2col", {&x, &cols});
  cuda_dispatch_float(x.dtype(), "im2col", [&](auto z) {
    using T = decltype(z);
    const int64_t total = cols.numel();
    if (total == 0) return;
    im2col_kernel<T><<<blocks_for(total), kThreads, 0, stream()>>>(x.data<T>(), g, cols.data<T>(), total);
    IRIS_CUDA_LAUNCHED();
  });
}

void CudaBackend::col2im(const Tensor& cols, const Conv2dGeometry& g, const Tensor& grad_x) {
  IRIS_ASSERT(cols.is_contiguous() && grad_x.is_contiguous() && cols.dtype() == grad_x.dtype());
  IRIS_ASSERT(cols.numel() == g.N * g.C * g.kh * g.kw * g.Ho * g.Wo && grad_x.numel() == g.N * g.C * g.H * g.W);
  check_on_gpu("col2im", {&cols, &grad_x});
  cuda_dispatch_float(cols.dtype(), "col2im", [&](auto z) {
    using T = decltype(z);
    const int64_t total = grad_x.numel();
    if (total == 0 || cols.numel() == 0) return;
    col2im_kernel<T><<<blocks_for(total), kThreads, 0, stream()>>>(cols.data<T>(), g, grad_x.data<T>(), total);
    IRIS_CUDA_LAUNCHED();
  });
}

void CudaBackend::depthwise_conv2d(const Tensor& x, const Tensor& w, const Conv2dGeometry& g, const Tensor& out) {
  IRIS_ASSERT(x.is_contiguous() && w.is_contiguous() && out.is_contiguous());
  IRIS_ASSERT(w.dim() == 4 && g.C > 0 && w.shape()[0] % g.C == 0);
  check_on_gpu("depthwise_conv2d", {&x, &w, &out});
  const int64_t Cout = w.shape()[0];
  cuda_dispatch_float(x.dtype(), "depthwise_conv2d", [&](auto z) {
    using T = decltype(z);
    const int64_t total = g.N * Cout * g.Ho * g.Wo;
    if (total == 0) return;
    depthwise_kernel<T><<<blocks_for(total), kThreads, 0, stream()>>>(x.data<T>(), w.data<T>(), g, Cout,
                                                                      out.data<T>(), total);
    IRIS_CUDA_LAUNCHED();
  });
}

void CudaBackend::depthwise_conv2d_backward(const Tensor& grad_out, const Tensor& x, const Tensor& w,
                                            const Conv2dGeometry& g, const Tensor& grad_x, const Tensor& grad_w) {
  IRIS_ASSERT(grad_out.is_contiguous() && w.dim() == 4 && g.C > 0 && w.shape()[0] % g.C == 0);
  check_on_gpu("depthwise_conv2d_backward", {&grad_out, &x, &w, &grad_x, &grad_w});
  const int64_t Cout = w.shape()[0];
  cuda_dispatch_float(grad_out.dtype(), "depthwise_conv2d_backward", [&](auto z) {
    using T = decltype(z);
    if (grad_x.defined()) {
      IRIS_ASSERT(w.is_contiguous() && grad_x.is_contiguous());
      const int64_t total = g.N * g.C * g.H * g.W;
      if (total > 0) {
        depthwise_grad_input_kernel<T><<<blocks_for(total), kThreads, 0, stream()>>>(
            grad_out.data<T>(), w.data<T>(), g, Cout, grad_x.data<T>(), total);
        IRIS_CUDA_LAUNCHED();
      }
    }
    if (grad_w.defined()) {
      IRIS_ASSERT(x.is_contiguous() && grad_w.is_contiguous());
      const int64_t filters = Cout * g.kh * g.kw;
      if (filters > 0) {
        const unsigned blocks = static_cast<unsigned>(std::min<int64_t>(filters, 65535 * 8));
        depthwise_grad_weight_kernel<T><<<blocks, kReduceThreads, 0, stream()>>>(grad_out.data<T>(), x.data<T>(), g,
                                                                                Cout, grad_w.data<T>());
        IRIS_CUDA_LAUNCHED();
      }
    }
  });
}

}  // namespace iris::cuda
