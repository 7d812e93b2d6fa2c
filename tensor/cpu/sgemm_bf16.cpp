// The AVX512_BF16 product of autocast (see sgemm_bf16.h for the layouts). Loop order: N in blocks
// of NC, K in blocks of KC (B block packed by all threads), then the (row block, panel group) tasks
// split between threads, each packing its own A block. Edge tiles compute on zero-padded panels
// into a scratch tile and write back only their part. Compiled by target attribute, so every x86-64
// build has it; it runs only where bf16_gemm_available(). Leaves out: a K split for small C.
#include "tensor/cpu/sgemm_bf16.h"

#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "tensor/cpu/isa.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace iris::cpu {

bool bf16_gemm_available() { return kernel_isa() >= Isa::avx512 && cpu_has_avx512_bf16(); }

#if defined(__x86_64__)

namespace {

constexpr int MR = 12, NR = 32;
constexpr int64_t KC = 512, MC = 96, NC = 3072;  // KC even: pairs of k never straddle a block

struct Buffer16 {  // 64-byte aligned uint16 buffer, grown and reused
  uint16_t* p = nullptr;
  size_t capacity = 0;
  uint16_t* get(size_t n) {
    if (n > capacity) {
      std::free(p);
      p = static_cast<uint16_t*>(std::aligned_alloc(64, (n * 2 + 63) / 64 * 64));
      capacity = n;
    }
    return p;
  }
  ~Buffer16() { std::free(p); }
};

// B[k0 .. k0+kc, j0 .. j0+nc] into panels of NR columns: panel q at dst + q * kp * NR * 2, element
// (k, c) at [(k / 2) * NR + c] * 2 + k % 2, zero padded to whole pairs and whole panels.
void pack_b(const uint16_t* b, int64_t rs, int64_t cs, int64_t kc, int64_t nc, int64_t q0, int64_t q1, uint16_t* dst) {
  const int64_t kp = (kc + 1) / 2;
  for (int64_t q = q0; q < q1; ++q) {
    uint16_t* d = dst + q * kp * NR * 2;
    const int cols = static_cast<int>(std::min<int64_t>(NR, nc - q * NR));
    for (int64_t p = 0; p < kp; ++p)
      for (int c = 0; c < NR; ++c)
        for (int j = 0; j < 2; ++j) {
          const int64_t k = 2 * p + j;
          d[(p * NR + c) * 2 + j] = (c < cols && k < kc) ? b[k * rs + (q * NR + c) * cs] : 0;
        }
  }
}

// A[i0 .. i0+mc, k0 .. k0+kc] into panels of MR rows: element (r, k) at [(k / 2) * MR + r] * 2 + k % 2.
void pack_a(const uint16_t* a, int64_t rs, int64_t cs, int64_t mc, int64_t kc, uint16_t* dst) {
  const int64_t kp = (kc + 1) / 2;
  for (int64_t i0 = 0; i0 < mc; i0 += MR) {
    uint16_t* d = dst + (i0 / MR) * kp * MR * 2;
    const int rows = static_cast<int>(std::min<int64_t>(MR, mc - i0));
    for (int r = 0; r < MR; ++r) {
      const uint16_t* src = a + (i0 + r) * rs;
      for (int64_t p = 0; p < kp; ++p)
        for (int j = 0; j < 2; ++j) {
          const int64_t k = 2 * p + j;
          d[(p * MR + r) * 2 + j] = (r < rows && k < kc) ? src[k * cs] : 0;
        }
    }
  }
}

// C[0..m, 0..n] = alpha * (A panel x B panel) + beta * C (+ bias) over kp pairs of k.
__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16"))) void tile(int64_t kp, const uint16_t* a,
                                                                                  const uint16_t* b, float* c,
                                                                                  int64_t ldc, float alpha, float beta,
                                                                                  int m, int n, const float* bias) {
  __m512 acc[MR][2];
#pragma GCC unroll 12
  for (int r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  const int32_t* a32 = reinterpret_cast<const int32_t*>(a);
  for (int64_t p = 0; p < kp; ++p) {
    const __m512bh b0 = (__m512bh)_mm512_load_si512(b + p * NR * 2);
    const __m512bh b1 = (__m512bh)_mm512_load_si512(b + p * NR * 2 + 32);
#pragma GCC unroll 12
    for (int r = 0; r < MR; ++r) {
      const __m512bh ar = (__m512bh)_mm512_set1_epi32(a32[p * MR + r]);
      acc[r][0] = _mm512_dpbf16_ps(acc[r][0], ar, b0);
      acc[r][1] = _mm512_dpbf16_ps(acc[r][1], ar, b1);
    }
  }
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  if (m == MR && n == NR) {
    const __m512 bias_lo = bias ? _mm512_loadu_ps(bias) : _mm512_setzero_ps();
    const __m512 bias_hi = bias ? _mm512_loadu_ps(bias + 16) : _mm512_setzero_ps();
#pragma GCC unroll 12
    for (int r = 0; r < MR; ++r) {
      float* row = c + r * ldc;
      __m512 lo = _mm512_fmadd_ps(acc[r][0], va, bias_lo), hi = _mm512_fmadd_ps(acc[r][1], va, bias_hi);
      if (beta != 0.0f) {
        lo = _mm512_fmadd_ps(vb, _mm512_loadu_ps(row), lo);
        hi = _mm512_fmadd_ps(vb, _mm512_loadu_ps(row + 16), hi);
      }
      _mm512_storeu_ps(row, lo);
      _mm512_storeu_ps(row + 16, hi);
    }
    return;
  }
  // Edge tile: masked to n columns, rows past m skipped.
  const __mmask16 mask_lo = static_cast<__mmask16>(n >= 16 ? 0xFFFF : (1u << n) - 1);
  const __mmask16 mask_hi = static_cast<__mmask16>(n >= 32 ? 0xFFFF : n <= 16 ? 0 : (1u << (n - 16)) - 1);
  const __m512 bias_lo = bias ? _mm512_maskz_loadu_ps(mask_lo, bias) : _mm512_setzero_ps();
  const __m512 bias_hi = bias ? _mm512_maskz_loadu_ps(mask_hi, bias + 16) : _mm512_setzero_ps();
  for (int r = 0; r < m; ++r) {
    float* row = c + r * ldc;
    __m512 lo = _mm512_fmadd_ps(acc[r][0], va, bias_lo), hi = _mm512_fmadd_ps(acc[r][1], va, bias_hi);
    if (beta != 0.0f) {
      lo = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(mask_lo, row), lo);
      hi = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(mask_hi, row + 16), hi);
    }
    _mm512_mask_storeu_ps(row, mask_lo, lo);
    _mm512_mask_storeu_ps(row + 16, mask_hi, hi);
  }
}

}  // namespace

void packed_gemm_bf16(int64_t M, int64_t N, int64_t K, float alpha, const uint16_t* a, int64_t a_rs, int64_t a_cs,
                      const uint16_t* b, int64_t b_rs, int64_t b_cs, float beta, float* c, int64_t ldc, int threads,
                      const float* bias) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j)
        c[i * ldc + j] = (beta == 0.0f ? 0.0f : beta * c[i * ldc + j]) + (bias ? bias[j] : 0.0f);
    return;
  }
  static thread_local Buffer16 b_buffer;
  const int64_t row_blocks = (M + MC - 1) / MC;
  for (int64_t jc = 0; jc < N; jc += NC) {
    const int64_t nc = std::min<int64_t>(NC, N - jc), panels = (nc + NR - 1) / NR;
    for (int64_t pc = 0; pc < K; pc += KC) {
      const int64_t kc = std::min<int64_t>(KC, K - pc), kp = (kc + 1) / 2;
      const float beta_here = pc == 0 ? beta : 1.0f;
      const float* bias_here = pc == 0 && bias ? bias + jc : nullptr;
      uint16_t* bp = b_buffer.get(static_cast<size_t>(panels * kp * NR * 2));
      // few row blocks: split the panels between threads too
      const int64_t groups = std::max<int64_t>(1, std::min<int64_t>(panels, threads / std::max<int64_t>(1, row_blocks)));
      const int64_t tasks = row_blocks * groups;
      const int team = static_cast<int>(std::min<int64_t>(threads, std::max(tasks, panels)));
#pragma omp parallel num_threads(team) if (team > 1)
      {
        const int tid = omp_get_thread_num(), nth = omp_get_num_threads();
        pack_b(b + pc * b_rs + jc * b_cs, b_rs, b_cs, kc, nc, panels * tid / nth, panels * (tid + 1) / nth, bp);
#pragma omp barrier
        static thread_local Buffer16 a_buffer;
        uint16_t* ap = a_buffer.get(static_cast<size_t>((MC + MR) * kp * 2));
        for (int64_t t = tasks * tid / nth; t < tasks * (tid + 1) / nth; ++t) {
          const int64_t ib = t / groups, g = t % groups;
          const int64_t ic = ib * MC, mc = std::min<int64_t>(MC, M - ic);
          pack_a(a + ic * a_rs + pc * a_cs, a_rs, a_cs, mc, kc, ap);
          for (int64_t q = panels * g / groups; q < panels * (g + 1) / groups; ++q) {
            const int n = static_cast<int>(std::min<int64_t>(NR, nc - q * NR));
            for (int64_t ir = 0; ir < mc; ir += MR)
              tile(kp, ap + (ir / MR) * kp * MR * 2, bp + q * kp * NR * 2, c + (ic + ir) * ldc + jc + q * NR, ldc,
                   alpha, beta_here, static_cast<int>(std::min<int64_t>(MR, mc - ir)), n,
                   bias_here ? bias_here + q * NR : nullptr);
          }
        }
      }
    }
  }
}

#else

void packed_gemm_bf16(int64_t, int64_t, int64_t, float, const uint16_t*, int64_t, int64_t, const uint16_t*, int64_t,
                      int64_t, float, float*, int64_t, int, const float*) {}

#endif

}  // namespace iris::cpu
