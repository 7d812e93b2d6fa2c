// What the CPU and CUDA indexing kernels (tensor/cpu/index.cpp, cuda/index.cu) share on the host: the
// index range check and its error message, the [outer, n, inner] slab view of a contiguous tensor, and
// element-sized unsigned types for kernels that only move elements. Leaves out reading the index
// values (each backend walks its own memory) and negative indices (rejected, as PyTorch does).
#pragma once

#include <cstdint>
#include <type_traits>

#include "tensor/shape.h"
#include "tensor/dtype.h"

namespace iris {

[[noreturn]] inline void throw_index_out_of_range(const char* op, int64_t bad, int dim, int64_t size) {
  if (size == 0)
    throw Error(cat_str(op, ": index ", bad, " is out of range for dim ", dim,
                        " of size 0 (the dim is empty, so no index is valid)"));
  throw Error(cat_str(op, ": index ", bad, " is out of range for dim ", dim, " of size ", size,
                      " (valid indices are 0 to ", size - 1, ")"));
}

// Throws naming `op` unless 0 <= v < size (the size of dim `dim` that v indexes).
inline void check_index_in_range(const char* op, int64_t v, int dim, int64_t size) {
  if (v < 0 || v >= size) throw_index_out_of_range(op, v, dim, size);
}

// A contiguous tensor seen as [outer, shape[dim], inner].
struct Slab {
  int64_t outer = 1, inner = 1;
};
inline Slab slab_of(const Shape& s, int dim) {
  Slab g;
  for (int d = 0; d < dim; ++d) g.outer *= s[d];
  for (int d = dim + 1; d < s.size(); ++d) g.inner *= s[d];
  return g;
}

// An unsigned integer type of the given byte size: kernels that only move elements use it.
template <size_t Bytes>
using Bits = std::conditional_t<Bytes == 1, uint8_t,
             std::conditional_t<Bytes == 2, uint16_t, std::conditional_t<Bytes == 4, uint32_t, uint64_t>>>;

// dispatch_bits(dt, [&](auto bits) { using B = decltype(bits); ... }) with B = Bits<dtype_size(dt)>.
template <class F>
void dispatch_bits(DType dt, F&& f) {
  switch (dtype_size(dt)) {
    case 1: f(Bits<1>{}); return;
    case 2: f(Bits<2>{}); return;
    case 4: f(Bits<4>{}); return;
    default: f(Bits<8>{}); return;
  }
}

}  // namespace iris
