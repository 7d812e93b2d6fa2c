// The glyph table of the built-in font (our own drawings, one character per line: up to 9 rows of
// 5 cells, '#' ink and '.' paper, missing trailing rows blank) and the code that measures and
// draws text with it. Leaves out: everything a real text renderer does (see font.h).
#include "image/font.h"

#include "image/draw.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

namespace iris::font {

namespace {

struct GlyphArt {
  char character;
  const char* rows;  // rows separated by spaces, top row first
};

// Capitals and digits use rows 0..6; lowercase has its x-height on rows 2..6; descenders reach
// rows 7..8.
constexpr GlyphArt kGlyphArt[] = {
    {' ', ""},
    {'!', "..#.. ..#.. ..#.. ..#.. ..#.. ..... ..#.."},
    {'"', ".#.#. .#.#. .#.#."},
    {'#', ".#.#. .#.#. ##### .#.#. ##### .#.#. .#.#."},
    {'$', "..#.. .#### #.#.. .###. ..#.# ####. ..#.."},
    {'%', "##... ##..# ...#. ..#.. .#... #..## ...##"},
    {'&', ".##.. #..#. #.#.. .#... #.#.# #..#. .##.#"},
    {'\'', "..#.. ..#.. ..#.."},
    {'(', "...#. ..#.. .#... .#... .#... ..#.. ...#."},
    {')', ".#... ..#.. ...#. ...#. ...#. ..#.. .#..."},
    {'*', "..... ..#.. #.#.# .###. #.#.# ..#.. ....."},
    {'+', "..... ..#.. ..#.. ##### ..#.. ..#.. ....."},
    {',', "..... ..... ..... ..... ..... .##.. ..#.. .#..."},
    {'-', "..... ..... ..... ##### ..... ..... ....."},
    {'.', "..... ..... ..... ..... ..... .##.. .##.."},
    {'/', "....# ....# ...#. ..#.. .#... #.... #...."},
    {'0', ".###. #...# #..## #.#.# ##..# #...# .###."},
    {'1', "..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###."},
    {'2', ".###. #...# ....# ...#. ..#.. .#... #####"},
    {'3', ".###. #...# ....# ..##. ....# #...# .###."},
    {'4', "...#. ..##. .#.#. #..#. ##### ...#. ...#."},
    {'5', "##### #.... ####. ....# ....# #...# .###."},
    {'6', "..##. .#... #.... ####. #...# #...# .###."},
    {'7', "##### ....# ...#. ..#.. .#... .#... .#..."},
    {'8', ".###. #...# #...# .###. #...# #...# .###."},
    {'9', ".###. #...# #...# .#### ....# ...#. .##.."},
    {':', "..... .##.. .##.. ..... .##.. .##.. ....."},
    {';', "..... .##.. .##.. ..... .##.. .##.. ..#.. .#..."},
    {'<', "...#. ..#.. .#... #.... .#... ..#.. ...#."},
    {'=', "..... ..... ##### ..... ##### ..... ....."},
    {'>', ".#... ..#.. ...#. ....# ...#. ..#.. .#..."},
    {'?', ".###. #...# ....# ...#. ..#.. ..... ..#.."},
    {'@', ".###. #...# #.### #.#.# #.### #.... .###."},
    {'A', ".###. #...# #...# ##### #...# #...# #...#"},
    {'B', "####. #...# #...# ####. #...# #...# ####."},
    {'C', ".###. #...# #.... #.... #.... #...# .###."},
    {'D', "####. #...# #...# #...# #...# #...# ####."},
    {'E', "##### #.... #.... ####. #.... #.... #####"},
    {'F', "##### #.... #.... ####. #.... #.... #...."},
    {'G', ".###. #...# #.... #.### #...# #...# .####"},
    {'H', "#...# #...# #...# ##### #...# #...# #...#"},
    {'I', ".###. ..#.. ..#.. ..#.. ..#.. ..#.. .###."},
    {'J', "..### ...#. ...#. ...#. ...#. #..#. .##.."},
    {'K', "#...# #..#. #.#.. ##... #.#.. #..#. #...#"},
    {'L', "#.... #.... #.... #.... #.... #.... #####"},
    {'M', "#...# ##.## #.#.# #.#.# #...# #...# #...#"},
    {'N', "#...# #...# ##..# #.#.# #..## #...# #...#"},
    {'O', ".###. #...# #...# #...# #...# #...# .###."},
    {'P', "####. #...# #...# ####. #.... #.... #...."},
    {'Q', ".###. #...# #...# #...# #.#.# #..#. .##.#"},
    {'R', "####. #...# #...# ####. #.#.. #..#. #...#"},
    {'S', ".#### #.... #.... .###. ....# ....# ####."},
    {'T', "##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#.."},
    {'U', "#...# #...# #...# #...# #...# #...# .###."},
    {'V', "#...# #...# #...# #...# #...# .#.#. ..#.."},
    {'W', "#...# #...# #...# #.#.# #.#.# #.#.# .#.#."},
    {'X', "#...# #...# .#.#. ..#.. .#.#. #...# #...#"},
    {'Y', "#...# #...# .#.#. ..#.. ..#.. ..#.. ..#.."},
    {'Z', "##### ....# ...#. ..#.. .#... #.... #####"},
    {'[', ".###. .#... .#... .#... .#... .#... .###."},
    {'\\', "#.... #.... .#... ..#.. ...#. ....# ....#"},
    {']', ".###. ...#. ...#. ...#. ...#. ...#. .###."},
    {'^', "..#.. .#.#. #...#"},
    {'_', "..... ..... ..... ..... ..... ..... ..... #####"},
    {'`', ".#... ..#.."},
    {'a', "..... ..... .###. ....# .#### #...# .####"},
    {'b', "#.... #.... ####. #...# #...# #...# ####."},
    {'c', "..... ..... .###. #.... #.... #...# .###."},
    {'d', "....# ....# .#### #...# #...# #...# .####"},
    {'e', "..... ..... .###. #...# ##### #.... .###."},
    {'f', "..##. .#..# .#... ###.. .#... .#... .#..."},
    {'g', "..... ..... .#### #...# #...# #...# .#### ....# .###."},
    {'h', "#.... #.... ####. #...# #...# #...# #...#"},
    {'i', "..#.. ..... .##.. ..#.. ..#.. ..#.. .###."},
    {'j', "...#. ..... ..##. ...#. ...#. ...#. ...#. #..#. .##.."},
    {'k', "#.... #.... #..#. #.#.. ##... #.#.. #..#."},
    {'l', ".##.. ..#.. ..#.. ..#.. ..#.. ..#.. .###."},
    {'m', "..... ..... ##.#. #.#.# #.#.# #.#.# #.#.#"},
    {'n', "..... ..... ####. #...# #...# #...# #...#"},
    {'o', "..... ..... .###. #...# #...# #...# .###."},
    {'p', "..... ..... ####. #...# #...# #...# ####. #.... #...."},
    {'q', "..... ..... .#### #...# #...# #...# .#### ....# ....#"},
    {'r', "..... ..... #.##. ##..# #.... #.... #...."},
    {'s', "..... ..... .#### #.... .###. ....# ####."},
    {'t', ".#... .#... ###.. .#... .#... .#..# ..##."},
    {'u', "..... ..... #...# #...# #...# #..## .##.#"},
    {'v', "..... ..... #...# #...# #...# .#.#. ..#.."},
    {'w', "..... ..... #...# #...# #.#.# #.#.# .#.#."},
    {'x', "..... ..... #...# .#.#. ..#.. .#.#. #...#"},
    {'y', "..... ..... #...# #...# #...# #...# .#### ....# .###."},
    {'z', "..... ..... ##### ...#. ..#.. .#... #####"},
    {'{', "...## ..#.. ..#.. .#... ..#.. ..#.. ...##"},
    {'|', "..#.. ..#.. ..#.. ..#.. ..#.. ..#.. ..#.. ..#.."},
    {'}', "##... ..#.. ..#.. ...#. ..#.. ..#.. ##..."},
    {'~', "..... ..... .#... #.#.# ...#. ..... ....."},
};

constexpr int kFirstChar = 32, kLastChar = 126, kNumGlyphs = kLastChar - kFirstChar + 1;
static_assert(sizeof(kGlyphArt) / sizeof(kGlyphArt[0]) == kNumGlyphs, "one glyph per printable ASCII character");

// Bit x of rows[y] (bit 4 = leftmost column) is ink.
using GlyphBits = std::array<uint8_t, kGlyphHeight>;

std::array<GlyphBits, kNumGlyphs> build_glyph_bits() {
  std::array<GlyphBits, kNumGlyphs> table{};
  for (const GlyphArt& art : kGlyphArt) {
    int index = static_cast<unsigned char>(art.character) - kFirstChar;
    IRIS_ASSERT(index >= 0 && index < kNumGlyphs);
    GlyphBits bits{};
    int row = 0, col = 0;
    for (const char* p = art.rows; *p; ++p) {
      if (*p == ' ') {
        IRIS_ASSERT(col == kGlyphWidth);
        ++row;
        col = 0;
        continue;
      }
      IRIS_ASSERT(row < kGlyphHeight && col < kGlyphWidth && (*p == '#' || *p == '.'));
      if (*p == '#') bits[row] |= static_cast<uint8_t>(1u << (kGlyphWidth - 1 - col));
      ++col;
    }
    IRIS_ASSERT(col == 0 || col == kGlyphWidth);
    table[index] = bits;
  }
  return table;
}

const GlyphBits& glyph_bits(unsigned char c) {
  static const std::array<GlyphBits, kNumGlyphs> table = build_glyph_bits();
  if (c < kFirstChar || c > kLastChar) c = '?';
  return table[c - kFirstChar];
}

// Splits at '\n' and turns every UTF-8 code point outside printable ASCII into one '?'.
std::vector<std::string> printable_lines(const std::string& text) {
  std::vector<std::string> lines(1);
  for (unsigned char c : text) {
    if (c == '\n') {
      lines.emplace_back();
    } else if (c >= 0x80 && c < 0xC0) {
      continue;  // UTF-8 continuation byte: its lead byte already became '?'
    } else {
      lines.back().push_back((c >= kFirstChar && c <= kLastChar) ? static_cast<char>(c) : '?');
    }
  }
  return lines;
}

void check_scale(int scale, const char* op) {
  IRIS_CHECK(scale >= 1 && scale <= 64, op, ": scale must be in [1, 64], got ", scale);
}

}  // namespace

bool glyph_pixel(char c, int x, int y) {
  if (x < 0 || x >= kGlyphWidth || y < 0 || y >= kGlyphHeight) return false;
  return (glyph_bits(static_cast<unsigned char>(c))[y] >> (kGlyphWidth - 1 - x)) & 1u;
}

int text_width(const std::string& text, int scale) {
  check_scale(scale, "text_width");
  size_t widest = 0;
  for (const std::string& line : printable_lines(text)) widest = std::max(widest, line.size());
  if (widest == 0) return 0;
  return static_cast<int>((widest * kAdvance - (kAdvance - kGlyphWidth)) * scale);
}

int text_height(const std::string& text, int scale) {
  check_scale(scale, "text_height");
  if (text.empty()) return 0;
  int lines = static_cast<int>(printable_lines(text).size());
  return ((lines - 1) * kLineHeight + kGlyphHeight) * scale;
}

void draw_text(Image& image, int x, int y, const std::string& text, Color color, int scale) {
  check_scale(scale, "draw_text");
  IRIS_CHECK(!image.empty(), "draw_text: the image is empty; create it with Image(height, width, channels)");
  for (const std::string& line : printable_lines(text)) {
    for (size_t ci = 0; ci < line.size(); ++ci) {
      const GlyphBits& bits = glyph_bits(static_cast<unsigned char>(line[ci]));
      int left = x + static_cast<int>(ci) * kAdvance * scale;
      for (int gy = 0; gy < kGlyphHeight; ++gy)
        for (int gx = 0; gx < kGlyphWidth; ++gx)
          if ((bits[gy] >> (kGlyphWidth - 1 - gx)) & 1u)
            fill_rect(image, left + gx * scale, y + gy * scale, scale, scale, color);
    }
    y += kLineHeight * scale;
  }
}

}  // namespace iris::font
