// RoIAlign's box geometry and sampling rule (torchvision's), shared by the CPU kernel
// (tensor/cpu/resample.cpp) and the CUDA one (cuda/pool.cu), which computes the geometry on the host
// and uploads it: a box in feature-map coordinates, its bin size and sampling grid, where each sample
// lies, and its four bilinear neighbours (IRIS_HOST_DEVICE: the CUDA kernels call these on the GPU).
// Leaves out the loops over boxes, channels and bins (each backend has its own).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "tensor/backend.h"
#include "tensor/host_device.h"

namespace iris {

// One box [batch, x1, y1, x2, y2] in feature-map coordinates.
template <class T>
struct RoiGeometry {
  int64_t batch;
  T start_h, start_w, bin_h, bin_w;
  int64_t grid_h, grid_w;
  T count;  // samples averaged per bin
};

template <class T>
RoiGeometry<T> roi_geometry(const T* box, const RoiAlignParams& p) {
  RoiGeometry<T> r;
  r.batch = static_cast<int64_t>(box[0]);
  const T offset = p.aligned ? T(0.5) : T(0);
  const T scale = static_cast<T>(p.spatial_scale);
  r.start_w = box[1] * scale - offset;
  r.start_h = box[2] * scale - offset;
  T roi_w = box[3] * scale - offset - r.start_w;
  T roi_h = box[4] * scale - offset - r.start_h;
  if (!p.aligned) {  // legacy behaviour: boxes are at least one pixel
    roi_w = std::max(roi_w, T(1));
    roi_h = std::max(roi_h, T(1));
  }
  r.bin_h = roi_h / static_cast<T>(p.out_h);
  r.bin_w = roi_w / static_cast<T>(p.out_w);
  r.grid_h = p.sampling_ratio > 0 ? p.sampling_ratio : static_cast<int64_t>(std::ceil(roi_h / static_cast<T>(p.out_h)));
  r.grid_w = p.sampling_ratio > 0 ? p.sampling_ratio : static_cast<int64_t>(std::ceil(roi_w / static_cast<T>(p.out_w)));
  r.grid_h = std::max<int64_t>(r.grid_h, 0);
  r.grid_w = std::max<int64_t>(r.grid_w, 0);
  r.count = static_cast<T>(std::max<int64_t>(r.grid_h * r.grid_w, 1));
  return r;
}

// Sample (iy, ix) of bin (ph, pw) of box r: y and x in feature-map coordinates.
template <class T>
IRIS_HOST_DEVICE inline T roi_sample_y(const RoiGeometry<T>& r, int64_t ph, int64_t iy) {
  return r.start_h + static_cast<T>(ph) * r.bin_h + (static_cast<T>(iy) + T(0.5)) * r.bin_h / static_cast<T>(r.grid_h);
}
template <class T>
IRIS_HOST_DEVICE inline T roi_sample_x(const RoiGeometry<T>& r, int64_t pw, int64_t ix) {
  return r.start_w + static_cast<T>(pw) * r.bin_w + (static_cast<T>(ix) + T(0.5)) * r.bin_w / static_cast<T>(r.grid_w);
}

// The four neighbours and weights of a bilinear sample at (y, x); false when the sample lies
// more than one pixel outside the map (it then counts as 0).
template <class T>
struct BilinearSample {
  int64_t y0, x0, y1, x1;
  T w00, w01, w10, w11;
};

template <class T>
IRIS_HOST_DEVICE bool bilinear_sample(T y, T x, int64_t H, int64_t W, BilinearSample<T>& s) {
  if (!(y >= T(-1) && y <= static_cast<T>(H) && x >= T(-1) && x <= static_cast<T>(W))) return false;
  if (y <= T(0)) y = T(0);
  if (x <= T(0)) x = T(0);
  s.y0 = static_cast<int64_t>(y);
  s.x0 = static_cast<int64_t>(x);
  if (s.y0 >= H - 1) {
    s.y0 = s.y1 = H - 1;
    y = static_cast<T>(s.y0);
  } else {
    s.y1 = s.y0 + 1;
  }
  if (s.x0 >= W - 1) {
    s.x0 = s.x1 = W - 1;
    x = static_cast<T>(s.x0);
  } else {
    s.x1 = s.x0 + 1;
  }
  const T ly = y - static_cast<T>(s.y0), lx = x - static_cast<T>(s.x0);
  const T hy = T(1) - ly, hx = T(1) - lx;
  s.w00 = hy * hx;
  s.w01 = hy * lx;
  s.w10 = ly * hx;
  s.w11 = ly * lx;
  return true;
}

}  // namespace iris
