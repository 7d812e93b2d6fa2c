// The synthetic SHAPES world (UniCL-mini testbed B, papers/unicl.md 3.6): 32x32 RGB pictures of one
// object, a shape (6) in a colour (8), small or large, at one of 5 positions, on a random grey background
// with Gaussian noise; captions "a {size} {color} {shape} on the {position}" with word-order variants and
// synonyms; 12 of the 48 (colour, shape) pairs held out of every training split for zero-shot tests.
// Deterministic from (seed, split, index). Leaves out: several objects per picture, occlusion, textures.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "image/image.h"
#include "data/synth/items.h"
#include "tensor/tensor.h"

namespace iris::synth {

// ---- attributes (small integers, names in this order) ------------------------------------------
namespace shape_kind { enum : int { circle, square, triangle, cross, ring, star, count }; }
namespace shape_color { enum : int { red, green, blue, yellow, magenta, cyan, orange, white, count }; }
namespace shape_size { enum : int { small, large, count }; }
namespace shape_position { enum : int { left, right, top, bottom, center, count }; }

const std::vector<std::string>& shape_kind_names();      // "circle", ..., "star"
const std::vector<std::string>& shape_color_names();     // "red", ..., "white"
const std::vector<std::string>& shape_size_names();      // "small", "large"
const std::vector<std::string>& shape_position_names();  // "left", "right", "top", "bottom", "center"
Color shape_color_rgb(int color);                         // the colour drawn (before noise)

// The words a caption may use for an attribute value (the canonical name first), e.g.
// shape_caption_words("shape", ring) == {"ring", "donut", "annulus"}; factor: shape, color, size, position.
const std::vector<std::string>& shape_caption_words(const std::string& factor, int value);

// ---- the compositional hold-out ----------------------------------------------------------------
// 12 fixed (colour, shape) pairs, every shape twice and every colour at least once:
//   circle: red, cyan      square: green, magenta   triangle: blue, orange
//   cross: yellow, white   ring: orange, blue       star: cyan, yellow
// They never appear in a training split (label_train, text_train) nor in test_held_in.
const std::vector<std::pair<int, int>>& held_out_shape_combinations();  // (color, shape)
bool is_held_out_shape_combination(int color, int shape);

// ---- splits ------------------------------------------------------------------------------------
// Disjoint random streams. label_train: image-label data (label = shape); text_train: image-caption
// pairs; test_held_in: test pictures of the 36 training combinations; test_held_out: only the 12 held-out ones.
enum class ShapeSplit { label_train = 0, text_train = 1, test_held_in = 2, test_held_out = 3 };
const char* shape_split_name(ShapeSplit split);         // "label-train", "text-train", "test-held-in", "test-held-out"
ShapeSplit parse_shape_split(const std::string& name);  // throws naming the valid names
bool is_training_split(ShapeSplit split);

struct ShapeConfig {
  uint64_t seed = 1;
  ShapeSplit split = ShapeSplit::label_train;
  int size = 32;               // picture side, 16..128 (lengths scale with it)
  double noise_sigma = 0.04;   // Gaussian pixel noise, in [0, 1] units, in [0, 0.5]
};
void check_shape_config(const ShapeConfig& config);  // throws naming the bad field

// ---- one picture -------------------------------------------------------------------------------
struct ShapeFactors {
  int shape = shape_kind::circle, color = shape_color::red, size = shape_size::small,
      position = shape_position::center;
  float center_x = 16, center_y = 16;  // pixels (pixel centres at integers + 0.5 of the 32 frame, scaled)
  float radius = 5;                     // circumradius in pixels: small 3.5..4.5, large 6..7.5 (at 32 px)
  float rotation_deg = 0;               // [-20, 20]
  int background = 128;                 // grey level 60..170
};
void check_shape_factors(const ShapeFactors& factors);

// The factors of sample `index` of the config's split (held-out pairs excluded from or kept to, by split).
ShapeFactors sample_shape_factors(const ShapeConfig& config, int64_t index);

struct ShapeRender {
  Image image;  // [size, size, 3]
  Image mask;   // [size, size, 1]: 1 where the object covers more than half of the pixel, else 0
};
// Renders with 4x4 supersampling (coverage-weighted colour), then noise drawn from `noise_seed`.
ShapeRender render_shape(const ShapeFactors& factors, int size = 32, double noise_sigma = 0.04,
                         uint64_t noise_seed = 0);

// A caption of the factors: one of several word orders with synonyms, e.g. "a small red circle on the
// left", "on the top, a large blue star", "a cyan donut, tiny, in the middle". Deterministic in rng.
std::string shape_caption(const ShapeFactors& factors, SynthRandom& rng);

struct ShapeSample {
  int64_t index = 0;
  ShapeFactors factors;
  ShapeRender render;
  std::string caption;
};
ShapeSample make_shape_sample(const ShapeConfig& config, int64_t index);
// Samples first .. first + count - 1 (in parallel; the same bytes for any thread count).
std::vector<ShapeSample> make_shape_samples(const ShapeConfig& config, int64_t first, int64_t count);

// A whole split as tensors, for training.
struct ShapeSet {
  Tensor images;                      // u8 [N, 3, size, size]
  Tensor shape, color, size, position;  // i64 [N] each
  std::vector<std::string> captions;  // one per picture (the caption made with the picture)
  std::vector<ShapeFactors> factors;
};
ShapeSet make_shape_set(const ShapeConfig& config, int64_t count);

}  // namespace iris::synth
