// BEiT blockwise masking: rectangles added until the target count (see block_mask.h).
#include "data/block_mask.h"

#include <algorithm>
#include <cmath>

#include "tensor/error.h"

namespace iris::data {

void check_block_mask_config(const BlockMaskConfig& c) {
  IRIS_CHECK(c.height >= 1 && c.width >= 1, "block_mask: the grid must be at least 1 x 1, got ", c.height, " x ",
             c.width);
  IRIS_CHECK(c.num_masking >= 0 && c.num_masking <= c.height * c.width, "block_mask: num_masking ", c.num_masking,
             " is outside [0, ", c.height * c.width, "]");
  IRIS_CHECK(c.min_patches >= 1, "block_mask: min_patches must be >= 1, got ", c.min_patches);
  IRIS_CHECK(c.min_aspect > 0 && c.max_aspect >= c.min_aspect, "block_mask: need 0 < min_aspect <= max_aspect, got ",
             c.min_aspect, " and ", c.max_aspect);
}

namespace {

// One block added to `mask` (at most max_new new patches); returns how many patches it newly masked.
int64_t add_block(const BlockMaskConfig& c, std::vector<uint8_t>& mask, int64_t max_new, synth::SynthRandom& rng) {
  const double log_lo = std::log(c.min_aspect), log_hi = std::log(c.max_aspect);
  int64_t added = 0;
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double area = rng.uniform(static_cast<double>(c.min_patches), static_cast<double>(max_new));
    const double aspect = std::exp(rng.uniform(log_lo, log_hi));
    const int64_t h = std::llround(std::sqrt(area * aspect)), w = std::llround(std::sqrt(area / aspect));
    if (w < c.width && h < c.height) {
      const int64_t top = rng.range(0, c.height - h), left = rng.range(0, c.width - w);
      int64_t already = 0;
      for (int64_t i = top; i < top + h; ++i)
        for (int64_t j = left; j < left + w; ++j) already += mask[i * c.width + j];
      const int64_t fresh = h * w - already;
      if (fresh > 0 && fresh <= max_new)
        for (int64_t i = top; i < top + h; ++i)
          for (int64_t j = left; j < left + w; ++j)
            if (!mask[i * c.width + j]) mask[i * c.width + j] = 1, ++added;
      if (added > 0) break;
    }
  }
  return added;
}

}  // namespace

std::vector<uint8_t> block_mask(const BlockMaskConfig& c, synth::SynthRandom& rng) {
  check_block_mask_config(c);
  std::vector<uint8_t> mask(static_cast<size_t>(c.height * c.width), 0);
  const int64_t max_block = c.max_patches < 0 ? c.num_masking : c.max_patches;
  int64_t count = 0;
  while (count < c.num_masking) {
    const int64_t max_new = std::min(c.num_masking - count, max_block);
    const int64_t delta = add_block(c, mask, max_new, rng);
    if (delta == 0) break;
    count += delta;
  }
  return mask;
}

}  // namespace iris::data
