// Fused scaled-dot-product attention on the CPU, one (batch, head) slice per task. Operands are
// [B, L, E] or [B, H, L, E] views with unit stride in the last dim and any other strides, so q, k
// and v can be read straight out of a fused QKV projection ([B, N, 3, H, E] permuted) and the
// output written straight into a [B, N, H, Ev] buffer: no permute copies either way.
// Forward, per query row i: scores s = scale * K q_i, m = max s, p = exp(s - m), o_i =
// (sum_j p_j v_j) / sum_j p_j; only lse_i = m + log(sum p) is kept.
// Backward recomputes p = exp(s - lse_i) and applies
//   dP_j = dO_i . v_j,  D_i = dO_i . o_i,  dS_j = p_j (dP_j - D_i),
//   dQ_i = scale sum_j dS_j k_j,  dK_j += scale dS_j q_i,  dV_j += p_j dO_i.
// Two forms of that maths:
// - f32 on a CPU with the packed GEMM (tensor/cpu/sgemm.h): per slice and block of up to kRowBlock
//   query rows, the block's scores [rows, S] are one small GEMM into a per-thread buffer, the
//   softmax runs over those rows in place, and P V is a second GEMM; the backward forms dP, dS and
//   the three gradients as GEMMs over the block. The full [L, S] matrix never exists.
// - row loops (f64, where the gradient checks run, and other CPUs): one row of S scores at a time,
//   computed as E axpys over a transposed copy of K. Several times slower at ViT sizes (N = 50,
//   head dim 16): their inner loops run over short rows and re-read the score row E times.
// Autocast's bf16 q, k, v are widened to f32 first (widened_bf16): the same values, no speed.
// Leaves out: masks, additive biases and dropout (the op composes those from matmul + softmax).
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/loops.h"
#include "tensor/cpu/math.h"
#include "tensor/cpu/sgemm.h"

namespace iris::cpu {

namespace {

struct Dims {
  int64_t B, H, L, S, E, Ev;
  int64_t slices() const { return B * H; }
};

// A [B, H, rows, cols] operand (a [B, rows, cols] one has H = 1): element (b, h, r, c) at
// base[b * sb + h * sh + r * rs + c].
template <class T>
struct Operand {
  T* base;
  int64_t sb, sh, rs;
  T* slice(int64_t s, int64_t H) const { return base + (s / H) * sb + (s % H) * sh; }
};

template <class T>
Operand<T> operand_of(const Tensor& t) {
  IRIS_ASSERT((t.dim() == 3 || t.dim() == 4) && (t.strides().back() == 1 || t.shape().back() <= 1));
  T* p = t.data<std::remove_const_t<T>>();
  if (t.dim() == 3) return {p, t.strides()[0], 0, t.strides()[1]};
  return {p, t.strides()[0], t.strides()[1], t.strides()[2]};
}

Dims dims_of(const Tensor& q, const Tensor& k, const Tensor& v) {
  const int r = q.dim() - 2;  // the rows dim
  IRIS_ASSERT(k.dim() == q.dim() && v.dim() == q.dim());
  return {q.shape()[0], q.dim() == 4 ? q.shape()[1] : 1, q.shape()[r], k.shape()[r], q.shape()[r + 1],
          v.shape()[r + 1]};
}

// ---- row loops (any float type) -------------------------------------------------------------

// dst [cols, rows] = src [rows, cols]^T, src rows rs apart
template <class T>
void transpose_into(const T* src, int64_t rows, int64_t cols, int64_t rs, T* dst) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) dst[c * rows + r] = src[r * rs + c];
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
void attention_forward_rows(const Dims& d, Operand<const T> Q, Operand<const T> K, Operand<const T> V, T scale,
                            bool causal, Operand<T> O, T* lse) {
  parallel_for_dynamic(d.slices(), d.L * d.S * (d.E + d.Ev), [&](int64_t s0, int64_t s1) {
    std::vector<T> kt(static_cast<size_t>(d.E * d.S)), s(static_cast<size_t>(d.S));
    for (int64_t sl = s0; sl < s1; ++sl) {
      const T* qs = Q.slice(sl, d.H);
      const T* vs = V.slice(sl, d.H);
      T* os = O.slice(sl, d.H);
      transpose_into(K.slice(sl, d.H), d.S, d.E, K.rs, kt.data());
      for (int64_t i = 0; i < d.L; ++i) {
        const int64_t n = causal ? std::min(i + 1, d.S) : d.S;  // keys this query may see
        T* o = os + i * O.rs;
        std::fill(o, o + d.Ev, T(0));
        if (n == 0) {
          lse[sl * d.L + i] = -std::numeric_limits<T>::infinity();
          continue;
        }
        scores_row(qs + i * Q.rs, kt.data(), d.E, d.S, n, scale, s.data());
        const T m = row_max(s.data(), n);
#pragma omp simd
        for (int64_t j = 0; j < n; ++j) s[j] = kernel_exp<T>(s[j] - m);
        double total = 0;
        for (int64_t j = 0; j < n; ++j) total += s[j];
        for (int64_t j = 0; j < n; ++j) {
          const T p = s[j];
          const T* vr = vs + j * V.rs;
#pragma omp simd
          for (int64_t c = 0; c < d.Ev; ++c) o[c] += p * vr[c];
        }
        const T inv = static_cast<T>(1.0 / total);
        for (int64_t c = 0; c < d.Ev; ++c) o[c] *= inv;
        lse[sl * d.L + i] = m + static_cast<T>(std::log(total));
      }
    }
  });
}

template <class T>
void attention_backward_rows(const Dims& d, Operand<const T> Q, Operand<const T> K, Operand<const T> V,
                             Operand<const T> O, const T* lse, Operand<const T> GO, T scale, bool causal,
                             Operand<T> GQ, Operand<T> GK, Operand<T> GV) {
  parallel_for_dynamic(d.slices(), 2 * d.L * d.S * (d.E + d.Ev), [&](int64_t s0, int64_t s1) {
    std::vector<T> kt(static_cast<size_t>(d.E * d.S)), vt(static_cast<size_t>(d.Ev * d.S)),
        s(static_cast<size_t>(d.S)), dp(static_cast<size_t>(d.S));
    for (int64_t sl = s0; sl < s1; ++sl) {
      const T* qs = Q.slice(sl, d.H);
      const T* ks = K.slice(sl, d.H);
      const T* os = O.slice(sl, d.H);
      const T* gos = GO.slice(sl, d.H);
      T* gqs = GQ.slice(sl, d.H);
      T* gks = GK.slice(sl, d.H);
      T* gvs = GV.slice(sl, d.H);
      transpose_into(ks, d.S, d.E, K.rs, kt.data());
      transpose_into(V.slice(sl, d.H), d.S, d.Ev, V.rs, vt.data());
      for (int64_t j = 0; j < d.S; ++j) {
        std::fill(gks + j * GK.rs, gks + j * GK.rs + d.E, T(0));
        std::fill(gvs + j * GV.rs, gvs + j * GV.rs + d.Ev, T(0));
      }
      for (int64_t i = 0; i < d.L; ++i) {
        const int64_t n = causal ? std::min(i + 1, d.S) : d.S;
        const T* qi = qs + i * Q.rs;
        const T* goi = gos + i * GO.rs;
        const T* oi = os + i * O.rs;
        T* gqi = gqs + i * GQ.rs;
        std::fill(gqi, gqi + d.E, T(0));
        if (n == 0) continue;
        // p = exp(scale q.k - lse)
        scores_row(qi, kt.data(), d.E, d.S, n, scale, s.data());
        const T l = lse[sl * d.L + i];
#pragma omp simd
        for (int64_t j = 0; j < n; ++j) s[j] = kernel_exp<T>(s[j] - l);
        // dP = V dO_i (over Ev), D = dO_i . o_i
        scores_row(goi, vt.data(), d.Ev, d.S, n, T(1), dp.data());
        T D = 0;
        for (int64_t c = 0; c < d.Ev; ++c) D += goi[c] * oi[c];
        for (int64_t j = 0; j < n; ++j) {
          const T p = s[j];
          const T ds = p * (dp[j] - D) * scale;
          const T* kr = ks + j * K.rs;
          T* gkr = gks + j * GK.rs;
          T* gvr = gvs + j * GV.rs;
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

// ---- f32 through the packed GEMM ----------------------------------------------------------------

constexpr int64_t kRowBlock = 64;  // query rows per block: the [rows, S] buffers stay in L2 up to S ~ 1000

// Row stride of the [rows, S] score buffers: S rounded up to whole 8-lane vectors. The softmax runs
// over the padding too (as -inf, so exactly 0 after exp), and its loops never fall into a scalar
// tail: with S = 50 the two leftover columns ran the exp one element at a time.
int64_t padded(int64_t S) { return (S + 7) / 8 * 8; }

// Rows [i0, i0 + rows) of one slice: p [rows, S] (row stride padded(S)) = softmax(scale q k^T)
// under the causal rule (masked entries exactly 0), written over the scores. Forward: fills
// lse_out[0 .. rows). Backward: lse_in holds the saved logsumexps, so p = exp(s - lse) needs no
// max or sum.
void block_probabilities(const Dims& d, const float* qs, int64_t q_rs, const float* ks, int64_t k_rs, int64_t i0,
                         int64_t rows, float scale, bool causal, float* p, float* lse_out, const float* lse_in) {
  const int64_t ld = padded(d.S);
  const float inf = std::numeric_limits<float>::infinity();
  // scores [rows, S] = scale * q [rows, E] x k^T [E, S] (k read in place, transposed)
  packed_sgemm(rows, d.S, d.E, scale, qs + i0 * q_rs, q_rs, 1, ks, 1, k_rs, 0.0f, p, ld, 1);
  for (int64_t r = 0; r < rows; ++r) {
    float* pr = p + r * ld;
    const int64_t n = causal ? std::min(i0 + r + 1, d.S) : d.S;  // keys this query may see
    const int64_t nv = padded(n);                                 // ... rounded up to whole vectors
    std::fill(pr + n, pr + nv, -inf);   // exp makes these exact zeros
    if (nv < d.S) std::fill(pr + nv, pr + d.S, 0.0f);  // masked keys past the vectors (causal rows)
    if (n == 0) {  // no keys: an all-zero row (the row loops do the same)
      if (lse_out) lse_out[r] = -inf;
      continue;
    }
    if (lse_in) {
      const float l = lse_in[r];
#pragma omp simd
      for (int64_t j = 0; j < nv; ++j) pr[j] = kernel_exp<float>(pr[j] - l);
      continue;
    }
    const float m = row_max(pr, nv);
    float total = 0;
#pragma omp simd reduction(+ : total)
    for (int64_t j = 0; j < nv; ++j) {
      pr[j] = kernel_exp<float>(pr[j] - m);
      total += pr[j];
    }
    const float inv = 1.0f / total;
#pragma omp simd
    for (int64_t j = 0; j < nv; ++j) pr[j] *= inv;
    lse_out[r] = m + std::log(total);
  }
}

void attention_forward_blocked(const Dims& d, Operand<const float> Q, Operand<const float> K, Operand<const float> V,
                               float scale, bool causal, Operand<float> O, float* lse) {
  parallel_for_dynamic(d.slices(), d.L * d.S * (d.E + d.Ev), [&](int64_t s0, int64_t s1) {
    thread_local std::vector<float> p;  // per-thread scratch, kept between calls (no allocation per step)
    const int64_t ld = padded(d.S);
    p.resize(static_cast<size_t>(std::min(kRowBlock, d.L) * ld));
    for (int64_t sl = s0; sl < s1; ++sl) {
      const float* qs = Q.slice(sl, d.H);
      const float* ks = K.slice(sl, d.H);
      const float* vs = V.slice(sl, d.H);
      float* os = O.slice(sl, d.H);
      for (int64_t i0 = 0; i0 < d.L; i0 += kRowBlock) {
        const int64_t rows = std::min(kRowBlock, d.L - i0);
        block_probabilities(d, qs, Q.rs, ks, K.rs, i0, rows, scale, causal, p.data(), lse + sl * d.L + i0, nullptr);
        // out [rows, Ev] = p [rows, S] x v [S, Ev]
        packed_sgemm(rows, d.Ev, d.S, 1.0f, p.data(), ld, 1, vs, V.rs, 1, 0.0f, os + i0 * O.rs, O.rs, 1);
      }
    }
  });
}

void attention_backward_blocked(const Dims& d, Operand<const float> Q, Operand<const float> K, Operand<const float> V,
                                Operand<const float> O, const float* lse, Operand<const float> GO, float scale,
                                bool causal, Operand<float> GQ, Operand<float> GK, Operand<float> GV) {
  parallel_for_dynamic(d.slices(), 2 * d.L * d.S * (d.E + d.Ev), [&](int64_t s0, int64_t s1) {
    const int64_t ld = padded(d.S);  // row stride of p and ds
    const size_t block = static_cast<size_t>(std::min(kRowBlock, d.L) * ld);
    thread_local std::vector<float> p, ds;  // per-thread scratch, kept between calls
    p.resize(block);
    ds.resize(block);
    for (int64_t sl = s0; sl < s1; ++sl) {
      const float* qs = Q.slice(sl, d.H);
      const float* ks = K.slice(sl, d.H);
      const float* vs = V.slice(sl, d.H);
      const float* os = O.slice(sl, d.H);
      const float* gos = GO.slice(sl, d.H);
      float* gqs = GQ.slice(sl, d.H);
      float* gks = GK.slice(sl, d.H);
      float* gvs = GV.slice(sl, d.H);
      for (int64_t i0 = 0; i0 < d.L; i0 += kRowBlock) {
        const int64_t rows = std::min(kRowBlock, d.L - i0);
        const float* gob = gos + i0 * GO.rs;  // [rows, Ev]
        const float* qb = qs + i0 * Q.rs;     // [rows, E]
        block_probabilities(d, qs, Q.rs, ks, K.rs, i0, rows, scale, causal, p.data(), nullptr, lse + sl * d.L + i0);
        // dP [rows, S] = dO [rows, Ev] x v^T [Ev, S]
        packed_sgemm(rows, d.S, d.Ev, 1.0f, gob, GO.rs, 1, vs, 1, V.rs, 0.0f, ds.data(), ld, 1);
        // dS = scale * P (dP - D),  D_r = dO_r . O_r  (masked entries have P = 0, so dS = 0)
        for (int64_t r = 0; r < rows; ++r) {
          const float* gor = gob + r * GO.rs;
          const float* orow = os + (i0 + r) * O.rs;
          float D = 0;
#pragma omp simd reduction(+ : D)
          for (int64_t c = 0; c < d.Ev; ++c) D += gor[c] * orow[c];
          float* dsr = ds.data() + r * ld;
          const float* pr = p.data() + r * ld;
#pragma omp simd
          for (int64_t j = 0; j < d.S; ++j) dsr[j] = scale * pr[j] * (dsr[j] - D);
        }
        const float beta = i0 == 0 ? 0.0f : 1.0f;  // dK, dV sum over the row blocks
        // dQ [rows, E] = dS [rows, S] x k [S, E]
        packed_sgemm(rows, d.E, d.S, 1.0f, ds.data(), ld, 1, ks, K.rs, 1, 0.0f, gqs + i0 * GQ.rs, GQ.rs, 1);
        // dK [S, E] += dS^T [S, rows] x q [rows, E]
        packed_sgemm(d.S, d.E, rows, 1.0f, ds.data(), 1, ld, qb, Q.rs, 1, beta, gks, GK.rs, 1);
        // dV [S, Ev] += P^T [S, rows] x dO [rows, Ev]
        packed_sgemm(d.S, d.Ev, rows, 1.0f, p.data(), 1, ld, gob, GO.rs, 1, beta, gvs, GV.rs, 1);
      }
    }
  });
}

// Whether the blocked GEMM form serves this call (f32 only; empty sizes keep the row loops).
bool use_blocked(const Dims& d) { return packed_sgemm_available() && d.L > 0 && d.S > 0 && d.E > 0 && d.Ev > 0; }

}  // namespace

void CpuBackend::attention(const Tensor& q, const Tensor& k, const Tensor& v, double scale, bool causal,
                           const Tensor& out, const Tensor& lse) {
  IRIS_ASSERT(lse.is_contiguous());
  if (q.dtype() == DType::bf16)  // autocast: bf16 q, k, v; f32 out, lse (widened_bf16)
    return attention(widened_bf16(*this, q), widened_bf16(*this, k), widened_bf16(*this, v), scale, causal, out, lse);
  const Dims d = dims_of(q, k, v);
  dispatch_float(q.dtype(), "attention", [&](auto z) {
    using T = decltype(z);
    Operand<const T> Q = operand_of<const T>(q), K = operand_of<const T>(k), V = operand_of<const T>(v);
    Operand<T> O = operand_of<T>(out);
    if constexpr (std::is_same_v<T, float>) {
      if (use_blocked(d)) return attention_forward_blocked(d, Q, K, V, static_cast<float>(scale), causal, O, lse.data<float>());
    }
    attention_forward_rows<T>(d, Q, K, V, static_cast<T>(scale), causal, O, lse.data<T>());
  });
}

void CpuBackend::attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                                    const Tensor& lse, const Tensor& grad_out, double scale, bool causal,
                                    const Tensor& grad_q, const Tensor& grad_k, const Tensor& grad_v) {
  IRIS_ASSERT(lse.is_contiguous());
  if (q.dtype() == DType::bf16)  // autocast: bf16 q, k, v; everything else f32
    return attention_backward(widened_bf16(*this, q), widened_bf16(*this, k), widened_bf16(*this, v), out, lse,
                              grad_out, scale, causal, grad_q, grad_k, grad_v);
  const Dims d = dims_of(q, k, v);
  dispatch_float(q.dtype(), "attention_backward", [&](auto z) {
    using T = decltype(z);
    Operand<const T> Q = operand_of<const T>(q), K = operand_of<const T>(k), V = operand_of<const T>(v),
                     O = operand_of<const T>(out), GO = operand_of<const T>(grad_out);
    Operand<T> GQ = operand_of<T>(grad_q), GK = operand_of<T>(grad_k), GV = operand_of<T>(grad_v);
    if constexpr (std::is_same_v<T, float>) {
      if (use_blocked(d))
        return attention_backward_blocked(d, Q, K, V, O, lse.data<float>(), GO, static_cast<float>(scale), causal,
                                          GQ, GK, GV);
    }
    attention_backward_rows<T>(d, Q, K, V, O, lse.data<T>(), GO, static_cast<T>(scale), causal, GQ, GK, GV);
  });
}

}  // namespace iris::cpu
