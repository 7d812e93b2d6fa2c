// Plots as PNG: line plots for training curves (framed axes with "nice" ticks (1, 2, 2.5, 5 x 10^k),
// grid lines, tick and axis labels, labelled series with a legend in the corner with the least data
// under it, optional log-y) and the grouped bar chart every ablation draws (error bars, a reference
// line, an axis from zero or with its break marked). Drawn with the built-in font (image/font.h).
// Leaves out: scatter plots, histograms, stacked or horizontal bars, log-x, and text rotation other
// than the y-axis label.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "image/image.h"
#include "io/json.h"

namespace iris {

struct PlotSeries {
  std::string label;
  std::vector<double> x, y;        // same length; non-finite points (and y <= 0 on log-y) are skipped
  Color color = Color(0, 0, 0, 0);  // alpha 0: the next colour of colors::palette
};

struct LinePlot {
  std::string title, x_label, y_label;
  bool log_y = false;
  std::vector<PlotSeries> series;
};

// Renders one plot into a width x height RGB image (each side in [160, 4096]).
Image render_line_plot(const LinePlot& plot, int width = 640, int height = 420);
// Several plots side by side in one PNG (e.g. loss | accuracy), each panel_width x panel_height.
void save_line_plots(const std::string& path, const std::vector<LinePlot>& plots, int panel_width = 560,
                     int panel_height = 400);

// Training curves from metrics records (Run::records() or metrics.jsonl lines): every numeric key
// is a series over `x_key`; keys containing "loss" go in a "loss" panel (log-y when they span more
// than a factor of 20), the rest (top1, map, ...) in a "metrics" panel; "seconds", "step", "lr" and
// the x key itself are left out; the metrics panel's y label names its keys ("top1 %" when all are
// percentages). Records without x_key are skipped. Throws when nothing is left.
void save_training_curves(const std::string& path, const std::vector<json::Value>& records,
                          const std::string& x_key = "epoch", const std::string& title = "");

// ---- bar charts ------------------------------------------------------------------------------
// Grouped bars: one group per entry of `groups` along the x axis (tasks, metrics), one bar per entry
// of `bars` in every group (the arms; colours of colors::palette, named in the legend under the plot),
// each with its value printed above it.
struct BarChart {
  std::string title, x_label, y_label;
  std::vector<std::string> groups;
  std::vector<std::string> bars;
  std::vector<std::vector<double>> values;  // [group][bar]; non-finite: no bar there
  // [group][bar] half-length of each error bar (the std over seeds); empty, 0 or non-finite: none.
  // Error bars stop at the ends of the axis (a clipped end has no cap), never below zero.
  std::vector<std::vector<double>> errors;
  // [group] a dashed line across the group (chance level, a teacher's score); empty or NaN: none.
  std::vector<double> reference;
  std::string reference_label = "chance";   // its legend entry
  // true: the value axis starts at zero (or below, for negative values). false: it starts a round
  // step below the lowest bar, and the break is marked (a gap with two slashes on the axis and a cut
  // across every bar); when that start would be at or below zero the axis starts at zero anyway.
  bool from_zero = true;
  double axis_max = NAN;                    // the largest possible value (100 for percentages), if any
  int value_decimals = 1;                   // decimals of the value printed on each bar (-1: none)
};

// Renders the chart into a width x height RGB image (each side in [160, 4096]). Throws when
// values, errors or reference do not match the groups and bars.
Image render_bar_chart(const BarChart& chart, int width = 860, int height = 460);
void save_bar_chart(const std::string& path, const BarChart& chart, int width = 860, int height = 460);

// ---- ticks (exposed for tests) -----------------------------------------------------------
// About `target` evenly spaced round values covering [lo, hi] (lo <= first tick, last tick >= hi
// is not promised: ticks lie inside [lo, hi] extended to the nearest multiple of the step).
std::vector<double> nice_ticks(double lo, double hi, int target = 6);
// The step nice_ticks uses for that range.
double nice_step(double lo, double hi, int target = 6);
// A tick label with just enough decimals for `step` ("0.25", "10", "1e-05", "2e+06").
std::string format_tick(double value, double step);

}  // namespace iris
