// The row geometry of softmax and layer norm, shared by the CPU kernels (tensor/cpu/softmax_norm.cpp)
// and the CUDA ones (cuda/softmax_norm.cu): a contiguous x viewed as [outer, D, inner] around the
// softmax dim, where each softmax row is D values `inner` apart; and how layer norm's backward cuts
// the R rows of x [R, D] into chunks for its weight and bias partial sums.
// Leaves out the loops and thread layouts, and the chunk counts (each backend picks its own).
#pragma once

#include <cstdint>

#include "tensor/host_device.h"
#include "tensor/tensor.h"

namespace iris {

// x viewed as [outer, D, inner] around `dim` (a 0-d tensor is one row of one element).
struct SoftmaxGeometry {
  int64_t outer = 1, D = 1, inner = 1;

  IRIS_HOST_DEVICE int64_t rows() const { return outer * inner; }
  // Offset of element 0 of softmax row r (r in [0, rows()), rows of one outer index adjacent);
  // element d of the row is at row_start(r) + d * inner.
  IRIS_HOST_DEVICE int64_t row_start(int64_t r) const { return (r / inner) * D * inner + r % inner; }
};

inline SoftmaxGeometry softmax_geometry(const Tensor& x, int dim) {
  SoftmaxGeometry g;
  if (x.dim() == 0) return g;
  IRIS_ASSERT(dim >= 0 && dim < x.dim());
  for (int i = 0; i < dim; ++i) g.outer *= x.shape()[i];
  g.D = x.shape()[dim];
  for (int i = dim + 1; i < x.dim(); ++i) g.inner *= x.shape()[i];
  return g;
}

// Layer norm backward: chunk c of `chunks` holds rows [chunk_first_row(R, chunks, c),
// chunk_first_row(R, chunks, c + 1)) of the R rows, so a chunk's partial sums do not depend on threads.
IRIS_HOST_DEVICE inline int64_t chunk_first_row(int64_t R, int64_t chunks, int64_t c) { return R * c / chunks; }

}  // namespace iris
