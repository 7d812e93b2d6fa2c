// Colour-coded label masks (see mask_overlay.h): the palette, alpha blending of label colours over
// an image, masks as colours, and a legend drawn with the built-in font.
// Leaves out: anti-aliased region borders and legends laid out in several columns.
#include "image/mask_overlay.h"

#include <algorithm>
#include <cmath>

#include "image/draw.h"
#include "image/font.h"
#include "tensor/error.h"

namespace iris {

namespace {

constexpr Color kFirstLabelColors[] = {
    {0, 0, 0},       // 0 background
    {255, 150, 30},  // 1 skin: orange
    {140, 60, 255},  // 2 hair: violet
    {40, 200, 60},   // 3 left brow: green
    {0, 110, 40},    // 4 right brow: dark green
    {30, 100, 255},  // 5 left eye: blue
    {0, 220, 255},   // 6 right eye: cyan
    {255, 40, 200},  // 7 nose: magenta
    {230, 20, 30},   // 8 mouth: red
    {255, 240, 0},   // 9 glasses: yellow
};

uint8_t to_byte(double v) { return static_cast<uint8_t>(std::lround(std::min(255.0, std::max(0.0, v)))); }

Color hsv_color(double h, double s, double v) {
  h = (h - std::floor(h)) * 6.0;
  int sector = static_cast<int>(h) % 6;
  double f = h - std::floor(h), p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
  double rgb[6][3] = {{v, t, p}, {q, v, p}, {p, v, t}, {p, q, v}, {t, p, v}, {v, p, q}};
  return Color(to_byte(rgb[sector][0] * 255), to_byte(rgb[sector][1] * 255), to_byte(rgb[sector][2] * 255));
}

void check_labels(const Image& labels, const char* op) {
  IRIS_CHECK(!labels.empty(), op, ": the label map is empty");
  IRIS_CHECK(labels.channels() == 1, op, ": labels must have 1 channel (label ids), got ", labels.channels(),
             " channels");
}

void check_options(const MaskOverlayOptions& options, const char* op) {
  IRIS_CHECK(std::isfinite(options.alpha) && options.alpha >= 0.0 && options.alpha <= 1.0, op,
             ": alpha must be in [0, 1], got ", options.alpha);
  IRIS_CHECK(options.palette.size() <= 256, op, ": the palette has ", options.palette.size(),
             " colours; labels only go up to 255");
}

}  // namespace

Color mask_label_color(int label) {
  IRIS_CHECK(label >= 0 && label <= 255, "mask_label_color: label ", label, " is out of range 0..255");
  if (label < 10) return kFirstLabelColors[label];
  // Hues by the golden ratio, alternating brightness so neighbours in id differ.
  double hue = std::fmod(0.13 + label * 0.6180339887498949, 1.0);
  return hsv_color(hue, 0.75, label % 2 ? 0.95 : 0.7);
}

Color mask_overlay_color(int label, const MaskOverlayOptions& options) {
  if (label >= 0 && static_cast<size_t>(label) < options.palette.size()) return options.palette[label];
  return mask_label_color(label);
}

Image overlay_mask(const Image& image, const Image& labels, const MaskOverlayOptions& options) {
  IRIS_CHECK(!image.empty(), "overlay_mask: the image is empty");
  check_labels(labels, "overlay_mask");
  check_options(options, "overlay_mask");
  IRIS_CHECK(image.height() == labels.height() && image.width() == labels.width(), "overlay_mask: image is ",
             image.height(), " x ", image.width(), " but labels are ", labels.height(), " x ", labels.width(),
             "; they must match pixel for pixel");
  Image rgb = convert_channels(image, 3);
  Color colors[256];
  for (int l = 0; l < 256; ++l) colors[l] = mask_overlay_color(l, options);
  const int a = static_cast<int>(std::lround(options.alpha * 255.0));
  const size_t n = static_cast<size_t>(image.height()) * image.width();
  uint8_t* p = rgb.data();
  for (size_t i = 0; i < n; ++i) {
    int label = labels.data()[i];
    if (label == 0 && !options.paint_background) continue;
    const uint8_t c[3] = {colors[label].r, colors[label].g, colors[label].b};
    for (int k = 0; k < 3; ++k) p[3 * i + k] = static_cast<uint8_t>((c[k] * a + p[3 * i + k] * (255 - a) + 127) / 255);
  }
  return rgb;
}

Image colorize_mask(const Image& labels, const MaskOverlayOptions& options) {
  check_labels(labels, "colorize_mask");
  check_options(options, "colorize_mask");
  Image out(labels.height(), labels.width(), 3);
  const size_t n = static_cast<size_t>(labels.height()) * labels.width();
  for (size_t i = 0; i < n; ++i) {
    Color c = mask_overlay_color(labels.data()[i], options);
    out.data()[3 * i] = c.r;
    out.data()[3 * i + 1] = c.g;
    out.data()[3 * i + 2] = c.b;
  }
  return out;
}

Image mask_legend(const std::vector<std::string>& label_names, const MaskOverlayOptions& options, int text_scale,
                  int first_label) {
  check_options(options, "mask_legend");
  IRIS_CHECK(!label_names.empty(), "mask_legend: no label names");
  IRIS_CHECK(text_scale >= 1 && text_scale <= 8, "mask_legend: text_scale must be in [1, 8], got ", text_scale);
  IRIS_CHECK(first_label >= 0 && first_label + static_cast<int64_t>(label_names.size()) <= 256,
             "mask_legend: labels ", first_label, "..", first_label + static_cast<int64_t>(label_names.size()) - 1,
             " do not fit in 0..255");
  const int pad = 4, swatch = font::kGlyphHeight * text_scale, row = (font::kLineHeight + 1) * text_scale;
  int text_width = 0;
  for (const std::string& name : label_names) text_width = std::max(text_width, font::text_width(name, text_scale));
  const int rows = static_cast<int>(label_names.size());
  Image legend(2 * pad + (rows - 1) * row + swatch, pad + swatch + 4 + text_width + pad, 3, colors::white);
  for (int i = 0; i < rows; ++i) {
    int y = pad + i * row;
    // A grey border (so a black or white label shows on white) around the label's colour.
    draw_rect(legend, pad, y, swatch, swatch, Color(120, 120, 120), 1);
    fill_rect(legend, pad + 1, y + 1, swatch - 2, swatch - 2, mask_overlay_color(first_label + i, options));
    font::draw_text(legend, pad + swatch + 4, y, label_names[static_cast<size_t>(i)], colors::black, text_scale);
  }
  return legend;
}

Image append_legend(const Image& picture, const Image& legend) {
  IRIS_CHECK(!picture.empty() && !legend.empty(), "append_legend: the picture or the legend is empty");
  constexpr int kGap = 6;
  Image out(std::max(picture.height(), legend.height()), picture.width() + kGap + legend.width(), 3, colors::white);
  paste_image(out, convert_channels(picture, 3), 0, 0);
  paste_image(out, convert_channels(legend, 3), picture.width() + kGap, 0);
  return out;
}

}  // namespace iris
