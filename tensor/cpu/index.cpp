// CPU indexing kernels: index_select / index_add (whole slices picked by a 1-D index along one dim)
// and gather / scatter_add (one index per element). Every index is checked against its range
// before anything is written. Leaves out negative indices (rejected, as PyTorch does) and
// autograd (see autograd/shape.cpp).
//
// Threads never collide on an output element: index_add splits the work over the outer positions
// and column blocks of the target (each thread walks all indices for its own columns), scatter_add
// over the positions of every dim except `dim` (each thread owns whole target columns along dim).
#include <algorithm>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/loops.h"
#include "tensor/index_checks.h"

namespace iris::cpu {

namespace {

constexpr int64_t kSerial = std::numeric_limits<int64_t>::max();  // a grain no loop reaches

// Throws naming `op` unless every element of `index` (any strides) lies in [0, size).
void check_index_range(const char* op, const Tensor& index, int dim, int64_t size) {
  dispatch_index(index.dtype(), op, [&](auto zero) {
    using I = decltype(zero);
    const I* ip = index.data<I>();
    strided_loop<1>(index.shape(), {index.strides()}, [&](int64_t n, Offsets<1> o, Offsets<1> st) {
      for (int64_t i = 0; i < n; ++i) {
        int64_t v = static_cast<int64_t>(ip[o[0] + i * st[0]]);
        check_index_in_range(op, v, dim, size);
      }
    }, kSerial);
  });
}

// The values of a 0-d or 1-d index tensor as int64, checked against [0, size).
std::vector<int64_t> read_index_1d(const char* op, const Tensor& index, int dim, int64_t size) {
  IRIS_ASSERT(index.dim() <= 1);
  check_index_range(op, index, dim, size);
  std::vector<int64_t> rows(static_cast<size_t>(index.numel()));
  dispatch_index(index.dtype(), op, [&](auto zero) {
    using I = decltype(zero);
    const I* ip = index.data<I>();
    int64_t st = index.dim() == 0 ? 0 : index.strides()[0];
    for (size_t j = 0; j < rows.size(); ++j) rows[j] = static_cast<int64_t>(ip[static_cast<int64_t>(j) * st]);
  });
  return rows;
}

template <class T>
inline void add_into(T& dst, T src) {
  if constexpr (std::is_same_v<T, bool>) dst = dst || src;
  else dst = static_cast<T>(dst + src);
}

// Shape and strides with one dim removed.
Shape without_dim(const Shape& s, int dim) {
  Shape r = s;
  r.erase(dim);
  return r;
}

}  // namespace

// out: [outer, n_idx, inner] <- x: [outer, n_x, inner] at rows index[j].
void CpuBackend::index_select(const Tensor& x, int dim, const Tensor& index, const Tensor& out) {
  IRIS_ASSERT(x.dim() >= 1 && x.dim() == out.dim() && x.dtype() == out.dtype());
  IRIS_ASSERT(x.is_contiguous() && out.is_contiguous());
  const int64_t n_x = x.shape()[dim];
  std::vector<int64_t> rows = read_index_1d("index_select", index, dim, n_x);
  const int64_t n_idx = static_cast<int64_t>(rows.size());
  IRIS_ASSERT(out.shape()[dim] == n_idx);
  const Slab g = slab_of(x.shape(), dim);
  if (out.numel() == 0) return;
  const size_t elem = dtype_size(x.dtype());
  const size_t row_bytes = static_cast<size_t>(g.inner) * elem;
  const char* xp = static_cast<const char*>(x.raw_data());
  char* op = static_cast<char*>(out.raw_data());
  parallel_for(g.outer * n_idx, g.inner, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      int64_t o = t / n_idx, j = t % n_idx;
      std::memcpy(op + static_cast<size_t>(t) * row_bytes,
                  xp + static_cast<size_t>(o * n_x + rows[j]) * row_bytes, row_bytes);
    }
  });
}

// target: [outer, n_t, inner] at rows index[j] += src: [outer, n_idx, inner].
void CpuBackend::index_add(const Tensor& target, int dim, const Tensor& index, const Tensor& src) {
  IRIS_ASSERT(target.dim() >= 1 && target.dim() == src.dim() && target.dtype() == src.dtype());
  IRIS_ASSERT(target.is_contiguous() && src.is_contiguous());
  const int64_t n_t = target.shape()[dim];
  std::vector<int64_t> rows = read_index_1d("index_add", index, dim, n_t);
  const int64_t n_idx = static_cast<int64_t>(rows.size());
  IRIS_ASSERT(src.shape()[dim] == n_idx);
  const Slab g = slab_of(target.shape(), dim);
  if (src.numel() == 0) return;
  // Tasks are (outer position, block of inner columns); two tasks never touch the same element,
  // whatever duplicates the index holds. Few outer positions: split the columns instead.
  const int threads = num_threads();
  int64_t block = g.inner;
  if (g.outer < threads) block = std::max<int64_t>(64, (g.inner + threads - 1) / threads);
  block = std::min(block, g.inner);
  const int64_t blocks = (g.inner + block - 1) / block;
  dispatch_all(target.dtype(), "index_add", [&](auto zero) {
    using T = decltype(zero);
    T* tp = target.data<T>();
    const T* sp = src.data<T>();
    parallel_for(g.outer * blocks, n_idx * block, [&](int64_t begin, int64_t end) {
      for (int64_t task = begin; task < end; ++task) {
        int64_t o = task / blocks, c0 = (task % blocks) * block, c1 = std::min(c0 + block, g.inner);
        for (int64_t j = 0; j < n_idx; ++j) {
          T* dst = tp + (o * n_t + rows[j]) * g.inner;
          const T* from = sp + (o * n_idx + j) * g.inner;
          for (int64_t c = c0; c < c1; ++c) add_into(dst[c], from[c]);
        }
      }
    });
  });
}

// out[..., j, ...] = x[..., index[..., j, ...], ...] along dim; out and index share a shape,
// x's other dims are at least as large. Any strides.
void CpuBackend::gather(const Tensor& x, int dim, const Tensor& index, const Tensor& out) {
  IRIS_ASSERT(x.dim() >= 1 && x.dim() == index.dim() && index.shape() == out.shape());
  IRIS_ASSERT(x.dtype() == out.dtype());
  const int64_t n_x = x.shape()[dim];
  check_index_range("gather", index, dim, n_x);
  if (out.numel() == 0) return;
  Strides x_strides = x.strides();
  const int64_t x_dim_stride = x_strides[dim];
  x_strides[dim] = 0;  // the index supplies the position along dim
  dispatch_bits(x.dtype(), [&](auto bits) {
    using B = decltype(bits);
    const B* xp = static_cast<const B*>(x.raw_data());
    B* op = static_cast<B*>(out.raw_data());
    dispatch_index(index.dtype(), "gather", [&](auto izero) {
      using I = decltype(izero);
      const I* ip = index.data<I>();
      strided_loop<3>(out.shape(), {out.strides(), index.strides(), x_strides},
                      [&](int64_t n, Offsets<3> o, Offsets<3> st) {
                        for (int64_t i = 0; i < n; ++i) {
                          int64_t row = static_cast<int64_t>(ip[o[1] + i * st[1]]);
                          op[o[0] + i * st[0]] = xp[o[2] + i * st[2] + row * x_dim_stride];
                        }
                      });
    });
  });
}

// target[..., index[..., j, ...], ...] += src[..., j, ...] along dim, over index's shape (src and
// target may be larger). Any strides; target must not overlap itself.
void CpuBackend::scatter_add(const Tensor& target, int dim, const Tensor& index, const Tensor& src) {
  IRIS_ASSERT(target.dim() >= 1 && target.dim() == index.dim() && index.dim() == src.dim());
  IRIS_ASSERT(target.dtype() == src.dtype());
  const int64_t n_t = target.shape()[dim];
  check_index_range("scatter_add", index, dim, n_t);
  if (index.numel() == 0) return;
  // Walk every position of the dims other than dim in parallel; each walks its column along dim
  // serially, so duplicate indices inside a column accumulate in order on one thread.
  const Shape columns = without_dim(index.shape(), dim);
  const int64_t n_j = index.shape()[dim];
  const int64_t t_dim_stride = target.strides()[dim], i_dim_stride = index.strides()[dim],
                s_dim_stride = src.strides()[dim];
  const int64_t grain = std::max<int64_t>(1, kParallelGrain / n_j);
  dispatch_all(target.dtype(), "scatter_add", [&](auto zero) {
    using T = decltype(zero);
    T* tp = target.data<T>();
    const T* sp = src.data<T>();
    dispatch_index(index.dtype(), "scatter_add", [&](auto izero) {
      using I = decltype(izero);
      const I* ip = index.data<I>();
      strided_loop<3>(
          columns,
          {without_dim(target.strides(), dim), without_dim(index.strides(), dim), without_dim(src.strides(), dim)},
          [&](int64_t n, Offsets<3> o, Offsets<3> st) {
            for (int64_t i = 0; i < n; ++i) {
              T* t_col = tp + o[0] + i * st[0];
              const I* i_col = ip + o[1] + i * st[1];
              const T* s_col = sp + o[2] + i * st[2];
              for (int64_t j = 0; j < n_j; ++j)
                add_into(t_col[static_cast<int64_t>(i_col[j * i_dim_stride]) * t_dim_stride], s_col[j * s_dim_stride]);
            }
          },
          grain);
    });
  });
}

}  // namespace iris::cpu
