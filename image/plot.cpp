// Line plots and bar charts drawn with image/draw.h: axis ranges and round ticks, frame, grid, labels
// (the y label rotated a quarter turn); line series as 2-pixel lines with markers when points are few
// and a legend in the corner that covers the fewest plotted pixels; grouped bars with clipped error
// bars, dashed reference lines, a marked axis break and a legend under the plot. Then the
// training-curve helper on top. Leaves out: anti-aliasing; every label uses the 5x9 built-in font.
#include "image/plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "image/draw.h"

namespace iris {

namespace {

constexpr int kInset = 8;          // pixels between the frame and the data range
constexpr int kTextHeight = 7;     // capitals/digits height of the font at scale 1
const Color kAxisColor = colors::black;
const Color kGridColor = Color(225, 225, 225);
const Color kTextColor = Color(30, 30, 30);

struct Axis {
  double lo = 0, hi = 1;       // in plot space (log10 of the value on a log axis)
  double step = 0.2;           // tick step in plot space (linear axes)
  bool log = false;
  std::vector<double> ticks;   // in plot space
  std::vector<std::string> labels;
};

bool usable(double v, bool log) { return std::isfinite(v) && (!log || v > 0); }
double to_plot(double v, bool log) { return log ? std::log10(v) : v; }

Axis linear_axis(double lo, double hi, bool extend_to_ticks, bool integer_steps) {
  Axis axis;
  if (hi - lo < 1e-12 * std::max(1.0, std::fabs(hi))) {
    double pad = integer_steps ? 1.0 : (lo == 0 ? 1.0 : std::fabs(lo) * 0.1);
    lo -= pad, hi += pad;
  }
  axis.step = nice_step(lo, hi, 6);
  if (integer_steps) axis.step = std::max(1.0, std::round(axis.step));
  if (extend_to_ticks) {
    lo = std::floor(lo / axis.step + 1e-9) * axis.step;
    hi = std::ceil(hi / axis.step - 1e-9) * axis.step;
  }
  axis.lo = lo, axis.hi = hi;
  double largest = 0;
  for (double t = std::ceil(lo / axis.step - 1e-9) * axis.step; t <= hi + axis.step * 1e-9; t += axis.step) {
    double tick = std::fabs(t) < axis.step * 1e-9 ? 0.0 : t;
    axis.ticks.push_back(tick);
    largest = std::max(largest, std::fabs(tick));
    if (axis.ticks.size() > 50) break;
  }
  // One notation per axis: when any label would need an exponent, all of them use one.
  bool exponent = largest >= 1e6 || (largest > 0 && largest < 1e-4);
  int digits = std::clamp(static_cast<int>(std::ceil(std::log10(largest / axis.step + 1e-9))) + 1, 1, 8);
  for (double tick : axis.ticks) {
    char buf[48];
    if (exponent && tick != 0) std::snprintf(buf, sizeof buf, "%.*g", digits, tick);
    axis.labels.push_back(exponent && tick != 0 ? std::string(buf) : format_tick(tick, axis.step));
  }
  return axis;
}

// Log axis over [lo, hi] given in log10 units. Wide ranges snap to whole decades with a tick per
// decade (or every few); ranges under two decades keep a 5% margin and tick at 1, 2, 5 x 10^k, or at
// every 1..9 x 10^k when that gives fewer than three ticks.
Axis log_axis(double lo, double hi) {
  Axis axis;
  axis.log = true;
  axis.step = 1;
  if (hi - lo >= 2) {
    axis.lo = std::floor(lo + 1e-9);
    axis.hi = std::ceil(hi - 1e-9);
    int decades = static_cast<int>(axis.hi - axis.lo);
    int every = std::max(1, (decades + 7) / 8);
    for (int k = static_cast<int>(axis.lo); k <= static_cast<int>(axis.hi); k += every) {
      axis.ticks.push_back(k);
      axis.labels.push_back(format_tick(std::pow(10.0, k), std::pow(10.0, k)));
    }
    return axis;
  }
  double span = std::max(hi - lo, 0.05);
  axis.lo = lo - 0.05 * span;
  axis.hi = hi + 0.05 * span;
  for (const std::vector<double>& mantissas : {std::vector<double>{1, 2, 5}, std::vector<double>{1, 2, 3, 4, 5, 6, 7, 8, 9}}) {
    axis.ticks.clear();
    axis.labels.clear();
    for (int k = static_cast<int>(std::floor(axis.lo)); k <= static_cast<int>(std::ceil(axis.hi)); ++k)
      for (double m : mantissas) {
        double value = m * std::pow(10.0, k), t = std::log10(value);
        if (t < axis.lo - 1e-12 || t > axis.hi + 1e-12) continue;
        axis.ticks.push_back(t);
        axis.labels.push_back(format_tick(value, value));
      }
    if (axis.ticks.size() >= 3) break;
  }
  return axis;
}

// Draws `text` turned a quarter turn counter-clockwise (reading bottom to top), its top-left at (x, y).
void draw_text_rotated(Image& image, int x, int y, const std::string& text, Color color) {
  int w = font::text_width(text), h = font::text_height(text);
  if (w == 0 || h == 0) return;
  Image mask(h, w, 1, uint8_t(0));
  font::draw_text(mask, 0, 0, text, colors::white);
  for (int my = 0; my < h; ++my)
    for (int mx = 0; mx < w; ++mx)
      if (mask.at(my, mx) > 127) set_pixel(image, x + my, y + (w - 1 - mx), color);
}


// The title's scale (2 when it fits the width) and the first row below it.
int title_scale_for(const std::string& title, int width) { return font::text_width(title, 2) <= width - 20 ? 2 : 1; }
int top_below_title(const std::string& title, int width) {
  return 12 + (title.empty() ? 0 : font::text_height(title, title_scale_for(title, width)) + 10);
}
// The frame's left column: room for the rotated y label and the widest tick label.
int left_of_value_axis(const Axis& axis, const std::string& y_label) {
  int tick_label_width = 0;
  for (const std::string& label : axis.labels) tick_label_width = std::max(tick_label_width, font::text_width(label));
  return 10 + (y_label.empty() ? 0 : font::kGlyphHeight + 8) + tick_label_width + 8;
}
// The value axis' grid lines, tick marks and tick labels (map_y: plot space -> pixel row), the
// centred title and the y label.
template <class MapY>
void draw_value_axis(Image& image, const Axis& axis, int left, int right, int top, int bottom, const MapY& map_y,
                     const std::string& title, const std::string& y_label) {
  for (size_t i = 0; i < axis.ticks.size(); ++i) {
    int py = static_cast<int>(std::lround(map_y(axis.ticks[i])));
    draw_line(image, left + 1, py, right - 1, py, kGridColor);
    draw_line(image, left - 4, py, left, py, kAxisColor);
    font::draw_text(image, left - 7 - font::text_width(axis.labels[i]), py - kTextHeight / 2, axis.labels[i],
                    kTextColor);
  }
  if (!title.empty()) {
    int scale = title_scale_for(title, image.width());
    font::draw_text(image, (image.width() - font::text_width(title, scale)) / 2, 10, title, kTextColor, scale);
  }
  if (!y_label.empty()) draw_text_rotated(image, 10, (top + bottom - font::text_width(y_label)) / 2, y_label, kTextColor);
}

// The x label under the tick (or group) labels, and "no data" inside an empty frame.
void draw_x_label(Image& image, int left, int right, int top, int bottom, const std::string& x_label, bool has_data) {
  if (!x_label.empty())
    font::draw_text(image, (left + right - font::text_width(x_label)) / 2, bottom + 8 + kTextHeight + 8, x_label,
                    kTextColor);
  if (!has_data)
    font::draw_text(image, (left + right - font::text_width("no data")) / 2, (top + bottom) / 2 - 4, "no data",
                    colors::gray);
}

}  // namespace

double nice_step(double lo, double hi, int target) {
  IRIS_CHECK(std::isfinite(lo) && std::isfinite(hi), "nice_step: range [", lo, ", ", hi, "] is not finite");
  IRIS_CHECK(target >= 1 && target <= 100, "nice_step: target must be in [1, 100], got ", target);
  double span = std::fabs(hi - lo);
  if (span == 0) span = std::max(std::fabs(lo), 1.0);
  double raw = span / target;
  double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (m * magnitude >= raw * (1 - 1e-9)) return m * magnitude;
  return 10 * magnitude;
}

std::vector<double> nice_ticks(double lo, double hi, int target) {
  if (lo > hi) std::swap(lo, hi);
  double step = nice_step(lo, hi, target);
  std::vector<double> ticks;
  for (double t = std::ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9 && ticks.size() <= 200; t += step)
    ticks.push_back(std::fabs(t) < step * 1e-9 ? 0.0 : t);
  return ticks;
}

std::string format_tick(double value, double step) {
  if (!std::isfinite(value)) return value != value ? "nan" : (value > 0 ? "inf" : "-inf");
  step = std::fabs(step);
  if (step == 0 || !std::isfinite(step)) step = std::fabs(value);
  if (value == 0 || std::fabs(value) < step * 1e-9) return "0";
  char buf[48];
  double a = std::fabs(value);
  if (a >= 1e6 || a < 1e-4) {
    std::snprintf(buf, sizeof buf, "%.3g", value);
    return buf;
  }
  int decimals = 0;
  for (double scaled = step; decimals < 8; ++decimals, scaled *= 10)
    if (std::fabs(scaled - std::round(scaled)) < 1e-6 * std::max(1.0, scaled)) break;
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return buf;
}

Image render_line_plot(const LinePlot& plot, int width, int height) {
  IRIS_CHECK(width >= 160 && width <= 4096 && height >= 160 && height <= 4096,
             "render_line_plot: width and height must be in [160, 4096], got ", width, "x", height);
  for (size_t i = 0; i < plot.series.size(); ++i)
    IRIS_CHECK(plot.series[i].x.size() == plot.series[i].y.size(), "render_line_plot: series ", i, " ('",
               plot.series[i].label, "') has ", plot.series[i].x.size(), " x values but ", plot.series[i].y.size(),
               " y values");

  // ---- ranges --------------------------------------------------------------------------
  double x_min = INFINITY, x_max = -INFINITY, y_min = INFINITY, y_max = -INFINITY;
  bool x_integers = true;
  for (const PlotSeries& s : plot.series)
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !usable(s.y[i], plot.log_y)) continue;
      x_min = std::min(x_min, s.x[i]), x_max = std::max(x_max, s.x[i]);
      double t = to_plot(s.y[i], plot.log_y);
      y_min = std::min(y_min, t), y_max = std::max(y_max, t);
      x_integers = x_integers && s.x[i] == std::round(s.x[i]);
    }
  bool has_data = x_min <= x_max;
  if (!has_data) x_min = 0, x_max = 1, y_min = 0, y_max = plot.log_y ? 1 : 1, x_integers = false;
  Axis x_axis = linear_axis(x_min, x_max, false, x_integers);
  Axis y_axis = plot.log_y ? log_axis(y_min, y_max) : linear_axis(y_min, y_max, true, false);

  // ---- layout --------------------------------------------------------------------------
  Image image(height, width, 3, colors::white);
  int top = top_below_title(plot.title, width);
  int left = left_of_value_axis(y_axis, plot.y_label);
  int bottom = height - 1 - (10 + (plot.x_label.empty() ? 0 : font::kGlyphHeight + 6) + kTextHeight + 8);
  int last_x_label = x_axis.labels.empty() ? 0 : font::text_width(x_axis.labels.back());
  int right = width - 1 - std::max(16, last_x_label / 2 + 6);
  IRIS_CHECK(right - left > 2 * kInset + 20 && bottom - top > 2 * kInset + 20, "render_line_plot: ", width, "x", height,
             " leaves no room for the data; make the plot larger or the labels shorter");
  auto map_x = [&](double v) {
    return left + kInset + (v - x_axis.lo) / (x_axis.hi - x_axis.lo) * (right - left - 2 * kInset);
  };
  auto map_y = [&](double t) {
    return bottom - kInset - (t - y_axis.lo) / (y_axis.hi - y_axis.lo) * (bottom - top - 2 * kInset);
  };

  // ---- grid, frame, ticks, labels ------------------------------------------------------
  draw_value_axis(image, y_axis, left, right, top, bottom, map_y, plot.title, plot.y_label);
  for (size_t i = 0; i < x_axis.ticks.size(); ++i) {
    int px = static_cast<int>(std::lround(map_x(x_axis.ticks[i])));
    draw_line(image, px, top + 1, px, bottom - 1, kGridColor);
    draw_line(image, px, bottom, px, bottom + 4, kAxisColor);
    const std::string& label = x_axis.labels[i];
    font::draw_text(image, px - font::text_width(label) / 2, bottom + 8, label, kTextColor);
  }
  draw_rect(image, left, top, right - left + 1, bottom - top + 1, kAxisColor);
  draw_x_label(image, left, right, top, bottom, plot.x_label, has_data);

  // ---- series --------------------------------------------------------------------------
  std::vector<Color> series_colors;
  std::vector<std::pair<int, int>> plotted;  // pixels the lines pass through, for the legend
  int auto_color = 0;
  for (const PlotSeries& s : plot.series) {
    Color color = s.color.a == 0 ? colors::palette(auto_color++) : s.color;
    series_colors.push_back(color);
    size_t finite = 0;
    for (size_t i = 0; i < s.x.size(); ++i) finite += std::isfinite(s.x[i]) && usable(s.y[i], plot.log_y);
    bool markers = finite <= 40;
    bool have_previous = false;
    int prev_x = 0, prev_y = 0;
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !usable(s.y[i], plot.log_y)) {
        have_previous = false;  // a gap breaks the line
        continue;
      }
      int px = static_cast<int>(std::lround(map_x(s.x[i])));
      int py = static_cast<int>(std::lround(map_y(to_plot(s.y[i], plot.log_y))));
      if (have_previous) {
        draw_line(image, prev_x, prev_y, px, py, color, 2);
        int steps = std::max(std::abs(px - prev_x), std::abs(py - prev_y)) / 3 + 1;
        for (int k = 0; k <= steps; ++k)
          plotted.emplace_back(prev_x + (px - prev_x) * k / steps, prev_y + (py - prev_y) * k / steps);
      }
      if (markers || finite == 1) fill_rect(image, px - 2, py - 2, 5, 5, color);
      plotted.emplace_back(px, py);
      have_previous = true, prev_x = px, prev_y = py;
    }
  }

  // ---- legend: the corner under which the fewest plotted pixels lie ----------------------
  std::vector<size_t> entries;
  for (size_t i = 0; i < plot.series.size(); ++i)
    if (!plot.series[i].label.empty()) entries.push_back(i);
  if (!entries.empty()) {
    const int row_height = 13, swatch = 18, pad = 6;
    int text_w = 0;
    for (size_t i : entries) text_w = std::max(text_w, font::text_width(plot.series[i].label));
    int legend_w = pad + swatch + 6 + text_w + pad;
    int legend_h = pad + static_cast<int>(entries.size()) * row_height - (row_height - font::kGlyphHeight) + pad;
    const int margin = 6;
    const std::pair<int, int> corners[] = {
        {right - margin - legend_w, top + margin},      // top right
        {left + margin, top + margin},                  // top left
        {right - margin - legend_w, bottom - margin - legend_h},  // bottom right
        {left + margin, bottom - margin - legend_h},    // bottom left
    };
    int best = 0;
    size_t best_cost = SIZE_MAX;
    for (int c = 0; c < 4; ++c) {
      size_t cost = 0;
      for (const auto& [px, py] : plotted)
        cost += px >= corners[c].first - 3 && px <= corners[c].first + legend_w + 3 && py >= corners[c].second - 3 &&
                py <= corners[c].second + legend_h + 3;
      if (cost < best_cost) best_cost = cost, best = c;
    }
    int lx = corners[best].first, ly = corners[best].second;
    fill_rect(image, lx, ly, legend_w, legend_h, Color(255, 255, 255, 230));
    draw_rect(image, lx, ly, legend_w, legend_h, Color(160, 160, 160));
    for (size_t row = 0; row < entries.size(); ++row) {
      int y = ly + pad + static_cast<int>(row) * row_height;
      Color color = series_colors[entries[row]];
      fill_rect(image, lx + pad, y + 3, swatch, 2, color);
      fill_rect(image, lx + pad + swatch / 2 - 2, y + 2, 5, 5, color);
      font::draw_text(image, lx + pad + swatch + 6, y, plot.series[entries[row]].label, kTextColor);
    }
  }
  return image;
}

void save_line_plots(const std::string& path, const std::vector<LinePlot>& plots, int panel_width, int panel_height) {
  IRIS_CHECK(!plots.empty(), "save_line_plots: no plots to save");
  IRIS_CHECK(plots.size() <= 16, "save_line_plots: at most 16 panels, got ", plots.size());
  Image canvas(panel_height, panel_width * static_cast<int>(plots.size()), 3, colors::white);
  for (size_t i = 0; i < plots.size(); ++i)
    paste_image(canvas, render_line_plot(plots[i], panel_width, panel_height), static_cast<int>(i) * panel_width, 0);
  save_png(path, canvas);
}

// ---- bar charts ------------------------------------------------------------------------------

namespace {

// A dashed horizontal line from x0 to x1 (dashes of 7 pixels, gaps of 4).
void draw_dashed_hline(Image& image, int x0, int x1, int y, Color color, int thickness) {
  for (int x = x0; x <= x1; x += 11) draw_line(image, x, y, std::min(x + 6, x1), y, color, thickness);
}

const Color kReferenceColor = Color(40, 40, 40);
const Color kErrorColor = colors::black;

}  // namespace

Image render_bar_chart(const BarChart& chart, int width, int height) {
  IRIS_CHECK(width >= 160 && width <= 4096 && height >= 160 && height <= 4096,
             "render_bar_chart: width and height must be in [160, 4096], got ", width, "x", height);
  const size_t G = chart.groups.size(), B = chart.bars.size();
  IRIS_CHECK(chart.values.size() == G, "render_bar_chart: ", G, " groups but values for ", chart.values.size(),
             "; give one row of values per group");
  for (size_t g = 0; g < G; ++g)
    IRIS_CHECK(chart.values[g].size() == B, "render_bar_chart: group '", chart.groups[g], "' has ",
               chart.values[g].size(), " values for ", B, " bars");
  IRIS_CHECK(chart.errors.empty() || chart.errors.size() == G, "render_bar_chart: errors must be empty or have one "
             "row per group (", G, "), got ", chart.errors.size());
  for (size_t g = 0; g < chart.errors.size(); ++g)
    IRIS_CHECK(chart.errors[g].size() == B, "render_bar_chart: group '", chart.groups[g], "' has ",
               chart.errors[g].size(), " errors for ", B, " bars");
  IRIS_CHECK(chart.reference.empty() || chart.reference.size() == G, "render_bar_chart: reference must be empty or "
             "have one value per group (", G, "), got ", chart.reference.size());
  auto error_of = [&](size_t g, size_t b) {
    double e = chart.errors.empty() ? 0.0 : chart.errors[g][b];
    return std::isfinite(e) && e > 0 ? e : 0.0;
  };
  auto reference_of = [&](size_t g) { return chart.reference.empty() ? NAN : chart.reference[g]; };

  // ---- the value axis --------------------------------------------------------------------
  double lowest_bar = INFINITY, highest = -INFINITY;
  bool any_reference = false;
  for (size_t g = 0; g < G; ++g) {
    for (size_t b = 0; b < B; ++b) {
      double v = chart.values[g][b];
      if (!std::isfinite(v)) continue;
      lowest_bar = std::min(lowest_bar, v);
      highest = std::max(highest, v + error_of(g, b));
    }
    if (std::isfinite(reference_of(g)))
      any_reference = true, lowest_bar = std::min(lowest_bar, reference_of(g)), highest = std::max(highest, reference_of(g));
  }
  const bool has_data = lowest_bar <= highest;
  if (!has_data) lowest_bar = 0, highest = 1;
  if (std::isfinite(chart.axis_max)) highest = std::min(highest, std::max(chart.axis_max, lowest_bar));
  // The axis from `start`, with room above the tallest bar for its printed value (within axis_max).
  auto axis_from = [&](double start) {
    double top_value = highest + 0.08 * std::max(highest - start, 1e-9);
    if (std::isfinite(chart.axis_max)) top_value = std::min(top_value, std::max(chart.axis_max, highest));
    return linear_axis(start, top_value, true, false);
  };
  Axis axis;
  bool broken = false;
  if (!chart.from_zero && lowest_bar > 0) {
    double start = lowest_bar - 0.5 * std::max(highest - lowest_bar, 1e-6 * std::fabs(lowest_bar));
    if (start > 0) {
      axis = axis_from(start);
      broken = axis.lo > 0;
    }
  }
  if (!broken) axis = axis_from(std::min(0.0, lowest_bar));  // error bars below it are clipped

  // ---- layout ------------------------------------------------------------------------------
  struct LegendEntry {
    std::string label;
    Color color;
    bool dashed;
  };
  std::vector<LegendEntry> legend;
  for (size_t b = 0; b < B; ++b) legend.push_back({chart.bars[b], colors::palette(static_cast<int>(b)), false});
  if (any_reference && !chart.reference_label.empty()) legend.push_back({chart.reference_label, kReferenceColor, true});
  const int swatch = 14, entry_gap = 18, row_height = 14;
  std::vector<std::vector<size_t>> legend_rows(1);
  int row_width = 0;
  for (size_t i = 0; i < legend.size(); ++i) {
    int w = swatch + 5 + font::text_width(legend[i].label);
    if (row_width > 0 && row_width + entry_gap + w > width - 20) legend_rows.emplace_back(), row_width = 0;
    row_width += (row_width > 0 ? entry_gap : 0) + w;
    legend_rows.back().push_back(i);
  }
  const int legend_height = legend.empty() ? 0 : static_cast<int>(legend_rows.size()) * row_height;

  Image image(height, width, 3, colors::white);
  int top = top_below_title(chart.title, width) + 2;
  int left = left_of_value_axis(axis, chart.y_label);
  int legend_top = height - 8 - legend_height;
  int bottom = legend_top - 10 - (chart.x_label.empty() ? 0 : font::kGlyphHeight + 6) - kTextHeight - 8;
  int right = width - 1 - 12;
  IRIS_CHECK(right - left > 20 + 4 * static_cast<int>(G * std::max<size_t>(B, 1)) && bottom - top > 40,
             "render_bar_chart: ", width, "x", height, " leaves no room for ", G, " groups of ", B,
             " bars; make the chart larger or the labels shorter");
  auto map_y = [&](double v) { return bottom - (v - axis.lo) / (axis.hi - axis.lo) * (bottom - top); };
  auto pixel_y = [&](double v) { return static_cast<int>(std::lround(map_y(std::clamp(v, axis.lo, axis.hi)))); };

  // ---- grid, ticks, labels ---------------------------------------------------------------------
  draw_value_axis(image, axis, left, right, top, bottom, map_y, chart.title, chart.y_label);
  const double group_width = static_cast<double>(right - left) / static_cast<double>(std::max<size_t>(G, 1));
  const int bar_width = std::max(2, static_cast<int>(group_width * 0.8 / static_cast<double>(std::max<size_t>(B, 1))));
  for (size_t g = 0; g < G; ++g) {
    int center = left + static_cast<int>(std::lround((static_cast<double>(g) + 0.5) * group_width));
    font::draw_text(image, center - font::text_width(chart.groups[g]) / 2, bottom + 8, chart.groups[g], kTextColor);
  }
  draw_x_label(image, left, right, top, bottom, chart.x_label, has_data);

  // ---- bars, error bars, reference lines, then the values over them ------------------------------
  struct ValueLabel {
    int x, y;
    std::string text;
  };
  std::vector<ValueLabel> value_labels;
  const int break_y = bottom - 12;  // where a broken axis shows its cut
  for (size_t g = 0; g < G; ++g) {
    int group_left = left + static_cast<int>(std::lround(static_cast<double>(g) * group_width + 0.1 * group_width));
    for (size_t b = 0; b < B; ++b) {
      double v = chart.values[g][b];
      if (!std::isfinite(v)) continue;
      int x0 = group_left + static_cast<int>(b) * bar_width;
      int inner = bar_width >= 5 ? bar_width - 2 : bar_width;
      int bx = x0 + (bar_width - inner) / 2, cx = x0 + bar_width / 2;
      int baseline = pixel_y(std::max(0.0, axis.lo)), y_value = pixel_y(v);
      int y_top = std::min(baseline, y_value), y_bottom = std::max(baseline, y_value);
      fill_rect(image, bx, y_top, inner, std::max(1, y_bottom - y_top), colors::palette(static_cast<int>(b)));
      if (broken && y_value < break_y - 4)  // the cut through the bar, as on the axis
        draw_line(image, bx - 1, break_y + 3, bx + inner, break_y - 3, colors::white, 3);
      int label_above = y_value;
      double e = error_of(g, b);
      if (e > 0) {
        int y_low = pixel_y(v - e), y_high = pixel_y(v + e);
        draw_line(image, cx, y_high, cx, y_low, kErrorColor);
        int cap = std::max(2, std::min(8, inner / 2 - 1));
        if (v - e >= axis.lo) draw_line(image, cx - cap, y_low, cx + cap, y_low, kErrorColor);
        if (v + e <= axis.hi) draw_line(image, cx - cap, y_high, cx + cap, y_high, kErrorColor);
        label_above = std::min(label_above, y_high);
      }
      if (chart.value_decimals >= 0) {
        char text[48];
        std::snprintf(text, sizeof text, "%.*f", std::min(chart.value_decimals, 6), v);
        int tw = font::text_width(text);
        if (tw <= bar_width + 6)
          value_labels.push_back({cx - tw / 2, std::max(top + 2, label_above - 5 - kTextHeight), text});
      }
    }
    double ref = reference_of(g);
    if (std::isfinite(ref) && ref >= axis.lo && ref <= axis.hi) {
      int gx0 = left + static_cast<int>(std::lround(static_cast<double>(g) * group_width)) + 4;
      int gx1 = left + static_cast<int>(std::lround(static_cast<double>(g + 1) * group_width)) - 4;
      draw_dashed_hline(image, gx0, gx1, pixel_y(ref), kReferenceColor, 2);
    }
  }
  for (const ValueLabel& label : value_labels)  // on white, so a reference line does not hide them
    draw_label(image, label.x, label.y, label.text, kTextColor, colors::white, 1, 1);

  // ---- frame, the axis break, legend -------------------------------------------------------------
  draw_rect(image, left, top, right - left + 1, bottom - top + 1, kAxisColor);
  if (broken) {
    fill_rect(image, left - 4, break_y - 4, 9, 9, colors::white);  // the gap in the axis, between two slashes
    for (int dy : {-4, 4}) draw_line(image, left - 7, break_y + dy + 3, left + 7, break_y + dy - 3, kAxisColor, 2);
  }
  for (size_t row = 0; row < legend_rows.size() && !legend.empty(); ++row) {
    int total = 0;
    for (size_t i : legend_rows[row])
      total += (total > 0 ? entry_gap : 0) + swatch + 5 + font::text_width(legend[i].label);
    int x = std::max(10, (width - total) / 2), y = legend_top + static_cast<int>(row) * row_height;
    for (size_t i : legend_rows[row]) {
      if (legend[i].dashed)
        draw_dashed_hline(image, x, x + swatch - 1, y + 4, legend[i].color, 2);
      else
        fill_rect(image, x, y, swatch, 9, legend[i].color);
      font::draw_text(image, x + swatch + 5, y + 1, legend[i].label, kTextColor);
      x += swatch + 5 + font::text_width(legend[i].label) + entry_gap;
    }
  }
  return image;
}

void save_bar_chart(const std::string& path, const BarChart& chart, int width, int height) {
  save_png(path, render_bar_chart(chart, width, height));
}

// ---- training curves ---------------------------------------------------------------------------

void save_training_curves(const std::string& path, const std::vector<json::Value>& records, const std::string& x_key,
                          const std::string& title) {
  std::vector<std::string> order;                       // keys in first-seen order
  std::map<std::string, PlotSeries> series;
  for (const json::Value& record : records) {
    if (!record.is_object()) continue;
    const json::Value* x = record.find(x_key);
    if (!x || !x->is_number()) continue;
    for (const auto& [key, value] : record.items()) {
      if (key == x_key || key == "seconds" || key == "step" || key == "lr" || !value.is_number()) continue;
      if (!series.count(key)) {
        order.push_back(key);
        series[key].label = key;
      }
      series[key].x.push_back(x->as_number());
      series[key].y.push_back(value.as_number());
    }
  }
  IRIS_CHECK(!order.empty(), "save_training_curves: no numeric values against '", x_key, "' in ", records.size(),
             " records; log records like {\"", x_key, "\": 1, \"train_loss\": 0.5}");
  LinePlot loss_plot, metric_plot;
  std::string prefix = title.empty() ? "" : title + ": ";
  loss_plot.title = prefix + "loss";
  metric_plot.title = prefix + "metrics";
  loss_plot.x_label = metric_plot.x_label = x_key;
  loss_plot.y_label = "loss";
  // The metrics panel's y label names its keys, with "%" when every one is a percentage (DESIGN.md).
  static const std::vector<std::string> kPercentMetrics = {"top1", "ap50", "map", "rank1", "idf1", "f1"};
  bool all_percent = true;
  for (const std::string& key : order) {
    if (key.find("loss") != std::string::npos) continue;
    metric_plot.y_label += (metric_plot.y_label.empty() ? "" : ", ") + key;
    all_percent &= std::find(kPercentMetrics.begin(), kPercentMetrics.end(), key) != kPercentMetrics.end();
  }
  if (font::text_width(metric_plot.y_label) > 300) metric_plot.y_label = "value";
  if (all_percent) metric_plot.y_label += " %";
  double loss_min = INFINITY, loss_max = -INFINITY;
  for (const std::string& key : order) {
    bool is_loss = key.find("loss") != std::string::npos;
    (is_loss ? loss_plot : metric_plot).series.push_back(series[key]);
    if (is_loss)
      for (double v : series[key].y)
        if (std::isfinite(v)) loss_min = std::min(loss_min, v), loss_max = std::max(loss_max, v);
  }
  loss_plot.log_y = loss_min > 0 && loss_max / loss_min > 20;
  std::vector<LinePlot> panels;
  if (!loss_plot.series.empty()) panels.push_back(loss_plot);
  if (!metric_plot.series.empty()) panels.push_back(metric_plot);
  save_line_plots(path, panels);
}

}  // namespace iris
