// The ablation's horizontal bar chart (see chart.h), drawn with data/draw.h and the tick helpers of
// apps/common/plot.h. Leaves out: anti-aliasing and legends (each bar carries its own labels).
#include "apps/minivit/chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "apps/common/plot.h"
#include "data/draw.h"

namespace iris {

Image render_arm_chart(const std::string& title, const std::vector<ArmBar>& arms, int reference) {
  const int row_height = 34, label_width = 190, right_margin = 70, top = 44, axis_band = 36;
  const int width = 900;
  const int height = top + row_height * static_cast<int>(std::max<size_t>(1, arms.size())) + axis_band;
  Image im(height, width, 3, colors::white);
  draw_text(im, 10, 12, title, colors::black, font::text_width(title, 2) <= width - 20 ? 2 : 1);

  // The x axis spans the values with some room below the smallest (bars differ by a few points).
  double lowest = 100, highest = 0;
  for (const ArmBar& a : arms)
    if (std::isfinite(a.top1)) lowest = std::min(lowest, a.top1), highest = std::max(highest, a.top1);
  if (lowest > highest) lowest = 0, highest = 100;
  double span = std::max(1.0, highest - lowest);
  double axis_lo = std::max(0.0, lowest - 0.6 * span), axis_hi = std::min(100.0, highest + 0.15 * span);
  if (axis_hi <= axis_lo) axis_hi = axis_lo + 1;
  const std::vector<double> ticks = nice_ticks(axis_lo, axis_hi, 6);
  const double step = nice_step(axis_lo, axis_hi, 6);
  axis_lo = std::min(axis_lo, ticks.front()), axis_hi = std::max(axis_hi, ticks.back());
  const int plot_left = label_width, plot_right = width - right_margin;
  const int plot_bottom = top + row_height * static_cast<int>(std::max<size_t>(1, arms.size()));
  auto x_of = [&](double v) {
    return plot_left + static_cast<int>(std::lround((v - axis_lo) / (axis_hi - axis_lo) * (plot_right - plot_left)));
  };
  for (double t : ticks) {
    int x = x_of(t);
    draw_line(im, x, top, x, plot_bottom, colors::light_gray);
    std::string s = format_tick(t, step);
    draw_text(im, x - font::text_width(s) / 2, plot_bottom + 6, s, colors::black);
  }
  const std::string axis_label = "test top-1 %";
  draw_text(im, (plot_left + plot_right - font::text_width(axis_label)) / 2, plot_bottom + 20, axis_label, colors::black);

  for (size_t i = 0; i < arms.size(); ++i) {
    const ArmBar& a = arms[i];
    const int y = top + static_cast<int>(i) * row_height;
    char params[48];
    std::snprintf(params, sizeof params, "%.1fk params", static_cast<double>(a.params) / 1000.0);
    draw_text(im, 8, y + 6, a.name, colors::black);
    draw_text(im, 8, y + 18, params, colors::gray);
    if (!std::isfinite(a.top1)) {
      draw_text(im, plot_left + 6, y + 12, "n/a", colors::gray);
      continue;
    }
    const int end = x_of(a.top1);
    fill_rect(im, plot_left, y + 6, std::max(1, end - plot_left), row_height - 12, colors::palette(static_cast<int>(i)));
    char value[32];
    std::snprintf(value, sizeof value, "%.2f", a.top1);
    draw_text(im, end + 5, y + 13, value, colors::black);
  }
  draw_line(im, plot_left, top, plot_left, plot_bottom, colors::black);
  draw_line(im, plot_left, plot_bottom, plot_right, plot_bottom, colors::black);
  if (reference >= 0 && reference < static_cast<int>(arms.size()) && std::isfinite(arms[reference].top1)) {
    const int x = x_of(arms[reference].top1);
    for (int y = top; y < plot_bottom; y += 8) draw_line(im, x, y, x, std::min(plot_bottom, y + 4), colors::black);
  }
  return im;
}

}  // namespace iris
