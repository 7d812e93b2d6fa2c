// The canvas API of draw.h: clipped pixel writes with alpha blending, Bresenham lines (clipped to
// the image first, so far-away endpoints cost nothing), rectangles, pasting with scaling, captioned
// image grids and labelled boxes. Leaves out: anti-aliasing (pictures here are diagnostics).
#include "image/draw.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace iris {

namespace {

uint8_t luma(Color c) { return static_cast<uint8_t>((299 * c.r + 587 * c.g + 114 * c.b + 500) / 1000); }

// Blends `color` (with its alpha) into the pixel at p, which has `channels` channels.
void blend_into(uint8_t* p, int channels, Color color) {
  if (channels == 1) {
    uint8_t value = luma(color);
    p[0] = color.a == 255 ? value : static_cast<uint8_t>((value * color.a + p[0] * (255 - color.a) + 127) / 255);
    return;
  }
  const uint8_t rgb[3] = {color.r, color.g, color.b};
  for (int c = 0; c < 3; ++c)
    p[c] = color.a == 255 ? rgb[c] : static_cast<uint8_t>((rgb[c] * color.a + p[c] * (255 - color.a) + 127) / 255);
  if (channels == 4) p[3] = static_cast<uint8_t>(color.a + (p[3] * (255 - color.a) + 127) / 255);
}

void check_canvas(const Image& image, const char* op) {
  IRIS_CHECK(!image.empty(), op, ": the image is empty; create it with Image(height, width, channels)");
}

void check_thickness(int thickness, const char* op) {
  IRIS_CHECK(thickness >= 1 && thickness <= 1000, op, ": thickness must be in [1, 1000], got ", thickness);
}

// Clips the segment to the box [lo_x, hi_x] x [lo_y, hi_y] (Liang-Barsky); false if it misses.
bool clip_segment(double& x0, double& y0, double& x1, double& y1, double lo_x, double lo_y, double hi_x,
                  double hi_y) {
  double t0 = 0.0, t1 = 1.0, dx = x1 - x0, dy = y1 - y0;
  const double p[4] = {-dx, dx, -dy, dy};
  const double q[4] = {x0 - lo_x, hi_x - x0, y0 - lo_y, hi_y - y0};
  for (int i = 0; i < 4; ++i) {
    if (p[i] == 0.0) {
      if (q[i] < 0.0) return false;
      continue;
    }
    double t = q[i] / p[i];
    if (p[i] < 0.0) t0 = std::max(t0, t);
    else t1 = std::min(t1, t);
    if (t0 > t1) return false;
  }
  double nx0 = x0 + t0 * dx, ny0 = y0 + t0 * dy, nx1 = x0 + t1 * dx, ny1 = y0 + t1 * dy;
  x0 = nx0, y0 = ny0, x1 = nx1, y1 = ny1;
  return true;
}

// A caption line cut to at most max_width pixels, ending in ".." when cut.
std::string fit_text(const std::string& line, int max_width, int scale) {
  if (font::text_width(line, scale) <= max_width) return line;
  std::string cut = line;
  while (!cut.empty() && font::text_width(cut + "..", scale) > max_width) cut.pop_back();
  return cut.empty() ? std::string() : cut + "..";
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines(1);
  for (char c : text) {
    if (c == '\n') lines.emplace_back();
    else lines.back().push_back(c);
  }
  return lines;
}

}  // namespace

void set_pixel(Image& image, int x, int y, Color color) {
  if (!image.contains(y, x)) return;
  blend_into(image.data() + (static_cast<size_t>(y) * image.width() + x) * image.channels(), image.channels(),
             color);
}

void fill_rect(Image& image, int x, int y, int width, int height, Color color) {
  check_canvas(image, "fill_rect");
  if (width <= 0 || height <= 0) return;
  int64_t x0 = std::max<int64_t>(x, 0), y0 = std::max<int64_t>(y, 0);
  int64_t x1 = std::min<int64_t>(int64_t(x) + width, image.width());
  int64_t y1 = std::min<int64_t>(int64_t(y) + height, image.height());
  const int channels = image.channels();
  for (int64_t py = y0; py < y1; ++py) {
    uint8_t* row = image.data() + static_cast<size_t>(py) * image.width() * channels;
    for (int64_t px = x0; px < x1; ++px) blend_into(row + px * channels, channels, color);
  }
}

void draw_line(Image& image, int x0, int y0, int x1, int y1, Color color, int thickness) {
  check_canvas(image, "draw_line");
  check_thickness(thickness, "draw_line");
  const int half = thickness / 2;
  // Far-away endpoints would make Bresenham walk millions of steps outside the picture: clip to a
  // margin of the brush size around the image first (only when an end lies outside).
  const int margin = thickness + 1;
  auto outside = [&](int x, int y) {
    return x < -margin || y < -margin || x > image.width() + margin || y > image.height() + margin;
  };
  if (outside(x0, y0) || outside(x1, y1)) {
    double fx0 = x0, fy0 = y0, fx1 = x1, fy1 = y1;
    if (!clip_segment(fx0, fy0, fx1, fy1, -margin, -margin, image.width() + margin, image.height() + margin))
      return;
    x0 = static_cast<int>(std::lround(fx0)), y0 = static_cast<int>(std::lround(fy0));
    x1 = static_cast<int>(std::lround(fx1)), y1 = static_cast<int>(std::lround(fy1));
  }
  int dx = std::abs(x1 - x0), dy = -std::abs(y1 - y0);
  int step_x = x0 < x1 ? 1 : -1, step_y = y0 < y1 ? 1 : -1;
  int error = dx + dy;
  for (;;) {
    if (thickness == 1) set_pixel(image, x0, y0, color);
    else fill_rect(image, x0 - half, y0 - half, thickness, thickness, color);
    if (x0 == x1 && y0 == y1) break;
    int twice = 2 * error;
    if (twice >= dy) error += dy, x0 += step_x;
    if (twice <= dx) error += dx, y0 += step_y;
  }
}

void draw_rect(Image& image, int x, int y, int width, int height, Color color, int thickness) {
  check_canvas(image, "draw_rect");
  check_thickness(thickness, "draw_rect");
  if (width <= 0 || height <= 0) return;
  int t = std::min({thickness, (width + 1) / 2, (height + 1) / 2});
  fill_rect(image, x, y, width, t, color);                              // top
  fill_rect(image, x, y + height - t, width, t, color);                 // bottom
  fill_rect(image, x, y + t, t, height - 2 * t, color);                 // left
  fill_rect(image, x + width - t, y + t, t, height - 2 * t, color);     // right
}

void draw_label(Image& image, int x, int y, const std::string& text, Color text_color, Color background, int scale,
                int padding) {
  check_canvas(image, "draw_label");
  IRIS_CHECK(padding >= 0 && padding <= 1000, "draw_label: padding must be in [0, 1000], got ", padding);
  int width = font::text_width(text, scale), height = font::text_height(text, scale);
  fill_rect(image, x, y, width + 2 * padding, height + 2 * padding, background);
  font::draw_text(image, x + padding, y + padding, text, text_color, scale);
}

void paste_image(Image& target, const Image& source, int x, int y, int width, int height) {
  check_canvas(target, "paste_image");
  if (source.empty()) return;
  IRIS_CHECK(width == -1 || width >= 0, "paste_image: width must be -1 (keep) or >= 0, got ", width);
  IRIS_CHECK(height == -1 || height >= 0, "paste_image: height must be -1 (keep) or >= 0, got ", height);
  if (width == -1) width = source.width();
  if (height == -1) height = source.height();
  if (width == 0 || height == 0) return;
  // Only the part that lands on the target is computed.
  int64_t x0 = std::max<int64_t>(x, 0), y0 = std::max<int64_t>(y, 0);
  int64_t x1 = std::min<int64_t>(int64_t(x) + width, target.width());
  int64_t y1 = std::min<int64_t>(int64_t(y) + height, target.height());
  if (x0 >= x1 || y0 >= y1) return;
  bool same_size = width == source.width() && height == source.height();
  bool whole_factor = width % source.width() == 0 && height % source.height() == 0 &&
                      width / source.width() == height / source.height();
  if (same_size || whole_factor) {
    int factor = width / source.width();
    for (int64_t py = y0; py < y1; ++py)
      for (int64_t px = x0; px < x1; ++px)
        set_pixel(target, int(px), int(py),
                  source.pixel(int((py - y) / factor), int((px - x) / factor)));
    return;
  }
  Image scaled = resize(source, height, width);
  for (int64_t py = y0; py < y1; ++py)
    for (int64_t px = x0; px < x1; ++px) set_pixel(target, int(px), int(py), scaled.pixel(int(py - y), int(px - x)));
}

Image make_image_grid(const std::vector<GridCell>& cells, const GridOptions& options) {
  IRIS_CHECK(!cells.empty(), "make_image_grid: no cells; pass at least one image");
  IRIS_CHECK(options.columns >= 0, "make_image_grid: columns must be >= 0 (0: about square), got ", options.columns);
  IRIS_CHECK(options.cell_width >= 0 && options.cell_height >= 0 && options.cell_width <= 4096 &&
                 options.cell_height <= 4096,
             "make_image_grid: cell_width and cell_height must be in [0, 4096] (0: automatic), got ",
             options.cell_width, " and ", options.cell_height);
  IRIS_CHECK(options.padding >= 0 && options.padding <= 256, "make_image_grid: padding must be in [0, 256], got ",
             options.padding);
  IRIS_CHECK(options.text_scale >= 1 && options.text_scale <= 16,
             "make_image_grid: text_scale must be in [1, 16], got ", options.text_scale);
  const int count = static_cast<int>(cells.size());
  for (int i = 0; i < count; ++i)
    IRIS_CHECK(!cells[i].image.empty(), "make_image_grid: cell ", i, " has an empty image");
  int columns = options.columns > 0 ? std::min(options.columns, count)
                                    : static_cast<int>(std::ceil(std::sqrt(static_cast<double>(count))));
  int rows = (count + columns - 1) / columns;

  // Image area of a cell: the widest image, enlarged by a whole factor to at least 64 pixels.
  int image_width = options.cell_width;
  if (image_width == 0) {
    int widest = 0;
    for (const GridCell& cell : cells) widest = std::max(widest, cell.image.width());
    image_width = widest * std::max(1, (64 + widest - 1) / widest);
    image_width = std::min(image_width, 4096);
  }
  auto scaled_height = [&](const Image& im) {
    return std::max(1, static_cast<int>(std::lround(double(im.height()) * image_width / im.width())));
  };
  int image_height = options.cell_height;
  if (image_height == 0) {
    for (const GridCell& cell : cells) image_height = std::max(image_height, scaled_height(cell.image));
    image_height = std::min(image_height, 4096);
  }

  // Column width: wide enough for the captions (up to 4 image widths), then captions are cut.
  const int scale = options.text_scale;
  int caption_lines = 0, caption_width = 0;
  for (const GridCell& cell : cells) {
    if (cell.caption.empty()) continue;
    caption_lines = std::max(caption_lines, static_cast<int>(split_lines(cell.caption).size()));
    caption_width = std::max(caption_width, font::text_width(cell.caption, scale));
  }
  int column_width = std::max(image_width, std::min(caption_width, 4 * image_width));
  int caption_height = caption_lines == 0 ? 0 : 3 + ((caption_lines - 1) * font::kLineHeight + font::kGlyphHeight) * scale;
  int row_height = image_height + caption_height;
  int title_scale = scale + 1;
  int title_height = options.title.empty() ? 0 : font::text_height(options.title, title_scale) + options.padding;

  const int pad = options.padding;
  int64_t total_width = pad + int64_t(columns) * (column_width + pad);
  int64_t total_height = pad + title_height + int64_t(rows) * (row_height + pad);
  IRIS_CHECK(total_width * total_height <= kMaxImagePixels, "make_image_grid: the grid would be ", total_width, "x",
             total_height, " pixels, over the limit of ", kMaxImagePixels, "; use fewer cells or smaller cells");
  int title_width = font::text_width(options.title, title_scale);
  total_width = std::max<int64_t>(total_width, std::min<int64_t>(title_width + 2 * pad, 4096));
  Image grid(static_cast<int>(total_height), static_cast<int>(total_width), 3, options.background);
  if (!options.title.empty())
    font::draw_text(grid, std::max(pad, int(total_width - title_width) / 2), pad, options.title, colors::black,
                    title_scale);

  for (int i = 0; i < count; ++i) {
    const GridCell& cell = cells[i];
    int left = pad + (i % columns) * (column_width + pad);
    int top = pad + title_height + (i / columns) * (row_height + pad);
    // Fit the image into image_width x image_height keeping its aspect ratio, centred.
    double fit = std::min(double(image_width) / cell.image.width(), double(image_height) / cell.image.height());
    int w = std::max(1, static_cast<int>(std::lround(cell.image.width() * fit)));
    int h = std::max(1, static_cast<int>(std::lround(cell.image.height() * fit)));
    paste_image(grid, cell.image, left + (column_width - w) / 2, top + (image_height - h) / 2, w, h);
    int line_top = top + image_height + 3;
    for (const std::string& line : split_lines(cell.caption)) {
      std::string shown = fit_text(line, column_width, scale);
      int text_w = font::text_width(shown, scale);
      font::draw_text(grid, left + (column_width - text_w) / 2, line_top, shown, cell.caption_color, scale);
      line_top += font::kLineHeight * scale;
    }
  }
  return grid;
}

void draw_boxes(Image& image, const std::vector<LabeledBox>& boxes, int thickness, int text_scale) {
  check_canvas(image, "draw_boxes");
  check_thickness(thickness, "draw_boxes");
  IRIS_CHECK(text_scale >= 1 && text_scale <= 16, "draw_boxes: text_scale must be in [1, 16], got ", text_scale);
  auto to_pixel = [](double v) { return static_cast<int>(std::lround(std::clamp<double>(v, -1e6, 1e6))); };
  for (size_t i = 0; i < boxes.size(); ++i) {
    const LabeledBox& labeled = boxes[i];
    const Box& b = labeled.box;
    IRIS_CHECK(std::isfinite(b.x0) && std::isfinite(b.y0) && std::isfinite(b.x1) && std::isfinite(b.y1),
               "draw_boxes: box ", i, " has a non-finite corner (", b.x0, ", ", b.y0, ", ", b.x1, ", ", b.y1, ")");
    int x0 = to_pixel(std::min(b.x0, b.x1)), x1 = to_pixel(std::max(b.x0, b.x1));
    int y0 = to_pixel(std::min(b.y0, b.y1)), y1 = to_pixel(std::max(b.y0, b.y1));
    draw_rect(image, x0, y0, std::max(1, x1 - x0), std::max(1, y1 - y0), labeled.color, thickness);
    const LabeledBox& box = labeled;
    if (box.label.empty()) continue;
    const int padding = 2;
    int label_height = font::text_height(box.label, text_scale) + 2 * padding;
    Color text_color = luma(box.color) > 150 ? colors::black : colors::white;
    int label_y = y0 - label_height >= 0 ? y0 - label_height : y0 + thickness;
    int label_width = font::text_width(box.label, text_scale) + 2 * padding;
    int label_x = std::max(0, std::min(x0, image.width() - label_width));
    draw_label(image, label_x, label_y, box.label, text_color, box.color, text_scale, padding);
  }
}

}  // namespace iris
