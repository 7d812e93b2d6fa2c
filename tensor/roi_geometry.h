// RoIAlign's box geometry (torchvision's rule), shared by the CPU kernel (tensor/cpu/resample.cpp)
// and the CUDA one (cuda/pool.cu), which computes it on the host and uploads it: a box in
// feature-map coordinates, its bin size and its sampling grid. Leaves out the sampling itself.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "tensor/backend.h"

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

}  // namespace iris
