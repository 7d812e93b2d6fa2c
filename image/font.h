// A tiny built-in bitmap font for labels on pictures (plots, sample grids, boxes): our own 5x9
// glyphs for printable ASCII 32..126 (capitals 7 rows tall, 2 rows of descender below), drawn at
// an integer scale. Leaves out: anti-aliasing, kerning, proportional widths and non-ASCII (every
// other character, including each UTF-8 code point, is drawn as '?').
#pragma once

#include <string>

#include "image/image.h"

namespace iris::font {

constexpr int kGlyphWidth = 5;    // pixels per glyph row at scale 1
constexpr int kGlyphHeight = 9;   // rows 0..6: capitals and digits; rows 7..8: descenders (g, j, p, q, y)
constexpr int kAdvance = 6;       // horizontal step from one character to the next (1 column of space)
constexpr int kLineHeight = 11;   // vertical step from one text line to the next

// Whether pixel (x, y) of the glyph for `c` is ink; x in [0, 5), y in [0, 9). Characters outside
// 32..126 use the '?' glyph; coordinates outside the glyph box are never ink.
bool glyph_pixel(char c, int x, int y);

// Size in pixels of `text` drawn at `scale` (lines split at '\n'; width of the widest line).
// The width leaves out the trailing space column of the last character.
int text_width(const std::string& text, int scale = 1);
int text_height(const std::string& text, int scale = 1);

// Draws `text` with its top-left corner at pixel (x, y) (x = column, y = row), each glyph pixel
// a scale x scale square in `color`. Pixels outside the image are clipped.
void draw_text(Image& image, int x, int y, const std::string& text, Color color, int scale = 1);

}  // namespace iris::font
