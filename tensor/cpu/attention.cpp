// Fused scaled-dot-product attention on the CPU, one (batch, head) slice per task.
// Forward, per query row i: scores s = scale * K q_i (computed as E axpys over a transposed copy of
// K, so the inner loops run along the S keys and vectorise), m = max s, p = exp(s - m), o_i =
// (sum_j p_j v_j) / sum_j p_j; only lse_i = m + log(sum p) is kept. The [L, S] score matrix never
// exists: one row of S floats lives in a per-thread buffer.
// Backward, per row i, recomputes p = exp(s - lse_i) and applies
//   dP_j = dO_i . v_j,  D_i = dO_i . o_i,  dS_j = p_j (dP_j - D_i),
//   dQ_i = scale sum_j dS_j k_j,  dK_j += scale dS_j q_i,  dV_j += p_j dO_i.
// Leaves out: masks, additive biases and dropout (the op composes those from matmul + softmax).
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/loops.h"
#include "tensor/cpu/math.h"

namespace iris::cpu {

namespace {

struct Dims {
  int64_t B, L, S, E, Ev;
};

// dst [cols, rows] = src [rows, cols]^T
template <class T>
void transpose_into(const T* src, int64_t rows, int64_t cols, T* dst) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) dst[c * rows + r] = src[r * cols + c];
}

// s[0..n) = scale * sum_e q[e] * kt[e, 0..n)   (kt is [E, S] with row stride S)
template <class T>
inline void scores_row(const T* q, const T* kt, int64_t E, int64_t S, int64_t n, T scale, T* s) {
  for (int64_t j = 0; j < n; ++j) s[j] = T(0);
  for (int64_t e = 0; e < E; ++e) {
    const T qe = q[e] * scale;
    const T* kr = kt + e * S;
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) s[j] += qe * kr[j];
  }
}

template <class T>
void attention_forward_typed(const Dims& d, const T* q, const T* k, const T* v, T scale, bool causal, T* out,
                             T* lse) {
  parallel_for(d.B, d.L * d.S * (d.E + d.Ev), [&](int64_t b0, int64_t b1) {
    std::vector<T> kt(static_cast<size_t>(d.E * d.S)), s(static_cast<size_t>(d.S));
    for (int64_t b = b0; b < b1; ++b) {
      const T* qb = q + b * d.L * d.E;
      const T* vb = v + b * d.S * d.Ev;
      transpose_into(k + b * d.S * d.E, d.S, d.E, kt.data());
      for (int64_t i = 0; i < d.L; ++i) {
        const int64_t n = causal ? std::min(i + 1, d.S) : d.S;  // keys this query may see
        T* o = out + (b * d.L + i) * d.Ev;
        std::fill(o, o + d.Ev, T(0));
        if (n == 0) {
          lse[b * d.L + i] = -std::numeric_limits<T>::infinity();
          continue;
        }
        scores_row(qb + i * d.E, kt.data(), d.E, d.S, n, scale, s.data());
        T m = s[0];
        for (int64_t j = 1; j < n; ++j) m = s[j] > m ? s[j] : m;
#pragma omp simd
        for (int64_t j = 0; j < n; ++j) s[j] = kernel_exp<T>(s[j] - m);
        double total = 0;
        for (int64_t j = 0; j < n; ++j) total += s[j];
        for (int64_t j = 0; j < n; ++j) {
          const T p = s[j];
          const T* vr = vb + j * d.Ev;
#pragma omp simd
          for (int64_t c = 0; c < d.Ev; ++c) o[c] += p * vr[c];
        }
        const T inv = static_cast<T>(1.0 / total);
        for (int64_t c = 0; c < d.Ev; ++c) o[c] *= inv;
        lse[b * d.L + i] = m + static_cast<T>(std::log(total));
      }
    }
  });
}

template <class T>
void attention_backward_typed(const Dims& d, const T* q, const T* k, const T* v, const T* out, const T* lse,
                              const T* go, T scale, bool causal, T* gq, T* gk, T* gv) {
  parallel_for(d.B, 2 * d.L * d.S * (d.E + d.Ev), [&](int64_t b0, int64_t b1) {
    std::vector<T> kt(static_cast<size_t>(d.E * d.S)), vt(static_cast<size_t>(d.Ev * d.S)),
        s(static_cast<size_t>(d.S)), dp(static_cast<size_t>(d.S));
    for (int64_t b = b0; b < b1; ++b) {
      const T* qb = q + b * d.L * d.E;
      const T* kb = k + b * d.S * d.E;
      T* gkb = gk + b * d.S * d.E;
      T* gvb = gv + b * d.S * d.Ev;
      transpose_into(kb, d.S, d.E, kt.data());
      transpose_into(v + b * d.S * d.Ev, d.S, d.Ev, vt.data());
      std::fill(gkb, gkb + d.S * d.E, T(0));
      std::fill(gvb, gvb + d.S * d.Ev, T(0));
      for (int64_t i = 0; i < d.L; ++i) {
        const int64_t n = causal ? std::min(i + 1, d.S) : d.S;
        const T* qi = qb + i * d.E;
        const T* goi = go + (b * d.L + i) * d.Ev;
        const T* oi = out + (b * d.L + i) * d.Ev;
        T* gqi = gq + (b * d.L + i) * d.E;
        std::fill(gqi, gqi + d.E, T(0));
        if (n == 0) continue;
        // p = exp(scale q.k - lse)
        scores_row(qi, kt.data(), d.E, d.S, n, scale, s.data());
        const T l = lse[b * d.L + i];
#pragma omp simd
        for (int64_t j = 0; j < n; ++j) s[j] = kernel_exp<T>(s[j] - l);
        // dP = V dO_i (over Ev), D = dO_i . o_i
        scores_row(goi, vt.data(), d.Ev, d.S, n, T(1), dp.data());
        T D = 0;
        for (int64_t c = 0; c < d.Ev; ++c) D += goi[c] * oi[c];
        for (int64_t j = 0; j < n; ++j) {
          const T p = s[j];
          const T ds = p * (dp[j] - D) * scale;
          const T* kr = kb + j * d.E;
          T* gkr = gkb + j * d.E;
          T* gvr = gvb + j * d.Ev;
#pragma omp simd
          for (int64_t e = 0; e < d.E; ++e) {
            gqi[e] += ds * kr[e];
            gkr[e] += ds * qi[e];
          }
#pragma omp simd
          for (int64_t c = 0; c < d.Ev; ++c) gvr[c] += p * goi[c];
        }
      }
    }
  });
}

Dims dims_of(const Tensor& q, const Tensor& k, const Tensor& v) {
  return {q.shape()[0], q.shape()[1], k.shape()[1], q.shape()[2], v.shape()[2]};
}

}  // namespace

void CpuBackend::attention(const Tensor& q, const Tensor& k, const Tensor& v, double scale, bool causal,
                           const Tensor& out, const Tensor& lse) {
  IRIS_ASSERT(q.is_contiguous() && k.is_contiguous() && v.is_contiguous() && out.is_contiguous() && lse.is_contiguous());
  Dims d = dims_of(q, k, v);
  dispatch_float(q.dtype(), "attention", [&](auto z) {
    using T = decltype(z);
    attention_forward_typed<T>(d, q.data<T>(), k.data<T>(), v.data<T>(), static_cast<T>(scale), causal,
                               out.data<T>(), lse.data<T>());
  });
}

void CpuBackend::attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                                    const Tensor& lse, const Tensor& grad_out, double scale, bool causal,
                                    const Tensor& grad_q, const Tensor& grad_k, const Tensor& grad_v) {
  IRIS_ASSERT(grad_out.is_contiguous() && grad_q.is_contiguous() && grad_k.is_contiguous() && grad_v.is_contiguous());
  Dims d = dims_of(q, k, v);
  dispatch_float(q.dtype(), "attention_backward", [&](auto z) {
    using T = decltype(z);
    attention_backward_typed<T>(d, q.data<T>(), k.data<T>(), v.data<T>(), out.data<T>(), lse.data<T>(),
                                grad_out.data<T>(), static_cast<T>(scale), causal, grad_q.data<T>(),
                                grad_k.data<T>(), grad_v.data<T>());
  });
}

}  // namespace iris::cpu
