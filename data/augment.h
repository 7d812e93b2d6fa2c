// Batch augmentations for images [B, C, H, W] (f32, CPU), each sample drawing its randomness from
// the batch's Generator so the result is reproducible. They return new tensors.
// Leaves out: colour jitter, rotations, mixup/cutmix, RandAugment.
#pragma once

#include <vector>

#include "tensor/tensor.h"

namespace iris::data {

// Pads each side by `padding` (zeros) and crops back to the original size at a random offset.
Tensor random_crop(const Tensor& x, int64_t padding, Generator& rng);
// Mirrors each sample left-right with probability p.
Tensor random_horizontal_flip(const Tensor& x, Generator& rng, double p = 0.5);
// (x - mean[c]) / std[c] per channel; mean/std have C entries (or one, used for every channel).
Tensor normalize_channels(const Tensor& x, const std::vector<double>& mean, const std::vector<double>& std);
// Random erasing (Zhong et al.): with probability p, one rectangle of area fraction in
// [area_min, area_max] and aspect ratio in [1/3.3, 3.3] (log-uniform) is set to `value`.
Tensor random_erasing(const Tensor& x, Generator& rng, double p = 0.25, double area_min = 0.02,
                      double area_max = 0.33, double value = 0.0);

}  // namespace iris::data
