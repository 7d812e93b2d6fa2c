// Packed f32 GEMM (see sgemm.h). Loop order, outermost first:
//   jc: N in blocks of NC      (B block [KC, NC] stays in L3)
//   pc: K in blocks of KC      (pack B[pc.., jc..] into NR-wide panels, all threads together)
//   ic: M in blocks of MC      (pack A[ic.., pc..] into MR-tall panels, one thread per block)
//   jr, ir: NR x MR tiles      (the micro-kernel: MR x NR accumulators in registers over kc)
// Threads split the (ic block, group of B panels) tasks; a thread's A buffer is its own, the packed
// B block is shared. Partial tiles at the edges run the same kernel on zero-padded panels and write
// back only their part.
#include "tensor/cpu/sgemm.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace iris::cpu {

namespace {

constexpr int MR = 6, NR = 16;
constexpr int64_t KC = 512, MC = 72, NC = 3072;

// A 64-byte aligned float buffer that grows and is reused (no allocation in the steady state).
struct AlignedBuffer {
  float* p = nullptr;
  size_t capacity = 0;
  float* get(size_t n) {
    if (n > capacity) {
      std::free(p);
      size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
      p = static_cast<float*>(std::aligned_alloc(64, bytes));
      capacity = n;
    }
    return p;
  }
  ~AlignedBuffer() { std::free(p); }
};

// A[i0 .. i0+mc, k0 .. k0+kc] into panels of MR rows: dst[(panel * kc + k) * MR + r], zero padded.
void pack_a(const float* a, int64_t rs, int64_t cs, int64_t mc, int64_t kc, float* dst) {
  for (int64_t p = 0; p < mc; p += MR) {
    const int rows = static_cast<int>(std::min<int64_t>(MR, mc - p));
    const float* src = a + p * rs;
    if (rows == MR && rs == 1) {  // column-major A: each k is MR contiguous floats
      for (int64_t k = 0; k < kc; ++k) std::memcpy(dst + k * MR, src + k * cs, MR * sizeof(float));
    } else if (rows == MR) {
      for (int64_t k = 0; k < kc; ++k)
        for (int r = 0; r < MR; ++r) dst[k * MR + r] = src[r * rs + k * cs];
    } else {
      for (int64_t k = 0; k < kc; ++k)
        for (int r = 0; r < MR; ++r) dst[k * MR + r] = r < rows ? src[r * rs + k * cs] : 0.0f;
    }
    dst += kc * MR;
  }
}

// Panel q of B[k0 .. k0+kc, j0 .. j0+nc]: dst[k * NR + c] for columns q*NR .. q*NR+NR, zero padded.
void pack_b_panel(const float* b, int64_t rs, int64_t cs, int64_t kc, int64_t cols, float* dst) {
  if (cols == NR && cs == 1) {  // row-major B: each k is NR contiguous floats
    for (int64_t k = 0; k < kc; ++k) std::memcpy(dst + k * NR, b + k * rs, NR * sizeof(float));
  } else {
    for (int64_t k = 0; k < kc; ++k)
      for (int c = 0; c < NR; ++c) dst[k * NR + c] = c < cols ? b[k * rs + c * cs] : 0.0f;
  }
}

#if defined(__x86_64__)

// C[0..m, 0..n] = alpha * (a panel x b panel) + beta * C (+ bias[0..n] on every row when bias is
// not null); 12 ymm accumulators hold the 6 x 16 tile.
__attribute__((target("avx2,fma"))) void kernel_6x16_avx2(int64_t kc, const float* a, const float* b, float* c,
                                                         int64_t ldc, float alpha, float beta, int m, int n,
                                                         const float* bias) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps(), c10 = _mm256_setzero_ps(),
         c11 = _mm256_setzero_ps(), c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps(),
         c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps(), c40 = _mm256_setzero_ps(),
         c41 = _mm256_setzero_ps(), c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  // Unrolled: the loop is front-end bound (12 FMAs need 6 broadcasts and 2 loads), so fewer
  // branch and pointer updates per FMA matter (+20% measured on a Zen core).
#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; ++k) {
    const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
    __m256 ai = _mm256_broadcast_ss(a);
    c00 = _mm256_fmadd_ps(ai, b0, c00);
    c01 = _mm256_fmadd_ps(ai, b1, c01);
    ai = _mm256_broadcast_ss(a + 1);
    c10 = _mm256_fmadd_ps(ai, b0, c10);
    c11 = _mm256_fmadd_ps(ai, b1, c11);
    ai = _mm256_broadcast_ss(a + 2);
    c20 = _mm256_fmadd_ps(ai, b0, c20);
    c21 = _mm256_fmadd_ps(ai, b1, c21);
    ai = _mm256_broadcast_ss(a + 3);
    c30 = _mm256_fmadd_ps(ai, b0, c30);
    c31 = _mm256_fmadd_ps(ai, b1, c31);
    ai = _mm256_broadcast_ss(a + 4);
    c40 = _mm256_fmadd_ps(ai, b0, c40);
    c41 = _mm256_fmadd_ps(ai, b1, c41);
    ai = _mm256_broadcast_ss(a + 5);
    c50 = _mm256_fmadd_ps(ai, b0, c50);
    c51 = _mm256_fmadd_ps(ai, b1, c51);
    a += MR;
    b += NR;
  }
  const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
  if (m == MR && n == NR) {
    const __m256 bias_lo = bias ? _mm256_loadu_ps(bias) : _mm256_setzero_ps();
    const __m256 bias_hi = bias ? _mm256_loadu_ps(bias + 8) : _mm256_setzero_ps();
#define IRIS_STORE_ROW(r, x, y)                                                        \
  {                                                                                   \
    float* row = c + (r) * ldc;                                                       \
    __m256 lo = _mm256_fmadd_ps(x, va, bias_lo), hi = _mm256_fmadd_ps(y, va, bias_hi); \
    if (beta != 0.0f) {                                                               \
      lo = _mm256_fmadd_ps(vb, _mm256_loadu_ps(row), lo);                             \
      hi = _mm256_fmadd_ps(vb, _mm256_loadu_ps(row + 8), hi);                         \
    }                                                                                 \
    _mm256_storeu_ps(row, lo);                                                        \
    _mm256_storeu_ps(row + 8, hi);                                                    \
  }
    IRIS_STORE_ROW(0, c00, c01)
    IRIS_STORE_ROW(1, c10, c11)
    IRIS_STORE_ROW(2, c20, c21)
    IRIS_STORE_ROW(3, c30, c31)
    IRIS_STORE_ROW(4, c40, c41)
    IRIS_STORE_ROW(5, c50, c51)
#undef IRIS_STORE_ROW
    return;
  }
  alignas(32) float tile[MR][NR];
  _mm256_store_ps(tile[0], c00), _mm256_store_ps(tile[0] + 8, c01);
  _mm256_store_ps(tile[1], c10), _mm256_store_ps(tile[1] + 8, c11);
  _mm256_store_ps(tile[2], c20), _mm256_store_ps(tile[2] + 8, c21);
  _mm256_store_ps(tile[3], c30), _mm256_store_ps(tile[3] + 8, c31);
  _mm256_store_ps(tile[4], c40), _mm256_store_ps(tile[4] + 8, c41);
  _mm256_store_ps(tile[5], c50), _mm256_store_ps(tile[5] + 8, c51);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      float v = alpha * tile[i][j] + (bias ? bias[j] : 0.0f);
      c[i * ldc + j] = beta != 0.0f ? v + beta * c[i * ldc + j] : v;
    }
}

bool cpu_has_avx2() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }

#else

bool cpu_has_avx2() { return false; }
void kernel_6x16_avx2(int64_t, const float*, const float*, float*, int64_t, float, float, int, int, const float*) {}

#endif

bool env_forces_eigen() {
  const char* e = std::getenv("IRIS_GEMM");
  return e && std::string(e) == "eigen";
}

}  // namespace

bool packed_sgemm_available() {
  static const bool ok = cpu_has_avx2() && !env_forces_eigen();
  return ok;
}

const char* packed_sgemm_isa() { return packed_sgemm_available() ? "avx2" : "none"; }

void packed_sgemm(int64_t M, int64_t N, int64_t K, float alpha, const float* a, int64_t a_rs, int64_t a_cs,
                  const float* b, int64_t b_rs, int64_t b_cs, float beta, float* c, int64_t ldc, int threads,
                  const float* bias) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j)
        c[i * ldc + j] = (beta == 0.0f ? 0.0f : beta * c[i * ldc + j]) + (bias ? bias[j] : 0.0f);
    return;
  }
  thread_local AlignedBuffer b_buffer;
  const int64_t nc_max = std::min<int64_t>(NC, (N + NR - 1) / NR * NR);
  float* bp = b_buffer.get(static_cast<size_t>(std::min<int64_t>(KC, K) * nc_max));
  const int64_t mblocks = (M + MC - 1) / MC;

  for (int64_t jc = 0; jc < N; jc += NC) {
    const int64_t nc = std::min<int64_t>(NC, N - jc);
    const int64_t panels = (nc + NR - 1) / NR;
    // With fewer row blocks than threads, the B panels are split between threads too.
    const int64_t groups = threads > mblocks ? std::min<int64_t>(panels, (threads + mblocks - 1) / mblocks) : 1;
    const int64_t tasks = mblocks * groups;
    const int team = static_cast<int>(std::min<int64_t>(threads, std::max(tasks, int64_t(1))));
    for (int64_t pc = 0; pc < K; pc += KC) {
      const int64_t kc = std::min<int64_t>(KC, K - pc);
      const float beta_here = pc == 0 ? beta : 1.0f;  // later K blocks accumulate
      const float* bias_here = pc == 0 ? bias : nullptr;  // the bias goes in once
#pragma omp parallel num_threads(team) if (team > 1)
      {
#pragma omp for schedule(static)
        for (int64_t q = 0; q < panels; ++q)
          pack_b_panel(b + pc * b_rs + (jc + q * NR) * b_cs, b_rs, b_cs, kc, std::min<int64_t>(NR, nc - q * NR),
                       bp + q * kc * NR);
        thread_local AlignedBuffer a_buffer;
#pragma omp for schedule(static)
        for (int64_t task = 0; task < tasks; ++task) {
          const int64_t ib = task / groups, g = task % groups;
          const int64_t ic = ib * MC, mc = std::min<int64_t>(MC, M - ic);
          float* ap = a_buffer.get(static_cast<size_t>((mc + MR - 1) / MR * MR * kc));
          pack_a(a + ic * a_rs + pc * a_cs, a_rs, a_cs, mc, kc, ap);
          const int64_t q0 = panels * g / groups, q1 = panels * (g + 1) / groups;
          for (int64_t q = q0; q < q1; ++q) {
            const int n = static_cast<int>(std::min<int64_t>(NR, nc - q * NR));
            for (int64_t ir = 0; ir < mc; ir += MR) {
              const int m = static_cast<int>(std::min<int64_t>(MR, mc - ir));
              kernel_6x16_avx2(kc, ap + ir * kc, bp + q * kc * NR, c + (ic + ir) * ldc + jc + q * NR, ldc, alpha,
                               beta_here, m, n, bias_here ? bias_here + jc + q * NR : nullptr);
            }
          }
        }
      }
    }
  }
}

}  // namespace iris::cpu
