// Stochastic depth's linear schedule (Huang et al. 2016, as timm and the papers' code use it): the
// drop-path rate of block i of n rises linearly from 0 to max_rate over every block of the network.
// Leaves out: the DropPath layer itself (nn/layers.h) and per-stage schedules (timm 1.0's DaViT).
#pragma once

#include <cstdint>
#include <vector>

namespace iris::models {

// [n]: rate i = max_rate * i / (n - 1); a single block gets 0. Throws when n < 0 (the rate itself is
// checked by nn::DropPath, which takes it).
std::vector<double> drop_path_rates(double max_rate, int64_t n);

}  // namespace iris::models
