// davit: the attention picture. For a few test images: the image, the stage-1 spatial window
// attention each token receives (over the grey image, window borders in cyan) and the stage-1
// channel attention matrix (groups on the diagonal). Leaves out: later stages and per-head maps.
#include <algorithm>
#include <cmath>

#include "apps/davit/davit_app.h"
#include "image/draw.h"

namespace iris::davit_app {

namespace {

// Black -> red -> yellow -> white for t in [0, 1].
Color heat(double t) {
  t = std::min(1.0, std::max(0.0, t));
  auto c = [](double v) { return static_cast<uint8_t>(std::lround(255.0 * std::min(1.0, std::max(0.0, v)))); };
  return Color(c(3.0 * t), c(3.0 * t - 1.0), c(3.0 * t - 2.0));
}

// Spatial attention over the image: for every window, the attention each of its tokens receives
// (mean over heads and over the window's queries) relative to uniform attention (1/(w*w): the middle
// of the colour scale; twice that or more: white), over the grey image; window borders in cyan.
// spatial: [nh, nw, G, w*w, w*w] of one image; img: [1, H, W].
Image spatial_picture(const Tensor& spatial, const Tensor& img, int64_t window, int side) {
  const int64_t nh = spatial.shape()[0], nw = spatial.shape()[1];
  Tensor received = mean(spatial, {2, 3});  // [nh, nw, w*w], each window sums to 1
  std::vector<float> r = (received * (0.5 * window * window)).contiguous().to_vector<float>();
  const int64_t H = img.shape()[1], W = img.shape()[2];
  double lo = min(img).item(), hi = max(img).item();
  std::vector<float> g = ((img - lo) / (hi - lo + 1e-12)).contiguous().to_vector<float>();
  const int64_t tokens_h = nh * window, tokens_w = nw * window;  // padded token map
  Image out(side, side, 3, colors::black);
  for (int y = 0; y < side; ++y)
    for (int x = 0; x < side; ++x) {
      int64_t ty = y * tokens_h / side, tx = x * tokens_w / side;
      int64_t py = y * H / side, px = x * W / side;
      double grey = g[py * W + px];
      double a = r[((ty / window) * nw + tx / window) * window * window + (ty % window) * window + tx % window];
      Color h = heat(a);
      auto mix = [&](uint8_t hc) { return static_cast<uint8_t>(std::lround(0.65 * hc + 0.35 * 255.0 * grey)); };
      out.at(y, x, 0) = mix(h.r), out.at(y, x, 1) = mix(h.g), out.at(y, x, 2) = mix(h.b);
    }
  for (int64_t i = 1; i < nh; ++i) draw_line(out, 0, static_cast<int>(i * side / nh), side - 1, static_cast<int>(i * side / nh), colors::cyan);
  for (int64_t j = 1; j < nw; ++j) draw_line(out, static_cast<int>(j * side / nw), 0, static_cast<int>(j * side / nw), side - 1, colors::cyan);
  return out;
}

// The channel-by-channel attention matrix [C, C] of one image: the G group matrices A [Cg, Cg] on the
// diagonal (channels attend only within their group; the rest is dark grey), rows = output channels.
Image channel_picture(const Tensor& channel, int side) {
  const int64_t G = channel.shape()[0], Cg = channel.shape()[1], C = G * Cg;
  std::vector<float> a = channel.contiguous().to_vector<float>();
  float peak = *std::max_element(a.begin(), a.end());
  Image out(side, side, 3, Color(40, 40, 40));
  for (int y = 0; y < side; ++y)
    for (int x = 0; x < side; ++x) {
      int64_t i = y * C / side, j = x * C / side;
      if (i / Cg != j / Cg) continue;
      int64_t g = i / Cg;
      double v = a[(g * Cg + i % Cg) * Cg + j % Cg] / (peak + 1e-12);
      Color h = heat(std::sqrt(v));  // sqrt: the small weights stay visible
      out.at(y, x, 0) = h.r, out.at(y, x, 1) = h.g, out.at(y, x, 2) = h.b;
    }
  for (int64_t g = 1; g < G; ++g) {
    int p = static_cast<int>(g * Cg * side / C);
    draw_line(out, p, 0, p, side - 1, colors::cyan);
    draw_line(out, 0, p, side - 1, p, colors::cyan);
  }
  return out;
}


}  // namespace

void save_attention_picture(const std::string& path, models::DaVit& model, const data::Dataset& test,
                            const std::vector<std::string>& classes, int count, Device device) {
  const int n = static_cast<int>(std::min<int64_t>(count, test.size()));
  if (n <= 0) return;
  std::vector<int64_t> idx(n);
  for (int i = 0; i < n; ++i) idx[i] = i * (test.size() / n);
  Generator unused(0);
  data::Batch b = test.get_batch(idx, unused);
  models::DavitAttentionMaps maps = model.attention_maps(b.x.to(device), 0);
  if (maps.spatial.defined()) maps.spatial = maps.spatial.cpu();
  if (maps.channel.defined()) maps.channel = maps.channel.cpu();
  std::vector<int64_t> labels = b.y.to_vector<int64_t>();
  const int side = 160;
  std::vector<GridCell> cells;
  for (int i = 0; i < n; ++i) {
    Tensor img = b.x.select(0, i);  // [1, 32, 32]
    double lo = min(img).item(), hi = max(img).item();
    cells.push_back(GridCell{resize(tensor_to_image((img - lo) / (hi - lo + 1e-12)), side, side), classes[labels[i]]});
    if (maps.spatial.defined())
      cells.push_back(GridCell{spatial_picture(maps.spatial.select(0, i), img, maps.window, side),
                               "attention received"});
    else
      cells.push_back(GridCell{Image(side, side, 3, colors::light_gray), "(no spatial block)"});
    if (maps.channel.defined()) {
      int64_t G = maps.channel.shape()[1], C = G * maps.channel.shape()[2];
      cells.push_back(GridCell{channel_picture(maps.channel.select(0, i), side),
                               "channels " + std::to_string(C) + "x" + std::to_string(C) + ", " + std::to_string(G) + " groups"});
    } else {
      cells.push_back(GridCell{Image(side, side, 3, colors::light_gray), "(no channel block)"});
    }
  }
  GridOptions go;
  go.columns = 3;
  go.cell_width = side;
  go.title = "stage-1 attention, arm " + model.cfg.arm();
  save_png(path, make_image_grid(cells, go));
}

}  // namespace iris::davit_app
