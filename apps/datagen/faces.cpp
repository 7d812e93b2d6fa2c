// datagen faces: writes samples of the synthetic FACES world for a person to look at.
//   DIR/faces.png        the faces (enlarged) with their captions
//   DIR/faces_masks.png  parsing masks over the faces, landmarks as dots (hollow: covered), a legend
//   DIR/faces_hair.png   one face re-rendered with every hair style and colour, and a map of the
//                        pixels one edit changed (red) against those it kept (grey)
//   DIR/face/000.png ..  the first 64 faces at their own size, one file each (what `farl parse --image` reads)
//   DIR/faces.json       config, label and landmark names, and per face: factors, caption and its
//                        claims, landmarks, label pixel counts
// Every sample is rendered (and timed: the final line reports faces per second); the pictures show
// the first 64. Leaves out: writing masks as separate PNGs (the JSON and the overlay carry them).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "apps/common/run.h"
#include "apps/datagen/datagen.h"
#include "image/draw.h"
#include "io/file_util.h"
#include "image/mask_overlay.h"
#include "data/synth/faces.h"

namespace iris::datagen {

namespace {

using namespace iris::synth;

constexpr int kShownFaces = 64;

// Breaks `text` into lines of at most `width` characters at spaces.
std::string wrap_words(const std::string& text, int width) {
  std::string out, line, word;
  auto flush_word = [&] {
    if (word.empty()) return;
    if (!line.empty() && static_cast<int>(line.size() + 1 + word.size()) > width) {
      out += (out.empty() ? "" : "\n") + line;
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
    word.clear();
  };
  for (char c : text) {
    if (c == ' ') flush_word();
    else word += c;
  }
  flush_word();
  if (!line.empty()) out += (out.empty() ? "" : "\n") + line;
  return out;
}

// The image enlarged by a whole factor (nearest neighbour).
Image enlarge(const Image& image, int factor) {
  Image out(image.height() * factor, image.width() * factor, image.channels());
  paste_image(out, image, 0, 0, out.width(), out.height());
  return out;
}

// A landmark as a 5x5 dot (white with a black ring), hollow when it is covered.
void draw_landmark(Image& image, float x, float y, int factor, bool visible) {
  int cx = static_cast<int>(std::lround((x + 0.5f) * factor - 0.5f));
  int cy = static_cast<int>(std::lround((y + 0.5f) * factor - 0.5f));
  draw_rect(image, cx - 2, cy - 2, 5, 5, colors::black);
  if (visible) fill_rect(image, cx - 1, cy - 1, 3, 3, colors::white);
}

json::Value landmarks_json(const FaceRender& render) {
  json::Value points = json::Value::array();
  for (const FaceLandmark& lm : render.landmarks) {
    json::Value p = json::Value::array();
    p.push_back(std::round(lm.x * 100.0) / 100.0);
    p.push_back(std::round(lm.y * 100.0) / 100.0);
    p.push_back(lm.visible);
    points.push_back(std::move(p));
  }
  return points;
}

json::Value label_counts_json(const Image& labels) {
  std::vector<int64_t> counts(face_label::count, 0);
  for (size_t i = 0; i < labels.size_bytes(); ++i) ++counts[std::min<int>(labels.data()[i], face_label::count - 1)];
  json::Value out = json::Value::object();
  for (int l = 0; l < face_label::count; ++l) out[face_label_names()[l]] = counts[l];
  return out;
}

json::Value sample_json(const FaceSample& s) {
  json::Value face = json::Value::object();
  face["index"] = s.index;
  face["caption"] = s.caption.text;
  json::Value mentions = json::Value::array();
  for (const CaptionMention& m : s.caption.mentions) {
    json::Value mention = json::Value::object();
    mention["factor"] = m.factor;
    mention["value"] = m.value;
    mention["phrase"] = m.phrase;
    mentions.push_back(std::move(mention));
  }
  face["mentions"] = std::move(mentions);
  face["factors"] = face_factors_to_json(s.factors);
  face["landmarks"] = landmarks_json(s.render);
  face["label_pixels"] = label_counts_json(s.render.labels);
  return face;
}

// Grey where two renders agree, red where they differ.
Image difference_map(const FaceRender& a, const FaceRender& b) {
  Image out(a.image.height(), a.image.width(), 3);
  for (int y = 0; y < a.image.height(); ++y)
    for (int x = 0; x < a.image.width(); ++x) {
      bool same = a.labels.at(y, x) == b.labels.at(y, x);
      for (int c = 0; c < 3; ++c) same = same && a.image.at(y, x, c) == b.image.at(y, x, c);
      Color p = a.image.pixel(y, x);
      uint8_t grey = static_cast<uint8_t>((p.r + p.g + p.b) / 6 + 100);
      Color shown = same ? Color(grey, grey, grey) : Color(230, 30, 40);
      out.at(y, x, 0) = shown.r, out.at(y, x, 1) = shown.g, out.at(y, x, 2) = shown.b;
    }
  return out;
}

}  // namespace

int run_faces(const Flags& flags) {
  FaceConfig config;
  config.size = flags.get_int("size") == 0 ? 48 : static_cast<int>(flags.get_int("size"));
  config.seed = flags.seed();
  config.split = face_split_from_name(flags.get_string("split"));
  check_face_config(config);
  const int64_t n = flags.get_int("n");
  IRIS_CHECK(n >= 1 && n <= 1000000, "datagen faces: --n must be in [1, 1000000], got ", n);

  Run run(flags);
  json::Value config_json = json::Value::object();
  config_json["size"] = config.size;
  config_json["supersample"] = config.supersample;
  config_json["seed"] = static_cast<int64_t>(config.seed);
  config_json["split"] = face_split_name(config.split);
  config_json["glasses_probability"] = config.glasses_probability;
  config_json["hat_probability"] = config.hat_probability;
  run.set_config("faces", config_json);

  auto start = std::chrono::steady_clock::now();
  std::vector<FaceSample> samples = make_faces(config, 0, n);
  double render_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  const int shown = static_cast<int>(std::min<int64_t>(n, kShownFaces));
  const int factor = std::max(1, 192 / config.size);
  const int cell = config.size * factor;
  const int columns = std::min(8, shown);

  // faces.png: the faces and their captions.
  std::vector<GridCell> cells;
  for (int i = 0; i < shown; ++i)
    cells.push_back({samples[i].render.image, wrap_words(samples[i].caption.text, cell / font::kAdvance)});
  GridOptions grid;
  grid.columns = columns;
  grid.cell_width = cell;
  grid.title = "FACES (" + std::string(face_split_name(config.split)) + ", seed " + std::to_string(config.seed) +
               ", " + std::to_string(config.size) + "x" + std::to_string(config.size) + ")";
  save_png(run.path("faces.png"), make_image_grid(cells, grid));
  make_dirs(run.path("face"));
  for (int i = 0; i < shown; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "%03d.png", i);
    save_png(run.path("face/" + std::string(name)), samples[i].render.image);
  }

  // faces_masks.png: masks over the faces with the landmarks, and a legend.
  cells.clear();
  for (int i = 0; i < shown; ++i) {
    const FaceRender& r = samples[i].render;
    Image picture = enlarge(overlay_mask(r.image, r.labels), factor);
    for (const FaceLandmark& lm : r.landmarks) draw_landmark(picture, lm.x, lm.y, factor, lm.visible);
    const HairFactors& h = samples[i].factors.hair;
    cells.push_back({picture, std::string(hair_style_name(h.style)) + ", " + hair_color_name(h.color)});
  }
  grid.title = "parsing masks and 14 landmarks (hollow: covered)";
  save_png(run.path("faces_masks.png"),
           append_legend(make_image_grid(cells, grid), mask_legend(face_label_names(), {}, 2)));

  // faces_hair.png: the first face without a hat, with every style and every colour.
  int chosen = 0;
  for (int i = 0; i < shown; ++i)
    if (!samples[i].factors.scene.hat) {
      chosen = i;
      break;
    }
  const FaceFactors& face = samples[chosen].factors;
  cells.clear();
  cells.push_back({samples[chosen].render.image, "original"});
  for (int s = 0; s < hair_style::count; ++s) {
    HairFactors h = face.hair;
    h.style = s;
    cells.push_back({render_with_hair(face, h, config.size).image, hair_style_name(s)});
  }
  HairFactors edit = face.hair;
  edit.style = (face.hair.style + 4) % hair_style::count;
  edit.color = (face.hair.color + 5) % hair_color::count;
  cells.push_back({difference_map(samples[chosen].render, render_with_hair(face, edit, config.size)),
                   std::string("changed: ") + hair_style_name(edit.style)});
  for (int c = 0; c < hair_color::count; ++c) {
    HairFactors h = face.hair;
    h.color = c;
    cells.push_back({render_with_hair(face, h, config.size).image, hair_color_name(c)});
  }
  grid.columns = 10;
  grid.title = "face " + std::to_string(chosen) + " re-rendered: hair styles (row 1), hair colours (row 2)";
  save_png(run.path("faces_hair.png"), make_image_grid(cells, grid));

  // faces.json.
  json::Value doc = json::Value::object();
  doc["config"] = config_json;
  json::Value labels = json::Value::array(), landmarks = json::Value::array();
  for (const std::string& name : face_label_names()) labels.push_back(name);
  for (const std::string& name : face_landmark_names()) landmarks.push_back(name);
  doc["label_names"] = std::move(labels);
  doc["landmark_names"] = std::move(landmarks);
  doc["landmark_coordinates"] = "pixels, (0, 0) = centre of the top-left pixel; [x, y, visible]";
  json::Value faces = json::Value::array();
  for (const FaceSample& s : samples) faces.push_back(sample_json(s));
  doc["faces"] = std::move(faces);
  write_file_atomic(run.path("faces.json"), doc.dump(1) + "\n");

  json::Value metrics = json::Value::object();
  metrics["faces"] = n;
  metrics["render_seconds"] = std::round(render_seconds * 1000.0) / 1000.0;
  metrics["faces_per_second"] = std::round(n / std::max(1e-9, render_seconds));
  run.finish(metrics);
  return 0;
}

}  // namespace iris::datagen
