// The SHAPES world: attribute names, the held-out pairs, factor sampling, the supersampled renderer and
// the caption grammar. Every shape is an inside-test in the object's own (rotated) frame.
// Leaves out: anti-aliasing beyond 4x4 supersampling, and any drawing outside the picture.
#include "data/synth/shapes.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "tensor/error.h"

namespace iris::synth {

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr int kSupersample = 4;

// The random stream of sample `index` of `split`: splits never share a stream.
uint64_t sample_stream(ShapeSplit split, int64_t index) {
  return (static_cast<uint64_t>(split) + 1) << 44 | static_cast<uint64_t>(index);
}

// Even-odd rule point-in-polygon.
bool inside_polygon(double x, double y, const std::vector<std::array<double, 2>>& poly) {
  bool in = false;
  for (size_t i = 0, j = poly.size() - 1; i < poly.size(); j = i++) {
    double xi = poly[i][0], yi = poly[i][1], xj = poly[j][0], yj = poly[j][1];
    if ((yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) in = !in;
  }
  return in;
}

// Regular polygon / star outline with circumradius 1, first vertex straight up (y grows downwards).
std::vector<std::array<double, 2>> unit_outline(int points, double inner_ratio) {
  std::vector<std::array<double, 2>> out;
  const int n = inner_ratio > 0 ? 2 * points : points;
  for (int k = 0; k < n; ++k) {
    double r = (inner_ratio > 0 && k % 2 == 1) ? inner_ratio : 1.0;
    double a = -kPi / 2 + 2 * kPi * k / n;
    out.push_back({r * std::cos(a), r * std::sin(a)});
  }
  return out;
}

// Is (u, v), in units of the circumradius and in the object's frame, inside the shape?
bool inside_shape(int shape, double u, double v) {
  static const std::vector<std::array<double, 2>> triangle = unit_outline(3, 0.0), star = unit_outline(5, 0.45);
  const double r2 = u * u + v * v;
  switch (shape) {
    case shape_kind::circle: return r2 <= 1.0;
    case shape_kind::square: return std::fabs(u) <= 0.78 && std::fabs(v) <= 0.78;
    case shape_kind::triangle: return inside_polygon(u, v, triangle);
    case shape_kind::cross:
      return (std::fabs(u) <= 1.0 && std::fabs(v) <= 0.3) || (std::fabs(v) <= 1.0 && std::fabs(u) <= 0.3);
    case shape_kind::ring: return r2 <= 1.0 && r2 >= 0.55 * 0.55;
    case shape_kind::star: return inside_polygon(u, v, star);
    default: IRIS_ASSERT(false); return false;
  }
}

const std::vector<std::vector<std::string>>& position_phrases() {
  static const std::vector<std::vector<std::string>> p = {
      {"on the left", "on the left side"},  {"on the right", "on the right side"},
      {"on the top", "at the top"},         {"on the bottom", "at the bottom"},
      {"on the center", "in the middle", "in the centre"}};
  return p;
}

}  // namespace

// ---- names --------------------------------------------------------------------------------------

const std::vector<std::string>& shape_kind_names() {
  static const std::vector<std::string> n = {"circle", "square", "triangle", "cross", "ring", "star"};
  return n;
}
const std::vector<std::string>& shape_color_names() {
  static const std::vector<std::string> n = {"red", "green", "blue", "yellow", "magenta", "cyan", "orange", "white"};
  return n;
}
const std::vector<std::string>& shape_size_names() {
  static const std::vector<std::string> n = {"small", "large"};
  return n;
}
const std::vector<std::string>& shape_position_names() {
  static const std::vector<std::string> n = {"left", "right", "top", "bottom", "center"};
  return n;
}

Color shape_color_rgb(int color) {
  static const Color rgb[] = {Color(220, 30, 30),  Color(30, 180, 40),  Color(40, 70, 230),  Color(235, 220, 30),
                              Color(220, 40, 220), Color(30, 210, 220), Color(245, 140, 20), Color(250, 250, 250)};
  IRIS_CHECK(color >= 0 && color < shape_color::count, "shape_color_rgb: colour ", color, " is not in [0, ",
             int(shape_color::count), ")");
  return rgb[color];
}

const std::vector<std::string>& shape_caption_words(const std::string& factor, int value) {
  static const std::vector<std::vector<std::string>> shapes = {
      {"circle", "disc", "disk"}, {"square", "box", "block"}, {"triangle"}, {"cross", "plus sign"},
      {"ring", "donut", "annulus"}, {"star"}};
  static const std::vector<std::vector<std::string>> sizes = {{"small", "tiny", "little"}, {"large", "big", "huge"}};
  static const std::vector<std::vector<std::string>> positions = {
      {"left"}, {"right"}, {"top"}, {"bottom"}, {"center", "middle", "centre"}};
  static const std::vector<std::vector<std::string>> colors = [] {
    std::vector<std::vector<std::string>> c;
    for (const std::string& n : shape_color_names()) c.push_back({n});
    return c;
  }();
  const std::vector<std::vector<std::string>>* table = factor == "shape"      ? &shapes
                                                       : factor == "color"    ? &colors
                                                       : factor == "size"     ? &sizes
                                                       : factor == "position" ? &positions
                                                                              : nullptr;
  IRIS_CHECK(table != nullptr, "shape_caption_words: unknown factor '", factor, "': use shape, color, size or position");
  IRIS_CHECK(value >= 0 && value < static_cast<int>(table->size()), "shape_caption_words: ", factor, " value ", value,
             " is not in [0, ", table->size(), ")");
  return (*table)[value];
}

// ---- hold-out and splits --------------------------------------------------------------------------

const std::vector<std::pair<int, int>>& held_out_shape_combinations() {
  using namespace shape_color;
  static const std::vector<std::pair<int, int>> pairs = {
      {red, shape_kind::circle},    {cyan, shape_kind::circle},  {green, shape_kind::square},
      {magenta, shape_kind::square}, {blue, shape_kind::triangle}, {orange, shape_kind::triangle},
      {yellow, shape_kind::cross},  {white, shape_kind::cross},  {orange, shape_kind::ring},
      {blue, shape_kind::ring},     {cyan, shape_kind::star},    {yellow, shape_kind::star}};
  return pairs;
}

bool is_held_out_shape_combination(int color, int shape) {
  for (const auto& [c, s] : held_out_shape_combinations())
    if (c == color && s == shape) return true;
  return false;
}

const char* shape_split_name(ShapeSplit split) {
  switch (split) {
    case ShapeSplit::label_train: return "label-train";
    case ShapeSplit::text_train: return "text-train";
    case ShapeSplit::test_held_in: return "test-held-in";
    case ShapeSplit::test_held_out: return "test-held-out";
  }
  return "?";
}

ShapeSplit parse_shape_split(const std::string& name) {
  for (ShapeSplit s : {ShapeSplit::label_train, ShapeSplit::text_train, ShapeSplit::test_held_in,
                       ShapeSplit::test_held_out})
    if (name == shape_split_name(s)) return s;
  throw Error("unknown shapes split '" + name + "': use label-train, text-train, test-held-in or test-held-out");
}

bool is_training_split(ShapeSplit split) { return split == ShapeSplit::label_train || split == ShapeSplit::text_train; }

void check_shape_config(const ShapeConfig& config) {
  IRIS_CHECK(config.size >= 16 && config.size <= 128, "shapes: size must be in [16, 128], got ", config.size);
  IRIS_CHECK(config.noise_sigma >= 0 && config.noise_sigma <= 0.5, "shapes: noise_sigma must be in [0, 0.5], got ",
             config.noise_sigma);
  IRIS_CHECK(static_cast<int>(config.split) >= 0 && static_cast<int>(config.split) <= 3, "shapes: bad split");
}

void check_shape_factors(const ShapeFactors& f) {
  IRIS_CHECK(f.shape >= 0 && f.shape < shape_kind::count, "shapes: shape ", f.shape, " is not in [0, 6)");
  IRIS_CHECK(f.color >= 0 && f.color < shape_color::count, "shapes: color ", f.color, " is not in [0, 8)");
  IRIS_CHECK(f.size >= 0 && f.size < shape_size::count, "shapes: size ", f.size, " is not in [0, 2)");
  IRIS_CHECK(f.position >= 0 && f.position < shape_position::count, "shapes: position ", f.position,
             " is not in [0, 5)");
  IRIS_CHECK(f.radius > 0 && f.radius < 1000 && std::isfinite(f.center_x) && std::isfinite(f.center_y),
             "shapes: radius must be positive and the centre finite");
  IRIS_CHECK(f.background >= 0 && f.background <= 255, "shapes: background ", f.background, " is not a grey level");
}

// ---- sampling -------------------------------------------------------------------------------------

namespace {
ShapeFactors draw_factors(ShapeSplit split, int size, SynthRandom& rng) {
  // the (colour, shape) pairs this split may show
  static const std::vector<std::pair<int, int>> held_in = [] {
    std::vector<std::pair<int, int>> p;
    for (int c = 0; c < shape_color::count; ++c)
      for (int s = 0; s < shape_kind::count; ++s)
        if (!is_held_out_shape_combination(c, s)) p.push_back({c, s});
    return p;
  }();
  const auto& pairs = split == ShapeSplit::test_held_out ? held_out_shape_combinations() : held_in;
  ShapeFactors f;
  const auto& [color, shape] = rng.pick(pairs);
  f.color = color, f.shape = shape;
  f.size = static_cast<int>(rng.below(shape_size::count));
  f.position = static_cast<int>(rng.below(shape_position::count));
  const double scale = size / 32.0;
  static const double centres[shape_position::count][2] = {{9, 16}, {23, 16}, {16, 9}, {16, 23}, {16, 16}};
  f.center_x = static_cast<float>((centres[f.position][0] + rng.uniform(-1.5, 1.5)) * scale);
  f.center_y = static_cast<float>((centres[f.position][1] + rng.uniform(-1.5, 1.5)) * scale);
  f.radius = static_cast<float>((f.size == shape_size::small ? rng.uniform(3.5, 4.5) : rng.uniform(6.0, 7.5)) * scale);
  f.rotation_deg = static_cast<float>(rng.uniform(-20, 20));
  f.background = static_cast<int>(rng.range(60, 170));
  return f;
}
}  // namespace

ShapeFactors sample_shape_factors(const ShapeConfig& config, int64_t index) {
  check_shape_config(config);
  IRIS_CHECK(index >= 0, "shapes: index must be >= 0, got ", index);
  SynthRandom rng(config.seed, sample_stream(config.split, index));
  return draw_factors(config.split, config.size, rng);
}

// ---- rendering ------------------------------------------------------------------------------------

ShapeRender render_shape(const ShapeFactors& f, int size, double noise_sigma, uint64_t noise_seed) {
  check_shape_factors(f);
  IRIS_CHECK(size >= 1 && size <= 4096, "render_shape: size must be in [1, 4096], got ", size);
  IRIS_CHECK(noise_sigma >= 0 && noise_sigma <= 1, "render_shape: noise_sigma must be in [0, 1], got ", noise_sigma);
  ShapeRender out{Image(size, size, 3, static_cast<uint8_t>(f.background)), Image(size, size, 1, 0)};
  const Color ink = shape_color_rgb(f.color);
  const double a = -f.rotation_deg * kPi / 180.0, ca = std::cos(a), sa = std::sin(a);
  // only pixels near the object can be covered
  const int x0 = std::max(0, static_cast<int>(std::floor(f.center_x - f.radius - 1)));
  const int x1 = std::min(size - 1, static_cast<int>(std::ceil(f.center_x + f.radius + 1)));
  const int y0 = std::max(0, static_cast<int>(std::floor(f.center_y - f.radius - 1)));
  const int y1 = std::min(size - 1, static_cast<int>(std::ceil(f.center_y + f.radius + 1)));
  for (int y = y0; y <= y1; ++y)
    for (int x = x0; x <= x1; ++x) {
      int hits = 0;
      for (int sy = 0; sy < kSupersample; ++sy)
        for (int sx = 0; sx < kSupersample; ++sx) {
          double px = x + (sx + 0.5) / kSupersample - f.center_x, py = y + (sy + 0.5) / kSupersample - f.center_y;
          double u = (ca * px - sa * py) / f.radius, v = (sa * px + ca * py) / f.radius;
          hits += inside_shape(f.shape, u, v);
        }
      if (hits == 0) continue;
      const double cover = static_cast<double>(hits) / (kSupersample * kSupersample);
      const uint8_t c[3] = {ink.r, ink.g, ink.b};
      for (int ch = 0; ch < 3; ++ch)
        out.image.at(y, x, ch) = static_cast<uint8_t>(std::lround(cover * c[ch] + (1 - cover) * f.background));
      out.mask.at(y, x) = cover > 0.5 ? 1 : 0;
    }
  if (noise_sigma > 0) {
    SynthRandom noise(noise_seed, 0x5eed);
    uint8_t* p = out.image.data();
    for (size_t i = 0; i < out.image.size_bytes(); ++i) {
      double v = p[i] + noise.normal() * noise_sigma * 255.0;
      p[i] = static_cast<uint8_t>(std::lround(std::min(255.0, std::max(0.0, v))));
    }
  }
  return out;
}

// ---- captions -------------------------------------------------------------------------------------

std::string shape_caption(const ShapeFactors& f, SynthRandom& rng) {
  check_shape_factors(f);
  // the canonical word half of the time, else any of the attribute's words
  auto word = [&](const std::string& factor, int value) {
    const std::vector<std::string>& w = shape_caption_words(factor, value);
    return rng.bernoulli(0.5) ? w.front() : rng.pick(w);
  };
  const std::string S = word("size", f.size), C = word("color", f.color), K = word("shape", f.shape);
  const std::string P = rng.pick(position_phrases()[f.position]);
  auto a = [](const std::string& next) { return std::string(indefinite_article(next)) + " " + next; };
  switch (rng.below(5)) {
    case 0: return a(S) + " " + C + " " + K + " " + P;             // a small red circle on the left
    case 1: return a(C) + " " + K + ", " + S + ", " + P;           // a red circle, small, on the left
    case 2: return P + ", " + a(S) + " " + C + " " + K;            // on the left, a small red circle
    case 3: return a(S) + " " + K + " that is " + C + ", " + P;    // a small circle that is red, on the left
    default: return S + " " + C + " " + K + " " + P;               // small red circle on the left
  }
}

// ---- samples --------------------------------------------------------------------------------------

ShapeSample make_shape_sample(const ShapeConfig& config, int64_t index) {
  check_shape_config(config);
  IRIS_CHECK(index >= 0, "shapes: index must be >= 0, got ", index);
  SynthRandom rng(config.seed, sample_stream(config.split, index));
  ShapeSample s;
  s.index = index;
  s.factors = draw_factors(config.split, config.size, rng);
  uint64_t noise_seed = (static_cast<uint64_t>(rng.next_u32()) << 32) | rng.next_u32();
  s.render = render_shape(s.factors, config.size, config.noise_sigma, noise_seed);
  s.caption = shape_caption(s.factors, rng);
  return s;
}

std::vector<ShapeSample> make_shape_samples(const ShapeConfig& config, int64_t first, int64_t count) {
  check_shape_config(config);
  IRIS_CHECK(first >= 0 && count >= 0 && count <= 10000000, "make_shape_samples: first must be >= 0 and count in "
             "[0, 1e7], got first ", first, ", count ", count);
  std::vector<ShapeSample> out(static_cast<size_t>(count));
#pragma omp parallel for schedule(dynamic, 64)
  for (int64_t i = 0; i < count; ++i) out[static_cast<size_t>(i)] = make_shape_sample(config, first + i);
  return out;
}

ShapeSet make_shape_set(const ShapeConfig& config, int64_t count) {
  std::vector<ShapeSample> samples = make_shape_samples(config, 0, count);
  const int64_t S = config.size;
  std::vector<uint8_t> pixels(static_cast<size_t>(count * 3 * S * S));
  std::vector<int64_t> shape(count), color(count), size(count), position(count);
  ShapeSet set;
  for (int64_t i = 0; i < count; ++i) {
    const ShapeSample& s = samples[static_cast<size_t>(i)];
    for (int c = 0; c < 3; ++c)
      for (int64_t y = 0; y < S; ++y)
        for (int64_t x = 0; x < S; ++x)
          pixels[static_cast<size_t>(((i * 3 + c) * S + y) * S + x)] =
              s.render.image.at(static_cast<int>(y), static_cast<int>(x), c);
    shape[i] = s.factors.shape, color[i] = s.factors.color, size[i] = s.factors.size, position[i] = s.factors.position;
    set.captions.push_back(s.caption);
    set.factors.push_back(s.factors);
  }
  set.images = from_vector(pixels, {count, 3, S, S});
  set.shape = from_vector(shape, {count});
  set.color = from_vector(color, {count});
  set.size = from_vector(size, {count});
  set.position = from_vector(position, {count});
  return set;
}

}  // namespace iris::synth
