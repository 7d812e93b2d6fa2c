// The synthetic FACES world: procedural cartoon faces (48x48 or 96x96 RGB) drawn from identity factors
// (face shape, skin, eyes, brows, nose, mouth and expression, glasses), hair factors (8 styles x 10
// colours, volume, parting) and scene factors (pose, background, shirt, hat), with a parsing mask
// (10 labels), 14 landmarks, a caption from a template grammar and the full factor vector.
// Leaves out: 3-D pose (yaw/pitch), lighting, occlusion by anything but glasses, hats and hair.
//
// How an image is made (faces_render.cpp): every shape is an analytic region in a canonical 48 x 48
// frame; each subpixel of a supersampled canvas (size * supersample on a side) is mapped back through
// the pose, takes the label and colour of the front-most region containing it, and the canvas is
// box-downsampled (mean colour, majority label). Same factors, same bytes, on any machine.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "image/image.h"
#include "io/json.h"
#include "tensor/random.h"

namespace iris::synth {

// ---- categorical factors: small integers with names (used by captions and JSON) -----------------
namespace face_shape { enum : int { oval, round, square, count }; }
namespace skin_tone { enum : int { pale, fair, medium, olive, tan, dark, count }; }
namespace eye_color { enum : int { brown, blue, green, gray, count }; }
namespace brow_color { enum : int { black, dark_brown, brown, blond, count }; }
namespace expression { enum : int { smiling, neutral, frowning, count }; }
namespace glasses_kind { enum : int { none, round, rectangular, count }; }
namespace frame_color { enum : int { black, brown, red, blue, count }; }  // glasses frames
namespace hair_style { enum : int { bald, buzz, bob, long_straight, ponytail, curly, spiky, bangs, count }; }
namespace hair_color { enum : int { black, brown, blond, red, gray, white, blue, pink, purple, green, count }; }
namespace background_kind { enum : int { solid, vertical_gradient, diagonal_gradient, count }; }
namespace hat_color { enum : int { red, navy, green, mustard, count }; }

// Lower-case names, e.g. hair_style_name(hair_style::long_straight) == "long straight". Throw on a bad value.
const char* face_shape_name(int v);
const char* skin_tone_name(int v);
const char* eye_color_name(int v);
const char* brow_color_name(int v);
const char* expression_name(int v);
const char* glasses_name(int v);
const char* frame_color_name(int v);
const char* hair_style_name(int v);
const char* hair_color_name(int v);
const char* background_kind_name(int v);
const char* hat_color_name(int v);
// The RGB the renderer uses for a hair colour (before texture and shading), for tests and pictures.
Color hair_color_rgb(int v);
Color skin_tone_rgb(int v);

// ---- the factors ------------------------------------------------------------------------------
// Lengths are in pixels of the canonical 48 x 48 frame (they scale with the output size); the
// comment after each gives the range sample_factors draws from and render_face accepts.
struct IdentityFactors {
  int face_shape = face_shape::oval;   // jaw: oval (tapered chin), round (full), square (boxy jaw)
  float face_half_width = 11.0f;       // [10, 12]     semi-axis of the face across
  float face_half_height = 13.5f;      // [12.5, 14.5] semi-axis of the face down
  int skin_tone = skin_tone::fair;
  float eye_spacing = 4.8f;            // [4.3, 5.3]   face centre line to each eye centre
  float eye_size = 2.2f;               // [1.9, 2.5]   eye half-width (half-height is 0.62 of it)
  int eye_color = eye_color::brown;
  float brow_thickness = 1.4f;         // [1, 2]
  float brow_tilt_deg = 0.0f;          // [-15, 15]    positive raises the outer ends
  int brow_color = brow_color::dark_brown;
  float nose_length = 3.5f;            // [2.5, 4.5]   below the bottom of the eye-line
  float mouth_width = 3.3f;            // [2.5, 4.2]   mouth half-width
  int expression = expression::neutral;
  bool mouth_open = false;
  int glasses = glasses_kind::none;
  int glasses_color = frame_color::black;
};

// Everything render_with_hair may change. volume thickens the hair (bob, long, bangs, curly, ...) and
// raises spikes; parting picks the side of a swept fringe and of the ponytail; texture_seed only
// moves the strand/curl texture (it is left out of the factor vector).
struct HairFactors {
  int style = hair_style::bob;
  int color = hair_color::brown;
  float volume = 0.5f;      // [0, 1]
  int parting = 0;          // 0: parting on the image-left, 1: image-right
  uint32_t texture_seed = 0;
};

struct SceneFactors {
  float rotation_deg = 0.0f;  // [-15, 15], in-plane, about the canonical centre (24, 24)
  float scale = 1.0f;         // [0.9, 1.1]
  float shift_x = 0.0f;       // [-3, 3]
  float shift_y = 0.0f;       // [-3, 3]
  int background = background_kind::solid;
  Color background_top = Color(200, 210, 230), background_bottom = Color(170, 180, 210);
  float noise_amplitude = 4.0f;  // [0, 12] grey levels of per-pixel noise on the background
  uint32_t noise_seed = 0;
  Color shirt = Color(70, 110, 160);
  bool hat = false;  // a beanie over the top of the head; hair above its brim is not drawn
  int hat_color = hat_color::red;
};

struct FaceFactors {
  int64_t identity_id = 0;  // which identity the identity factors were drawn for (split bookkeeping)
  IdentityFactors identity;
  HairFactors hair;
  SceneFactors scene;
};

// Throws iris::Error naming the first factor out of its range (render_face calls it).
void check_face_factors(const FaceFactors& factors);

// Every factor by name, categorical ones as their names (for faces.json).
json::Value face_factors_to_json(const FaceFactors& factors);

// ---- the factor vector (the "parameter vector p" of HairCLIP-mini's conditional decoder) ----------
// Categorical factors one-hot, continuous ones mapped to [0, 1] by their ranges, colours as r, g, b
// in [0, 1]. Layout: [identity | hair style | hair colour | hair volume, parting | scene].
struct FactorVectorLayout {
  int identity_begin = 0, hair_style_begin = 0, hair_color_begin = 0, hair_rest_begin = 0, scene_begin = 0;
  int size = 0;
};
const FactorVectorLayout& factor_vector_layout();
std::vector<float> factor_vector(const FaceFactors& factors);         // [layout.size]
const std::vector<std::string>& factor_vector_names();                // "hair.style=bob", "scene.scale", ...

// ---- splits and sampling -----------------------------------------------------------------------
enum class FaceSplit { train, val, test };
const char* face_split_name(FaceSplit split);
FaceSplit face_split_from_name(const std::string& name);  // "train", "val", "test"; throws otherwise

// Compositional hold-out: 8 (style, colour) pairs, one per style and no colour twice:
// (style s, colour (3 s + 1) mod 10), e.g. (bob, pink), (long straight, black).
const std::vector<std::pair<int, int>>& held_out_hair_combinations();
bool is_held_out_hair(int style, int color);

enum class HairCombinations {
  all,               // every style x colour
  without_held_out,  // never a held-out pair (a train split for compositional tests)
  only_held_out,     // only held-out pairs (their test split)
};

struct FaceConfig {
  int size = 48;             // output side: 48 or 96 (any of 16..512 works)
  int supersample = 4;       // subpixels per output pixel on a side, 1..8
  uint64_t seed = 0;
  FaceSplit split = FaceSplit::train;
  // Consecutive indices share one identity (same identity factors, new hair and scene).
  int images_per_identity = 1;
  HairCombinations hair_combinations = HairCombinations::all;
  double glasses_probability = 0.25;
  double hat_probability = 0.1;
};
void check_face_config(const FaceConfig& config);

// Identity ids never repeat across splits: identity k of the train split has id 10 (k / 8) + k % 8,
// of val 10 k + 8, of test 10 k + 9. The identity factors are a function of (seed, id) only, so the
// identity sets of the splits are disjoint; hair and scene factors are a function of (seed, split, index).
int64_t face_identity_id(const FaceConfig& config, int64_t index);
IdentityFactors sample_identity(uint64_t seed, int64_t identity_id, const FaceConfig& config);
FaceFactors sample_factors(const FaceConfig& config, int64_t index);  // index >= 0

// ---- rendering --------------------------------------------------------------------------------
// Parsing labels. "Left" and "right" are the image's left and right (a horizontal flip must swap them).
namespace face_label {
enum : int { background, skin, hair, left_brow, right_brow, left_eye, right_eye, nose, mouth, glasses, count };
}
// Label 0 also holds what is no face part: the backdrop, the shirt and the hat. Skin is face, ears and neck.
const std::vector<std::string>& face_label_names();  // 10 names, by label

// The 14 landmarks, in this order (left/right as seen in the image):
//   0 left eye outer corner   1 left eye upper lid   2 left eye inner corner   3 left eye lower lid
//   4 right eye inner corner  5 right eye upper lid  6 right eye outer corner  7 right eye lower lid
//   8 left brow outer end     9 right brow outer end 10 nose tip              11 mouth left corner
//  12 mouth right corner     13 chin (lowest point of the jaw on the face's axis)
// Eye points lie on the lid line, brow ends on the brow's centre line just inside its tip, the nose
// tip just inside the bottom of the nose. NME normalises by the distance between landmarks 0 and 6.
constexpr int kNumFaceLandmarks = 14;
const std::vector<std::string>& face_landmark_names();
// The label each landmark lies on when nothing covers it (glasses can cover brow ends).
int face_landmark_label(int landmark);

struct FaceLandmark {
  float x = 0, y = 0;    // pixels, pixel centres at integers: (0, 0) is the centre of the top-left pixel
  bool visible = false;  // the label at the point is face_landmark_label(i) (not covered, inside the image)
};

struct FaceRender {
  Image image;   // [size, size, 3]
  Image labels;  // [size, size, 1]: face_label values 0..9 (not grey levels)
  std::array<FaceLandmark, kNumFaceLandmarks> landmarks;
};

// The face at `size` x `size`: the supersampled canvas below, box-downsampled. Each output pixel
// is the rounded mean of its supersample^2 subpixels; its label is the most frequent subpixel label
// (ties go to the higher label, i.e. the smaller part).
FaceRender render_face(const FaceFactors& factors, int size = 48, int supersample = 4);
// The canvas before downsampling: (size * supersample)^2 point samples, each with exactly the label
// of the region that coloured it; landmarks in its own pixel coordinates. The background noise is
// constant over each output pixel's block (so it survives the downsampling).
FaceRender render_face_supersampled(const FaceFactors& factors, int size = 48, int supersample = 4);
// Box-downsamples a supersampled render by `supersample` (the second half of render_face).
FaceRender downsample_face(const FaceRender& supersampled, int supersample);

// The same face with other hair: render_face of `factors` with `new_hair` in place of its hair.
// Guarantee (tested): nothing but the hair regions depends on HairFactors, so every subpixel whose
// label is not hair in the old render nor in the new one is identical in colour and label, and so
// is every output pixel whose supersample^2 block holds no hair subpixel in either render. Pixels
// the old hair covered and the new one does not show exactly what lies beneath (face, ears, backdrop).
FaceRender render_with_hair(const FaceFactors& factors, const HairFactors& new_hair, int size = 48,
                            int supersample = 4);

// ---- captions --------------------------------------------------------------------------------
// One claim of a caption: the factor ("hair_style", "hair_color", "expression", "glasses", "hat",
// "skin_tone", "face_shape", "eye_color", "mouth_open"), the value's name, and the exact phrase of
// the caption that says it (a substring of the text).
struct CaptionMention {
  std::string factor, value, phrase;
};
struct FaceCaption {
  std::string text;
  std::vector<CaptionMention> mentions;  // hair_style and hair_color always; the rest when said
};
// A caption from a template grammar (a sentence or a tag list, shuffled clauses, synonyms), e.g.
// "a smiling person with long straight red hair and round glasses" or "cartoon face, bob cut,
// blond hair, neutral expression". Deterministic in (factors, rng state).
FaceCaption face_caption(const FaceFactors& factors, Generator& rng);
// The words that claim `value` of `factor` in a caption ("hair_color", red -> {"red", "ginger", ...});
// multi-word where a word alone would be ambiguous ("round glasses", "blue eyes"). Tests use them.
const std::vector<std::string>& face_caption_keywords(const std::string& factor, const std::string& value);
// Every factor a caption may mention, and each one's value names.
const std::vector<std::pair<std::string, std::vector<std::string>>>& face_caption_factors();
// "HairCLIP" text prompts: "<style> hairstyle" and "<colour> hair".
std::string hair_style_prompt(int style);
std::string hair_color_prompt(int color);

// ---- whole samples -----------------------------------------------------------------------------
struct FaceSample {
  int64_t index = 0;
  FaceFactors factors;
  FaceRender render;
  FaceCaption caption;
};
// Factors, render and caption of sample `index` (the caption's randomness comes from (seed, split, index)).
FaceSample make_face(const FaceConfig& config, int64_t index);
// Samples first .. first + count - 1, rendered in parallel (OpenMP); the same bytes for any thread count.
std::vector<FaceSample> make_faces(const FaceConfig& config, int64_t first, int64_t count);

}  // namespace iris::synth
