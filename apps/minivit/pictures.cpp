// minivit: the gradient-norm plots. grad_norms.png of one arm (one series per unique block) and the
// ablation's two panels (max and mean over unique blocks, one series per arm), all log-y over steps.
// Leaves out: the bar chart (apps/common/ablate draws it) and per-layer norms (in grad_norms.jsonl).
#include <algorithm>

#include "apps/minivit/minivit_app.h"

namespace iris::minivit_app {

LinePlot grad_norm_plot(const std::string& arm, const std::vector<GradNormSample>& samples, int64_t unique_blocks) {
  LinePlot p;
  p.title = "arm " + arm + ": gradient L2 norm per unique block";
  p.x_label = "step";
  p.y_label = "grad norm";
  p.log_y = true;
  for (int64_t blk = 0; blk < unique_blocks; ++blk) {
    PlotSeries s;
    s.label = "block " + std::to_string(blk);
    for (const GradNormSample& g : samples) s.x.push_back(static_cast<double>(g.step)), s.y.push_back(g.block[blk]);
    p.series.push_back(s);
  }
  return p;
}

GradNormPanels::GradNormPanels() {
  max.title = "max over unique blocks of the block gradient norm";
  mean.title = "mean over unique blocks of the block gradient norm";
  for (LinePlot* p : {&max, &mean}) p->x_label = "step", p->y_label = "grad norm", p->log_y = true;
}

void GradNormPanels::add(const std::string& arm, Color color, const std::vector<GradNormSample>& samples) {
  PlotSeries smax, smean;
  smax.label = smean.label = arm;
  smax.color = smean.color = color;
  for (const GradNormSample& g : samples) {
    double mx = 0, sum = 0;
    for (double v : g.block) mx = std::max(mx, v), sum += v;
    smax.x.push_back(static_cast<double>(g.step)), smax.y.push_back(mx);
    smean.x.push_back(static_cast<double>(g.step)), smean.y.push_back(sum / std::max<size_t>(1, g.block.size()));
  }
  max.series.push_back(smax);
  mean.series.push_back(smean);
}

bool GradNormPanels::empty() const {
  for (const PlotSeries& s : max.series)
    if (!s.x.empty()) return false;
  return true;
}

}  // namespace iris::minivit_app
