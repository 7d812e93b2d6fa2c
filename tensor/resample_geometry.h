// Upsampling's coordinate maps (PyTorch's rules for 'nearest' and 'bilinear', align_corners both ways),
// shared by the CPU kernels (tensor/cpu/resample.cpp) and the CUDA ones (cuda/pool.cu), which build the
// maps on the host and upload them, so both devices read the same source pixels with the same weights.
// Leaves out the resampling loops themselves and bicubic/area modes.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace iris {

// PyTorch's 'nearest': src = floor(dst * in / out) in float, with in/out replaced by
// 1/scale_factor when one was given; same size and exact doubling are mapped exactly.
inline int64_t nearest_source(int64_t dst, int64_t in, int64_t out, double scale_factor) {
  if (out == in) return dst;
  if (out == 2 * in) return dst >> 1;
  const float scale = scale_factor > 0 ? static_cast<float>(1.0 / scale_factor)
                                       : static_cast<float>(in) / static_cast<float>(out);
  return std::min(static_cast<int64_t>(std::floor(static_cast<float>(dst) * scale)), in - 1);
}

// src[d] for every output position d of one axis (in -> out).
inline std::vector<int64_t> nearest_map(int64_t in, int64_t out, double scale_factor) {
  std::vector<int64_t> src(out);
  for (int64_t i = 0; i < out; ++i) src[i] = nearest_source(i, in, out, scale_factor);
  return src;
}

// One output row (or column) of a bilinear resize reads input rows i0 and i1 with weights l0, l1.
template <class T>
struct LinearTap {
  int64_t i0, i1;
  T l0, l1;
};

// PyTorch's bilinear coordinate map: align_corners maps the corner pixels onto each other
// (src = dst * (in - 1) / (out - 1)); otherwise pixel centres are aligned
// (src = (dst + 0.5) * scale - 0.5, clamped at 0), with scale = in / out or 1 / scale_factor.
template <class T>
std::vector<LinearTap<T>> linear_map(int64_t in, int64_t out, bool align_corners, double scale_factor) {
  std::vector<LinearTap<T>> taps(out);
  T scale;
  if (align_corners) scale = out > 1 ? static_cast<T>(in - 1) / static_cast<T>(out - 1) : T(0);
  else scale = scale_factor > 0 ? static_cast<T>(1.0 / scale_factor) : static_cast<T>(in) / static_cast<T>(out);
  for (int64_t d = 0; d < out; ++d) {
    if (in == out && !align_corners) {
      taps[d] = {d, d, T(1), T(0)};
      continue;
    }
    T src = align_corners ? scale * static_cast<T>(d) : scale * (static_cast<T>(d) + T(0.5)) - T(0.5);
    if (src < T(0)) src = T(0);
    LinearTap<T>& t = taps[d];
    t.i0 = std::min(static_cast<int64_t>(src), in - 1);
    t.i1 = t.i0 + (t.i0 < in - 1 ? 1 : 0);
    t.l1 = std::min(std::max(src - static_cast<T>(t.i0), T(0)), T(1));
    t.l0 = T(1) - t.l1;
  }
  return taps;
}

}  // namespace iris
