// Colour-coded masks: the fixed palette, blending label colours over images (exact integer formula,
// background left alone or painted, grey and RGBA inputs, palette overrides), masks as colours, the
// legend's swatches and text, appending a legend, and every error path.
#include "image/mask_overlay.h"

#include <set>
#include <tuple>

#include "image/font.h"
#include "tests/helpers.h"

using namespace iris;

namespace {

Image patterned(int h, int w, int channels) {
  Image image(h, w, channels);
  for (size_t i = 0; i < image.size_bytes(); ++i) image.data()[i] = static_cast<uint8_t>((i * 53 + 17) % 256);
  return image;
}

Image label_map(int h, int w, const std::vector<int>& values) {
  Image labels(h, w, 1);
  for (size_t i = 0; i < labels.size_bytes(); ++i) labels.data()[i] = static_cast<uint8_t>(values[i % values.size()]);
  return labels;
}

// The blend written out: (colour * a + pixel * (255 - a) + 127) / 255 with a = round(alpha * 255).
uint8_t blend(uint8_t colour, uint8_t pixel, double alpha) {
  int a = static_cast<int>(std::lround(alpha * 255.0));
  return static_cast<uint8_t>((colour * a + pixel * (255 - a) + 127) / 255);
}

}  // namespace

TEST_CASE("mask_label_color: the fixed first ten colours, then distinct hues") {
  CHECK(mask_label_color(0) == Color(0, 0, 0));
  CHECK(mask_label_color(1) == Color(255, 150, 30));
  CHECK(mask_label_color(2) == Color(140, 60, 255));
  CHECK(mask_label_color(9) == Color(255, 240, 0));
  std::set<std::tuple<int, int, int>> first_ten;
  for (int l = 0; l < 10; ++l) {
    Color c = mask_label_color(l);
    first_ten.insert({c.r, c.g, c.b});
  }
  CHECK(first_ten.size() == 10);
  for (int l = 10; l < 255; ++l) CHECK(mask_label_color(l) != mask_label_color(l + 1));
  CHECK_THROWS_WITH_SUBSTR(mask_label_color(-1), "out of range");
  CHECK_THROWS_WITH_SUBSTR(mask_label_color(256), "out of range");
}

TEST_CASE("overlay_mask blends each label's colour and leaves the background alone") {
  const std::vector<int> values = {0, 1, 2, 9, 200, 5, 0};
  Image image = patterned(5, 7, 3);
  Image labels = label_map(5, 7, values);
  for (double alpha : {0.0, 0.3, 0.55, 1.0}) {
    MaskOverlayOptions options;
    options.alpha = alpha;
    Image out = overlay_mask(image, labels, options);
    REQUIRE(out.height() == 5);
    REQUIRE(out.width() == 7);
    REQUIRE(out.channels() == 3);
    for (int y = 0; y < 5; ++y)
      for (int x = 0; x < 7; ++x) {
        int label = labels.at(y, x);
        Color c = mask_label_color(label);
        const uint8_t colour[3] = {c.r, c.g, c.b};
        for (int k = 0; k < 3; ++k) {
          uint8_t expected = label == 0 ? image.at(y, x, k) : blend(colour[k], image.at(y, x, k), alpha);
          CHECK(out.at(y, x, k) == expected);
        }
      }
  }
  // alpha 1 paints the exact colour; alpha 0 is the image.
  MaskOverlayOptions opaque;
  opaque.alpha = 1.0;
  Image painted = overlay_mask(image, labels, opaque);
  CHECK(painted.pixel(0, 1) == mask_label_color(1));
  CHECK(painted.pixel(0, 4) == mask_label_color(200));
}

TEST_CASE("overlay_mask: painted background, palette override, grey and RGBA images") {
  Image labels = label_map(3, 4, {0, 1, 2});
  Image grey = patterned(3, 4, 1);
  MaskOverlayOptions options;
  options.alpha = 0.5;
  options.paint_background = true;
  options.palette = {Color(10, 20, 30), Color(200, 100, 0)};  // labels 0 and 1; label 2 keeps the fixed colour
  Image out = overlay_mask(grey, labels, options);
  for (int y = 0; y < 3; ++y)
    for (int x = 0; x < 4; ++x) {
      int label = labels.at(y, x);
      Color c = label == 0 ? Color(10, 20, 30) : label == 1 ? Color(200, 100, 0) : mask_label_color(2);
      uint8_t g = grey.at(y, x);
      CHECK(out.at(y, x, 0) == blend(c.r, g, 0.5));
      CHECK(out.at(y, x, 1) == blend(c.g, g, 0.5));
      CHECK(out.at(y, x, 2) == blend(c.b, g, 0.5));
    }
  CHECK(mask_overlay_color(1, options) == Color(200, 100, 0));
  CHECK(mask_overlay_color(2, options) == mask_label_color(2));

  Image rgba = patterned(3, 4, 4);
  Image from_rgba = overlay_mask(rgba, labels);
  CHECK(from_rgba.channels() == 3);
  CHECK(from_rgba.at(0, 0, 0) == rgba.at(0, 0, 0));  // label 0: the image's colour, alpha dropped
  CHECK(from_rgba.at(0, 0, 2) == rgba.at(0, 0, 2));
}

TEST_CASE("colorize_mask gives every pixel its label's colour") {
  Image labels = label_map(4, 3, {0, 3, 8, 42});
  Image out = colorize_mask(labels);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 3; ++x) CHECK(out.pixel(y, x) == mask_label_color(labels.at(y, x)));
  MaskOverlayOptions options;
  options.palette = {Color(1, 2, 3)};
  CHECK(colorize_mask(labels, options).pixel(0, 0) == Color(1, 2, 3));
}

TEST_CASE("mask_legend: swatches in the documented places, names in black") {
  const std::vector<std::string> names = {"background", "skin", "hair"};
  for (int scale : {1, 2}) {
    Image legend = mask_legend(names, {}, scale);
    const int swatch = 9 * scale, row = 12 * scale;
    CHECK(legend.height() == 8 + 2 * row + swatch);
    CHECK(legend.width() == 4 + swatch + 4 + font::text_width("background", scale) + 4);
    for (int i = 0; i < 3; ++i) {
      int y = 4 + i * row;
      CHECK(legend.pixel(y + swatch / 2, 4 + swatch / 2) == mask_label_color(i));  // inside the swatch
      CHECK(legend.pixel(y, 4) == Color(120, 120, 120));                            // its border
      CHECK(legend.pixel(y + swatch / 2, 2) == colors::white);                       // left margin
      int ink = 0;
      for (int yy = y; yy < y + swatch; ++yy)
        for (int xx = 4 + swatch + 4; xx < legend.width(); ++xx) ink += legend.pixel(yy, xx) == colors::black;
      CHECK(ink > 5 * scale * scale);
    }
  }
  // first_label shifts the colours.
  Image shifted = mask_legend({"a", "b"}, {}, 1, 7);
  CHECK(shifted.pixel(4 + 4, 4 + 4) == mask_label_color(7));
  CHECK(shifted.pixel(4 + 12 + 4, 4 + 4) == mask_label_color(8));
}

TEST_CASE("append_legend puts the legend to the right of the picture") {
  Image picture = patterned(20, 10, 3);
  Image legend = mask_legend({"x"});
  Image out = append_legend(picture, legend);
  CHECK(out.height() == std::max(20, legend.height()));
  CHECK(out.width() == 10 + 6 + legend.width());
  for (int y = 0; y < 20; ++y)
    for (int x = 0; x < 10; ++x) CHECK(out.pixel(y, x) == picture.pixel(y, x));
  CHECK(out.pixel(0, 12) == colors::white);  // the gap
  CHECK(out.pixel(8, 16 + 8) == mask_label_color(0));
}

TEST_CASE("mask overlay errors") {
  Image image = patterned(3, 4, 3);
  CHECK_THROWS_WITH_SUBSTR(overlay_mask(image, label_map(3, 5, {1})), "must match pixel for pixel");
  CHECK_THROWS_WITH_SUBSTR(overlay_mask(image, patterned(3, 4, 3)), "1 channel");
  CHECK_THROWS_WITH_SUBSTR(overlay_mask(Image(), label_map(3, 4, {1})), "image is empty");
  CHECK_THROWS_WITH_SUBSTR(overlay_mask(image, Image()), "label map is empty");
  MaskOverlayOptions bad;
  bad.alpha = 1.5;
  CHECK_THROWS_WITH_SUBSTR(overlay_mask(image, label_map(3, 4, {1}), bad), "alpha must be in [0, 1]");
  bad.alpha = std::nan("");
  CHECK_THROWS_WITH_SUBSTR(colorize_mask(label_map(3, 4, {1}), bad), "alpha must be in [0, 1]");
  CHECK_THROWS_WITH_SUBSTR(mask_legend({}), "no label names");
  CHECK_THROWS_WITH_SUBSTR(mask_legend({"a"}, {}, 0), "text_scale");
  CHECK_THROWS_WITH_SUBSTR(mask_legend({"a", "b"}, {}, 1, 255), "do not fit");
  CHECK_THROWS_WITH_SUBSTR(append_legend(Image(), mask_legend({"a"})), "empty");
}
