// farl: the pictures a person looks at. parsing.png: each face, its predicted mask over it, the true mask
// over it; landmarks.png: faces (enlarged) with the true landmarks in green and the predicted ones in red
// (the user's own faces, having no truth, get the prediction alone);
// tokens.png: faces beside their visual-token maps (k-means ids as colours) and the MIM predictions at the
// patches, predicted from the blockwise-masked face.
// Leaves out: training curves (the loop's curves.png) and the ablation chart (apps/common/ablate).
#include <algorithm>

#include "apps/farl/farl.h"
#include "image/draw.h"
#include "image/mask_overlay.h"

namespace iris::farl {

namespace {

Image labels_image(const Tensor& mask_hw) {  // i64 [H, W] -> one-channel label Image
  return tensor_to_image(mask_hw.to(DType::u8).unsqueeze(0));
}

Image token_map(const std::vector<int64_t>& ids, const std::vector<float>* mask, int64_t grid, int64_t offset,
                int cell) {
  Image out(static_cast<int>(grid) * cell, static_cast<int>(grid) * cell, 3, uint8_t{0});
  for (int64_t i = 0; i < grid * grid; ++i) {
    if (mask && (*mask)[offset + i] == 0) continue;
    fill_rect(out, static_cast<int>(i % grid) * cell, static_cast<int>(i / grid) * cell, cell, cell,
              colors::palette(static_cast<int>(ids[offset + i])));
  }
  return out;
}

}  // namespace

void save_parsing_picture(const std::string& path, const FaceSet& set, const Tensor& predicted, int count) {
  const int64_t n = std::min<int64_t>(count, set.size());
  std::vector<GridCell> cells;
  for (int64_t i = 0; i < n; ++i) {
    Image face = face_image(set, i);
    cells.push_back(GridCell{face, "face"});
    cells.push_back(GridCell{overlay_mask(face, labels_image(predicted.select(0, i))), "predicted"});
    if (set.masks.defined()) cells.push_back(GridCell{overlay_mask(face, labels_image(set.masks.select(0, i))), "truth"});
  }
  GridOptions go;
  go.columns = set.masks.defined() ? 6 : 4;
  go.cell_width = 96;
  go.title = set.masks.defined() ? "face parsing on test faces: prediction beside truth" : "face parsing: your faces";
  Image grid = make_image_grid(cells, go);
  Image legend = mask_legend(synth::face_label_names());
  Image canvas(std::max(grid.height(), legend.height()), grid.width() + legend.width() + 8, 3, uint8_t{255});
  paste_image(canvas, grid, 0, 0);
  paste_image(canvas, legend, grid.width() + 8, 0);
  save_png(path, canvas);
}

void save_landmark_picture(const std::string& path, const FaceSet& set, const Tensor& predicted, int count) {
  const int64_t n = std::min<int64_t>(count, set.size());
  const int side = 192, S = static_cast<int>(set.images.shape()[2]);
  const double k = static_cast<double>(side) / S;
  const bool truth = set.landmarks.defined();
  std::vector<float> p = predicted.contiguous().to_vector<float>();
  std::vector<float> t = truth ? set.landmarks.to_vector<float>() : std::vector<float>();
  std::vector<GridCell> cells;
  for (int64_t i = 0; i < n; ++i) {
    Image face = resize(face_image(set, i), side, side);
    for (int64_t l = 0; l < synth::kNumFaceLandmarks; ++l) {
      const int64_t o = (i * synth::kNumFaceLandmarks + l) * 2;
      auto dot = [&](float x, float y, Color c) {
        fill_rect(face, static_cast<int>((x + 0.5) * k) - 2, static_cast<int>((y + 0.5) * k) - 2, 5, 5, c);
      };
      if (truth) dot(t[o], t[o + 1], Color(40, 200, 60));
      dot(p[o], p[o + 1], Color(230, 30, 30));
    }
    cells.push_back(GridCell{face, ""});
  }
  GridOptions go;
  go.columns = 4;
  go.cell_width = side;
  go.title = truth ? "face alignment on test faces: truth green, prediction red" : "face alignment: your faces (red)";
  save_png(path, make_image_grid(cells, go));
}

void save_token_picture(const std::string& path, const FaceSet& set, const Tensor& tokens, const Tensor& predicted,
                        int64_t grid, int count) {
  const int64_t n = std::min<int64_t>(count, set.size());
  std::vector<int64_t> ids = tokens.contiguous().to_vector<int64_t>();
  std::vector<int64_t> pred = predicted.defined() ? predicted.contiguous().to_vector<int64_t>() : std::vector<int64_t>();
  std::vector<GridCell> cells;
  for (int64_t i = 0; i < n; ++i) {
    cells.push_back(GridCell{face_image(set, i), "face"});
    cells.push_back(GridCell{token_map(ids, nullptr, grid, i * grid * grid, 12), "visual tokens"});
    if (!pred.empty()) cells.push_back(GridCell{token_map(pred, nullptr, grid, i * grid * grid, 12), "MIM (40% masked)"});
  }
  GridOptions go;
  go.columns = pred.empty() ? 4 : 6;
  go.cell_width = 96;
  go.title = "k-means visual tokens (the MIM targets)";
  save_png(path, make_image_grid(cells, go));
}

}  // namespace iris::farl
