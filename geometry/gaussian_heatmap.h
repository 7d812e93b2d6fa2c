// CenterNet's heatmap targets (Zhou et al. 2019, "Objects as Points"; its code's gaussian_radius and
// draw_umich_gaussian): the radius of a box's Gaussian and the Gaussian peak drawn into a heatmap by
// elementwise max. The radius reproduces the reference formula exactly, including its known quirk
// (each root is (b + sqrt(b^2 - 4ac)) / 2 rather than / 2a), since published models were trained with it.
// Leaves out: the MSRA-style draw_msra_gaussian, elliptical (TTFNet) Gaussians, offset/size targets.
#pragma once

#include <cstdint>
#include <vector>

#include "tensor/tensor.h"

namespace iris {

// The reference's gaussian_radius((height, width), min_overlap): min(r1, r2, r3) of its three cases.
// CenterNet then draws with radius max(0, int(gaussian_radius(ceil(h), ceil(w)))).
double gaussian_radius(double height, double width, double min_overlap = 0.7);

// heatmap: row-major [height * width]; draws exp(-(dx^2 + dy^2) / (2 sigma^2)), sigma = (2r + 1) / 6,
// over the (2r + 1)^2 window centred on pixel (int(cx), int(cy)), clipped to the map, taking the
// elementwise max with what is there (values below eps * peak are 0, as the reference). k scales the peak.
// The centre must lie in the map (CenterNet clips it there first).
void draw_gaussian(std::vector<double>& heatmap, int64_t height, int64_t width, double cx, double cy,
                   int64_t radius, double k = 1.0);
// The same on a [H, W] tensor (any float dtype; a new tensor is returned, the input is not modified).
Tensor draw_gaussian(const Tensor& heatmap, double cx, double cy, int64_t radius, double k = 1.0);

}  // namespace iris
