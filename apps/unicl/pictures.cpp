// unicl: the pictures. top5.png (test pictures with their five best classes and softmax scores, the
// true class marked) and ablation.png (one horizontal bar per arm and metric, in percent).
// Leaves out: training curves (apps/common/plot.h draws them from metrics.jsonl).
#include <algorithm>
#include <cstdio>

#include "apps/unicl/unicl.h"
#include "data/draw.h"

namespace iris::unicl {

void save_top5_picture(const std::string& path, const Tensor& images, const Testbed& bed, const Tensor& scores,
                       const std::vector<text::ClassSynonyms>& classes, const std::string& title, int count) {
  const int64_t n = std::min<int64_t>(count, images.shape()[0]);
  if (n <= 0) return;
  const int64_t K = scores.shape()[1];
  Tensor probs = softmax(scores.slice(0, 0, n), 1).contiguous();
  std::vector<float> p = probs.to_vector<float>();
  std::vector<GridCell> cells;
  for (int64_t i = 0; i < n; ++i) {
    // undo the normalisation for display: [C, H, W] in [0, 1]
    Tensor img = images.select(0, i);
    std::vector<Tensor> chans;
    for (int64_t c = 0; c < img.shape()[0]; ++c) chans.push_back(img.select(0, c) * bed.std[c] + bed.mean[c]);
    Image picture = tensor_to_image(stack(chans, 0));
    std::vector<int64_t> order(K);
    for (int64_t k = 0; k < K; ++k) order[k] = k;
    std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return p[i * K + a] > p[i * K + b]; });
    std::string caption;
    for (int64_t r = 0; r < std::min<int64_t>(5, K); ++r) {
      char buf[96];
      std::snprintf(buf, sizeof buf, "%s%.2f %s", r ? "\n" : "", p[i * K + order[r]], classes[order[r]].front().c_str());
      caption += buf;
    }
    cells.push_back(GridCell{picture, caption});
  }
  GridOptions go;
  go.columns = static_cast<int>(std::min<int64_t>(n, 4));
  go.cell_width = 128;
  go.title = title;
  save_png(path, make_image_grid(cells, go));
}

void save_bar_chart(const std::string& path, const std::string& title, const std::vector<std::string>& arms,
                    const std::vector<std::string>& metrics, const std::vector<std::vector<double>>& values) {
  // rows: arm by arm, one bar per metric measured (values < 0 are left out)
  const int row_h = 16, label_w = 190, bar_w = 420, margin = 12, top = 40;
  int rows = 0;
  for (const auto& v : values)
    for (double x : v) rows += x >= 0;
  const int height = top + rows * row_h + static_cast<int>(arms.size()) * 8 + 40;
  Image im(height, label_w + bar_w + 3 * margin + 50, 3, colors::white);
  draw_text(im, margin, 12, title, colors::black);
  int y = top;
  for (size_t a = 0; a < arms.size(); ++a) {
    for (size_t m = 0; m < metrics.size(); ++m) {
      double v = values[a][m];
      if (v < 0) continue;
      draw_text(im, margin, y + 4, arms[a] + " " + metrics[m], colors::black);
      int w = static_cast<int>(bar_w * std::min(100.0, v) / 100.0);
      fill_rect(im, margin + label_w, y + 2, std::max(1, w), row_h - 4, colors::palette(static_cast<int>(m)));
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.1f", v);
      draw_text(im, margin + label_w + w + 4, y + 4, buf, colors::black);
      y += row_h;
    }
    y += 8;
  }
  // the 0 / 50 / 100 % marks
  for (int pct : {0, 50, 100}) {
    int x = margin + label_w + bar_w * pct / 100;
    draw_line(im, x, top - 4, x, y, colors::light_gray);
    draw_text(im, x - 6, y + 6, std::to_string(pct) + "%", colors::black);
  }
  save_png(path, im);
}

}  // namespace iris::unicl
