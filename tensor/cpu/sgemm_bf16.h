// The bf16 matrix product of autocast (--amp) on CPUs with AVX512_BF16: bf16 operands, f32
// accumulation and output, through vdpbf16ps (each f32 lane adds the products of two bf16 pairs per
// instruction, twice the multiply-adds of an f32 FMA of the same width). B is packed into panels of
// 32 columns holding k in pairs ([k/2][32 columns][2]), A into panels of 12 rows likewise, so a
// 12 x 32 tile of C is 24 zmm accumulators fed by two B loads and twelve 32-bit broadcasts per
// pair of k. Without AVX512_BF16 (or below the avx512 kernel ISA) the caller widens the operands
// to f32 and runs the f32 product, which gives the same products (bf16 x bf16 is exact in f32) but
// sums them in another order. vdpbf16ps flushes subnormal inputs and results to zero.
// Leaves out: fused row sums (the linear layer's bias gradient is summed separately under autocast).
#pragma once

#include <cstdint>

namespace iris::cpu {

// Whether the bf16 kernel runs here: kernel ISA avx512 (tensor/cpu/isa.h) and AVX512_BF16.
bool bf16_gemm_available();

// C = alpha * A B + beta * C (+ bias[0..N] on every row when bias is not null), A [M, K] of bf16
// bits at a[i * a_rs + k * a_cs], B [K, N] at b[k * b_rs + j * b_cs], C [M, N] f32 row-major with
// row stride ldc. beta == 0 never reads C. threads >= 1.
void packed_gemm_bf16(int64_t M, int64_t N, int64_t K, float alpha, const uint16_t* a, int64_t a_rs, int64_t a_cs,
                      const uint16_t* b, int64_t b_rs, int64_t b_cs, float beta, float* c, int64_t ldc, int threads,
                      const float* bias = nullptr);

}  // namespace iris::cpu
