// What every .cu file of the CUDA backend shares: error checks that throw iris::Error, launch
// sizes, dtype dispatch for device code, and StridedIndex, the device-side twin of the CPU's
// strided_loop (tensor/cpu/loops.h): K operands over one index space, each with its own strides.
// Leaves out: the kernels themselves (one .cu per family, see cuda_backend.h).
#pragma once

#include <array>
#include <cstdint>

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "cuda/cuda_backend.h"
#include "tensor/backend.h"
#include "tensor/error.h"

namespace iris::cuda {

#define IRIS_CUDA_CHECK(expr)                                                                        \
  do {                                                                                               \
    cudaError_t iris_err_ = (expr);                                                                  \
    if (iris_err_ != cudaSuccess)                                                                    \
      throw ::iris::Error(::iris::cat_str("CUDA error: ", cudaGetErrorString(iris_err_), " (", #expr, \
                                          ") at ", __FILE__, ":", __LINE__));                        \
  } while (0)

#define IRIS_CUBLAS_CHECK(expr)                                                                  \
  do {                                                                                           \
    cublasStatus_t iris_st_ = (expr);                                                            \
    if (iris_st_ != CUBLAS_STATUS_SUCCESS)                                                       \
      throw ::iris::Error(::iris::cat_str("cuBLAS error ", static_cast<int>(iris_st_), " (",     \
                                          cublasGetStatusString(iris_st_), ") in ", #expr, " at ", \
                                          __FILE__, ":", __LINE__));                             \
  } while (0)

// After every kernel launch: reports a bad launch configuration at once (not at the next sync).
#define IRIS_CUDA_LAUNCHED() IRIS_CUDA_CHECK(cudaGetLastError())

constexpr int kThreads = 256;
// Blocks for a grid-stride loop over n elements (capped; the loop covers the rest).
inline unsigned blocks_for(int64_t n, int threads = kThreads) {
  int64_t b = (n + threads - 1) / threads;
  if (b < 1) b = 1;
  if (b > 65535 * 8) b = 65535 * 8;
  return static_cast<unsigned>(b);
}

// Grid-stride loop: for (int64_t i : ...) in device code.
#define IRIS_KERNEL_LOOP(i, n)                                                              \
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); \
       i += static_cast<int64_t>(blockDim.x) * gridDim.x)

// ---- strided indexing ----------------------------------------------------------------------
// Built on the host from a shape and K stride vectors: size-1 dims dropped, dims contiguous for
// every operand merged (so contiguous tensors become one dim). Passed to kernels by value.
template <int K>
struct StridedIndex {
  int nd = 0;
  int64_t size[kMaxDims];
  int64_t stride[K][kMaxDims];
  int64_t numel = 1;

  // Element offsets of linear (row-major) index i for each operand.
  __host__ __device__ inline void offsets(int64_t i, int64_t (&off)[K]) const {
    for (int k = 0; k < K; ++k) off[k] = 0;
    for (int d = nd - 1; d >= 0; --d) {
      int64_t idx = i % size[d];
      i /= size[d];
      for (int k = 0; k < K; ++k) off[k] += idx * stride[k][d];
    }
  }
};

template <int K>
StridedIndex<K> make_strided_index(const Shape& shape, const std::array<Strides, K>& strides) {
  StridedIndex<K> s;
  for (int d = 0; d < shape.size(); ++d) {
    s.numel *= shape[d];
    if (shape[d] == 1) continue;
    bool merge = s.nd > 0;
    for (int k = 0; k < K && merge; ++k) merge = s.stride[k][s.nd - 1] == strides[k][d] * shape[d];
    if (merge) {
      s.size[s.nd - 1] *= shape[d];
      for (int k = 0; k < K; ++k) s.stride[k][s.nd - 1] = strides[k][d];
    } else {
      s.size[s.nd] = shape[d];
      for (int k = 0; k < K; ++k) s.stride[k][s.nd] = strides[k][d];
      ++s.nd;
    }
  }
  return s;
}

// ---- dtype dispatch for device code ----------------------------------------------------------
// Size classes of the two caching allocators (device memory in runtime.cu, pinned host memory in
// pinned.cu): 512 B multiples below 1 MiB, 2 MiB multiples above.
constexpr size_t kSmallQuantum = 512, kLargeQuantum = size_t(2) << 20, kLargeFrom = size_t(1) << 20;
inline size_t size_class(size_t nbytes) {
  if (nbytes == 0) return kSmallQuantum;
  if (nbytes < kLargeFrom) return (nbytes + kSmallQuantum - 1) / kSmallQuantum * kSmallQuantum;
  return (nbytes + kLargeQuantum - 1) / kLargeQuantum * kLargeQuantum;
}

// Same dtypes as the CPU's dispatch_all (tensor/dtype.h); bf16/f16 are storage-only for now.
// Usage: cuda_dispatch_all(dt, "op", [&](auto zero) { using T = decltype(zero); ... });
template <class F>
void cuda_dispatch_all(DType dt, const char* op, F&& f) {
  dispatch_all(dt, op, std::forward<F>(f));
}
template <class F>
void cuda_dispatch_float(DType dt, const char* op, F&& f) {
  dispatch_float(dt, op, std::forward<F>(f));
}

// Accumulator type: f32 math accumulates in f32 (as cuBLAS and PyTorch do), f64 in f64,
// integers in i64.
template <class T> struct Acc { using type = T; };
template <> struct Acc<int32_t> { using type = int64_t; };
template <> struct Acc<uint8_t> { using type = int64_t; };
template <> struct Acc<bool> { using type = int64_t; };

// Checks that every tensor is on a CUDA device (kernels never see host pointers).
inline void check_on_gpu(const char* op, std::initializer_list<const Tensor*> ts) {
  for (const Tensor* t : ts)
    if (t->defined())
      IRIS_CHECK(t->device().is_cuda(), op, ": expected a CUDA tensor, got one on ", t->device().str());
}

}  // namespace iris::cuda
