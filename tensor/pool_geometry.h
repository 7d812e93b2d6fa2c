// Pooling windows written once for both devices (tensor/cpu/pool.cpp and cuda/pool.cu, and the
// depthwise convolution's taps in cuda/conv.cu): which input pixels an output pixel's window covers,
// the average pool's divisor, PyTorch's adaptive windows, and the max pool's rule (the first maximum
// wins, a NaN beats any number, a window of padding only gives -inf and index -1).
// Leaves out the loops over planes and outputs, and the output-size rule (autograd/pool.cpp).
#pragma once

#include <cstdint>
#include <limits>

#include "tensor/backend.h"
#include "tensor/host_device.h"

namespace iris {

// The rows [start, end) of the input that window i of an average pool covers, and the window's
// size counting padding (the divisor when count_include_pad). No std::min/max: device code too.
struct AvgWindow {
  int64_t start, end, padded_size;
};
IRIS_HOST_DEVICE inline AvgWindow avg_window(int64_t i, int64_t stride, int64_t pad, int64_t kernel, int64_t size) {
  const int64_t start = i * stride - pad;
  const int64_t end = start + kernel < size + pad ? start + kernel : size + pad;
  return {start > 0 ? start : 0, end < size ? end : size, end - start};
}
IRIS_HOST_DEVICE inline int64_t avg_divisor(const AvgWindow& wh, const AvgWindow& ww, bool count_include_pad) {
  return count_include_pad ? wh.padded_size * ww.padded_size : (wh.end - wh.start) * (ww.end - ww.start);
}

// Adaptive windows: [floor(i * in / out), ceil((i + 1) * in / out)).
IRIS_HOST_DEVICE inline int64_t adaptive_start(int64_t i, int64_t in, int64_t out) { return (i * in) / out; }
IRIS_HOST_DEVICE inline int64_t adaptive_end(int64_t i, int64_t in, int64_t out) {
  return ((i + 1) * in + out - 1) / out;
}

// Calls tap(ki, kj, ih * W + iw) for every kernel tap of output (oh, ow) that lands inside the
// H x W plane (stride, padding and dilation from g: a Pool2dGeometry or a Conv2dGeometry), rows first.
template <class G, class F>
IRIS_HOST_DEVICE IRIS_FORCE_INLINE void for_each_window_tap(const G& g, int64_t oh, int64_t ow, F&& tap) {
  for (int64_t ki = 0; ki < g.kh; ++ki) {
    const int64_t ih = oh * g.sh - g.ph + ki * g.dh;
    if (ih < 0 || ih >= g.H) continue;
    for (int64_t kj = 0; kj < g.kw; ++kj) {
      const int64_t iw = ow * g.sw - g.pw + kj * g.dw;
      if (iw < 0 || iw >= g.W) continue;
      tap(ki, kj, ih * g.W + iw);
    }
  }
}

// The max of output (oh, ow)'s window over one plane xp [H, W], and its flat index in the plane.
template <class T>
IRIS_HOST_DEVICE IRIS_FORCE_INLINE void max_pool_window(const T* xp, const Pool2dGeometry& g, int64_t oh, int64_t ow,
                                                        T& best, int64_t& best_i) {
  best = -std::numeric_limits<T>::infinity();
  best_i = -1;
  for_each_window_tap(g, oh, ow, [&](int64_t, int64_t, int64_t at) {
    const T v = xp[at];
    if (best_i < 0 || v > best || (v != v && !(best != best))) {
      best = v;
      best_i = at;
    }
  });
}

}  // namespace iris
