// CPU copy (with dtype conversion, including the bf16/f16 storage types) and fill, through
// strided_loop. A same-dtype copy moves raw bits and uses memcpy for contiguous runs. Also widened_bf16,
// the f32 form of an autocast operand.
#include <cmath>
#include <cstring>

#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/isa.h"
#include "tensor/cpu/loops.h"
#include "tensor/cpu/transpose8.h"

namespace iris::cpu {

namespace {

// Scalar conversion (load_as_double, store_from) and dispatch_storage: tensor/scalar_convert.h, tensor/dtype.h.

#if defined(__x86_64__)
// The full 8 x 8 blocks of one strip: source rows [j0, j0 + 8) (stride s_col, contiguous along i)
// into destination columns [j0, j0 + 8) (rows i, stride d_row); returns the first row not done.
__attribute__((target("avx2"))) int64_t transpose_strip_avx2(const float* s, int64_t s_col, float* d, int64_t d_row,
                                                             int64_t A, int64_t j0) {
  int64_t i = 0;
  for (; i + 8 <= A; i += 8) {
    const float* b = s + j0 * s_col + i;
    transpose8_store(_mm256_loadu_ps(b), _mm256_loadu_ps(b + s_col), _mm256_loadu_ps(b + 2 * s_col),
                     _mm256_loadu_ps(b + 3 * s_col), _mm256_loadu_ps(b + 4 * s_col), _mm256_loadu_ps(b + 5 * s_col),
                     _mm256_loadu_ps(b + 6 * s_col), _mm256_loadu_ps(b + 7 * s_col), d + i * d_row + j0, d_row);
  }
  return i;
}
#endif

// A 4-byte copy whose last two merged dims are swapped between the two sides (a permute such as
// [B, N, C] -> [B, C, N]: the destination is contiguous along the last dim, the source along the one
// before) runs as 8 x 8 register transposes; element by element every source read strides a row.
// ([64, 196, 64] out of a [64, 196, 192] buffer, 2 threads: 420 -> 155 us.) Returns false for any
// other layout or below the avx2 kernel ISA (isa.h).
bool copy_transposed32(const MergedDims<2>& m, const uint32_t* s, uint32_t* d) {
#if defined(__x86_64__)
  const bool avx2 = kernel_isa() >= Isa::avx2;
  const int a = m.nd - 2, b = m.nd - 1;
  if (!avx2 || m.nd < 2 || m.st[0][b] != 1 || m.st[1][a] != 1 || m.size[a] < 8 || m.size[b] < 8) return false;
  const int64_t A = m.size[a], N = m.size[b], d_row = m.st[0][a], s_col = m.st[1][b];
  int64_t outer = 1;
  for (int i = 0; i < a; ++i) outer *= m.size[i];
  const int64_t strips = (N + 7) / 8;  // 8 source rows (destination columns) per task
  parallel_for(outer * strips, 8 * A, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      int64_t so = 0, dof = 0, rem = t / strips;
      for (int i = a - 1; i >= 0; --i) {
        const int64_t idx = rem % m.size[i];
        rem /= m.size[i];
        so += idx * m.st[1][i];
        dof += idx * m.st[0][i];
      }
      const int64_t j0 = (t % strips) * 8, j1 = std::min(N, j0 + 8);
      int64_t i = j1 - j0 == 8 ? transpose_strip_avx2(reinterpret_cast<const float*>(s) + so, s_col,
                                                      reinterpret_cast<float*>(d) + dof, d_row, A, j0)
                               : 0;
      for (; i < A; ++i)  // the edges (all of a strip narrower than 8) one by one
        for (int64_t j = j0; j < j1; ++j) d[dof + i * d_row + j] = s[so + i + j * s_col];
    }
  });
  return true;
#else
  return false;
#endif
}

// Same-dtype copy: moves raw element bits, contiguous runs with memcpy.
template <class Bits>
void copy_bits(const Tensor& src, const Tensor& dst) {
  auto* s = static_cast<const Bits*>(src.raw_data());
  auto* d = static_cast<Bits*>(dst.raw_data());
  if constexpr (sizeof(Bits) == 4) {
    const MergedDims<2> m = merge_dims<2>(dst.shape(), {dst.strides(), src.strides()});
    if (!m.empty && copy_transposed32(m, s, d)) return;
  }
  strided_loop<2>(dst.shape(), {dst.strides(), src.strides()}, [&](int64_t n, Offsets<2> o, Offsets<2> st) {
    if (st[0] == 1 && st[1] == 1) {
      std::memcpy(d + o[0], s + o[1], static_cast<size_t>(n) * sizeof(Bits));
    } else {
      for (int64_t i = 0; i < n; ++i) d[o[0] + i * st[0]] = s[o[1] + i * st[1]];
    }
  });
}

}  // namespace

void CpuBackend::copy(const Tensor& src, const Tensor& dst) {
  IRIS_ASSERT(src.shape() == dst.shape());
  IRIS_CHECK(src.device().is_cpu() && dst.device().is_cpu(), "copy: the CPU backend cannot reach ",
             src.device().is_cpu() ? dst.device().str() : src.device().str());
  if (src.dtype() == dst.dtype()) {
    switch (dtype_size(src.dtype())) {
      case 1: copy_bits<uint8_t>(src, dst); return;
      case 2: copy_bits<uint16_t>(src, dst); return;
      case 4: copy_bits<uint32_t>(src, dst); return;
      default: copy_bits<uint64_t>(src, dst); return;
    }
  }
  dispatch_storage(src.dtype(), [&](auto s0) {
    using S = decltype(s0);
    dispatch_storage(dst.dtype(), [&](auto d0) {
      using D = decltype(d0);
      const S* s = static_cast<const S*>(src.raw_data());
      D* d = static_cast<D*>(dst.raw_data());
      strided_loop<2>(dst.shape(), {dst.strides(), src.strides()}, [&](int64_t n, Offsets<2> o, Offsets<2> st) {
        for (int64_t i = 0; i < n; ++i) d[o[0] + i * st[0]] = store_from<D>(load_as_double(s[o[1] + i * st[1]]));
      });
    });
  });
}

void CpuBackend::fill(const Tensor& dst, double value) {
  dispatch_storage(dst.dtype(), [&](auto z) {
    using T = decltype(z);
    T v = store_from<T>(value);
    T* d = static_cast<T*>(dst.raw_data());
    strided_loop<1>(dst.shape(), {dst.strides()}, [&](int64_t n, Offsets<1> o, Offsets<1> st) {
      for (int64_t i = 0; i < n; ++i) d[o[0] + i * st[0]] = v;
    });
  });
}

Tensor widened_bf16(CpuBackend& be, const Tensor& t) {
  IRIS_ASSERT(t.dtype() == DType::bf16);
  Tensor w = empty(t.shape(), {DType::f32, t.device()});
  be.copy(t, w);
  return w;
}

}  // namespace iris::cpu
