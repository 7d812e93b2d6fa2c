// CUDA matrix products: CudaBackend::gemm through cuBLAS (f32, f64), with the optional bias of a
// linear layer written by one small broadcast kernel around the product. Each operand matrix is
// read in place as row- or column-major from its strides (tensor/gemm_layout.h, shared with the CPU
// twin tensor/cpu/gemm.cpp).
// Under autocast the operands are bf16 (cublasGemmEx, f32 output and compute).
// Leaves out TF32 (cuBLAS's default math mode is kept for f32) and f16 inputs.
//
// The row-major convention, written once for all of cuda/: cuBLAS is column-major. A row-major
// matrix X [R, C] with row stride ld is, read column-major with leading dimension ld, the matrix
// X^T [C, R]. So the row-major product C = A B [M, N] is computed as the column-major product
// C^T = B^T A^T [N, M]: the operands swap places and M and N swap roles (cuBLAS's m = N, n = M).
// A row-major operand is then passed as is (op N); a column-major one (unit row stride, i.e. a
// transposed view) is the column-major matrix itself, so cuBLAS transposes it (op T).
#include <algorithm>
#include <climits>

#include "cuda/common.cuh"
#include "tensor/gemm_layout.h"

namespace iris::cuda {

namespace {

// c [B*M*N] <- bias broadcast over rows (beta == 0 path, before the product adds into it).
template <class T>
__global__ void broadcast_bias_kernel(T* c, const T* bias, int64_t total, int64_t N) {
  IRIS_KERNEL_LOOP(i, total) { c[i] = bias[i % N]; }
}

// c <- (beta == 0 ? 0 : beta * c) + bias (bias optional): the empty-inner-dim product, and the
// bias added after a product with beta != 0 (scale = 1 there).
template <class T>
__global__ void scale_add_bias_kernel(T* c, const T* bias, int64_t total, int64_t N, T beta, bool overwrite) {
  IRIS_KERNEL_LOOP(i, total) {
    T v = overwrite ? T(0) : beta * c[i];
    if (bias) v += bias[i % N];
    c[i] = v;
  }
}

inline cublasStatus_t gemm_call(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                                const float* alpha, const float* A, int lda, long long sA, const float* B, int ldb,
                                long long sB, const float* beta, float* C, int ldc, long long sC, int batch) {
  if (batch == 1) return cublasSgemm(h, ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
  return cublasSgemmStridedBatched(h, ta, tb, m, n, k, alpha, A, lda, sA, B, ldb, sB, beta, C, ldc, sC, batch);
}
inline cublasStatus_t gemm_call(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                                const double* alpha, const double* A, int lda, long long sA, const double* B,
                                int ldb, long long sB, const double* beta, double* C, int ldc, long long sC,
                                int batch) {
  if (batch == 1) return cublasDgemm(h, ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
  return cublasDgemmStridedBatched(h, ta, tb, m, n, k, alpha, A, lda, sA, B, ldb, sB, beta, C, ldc, sC, batch);
}

// Autocast: bf16 operands, f32 output, f32 accumulation (cuBLAS's tensor cores on sm_80 and up).
inline cublasStatus_t gemm_call(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                                const float* alpha, const bf16_t* A, int lda, long long sA, const bf16_t* B, int ldb,
                                long long sB, const float* beta, float* C, int ldc, long long sC, int batch) {
  if (batch == 1)
    return cublasGemmEx(h, ta, tb, m, n, k, alpha, A, CUDA_R_16BF, lda, B, CUDA_R_16BF, ldb, beta, C, CUDA_R_32F, ldc,
                        CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
  return cublasGemmStridedBatchedEx(h, ta, tb, m, n, k, alpha, A, CUDA_R_16BF, lda, sA, B, CUDA_R_16BF, ldb, sB, beta, C,
                                    CUDA_R_32F, ldc, sC, batch, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
}

void check_fits_int(int64_t v, const char* what) {
  IRIS_CHECK(v >= 0 && v <= INT_MAX, "matmul: ", what, " = ", v,
             " exceeds cuBLAS's 32-bit limit; split the product into smaller pieces");
}

// a [B, M, K], b [B, K, N] (strided as described above), c [B, M, N] contiguous, bias [N] or null.
// TI: the operands' storage type (T itself, or bf16_t under autocast with T = float).
template <class T, class TI = T>
void gemm_typed(const Tensor& a, const Tensor& b, const Tensor& c, double alpha_d, double beta_d, const Tensor& bias_t) {
  const GemmProblem g = gemm_problem(a, b);
  const int64_t batch = g.batch, M = g.M, K = g.K, N = g.N;
  if (batch == 0 || M == 0 || N == 0) return;
  const T alpha = static_cast<T>(alpha_d);
  T beta = static_cast<T>(beta_d);
  T* cp = c.data<T>();
  const T* bias = bias_t.defined() ? bias_t.data<T>() : nullptr;
  const int64_t total = batch * M * N;
  cudaStream_t s = stream();
  if (K == 0) {  // empty inner dim: C = beta * C (+ bias)
    scale_add_bias_kernel<T><<<blocks_for(total), kThreads, 0, s>>>(cp, bias, total, N, beta, beta == T(0));
    IRIS_CUDA_LAUNCHED();
    return;
  }
  const GemmLayout la = g.layout_a(), lb = g.layout_b();
  check_fits_int(M, "M");
  check_fits_int(N, "N");
  check_fits_int(K, "K");
  check_fits_int(la.ld, "the leading dimension of a");
  check_fits_int(lb.ld, "the leading dimension of b");

  bool bias_after = false;
  if (bias) {
    if (beta == T(0)) {  // C <- bias, then C = alpha A B + 1 * C
      broadcast_bias_kernel<T><<<blocks_for(total), kThreads, 0, s>>>(cp, bias, total, N);
      IRIS_CUDA_LAUNCHED();
      beta = T(1);
    } else {
      bias_after = true;
    }
  }

  // Column-major C^T [N, M] = B^T [N, K] * A^T [K, M] (see the convention at the top).
  const cublasOperation_t op_b = lb.row_major ? CUBLAS_OP_N : CUBLAS_OP_T;
  const cublasOperation_t op_a = la.row_major ? CUBLAS_OP_N : CUBLAS_OP_T;
  const TI* ap = static_cast<const TI*>(a.raw_data());  // dtypes checked by CudaBackend::gemm
  const TI* bp = static_cast<const TI*>(b.raw_data());
  const int64_t sa = g.batch_stride_a, sb = g.batch_stride_b, sc = M * N;
  cublasHandle_t h = cublas();
  // cuBLAS takes the batch count as an int; very large batches go in slices.
  const int64_t max_slice = 65535;
  for (int64_t b0 = 0; b0 < batch; b0 += max_slice) {
    const int slice = static_cast<int>(std::min<int64_t>(max_slice, batch - b0));
    IRIS_CUBLAS_CHECK(gemm_call(h, op_b, op_a, static_cast<int>(N), static_cast<int>(M), static_cast<int>(K), &alpha,
                                bp + b0 * sb, static_cast<int>(lb.ld), sb, ap + b0 * sa, static_cast<int>(la.ld), sa,
                                &beta, cp + b0 * sc, static_cast<int>(N), sc, slice));
  }
  if (bias_after) {
    scale_add_bias_kernel<T><<<blocks_for(total), kThreads, 0, s>>>(cp, bias, total, N, T(1), false);
    IRIS_CUDA_LAUNCHED();
  }
}

}  // namespace

void CudaBackend::gemm(const Tensor& a, const Tensor& b, const Tensor& c, double alpha, double beta, const Tensor& bias) {
  IRIS_ASSERT(a.dim() == 3 && b.dim() == 3 && c.dim() == 3 && c.is_contiguous());
  IRIS_ASSERT(!bias.defined() || (bias.is_contiguous() && bias.numel() == c.shape()[2] && bias.dtype() == c.dtype()));
  check_on_gpu("matmul", {&a, &b, &c, &bias});
  if (a.dtype() == DType::bf16) {  // autocast
    IRIS_ASSERT(b.dtype() == DType::bf16 && c.dtype() == DType::f32);
    return gemm_typed<float, bf16_t>(a, b, c, alpha, beta, bias);
  }
  IRIS_ASSERT(a.dtype() == c.dtype() && b.dtype() == c.dtype());
  cuda_dispatch_float(c.dtype(), "matmul", [&](auto z) { gemm_typed<decltype(z)>(a, b, c, alpha, beta, bias); });
}

}  // namespace iris::cuda
