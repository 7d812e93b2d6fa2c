// The FACES world's factors: names, range checks, JSON, the factor vector, splits with disjoint
// identities, the compositional hair hold-out, sampling, and whole samples (make_face/make_faces).
// Leaves out: the renderer (faces_render.cpp) and the caption grammar (faces_caption.cpp).
#include "data/synth/faces.h"

#include <cmath>
#include <functional>

#include "tensor/error.h"

namespace iris::synth {

namespace {

// ---- names ------------------------------------------------------------------------------------
const char* name_of(const char* const* names, int count, int v, const char* what) {
  IRIS_CHECK(v >= 0 && v < count, what, ": value ", v, " is out of range; expected 0..", count - 1);
  return names[v];
}

constexpr const char* kFaceShapeNames[] = {"oval", "round", "square"};
constexpr const char* kSkinToneNames[] = {"pale", "fair", "medium", "olive", "tan", "dark"};
constexpr const char* kEyeColorNames[] = {"brown", "blue", "green", "gray"};
constexpr const char* kBrowColorNames[] = {"black", "dark brown", "brown", "blond"};
constexpr const char* kExpressionNames[] = {"smiling", "neutral", "frowning"};
constexpr const char* kGlassesNames[] = {"none", "round", "rectangular"};
constexpr const char* kFrameColorNames[] = {"black", "brown", "red", "blue"};
constexpr const char* kHairStyleNames[] = {"bald",     "buzz",  "bob",   "long straight",
                                           "ponytail", "curly", "spiky", "bangs"};
constexpr const char* kHairColorNames[] = {"black", "brown", "blond", "red",    "gray",
                                           "white", "blue",  "pink",  "purple", "green"};
constexpr const char* kBackgroundNames[] = {"solid", "vertical gradient", "diagonal gradient"};
constexpr const char* kHatColorNames[] = {"red", "navy", "green", "mustard"};

constexpr Color kHairColorRgb[] = {{38, 32, 32},   {112, 70, 40},  {232, 196, 112}, {192, 72, 36},
                                   {152, 152, 158}, {242, 242, 240}, {60, 100, 222}, {246, 132, 188},
                                   {138, 72, 182},  {60, 166, 82}};
constexpr Color kSkinToneRgb[] = {{255, 226, 208}, {242, 196, 162}, {222, 172, 128},
                                  {196, 150, 104}, {160, 110, 72},  {104, 70, 48}};

// ---- counter-based draws ------------------------------------------------------------------------
// Draw number k of stream (seed, stream, id) is word k % 4 of Philox block (k / 4, id, stream): each
// identity, image and caption has its own stream, so one never shifts another's numbers.
enum : uint32_t { kIdentityStream = 1, kImageStream = 2 };

class Draws {
 public:
  Draws(uint64_t seed, uint32_t stream, uint64_t id) : seed_(seed), stream_(stream), id_(id) {}
  uint32_t bits() {
    if (lane_ == 4) {
      block_ = philox4x32_10({block_index_++, static_cast<uint32_t>(id_), static_cast<uint32_t>(id_ >> 32), stream_},
                             {static_cast<uint32_t>(seed_), static_cast<uint32_t>(seed_ >> 32)});
      lane_ = 0;
    }
    return block_[lane_++];
  }
  double uniform() { return uniform_f64(bits(), bits()); }
  float range(float lo, float hi) { return lo + static_cast<float>(uniform()) * (hi - lo); }
  int below(int n) { return static_cast<int>(uniform() * n); }  // uniform() < 1, so < n
  bool chance(double p) { return uniform() < p; }

 private:
  uint64_t seed_;
  uint32_t stream_;
  uint64_t id_;
  uint32_t block_index_ = 0;
  std::array<uint32_t, 4> block_{};
  int lane_ = 4;
};

uint8_t to_byte(double v) { return static_cast<uint8_t>(std::lround(std::min(255.0, std::max(0.0, v)))); }

// HSV (all in [0, 1]) to a colour.
Color hsv_color(double h, double s, double v) {
  h = h - std::floor(h);
  double hh = h * 6.0;
  int sector = static_cast<int>(hh) % 6;
  double f = hh - std::floor(hh);
  double p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
  double r = v, g = t, b = p;
  switch (sector) {
    case 0: r = v, g = t, b = p; break;
    case 1: r = q, g = v, b = p; break;
    case 2: r = p, g = v, b = t; break;
    case 3: r = p, g = q, b = v; break;
    case 4: r = t, g = p, b = v; break;
    default: r = v, g = p, b = q; break;
  }
  return Color(to_byte(r * 255), to_byte(g * 255), to_byte(b * 255));
}

void check_range(float v, float lo, float hi, const char* name) {
  constexpr float kSlack = 1e-4f;
  IRIS_CHECK(std::isfinite(v) && v >= lo - kSlack && v <= hi + kSlack, "render_face: factor ", name, " = ", v,
             " is outside its range [", lo, ", ", hi, "]; sample_factors draws it from that range");
}

void check_category(int v, int count, const char* name) {
  IRIS_CHECK(v >= 0 && v < count, "render_face: factor ", name, " = ", v, " must be in 0..", count - 1);
}

float unit(float v, float lo, float hi) { return (v - lo) / (hi - lo); }

json::Value color_json(Color c) {
  json::Value v = json::Value::array();
  v.push_back(int(c.r));
  v.push_back(int(c.g));
  v.push_back(int(c.b));
  return v;
}

}  // namespace

const char* face_shape_name(int v) { return name_of(kFaceShapeNames, face_shape::count, v, "face_shape_name"); }
const char* skin_tone_name(int v) { return name_of(kSkinToneNames, skin_tone::count, v, "skin_tone_name"); }
const char* eye_color_name(int v) { return name_of(kEyeColorNames, eye_color::count, v, "eye_color_name"); }
const char* brow_color_name(int v) { return name_of(kBrowColorNames, brow_color::count, v, "brow_color_name"); }
const char* expression_name(int v) { return name_of(kExpressionNames, expression::count, v, "expression_name"); }
const char* glasses_name(int v) { return name_of(kGlassesNames, glasses_kind::count, v, "glasses_name"); }
const char* frame_color_name(int v) { return name_of(kFrameColorNames, frame_color::count, v, "frame_color_name"); }
const char* hair_style_name(int v) { return name_of(kHairStyleNames, hair_style::count, v, "hair_style_name"); }
const char* hair_color_name(int v) { return name_of(kHairColorNames, hair_color::count, v, "hair_color_name"); }
const char* background_kind_name(int v) {
  return name_of(kBackgroundNames, background_kind::count, v, "background_kind_name");
}
const char* hat_color_name(int v) { return name_of(kHatColorNames, hat_color::count, v, "hat_color_name"); }

Color hair_color_rgb(int v) {
  hair_color_name(v);  // range check
  return kHairColorRgb[v];
}
Color skin_tone_rgb(int v) {
  skin_tone_name(v);
  return kSkinToneRgb[v];
}

// ---- checks and JSON ----------------------------------------------------------------------------
void check_face_factors(const FaceFactors& f) {
  const IdentityFactors& id = f.identity;
  check_category(id.face_shape, face_shape::count, "identity.face_shape");
  check_range(id.face_half_width, 10.0f, 12.0f, "identity.face_half_width");
  check_range(id.face_half_height, 12.5f, 14.5f, "identity.face_half_height");
  check_category(id.skin_tone, skin_tone::count, "identity.skin_tone");
  check_range(id.eye_spacing, 4.3f, 5.3f, "identity.eye_spacing");
  check_range(id.eye_size, 1.9f, 2.5f, "identity.eye_size");
  check_category(id.eye_color, eye_color::count, "identity.eye_color");
  check_range(id.brow_thickness, 1.0f, 2.0f, "identity.brow_thickness");
  check_range(id.brow_tilt_deg, -15.0f, 15.0f, "identity.brow_tilt_deg");
  check_category(id.brow_color, brow_color::count, "identity.brow_color");
  check_range(id.nose_length, 2.5f, 4.0f, "identity.nose_length");
  check_range(id.mouth_width, 2.5f, 4.2f, "identity.mouth_width");
  check_category(id.expression, expression::count, "identity.expression");
  check_category(id.glasses, glasses_kind::count, "identity.glasses");
  check_category(id.glasses_color, frame_color::count, "identity.glasses_color");
  check_category(f.hair.style, hair_style::count, "hair.style");
  check_category(f.hair.color, hair_color::count, "hair.color");
  check_range(f.hair.volume, 0.0f, 1.0f, "hair.volume");
  check_category(f.hair.parting, 2, "hair.parting");
  const SceneFactors& s = f.scene;
  check_range(s.rotation_deg, -15.0f, 15.0f, "scene.rotation_deg");
  check_range(s.scale, 0.9f, 1.1f, "scene.scale");
  check_range(s.shift_x, -3.0f, 3.0f, "scene.shift_x");
  check_range(s.shift_y, -3.0f, 3.0f, "scene.shift_y");
  check_category(s.background, background_kind::count, "scene.background");
  check_range(s.noise_amplitude, 0.0f, 12.0f, "scene.noise_amplitude");
  check_category(s.hat_color, hat_color::count, "scene.hat_color");
}

json::Value face_factors_to_json(const FaceFactors& f) {
  const IdentityFactors& id = f.identity;
  json::Value identity = json::Value::object();
  identity["face_shape"] = face_shape_name(id.face_shape);
  identity["face_half_width"] = double(id.face_half_width);
  identity["face_half_height"] = double(id.face_half_height);
  identity["skin_tone"] = skin_tone_name(id.skin_tone);
  identity["eye_spacing"] = double(id.eye_spacing);
  identity["eye_size"] = double(id.eye_size);
  identity["eye_color"] = eye_color_name(id.eye_color);
  identity["brow_thickness"] = double(id.brow_thickness);
  identity["brow_tilt_deg"] = double(id.brow_tilt_deg);
  identity["brow_color"] = brow_color_name(id.brow_color);
  identity["nose_length"] = double(id.nose_length);
  identity["mouth_width"] = double(id.mouth_width);
  identity["expression"] = expression_name(id.expression);
  identity["mouth_open"] = id.mouth_open;
  identity["glasses"] = glasses_name(id.glasses);
  identity["glasses_color"] = frame_color_name(id.glasses_color);

  json::Value hair = json::Value::object();
  hair["style"] = hair_style_name(f.hair.style);
  hair["color"] = hair_color_name(f.hair.color);
  hair["volume"] = double(f.hair.volume);
  hair["parting"] = f.hair.parting == 0 ? "left" : "right";
  hair["texture_seed"] = int64_t(f.hair.texture_seed);

  const SceneFactors& s = f.scene;
  json::Value scene = json::Value::object();
  scene["rotation_deg"] = double(s.rotation_deg);
  scene["scale"] = double(s.scale);
  scene["shift_x"] = double(s.shift_x);
  scene["shift_y"] = double(s.shift_y);
  scene["background"] = background_kind_name(s.background);
  scene["background_top"] = color_json(s.background_top);
  scene["background_bottom"] = color_json(s.background_bottom);
  scene["noise_amplitude"] = double(s.noise_amplitude);
  scene["noise_seed"] = int64_t(s.noise_seed);
  scene["shirt"] = color_json(s.shirt);
  scene["hat"] = s.hat;
  scene["hat_color"] = hat_color_name(s.hat_color);

  json::Value out = json::Value::object();
  out["identity_id"] = f.identity_id;
  out["identity"] = std::move(identity);
  out["hair"] = std::move(hair);
  out["scene"] = std::move(scene);
  return out;
}

// ---- the factor vector ------------------------------------------------------------------------
namespace {

// One pass over the factors that either names the entries or writes their values, so the names
// and the values cannot drift apart.
struct VectorWriter {
  std::vector<float>* values = nullptr;        // when writing values
  std::vector<std::string>* names = nullptr;   // when naming
  void scalar(const std::string& name, float v) {
    if (values) values->push_back(v);
    if (names) names->push_back(name);
  }
  void one_hot(const std::string& name, int v, int count, const char* (*value_name)(int)) {
    for (int i = 0; i < count; ++i) scalar(name + "=" + value_name(i), i == v ? 1.0f : 0.0f);
  }
  void color(const std::string& name, Color c) {
    scalar(name + ".r", c.r / 255.0f);
    scalar(name + ".g", c.g / 255.0f);
    scalar(name + ".b", c.b / 255.0f);
  }
  int size() const { return static_cast<int>(values ? values->size() : names->size()); }
};

void write_factor_vector(const FaceFactors& f, VectorWriter& w, FactorVectorLayout* layout) {
  const IdentityFactors& id = f.identity;
  if (layout) layout->identity_begin = w.size();
  w.one_hot("identity.face_shape", id.face_shape, face_shape::count, face_shape_name);
  w.scalar("identity.face_half_width", unit(id.face_half_width, 10.0f, 12.0f));
  w.scalar("identity.face_half_height", unit(id.face_half_height, 12.5f, 14.5f));
  w.one_hot("identity.skin_tone", id.skin_tone, skin_tone::count, skin_tone_name);
  w.scalar("identity.eye_spacing", unit(id.eye_spacing, 4.3f, 5.3f));
  w.scalar("identity.eye_size", unit(id.eye_size, 1.9f, 2.5f));
  w.one_hot("identity.eye_color", id.eye_color, eye_color::count, eye_color_name);
  w.scalar("identity.brow_thickness", unit(id.brow_thickness, 1.0f, 2.0f));
  w.scalar("identity.brow_tilt_deg", unit(id.brow_tilt_deg, -15.0f, 15.0f));
  w.one_hot("identity.brow_color", id.brow_color, brow_color::count, brow_color_name);
  w.scalar("identity.nose_length", unit(id.nose_length, 2.5f, 4.0f));
  w.scalar("identity.mouth_width", unit(id.mouth_width, 2.5f, 4.2f));
  w.one_hot("identity.expression", id.expression, expression::count, expression_name);
  w.scalar("identity.mouth_open", id.mouth_open ? 1.0f : 0.0f);
  w.one_hot("identity.glasses", id.glasses, glasses_kind::count, glasses_name);
  w.one_hot("identity.glasses_color", id.glasses_color, frame_color::count, frame_color_name);
  if (layout) layout->hair_style_begin = w.size();
  w.one_hot("hair.style", f.hair.style, hair_style::count, hair_style_name);
  if (layout) layout->hair_color_begin = w.size();
  w.one_hot("hair.color", f.hair.color, hair_color::count, hair_color_name);
  if (layout) layout->hair_rest_begin = w.size();
  w.scalar("hair.volume", f.hair.volume);
  w.scalar("hair.parting", static_cast<float>(f.hair.parting));
  const SceneFactors& s = f.scene;
  if (layout) layout->scene_begin = w.size();
  w.scalar("scene.rotation_deg", unit(s.rotation_deg, -15.0f, 15.0f));
  w.scalar("scene.scale", unit(s.scale, 0.9f, 1.1f));
  w.scalar("scene.shift_x", unit(s.shift_x, -3.0f, 3.0f));
  w.scalar("scene.shift_y", unit(s.shift_y, -3.0f, 3.0f));
  w.one_hot("scene.background", s.background, background_kind::count, background_kind_name);
  w.color("scene.background_top", s.background_top);
  w.color("scene.background_bottom", s.background_bottom);
  w.scalar("scene.noise_amplitude", unit(s.noise_amplitude, 0.0f, 12.0f));
  w.color("scene.shirt", s.shirt);
  w.scalar("scene.hat", s.hat ? 1.0f : 0.0f);
  w.one_hot("scene.hat_color", s.hat_color, hat_color::count, hat_color_name);
  if (layout) layout->size = w.size();
}

}  // namespace

const FactorVectorLayout& factor_vector_layout() {
  static const FactorVectorLayout layout = [] {
    FactorVectorLayout l;
    std::vector<std::string> names;
    VectorWriter w;
    w.names = &names;
    write_factor_vector(FaceFactors{}, w, &l);
    return l;
  }();
  return layout;
}

const std::vector<std::string>& factor_vector_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    VectorWriter w;
    w.names = &n;
    write_factor_vector(FaceFactors{}, w, nullptr);
    return n;
  }();
  return names;
}

std::vector<float> factor_vector(const FaceFactors& factors) {
  check_face_factors(factors);
  std::vector<float> values;
  values.reserve(factor_vector_layout().size);
  VectorWriter w;
  w.values = &values;
  write_factor_vector(factors, w, nullptr);
  return values;
}

// ---- splits ------------------------------------------------------------------------------------
const char* face_split_name(FaceSplit split) {
  switch (split) {
    case FaceSplit::train: return "train";
    case FaceSplit::val: return "val";
    case FaceSplit::test: return "test";
  }
  return "?";
}

FaceSplit face_split_from_name(const std::string& name) {
  if (name == "train") return FaceSplit::train;
  if (name == "val") return FaceSplit::val;
  if (name == "test") return FaceSplit::test;
  throw Error("faces: unknown split '" + name + "'; expected train, val or test");
}

const std::vector<std::pair<int, int>>& held_out_hair_combinations() {
  static const std::vector<std::pair<int, int>> pairs = [] {
    std::vector<std::pair<int, int>> p;
    for (int s = 0; s < hair_style::count; ++s) p.emplace_back(s, (3 * s + 1) % hair_color::count);
    return p;
  }();
  return pairs;
}

bool is_held_out_hair(int style, int color) {
  for (const auto& [s, c] : held_out_hair_combinations())
    if (s == style && c == color) return true;
  return false;
}

void check_face_config(const FaceConfig& c) {
  IRIS_CHECK(c.size >= 16 && c.size <= 512, "faces: size must be in [16, 512] (48 or 96 are the usual), got ",
             c.size);
  IRIS_CHECK(c.supersample >= 1 && c.supersample <= 8, "faces: supersample must be in [1, 8], got ", c.supersample);
  IRIS_CHECK(c.images_per_identity >= 1, "faces: images_per_identity must be >= 1, got ", c.images_per_identity);
  IRIS_CHECK(c.glasses_probability >= 0 && c.glasses_probability <= 1,
             "faces: glasses_probability must be in [0, 1], got ", c.glasses_probability);
  IRIS_CHECK(c.hat_probability >= 0 && c.hat_probability <= 1, "faces: hat_probability must be in [0, 1], got ",
             c.hat_probability);
}

int64_t face_identity_id(const FaceConfig& config, int64_t index) {
  check_face_config(config);
  IRIS_CHECK(index >= 0, "faces: sample index must be >= 0, got ", index);
  int64_t k = index / config.images_per_identity;
  switch (config.split) {
    case FaceSplit::train: return 10 * (k / 8) + k % 8;
    case FaceSplit::val: return 10 * k + 8;
    case FaceSplit::test: return 10 * k + 9;
  }
  return 0;
}

// ---- sampling ----------------------------------------------------------------------------------
IdentityFactors sample_identity(uint64_t seed, int64_t identity_id, const FaceConfig& config) {
  check_face_config(config);
  IRIS_CHECK(identity_id >= 0, "faces: identity id must be >= 0, got ", identity_id);
  Draws r(seed, kIdentityStream, static_cast<uint64_t>(identity_id));
  IdentityFactors id;
  id.face_shape = r.below(face_shape::count);
  id.face_half_width = r.range(10.0f, 12.0f);
  id.face_half_height = r.range(12.5f, 14.5f);
  id.skin_tone = r.below(skin_tone::count);
  id.eye_spacing = r.range(4.3f, 5.3f);
  id.eye_size = r.range(1.9f, 2.5f);
  id.eye_color = r.below(eye_color::count);
  id.brow_thickness = r.range(1.0f, 2.0f);
  id.brow_tilt_deg = r.range(-15.0f, 15.0f);
  id.brow_color = r.below(brow_color::count);
  id.nose_length = r.range(2.5f, 4.0f);
  id.mouth_width = r.range(2.5f, 4.2f);
  id.expression = r.below(expression::count);
  id.mouth_open = r.chance(0.3);
  bool glasses = r.chance(config.glasses_probability);
  int kind = 1 + r.below(2);
  id.glasses = glasses ? kind : glasses_kind::none;
  id.glasses_color = r.below(frame_color::count);
  return id;
}

FaceFactors sample_factors(const FaceConfig& config, int64_t index) {
  FaceFactors f;
  f.identity_id = face_identity_id(config, index);  // checks config and index
  f.identity = sample_identity(config.seed, f.identity_id, config);

  Draws r(config.seed, kImageStream + 16 * static_cast<uint32_t>(config.split), static_cast<uint64_t>(index));
  HairFactors& h = f.hair;
  h.style = r.below(hair_style::count);
  h.color = r.below(hair_color::count);
  if (config.hair_combinations == HairCombinations::only_held_out) {
    const auto& pairs = held_out_hair_combinations();
    const auto& pair = pairs[r.below(static_cast<int>(pairs.size()))];
    h.style = pair.first;
    h.color = pair.second;
  } else if (config.hair_combinations == HairCombinations::without_held_out) {
    // Another colour for the same style, uniform over the 9 allowed ones.
    if (is_held_out_hair(h.style, h.color)) {
      int offset = 1 + r.below(hair_color::count - 1);
      h.color = (h.color + offset) % hair_color::count;
    }
  }
  h.volume = r.range(0.0f, 1.0f);
  h.parting = r.below(2);
  h.texture_seed = r.bits();

  SceneFactors& s = f.scene;
  s.rotation_deg = r.range(-15.0f, 15.0f);
  s.scale = r.range(0.9f, 1.1f);
  s.shift_x = r.range(-3.0f, 3.0f);
  s.shift_y = r.range(-3.0f, 3.0f);
  s.background = r.below(background_kind::count);
  double hue = r.uniform(), sat = 0.1 + 0.35 * r.uniform(), val = 0.6 + 0.35 * r.uniform();
  s.background_top = hsv_color(hue, sat, val);
  double hue2 = hue + (r.uniform() - 0.5) * 0.25, val2 = std::max(0.45, val - 0.1 - 0.25 * r.uniform());
  s.background_bottom = s.background == background_kind::solid ? s.background_top : hsv_color(hue2, sat, val2);
  s.noise_amplitude = r.range(0.0f, 12.0f);
  s.noise_seed = r.bits();
  s.shirt = hsv_color(r.uniform(), 0.35 + 0.4 * r.uniform(), 0.35 + 0.45 * r.uniform());
  s.hat = r.chance(config.hat_probability);
  s.hat_color = r.below(hat_color::count);
  return f;
}

// ---- whole samples -----------------------------------------------------------------------------
FaceSample make_face(const FaceConfig& config, int64_t index) {
  FaceSample sample;
  sample.index = index;
  sample.factors = sample_factors(config, index);
  sample.render = render_face(sample.factors, config.size, config.supersample);
  // The caption's own stream: a seed mixed from (seed, split, index) (splitmix64 steps).
  uint64_t z = config.seed ^ (0x9E3779B97F4A7C15ull * (static_cast<uint64_t>(index) + 1)) ^
               (static_cast<uint64_t>(config.split) << 60);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  Generator rng(z ^ (z >> 31));
  sample.caption = face_caption(sample.factors, rng);
  return sample;
}

std::vector<FaceSample> make_faces(const FaceConfig& config, int64_t first, int64_t count) {
  check_face_config(config);
  IRIS_CHECK(first >= 0 && count >= 0, "make_faces: first and count must be >= 0, got ", first, " and ", count);
  std::vector<FaceSample> samples(static_cast<size_t>(count));
  std::vector<std::string> errors(static_cast<size_t>(count));
#pragma omp parallel for schedule(dynamic, 4)
  for (int64_t i = 0; i < count; ++i) {
    try {
      samples[static_cast<size_t>(i)] = make_face(config, first + i);
    } catch (const std::exception& e) {  // exceptions must not leave an OpenMP region
      errors[static_cast<size_t>(i)] = e.what();
    }
  }
  for (const std::string& e : errors) IRIS_CHECK(e.empty(), e);
  return samples;
}

}  // namespace iris::synth
