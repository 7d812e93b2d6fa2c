// datagen scenes: writes samples of the synthetic SCENES world for a person to look at.
//   DIR/scenes.png         the first (up to 24) grey canvases, enlarged, with boxes, labels, the
//                          caption and two questions with their answers ('*': a held-out class)
//   DIR/scenes_color.png   the same canvases in the tinted colour variant (same layout)
//   DIR/scenes.json        the config and every scene (objects, relations, caption with its phrase
//                          spans, referring expressions, questions, detection record)
//   DIR/scenes_color.json  the same for the colour canvases shown
// All --n scenes are generated (and timed: the final line reports scenes per second).
// --held-out picks the novel classes (default sandal, bag, ankle boot: 7 seen, 3 held out) and
// --classes which canvases: all, seen (base classes only) or novel (a held-out class on each).
// Leaves out: the other SceneConfig knobs (item counts, sizes, overlap bounds) as flags.
#include <algorithm>
#include <chrono>
#include <cmath>

#include "apps/common/run.h"
#include "apps/datagen/datagen.h"
#include "io/file_util.h"
#include "data/synth/scenes.h"

namespace iris::datagen {

namespace {

using namespace iris::synth;

constexpr int kShownScenes = 24;

json::Value config_json(const SceneConfig& c) {
  json::Value j = json::Value::object();
  j["seed"] = c.seed;
  j["split"] = scene_split_name(c.split);
  j["size"] = c.size;
  j["min_items"] = c.min_items;
  j["max_items"] = c.max_items;
  j["color"] = c.colour;
  j["shifted"] = c.shifted;
  json::Value held = json::Value::array();
  for (int h : c.held_out) held.push_back(class_name(h));
  j["held_out"] = std::move(held);
  j["classes"] = scene_classes_name(c.classes);
  std::pair<int, int> px = item_px_range(c);
  j["item_px"] = json::Value::array();
  j["item_px"].push_back(px.first);
  j["item_px"].push_back(px.second);
  j["max_iou"] = c.max_iou;
  j["max_cover"] = c.max_cover;
  j["noise_sigma"] = c.noise_sigma;
  return j;
}

void write_json(const std::string& path, const SceneConfig& config, const std::vector<Scene>& scenes) {
  json::Value out = json::Value::object();
  out["config"] = config_json(config);
  json::Value list = json::Value::array();
  for (const Scene& s : scenes) list.push_back(scene_to_json(s));
  out["scenes"] = std::move(list);
  write_file_atomic(path, out.dump(1) + "\n");
}

Image scene_picture(const std::vector<Scene>& scenes, const SceneConfig& config, const std::string& variant) {
  const int shown = static_cast<int>(std::min<size_t>(scenes.size(), kShownScenes));
  const int scale = std::max(1, (256 + config.size / 2) / config.size);  // 64 -> 4, 96 -> 3
  std::vector<GridCell> cells;
  for (int i = 0; i < shown; ++i) cells.push_back(scene_cell(scenes[i], scale, 2));
  GridOptions grid;
  grid.columns = std::min(4, shown);
  grid.cell_width = config.size * scale;
  std::string held;
  for (int h : config.held_out) held += (held.empty() ? "" : ", ") + class_name(h);
  grid.title = "SCENES " + variant + " (" + scene_split_name(config.split) + ", seed " + std::to_string(config.seed) +
               ", " + std::to_string(config.size) + "x" + std::to_string(config.size) +
               (config.shifted ? ", shifted domain" : "") +
               (config.classes == SceneClasses::all ? "" : std::string(", ") + scene_classes_name(config.classes) +
                                                               " classes") +
               ")   " + (held.empty() ? std::string("no held-out classes") : "* held-out class (" + held + ")");
  return make_image_grid(cells, grid);
}

}  // namespace

int run_scenes(const Flags& flags) {
  SceneConfig config;
  config.size = flags.get_int("size") == 0 ? 64 : static_cast<int>(flags.get_int("size"));
  config.seed = flags.seed();
  config.split = parse_scene_split(flags.get_string("split"));
  config.shifted = flags.get_bool("shifted");
  const std::string& held_out = flags.get_string("held-out");
  config.held_out = held_out.empty() ? std::vector<int>{} : parse_class_list(held_out);
  config.classes = parse_scene_classes(flags.get_string("classes"));
  config.data_dir = flags.data_dir();
  validate_scene_config(config);
  const int64_t n = flags.get_int("n");
  IRIS_CHECK(n >= 1 && n <= 1000000, "datagen scenes: --n must be in [1, 1000000], got ", n);

  Run run(flags);
  run.set_config("scenes", config_json(config));

  // Load the item bank before the clock starts: generation speed is what is reported.
  generate_scene(config, 0);
  auto start = std::chrono::steady_clock::now();
  std::vector<Scene> grey = generate_scenes(config, 0, n);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  SceneConfig colour_config = config;
  colour_config.colour = true;
  std::vector<Scene> colour = generate_scenes(colour_config, 0, std::min<int64_t>(n, kShownScenes));

  save_png(run.path("scenes.png"), scene_picture(grey, config, "grey"));
  save_png(run.path("scenes_color.png"), scene_picture(colour, colour_config, "color"));
  write_json(run.path("scenes.json"), config, grey);
  write_json(run.path("scenes_color.json"), colour_config, colour);

  int64_t objects = 0, questions = 0;
  for (const Scene& s : grey) {
    objects += static_cast<int64_t>(s.objects.size());
    questions += static_cast<int64_t>(s.qa.size());
  }
  json::Value metrics = json::Value::object();
  metrics["scenes"] = n;
  metrics["objects"] = objects;
  metrics["questions"] = questions;
  metrics["scenes_per_second"] = std::round(n / std::max(seconds, 1e-9));
  metrics["generate_seconds"] = std::round(seconds * 1000.0) / 1000.0;
  run.finish(metrics);
  return 0;
}

}  // namespace iris::datagen
