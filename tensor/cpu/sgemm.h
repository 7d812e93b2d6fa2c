// Our own f32 matrix product for x86 CPUs, BLIS-style: B is packed into panels NR columns wide, A
// into panels MR rows tall, both cut into cache-sized blocks (KC x NC of B for L3, MC x KC of A for
// L2), and a register-blocked micro-kernel computes each MR x NR tile of C from two packed panels.
// Operands are read through (row stride, column stride), so a transposed operand is just other
// strides, never a copy. The micro-kernel is chosen at run time (tensor/cpu/isa.h: the CPU's flags,
// or IRIS_ISA); without AVX2 + FMA the caller falls back to Eigen (tensor/cpu/gemm.cpp), which is
// also the test oracle.
// On an AVX-512 kernel ISA the full 12 x 32 tiles run an AVX-512 micro-kernel (sgemm_avx512.h) on the
// same packed panels; edges stay AVX2. Leaves out: f64.
// Measured (2-core Zen 3, AVX2, `make bench-compare`): see the README's CPU speed table.
#pragma once

#include <cstdint>

namespace iris::cpu {

// Whether packed_sgemm has a micro-kernel for the kernel ISA (isa.h) and IRIS_GEMM is not "eigen".
bool packed_sgemm_available();
const char* packed_sgemm_isa();  // the micro-kernel that runs: "avx512" (12 x 32 tiles), "avx2" or "none"

// C = alpha * A B + beta * C for A [M, K] at a[i * a_rs + k * a_cs], B [K, N] at b[k * b_rs + j * b_cs],
// C [M, N] row-major with row stride ldc. beta == 0 never reads C. bias (N floats, or null) is
// added to every row. threads >= 1. a_row_sums (M floats, or null) receives sum_k A[i, k] (not
// times alpha), taken from each A block while the product has it in cache: with A = dY^T that is a
// linear layer's bias gradient, which otherwise costs its own pass over dY through memory.
void packed_sgemm(int64_t M, int64_t N, int64_t K, float alpha, const float* a, int64_t a_rs, int64_t a_cs,
                  const float* b, int64_t b_rs, int64_t b_cs, float beta, float* c, int64_t ldc, int threads,
                  const float* bias = nullptr, float* a_row_sums = nullptr);

}  // namespace iris::cpu
