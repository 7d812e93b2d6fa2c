// unicl: the picture of a run, top5.png: test pictures with their five best classes and softmax scores.
// Leaves out: training curves (image/plot.h draws them from metrics.jsonl) and the ablation's
// chart (apps/common/ablate draws it).
#include <algorithm>
#include <cstdio>

#include "apps/unicl/unicl.h"
#include "image/draw.h"

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

}  // namespace iris::unicl
