// The AVX-512 micro-kernel of the packed SGEMM (sgemm.cpp calls it; sgemm_avx512.cpp holds it, the
// only code compiled for AVX-512 there, through a target attribute, so a portable build keeps it).
// One call computes a full 12 x 32 tile of C from two consecutive packed A panels (6 rows each,
// element (r, k) at a[k * 6 + r], the second panel at a + kc * 6) or 12 rows of a row-major A read in
// place (element (r, k) at a[r * lda + k]), and two consecutive packed B panels (16 columns each,
// element (k, c) at b[k * 16 + c], the second at b + kc * 16): 24 zmm accumulators, two B loads and
// twelve broadcasts per k step, against the AVX2 kernel's 12 ymm accumulators for a 6 x 16 tile.
// Edge tiles (fewer than 12 rows or 32 columns left) stay with the AVX2 kernel. Both kernels add
// the same products in the same order, so the results are bit for bit the same either way.
// It pays only where a 512-bit FMA does twice a 256-bit one's work: on a CPU that splits it into two
// 256-bit halves (AMD Zen 4) it measured slower (1024^3, one thread: 98.6 vs 103.2 GFLOP/s), so it
// runs where IRIS_ISA=avx512 asks for it or avx512_fma_is_full_width() measures that it pays.
// Leaves out masked edge tiles.
#pragma once

#include <cstdint>

namespace iris::cpu {

// C[0..12, 0..32] = alpha * (A tile x B panels) + beta * C (+ bias[0..32] on every row when bias
// is not null). beta == 0 never reads C.
// Measures (about 1 ms, this thread's CPU time) whether 512-bit FMAs run at least 1.5x the flops of
// 256-bit ones on this CPU. Needs AVX-512F (callers check kernel_isa() first).
bool avx512_fma_is_full_width();

void kernel_12x32_avx512(bool row_major_a, int64_t kc, const float* a, int64_t lda, const float* b, float* c,
                         int64_t ldc, float alpha, float beta, const float* bias);

}  // namespace iris::cpu
