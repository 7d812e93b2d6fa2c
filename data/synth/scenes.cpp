// The scenes world's layout and pixels: configuration checks, backgrounds (dark, light, textured),
// item scaling (area averaging down, bilinear up), placement with bounded overlap, compositing, and
// the per-split item ranges. Captions and questions are in scenes_language.cpp, JSON and pictures in
// scenes_export.cpp. Leaves out: rotation, blur and any augmentation beyond the shifted domain.
#include "data/synth/scenes.h"

#include <algorithm>
#include <cmath>
#include <exception>

#include "data/idx.h"
#include "data/synth/scenes_detail.h"

namespace iris::synth {

namespace {

constexpr double kInk = 0.1;            // item pixels under 10% intensity are not drawn (and not boxed)
constexpr int kMaxItems = 5;
constexpr int kAttemptsPerItem = 60;    // placements tried per item before it is dropped
constexpr int kMaxRestarts = 16;        // whole layouts tried before the config is declared infeasible
constexpr int64_t kTrainFileItems = 50000;  // train uses [0, 50000) of the train file, val the rest
constexpr int64_t kMaxIndex = int64_t(1) << 52;

// Random streams: split (2 bits) | purpose (2 bits) | restart (6 bits) | index (52 bits). Each
// purpose draws from its own stream, so the layout does not depend on the noise or the text.
enum Purpose : uint64_t { kLayout = 0, kBackground = 1, kLanguage = 2 };
uint64_t stream_id(SceneSplit split, Purpose purpose, int restart, int64_t index) {
  return (static_cast<uint64_t>(split) << 62) | (static_cast<uint64_t>(purpose) << 60) |
         (static_cast<uint64_t>(restart) << 52) | static_cast<uint64_t>(index);
}

// 4096 quantiles of N(0, 1) at (i + 0.5) / 4096: one 12-bit random number gives one normal sample, six
// times cheaper than Box-Muller, and plenty for 8-bit pixel noise.
const std::vector<float>& normal_quantiles() {
  static const std::vector<float> table = [] {
    std::vector<float> t(4096);
    for (int i = 0; i < 4096; ++i) {
      double p = (i + 0.5) / 4096.0, lo = -8, hi = 8;
      for (int it = 0; it < 60; ++it) {
        double mid = 0.5 * (lo + hi);
        (0.5 * std::erfc(-mid / std::sqrt(2.0)) < p ? lo : hi) = mid;
      }
      t[i] = static_cast<float>(0.5 * (lo + hi));
    }
    return t;
  }();
  return table;
}

// Adds N(0, sigma) to every value (the background, before items are drawn).
void add_noise(std::vector<float>& canvas, double sigma, SynthRandom& rng) {
  if (sigma <= 0) return;
  const std::vector<float>& table = normal_quantiles();
  const float s = static_cast<float>(sigma);
  size_t i = 0, n = canvas.size();
  while (i < n) {
    uint32_t bits = rng.next_u32();
    canvas[i++] += s * table[bits & 4095];
    if (i < n) canvas[i++] += s * table[(bits >> 12) & 4095];
  }
}

struct Ink {
  enum Kind { bright, dark } kind = bright;  // bright: ink = c * v; dark ("ink on paper"): 1 - v (1 - c)
};

// The background into canvas (float [H, W, C] in [0, 1]); returns its name.
std::string paint_background(std::vector<float>& canvas, const SceneConfig& config, int channels, Ink& ink,
                             SynthRandom& rng) {
  const int n = config.size;
  std::fill(canvas.begin(), canvas.end(), 0.0f);
  ink.kind = Ink::bright;
  if (config.clean_background) return "clean";
  std::string name;
  if (!config.shifted) {
    float level = static_cast<float>(rng.uniform(0.0, 0.08));
    std::fill(canvas.begin(), canvas.end(), level);
    name = "dark";
  } else if (rng.bernoulli(0.5)) {
    float level = static_cast<float>(rng.uniform(0.8, 0.95));
    std::fill(canvas.begin(), canvas.end(), level);
    ink.kind = Ink::dark;
    name = "light";
  } else {
    // Stripes at any angle, checks, or two crossed waves, between two grey levels (tinted when in colour).
    int pattern = static_cast<int>(rng.below(3));
    double low = rng.uniform(0.05, 0.15), high = low + rng.uniform(0.15, 0.3);
    double angle = rng.uniform(0, 3.141592653589793), period = rng.uniform(5, 12) * n / 64.0;
    double phase = rng.uniform(0, 6.283185307179586);
    int cell = static_cast<int>(rng.range(3, 8)) * n / 64;
    cell = std::max(cell, 2);
    float tint[3] = {1, 1, 1};
    if (channels == 3)
      for (float& t : tint) t = static_cast<float>(rng.uniform(0.5, 1.0));
    const double ca = std::cos(angle), sa = std::sin(angle), w = 6.283185307179586 / period;
    for (int y = 0; y < n; ++y) {
      for (int x = 0; x < n; ++x) {
        double t;
        if (pattern == 0) t = 0.5 + 0.5 * std::sin(w * (x * ca + y * sa) + phase);
        else if (pattern == 1) t = ((x / cell + y / cell) % 2) ? 1.0 : 0.0;
        else t = 0.5 + 0.25 * std::sin(w * x + phase) + 0.25 * std::sin(w * y * 0.7 + 2 * phase);
        float v = static_cast<float>(low + (high - low) * t);
        for (int c = 0; c < channels; ++c) canvas[(static_cast<size_t>(y) * n + x) * channels + c] = v * tint[c];
      }
    }
    name = "texture";
  }
  add_noise(canvas, config.noise_sigma, rng);
  return name;
}

// Resampling weights along one axis from `in` to `out` pixels: area averaging when shrinking,
// bilinear (pixel centres aligned) when enlarging.
struct Tap {
  int index;
  float weight;
};
std::vector<std::vector<Tap>> axis_taps(int in, int out) {
  std::vector<std::vector<Tap>> taps(out);
  if (out < in) {
    double ratio = double(in) / out;
    for (int o = 0; o < out; ++o) {
      double lo = o * ratio, hi = (o + 1) * ratio;
      for (int i = static_cast<int>(std::floor(lo)); i < std::min(in, static_cast<int>(std::ceil(hi))); ++i) {
        double overlap = std::min(hi, i + 1.0) - std::max(lo, double(i));
        if (overlap > 0) taps[o].push_back({i, static_cast<float>(overlap / ratio)});
      }
    }
  } else {
    for (int o = 0; o < out; ++o) {
      double s = std::min(std::max(0.0, (o + 0.5) * in / out - 0.5), in - 1.0);
      int lo = static_cast<int>(s), hi = std::min(lo + 1, in - 1);
      float f = static_cast<float>(s - lo);
      taps[o].push_back({lo, 1 - f});
      if (hi != lo) taps[o].push_back({hi, f});
    }
  }
  return taps;
}

// One item scaled so the longer side of its ink is `side` pixels: intensities v in [0, 1] (under kInk
// set to 0) and the tight box of what is left, in patch coordinates.
struct Patch {
  int width = 0, height = 0;
  std::vector<float> v;       // [height, width]
  int x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  bool empty() const { return x1 <= x0; }
};

Patch scale_item(const uint8_t* pixels, const std::array<int, 4>& box, int side) {
  const int crop_w = box[2] - box[0], crop_h = box[3] - box[1];
  const double f = double(side) / std::max(crop_w, crop_h);
  Patch p;
  p.width = std::max(1, static_cast<int>(std::lround(crop_w * f)));
  p.height = std::max(1, static_cast<int>(std::lround(crop_h * f)));
  std::vector<std::vector<Tap>> tx = axis_taps(crop_w, p.width), ty = axis_taps(crop_h, p.height);
  std::vector<float> rows(static_cast<size_t>(crop_h) * p.width);  // [crop_h, width]
  for (int y = 0; y < crop_h; ++y) {
    const uint8_t* src = pixels + (box[1] + y) * kItemSide + box[0];
    for (int x = 0; x < p.width; ++x) {
      float acc = 0;
      for (const Tap& t : tx[x]) acc += t.weight * src[t.index];
      rows[static_cast<size_t>(y) * p.width + x] = acc * (1.0f / 255.0f);
    }
  }
  p.v.assign(static_cast<size_t>(p.width) * p.height, 0.0f);
  p.x0 = p.width, p.y0 = p.height;
  for (int y = 0; y < p.height; ++y) {
    for (int x = 0; x < p.width; ++x) {
      float acc = 0;
      for (const Tap& t : ty[y]) acc += t.weight * rows[static_cast<size_t>(t.index) * p.width + x];
      if (acc < kInk) continue;
      p.v[static_cast<size_t>(y) * p.width + x] = std::min(acc, 1.0f);
      p.x0 = std::min(p.x0, x), p.y0 = std::min(p.y0, y);
      p.x1 = std::max(p.x1, x + 1), p.y1 = std::max(p.y1, y + 1);
    }
  }
  if (p.x1 == 0) p.x0 = p.y0 = 0;
  return p;
}

// Alpha-composites the patch with its top-left at (ox, oy): alpha = min(1, 3 v); ink colour c * v
// (bright) or 1 - v (1 - c) (dark ink on a light background).
void composite(std::vector<float>& canvas, int n, int channels, const Patch& p, int ox, int oy, const float c[3],
               Ink ink) {
  for (int y = p.y0; y < p.y1; ++y) {
    for (int x = p.x0; x < p.x1; ++x) {
      float v = p.v[static_cast<size_t>(y) * p.width + x];
      if (v <= 0) continue;
      float alpha = std::min(1.0f, 3.0f * v);
      float* px = &canvas[(static_cast<size_t>(oy + y) * n + (ox + x)) * channels];
      for (int k = 0; k < channels; ++k) {
        float colour = ink.kind == Ink::bright ? c[k] * v : 1.0f - v * (1.0f - c[k]);
        px[k] = (1 - alpha) * px[k] + alpha * colour;
      }
    }
  }
}

bool overlap_ok(const Box& box, const std::vector<SceneObject>& placed, const SceneConfig& config) {
  for (const SceneObject& o : placed) {
    const Box other = o.box();
    double inter = area(intersect(box, other));
    if (inter <= 0) continue;
    double cover = inter / std::min(area(box), area(other));
    if (iou(box, other) > config.max_iou || cover > config.max_cover) return false;
  }
  return true;
}

// The indices of class c that the split may use.
std::pair<const int64_t*, const int64_t*> class_range(const ItemBank& bank, SceneSplit split, int c) {
  const std::vector<int64_t>& all = bank.indices_of_class(c);
  const int64_t* begin = all.data();
  const int64_t* end = all.data() + all.size();
  if (split == SceneSplit::test) return {begin, end};
  const int64_t* cut = std::lower_bound(begin, end, kTrainFileItems);
  return split == SceneSplit::train ? std::make_pair(begin, cut) : std::make_pair(cut, end);
}

std::string size_word(int side, std::pair<int, int> range) {
  double third = (range.second - range.first) / 3.0;
  if (range.second == range.first) return "medium";
  if (side < range.first + third) return "small";
  if (side > range.second - third) return "big";
  return "medium";
}

struct Banks {
  ItemBank train_file, test_file;
};

Banks load_banks(const SceneConfig& config) {
  std::string dir = config.data_dir.empty() ? data::fashion_mnist_dir() : config.data_dir;
  Banks b;
  if (config.split == SceneSplit::test) b.test_file = ItemBank::load(dir, false);
  else b.train_file = ItemBank::load(dir, true);
  return b;
}

// Places the items; false when fewer than min_items (or no novel item where one is required) fit.
// The scaled patch of each placed item goes to `patches` for render().
bool lay_out(Scene& scene, const SceneConfig& config, const ItemBank& bank, SynthRandom& rng,
             std::vector<Patch>& patches) {
  const std::pair<int, int> px = item_px_range(config);
  std::vector<int> allowed, novel = config.held_out;
  for (int c = 0; c < kNumClasses; ++c)
    if (config.classes != SceneClasses::seen || !is_novel_class(config, c)) allowed.push_back(c);
  int count = config.centered_single ? 1 : static_cast<int>(rng.range(config.min_items, config.max_items));
  std::vector<int> slots;
  for (int i = 0; i < count; ++i)
    slots.push_back(config.classes == SceneClasses::novel && i == 0 ? rng.pick(novel) : rng.pick(allowed));
  rng.shuffle(slots);
  const auto& palette = tint_palette(config.shifted);
  scene.objects.clear();
  patches.clear();
  for (int label : slots) {
    // The tint is drawn on grey canvases too, so grey and colour variants share their layout.
    const auto& tint = palette[rng.below(static_cast<int64_t>(palette.size()))];
    auto range = class_range(bank, config.split, label);
    IRIS_ASSERT(range.second > range.first);
    for (int attempt = 0; attempt < kAttemptsPerItem; ++attempt) {
      int64_t item = range.first[rng.below(range.second - range.first)];
      int side = config.centered_single ? px.second : static_cast<int>(rng.range(px.first, px.second));
      Patch patch = scale_item(bank.pixels(item), bank.box(item), side);
      if (patch.empty()) continue;
      int bw = patch.x1 - patch.x0, bh = patch.y1 - patch.y0;
      if (bw > config.size || bh > config.size) continue;
      int x0, y0;
      if (config.centered_single) {
        x0 = (config.size - bw) / 2;
        y0 = (config.size - bh) / 2;
      } else {
        x0 = static_cast<int>(rng.range(0, config.size - bw));
        y0 = static_cast<int>(rng.range(0, config.size - bh));
      }
      if (!overlap_ok(Box{double(x0), double(y0), double(x0 + bw), double(y0 + bh)}, scene.objects, config)) continue;
      SceneObject o;
      o.id = static_cast<int>(scene.objects.size());
      o.label = label;
      o.name = class_name(label);
      o.novel = is_novel_class(config, label);
      o.item_index = item;
      o.x0 = x0, o.y0 = y0, o.x1 = x0 + bw, o.y1 = y0 + bh;
      o.side_px = side;
      o.size = size_word(side, px);
      o.colour = config.colour ? tint.first : "";
      o.tint = config.colour ? tint.second : colors::white;
      scene.objects.push_back(std::move(o));
      patches.push_back(std::move(patch));
      break;
    }
  }
  if (static_cast<int>(scene.objects.size()) < (config.centered_single ? 1 : config.min_items)) return false;
  if (config.classes == SceneClasses::novel &&
      std::none_of(scene.objects.begin(), scene.objects.end(), [](const SceneObject& o) { return o.novel; }))
    return false;
  return true;
}

void render(Scene& scene, const SceneConfig& config, const std::vector<Patch>& patches) {
  const int n = config.size, channels = config.colour ? 3 : 1;
  std::vector<float> canvas(static_cast<size_t>(n) * n * channels);  // [H, W, C] in [0, 1]
  SynthRandom rng(config.seed, stream_id(config.split, kBackground, 0, scene.index));
  Ink ink;
  scene.background = paint_background(canvas, config, channels, ink, rng);
  for (size_t i = 0; i < scene.objects.size(); ++i) {
    const SceneObject& o = scene.objects[i];
    const Patch& patch = patches[i];
    float c[3];
    if (config.colour) {
      c[0] = o.tint.r / 255.0f, c[1] = o.tint.g / 255.0f, c[2] = o.tint.b / 255.0f;
    } else {
      c[0] = c[1] = c[2] = ink.kind == Ink::bright ? 1.0f : 0.0f;  // grey: white ink, or black on light
    }
    composite(canvas, n, channels, patch, o.x0 - patch.x0, o.y0 - patch.y0, c, ink);
  }
  scene.image = Image(n, n, channels);
  uint8_t* out = scene.image.data();
  for (size_t i = 0; i < canvas.size(); ++i)
    out[i] = static_cast<uint8_t>(std::min(1.0f, std::max(0.0f, canvas[i])) * 255.0f + 0.5f);  // round to nearest
}

Scene generate_with(const SceneConfig& config, const Banks& banks, int64_t index) {
  IRIS_CHECK(index >= 0 && index < kMaxIndex, "generate_scene: index ", index, " must be in [0, 2^52)");
  const ItemBank& bank = config.split == SceneSplit::test ? banks.test_file : banks.train_file;
  Scene scene;
  scene.seed = config.seed;
  scene.split = config.split;
  scene.index = index;
  scene.shifted = config.shifted;
  bool placed = false;
  std::vector<Patch> patches;
  for (int restart = 0; restart < kMaxRestarts && !placed; ++restart) {
    SynthRandom rng(config.seed, stream_id(config.split, kLayout, restart, index));
    placed = lay_out(scene, config, bank, rng, patches);
  }
  IRIS_CHECK(placed, "generate_scene: could not place ", config.min_items, " items of ", item_px_range(config).first,
             "..", item_px_range(config).second, " px on a ", config.size, "x", config.size,
             " canvas with max IoU ", config.max_iou, " and max cover ", config.max_cover, " in ", kMaxRestarts,
             " tries; lower min_items or the item sizes, or raise the overlap bounds");
  render(scene, config, patches);
  SynthRandom text_rng(config.seed, stream_id(config.split, kLanguage, 0, index));
  detail::describe_scene(scene, config, text_rng);
  return scene;
}

}  // namespace

// ---- configuration ------------------------------------------------------------------------------

const char* scene_split_name(SceneSplit split) {
  switch (split) {
    case SceneSplit::train: return "train";
    case SceneSplit::val: return "val";
    case SceneSplit::test: return "test";
  }
  return "?";
}

SceneSplit parse_scene_split(const std::string& name) {
  if (name == "train") return SceneSplit::train;
  if (name == "val") return SceneSplit::val;
  if (name == "test") return SceneSplit::test;
  throw Error(cat_str("scenes: unknown split \"", name, "\"; use train, val or test"));
}

const char* scene_classes_name(SceneClasses classes) {
  switch (classes) {
    case SceneClasses::all: return "all";
    case SceneClasses::seen: return "seen";
    case SceneClasses::novel: return "novel";
  }
  return "?";
}

SceneClasses parse_scene_classes(const std::string& name) {
  if (name == "all") return SceneClasses::all;
  if (name == "seen") return SceneClasses::seen;
  if (name == "novel") return SceneClasses::novel;
  throw Error(cat_str("scenes: unknown class set \"", name, "\"; use all, seen or novel"));
}

void validate_scene_config(const SceneConfig& c) {
  IRIS_CHECK(c.size >= 32 && c.size <= 256, "scenes: size ", c.size, " must be in [32, 256] (64 or 96 in the specs)");
  IRIS_CHECK(c.min_items >= 1 && c.min_items <= kMaxItems, "scenes: min_items ", c.min_items, " must be in [1, ",
             kMaxItems, "]");
  IRIS_CHECK(c.max_items >= c.min_items && c.max_items <= kMaxItems, "scenes: max_items ", c.max_items,
             " must be in [min_items = ", c.min_items, ", ", kMaxItems, "]");
  std::vector<int> held = c.held_out;
  std::sort(held.begin(), held.end());
  for (size_t i = 0; i < held.size(); ++i) {
    IRIS_CHECK(held[i] >= 0 && held[i] < kNumClasses, "scenes: held-out class ", held[i], " is outside 0..9");
    IRIS_CHECK(i == 0 || held[i] != held[i - 1], "scenes: held-out class ", held[i], " is listed twice");
  }
  IRIS_CHECK(c.classes != SceneClasses::seen || held.size() < kNumClasses,
             "scenes: every class is held out, so the seen split has no class; hold out fewer");
  IRIS_CHECK(c.classes != SceneClasses::novel || !held.empty(),
             "scenes: the novel split needs at least one held-out class (held_out is empty)");
  IRIS_CHECK(c.min_item_px >= 0 && c.max_item_px >= 0, "scenes: item sizes must be >= 0 (0: the domain default)");
  std::pair<int, int> px = item_px_range(c);
  IRIS_CHECK(px.first >= 4 && px.first <= px.second && px.second <= c.size, "scenes: item sizes ", px.first, "..",
             px.second, " px must satisfy 4 <= min <= max <= size (", c.size, ")");
  IRIS_CHECK(c.max_iou >= 0 && c.max_iou <= 1, "scenes: max_iou ", c.max_iou, " must be in [0, 1]");
  IRIS_CHECK(c.max_cover >= 0 && c.max_cover <= 1, "scenes: max_cover ", c.max_cover, " must be in [0, 1]");
  IRIS_CHECK(c.noise_sigma >= 0 && c.noise_sigma <= 1, "scenes: noise_sigma ", c.noise_sigma, " must be in [0, 1]");
}

std::pair<int, int> item_px_range(const SceneConfig& c) {
  auto scaled = [&](int px64) { return static_cast<int>(std::lround(px64 * c.size / 64.0)); };
  int lo = c.min_item_px > 0 ? c.min_item_px : scaled(c.shifted ? 28 : 16);
  int hi = c.max_item_px > 0 ? c.max_item_px : scaled(c.shifted ? 40 : 28);
  return {lo, hi};
}

const std::vector<std::pair<std::string, Color>>& tint_palette(bool shifted) {
  static const std::vector<std::pair<std::string, Color>> normal = {
      {"red", {230, 50, 40}}, {"green", {60, 200, 70}}, {"blue", {60, 110, 245}},
      {"yellow", {240, 220, 40}}, {"white", {240, 240, 240}}};
  static const std::vector<std::pair<std::string, Color>> shifted_palette = {
      {"orange", {250, 140, 20}}, {"purple", {160, 70, 220}}, {"pink", {250, 110, 190}}, {"cyan", {40, 210, 220}}};
  return shifted ? shifted_palette : normal;
}

bool is_novel_class(const SceneConfig& config, int c) {
  return std::find(config.held_out.begin(), config.held_out.end(), c) != config.held_out.end();
}

// ---- generation -----------------------------------------------------------------------------------

Scene generate_scene(const SceneConfig& config, int64_t index) {
  validate_scene_config(config);
  return generate_with(config, load_banks(config), index);
}

std::vector<Scene> generate_scenes(const SceneConfig& config, int64_t first, int64_t count) {
  validate_scene_config(config);
  IRIS_CHECK(count >= 0 && first >= 0 && first <= kMaxIndex - count, "generate_scenes: scenes [", first, ", ",
             first, " + ", count, ") must lie in [0, 2^52)");
  Banks banks = load_banks(config);
  std::vector<Scene> scenes(static_cast<size_t>(count));
  std::exception_ptr failure;
#pragma omp parallel for schedule(dynamic, 16) num_threads(num_threads())
  for (int64_t i = 0; i < count; ++i) {
    try {
      scenes[i] = generate_with(config, banks, first + i);
    } catch (...) {
#pragma omp critical(iris_scenes_failure)
      if (!failure) failure = std::current_exception();
    }
  }
  if (failure) std::rethrow_exception(failure);
  return scenes;
}

std::string spatial_relation(const Box& a, const Box& b, bool* clear) {
  // Centres in half pixels keep the comparison exact (integer corners are exact doubles).
  double dx = (b.x0 + b.x1) - (a.x0 + a.x1), dy = (b.y0 + b.y1) - (a.y0 + a.y1);  // from a to b
  double adx = std::fabs(dx), ady = std::fabs(dy);
  if (clear) *clear = false;
  if (adx == 0 && ady == 0) return "";
  bool horizontal = adx >= ady;
  double major = horizontal ? adx : ady, minor = horizontal ? ady : adx;
  if (clear) *clear = major >= 2 * minor && major >= 4;  // 4 half pixels = 2 px
  if (horizontal) return dx > 0 ? "left of" : "right of";
  return dy > 0 ? "above" : "below";
}

}  // namespace iris::synth
