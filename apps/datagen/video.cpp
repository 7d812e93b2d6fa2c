// datagen video: writes samples of the synthetic VIDEO world (OUTrack-mini's config) to look at.
//   DIR/video_<i>/frames.png      every frame, enlarged, with each track's amodal box in its own
//                                 colour: solid = fully visible, dashed = partly hidden, dotted
//                                 with "?" = fully hidden (the label says the visible percentage)
//   DIR/video_<i>/strip.png       one row of 8 of those frames: around the first scripted occlusion
//                                 (the item going behind another and coming out), else evenly spaced
//   DIR/strips.png                the strips of the first 4 videos with a scripted occlusion, one per row
//   DIR/video_<i>/visibility.png  one row per track, one column per frame, coloured by visibility
//                                 (black = hidden); white ticks mark the scripted occlusions
//   DIR/video_<i>/gt.txt          MOTChallenge ground truth (1-based frames and pixels)
//   DIR/reid_crops.png            re-ID crops of the tracks (identity and camera under each)
//   DIR/videos.json               the config and, per video, its tracks, events and visibility
// --preset picks OUTrack-mini's config (the default) or PNL-mini's (64 x 64, 30 frames, 2-4 items,
// affine deformation, a photometric style per camera). Leaves out: video files (PNG only).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>

#include "apps/common/run.h"
#include "apps/datagen/datagen.h"
#include "image/draw.h"
#include "io/file_util.h"
#include "data/synth/video.h"

namespace iris::datagen {

namespace {

using namespace iris::synth;

constexpr int kFactor = 2;       // frames are drawn enlarged by this
constexpr int kColumns = 10;     // frames per row of frames.png
constexpr int kShownCrops = 96;  // crops in reid_crops.png
constexpr int kStripFrames = 8;  // frames per strip
constexpr int kStripVideos = 4;  // strips in strips.png

// The rectangle [x, x + w) x [y, y + h) outlined with dashes of `on` pixels drawn and `off`
// skipped (off = 0: solid), `thickness` pixels wide inside. The pattern follows the distance along
// each edge from the rectangle's corner, so the lines of a thick outline dash in step.
void draw_patterned_rect(Image& image, int x, int y, int w, int h, Color color, int on, int off, int thickness) {
  auto drawn = [&](int along) { return off == 0 || along % (on + off) < on; };
  for (int k = 0; k < thickness; ++k) {
    int x0 = x + k, y0 = y + k, x1 = x + w - 1 - k, y1 = y + h - 1 - k;
    if (x1 < x0 || y1 < y0) break;
    for (int px = x0; px <= x1; ++px) {
      if (!drawn(px - x)) continue;
      set_pixel(image, px, y0, color);
      set_pixel(image, px, y1, color);
    }
    for (int py = y0; py <= y1; ++py) {
      if (!drawn(py - y)) continue;
      set_pixel(image, x0, py, color);
      set_pixel(image, x1, py, color);
    }
  }
}

Image grey_to_rgb_enlarged(const Image& grey, int factor) {
  Image rgb = convert_channels(grey, 3);
  Image out(rgb.height() * factor, rgb.width() * factor, 3);
  paste_image(out, rgb, 0, 0, out.width(), out.height());
  return out;
}

Color track_color(int track_id) { return colors::palette(track_id - 1); }

// Frame t with its boxes drawn.
Image annotated_frame(const Video& video, int t) {
  Image image = grey_to_rgb_enlarged(video.frame(t), kFactor);
  for (const VideoObject& o : video.objects[t]) {
    Color color = track_color(o.track_id);
    int x = o.x0 * kFactor, y = o.y0 * kFactor, w = (o.x1 - o.x0) * kFactor, h = (o.y1 - o.y0) * kFactor;
    std::string label = std::to_string(o.track_id);
    if (o.visibility >= 1.0f) {
      draw_patterned_rect(image, x, y, w, h, color, 1, 0, 2);
    } else if (o.visibility > 0.0f) {
      draw_patterned_rect(image, x, y, w, h, color, 6, 4, 2);
      label += " " + std::to_string(std::min(99, static_cast<int>(o.visibility * 100))) + "%";  // floor: never "100%"
    } else {
      draw_patterned_rect(image, x, y, w, h, color, 2, 3, 1);
      label += "?";
    }
    draw_label(image, x, y, label, colors::white, color, 1, 1);
  }
  return image;
}

// One row per track, one column per frame: the track's colour scaled by its visibility.
Image visibility_chart(const Video& video) {
  const int cell_w = 8, cell_h = 14, left = 150, top = 18;
  const int T = video.num_frames(), K = static_cast<int>(video.tracks.size());
  Image chart(top + K * cell_h + 14, left + T * cell_w + 4, 3, colors::white);
  draw_text(chart, 4, 4, "visibility per frame (black: fully hidden; white ticks: scripted occlusion)", colors::black);
  for (int k = 0; k < K; ++k) {
    const VideoTrack& tr = video.tracks[k];
    Color c = track_color(tr.track_id);
    int y = top + k * cell_h;
    draw_text(chart, 4, y + 3,
              std::to_string(tr.track_id) + " " + class_name(tr.label) + " #" + std::to_string(tr.identity) + " z" +
                  std::to_string(tr.depth),
              c);
    for (int t = 0; t < T; ++t) {
      float v = video.objects[t][k].visibility;
      Color shade(static_cast<uint8_t>(c.r * v), static_cast<uint8_t>(c.g * v), static_cast<uint8_t>(c.b * v));
      fill_rect(chart, left + t * cell_w, y, cell_w - 1, cell_h - 2, shade);
    }
  }
  for (const OcclusionEvent& e : video.events) {
    int y = top + (e.occludee - 1) * cell_h + cell_h / 2 - 1;
    for (int t = e.first_frame; t <= e.last_frame; ++t) fill_rect(chart, left + t * cell_w + 2, y, cell_w - 5, 2, colors::white);
  }
  for (int t = 0; t < T; t += 10) draw_text(chart, left + t * cell_w, top + K * cell_h + 2, std::to_string(t), colors::black);
  return chart;
}

// The frames a strip shows, increasing: kStripFrames spread over the first scripted occlusion, from
// the last fully visible frame of the occludee before it to the first one after it (plus a frame
// either side); videos without one spread them over the whole video.
std::vector<int> strip_frames(const Video& video) {
  const int T = video.num_frames();
  int lo = 0, hi = T - 1;
  if (!video.events.empty()) {
    const OcclusionEvent& e = video.events[0];
    const size_t k = static_cast<size_t>(e.occludee - 1);
    lo = e.first_frame, hi = e.last_frame;
    const int reach = 12;  // frames looked at on either side
    while (lo > 0 && lo > e.first_frame - reach && video.objects[lo][k].visibility < 1.0f) --lo;
    while (hi < T - 1 && hi < e.last_frame + reach && video.objects[hi][k].visibility < 1.0f) ++hi;
    lo = std::max(0, lo - 1), hi = std::min(T - 1, hi + 1);
    // Too short for distinct frames: widen around the middle.
    while (hi - lo + 1 < kStripFrames && (lo > 0 || hi < T - 1)) {
      if (lo > 0) --lo;
      if (hi - lo + 1 < kStripFrames && hi < T - 1) ++hi;
    }
  }
  std::vector<int> frames;
  const int shown = std::min(kStripFrames, hi - lo + 1);
  for (int i = 0; i < shown; ++i) {
    int t = shown == 1 ? lo : lo + static_cast<int>(std::lround(double(i) * (hi - lo) / (shown - 1)));
    if (frames.empty() || t != frames.back()) frames.push_back(t);
  }
  return frames;
}

std::vector<GridCell> strip_cells(const Video& video, bool name_video) {
  std::vector<GridCell> cells;
  for (int t : strip_frames(video))
    cells.push_back({annotated_frame(video, t),
                     (name_video ? "video " + std::to_string(video.index) + ", " : std::string()) + "frame " +
                         std::to_string(t)});
  return cells;
}

const char* kBoxLegend = "solid = visible, dashed = partly hidden, dotted ? = hidden";

json::Value video_json(const Video& video, const std::string& folder) {
  json::Value v = json::Value::object();
  v["index"] = video.index;
  v["folder"] = folder;
  v["frames"] = video.num_frames();
  v["camera"] = video.camera;
  json::Value tracks = json::Value::array();
  for (size_t k = 0; k < video.tracks.size(); ++k) {
    const VideoTrack& tr = video.tracks[k];
    double mean = 0;
    int hidden = 0, partly = 0, longest = 0, run = 0;
    for (int t = 0; t < video.num_frames(); ++t) {
      float vis = video.objects[t][k].visibility;
      mean += vis;
      hidden += vis == 0.0f;
      partly += vis > 0.0f && vis < 1.0f;
      run = vis == 0.0f ? run + 1 : 0;
      longest = std::max(longest, run);
    }
    json::Value j = json::Value::object();
    j["id"] = tr.track_id;
    j["identity"] = tr.identity;
    j["label"] = tr.label;
    j["class"] = class_name(tr.label);
    j["depth"] = tr.depth;
    j["mean_visibility"] = std::round(mean / video.num_frames() * 1000.0) / 1000.0;
    j["hidden_frames"] = hidden;
    j["partly_hidden_frames"] = partly;
    j["longest_hidden_run"] = longest;
    tracks.push_back(std::move(j));
  }
  v["tracks"] = std::move(tracks);
  json::Value events = json::Value::array();
  for (const OcclusionEvent& e : video.events) {
    json::Value j = json::Value::object();
    j["occluder"] = e.occluder;
    j["occludee"] = e.occludee;
    j["first_frame"] = e.first_frame;
    j["last_frame"] = e.last_frame;
    events.push_back(std::move(j));
  }
  v["scripted_occlusions"] = std::move(events);
  return v;
}

json::Value config_json(const VideoConfig& c, int64_t identities, const std::string& preset) {
  json::Value j = json::Value::object();
  j["preset"] = preset;
  j["size"] = c.size;
  j["frames"] = json::Value::array();
  j["frames"].push_back(c.min_frames);
  j["frames"].push_back(c.max_frames);
  j["items"] = json::Value::array();
  j["items"].push_back(c.min_items);
  j["items"].push_back(c.max_items);
  j["seed"] = static_cast<int64_t>(c.seed);
  j["split"] = video_split_name(c.split);
  j["identities"] = identities;
  j["appearance_jitter"] = c.appearance_jitter;
  j["deformation"] = c.deformation;
  j["occlusion_rate"] = c.occlusion_rate;
  j["camera_style"] = c.camera_style;
  return j;
}

}  // namespace

int run_video(const Flags& flags) {
  const std::string& preset = flags.get_string("preset");
  IRIS_CHECK(preset == "outrack" || preset == "pnl", "--preset ", preset, " is not a video preset; use outrack or pnl");
  VideoSplit split = parse_video_split(flags.get_string("split"));
  VideoConfig config = preset == "pnl" ? pnl_video_config(split, flags.seed()) : outrack_video_config(split, flags.seed());
  if (flags.get_int("size") != 0) config.size = static_cast<int>(flags.get_int("size"));
  check_video_config(config);
  const int64_t n = flags.get_int("n");
  IRIS_CHECK(n >= 1 && n <= 10000, "datagen video: --n must be in [1, 10000], got ", n);

  ItemBank bank = ItemBank::load(flags.data_dir(), true);
  VideoWorld world(bank, config);
  Run run(flags);
  run.set_config("video", config_json(config, world.num_identities(), preset));

  auto start = std::chrono::steady_clock::now();
  std::vector<Video> videos;
  for (int64_t i = 0; i < n; ++i) videos.push_back(generate_video(world, i));
  double render_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  json::Value doc = json::Value::object();
  doc["config"] = config_json(config, world.num_identities(), preset);
  doc["boxes"] = "amodal, tight around the item's silhouette; MOT files: frame,id,left,top,width,height,conf,class,"
                 "visibility with 1-based frames and pixels, class = Fashion-MNIST label + 1";
  json::Value list = json::Value::array();
  int64_t total_frames = 0;
  for (const Video& video : videos) {
    std::string folder = "video_" + std::to_string(video.index);
    make_dirs(run.path(folder));
    write_mot(run.path(folder + "/gt.txt"), video);
    std::vector<GridCell> cells;
    for (int t = 0; t < video.num_frames(); ++t) cells.push_back({annotated_frame(video, t), "frame " + std::to_string(t)});
    GridOptions grid;
    grid.columns = kColumns;
    grid.title = "video " + std::to_string(video.index) + " (" + video_split_name(config.split) + ", seed " +
                 std::to_string(config.seed) + "): " + kBoxLegend;
    save_png(run.path(folder + "/frames.png"), make_image_grid(cells, grid));
    GridOptions strip;
    strip.columns = kStripFrames;
    strip.title = "video " + std::to_string(video.index) + ": " + kBoxLegend;
    save_png(run.path(folder + "/strip.png"), make_image_grid(strip_cells(video, false), strip));
    save_png(run.path(folder + "/visibility.png"), visibility_chart(video));
    list.push_back(video_json(video, folder));
    total_frames += video.num_frames();
  }
  doc["videos"] = std::move(list);

  // strips.png: videos with a scripted occlusion first, so the picture shows one per row.
  std::vector<const Video*> strip_videos;
  for (int pass = 0; pass < 2; ++pass)
    for (const Video& video : videos)
      if (static_cast<int>(strip_videos.size()) < kStripVideos && video.events.empty() == (pass == 1))
        strip_videos.push_back(&video);
  std::vector<GridCell> strip_rows;
  for (const Video* video : strip_videos) {
    std::vector<GridCell> row = strip_cells(*video, true);
    row.resize(kStripFrames, GridCell{Image(1, 1, 3, colors::white), ""});  // short strips: blank cells
    for (GridCell& cell : row) strip_rows.push_back(std::move(cell));
  }
  GridOptions strips;
  strips.columns = kStripFrames;
  strips.cell_width = config.size * kFactor;
  strips.title = "VIDEO (" + preset + ", " + video_split_name(config.split) + ", seed " + std::to_string(config.seed) +
                 ", " + std::to_string(config.size) + "x" + std::to_string(config.size) + "): amodal boxes, " + kBoxLegend;
  save_png(run.path("strips.png"), make_image_grid(strip_rows, strips));
  write_file_atomic(run.path("videos.json"), doc.dump(1) + "\n");

  // Re-ID crops: a few per track, grouped by identity.
  ReidCropOptions crop;
  crop.max_per_track = 6;
  ReidSet crops = extract_reid_crops(videos, crop);
  std::vector<GridCell> cells;
  for (int64_t i = 0; i < std::min<int64_t>(crops.size(), kShownCrops); ++i) {
    Image image(crop.height, crop.width, 1);
    Tensor pixels = crops.images.select(0, i).contiguous();
    std::copy(pixels.data<uint8_t>(), pixels.data<uint8_t>() + crop.height * crop.width, image.data());
    cells.push_back({image, "#" + std::to_string(crops.identities[i]) + " c" + std::to_string(crops.cameras[i])});
  }
  GridOptions grid;
  grid.columns = 12;
  grid.cell_width = 64;
  grid.title = "re-ID crops (identity, camera = video), visibility >= 0.5, 6 per track";
  if (!cells.empty()) save_png(run.path("reid_crops.png"), make_image_grid(cells, grid));

  json::Value metrics = json::Value::object();
  metrics["videos"] = n;
  metrics["frames"] = total_frames;
  metrics["reid_crops"] = crops.size();
  metrics["render_seconds"] = std::round(render_seconds * 1000.0) / 1000.0;
  metrics["videos_per_second"] = std::round(n / std::max(1e-9, render_seconds) * 10.0) / 10.0;
  run.finish(metrics);
  return 0;
}

}  // namespace iris::datagen
