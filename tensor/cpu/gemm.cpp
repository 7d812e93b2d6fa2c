// CPU matrix products: f32 through our packed GEMM (sgemm.cpp) when the CPU has its micro-kernel,
// autocast's bf16 operands through the AVX512_BF16 kernel (sgemm_bf16.cpp) or widened to f32,
// everything else (f64, other CPUs, IRIS_GEMM=eigen) through Eigen -- the only Eigen-heavy compile
// unit of the engine. Each operand matrix is read in place as row- or column-major from its
// strides, so a transposed operand costs nothing. Batches of small products are spread over
// threads (each product then runs on one); a single large product uses all threads itself.
#include <Eigen/Core>
#include <type_traits>

#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/loops.h"
#include "tensor/cpu/sgemm.h"
#include "tensor/cpu/sgemm_bf16.h"
#include "tensor/gemm_layout.h"

namespace iris::cpu {

namespace {

template <class T, int Order>
using MatMap = Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Order>, 0, Eigen::OuterStride<>>;
template <class T>
using OutMap = Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;

// Threads for one product of flops multiply-adds: all of them past 2^18 (below, the team costs more).
int product_threads(int64_t flops) { return flops < (int64_t(1) << 18) ? 1 : num_threads(); }

template <class T, int OA, int OB>
void gemm_one(const T* a, GemmLayout la, const T* b, GemmLayout lb, T* c, int64_t M, int64_t N, int64_t K, T alpha,
              T beta, const T* bias) {
  MatMap<T, OA> A(a, M, K, Eigen::OuterStride<>(la.ld));
  MatMap<T, OB> B(b, K, N, Eigen::OuterStride<>(lb.ld));
  OutMap<T> C(c, M, N);
  if (beta == T(0)) C.noalias() = alpha * (A * B);
  else C = beta * C + alpha * (A * B);
  if (bias) C.rowwise() += Eigen::Map<const Eigen::Matrix<T, 1, Eigen::Dynamic>>(bias, N);
}

template <class T>
void gemm_typed(const Tensor& a, const Tensor& b, const Tensor& c, double alpha_d, double beta_d, const Tensor& bias_t) {
  const GemmProblem g = gemm_problem(a, b);
  const int64_t batch = g.batch, M = g.M, K = g.K, N = g.N;
  if (M == 0 || N == 0) return;
  const T alpha = static_cast<T>(alpha_d), beta = static_cast<T>(beta_d);
  T* cp = c.data<T>();
  const T* bias = bias_t.defined() ? bias_t.data<T>() : nullptr;
  if (K == 0) {  // empty inner dim: C = beta * C (+ bias)
    for (int64_t i = 0; i < batch * M * N; ++i) cp[i] = (beta == T(0) ? T(0) : beta * cp[i]) + (bias ? bias[i % N] : T(0));
    return;
  }
  const GemmLayout la = g.layout_a(), lb = g.layout_b();
  const T* ap = a.data<T>();
  const T* bp = b.data<T>();
  const int64_t sa = g.batch_stride_a, sb = g.batch_stride_b;

  const bool packed = std::is_same_v<T, float> && packed_sgemm_available();
  const RowColStrides ra = row_col_strides(la), rb = row_col_strides(lb);  // for the packed path
  auto run = [&](int64_t i, int threads) {
    const T* ai = ap + i * sa;
    const T* bi = bp + i * sb;
    T* ci = cp + i * M * N;
    if constexpr (std::is_same_v<T, float>) {
      if (packed) {
        packed_sgemm(M, N, K, alpha, ai, ra.rs, ra.cs, bi, rb.rs, rb.cs, beta, ci, N, threads, bias);
        return;
      }
    }
    if (la.row_major && lb.row_major) gemm_one<T, Eigen::RowMajor, Eigen::RowMajor>(ai, la, bi, lb, ci, M, N, K, alpha, beta, bias);
    else if (la.row_major) gemm_one<T, Eigen::RowMajor, Eigen::ColMajor>(ai, la, bi, lb, ci, M, N, K, alpha, beta, bias);
    else if (lb.row_major) gemm_one<T, Eigen::ColMajor, Eigen::RowMajor>(ai, la, bi, lb, ci, M, N, K, alpha, beta, bias);
    else gemm_one<T, Eigen::ColMajor, Eigen::ColMajor>(ai, la, bi, lb, ci, M, N, K, alpha, beta, bias);
  };

  const int64_t flops = M * N * K;
  if (batch > 1 && flops < (int64_t(1) << 21)) {
    Eigen::setNbThreads(1);
    parallel_for(batch, flops / 16 + 1, [&](int64_t b0, int64_t b1) {
      for (int64_t i = b0; i < b1; ++i) run(i, 1);
    });
  } else {
    const int threads = product_threads(flops);
    Eigen::setNbThreads(threads);
    for (int64_t i = 0; i < batch; ++i) run(i, threads);
  }
}

// Autocast's bf16 x bf16 -> f32 product on the AVX512_BF16 kernel (sgemm_bf16.h); batches as above.
void gemm_bf16(const Tensor& a, const Tensor& b, const Tensor& c, double alpha, double beta, const Tensor& bias_t) {
  const GemmProblem g = gemm_problem(a, b);
  const int64_t batch = g.batch, M = g.M, K = g.K, N = g.N;
  if (M == 0 || N == 0) return;
  const RowColStrides ra = row_col_strides(g.layout_a()), rb = row_col_strides(g.layout_b());
  const uint16_t* ap = static_cast<const uint16_t*>(a.raw_data());
  const uint16_t* bp = static_cast<const uint16_t*>(b.raw_data());
  float* cp = c.data<float>();
  const float* bias = bias_t.defined() ? bias_t.data<float>() : nullptr;
  auto run = [&](int64_t i, int threads) {
    packed_gemm_bf16(M, N, K, static_cast<float>(alpha), ap + i * g.batch_stride_a, ra.rs, ra.cs, bp + i * g.batch_stride_b,
                     rb.rs, rb.cs, static_cast<float>(beta), cp + i * M * N, N, threads, bias);
  };
  const int64_t flops = M * N * K;
  if (batch > 1 && flops < (int64_t(1) << 21)) {
    parallel_for(batch, flops / 16 + 1, [&](int64_t b0, int64_t b1) {
      for (int64_t i = b0; i < b1; ++i) run(i, 1);
    });
  } else {
    for (int64_t i = 0; i < batch; ++i) run(i, product_threads(flops));
  }
}

}  // namespace

void CpuBackend::gemm(const Tensor& a, const Tensor& b, const Tensor& c, double alpha, double beta, const Tensor& bias) {
  IRIS_ASSERT(a.dim() == 3 && b.dim() == 3 && c.dim() == 3 && c.is_contiguous());
  IRIS_ASSERT(!bias.defined() || (bias.is_contiguous() && bias.numel() == c.shape()[2] && bias.dtype() == c.dtype()));
  if (a.dtype() == DType::bf16) {  // autocast: bf16 operands, f32 product
    IRIS_ASSERT(b.dtype() == DType::bf16 && c.dtype() == DType::f32);
    if (bf16_gemm_available()) return gemm_bf16(a, b, c, alpha, beta, bias);
    return gemm(widened_bf16(*this, a), widened_bf16(*this, b), c, alpha, beta, bias);  // same products
  }
  IRIS_ASSERT(a.dtype() == c.dtype() && b.dtype() == c.dtype());
  dispatch_float(c.dtype(), "matmul", [&](auto z) { gemm_typed<decltype(z)>(a, b, c, alpha, beta, bias); });
}

// The CPU's optional kernels (answered here, beside the one whose answer depends on the CPU):
// gemm_row_sums in f32 on the packed path only (the row sums ride on its A blocks; f64 and Eigen
// decline); attention reads views, and channels-last depthwise exists, for every floating dtype the
// ops hand them (the kernels themselves reject the dtypes they lack, as every CPU kernel does).
bool CpuBackend::supports(Kernel k, DType dt) const {
  switch (k) {
    case Kernel::gemm_row_sums: return dt == DType::f32 && packed_sgemm_available();
    case Kernel::attention_views: return is_floating(dt);
    case Kernel::depthwise_conv2d_nhwc: return is_floating(dt);
  }
  return false;
}

bool CpuBackend::gemm_row_sums(const Tensor& a, const Tensor& b, const Tensor& c, const Tensor& sums) {
  IRIS_ASSERT(a.dim() == 3 && b.dim() == 3 && c.dim() == 3 && c.is_contiguous() && sums.is_contiguous());
  if (!supports(Kernel::gemm_row_sums, c.dtype()) || a.shape()[0] != 1) return false;
  const GemmProblem g = gemm_problem(a, b);
  const int64_t M = g.M, K = g.K, N = g.N;
  IRIS_ASSERT(sums.numel() == M && sums.dtype() == DType::f32);
  const RowColStrides ra = row_col_strides(g.layout_a()), rb = row_col_strides(g.layout_b());
  packed_sgemm(M, N, K, 1.0f, a.data<float>(), ra.rs, ra.cs, b.data<float>(), rb.rs, rb.cs, 0.0f, c.data<float>(), N,
               product_threads(M * N * K), nullptr, sums.data<float>());
  return true;
}

}  // namespace iris::cpu
