// CUDA indexing kernels, twins of tensor/cpu/index.cpp: index_select / index_add (whole slices
// picked by a 1-D index along one dim) and gather / scatter_add (one index per element).
// Every index is range-checked on the host (a copy of the index tensor) before any kernel runs, so
// a bad index is an iris::Error with the CPU's message, never a device-side fault; correctness is
// put before speed here (the check costs one device-to-host copy and a sync).
// Accumulating kernels use atomics: duplicates add up in an unspecified order, so f32/f64 sums may
// differ from the CPU's in the last bits; integer results are exact. Leaves out negative indices
// (rejected, as on the CPU) and autograd (autograd/shape.cpp).
#include <cstdint>
#include <type_traits>
#include <vector>

#include "cuda/common.cuh"
#include "tensor/index_checks.h"

namespace iris::cuda {

namespace {

// Throws naming `op` unless index is i32/i64 and every element lies in [0, size). Reads a host
// copy of the index (any strides, any device).
void check_index_range(const char* op, const Tensor& index, int dim, int64_t size) {
  dispatch_index(index.dtype(), op, [](auto) {});
  if (index.numel() == 0) return;
  const std::vector<int64_t> values = index.to_vector<int64_t>();
  for (int64_t v : values)
    check_index_in_range(op, v, dim, size);
}

// ---- atomic accumulation, one overload per dtype of dispatch_all -------------------------------
__device__ inline void atomic_add(float* p, float v) { atomicAdd(p, v); }
__device__ inline void atomic_add(double* p, double v) { atomicAdd(p, v); }
__device__ inline void atomic_add(int32_t* p, int32_t v) { atomicAdd(reinterpret_cast<int*>(p), static_cast<int>(v)); }
__device__ inline void atomic_add(int64_t* p, int64_t v) {
  // Two's-complement addition is the same on unsigned bits (wraps as the CPU's does in practice).
  atomicAdd(reinterpret_cast<unsigned long long*>(p), static_cast<unsigned long long>(v));
}
// Bytes: compare-and-swap on the aligned 32-bit word that holds the byte.
__device__ inline void atomic_add(uint8_t* p, uint8_t v) {
  const uintptr_t addr = reinterpret_cast<uintptr_t>(p);
  unsigned int* word = reinterpret_cast<unsigned int*>(addr & ~uintptr_t(3));
  const unsigned int shift = static_cast<unsigned int>(addr & 3) * 8u;
  unsigned int old = *word, assumed;
  do {
    assumed = old;
    const unsigned int sum = (((assumed >> shift) & 0xffu) + v) & 0xffu;
    old = atomicCAS(word, assumed, (assumed & ~(0xffu << shift)) | (sum << shift));
  } while (old != assumed);
}
// bool accumulates as logical or (the CPU's add_into): set the byte to 1 when v is true.
__device__ inline void atomic_add(bool* p, bool v) {
  if (!v) return;
  const uintptr_t addr = reinterpret_cast<uintptr_t>(p);
  unsigned int* word = reinterpret_cast<unsigned int*>(addr & ~uintptr_t(3));
  atomicOr(word, 1u << (static_cast<unsigned int>(addr & 3) * 8u));
}

// ---- kernels ----------------------------------------------------------------------------------

// out [outer, n_idx, inner] <- x [outer, n_x, inner] at rows index[j] (index stride idx_stride).
template <class B, class I>
__global__ void index_select_kernel(const B* x, const I* index, int64_t idx_stride, int64_t n_x, int64_t n_idx,
                                    int64_t inner, B* out, int64_t total) {
  IRIS_KERNEL_LOOP(t, total) {
    const int64_t c = t % inner, j = (t / inner) % n_idx, o = t / (inner * n_idx);
    const int64_t row = static_cast<int64_t>(index[j * idx_stride]);
    if (row < 0 || row >= n_x) continue;  // excluded by the host check
    out[t] = x[(o * n_x + row) * inner + c];
  }
}

// target [outer, n_t, inner] at rows index[j] += src [outer, n_idx, inner].
template <class T, class I>
__global__ void index_add_kernel(T* target, const I* index, int64_t idx_stride, int64_t n_t, int64_t n_idx,
                                 int64_t inner, const T* src, int64_t total) {
  IRIS_KERNEL_LOOP(t, total) {
    const int64_t c = t % inner, j = (t / inner) % n_idx, o = t / (inner * n_idx);
    const int64_t row = static_cast<int64_t>(index[j * idx_stride]);
    if (row < 0 || row >= n_t) continue;  // excluded by the host check
    atomic_add(target + (o * n_t + row) * inner + c, src[t]);
  }
}

// Over out's shape: out = x at (the same position, with dim replaced by the index value).
// Operands of si: 0 out, 1 index, 2 x with its dim stride zeroed.
template <class B, class I>
__global__ void gather_kernel(const B* x, const I* index, B* out, StridedIndex<3> si, int64_t x_dim_stride,
                              int64_t n_x) {
  IRIS_KERNEL_LOOP(i, si.numel) {
    int64_t off[3];
    si.offsets(i, off);
    const int64_t row = static_cast<int64_t>(index[off[1]]);
    if (row < 0 || row >= n_x) continue;  // excluded by the host check
    out[off[0]] = x[off[2] + row * x_dim_stride];
  }
}

// Over index's shape: target at (the same position, dim replaced by the index value) += src.
// Operands of si: 0 target with its dim stride zeroed, 1 index, 2 src.
template <class T, class I>
__global__ void scatter_add_kernel(T* target, const I* index, const T* src, StridedIndex<3> si,
                                   int64_t t_dim_stride, int64_t n_t) {
  IRIS_KERNEL_LOOP(i, si.numel) {
    int64_t off[3];
    si.offsets(i, off);
    const int64_t row = static_cast<int64_t>(index[off[1]]);
    if (row < 0 || row >= n_t) continue;  // excluded by the host check
    atomic_add(target + off[0] + row * t_dim_stride, src[off[2]]);
  }
}

}  // namespace

void CudaBackend::index_select(const Tensor& x, int dim, const Tensor& index, const Tensor& out) {
  IRIS_ASSERT(x.dim() >= 1 && x.dim() == out.dim() && x.dtype() == out.dtype());
  IRIS_ASSERT(x.is_contiguous() && out.is_contiguous() && index.dim() <= 1);
  check_on_gpu("index_select", {&x, &index, &out});
  const int64_t n_x = x.shape()[dim];
  check_index_range("index_select", index, dim, n_x);
  const int64_t n_idx = index.numel();
  IRIS_ASSERT(out.shape()[dim] == n_idx);
  const Slab g = slab_of(x.shape(), dim);
  const int64_t total = out.numel();
  if (total == 0) return;
  const int64_t idx_stride = index.dim() == 0 ? 0 : index.strides()[0];
  dispatch_bits(x.dtype(), [&](auto bits) {
    using B = decltype(bits);
    dispatch_index(index.dtype(), "index_select", [&](auto izero) {
      using I = decltype(izero);
      index_select_kernel<B, I><<<blocks_for(total), kThreads, 0, stream()>>>(
          static_cast<const B*>(x.raw_data()), index.data<I>(), idx_stride, n_x, n_idx, g.inner,
          static_cast<B*>(out.raw_data()), total);
      IRIS_CUDA_LAUNCHED();
    });
  });
}

void CudaBackend::index_add(const Tensor& target, int dim, const Tensor& index, const Tensor& src) {
  IRIS_ASSERT(target.dim() >= 1 && target.dim() == src.dim() && target.dtype() == src.dtype());
  IRIS_ASSERT(target.is_contiguous() && src.is_contiguous() && index.dim() <= 1);
  check_on_gpu("index_add", {&target, &index, &src});
  const int64_t n_t = target.shape()[dim];
  check_index_range("index_add", index, dim, n_t);
  const int64_t n_idx = index.numel();
  IRIS_ASSERT(src.shape()[dim] == n_idx);
  const Slab g = slab_of(target.shape(), dim);
  const int64_t idx_stride = index.dim() == 0 ? 0 : index.strides()[0];
  const int64_t total = src.numel();
  if (total == 0) return;
  cuda_dispatch_all(target.dtype(), "index_add", [&](auto zero) {
    using T = decltype(zero);
    dispatch_index(index.dtype(), "index_add", [&](auto izero) {
      using I = decltype(izero);
      index_add_kernel<T, I><<<blocks_for(total), kThreads, 0, stream()>>>(
          target.data<T>(), index.data<I>(), idx_stride, n_t, n_idx, g.inner, src.data<T>(), total);
      IRIS_CUDA_LAUNCHED();
    });
  });
}

void CudaBackend::gather(const Tensor& x, int dim, const Tensor& index, const Tensor& out) {
  IRIS_ASSERT(x.dim() >= 1 && x.dim() == index.dim() && index.shape() == out.shape());
  IRIS_ASSERT(x.dtype() == out.dtype());
  check_on_gpu("gather", {&x, &index, &out});
  const int64_t n_x = x.shape()[dim];
  check_index_range("gather", index, dim, n_x);
  if (out.numel() == 0) return;
  Strides x_strides = x.strides();
  const int64_t x_dim_stride = x_strides[dim];
  x_strides[dim] = 0;  // the index supplies the position along dim
  const StridedIndex<3> si = make_strided_index<3>(out.shape(), {out.strides(), index.strides(), x_strides});
  dispatch_bits(x.dtype(), [&](auto bits) {
    using B = decltype(bits);
    dispatch_index(index.dtype(), "gather", [&](auto izero) {
      using I = decltype(izero);
      gather_kernel<B, I><<<blocks_for(si.numel), kThreads, 0, stream()>>>(
          static_cast<const B*>(x.raw_data()), index.data<I>(), static_cast<B*>(out.raw_data()), si, x_dim_stride,
          n_x);
      IRIS_CUDA_LAUNCHED();
    });
  });
}

void CudaBackend::scatter_add(const Tensor& target, int dim, const Tensor& index, const Tensor& src) {
  IRIS_ASSERT(target.dim() >= 1 && target.dim() == index.dim() && index.dim() == src.dim());
  IRIS_ASSERT(target.dtype() == src.dtype());
  check_on_gpu("scatter_add", {&target, &index, &src});
  const int64_t n_t = target.shape()[dim];
  check_index_range("scatter_add", index, dim, n_t);
  if (index.numel() == 0) return;
  cuda_dispatch_all(target.dtype(), "scatter_add", [&](auto zero) {
    using T = decltype(zero);
    Strides t_strides = target.strides();
    const int64_t t_dim_stride = t_strides[dim];
    t_strides[dim] = 0;  // the index supplies the position along dim
    const StridedIndex<3> si = make_strided_index<3>(index.shape(), {t_strides, index.strides(), src.strides()});
    dispatch_index(index.dtype(), "scatter_add", [&](auto izero) {
      using I = decltype(izero);
      scatter_add_kernel<T, I><<<blocks_for(si.numel), kThreads, 0, stream()>>>(
          target.data<T>(), index.data<I>(), src.data<T>(), si, t_dim_stride, n_t);
      IRIS_CUDA_LAUNCHED();
    });
  });
}

}  // namespace iris::cuda
