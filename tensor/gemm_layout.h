// How a GEMM operand matrix is read in place from its strides, shared by the CPU gemm
// (tensor/cpu/gemm.cpp), the CUDA gemm (cuda/gemm.cu, which hands the layout to cuBLAS) and matmul
// (autograd/linalg.cpp, which copies only operands no layout can read): row-major when the column
// stride is 1, column-major (a transposed view) when the row stride is 1, with the leading dimension.
// GemmProblem gathers one gemm call's sizes, batch strides and operand strides from its tensors.
// Leaves out the products themselves (each backend has its own) and the row-major-to-cuBLAS swap
// (written once in cuda/gemm.cu).
#pragma once

#include <cstdint>

#include "tensor/error.h"
#include "tensor/host_device.h"
#include "tensor/tensor.h"

namespace iris {

// One operand matrix [rows, cols]: row-major (element (i, j) at i * ld + j) or column-major
// (at i + j * ld).
struct GemmLayout {
  bool row_major;
  int64_t ld;
};

// The layout of a matrix [rows, cols] with strides (rs, cs); false when it is neither row- nor
// column-major. Size-1 dims make a stride meaningless; the leading dimension is then chosen to be
// valid (at least the other dim), as BLAS requires.
IRIS_HOST_DEVICE inline bool find_gemm_layout(int64_t rows, int64_t cols, int64_t rs, int64_t cs, GemmLayout& out) {
  if (cs == 1 || cols == 1) {
    const int64_t ld = rows == 1 ? cols : rs;
    if (ld >= cols) {
      out = {true, ld};
      return true;
    }
  }
  if (rs == 1 || rows == 1) {
    const int64_t ld = cols == 1 ? rows : cs;
    if (ld >= rows) {
      out = {false, ld};
      return true;
    }
  }
  return false;
}

// As find_gemm_layout, but an unreadable operand ("a" or "b", named by `which`) throws.
inline GemmLayout gemm_layout(int64_t rows, int64_t cols, int64_t rs, int64_t cs, const char* which) {
  GemmLayout l{};
  if (find_gemm_layout(rows, cols, rs, cs, l)) return l;
  throw Error(cat_str("gemm: operand ", which, " [", rows, ", ", cols, "] with strides (", rs, ", ", cs,
                      ") is neither row- nor column-major; call contiguous() first"));
}

// (row stride, column stride) of an operand with layout l: the form a strided kernel takes.
struct RowColStrides {
  int64_t rs, cs;
};
IRIS_HOST_DEVICE inline RowColStrides row_col_strides(const GemmLayout& l) {
  return l.row_major ? RowColStrides{l.ld, 1} : RowColStrides{1, l.ld};
}

// One gemm call c[i] = a[i] @ b[i] with a [B, M, K], b [B, K, N] (Backend::gemm's contract).
struct GemmProblem {
  int64_t batch, M, K, N;
  int64_t batch_stride_a, batch_stride_b;  // 0 when batch == 1 (only i = 0 is read then)
  int64_t a_rs, a_cs, b_rs, b_cs;          // row and column strides of one matrix of a and of b
  // The operands' layouts; they throw for a matrix neither row- nor column-major. Empty products
  // (M, N or K zero) need none, so the backends ask only once they know the product is real.
  GemmLayout layout_a() const { return gemm_layout(M, K, a_rs, a_cs, "a"); }
  GemmLayout layout_b() const { return gemm_layout(K, N, b_rs, b_cs, "b"); }
};

inline GemmProblem gemm_problem(const Tensor& a, const Tensor& b) {
  GemmProblem g;
  g.batch = a.shape()[0];
  g.M = a.shape()[1];
  g.K = a.shape()[2];
  g.N = b.shape()[2];
  g.batch_stride_a = g.batch > 1 ? a.strides()[0] : 0;
  g.batch_stride_b = g.batch > 1 ? b.strides()[0] : 0;
  g.a_rs = a.strides()[1];
  g.a_cs = a.strides()[2];
  g.b_rs = b.strides()[1];
  g.b_cs = b.strides()[2];
  return g;
}

}  // namespace iris
