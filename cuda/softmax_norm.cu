// CUDA softmax / log_softmax (x viewed as [outer, D, inner], contiguous) and layer norm over the
// last dim of x [R, D], forward and backward; the twins of tensor/cpu/softmax_norm.cpp (same
// formulas, same outputs written). Rows (inner == 1) get a group of 32 or 256 threads that
// combine partials in a fixed shared-memory tree; columns (inner > 1) get one thread each, reading
// coalesced across neighbouring columns. f32 accumulates in f32, f64 in f64. Layer norm's
// weight/bias gradients: per-chunk partial sums over rows, then a second kernel adds the chunks in
// order (deterministic, no atomics). Leaves out: non-contiguous inputs (the ops make them
// contiguous), bf16/f16, single-pass online softmax.
#include <cmath>
#include <limits>

#include "cuda/common.cuh"
#include "tensor/softmax_norm_geometry.h"

namespace iris::cuda {

namespace {

// All threads of the block call this (block-uniform control flow); each group of kGroup
// consecutive threads gets the combination of its members' values, by a fixed tree.
// scratch: kThreads values in shared memory.
template <int kGroup, class V, class F>
__device__ inline V group_reduce(V v, V* scratch, F combine) {
  const int lane = threadIdx.x % kGroup;
  scratch[threadIdx.x] = v;
  __syncthreads();
  for (int s = kGroup / 2; s > 0; s >>= 1) {
    if (lane < s) scratch[threadIdx.x] = combine(scratch[threadIdx.x], scratch[threadIdx.x + s]);
    __syncthreads();
  }
  V r = scratch[threadIdx.x - lane];
  __syncthreads();  // everyone has read before the next call overwrites scratch
  return r;
}

struct AddFn {
  template <class V>
  __device__ V operator()(V a, V b) const { return a + b; }
};
// As the CPU's `x > m ? x : m`: a NaN never becomes the max (its exp makes the row NaN anyway).
struct MaxFn {
  template <class V>
  __device__ V operator()(V a, V b) const { return b > a ? b : a; }
};

// -inf of T in device code (std::numeric_limits is host-only without --expt-relaxed-constexpr).
template <class T>
__device__ inline T negative_infinity() { return static_cast<T>(-INFINITY); }
__device__ inline float exp_of(float v) { return expf(v); }
__device__ inline double exp_of(double v) { return ::exp(v); }
__device__ inline float log_of(float v) { return logf(v); }
__device__ inline double log_of(double v) { return ::log(v); }
__device__ inline float sqrt_of(float v) { return sqrtf(v); }
__device__ inline double sqrt_of(double v) { return ::sqrt(v); }

unsigned grid_for_rows(int64_t rows, int group) {
  int64_t per_block = kThreads / group;
  int64_t blocks = (rows + per_block - 1) / per_block;
  return static_cast<unsigned>(std::min<int64_t>(std::max<int64_t>(blocks, 1), 65535 * 8));
}

// ---- softmax ------------------------------------------------------------------------------

// Rows of D contiguous values (inner == 1): x, y [rows, D].
template <class T, int kGroup>
__global__ void softmax_rows_kernel(const T* x, T* y, int64_t rows, int64_t D, bool log) {
  __shared__ T scratch[kThreads];
  const int lane = threadIdx.x % kGroup;
  const int64_t per_block = blockDim.x / kGroup;
  for (int64_t first = static_cast<int64_t>(blockIdx.x) * per_block; first < rows;
       first += static_cast<int64_t>(gridDim.x) * per_block) {  // uniform across the block
    const int64_t row = first + threadIdx.x / kGroup;
    const bool valid = row < rows;
    const T* xr = x + (valid ? row : 0) * D;
    T mx = negative_infinity<T>();
    if (valid)
      for (int64_t d = lane; d < D; d += kGroup) mx = xr[d] > mx ? xr[d] : mx;
    mx = group_reduce<kGroup>(mx, scratch, MaxFn());
    T total = 0;
    if (valid)
      for (int64_t d = lane; d < D; d += kGroup) total += exp_of(xr[d] - mx);
    total = group_reduce<kGroup>(total, scratch, AddFn());
    if (valid) {
      T* yr = y + row * D;
      if (log) {
        // (x - max) - log(sum), as the CPU: keeps log(sum) when |x| is large
        const T log_total = log_of(total);
        for (int64_t d = lane; d < D; d += kGroup) yr[d] = (xr[d] - mx) - log_total;
      } else {
        const T inv = T(1) / total;
        for (int64_t d = lane; d < D; d += kGroup) yr[d] = exp_of(xr[d] - mx) * inv;
      }
    }
  }
}

// One thread per column of [outer, D, inner] (inner > 1): neighbouring threads read neighbouring
// columns, so every pass over D reads coalesced.
template <class T>
__global__ void softmax_columns_kernel(const T* x, T* y, SoftmaxGeometry geo, bool log) {
  const int64_t D = geo.D, inner = geo.inner;
  IRIS_KERNEL_LOOP(col, geo.rows()) {
    const T* xc = x + geo.row_start(col);
    T* yc = y + geo.row_start(col);
    T mx = negative_infinity<T>();
    for (int64_t d = 0; d < D; ++d) mx = xc[d * inner] > mx ? xc[d * inner] : mx;
    T total = 0;
    for (int64_t d = 0; d < D; ++d) total += exp_of(xc[d * inner] - mx);
    if (log) {
      const T log_total = log_of(total);
      for (int64_t d = 0; d < D; ++d) yc[d * inner] = (xc[d * inner] - mx) - log_total;
    } else {
      const T inv = T(1) / total;
      for (int64_t d = 0; d < D; ++d) yc[d * inner] = exp_of(xc[d * inner] - mx) * inv;
    }
  }
}

// softmax:     grad_in = y * (grad_out - sum(grad_out * y))
// log_softmax: grad_in = grad_out - exp(y) * sum(grad_out)
template <class T, int kGroup>
__global__ void softmax_backward_rows_kernel(const T* y, const T* g, T* gi, int64_t rows, int64_t D, bool log) {
  __shared__ T scratch[kThreads];
  const int lane = threadIdx.x % kGroup;
  const int64_t per_block = blockDim.x / kGroup;
  for (int64_t first = static_cast<int64_t>(blockIdx.x) * per_block; first < rows;
       first += static_cast<int64_t>(gridDim.x) * per_block) {  // uniform across the block
    const int64_t row = first + threadIdx.x / kGroup;
    const bool valid = row < rows;
    const int64_t base = (valid ? row : 0) * D;
    T total = 0;
    if (valid)
      for (int64_t d = lane; d < D; d += kGroup) total += log ? g[base + d] : g[base + d] * y[base + d];
    total = group_reduce<kGroup>(total, scratch, AddFn());
    if (valid) {
      if (log) {
        for (int64_t d = lane; d < D; d += kGroup) gi[base + d] = g[base + d] - exp_of(y[base + d]) * total;
      } else {
        for (int64_t d = lane; d < D; d += kGroup) gi[base + d] = y[base + d] * (g[base + d] - total);
      }
    }
  }
}

template <class T>
__global__ void softmax_backward_columns_kernel(const T* y, const T* g, T* gi, SoftmaxGeometry geo, bool log) {
  const int64_t D = geo.D, inner = geo.inner;
  IRIS_KERNEL_LOOP(col, geo.rows()) {
    const int64_t base = geo.row_start(col);
    T total = 0;
    for (int64_t d = 0; d < D; ++d) {
      const int64_t i = base + d * inner;
      total += log ? g[i] : g[i] * y[i];
    }
    for (int64_t d = 0; d < D; ++d) {
      const int64_t i = base + d * inner;
      gi[i] = log ? g[i] - exp_of(y[i]) * total : y[i] * (g[i] - total);
    }
  }
}

// ---- layer norm ---------------------------------------------------------------------------

// x, y [R, D]; weight, bias [D] or null; mean, rstd [R]. Two passes (mean, then centred squares)
// as the CPU, so |mean| >> std loses nothing.
template <class T, int kGroup>
__global__ void layer_norm_kernel(const T* x, const T* w, const T* b, T eps, T* y, T* mean, T* rstd, int64_t R,
                                  int64_t D) {
  __shared__ T scratch[kThreads];
  const int lane = threadIdx.x % kGroup;
  const int64_t per_block = blockDim.x / kGroup;
  for (int64_t first = static_cast<int64_t>(blockIdx.x) * per_block; first < R;
       first += static_cast<int64_t>(gridDim.x) * per_block) {  // uniform across the block
    const int64_t row = first + threadIdx.x / kGroup;
    const bool valid = row < R;
    const T* xr = x + (valid ? row : 0) * D;
    T total = 0;
    if (valid)
      for (int64_t d = lane; d < D; d += kGroup) total += xr[d];
    total = group_reduce<kGroup>(total, scratch, AddFn());
    const T mu = total / static_cast<T>(D);
    T squares = 0;
    if (valid)
      for (int64_t d = lane; d < D; d += kGroup) {
        T c = xr[d] - mu;
        squares += c * c;
      }
    squares = group_reduce<kGroup>(squares, scratch, AddFn());
    if (valid) {
      const T s = T(1) / sqrt_of(squares / static_cast<T>(D) + eps);
      if (lane == 0) {
        mean[row] = mu;
        rstd[row] = s;
      }
      T* yr = y + row * D;
      for (int64_t d = lane; d < D; d += kGroup) {
        T v = (xr[d] - mu) * s;
        if (w) v = v * w[d];
        if (b) v = v + b[d];
        yr[d] = v;
      }
    }
  }
}

// With xhat = (x - mean) * rstd and gh = grad_y * weight (per row):
//   grad_x = rstd * (gh - mean(gh) - xhat * mean(gh * xhat))
template <class T, int kGroup>
__global__ void layer_norm_grad_x_kernel(const T* gy, const T* x, const T* w, const T* mean, const T* rstd, T* gx,
                                         int64_t R, int64_t D) {
  __shared__ T scratch[kThreads];
  const int lane = threadIdx.x % kGroup;
  const int64_t per_block = blockDim.x / kGroup;
  for (int64_t first = static_cast<int64_t>(blockIdx.x) * per_block; first < R;
       first += static_cast<int64_t>(gridDim.x) * per_block) {  // uniform across the block
    const int64_t row = first + threadIdx.x / kGroup;
    const bool valid = row < R;
    const int64_t base = (valid ? row : 0) * D;
    const T m = valid ? mean[row] : T(0), s = valid ? rstd[row] : T(0);
    T sum_gh = 0, sum_gh_xhat = 0;
    if (valid)
      for (int64_t d = lane; d < D; d += kGroup) {
        T gh = w ? gy[base + d] * w[d] : gy[base + d];
        sum_gh += gh;
        sum_gh_xhat += gh * ((x[base + d] - m) * s);
      }
    sum_gh = group_reduce<kGroup>(sum_gh, scratch, AddFn());
    sum_gh_xhat = group_reduce<kGroup>(sum_gh_xhat, scratch, AddFn());
    if (valid) {
      const T mean_gh = sum_gh / static_cast<T>(D), mean_gh_xhat = sum_gh_xhat / static_cast<T>(D);
      for (int64_t d = lane; d < D; d += kGroup) {
        T gh = w ? gy[base + d] * w[d] : gy[base + d];
        gx[base + d] = s * (gh - mean_gh - (x[base + d] - m) * s * mean_gh_xhat);
      }
    }
  }
}

// Partial sums over the rows of chunk c, for column d: partial_w[c, d] = sum grad_y * xhat,
// partial_b[c, d] = sum grad_y (either pointer may be null). Chunk c holds rows
// [R c / chunks, R (c + 1) / chunks).
template <class T>
__global__ void layer_norm_param_partials_kernel(const T* gy, const T* x, const T* mean, const T* rstd, T* partial_w,
                                                 T* partial_b, int64_t R, int64_t D, int64_t chunks) {
  IRIS_KERNEL_LOOP(i, chunks * D) {
    const int64_t c = i / D, d = i % D;
    T pw = 0, pb = 0;
    for (int64_t r = chunk_first_row(R, chunks, c); r < chunk_first_row(R, chunks, c + 1); ++r) {
      const T g = gy[r * D + d];
      pw += g * ((x[r * D + d] - mean[r]) * rstd[r]);
      pb += g;
    }
    if (partial_w) partial_w[i] = pw;
    if (partial_b) partial_b[i] = pb;
  }
}

// out[d] = sum over chunks of partial[c, d], in chunk order.
template <class T>
__global__ void sum_chunks_kernel(const T* partial, T* out, int64_t D, int64_t chunks) {
  IRIS_KERNEL_LOOP(d, D) {
    T acc = 0;
    for (int64_t c = 0; c < chunks; ++c) acc += partial[c * D + d];
    out[d] = acc;
  }
}

// Threads cooperating on one row of D values.
int row_group(int64_t D) { return D > 1024 ? kThreads : 32; }

}  // namespace

void CudaBackend::softmax(const Tensor& x, int dim, bool log, const Tensor& out) {
  check_on_gpu(log ? "log_softmax" : "softmax", {&x, &out});
  if (x.numel() == 0) return;
  IRIS_ASSERT(x.is_contiguous() && out.is_contiguous() && x.shape() == out.shape());
  SoftmaxGeometry g = softmax_geometry(x, dim);
  cuda_dispatch_float(x.dtype(), log ? "log_softmax" : "softmax", [&](auto z) {
    using T = decltype(z);
    const T* xp = x.data<T>();
    T* yp = out.data<T>();
    if (g.inner == 1) {
      if (row_group(g.D) == 32)
        softmax_rows_kernel<T, 32><<<grid_for_rows(g.outer, 32), kThreads, 0, stream()>>>(xp, yp, g.outer, g.D, log);
      else
        softmax_rows_kernel<T, kThreads>
            <<<grid_for_rows(g.outer, kThreads), kThreads, 0, stream()>>>(xp, yp, g.outer, g.D, log);
    } else {
      softmax_columns_kernel<T><<<blocks_for(g.rows()), kThreads, 0, stream()>>>(xp, yp, g, log);
    }
    IRIS_CUDA_LAUNCHED();
  });
}

void CudaBackend::softmax_backward(const Tensor& y, const Tensor& grad_out, int dim, bool log, const Tensor& grad_in) {
  check_on_gpu(log ? "log_softmax backward" : "softmax backward", {&y, &grad_out, &grad_in});
  if (y.numel() == 0) return;
  IRIS_ASSERT(y.is_contiguous() && grad_out.is_contiguous() && grad_in.is_contiguous());
  IRIS_ASSERT(y.shape() == grad_out.shape() && y.shape() == grad_in.shape());
  SoftmaxGeometry g = softmax_geometry(y, dim);
  cuda_dispatch_float(y.dtype(), log ? "log_softmax backward" : "softmax backward", [&](auto z) {
    using T = decltype(z);
    const T* yp = y.data<T>();
    const T* gp = grad_out.data<T>();
    T* gi = grad_in.data<T>();
    if (g.inner == 1) {
      if (row_group(g.D) == 32)
        softmax_backward_rows_kernel<T, 32>
            <<<grid_for_rows(g.outer, 32), kThreads, 0, stream()>>>(yp, gp, gi, g.outer, g.D, log);
      else
        softmax_backward_rows_kernel<T, kThreads>
            <<<grid_for_rows(g.outer, kThreads), kThreads, 0, stream()>>>(yp, gp, gi, g.outer, g.D, log);
    } else {
      softmax_backward_columns_kernel<T>
          <<<blocks_for(g.rows()), kThreads, 0, stream()>>>(yp, gp, gi, g, log);
    }
    IRIS_CUDA_LAUNCHED();
  });
}

void CudaBackend::layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, const Tensor& y,
                             const Tensor& mean, const Tensor& rstd) {
  check_on_gpu("layer_norm", {&x, &weight, &bias, &y, &mean, &rstd});
  IRIS_ASSERT(x.dim() == 2);
  if (x.numel() == 0) return;
  IRIS_ASSERT(x.is_contiguous() && y.is_contiguous() && mean.is_contiguous() && rstd.is_contiguous());
  IRIS_ASSERT(!weight.defined() || (weight.is_contiguous() && weight.numel() == x.shape()[1]));
  IRIS_ASSERT(!bias.defined() || (bias.is_contiguous() && bias.numel() == x.shape()[1]));
  const int64_t R = x.shape()[0], D = x.shape()[1];
  cuda_dispatch_float(x.dtype(), "layer_norm", [&](auto z) {
    using T = decltype(z);
    const T* wp = weight.defined() ? weight.data<T>() : nullptr;
    const T* bp = bias.defined() ? bias.data<T>() : nullptr;
    if (row_group(D) == 32)
      layer_norm_kernel<T, 32><<<grid_for_rows(R, 32), kThreads, 0, stream()>>>(
          x.data<T>(), wp, bp, static_cast<T>(eps), y.data<T>(), mean.data<T>(), rstd.data<T>(), R, D);
    else
      layer_norm_kernel<T, kThreads><<<grid_for_rows(R, kThreads), kThreads, 0, stream()>>>(
          x.data<T>(), wp, bp, static_cast<T>(eps), y.data<T>(), mean.data<T>(), rstd.data<T>(), R, D);
    IRIS_CUDA_LAUNCHED();
  });
}

void CudaBackend::layer_norm_backward(const Tensor& grad_y, const Tensor& x, const Tensor& weight, const Tensor& mean,
                                      const Tensor& rstd, const Tensor& grad_x, const Tensor& grad_weight,
                                      const Tensor& grad_bias) {
  check_on_gpu("layer_norm backward", {&grad_y, &x, &weight, &mean, &rstd, &grad_x, &grad_weight, &grad_bias});
  IRIS_ASSERT(x.dim() == 2 && grad_y.shape() == x.shape());
  IRIS_ASSERT(!grad_weight.defined() || weight.defined());
  const int64_t R = x.shape()[0], D = x.shape()[1];
  if (R == 0 || D == 0) {  // nothing to sum: weight/bias gradients are zero
    if (grad_weight.defined()) fill(grad_weight, 0.0);
    if (grad_bias.defined()) fill(grad_bias, 0.0);
    return;
  }
  IRIS_ASSERT(x.is_contiguous() && grad_y.is_contiguous() && (!grad_x.defined() || grad_x.is_contiguous()));
  IRIS_ASSERT(!grad_weight.defined() || (grad_weight.is_contiguous() && grad_weight.numel() == D));
  IRIS_ASSERT(!grad_bias.defined() || (grad_bias.is_contiguous() && grad_bias.numel() == D));
  cuda_dispatch_float(x.dtype(), "layer_norm backward", [&](auto z) {
    using T = decltype(z);
    const T* gp = grad_y.data<T>();
    const T* xp = x.data<T>();
    const T* wp = weight.defined() ? weight.data<T>() : nullptr;
    const T* mp = mean.data<T>();
    const T* rp = rstd.data<T>();
    if (grad_x.defined()) {
      T* gx = grad_x.data<T>();
      if (row_group(D) == 32)
        layer_norm_grad_x_kernel<T, 32><<<grid_for_rows(R, 32), kThreads, 0, stream()>>>(gp, xp, wp, mp, rp, gx, R, D);
      else
        layer_norm_grad_x_kernel<T, kThreads>
            <<<grid_for_rows(R, kThreads), kThreads, 0, stream()>>>(gp, xp, wp, mp, rp, gx, R, D);
      IRIS_CUDA_LAUNCHED();
    }
    const bool want_w = grad_weight.defined(), want_b = grad_bias.defined();
    if (!want_w && !want_b) return;
    // About 32 rows per chunk, at most 1024 chunks: a number that depends only on the sizes.
    const int64_t chunks = std::max<int64_t>(1, std::min<int64_t>((R + 31) / 32, 1024));
    Tensor partial_w = want_w ? empty({chunks, D}, {x.dtype(), x.device()}) : Tensor();
    Tensor partial_b = want_b ? empty({chunks, D}, {x.dtype(), x.device()}) : Tensor();
    T* pw = want_w ? partial_w.data<T>() : nullptr;
    T* pb = want_b ? partial_b.data<T>() : nullptr;
    layer_norm_param_partials_kernel<T>
        <<<blocks_for(chunks * D), kThreads, 0, stream()>>>(gp, xp, mp, rp, pw, pb, R, D, chunks);
    IRIS_CUDA_LAUNCHED();
    if (want_w) {
      sum_chunks_kernel<T><<<blocks_for(D), kThreads, 0, stream()>>>(pw, grad_weight.data<T>(), D, chunks);
      IRIS_CUDA_LAUNCHED();
    }
    if (want_b) {
      sum_chunks_kernel<T><<<blocks_for(D), kThreads, 0, stream()>>>(pb, grad_bias.data<T>(), D, chunks);
      IRIS_CUDA_LAUNCHED();
    }
  });
}

}  // namespace iris::cuda
