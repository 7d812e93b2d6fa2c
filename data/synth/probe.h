// The long-range probe of the DaViT reproduction (papers/davit.md, 2.4): 32x32 grey images with two
// small glyphs (letters of the built-in font) in opposite corners (top-left + bottom-right or top-right
// + bottom-left). Two labellings, as the spec offers: "same" (1 when the two letters are the same, 0
// when they differ, half of each) and "pair" (the ordered pair: top letter * K + bottom letter, K^2
// classes). The glyphs sit in different stage-1 windows, so relating them needs information to travel
// across the image. Deterministic from (seed, index).
// Leaves out: more than two glyphs, colour, other labellings.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/idx.h"

namespace iris::synth {

struct CornerProbeOptions {
  int64_t size = 32;    // image side (>= 2 * (glyph height + jitter) + 2)
  int glyphs = 4;       // how many distinct letters are drawn from (2..8)
  int scale = 1;        // image pixels per font pixel: 1 gives 5 x 7 letters, 2 gives 10 x 14 ones
  int jitter = 4;       // each glyph moves by up to this many pixels inside its corner (use 1 at scale 2)
  int noise = 0;        // background noise amplitude, 0..255 (the stem LayerNorm amplifies it to unit scale)
  bool pair_label = false;  // false: same/different (2 classes); true: the ordered pair (glyphs^2 classes)
};

// `count` images u8 [count, size, size] and labels i64 [count] (same: 0 different, 1 same; pair: top *
// glyphs + bottom). Image i depends only on (seed, i), so a larger count extends a smaller one.
data::LabelledImages make_corner_probe(int64_t count, uint64_t seed, const CornerProbeOptions& options = {});
// {"different", "same"}, or for the pair label {"A/A", "A/O", ...} (top/bottom letter).
std::vector<std::string> corner_probe_classes(const CornerProbeOptions& options = {});
// The letters the glyphs are drawn from, in order (the first `glyphs` are used).
const std::string& corner_probe_letters();

}  // namespace iris::synth
