// Colour-coded label masks for pictures: a fixed colour per label (hand-picked for 0..9, spread by the
// golden ratio in hue after that), masks blended over images, masks alone as colours, and a legend of
// label names (built-in font) appended beside a picture. Labels are one-channel Images whose values
// are label ids, not grey levels. Leaves out: outlines between regions and transparency per label.
#pragma once

#include <string>
#include <vector>

#include "image/image.h"

namespace iris {

// The fixed colour of a label (0..255): 0 black, 1 orange, 2 violet, 3 green, 4 dark green, 5 blue,
// 6 cyan, 7 magenta, 8 red, 9 yellow (the FACES labels: background, skin, hair, brows, eyes, nose,
// mouth, glasses), then well-spread hues. Throws outside 0..255.
Color mask_label_color(int label);

struct MaskOverlayOptions {
  double alpha = 0.55;              // weight of the label colour in [0, 1] (0: the image, 1: the colour)
  bool paint_background = false;    // label 0 is left as the image unless true
  std::vector<Color> palette;       // colours for labels 0..size-1, overriding mask_label_color
};

// The colour a label gets under `options` (its palette first, then mask_label_color).
Color mask_overlay_color(int label, const MaskOverlayOptions& options = {});

// Blends each pixel's label colour over `image`: out = (colour * a + pixel * (255 - a) + 127) / 255
// per channel with a = round(alpha * 255). image: [H, W, 1 | 3 | 4] (grey is replicated, alpha dropped);
// labels: [H, W, 1]. Returns RGB [H, W, 3]. Throws when the sizes differ or labels has >1 channel.
Image overlay_mask(const Image& image, const Image& labels, const MaskOverlayOptions& options = {});

// The labels alone, each pixel its label's colour: RGB [H, W, 3].
Image colorize_mask(const Image& labels, const MaskOverlayOptions& options = {});

// A legend on white: one row per name (row i is label first_label + i): a swatch of the label's
// colour with a grey border and the name in black. Layout (s = text_scale, 1..8): swatch i fills
// x in [4, 4 + 9 s), y in [4 + 12 s i, 4 + 12 s i + 9 s); its name starts at x = 4 + 9 s + 4.
Image mask_legend(const std::vector<std::string>& label_names, const MaskOverlayOptions& options = {},
                  int text_scale = 1, int first_label = 0);

// `picture` with `legend` to its right (top-aligned, on white, 6 pixels apart). Returns RGB.
Image append_legend(const Image& picture, const Image& legend);

}  // namespace iris
