// BEiT's blockwise masking (Bao et al. 2022, masking_generator.py), as FaRL's MIM uses it: rectangles of
// random area and aspect ratio are added to an h x w patch grid until about `num_masking` patches are
// masked. Each try draws an area in [min_patches, patches still to mask], a log-uniform aspect ratio in
// [min_aspect, max_aspect], h = round(sqrt(area * aspect)), w = round(sqrt(area / aspect)); a block that
// fits strictly inside the grid and adds between 1 and the remaining count of new patches is taken.
// Ten failed tries in a row end the mask early, so a mask may hold fewer than num_masking patches, never more.
// Leaves out: BEiT's python `random` stream (masks are statistically, not bit-, equal to BEiT's).
#pragma once

#include <cstdint>
#include <vector>

#include "data/synth/items.h"

namespace iris::data {

struct BlockMaskConfig {
  int64_t height = 8, width = 8;   // the patch grid
  int64_t num_masking = 26;        // target count (FaRL-mini: round(0.4 * 64))
  int64_t min_patches = 4;         // smallest block area drawn (BEiT: 16 of 196; scaled to the 8 x 8 grid)
  int64_t max_patches = -1;        // largest block area (-1: num_masking)
  double min_aspect = 0.3, max_aspect = 1 / 0.3;
};
void check_block_mask_config(const BlockMaskConfig& config);  // throws naming the bad field

// One mask, row-major [height * width], 1 = masked. Deterministic in the generator's state.
std::vector<uint8_t> block_mask(const BlockMaskConfig& config, synth::SynthRandom& rng);

}  // namespace iris::data
