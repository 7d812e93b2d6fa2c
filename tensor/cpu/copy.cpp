// CPU copy (with dtype conversion, including the bf16/f16 storage types) and fill, through
// strided_loop. A same-dtype copy moves raw bits and uses memcpy for contiguous runs.
#include <cmath>
#include <cstring>

#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/loops.h"

namespace iris::cpu {

namespace {

// Scalar conversion (load_as_double, store_from) and dispatch_storage: tensor/scalar_convert.h, tensor/dtype.h.

// Same-dtype copy: moves raw element bits, contiguous runs with memcpy.
template <class Bits>
void copy_bits(const Tensor& src, const Tensor& dst) {
  auto* s = static_cast<const Bits*>(src.raw_data());
  auto* d = static_cast<Bits*>(dst.raw_data());
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

}  // namespace iris::cpu
