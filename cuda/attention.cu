// Fused scaled-dot-product attention on the GPU (flash style), the twin of tensor/cpu/attention.cpp:
// q [B, L, E], k [B, S, E], v [B, S, Ev] -> out [B, L, Ev], lse [B, L]; causal: key j <= query i.
// Forward: a block owns a tile of query rows (each warp a few rows) and walks the keys in tiles of
// 32 staged in shared memory; lane j scores key j, and each row keeps an online softmax (running
// max m, running sum l, output accumulator rescaled when m grows), so the [L, S] scores never
// exist in global memory. Backward recomputes p = exp(s - lse) and, with D_i = dO_i . O_i,
// dS_ij = p_ij (dO_i . v_j - D_i): one kernel gives dQ (a block per query tile, looping over keys),
// another dK and dV (a block per key tile, looping over queries); no atomics, deterministic.
// Under autocast q, k and v are bf16, widened to f32 as they are staged in shared memory.
// Leaves out: masks, biases and dropout (the op composes those), tensor cores, head dims above 256.
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "cuda/common.cuh"

namespace iris::cuda {

namespace {

constexpr int kWarps = 4;                  // warps per block
constexpr int kTile = 32;                  // keys (forward, dQ) or queries (dK/dV) per tile: one per lane
constexpr int kMaxFeatures = 32 * 8;       // E and Ev up to 256 (8 features per lane)
constexpr unsigned kFullMask = 0xffffffffu;

// Per-lane feature chunks CH: lane owns features lane, lane + 32, ..., lane + 32 (CH - 1).
// Rows per warp shrink for wide heads to keep the accumulators in registers.
template <int CH>
struct Tiling {
  static constexpr int rows_per_warp = CH <= 4 ? 4 : 2;
  static constexpr int block_rows = kWarps * rows_per_warp;
};

// Row stride in shared memory for tiles read one row per lane: odd, so lanes hit distinct banks.
__host__ __device__ inline int padded(int n) { return n | 1; }

// -inf of T in device code (std::numeric_limits is host-only without --expt-relaxed-constexpr).
template <class T>
__device__ inline T negative_infinity() { return static_cast<T>(-INFINITY); }
__device__ inline float exp_of(float v) { return expf(v); }
__device__ inline double exp_of(double v) { return ::exp(v); }
__device__ inline float log_of(float v) { return logf(v); }
__device__ inline double log_of(double v) { return ::log(v); }

// Butterfly reductions: every lane ends with the same (bitwise) value.
template <class T>
__device__ inline T warp_sum(T v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(kFullMask, v, o);
  return v;
}
template <class T>
__device__ inline T warp_max(T v) {  // NaN-propagating, so all lanes agree even then
  for (int o = 16; o > 0; o >>= 1) {
    T w = __shfl_xor_sync(kFullMask, v, o);
    v = (w > v || isnan(w)) ? w : v;
  }
  return v;
}

// a[0..n) . b[0..n)
template <class T>
__device__ inline T dot(const T* a, const T* b, int n) {
  T acc = 0;
  for (int e = 0; e < n; ++e) acc += a[e] * b[e];
  return acc;
}

// dst[r * dst_stride + c] = src rows first_row + r (zeros past `rows`), r < tile_rows, c < cols.
// All threads of the block take part.
// src may be bf16 (autocast's q, k, v): widened to T in shared memory, so the maths is T's.
__device__ inline float widen(bf16_t v) { return bf16_to_float(v); }
__device__ inline float widen(float v) { return v; }
__device__ inline double widen(double v) { return v; }
template <class T, class TS>
__device__ inline void load_tile(T* dst, int dst_stride, const TS* src, int64_t first_row, int64_t rows,
                                 int tile_rows, int cols) {
  for (int idx = threadIdx.x; idx < tile_rows * cols; idx += blockDim.x) {
    const int r = idx / cols, c = idx % cols;
    const int64_t row = first_row + r;
    dst[r * dst_stride + c] = row < rows ? static_cast<T>(widen(src[row * cols + c])) : T(0);
  }
}

// ---- forward ------------------------------------------------------------------------------

// Grid: B * tiles_per_batch blocks of kWarps warps. Shared memory (dynamic):
// q_s [block_rows, E], k_s [kTile, padded(E)], v_s [kTile, Ev].
template <class T, class TI, int CH>
__global__ void attention_forward_kernel(const TI* q, const TI* k, const TI* v, T* out, T* lse, int64_t L, int64_t S,
                                         int E, int Ev, T scale, bool causal, int64_t tiles_per_batch) {
  constexpr int kRows = Tiling<CH>::rows_per_warp, kBlockRows = Tiling<CH>::block_rows;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  T* q_s = reinterpret_cast<T*>(smem_raw);
  T* k_s = q_s + kBlockRows * E;
  T* v_s = k_s + kTile * padded(E);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int64_t b = blockIdx.x / tiles_per_batch;
  const int64_t i0 = (blockIdx.x % tiles_per_batch) * kBlockRows;
  const TI* kb = k + b * S * E;
  const TI* vb = v + b * S * Ev;
  load_tile(q_s, E, q + b * L * E, i0, L, kBlockRows, E);

  T m[kRows], l[kRows], acc[kRows][CH];
#pragma unroll
  for (int r = 0; r < kRows; ++r) {
    m[r] = negative_infinity<T>();
    l[r] = 0;
#pragma unroll
    for (int t = 0; t < CH; ++t) acc[r][t] = 0;
  }

  const int64_t last_row = (i0 + kBlockRows < L ? i0 + kBlockRows : L) - 1;
  const int64_t keys = causal && last_row + 1 < S ? last_row + 1 : S;  // keys any row here may see
  for (int64_t j0 = 0; j0 < keys; j0 += kTile) {
    __syncthreads();  // the previous tile is used up (and q_s is loaded)
    load_tile(k_s, padded(E), kb, j0, S, kTile, E);
    load_tile(v_s, Ev, vb, j0, S, kTile, Ev);
    __syncthreads();
    const int64_t j = j0 + lane;
#pragma unroll
    for (int r = 0; r < kRows; ++r) {
      const int row = warp * kRows + r;
      const int64_t i = i0 + row;
      const bool allowed = j < S && (!causal || j <= i);
      if (!__any_sync(kFullMask, allowed)) continue;  // warp-uniform: nothing for this row here
      const T s = allowed ? dot(q_s + row * E, k_s + lane * padded(E), E) * scale
                          : negative_infinity<T>();
      const T tile_max = warp_max(s);
      const T m_new = tile_max > m[r] ? tile_max : m[r];
      const T correction = exp_of(m[r] - m_new);  // 0 on the first tile (m = -inf)
      const T p = allowed ? exp_of(s - m_new) : T(0);
      l[r] = l[r] * correction + warp_sum(p);
#pragma unroll
      for (int t = 0; t < CH; ++t) acc[r][t] *= correction;
      for (int jj = 0; jj < kTile; ++jj) {
        const T pj = __shfl_sync(kFullMask, p, jj);
#pragma unroll
        for (int t = 0; t < CH; ++t) {
          const int c = lane + 32 * t;
          if (c < Ev) acc[r][t] += pj * v_s[jj * Ev + c];
        }
      }
      m[r] = m_new;
    }
  }

#pragma unroll
  for (int r = 0; r < kRows; ++r) {
    const int64_t i = i0 + warp * kRows + r;
    if (i >= L) continue;
    const bool empty_row = l[r] == T(0);  // no key visible (S == 0): zeros, lse = -inf, as the CPU
    T* o = out + (b * L + i) * Ev;
#pragma unroll
    for (int t = 0; t < CH; ++t) {
      const int c = lane + 32 * t;
      if (c < Ev) o[c] = empty_row ? T(0) : acc[r][t] / l[r];
    }
    if (lane == 0) lse[b * L + i] = empty_row ? negative_infinity<T>() : m[r] + log_of(l[r]);
  }
}

// ---- backward -----------------------------------------------------------------------------

// delta[row] = grad_out[row] . out[row] over Ev, one warp per row of B * L.
template <class T>
__global__ void attention_delta_kernel(const T* grad_out, const T* out, T* delta, int64_t rows, int Ev) {
  const int lane = threadIdx.x % 32;
  const int64_t warps_per_block = blockDim.x / 32;
  for (int64_t row = static_cast<int64_t>(blockIdx.x) * warps_per_block + threadIdx.x / 32; row < rows;
       row += static_cast<int64_t>(gridDim.x) * warps_per_block) {
    T acc = 0;
    for (int c = lane; c < Ev; c += 32) acc += grad_out[row * Ev + c] * out[row * Ev + c];
    acc = warp_sum(acc);
    if (lane == 0) delta[row] = acc;
  }
}

// grad_q = scale sum_j dS_ij k_j. Grid as the forward. Shared memory:
// q_s [block_rows, E], do_s [block_rows, Ev], k_s [kTile, padded(E)], v_s [kTile, padded(Ev)].
template <class T, class TI, int CH>
__global__ void attention_grad_q_kernel(const TI* q, const TI* k, const TI* v, const T* lse, const T* delta,
                                        const T* grad_out, T* grad_q, int64_t L, int64_t S, int E, int Ev, T scale,
                                        bool causal, int64_t tiles_per_batch) {
  constexpr int kRows = Tiling<CH>::rows_per_warp, kBlockRows = Tiling<CH>::block_rows;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  T* q_s = reinterpret_cast<T*>(smem_raw);
  T* do_s = q_s + kBlockRows * E;
  T* k_s = do_s + kBlockRows * Ev;
  T* v_s = k_s + kTile * padded(E);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int64_t b = blockIdx.x / tiles_per_batch;
  const int64_t i0 = (blockIdx.x % tiles_per_batch) * kBlockRows;
  const TI* kb = k + b * S * E;
  const TI* vb = v + b * S * Ev;
  load_tile(q_s, E, q + b * L * E, i0, L, kBlockRows, E);
  load_tile(do_s, Ev, grad_out + b * L * Ev, i0, L, kBlockRows, Ev);

  T row_lse[kRows], row_delta[kRows], dq[kRows][CH];
#pragma unroll
  for (int r = 0; r < kRows; ++r) {
    const int64_t i = i0 + warp * kRows + r;
    row_lse[r] = i < L ? lse[b * L + i] : negative_infinity<T>();
    row_delta[r] = i < L ? delta[b * L + i] : T(0);
#pragma unroll
    for (int t = 0; t < CH; ++t) dq[r][t] = 0;
  }

  const int64_t last_row = (i0 + kBlockRows < L ? i0 + kBlockRows : L) - 1;
  const int64_t keys = causal && last_row + 1 < S ? last_row + 1 : S;
  for (int64_t j0 = 0; j0 < keys; j0 += kTile) {
    __syncthreads();
    load_tile(k_s, padded(E), kb, j0, S, kTile, E);
    load_tile(v_s, padded(Ev), vb, j0, S, kTile, Ev);
    __syncthreads();
    const int64_t j = j0 + lane;
#pragma unroll
    for (int r = 0; r < kRows; ++r) {
      const int row = warp * kRows + r;
      const int64_t i = i0 + row;
      // a row without a finite lse saw no key: no gradient (as the CPU's empty rows)
      const bool allowed = i < L && j < S && (!causal || j <= i) && row_lse[r] > negative_infinity<T>();
      T ds = 0;
      if (allowed) {
        const T p = exp_of(dot(q_s + row * E, k_s + lane * padded(E), E) * scale - row_lse[r]);
        const T dp = dot(do_s + row * Ev, v_s + lane * padded(Ev), Ev);
        ds = p * (dp - row_delta[r]) * scale;
      }
      for (int jj = 0; jj < kTile; ++jj) {
        const T dsj = __shfl_sync(kFullMask, ds, jj);
#pragma unroll
        for (int t = 0; t < CH; ++t) {
          const int e = lane + 32 * t;
          if (e < E) dq[r][t] += dsj * k_s[jj * padded(E) + e];
        }
      }
    }
  }

#pragma unroll
  for (int r = 0; r < kRows; ++r) {
    const int64_t i = i0 + warp * kRows + r;
    if (i >= L) continue;
#pragma unroll
    for (int t = 0; t < CH; ++t) {
      const int e = lane + 32 * t;
      if (e < E) grad_q[(b * L + i) * E + e] = dq[r][t];
    }
  }
}

// grad_k = scale sum_i dS_ij q_i, grad_v = sum_i p_ij dO_i. Grid: B * key tiles. Shared memory:
// k_s [block_rows, E], v_s [block_rows, Ev], q_s [kTile, padded(E)], do_s [kTile, padded(Ev)],
// lse_s [kTile], delta_s [kTile].
template <class T, class TI, int CH>
__global__ void attention_grad_kv_kernel(const TI* q, const TI* k, const TI* v, const T* lse, const T* delta,
                                         const T* grad_out, T* grad_k, T* grad_v, int64_t L, int64_t S, int E, int Ev,
                                         T scale, bool causal, int64_t tiles_per_batch) {
  constexpr int kRows = Tiling<CH>::rows_per_warp, kBlockRows = Tiling<CH>::block_rows;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  T* k_s = reinterpret_cast<T*>(smem_raw);
  T* v_s = k_s + kBlockRows * E;
  T* q_s = v_s + kBlockRows * Ev;
  T* do_s = q_s + kTile * padded(E);
  T* lse_s = do_s + kTile * padded(Ev);
  T* delta_s = lse_s + kTile;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int64_t b = blockIdx.x / tiles_per_batch;
  const int64_t j0 = (blockIdx.x % tiles_per_batch) * kBlockRows;
  const TI* qb = q + b * L * E;
  const T* gob = grad_out + b * L * Ev;
  load_tile(k_s, E, k + b * S * E, j0, S, kBlockRows, E);
  load_tile(v_s, Ev, v + b * S * Ev, j0, S, kBlockRows, Ev);

  T dk[kRows][CH], dv[kRows][CH];
#pragma unroll
  for (int r = 0; r < kRows; ++r)
#pragma unroll
    for (int t = 0; t < CH; ++t) dk[r][t] = dv[r][t] = 0;

  // causal: only queries i >= j0 see any key of this block
  for (int64_t q0 = causal ? j0 : 0; q0 < L; q0 += kTile) {
    __syncthreads();
    load_tile(q_s, padded(E), qb, q0, L, kTile, E);
    load_tile(do_s, padded(Ev), gob, q0, L, kTile, Ev);
    for (int idx = threadIdx.x; idx < kTile; idx += blockDim.x) {
      const int64_t i = q0 + idx;
      lse_s[idx] = i < L ? lse[b * L + i] : negative_infinity<T>();
      delta_s[idx] = i < L ? delta[b * L + i] : T(0);
    }
    __syncthreads();
    const int64_t i = q0 + lane;
    const T my_lse = lse_s[lane], my_delta = delta_s[lane];
#pragma unroll
    for (int r = 0; r < kRows; ++r) {
      const int row = warp * kRows + r;
      const int64_t j = j0 + row;
      const bool allowed = i < L && j < S && (!causal || j <= i) && my_lse > negative_infinity<T>();
      T p = 0, ds = 0;
      if (allowed) {
        p = exp_of(dot(q_s + lane * padded(E), k_s + row * E, E) * scale - my_lse);
        const T dp = dot(do_s + lane * padded(Ev), v_s + row * Ev, Ev);
        ds = p * (dp - my_delta) * scale;
      }
      for (int ii = 0; ii < kTile; ++ii) {
        const T pi = __shfl_sync(kFullMask, p, ii);
        const T dsi = __shfl_sync(kFullMask, ds, ii);
#pragma unroll
        for (int t = 0; t < CH; ++t) {
          const int f = lane + 32 * t;
          if (f < E) dk[r][t] += dsi * q_s[ii * padded(E) + f];
          if (f < Ev) dv[r][t] += pi * do_s[ii * padded(Ev) + f];
        }
      }
    }
  }

#pragma unroll
  for (int r = 0; r < kRows; ++r) {
    const int64_t j = j0 + warp * kRows + r;
    if (j >= S) continue;
#pragma unroll
    for (int t = 0; t < CH; ++t) {
      const int f = lane + 32 * t;
      if (f < E) grad_k[(b * S + j) * E + f] = dk[r][t];
      if (f < Ev) grad_v[(b * S + j) * Ev + f] = dv[r][t];
    }
  }
}

// ---- host side ----------------------------------------------------------------------------

struct Dims {
  int64_t B, L, S, E, Ev;
};

Dims dims_of(const char* op, const Tensor& q, const Tensor& k, const Tensor& v) {
  IRIS_CHECK(q.dim() == 3 && k.dim() == 3 && v.dim() == 3, op, ": expects q [B, L, E], k [B, S, E], v [B, S, Ev], got ",
             shape_str(q.shape()), ", ", shape_str(k.shape()), ", ", shape_str(v.shape()));
  Dims d{q.shape()[0], q.shape()[1], k.shape()[1], q.shape()[2], v.shape()[2]};
  IRIS_CHECK(k.shape()[0] == d.B && v.shape()[0] == d.B && k.shape()[2] == d.E && v.shape()[1] == d.S, op,
             ": q ", shape_str(q.shape()), ", k ", shape_str(k.shape()), " and v ", shape_str(v.shape()),
             " do not line up as [B, L, E], [B, S, E], [B, S, Ev]");
  IRIS_CHECK(q.dtype() == k.dtype() && q.dtype() == v.dtype(), op, ": q, k and v must share a dtype, got ",
             dtype_name(q.dtype()), ", ", dtype_name(k.dtype()), " and ", dtype_name(v.dtype()));
  IRIS_CHECK(d.E <= kMaxFeatures && d.Ev <= kMaxFeatures, op, ": the fused CUDA kernel supports head dims up to ",
             kMaxFeatures, ", got E = ", d.E, ", Ev = ", d.Ev, "; split the heads further");
  return d;
}

// Calls f(std::integral_constant<int, CH>) with the per-lane feature chunks for max(E, Ev).
template <class F>
void with_chunks(int64_t features, F&& f) {
  if (features <= 32) f(std::integral_constant<int, 1>());
  else if (features <= 64) f(std::integral_constant<int, 2>());
  else if (features <= 128) f(std::integral_constant<int, 4>());
  else f(std::integral_constant<int, 8>());
}

// Allows `bytes` of dynamic shared memory for `kernel`, or throws when the GPU has less.
template <class Kernel>
void allow_shared_memory(Kernel* kernel, size_t bytes, const char* op, const Dims& d, DType dt) {
  int device = 0, max_bytes = 0;
  IRIS_CUDA_CHECK(cudaGetDevice(&device));
  IRIS_CUDA_CHECK(cudaDeviceGetAttribute(&max_bytes, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
  IRIS_CHECK(bytes <= static_cast<size_t>(max_bytes), op, ": head dims E = ", d.E, ", Ev = ", d.Ev, " in ",
             dtype_name(dt), " need ", bytes, " bytes of shared memory per block, more than this GPU's ", max_bytes,
             "; use smaller heads or f32");
  if (bytes > 48 * 1024)
    IRIS_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)));
}

// Calls f(T{}, TI{}): the compute type (that of out, lse and the gradients) and the storage type
// of q, k and v -- the same, or bf16 under autocast with T = float.
template <class F>
void dispatch_operands(const char* op, const Tensor& q, const Tensor& out, F&& f) {
  if (q.dtype() == DType::bf16) {
    IRIS_CHECK(out.dtype() == DType::f32, op, ": bf16 q, k, v (autocast) need an f32 output, got ",
               dtype_name(out.dtype()));
    f(float{}, bf16_t{});
    return;
  }
  cuda_dispatch_float(q.dtype(), op, [&](auto z) { f(z, z); });
}

template <class TI>
const TI* operand(const Tensor& t) { return static_cast<const TI*>(t.raw_data()); }  // dtype checked by dims_of

unsigned grid_for(int64_t B, int64_t tiles_per_batch, const char* op) {
  int64_t blocks = B * tiles_per_batch;
  IRIS_CHECK(blocks <= 2147483647LL, op, ": too many blocks (", blocks, ") for one launch");
  return static_cast<unsigned>(blocks);
}

}  // namespace

void CudaBackend::attention(const Tensor& q, const Tensor& k, const Tensor& v, double scale, bool causal,
                            const Tensor& out, const Tensor& lse) {
  const char* op = "attention";
  check_on_gpu(op, {&q, &k, &v, &out, &lse});
  IRIS_ASSERT(q.is_contiguous() && k.is_contiguous() && v.is_contiguous() && out.is_contiguous() && lse.is_contiguous());
  const Dims d = dims_of(op, q, k, v);
  IRIS_ASSERT(out.numel() == d.B * d.L * d.Ev && lse.numel() == d.B * d.L);
  if (d.B == 0 || d.L == 0) return;
  dispatch_operands(op, q, out, [&](auto z, auto zi) {
    using T = decltype(z);
    using TI = decltype(zi);
    with_chunks(std::max(d.E, d.Ev), [&](auto ch) {
      constexpr int CH = decltype(ch)::value;
      constexpr int kBlockRows = Tiling<CH>::block_rows;
      const int E = static_cast<int>(d.E), Ev = static_cast<int>(d.Ev);
      const size_t bytes = sizeof(T) * (static_cast<size_t>(kBlockRows) * E + static_cast<size_t>(kTile) * padded(E) +
                                        static_cast<size_t>(kTile) * Ev);
      allow_shared_memory(attention_forward_kernel<T, TI, CH>, bytes, op, d, out.dtype());
      const int64_t tiles = (d.L + kBlockRows - 1) / kBlockRows;
      attention_forward_kernel<T, TI, CH><<<grid_for(d.B, tiles, op), kWarps * 32, bytes, stream()>>>(
          operand<TI>(q), operand<TI>(k), operand<TI>(v), out.data<T>(), lse.data<T>(), d.L, d.S, E, Ev,
          static_cast<T>(scale), causal, tiles);
      IRIS_CUDA_LAUNCHED();
    });
  });
}

void CudaBackend::attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                                     const Tensor& lse, const Tensor& grad_out, double scale, bool causal,
                                     const Tensor& grad_q, const Tensor& grad_k, const Tensor& grad_v) {
  const char* op = "attention_backward";
  check_on_gpu(op, {&q, &k, &v, &out, &lse, &grad_out, &grad_q, &grad_k, &grad_v});
  IRIS_ASSERT(q.is_contiguous() && k.is_contiguous() && v.is_contiguous() && out.is_contiguous() && lse.is_contiguous());
  IRIS_ASSERT(grad_out.is_contiguous() && grad_q.is_contiguous() && grad_k.is_contiguous() && grad_v.is_contiguous());
  const Dims d = dims_of(op, q, k, v);
  IRIS_ASSERT(out.numel() == d.B * d.L * d.Ev && grad_out.numel() == out.numel() && lse.numel() == d.B * d.L);
  IRIS_ASSERT(grad_q.numel() == q.numel() && grad_k.numel() == k.numel() && grad_v.numel() == v.numel());
  if (d.B == 0) return;
  dispatch_operands(op, q, out, [&](auto z, auto zi) {
    using T = decltype(z);
    using TI = decltype(zi);
    const int E = static_cast<int>(d.E), Ev = static_cast<int>(d.Ev);
    // delta [B, L] = rowwise grad_out . out
    Tensor delta = empty({d.B, std::max<int64_t>(d.L, 1)}, {out.dtype(), q.device()});
    if (d.L > 0) {
      const int64_t rows = d.B * d.L;
      const int64_t warps_per_block = kThreads / 32;
      const unsigned blocks =
          static_cast<unsigned>(std::min<int64_t>((rows + warps_per_block - 1) / warps_per_block, 65535 * 8));
      attention_delta_kernel<T><<<blocks, kThreads, 0, stream()>>>(grad_out.data<T>(), out.data<T>(), delta.data<T>(),
                                                                   rows, Ev);
      IRIS_CUDA_LAUNCHED();
    }
    with_chunks(std::max(d.E, d.Ev), [&](auto ch) {
      constexpr int CH = decltype(ch)::value;
      constexpr int kBlockRows = Tiling<CH>::block_rows;
      const size_t rows_part = static_cast<size_t>(kBlockRows) * (E + Ev);
      const size_t tile_part = static_cast<size_t>(kTile) * (padded(E) + padded(Ev));
      if (d.L > 0) {  // grad_q [B, L, E]
        const size_t bytes = sizeof(T) * (rows_part + tile_part);
        allow_shared_memory(attention_grad_q_kernel<T, TI, CH>, bytes, op, d, out.dtype());
        const int64_t tiles = (d.L + kBlockRows - 1) / kBlockRows;
        attention_grad_q_kernel<T, TI, CH><<<grid_for(d.B, tiles, op), kWarps * 32, bytes, stream()>>>(
            operand<TI>(q), operand<TI>(k), operand<TI>(v), lse.data<T>(), delta.data<T>(), grad_out.data<T>(),
            grad_q.data<T>(), d.L, d.S, E, Ev, static_cast<T>(scale), causal, tiles);
        IRIS_CUDA_LAUNCHED();
      }
      if (d.S > 0) {  // grad_k [B, S, E], grad_v [B, S, Ev] (zeros when L == 0)
        const size_t bytes = sizeof(T) * (rows_part + tile_part + 2 * kTile);
        allow_shared_memory(attention_grad_kv_kernel<T, TI, CH>, bytes, op, d, out.dtype());
        const int64_t tiles = (d.S + kBlockRows - 1) / kBlockRows;
        attention_grad_kv_kernel<T, TI, CH><<<grid_for(d.B, tiles, op), kWarps * 32, bytes, stream()>>>(
            operand<TI>(q), operand<TI>(k), operand<TI>(v), lse.data<T>(), delta.data<T>(), grad_out.data<T>(),
            grad_k.data<T>(), grad_v.data<T>(), d.L, d.S, E, Ev, static_cast<T>(scale), causal, tiles);
        IRIS_CUDA_LAUNCHED();
      }
    });
  });
}

}  // namespace iris::cuda
