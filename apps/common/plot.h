// Line plots as PNG for training curves: a title, framed axes with "nice" ticks (1, 2, 2.5, 5 x 10^k)
// and grid lines, tick and axis labels, several labelled series with a legend placed in the corner
// with the least data under it, and optional log-y. Drawn with the built-in font (data/font.h).
// Leaves out: scatter/bar/histogram plots, log-x, and text rotation other than the y-axis label.
#pragma once

#include <string>
#include <vector>

#include "data/image.h"
#include "data/json.h"

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
// the x key itself are left out. Records without x_key are skipped. Throws when nothing is left.
void save_training_curves(const std::string& path, const std::vector<json::Value>& records,
                          const std::string& x_key = "epoch", const std::string& title = "");

// ---- ticks (exposed for tests) -----------------------------------------------------------
// About `target` evenly spaced round values covering [lo, hi] (lo <= first tick, last tick >= hi
// is not promised: ticks lie inside [lo, hi] extended to the nearest multiple of the step).
std::vector<double> nice_ticks(double lo, double hi, int target = 6);
// The step nice_ticks uses for that range.
double nice_step(double lo, double hi, int target = 6);
// A tick label with just enough decimals for `step` ("0.25", "10", "1e-05", "2e+06").
std::string format_tick(double value, double step);

}  // namespace iris
