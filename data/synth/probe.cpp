// The corner probe (see probe.h): per image, a diagonal (top-left/bottom-right or top-right/bottom-
// left), a label (same or different), two letters, their jittered positions, a noisy background.
#include "data/synth/probe.h"

#include "image/font.h"
#include "data/synth/items.h"

namespace iris::synth {

std::vector<std::string> corner_probe_classes(const CornerProbeOptions& o) {
  if (!o.pair_label) return {"different", "same"};
  std::vector<std::string> names;
  for (int a = 0; a < o.glyphs; ++a)
    for (int b = 0; b < o.glyphs; ++b)
      names.push_back(std::string(1, corner_probe_letters()[a]) + "/" + corner_probe_letters()[b]);
  return names;
}

const std::string& corner_probe_letters() {
  static const std::string letters = "AOXHTLVZ";  // shapes that differ in more than a stroke
  return letters;
}

data::LabelledImages make_corner_probe(int64_t count, uint64_t seed, const CornerProbeOptions& o) {
  const int gw = font::kGlyphWidth * o.scale, gh = 7 * o.scale;  // capitals use rows 0..6 of the glyph box
  IRIS_CHECK(count >= 0, "make_corner_probe: count must be >= 0, got ", count);
  IRIS_CHECK(o.glyphs >= 2 && o.glyphs <= static_cast<int>(corner_probe_letters().size()),
             "make_corner_probe: glyphs must be in [2, ", corner_probe_letters().size(), "], got ", o.glyphs);
  IRIS_CHECK(o.jitter >= 0 && o.noise >= 0 && o.noise <= 255 && o.scale >= 1 && o.scale <= 8,
             "make_corner_probe: jitter must be >= 0, noise in [0, 255] and scale in [1, 8]");
  IRIS_CHECK(o.size >= 2 * (gh + o.jitter) + 2 && o.size <= 1024, "make_corner_probe: size ", o.size,
             " is too small for two glyphs with jitter ", o.jitter, " (needs >= ", 2 * (gh + o.jitter) + 2, ")");
  const int64_t S = o.size;
  Tensor images = zeros({count, S, S}, DType::u8);
  Tensor labels = zeros({count}, DType::i64);
  uint8_t* px = images.data<uint8_t>();
  int64_t* lab = labels.data<int64_t>();
  for (int64_t i = 0; i < count; ++i) {
    SynthRandom rng(seed, static_cast<uint64_t>(i));
    uint8_t* img = px + i * S * S;
    for (int64_t p = 0; p < S * S; ++p) img[p] = static_cast<uint8_t>(rng.below(o.noise + 1));
    // a: the top letter, b: the bottom one. "same": half the images repeat the letter; "pair": independent.
    bool same = rng.bernoulli(0.5);
    int a = static_cast<int>(rng.below(o.glyphs));
    int b = o.pair_label ? static_cast<int>(rng.below(o.glyphs))
                         : same ? a : static_cast<int>((a + 1 + rng.below(o.glyphs - 1)) % o.glyphs);
    bool main_diagonal = rng.bernoulli(0.5);  // top-left + bottom-right, else top-right + bottom-left
    auto draw = [&](int glyph, bool top, bool left) {
      int64_t x = left ? 1 + rng.range(0, o.jitter) : S - 1 - gw - rng.range(0, o.jitter);
      int64_t y = top ? 1 + rng.range(0, o.jitter) : S - 1 - gh - rng.range(0, o.jitter);
      int ink = static_cast<int>(rng.range(200, 255));
      char c = corner_probe_letters()[glyph];
      for (int gy = 0; gy < gh; ++gy)
        for (int gx = 0; gx < gw; ++gx)
          if (font::glyph_pixel(c, gx / o.scale, gy / o.scale)) img[(y + gy) * S + x + gx] = static_cast<uint8_t>(ink);
    };
    draw(a, true, main_diagonal);
    draw(b, false, !main_diagonal);
    lab[i] = o.pair_label ? a * o.glyphs + b : (same ? 1 : 0);
  }
  return {images, labels};
}

}  // namespace iris::synth
