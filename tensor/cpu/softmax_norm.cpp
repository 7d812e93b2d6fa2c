// CPU softmax / log_softmax over one dim and layer norm over the last dim, forward and backward.
// Fused: one task reads a row (or a block of columns when the dim is not innermost) a few times
// while it is in cache; sums and statistics accumulate in double. Parallel over rows.
// Leaves out: batch/group norm (composed in autograd/norm.cpp) and non-contiguous inputs.
#include <cmath>
#include <limits>
#include <vector>

#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/loops.h"
#include "tensor/cpu/math.h"
#include "tensor/softmax_norm_geometry.h"

namespace iris::cpu {

namespace {

// Columns processed together when the softmax dim is not the innermost one.
constexpr int64_t kColumnBlock = 64;

// Runs row_fn(x_offset, stride) for every softmax row of a [outer, D, inner] layout: rows of the
// innermost case have stride 1; otherwise block_fn(offset, count) handles `count` adjacent
// columns (stride inner) at once so that memory is read in contiguous runs.
template <class RowFn, class BlockFn>
void for_each_softmax_task(const SoftmaxGeometry& g, RowFn&& row_fn, BlockFn&& block_fn) {
  if (g.inner == 1) {
    parallel_for(g.outer, 4 * g.D, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) row_fn(r * g.D);  // row_start(r) when inner == 1
    });
    return;
  }
  int64_t blocks_per_outer = (g.inner + kColumnBlock - 1) / kColumnBlock;
  parallel_for(g.outer * blocks_per_outer, 4 * g.D * std::min(g.inner, kColumnBlock), [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      int64_t o = t / blocks_per_outer, c0 = (t % blocks_per_outer) * kColumnBlock;
      int64_t count = std::min(kColumnBlock, g.inner - c0);
      block_fn(g.row_start(o * g.inner + c0), count);
    }
  });
}

template <class T>
void softmax_typed(const Tensor& x, int dim, bool log, const Tensor& out) {
  SoftmaxGeometry g = softmax_geometry(x, dim);
  const T* xp = x.data<T>();
  T* yp = out.data<T>();
  const int64_t D = g.D, inner = g.inner;
  auto row = [&](int64_t off) {
    const T* xr = xp + off;
    T* yr = yp + off;
    const T mx = D > 0 ? row_max(xr, D) : -std::numeric_limits<T>::infinity();
    // exp into the output row first (a vectorised pass with the f32 fast exp), then sum in double
#pragma omp simd
    for (int64_t d = 0; d < D; ++d) yr[d] = kernel_exp<T>(xr[d] - mx);
    double total = 0;
#pragma omp simd reduction(+ : total)
    for (int64_t d = 0; d < D; ++d) total += yr[d];
    if (log) {
      // (x - max) - log(sum), not x - (max + log(sum)): with |x| ~ 1e4 in f32 the sum would lose log(sum).
      T log_total = static_cast<T>(std::log(total));
      for (int64_t d = 0; d < D; ++d) yr[d] = (xr[d] - mx) - log_total;
    } else {
      T inv = static_cast<T>(1.0 / total);
      for (int64_t d = 0; d < D; ++d) yr[d] *= inv;
    }
  };
  auto block = [&](int64_t off, int64_t count) {
    T mx[kColumnBlock];
    double total[kColumnBlock];
    for (int64_t c = 0; c < count; ++c) {
      mx[c] = -std::numeric_limits<T>::infinity();
      total[c] = 0;
    }
    for (int64_t d = 0; d < D; ++d) {
      const T* xr = xp + off + d * inner;
      for (int64_t c = 0; c < count; ++c) mx[c] = xr[c] > mx[c] ? xr[c] : mx[c];
    }
    for (int64_t d = 0; d < D; ++d) {
      const T* xr = xp + off + d * inner;
      T* yr = yp + off + d * inner;
      for (int64_t c = 0; c < count; ++c) {
        T e = kernel_exp<T>(xr[c] - mx[c]);
        if (!log) yr[c] = e;
        total[c] += e;
      }
    }
    T factor[kColumnBlock];  // log: log(sum); softmax: 1 / sum
    for (int64_t c = 0; c < count; ++c) factor[c] = static_cast<T>(log ? std::log(total[c]) : 1.0 / total[c]);
    for (int64_t d = 0; d < D; ++d) {
      const T* xr = xp + off + d * inner;
      T* yr = yp + off + d * inner;
      if (log) {
        for (int64_t c = 0; c < count; ++c) yr[c] = (xr[c] - mx[c]) - factor[c];
      } else {
        for (int64_t c = 0; c < count; ++c) yr[c] *= factor[c];
      }
    }
  };
  for_each_softmax_task(g, row, block);
}

// softmax:     grad_in = y * (grad_out - sum(grad_out * y))
// log_softmax: grad_in = grad_out - exp(y) * sum(grad_out)
template <class T>
void softmax_backward_typed(const Tensor& y, const Tensor& grad_out, int dim, bool log, const Tensor& grad_in) {
  SoftmaxGeometry g = softmax_geometry(y, dim);
  const T* yp = y.data<T>();
  const T* gp = grad_out.data<T>();
  T* gi = grad_in.data<T>();
  const int64_t D = g.D, inner = g.inner;
  auto row = [&](int64_t off) {
    const T* yr = yp + off;
    const T* gr = gp + off;
    T* out = gi + off;
    double total = 0;
    if (log) {
      for (int64_t d = 0; d < D; ++d) total += gr[d];
      T s = static_cast<T>(total);
      for (int64_t d = 0; d < D; ++d) out[d] = gr[d] - kernel_exp<T>(yr[d]) * s;
    } else {
      for (int64_t d = 0; d < D; ++d) total += static_cast<double>(gr[d]) * yr[d];
      T s = static_cast<T>(total);
      for (int64_t d = 0; d < D; ++d) out[d] = yr[d] * (gr[d] - s);
    }
  };
  auto block = [&](int64_t off, int64_t count) {
    double total[kColumnBlock] = {};
    for (int64_t d = 0; d < D; ++d) {
      const T* yr = yp + off + d * inner;
      const T* gr = gp + off + d * inner;
      for (int64_t c = 0; c < count; ++c) total[c] += log ? static_cast<double>(gr[c]) : static_cast<double>(gr[c]) * yr[c];
    }
    T s[kColumnBlock];
    for (int64_t c = 0; c < count; ++c) s[c] = static_cast<T>(total[c]);
    for (int64_t d = 0; d < D; ++d) {
      const T* yr = yp + off + d * inner;
      const T* gr = gp + off + d * inner;
      T* out = gi + off + d * inner;
      if (log) {
        for (int64_t c = 0; c < count; ++c) out[c] = gr[c] - kernel_exp<T>(yr[c]) * s[c];
      } else {
        for (int64_t c = 0; c < count; ++c) out[c] = yr[c] * (gr[c] - s[c]);
      }
    }
  };
  for_each_softmax_task(g, row, block);
}

// ---- layer norm -------------------------------------------------------------------------

template <class T>
void layer_norm_typed(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, const Tensor& y,
                      const Tensor& mean, const Tensor& rstd) {
  const int64_t R = x.shape()[0], D = x.shape()[1];
  const T* xp = x.data<T>();
  const T* wp = weight.defined() ? weight.data<T>() : nullptr;
  const T* bp = bias.defined() ? bias.data<T>() : nullptr;
  T* yp = y.data<T>();
  T* mp = mean.data<T>();
  T* rp = rstd.data<T>();
  parallel_for(R, 4 * D, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const T* xr = xp + r * D;
      T* yr = yp + r * D;
      // Two passes over a row already in cache: the centred second pass avoids the cancellation of
      // E[x^2] - E[x]^2 when |mean| >> std.
      // (omp simd: vector lanes for the sums; without it each sum is one serial add chain. The
      // sums are in the element type, spread over 8 lanes: f64 accumulators for f32 rows made the
      // pass 6x a memory pass, and a row of D terms in lanes loses only about D/8 ulp.)
      T total = 0;
#pragma omp simd reduction(+ : total)
      for (int64_t d = 0; d < D; ++d) total += xr[d];
      const T mu_t = total / static_cast<T>(D);
      T squares = 0;
#pragma omp simd reduction(+ : squares)
      for (int64_t d = 0; d < D; ++d) {
        T c = xr[d] - mu_t;
        squares += c * c;
      }
      double mu = mu_t;
      double inv_std = 1.0 / std::sqrt(static_cast<double>(squares) / static_cast<double>(D) + eps);
      mp[r] = static_cast<T>(mu);
      rp[r] = static_cast<T>(inv_std);
      T m = static_cast<T>(mu), s = static_cast<T>(inv_std);
      // (omp simd here and below: GCC 12 at -O2 left these loops scalar)
      if (wp && bp) {
#pragma omp simd
        for (int64_t d = 0; d < D; ++d) yr[d] = (xr[d] - m) * s * wp[d] + bp[d];
      } else if (wp) {
#pragma omp simd
        for (int64_t d = 0; d < D; ++d) yr[d] = (xr[d] - m) * s * wp[d];
      } else if (bp) {
#pragma omp simd
        for (int64_t d = 0; d < D; ++d) yr[d] = (xr[d] - m) * s + bp[d];
      } else {
#pragma omp simd
        for (int64_t d = 0; d < D; ++d) yr[d] = (xr[d] - m) * s;
      }
    }
  });
}

// With xhat = (x - mean) * rstd and gh = grad_y * weight (per row):
//   grad_x = rstd * (gh - mean(gh) - xhat * mean(gh * xhat))
//   grad_weight = sum over rows of grad_y * xhat, grad_bias = sum over rows of grad_y.
// Rows are split into a number of chunks that depends only on the sizes (so results do not depend
// on the thread count); each chunk sums its own weight/bias partials, added up at the end.
template <class T>
void layer_norm_backward_typed(const Tensor& grad_y, const Tensor& x, const Tensor& weight, const Tensor& mean,
                               const Tensor& rstd, const Tensor& grad_x, const Tensor& grad_weight,
                               const Tensor& grad_bias) {
  const int64_t R = x.shape()[0], D = x.shape()[1];
  const T* gp = grad_y.data<T>();
  const T* xp = x.data<T>();
  const T* wp = weight.defined() ? weight.data<T>() : nullptr;
  const T* mp = mean.data<T>();
  const T* rp = rstd.data<T>();
  T* gxp = grad_x.defined() ? grad_x.data<T>() : nullptr;
  const bool want_w = grad_weight.defined(), want_b = grad_bias.defined();
  // Per-chunk partials of the weight and bias gradients in the element type, added up across chunks
  // in f64; a chunk is at most 256 rows, so an f32 partial sums at most 256 terms. The row sums are
  // in T too, in vector lanes.
  const int64_t chunks =
      std::max<int64_t>({1, std::min<int64_t>({R, (R * D) / 8192, 64}), (R + 255) / 256});
  std::vector<T> partial_w(want_w ? static_cast<size_t>(chunks * D) : 0, T(0));
  std::vector<T> partial_b(want_b ? static_cast<size_t>(chunks * D) : 0, T(0));
  parallel_for(chunks, R * D / chunks * 8, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      T* pw = want_w ? partial_w.data() + c * D : nullptr;
      T* pb = want_b ? partial_b.data() + c * D : nullptr;
      for (int64_t r = chunk_first_row(R, chunks, c); r < chunk_first_row(R, chunks, c + 1); ++r) {
        const T* gr = gp + r * D;
        const T* xr = xp + r * D;
        const T m = mp[r], s = rp[r];
        if (pw) {
#pragma omp simd
          for (int64_t d = 0; d < D; ++d) pw[d] += gr[d] * ((xr[d] - m) * s);
        }
        if (pb) {
#pragma omp simd
          for (int64_t d = 0; d < D; ++d) pb[d] += gr[d];
        }
        if (!gxp) continue;
        T sum_gh = 0, sum_gh_xhat = 0;
#pragma omp simd reduction(+ : sum_gh, sum_gh_xhat)
        for (int64_t d = 0; d < D; ++d) {
          T gh = wp ? gr[d] * wp[d] : gr[d];
          sum_gh += gh;
          sum_gh_xhat += gh * ((xr[d] - m) * s);
        }
        T mean_gh = sum_gh / static_cast<T>(D);
        T mean_gh_xhat = sum_gh_xhat / static_cast<T>(D);
        T* out = gxp + r * D;
#pragma omp simd
        for (int64_t d = 0; d < D; ++d) {
          T gh = wp ? gr[d] * wp[d] : gr[d];
          out[d] = s * (gh - mean_gh - (xr[d] - m) * s * mean_gh_xhat);
        }
      }
    }
  });
  auto combine = [&](const std::vector<T>& partial, const Tensor& dst) {
    T* out = dst.data<T>();
    for (int64_t d = 0; d < D; ++d) {
      double acc = 0;
      for (int64_t c = 0; c < chunks; ++c) acc += partial[c * D + d];
      out[d] = static_cast<T>(acc);
    }
  };
  if (want_w) combine(partial_w, grad_weight);
  if (want_b) combine(partial_b, grad_bias);
}

}  // namespace

void CpuBackend::softmax(const Tensor& x, int dim, bool log, const Tensor& out) {
  if (x.numel() == 0) return;
  IRIS_ASSERT(x.is_contiguous() && out.is_contiguous() && x.shape() == out.shape());
  dispatch_float(x.dtype(), log ? "log_softmax" : "softmax",
                 [&](auto z) { softmax_typed<decltype(z)>(x, dim, log, out); });
}

void CpuBackend::softmax_backward(const Tensor& y, const Tensor& grad_out, int dim, bool log, const Tensor& grad_in) {
  if (y.numel() == 0) return;
  IRIS_ASSERT(y.is_contiguous() && grad_out.is_contiguous() && grad_in.is_contiguous());
  IRIS_ASSERT(y.shape() == grad_out.shape() && y.shape() == grad_in.shape());
  dispatch_float(y.dtype(), log ? "log_softmax backward" : "softmax backward",
                 [&](auto z) { softmax_backward_typed<decltype(z)>(y, grad_out, dim, log, grad_in); });
}

void CpuBackend::layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, const Tensor& y,
                            const Tensor& mean, const Tensor& rstd) {
  IRIS_ASSERT(x.dim() == 2);
  if (x.numel() == 0) return;
  IRIS_ASSERT(x.is_contiguous() && y.is_contiguous() && mean.is_contiguous() && rstd.is_contiguous());
  IRIS_ASSERT(!weight.defined() || (weight.is_contiguous() && weight.numel() == x.shape()[1]));
  IRIS_ASSERT(!bias.defined() || (bias.is_contiguous() && bias.numel() == x.shape()[1]));
  dispatch_float(x.dtype(), "layer_norm",
                 [&](auto z) { layer_norm_typed<decltype(z)>(x, weight, bias, eps, y, mean, rstd); });
}

void CpuBackend::layer_norm_backward(const Tensor& grad_y, const Tensor& x, const Tensor& weight, const Tensor& mean,
                                     const Tensor& rstd, const Tensor& grad_x, const Tensor& grad_weight,
                                     const Tensor& grad_bias) {
  IRIS_ASSERT(x.dim() == 2 && grad_y.shape() == x.shape());
  IRIS_ASSERT(!grad_weight.defined() || weight.defined());
  int64_t D = x.shape()[1];
  if (x.shape()[0] == 0 || D == 0) {  // nothing to sum: weight/bias gradients are zero
    if (grad_weight.defined()) fill(grad_weight, 0.0);
    if (grad_bias.defined()) fill(grad_bias, 0.0);
    return;
  }
  IRIS_ASSERT(x.is_contiguous() && grad_y.is_contiguous() && (!grad_x.defined() || grad_x.is_contiguous()));
  dispatch_float(x.dtype(), "layer_norm backward", [&](auto z) {
    layer_norm_backward_typed<decltype(z)>(grad_y, x, weight, mean, rstd, grad_x, grad_weight, grad_bias);
  });
}

}  // namespace iris::cpu
