// Packed f32 GEMM (see sgemm.h). Loop order, outermost first:
//   jc: N in blocks of NC      (B block [KC, NC] stays in L3)
//   pc: K in blocks of KC      (pack B[pc.., jc..] into NR-wide panels, all threads together)
//   ic: M in blocks of ~MC     (pack A[ic.., pc..] into MR-tall panels, one thread per block)
//   jr, ir: NR x MR tiles      (the micro-kernel: MR x NR accumulators in registers over kc)
// Threads split the (ic block, group of B panels) tasks; a thread's A buffer is its own, the packed
// B block is shared. Partial tiles at the edges run the same kernel on zero-padded panels and write
// back only their part. Three shapes get their own handling, each measured to pay on a Zen 3 core:
// a row-major A feeding few B panels is read in place, unpacked; a small C with a long K (weight
// gradients) gives each thread a slice of K and adds the slices up; a team of one (the per-head
// products inside the attention kernel) runs with no OpenMP construct at all.
#include "tensor/cpu/sgemm.h"
#include "tensor/cpu/isa.h"
#include "tensor/cpu/sgemm_avx512.h"
#include "tensor/cpu/transpose8.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <omp.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace iris::cpu {

namespace {

constexpr int MR = 6, NR = 16;
// KC x NR floats of B (24 KB) stay in L1 while the MC x KC block of A (144 KB) streams from L2.
// Measured on a Zen 3 core (1024^3, best of 7): KC 256 -> 72, 384 -> 80, 512 -> 75 GFLOP/s.
constexpr int64_t KC = 384, MC = 96, NC = 3072;

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

#if defined(__x86_64__)
// One full MR-row panel of a row-major A (unit column stride): 8 k-steps at a time, the 6 rows (and
// two zero rows) go through the 8 x 8 register transpose, and k-step j's 8 floats are stored at
// d + (k + j) * MR: each store's last two floats are overwritten by the next one, and the final
// store of a panel spills 2 floats past it (into the next panel, packed later, or the buffer's
// slack). The last kc % 8 steps go one by one.
__attribute__((target("avx2"))) void pack_a_panel_rowmajor_avx2(const float* src, int64_t rs, int64_t kc, float* d) {
  static_assert(MR == 6, "the overlapping stores assume 6-row panels");
  const __m256 zero = _mm256_setzero_ps();
  int64_t k = 0;
  for (; k + 8 <= kc; k += 8)
    transpose8_store(_mm256_loadu_ps(src + k), _mm256_loadu_ps(src + rs + k), _mm256_loadu_ps(src + 2 * rs + k),
                     _mm256_loadu_ps(src + 3 * rs + k), _mm256_loadu_ps(src + 4 * rs + k),
                     _mm256_loadu_ps(src + 5 * rs + k), zero, zero, d + k * MR, MR);
  for (; k < kc; ++k)
    for (int r = 0; r < MR; ++r) d[k * MR + r] = src[r * rs + k];
}
#endif

// A[i0 .. i0+mc, k0 .. k0+kc] into panels of MR rows: dst[(panel * kc + k) * MR + r], zero padded.
// Source memory is walked in its own order (a column-major A column by column, a row-major A row
// by row within each panel): a long K with the wrong walk made every panel a strided pass through
// memory, and the product 40% slower (64 x 256 x 6400 with A transposed).
void pack_a(const float* a, int64_t rs, int64_t cs, int64_t mc, int64_t kc, float* dst) {
  const int64_t full = mc / MR, tail = mc - full * MR;
  if (rs == 1) {  // column-major A: column k holds all mc rows contiguously
    for (int64_t k = 0; k < kc; ++k) {
      const float* col = a + k * cs;
      for (int64_t p = 0; p < full; ++p) std::memcpy(dst + (p * kc + k) * MR, col + p * MR, MR * sizeof(float));
      if (tail) {
        float* d = dst + (full * kc + k) * MR;
        std::memcpy(d, col + full * MR, tail * sizeof(float));
        std::memset(d + tail, 0, (MR - tail) * sizeof(float));
      }
    }
    return;
  }
  for (int64_t p = 0; p <= full; ++p) {
    const int rows = static_cast<int>(p < full ? MR : tail);
    if (rows == 0) break;
    const float* src = a + p * MR * rs;
    float* d = dst + p * kc * MR;
    if (rows == MR) {
#if defined(__x86_64__)
      if (cs == 1) {  // (scalar, this gather was ~8% of a [3200, 768] x [768, 192] product)
        pack_a_panel_rowmajor_avx2(src, rs, kc, d);
        continue;
      }
#endif
      for (int64_t k = 0; k < kc; ++k)
        for (int r = 0; r < MR; ++r) d[k * MR + r] = src[r * rs + k * cs];
    } else {
      for (int64_t k = 0; k < kc; ++k)
        for (int r = 0; r < MR; ++r) d[k * MR + r] = r < rows ? src[r * rs + k * cs] : 0.0f;
    }
  }
}

// sums[r] += sum over k < kc of A[r, k], for the mc rows of an A block; each block's part is summed
// in f32 (at most KC terms) and the parts in f64, as the column sums in reduce.cpp are.
void add_row_sums(const float* a, int64_t rs, int64_t cs, int64_t mc, int64_t kc, double* sums) {
  if (rs == 1) {  // column-major A (the dY^T of a weight gradient): column k is mc contiguous rows
    constexpr int64_t kChunk = 128;
    for (int64_t r0 = 0; r0 < mc; r0 += kChunk) {
      const int64_t n = std::min(kChunk, mc - r0);
      float part[kChunk] = {};
      for (int64_t k = 0; k < kc; ++k) {
        const float* col = a + k * cs + r0;
#pragma omp simd
        for (int64_t r = 0; r < n; ++r) part[r] += col[r];
      }
      for (int64_t r = 0; r < n; ++r) sums[r0 + r] += part[r];
    }
    return;
  }
  for (int64_t r = 0; r < mc; ++r) {
    const float* row = a + r * rs;
    float part = 0;
#pragma omp simd reduction(+ : part)
    for (int64_t k = 0; k < kc; ++k) part += row[k * cs];
    sums[r] += part;
  }
}

// Rows [k0, k1) of a row-major B block [kc, nc] into all its panels at once: each source row is
// read once, front to back (panel by panel it would be a 64-byte read every row stride).
void pack_b_rows(const float* b, int64_t rs, int64_t k0, int64_t k1, int64_t kc, int64_t nc, float* dst) {
  const int64_t full = nc / NR, tail = nc - full * NR;
  for (int64_t k = k0; k < k1; ++k) {
    const float* row = b + k * rs;
    for (int64_t q = 0; q < full; ++q) std::memcpy(dst + (q * kc + k) * NR, row + q * NR, NR * sizeof(float));
    if (tail) {
      float* d = dst + (full * kc + k) * NR;
      std::memcpy(d, row + full * NR, tail * sizeof(float));
      std::memset(d + tail, 0, (NR - tail) * sizeof(float));
    }
  }
}

#if defined(__x86_64__)
// The panel of a column-major B (rs == 1: column c is contiguous along k, as K^T in q k^T), cols
// of its NR columns present: 8 x 8 blocks transposed in registers, absent columns read as zero
// vectors (the score product's last panel: 50 keys leave 2 of 16); the last kc % 8 steps one by one.
__attribute__((target("avx2,fma"))) void pack_b_panel_colmajor_avx2(const float* b, int64_t cs, int64_t kc,
                                                                    int64_t cols, float* dst) {
  int64_t k = 0;
  const __m256 zero = _mm256_setzero_ps();
  for (; k + 8 <= kc; k += 8)
    for (int half = 0; half < 2; ++half) {
      const float* src = b + half * 8 * cs + k;
      const int64_t have = cols - half * 8;  // columns of this half that exist
#define IRIS_COL(c) ((c) < have ? _mm256_loadu_ps(src + (c) * cs) : zero)  // (a lambda would lose the target)
      transpose8_store(IRIS_COL(0), IRIS_COL(1), IRIS_COL(2), IRIS_COL(3), IRIS_COL(4), IRIS_COL(5), IRIS_COL(6),
                       IRIS_COL(7), dst + k * NR + half * 8, NR);
#undef IRIS_COL
    }
  for (; k < kc; ++k)
    for (int c = 0; c < NR; ++c) dst[k * NR + c] = c < cols ? b[k + c * cs] : 0.0f;
}
#endif

// Panel q of B[k0 .. k0+kc, j0 .. j0+nc]: dst[k * NR + c] for columns q*NR .. q*NR+NR, zero padded.
// (A row-major B never comes here: pack_b_rows packs all its panels row by row.)
void pack_b_panel(const float* b, int64_t rs, int64_t cs, int64_t kc, int64_t cols, float* dst) {
#if defined(__x86_64__)
  if (rs == 1) {
    pack_b_panel_colmajor_avx2(b, cs, kc, cols, dst);
    return;
  }
#endif
  for (int64_t k = 0; k < kc; ++k)
    for (int c = 0; c < NR; ++c) dst[k * NR + c] = c < cols ? b[k * rs + c * cs] : 0.0f;
}

#if defined(__x86_64__)

// C[0..m, 0..n] = alpha * (A tile x b panel) + beta * C (+ bias[0..n] on every row when bias is
// not null); 12 ymm accumulators hold the 6 x 16 tile. The A tile is a packed panel (RowMajorA
// false: element (r, k) at a[k * MR + r]) or read in place from a row-major A (element (r, k) at
// a[r * lda + k]; rows past m repeat row m - 1, whose results are never stored).
template <bool RowMajorA>
__attribute__((target("avx2,fma"))) void kernel_6x16_avx2(int64_t kc, const float* a, int64_t lda, const float* b,
                                                         float* c, int64_t ldc, float alpha, float beta, int m, int n,
                                                         const float* bias) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps(), c10 = _mm256_setzero_ps(),
         c11 = _mm256_setzero_ps(), c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps(),
         c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps(), c40 = _mm256_setzero_ps(),
         c41 = _mm256_setzero_ps(), c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  // The C tile is read or written only after the loop: start fetching its 6 rows now, so their
  // cache misses overlap the kc steps instead of stalling the stores (+15-25% at kc = 256).
  for (int r = 0; r < MR; ++r) {
    _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc + NR - 1), _MM_HINT_T0);
  }
  // Where A's element (r, k) is read from, for the two layouts.
  const int64_t step = RowMajorA ? 1 : MR;
  const float* a0 = a;
  const float* a1 = RowMajorA ? a + std::min(1, m - 1) * lda : a + 1;
  const float* a2 = RowMajorA ? a + std::min(2, m - 1) * lda : a + 2;
  const float* a3 = RowMajorA ? a + std::min(3, m - 1) * lda : a + 3;
  const float* a4 = RowMajorA ? a + std::min(4, m - 1) * lda : a + 4;
  const float* a5 = RowMajorA ? a + std::min(5, m - 1) * lda : a + 5;
  // Unrolled: the loop is front-end bound (12 FMAs need 6 broadcasts and 2 loads), so fewer
  // branch and pointer updates per FMA matter (+20% measured on a Zen core).
#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; ++k) {
    const int64_t o = k * step;
    const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
    __m256 ai = _mm256_broadcast_ss(a0 + o);
    c00 = _mm256_fmadd_ps(ai, b0, c00);
    c01 = _mm256_fmadd_ps(ai, b1, c01);
    ai = _mm256_broadcast_ss(a1 + o);
    c10 = _mm256_fmadd_ps(ai, b0, c10);
    c11 = _mm256_fmadd_ps(ai, b1, c11);
    ai = _mm256_broadcast_ss(a2 + o);
    c20 = _mm256_fmadd_ps(ai, b0, c20);
    c21 = _mm256_fmadd_ps(ai, b1, c21);
    ai = _mm256_broadcast_ss(a3 + o);
    c30 = _mm256_fmadd_ps(ai, b0, c30);
    c31 = _mm256_fmadd_ps(ai, b1, c31);
    ai = _mm256_broadcast_ss(a4 + o);
    c40 = _mm256_fmadd_ps(ai, b0, c40);
    c41 = _mm256_fmadd_ps(ai, b1, c41);
    ai = _mm256_broadcast_ss(a5 + o);
    c50 = _mm256_fmadd_ps(ai, b0, c50);
    c51 = _mm256_fmadd_ps(ai, b1, c51);
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
  // Edge tile: rows past m are skipped, columns past n masked off (masked loads never touch them).
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i mask_lo = _mm256_cmpgt_epi32(_mm256_set1_epi32(n), lane);
  const __m256i mask_hi = _mm256_cmpgt_epi32(_mm256_set1_epi32(n - 8), lane);
  const __m256 bias_lo = bias ? _mm256_maskload_ps(bias, mask_lo) : _mm256_setzero_ps();
  const __m256 bias_hi = bias ? _mm256_maskload_ps(bias + 8, mask_hi) : _mm256_setzero_ps();
  for (int i = 0; i < m; ++i) {
    float* row = c + i * ldc;
    __m256 lo = _mm256_fmadd_ps(_mm256_load_ps(tile[i]), va, bias_lo);
    __m256 hi = _mm256_fmadd_ps(_mm256_load_ps(tile[i] + 8), va, bias_hi);
    if (beta != 0.0f) {
      lo = _mm256_fmadd_ps(vb, _mm256_maskload_ps(row, mask_lo), lo);
      hi = _mm256_fmadd_ps(vb, _mm256_maskload_ps(row + 8, mask_hi), hi);
    }
    _mm256_maskstore_ps(row, mask_lo, lo);
    _mm256_maskstore_ps(row + 8, mask_hi, hi);
  }
}

#else

template <bool RowMajorA>
void kernel_6x16_avx2(int64_t, const float*, int64_t, const float*, float*, int64_t, float, float, int, int, const float*) {}

#endif

bool env_forces_eigen() {
  const char* e = std::getenv("IRIS_GEMM");
  return e && std::string(e) == "eigen";
}

}  // namespace

// The 12 x 32 AVX-512 tiles: asked for by IRIS_ISA=avx512 (or set_kernel_isa), or on an AVX-512
// kernel ISA where the CPU's 512-bit FMAs are measured to pay (once; sgemm_avx512.h says why).
static bool avx512_tiles_run() {
  if (kernel_isa() < Isa::avx512) return false;
  if (isa_forced()) return true;
  static const bool pays = avx512_fma_is_full_width();
  return pays;
}

// The micro-kernel is AVX2 + FMA; kernel_isa() is below avx2 on a CPU without them or under
// IRIS_ISA=scalar (isa.h), and then the caller uses Eigen.
bool packed_sgemm_available() {
  static const bool eigen_forced = env_forces_eigen();
  return kernel_isa() >= Isa::avx2 && !eigen_forced;
}

const char* packed_sgemm_isa() { return !packed_sgemm_available() ? "none" : avx512_tiles_run() ? "avx512" : "avx2"; }

namespace {

// The M rows in blocks of at most about MC: a multiple of the thread count of them, with edges on
// multiples of MR spread evenly (1024 rows on 2 threads: 12 blocks of 84..90 rows, 510 and 514 per
// thread; equal blocks of 90 would leave a 34-row sliver and one thread 56 rows ahead).
struct RowBlocks {
  int64_t M, count;
  int64_t begin(int64_t i) const { return i == count ? M : (M * i / count) / MR * MR; }
  // a bound on end - begin, rounded up to whole MR panels (pack_a pads the last panel)
  int64_t max_rows() const { return ((M + count - 1) / count + 2 * MR - 1) / MR * MR; }
};
RowBlocks row_blocks(int64_t M, int threads) {
  int64_t count = (M + MC - 1) / MC;
  if (threads > 1) count = (count + threads - 1) / threads * threads;
  count = std::max<int64_t>(1, std::min(count, (M + MR - 1) / MR));  // no empty blocks
  return {M, count};
}

// The blocked product of the K range [k_begin, k_end) on threads threads (a team of one runs it
// in the calling thread). beta and bias apply at the range's first K block only. row_sums (M
// doubles, or null) accumulates A's row sums over the range: each A block adds its part once, in
// the task of its first panel group and first column block (tasks of one K block are disjoint
// in rows, and the barrier orders one K block's additions before the next's).
void sgemm_blocked(int64_t M, int64_t N, int64_t k_begin, int64_t k_end, float alpha, const float* a, int64_t a_rs,
                   int64_t a_cs, const float* b, int64_t b_rs, int64_t b_cs, float beta, float* c, int64_t ldc,
                   int threads, const float* bias, AlignedBuffer& b_buffer, double* row_sums) {
  const int64_t K = k_end - k_begin;
  const RowBlocks rows = row_blocks(M, threads);
  const int64_t mblocks = rows.count, mc_max = rows.max_rows();
  const int64_t nc_max = std::min<int64_t>(NC, (N + NR - 1) / NR * NR);
  float* bp = b_buffer.get(static_cast<size_t>(std::min<int64_t>(KC, K) * nc_max));
  // With fewer row blocks than threads, the B panels are split between threads too.
  const int64_t panels_max = nc_max / NR;
  const int64_t groups = threads > mblocks ? std::min<int64_t>(panels_max, (threads + mblocks - 1) / mblocks) : 1;
  const int team = static_cast<int>(std::min<int64_t>(threads, mblocks * groups));
  // A row-major A with few B panels to serve is read in place: packing it would cost about as
  // much as the product (N = 64: each packed A element feeds only 4 micro-tiles).
  // (Measured, 2 threads: [6400, 256] x [256, 64] 72 -> 148 GFLOP/s.) With many panels packing
  // wins: a packed panel is contiguous, while rows of a wide A sit a page apart.
  const bool direct_a = a_cs == 1 && N <= 4 * NR;
  const bool wide = avx512_tiles_run();  // the 12 x 32 AVX-512 tiles (sgemm_avx512.h)
  // Thread tid of nth: packs its share of each B block, waits for the others, multiplies its share
  // of the (row block, panel group) tasks, and waits again before the B block is repacked. A team
  // of one runs it directly: the small products of the attention kernels (one per head, inside
  // their own parallel loop) pay no OpenMP region or barrier at all.
  auto body = [&](int tid, int nth) {
    thread_local AlignedBuffer a_buffer;
    // (+ 8: the vector packing of a row-major panel spills 2 floats past the last panel)
    float* ap = direct_a ? nullptr : a_buffer.get(static_cast<size_t>(mc_max * std::min<int64_t>(KC, K) + 8));
    const int64_t tasks = mblocks * groups;
    for (int64_t jc = 0; jc < N; jc += NC) {
      const int64_t nc = std::min<int64_t>(NC, N - jc);
      const int64_t panels = (nc + NR - 1) / NR;
      for (int64_t pc = k_begin; pc < k_end; pc += KC) {
        const int64_t kc = std::min<int64_t>(KC, k_end - pc);
        const float beta_here = pc == k_begin ? beta : 1.0f;      // later K blocks accumulate
        const float* bias_here = pc == k_begin ? bias : nullptr;  // the bias goes in once
        if (b_cs == 1)  // row-major B: the threads split the rows
          pack_b_rows(b + pc * b_rs + jc, b_rs, kc * tid / nth, kc * (tid + 1) / nth, kc, nc, bp);
        else  // the threads split the panels
          for (int64_t q = panels * tid / nth; q < panels * (tid + 1) / nth; ++q)
            pack_b_panel(b + pc * b_rs + (jc + q * NR) * b_cs, b_rs, b_cs, kc, std::min<int64_t>(NR, nc - q * NR),
                         bp + q * kc * NR);
        if (nth > 1) {
#pragma omp barrier
        }
        for (int64_t task = tasks * tid / nth; task < tasks * (tid + 1) / nth; ++task) {
          const int64_t ib = task / groups, g = task % groups;
          const int64_t ic = rows.begin(ib), mc = rows.begin(ib + 1) - ic;
          const float* a_block = a + ic * a_rs + pc * a_cs;
          if (!direct_a) pack_a(a_block, a_rs, a_cs, mc, kc, ap);
          if (row_sums && g == 0 && jc == 0) add_row_sums(a_block, a_rs, a_cs, mc, kc, row_sums + ic);
          const int64_t q0 = panels * g / groups, q1 = panels * (g + 1) / groups;
          int64_t q = q0;
          // AVX-512: pairs of full B panels in 12 x 32 tiles (two A panels at a time); the rows
          // left over and the panels left over go through the 6 x 16 kernel below.
          for (; wide && q + 2 <= q1 && (q + 2) * NR <= nc; q += 2) {
            const float* bq = bp + q * kc * NR;
            float* cq = c + ic * ldc + jc + q * NR;
            const float* bias_q = bias_here ? bias_here + jc + q * NR : nullptr;
            int64_t ir = 0;
            for (; ir + 2 * MR <= mc; ir += 2 * MR)
              kernel_12x32_avx512(direct_a, kc, direct_a ? a_block + ir * a_rs : ap + ir * kc, a_rs, bq,
                                  cq + ir * ldc, ldc, alpha, beta_here, bias_q);
            for (; ir < mc; ir += MR) {
              const int m = static_cast<int>(std::min<int64_t>(MR, mc - ir));
              for (int half = 0; half < 2; ++half) {
                const float* bh = bq + half * kc * NR;
                float* ch = cq + ir * ldc + half * NR;
                const float* biash = bias_q ? bias_q + half * NR : nullptr;
                if (direct_a)
                  kernel_6x16_avx2<true>(kc, a_block + ir * a_rs, a_rs, bh, ch, ldc, alpha, beta_here, m, NR, biash);
                else
                  kernel_6x16_avx2<false>(kc, ap + ir * kc, 0, bh, ch, ldc, alpha, beta_here, m, NR, biash);
              }
            }
          }
          for (; q < q1; ++q) {
            const int n = static_cast<int>(std::min<int64_t>(NR, nc - q * NR));
            const float* bq = bp + q * kc * NR;
            float* cq = c + ic * ldc + jc + q * NR;
            const float* bias_q = bias_here ? bias_here + jc + q * NR : nullptr;
            for (int64_t ir = 0; ir < mc; ir += MR) {
              const int m = static_cast<int>(std::min<int64_t>(MR, mc - ir));
              if (direct_a)
                kernel_6x16_avx2<true>(kc, a_block + ir * a_rs, a_rs, bq, cq + ir * ldc, ldc, alpha, beta_here, m, n,
                                       bias_q);
              else
                kernel_6x16_avx2<false>(kc, ap + ir * kc, 0, bq, cq + ir * ldc, ldc, alpha, beta_here, m, n, bias_q);
            }
          }
        }
        if (nth > 1) {
#pragma omp barrier
        }
      }
    }
  };
  if (team > 1) {
#pragma omp parallel num_threads(team)
    body(omp_get_thread_num(), omp_get_num_threads());
  } else {
    body(0, 1);
  }
}

}  // namespace

void packed_sgemm(int64_t M, int64_t N, int64_t K, float alpha, const float* a, int64_t a_rs, int64_t a_cs,
                  const float* b, int64_t b_rs, int64_t b_cs, float beta, float* c, int64_t ldc, int threads,
                  const float* bias, float* a_row_sums) {
  if (M <= 0) return;
  if (a_row_sums) std::fill(a_row_sums, a_row_sums + M, 0.0f);
  if (N <= 0) {  // no product to ride on: the sums alone
    if (a_row_sums)
      for (int64_t i = 0; i < M; ++i)
        for (int64_t k = 0; k < K; ++k) a_row_sums[i] += a[i * a_rs + k * a_cs];
    return;
  }
  if (K <= 0) {
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j)
        c[i * ldc + j] = (beta == 0.0f ? 0.0f : beta * c[i * ldc + j]) + (bias ? bias[j] : 0.0f);
    return;
  }
  // f64 accumulators of the row sums, one row of M per thread of a K split (reused between calls)
  // (a plain pointer: inside the parallel region the name of a thread_local is each thread's own)
  thread_local std::vector<double> sums_buffer;
  if (a_row_sums) sums_buffer.assign(static_cast<size_t>(M * threads), 0.0);
  double* const sums = a_row_sums ? sums_buffer.data() : nullptr;
  auto sums_of = [sums, M](int t) { return sums ? sums + t * M : nullptr; };
  auto write_sums = [&](int team) {
    if (!sums) return;
    for (int64_t i = 0; i < M; ++i) {
      double total = 0;
      for (int t = 0; t < team; ++t) total += sums[t * M + i];
      a_row_sums[i] = static_cast<float>(total);
    }
  };
  thread_local AlignedBuffer b_buffer;
  // A small C with a long K (weight gradients: [out, in] summed over every token) has too few tiles
  // to share: each thread instead takes a slice of K into its own C, and the slices are added up.
  if (threads > 1 && K >= 4 * KC * threads && K >= 4 * std::max(M, N)) {
    thread_local AlignedBuffer partial_buffer;
    float* partial = partial_buffer.get(static_cast<size_t>((threads - 1) * M * N));
#pragma omp parallel num_threads(threads)
    {
      const int t = omp_get_thread_num(), team = omp_get_num_threads();
      const int64_t k0 = K * t / team / KC * KC, k1 = t + 1 == team ? K : K * (t + 1) / team / KC * KC;
      thread_local AlignedBuffer slice_b_buffer;
      if (t == 0)
        sgemm_blocked(M, N, k0, k1, alpha, a, a_rs, a_cs, b, b_rs, b_cs, beta, c, ldc, 1, bias, slice_b_buffer,
                      sums_of(0));
      else
        sgemm_blocked(M, N, k0, k1, alpha, a, a_rs, a_cs, b, b_rs, b_cs, 0.0f, partial + (t - 1) * M * N, N, 1,
                      nullptr, slice_b_buffer, sums_of(t));
#pragma omp barrier
#pragma omp for schedule(static)
      for (int64_t i = 0; i < M; ++i)
        for (int u = 1; u < team; ++u) {
          const float* src = partial + ((u - 1) * M + i) * N;
          float* dst = c + i * ldc;
          for (int64_t j = 0; j < N; ++j) dst[j] += src[j];
        }
    }
    write_sums(threads);
    return;
  }
  sgemm_blocked(M, N, 0, K, alpha, a, a_rs, a_cs, b, b_rs, b_cs, beta, c, ldc, threads, bias, b_buffer, sums_of(0));
  write_sums(1);
}

}  // namespace iris::cpu
