// datagen shapes: writes samples of the SHAPES world (data/synth/shapes.h) for a person to look at.
//   DIR/shapes.png       the pictures (enlarged) with their captions, held-out pairs marked
//   DIR/shapes_masks.png the object masks (white) beside the pictures' attributes
//   DIR/shapes.json      config, attribute names, the held-out pairs, and per picture its factors and caption
// Leaves out: writing the pictures as separate PNGs, and the other splits at once (one --split per call).
#include <algorithm>

#include "apps/common/run.h"
#include "apps/datagen/datagen.h"
#include "image/draw.h"
#include "io/file_util.h"
#include "data/synth/shapes.h"

namespace iris::datagen {

namespace {

json::Value shape_json(const synth::ShapeSample& s) {
  const synth::ShapeFactors& f = s.factors;
  json::Value v = json::Value::object();
  v["index"] = s.index;
  v["caption"] = s.caption;
  v["shape"] = synth::shape_kind_names()[f.shape];
  v["color"] = synth::shape_color_names()[f.color];
  v["size"] = synth::shape_size_names()[f.size];
  v["position"] = synth::shape_position_names()[f.position];
  v["center"] = json::Value::array();
  v["center"].push_back(f.center_x);
  v["center"].push_back(f.center_y);
  v["radius"] = f.radius;
  v["rotation_deg"] = f.rotation_deg;
  v["background"] = f.background;
  v["held_out_pair"] = synth::is_held_out_shape_combination(f.color, f.shape);
  return v;
}

}  // namespace

int run_shapes(const Flags& flags) {
  synth::ShapeConfig config;
  config.seed = flags.seed();
  config.size = flags.get_int("size") == 0 ? 32 : static_cast<int>(flags.get_int("size"));
  // datagen's --split says train/val/test; the world's own names are accepted too
  const std::string split = flags.get_string("split");
  config.split = split == "train" ? synth::ShapeSplit::label_train
                 : split == "val" ? synth::ShapeSplit::test_held_in
                 : split == "test" ? synth::ShapeSplit::test_held_out
                                   : synth::parse_shape_split(split);
  synth::check_shape_config(config);
  const int64_t n = flags.get_int("n");
  IRIS_CHECK(n >= 1 && n <= 100000, "datagen shapes: --n must be in [1, 100000], got ", n);
  Run run(flags);
  json::Value cj = json::Value::object();
  cj["seed"] = static_cast<int64_t>(config.seed);
  cj["split"] = synth::shape_split_name(config.split);
  cj["size"] = config.size;
  cj["noise_sigma"] = config.noise_sigma;
  run.set_config("shapes", cj);

  std::vector<synth::ShapeSample> samples = synth::make_shape_samples(config, 0, n);
  const int shown = static_cast<int>(std::min<int64_t>(n, 64));
  const int cell = 128;
  std::vector<GridCell> pictures, masks;
  for (int i = 0; i < shown; ++i) {
    const synth::ShapeSample& s = samples[i];
    // captions in two lines: they are wider than a picture
    std::string c = s.caption;
    size_t cut = c.find(' ', c.size() / 2);
    if (cut != std::string::npos) c[cut] = '\n';
    bool held = synth::is_held_out_shape_combination(s.factors.color, s.factors.shape);
    pictures.push_back(GridCell{s.render.image, c, held ? colors::red : colors::black});
    Image m(s.render.mask.height(), s.render.mask.width(), 1, 0);
    for (int y = 0; y < m.height(); ++y)
      for (int x = 0; x < m.width(); ++x) m.at(y, x) = s.render.mask.at(y, x) ? 255 : 0;
    masks.push_back(GridCell{m, synth::shape_color_names()[s.factors.color] + " " +
                                    synth::shape_kind_names()[s.factors.shape]});
  }
  GridOptions grid;
  grid.columns = std::min(8, shown);
  grid.cell_width = cell;
  grid.title = std::string("SHAPES (") + synth::shape_split_name(config.split) + ", seed " +
               std::to_string(config.seed) + "); red caption: a held-out colour-shape pair";
  save_png(run.path("shapes.png"), make_image_grid(pictures, grid));
  grid.title = "object masks";
  save_png(run.path("shapes_masks.png"), make_image_grid(masks, grid));

  json::Value doc = json::Value::object();
  doc["config"] = cj;
  auto names = [](const std::vector<std::string>& v) {
    json::Value a = json::Value::array();
    for (const std::string& s : v) a.push_back(s);
    return a;
  };
  doc["shapes"] = names(synth::shape_kind_names());
  doc["colors"] = names(synth::shape_color_names());
  doc["sizes"] = names(synth::shape_size_names());
  doc["positions"] = names(synth::shape_position_names());
  json::Value held = json::Value::array();
  for (const auto& [c, s] : synth::held_out_shape_combinations())
    held.push_back(synth::shape_color_names()[c] + " " + synth::shape_kind_names()[s]);
  doc["held_out_pairs"] = held;
  json::Value list = json::Value::array();
  for (const synth::ShapeSample& s : samples) list.push_back(shape_json(s));
  doc["pictures"] = list;
  write_file_atomic(run.path("shapes.json"), doc.dump(1) + "\n");

  json::Value metrics = json::Value::object();
  metrics["pictures"] = n;
  run.finish(metrics);
  return 0;
}

}  // namespace iris::datagen
