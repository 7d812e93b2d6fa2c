// The synthetic scenes world (GLIP-mini, RegionCLIP-mini, CLIP-TD-mini): canvases of 1-4 Fashion-MNIST
// items at random scales and positions with bounded overlap; per canvas the tight boxes, class names,
// attributes (size, colour tint), spatial relations, a caption whose noun phrases are linked to their
// boxes (character and word-token spans), referring expressions, question-answer pairs and a
// detection record. Deterministic from (seed, split, index); train/val/test use disjoint random
// streams and disjoint item instances; base/novel classes by a held-out list; a domain-shifted variant.
// Leaves out: rotations, items cut by the canvas border, and any tokenizer beyond splitting words.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "image/draw.h"
#include "image/image.h"
#include "io/json.h"
#include "data/synth/items.h"
#include "geometry/box.h"

namespace iris::synth {

// ---- configuration ------------------------------------------------------------------------------
// train draws items 0..49999 of Fashion-MNIST's train file, val 50000..59999, test the t10k file.
enum class SceneSplit { train = 0, val = 1, test = 2 };
const char* scene_split_name(SceneSplit split);          // "train", "val", "test"
SceneSplit parse_scene_split(const std::string& name);   // throws naming the valid names

// Which classes may appear: all ten; only the seen (base) ones; or "novel": every canvas holds at
// least one held-out class (other items from all ten), the zero-shot test set.
enum class SceneClasses { all, seen, novel };
const char* scene_classes_name(SceneClasses classes);       // "all", "seen", "novel"
SceneClasses parse_scene_classes(const std::string& name);

struct SceneConfig {
  uint64_t seed = 1;
  SceneSplit split = SceneSplit::train;
  int size = 64;                        // canvas side in pixels (64 or 96 in the specs; 32..256 allowed)
  int min_items = 1, max_items = 4;     // items per canvas, uniform in [min, max]; at most 5
  bool colour = false;                  // false: 1 channel grey; true: 3 channels, each item tinted
  bool shifted = false;                 // the domain-shifted variant (see below)
  std::vector<int> held_out = {5, 8, 9};  // novel classes: sandal, bag, ankle boot
  SceneClasses classes = SceneClasses::all;
  // Longer side of each item's ink, in pixels, uniform in [min, max]; 0 takes the domain's default:
  // normal 16..28, shifted 28..40 (at size 64; scaled by size / 64). GLIP-mini uses 16..40.
  int min_item_px = 0, max_item_px = 0;
  double max_iou = 0.3;                 // between any two boxes
  double max_cover = 0.5;               // intersection / area of the smaller box (none mostly hidden)
  double noise_sigma = 0.05;            // Gaussian pixel noise of the background, in [0, 1] units
  bool clean_background = false;        // black and noise-free (tests: every nonzero pixel is an item)
  bool centered_single = false;         // one item, centred, at max_item_px ("a photo of a bag" images)
  std::string data_dir;                 // Fashion-MNIST folder; "" uses data::fashion_mnist_dir()
};
// Domains. Normal: a dark background (grey level 0..0.08 plus noise); items drawn bright (grey, or
// tinted red, green, blue, yellow or white). Shifted: larger items (28..40 px), a light background with
// the items drawn dark ("ink on paper", the intensities inverted) or a textured one (stripes, checks,
// waves), and other tints (orange, purple, pink, cyan).

// Throws iris::Error naming the bad field and how to fix it.
void validate_scene_config(const SceneConfig& config);
// The item size range in pixels after the domain defaults and scaling: {min, max}.
std::pair<int, int> item_px_range(const SceneConfig& config);
// The colour names (and tints) items may get: the normal palette, or the shifted one.
const std::vector<std::pair<std::string, Color>>& tint_palette(bool shifted);
// True when class c is in config.held_out.
bool is_novel_class(const SceneConfig& config, int c);

// ---- a scene ------------------------------------------------------------------------------------
struct SceneObject {
  int id = 0;                 // its position in Scene::objects (drawing order: later ones on top)
  int label = 0;              // class 0..9
  std::string name;           // class_name(label)
  bool novel = false;         // a held-out class
  int64_t item_index = 0;     // the Fashion-MNIST instance (index in its file)
  int x0 = 0, y0 = 0;         // tight box of the item's drawn pixels (ink >= 10%), in canvas pixels;
  int x1 = 0, y1 = 0;         // x1/y1 exclusive
  int side_px = 0;            // the longer side of the item's ink as scaled (the box can be 1 px less)
  std::string size;           // "small", "medium" or "big": the thirds of the size range
  std::string colour;         // tint name; "" on grey canvases
  Color tint = colors::white;
  int width() const { return x1 - x0; }
  int height() const { return y1 - y0; }
  Box box() const { return {double(x0), double(y0), double(x1), double(y1)}; }
};

// "subject predicate object": objects[subject] is left of / right of / above / below / next to
// objects[object]. Directions compare box centres along the axis where they differ most (ties go to
// left/right); `clear` marks pairs where that axis differs at least twice as much as the other and by
// 2 px or more (captions and answers only use clear pairs). "next to": boxes within 2 px of each other.
struct Relation {
  int subject = 0, object = 0;
  std::string predicate;
  bool clear = false;
};

// A word token of a caption: characters [begin, end). Words are runs of letters, digits, '-' and '\'';
// every other non-space character (",", ".", "?") is a token of its own.
struct WordToken {
  int begin = 0, end = 0;
};
std::vector<WordToken> word_tokens(const std::string& text);

// One noun phrase of a text linked to its boxes.
struct PhraseSpan {
  std::vector<int> objects;                 // object ids it names (several for "two bags"); empty in prompts
  int label = -1;                           // its class
  int char_begin = 0, char_end = 0;         // the whole phrase ("a small bag"), [begin, end)
  int token_begin = 0, token_end = 0;       // the same in word tokens
  int name_char_begin = 0, name_char_end = 0;    // just the class name ("bag", "ankle boot")
  int name_token_begin = 0, name_token_end = 0;
};

struct GroundedText {
  std::string text;
  std::vector<PhraseSpan> phrases;
};

// An expression that picks out one object ("the bag left of the coat"); phrases[0] is the target's
// head phrase ("the bag"), phrases[1] the anchor when the expression uses a relation.
struct ReferringExpression {
  GroundedText expression;
  int target = 0;
  bool uses_relation = false;
};

// A question with its answer and answer options (answer == options[answer_index]). Types:
//   "exist"    is there a sandal?            yes / no
//   "count"    how many shoes?               zero .. five (4 options)
//   "relation" what is left of the bag?      a class name (4 options)
//   "color"    what color is the coat?       a tint name (4 options; colour canvases only)
//   "size"     is the bag big or small?      big / small
//   "verify"   there is a bag left of a coat.  entail / contradict (a visual-entailment hypothesis)
struct QAPair {
  std::string type, question, answer;
  std::vector<std::string> options;
  int answer_index = 0;
  std::vector<int> objects;  // the objects the question is about (anchor, answer, counted ones)
};

struct Scene {
  uint64_t seed = 0;
  SceneSplit split = SceneSplit::train;
  int64_t index = 0;
  bool shifted = false;
  std::string background;  // "dark", "light", "texture" or "clean"
  Image image;             // u8 [size, size, 1] grey or [size, size, 3] colour
  std::vector<SceneObject> objects;
  std::vector<Relation> relations;
  GroundedText caption;
  std::vector<ReferringExpression> referring;
  std::vector<QAPair> qa;
};

// Scene `index` (>= 0) of the configured split: a pure function of (config, index), the same bytes on
// every call and thread count. Loads the item banks on first use (ItemBank::load caches them).
Scene generate_scene(const SceneConfig& config, int64_t index);
// Scenes first .. first + count - 1, made in parallel (OpenMP); identical to generating them one by one.
std::vector<Scene> generate_scenes(const SceneConfig& config, int64_t first, int64_t count);

// The relation of box a to box b ("left of", "right of", "above", "below"; "" when the centres
// coincide), with `clear` as described at Relation (in pixels: boxes with integer corners compare exactly).
std::string spatial_relation(const Box& a, const Box& b, bool* clear = nullptr);

// GLIP's detection prompt: the class names in the given order joined by ". " and ending with "."
// ("bag. coat. ankle boot."), each name a phrase with its label and no objects.
GroundedText detection_prompt(const std::vector<int>& classes);

// ---- export ---------------------------------------------------------------------------------
// Everything but the pixels: objects, relations, caption (with its word tokens), referring
// expressions, questions and the detection record.
json::Value scene_to_json(const Scene& scene);
// {"index", "split", "width", "height", "annotations": [{"id", "bbox": [x0, y0, x1, y1], "category_id",
// "category", "novel"}]}; boxes in pixels, x1/y1 exclusive. include_novel = false keeps base classes
// only (the detection-format source of GLIP-mini and RegionCLIP-mini's proposal training).
json::Value detection_record(const Scene& scene, bool include_novel = true);
// The images as f32 [B, C, H, W] in [0, 1] (all scenes the same size and channels).
Tensor scene_images(const std::vector<Scene>& scenes);

// ---- pictures ---------------------------------------------------------------------------------
// The scene enlarged `scale` times (RGB) with each box and its label ("small red bag"; held-out
// classes end with '*') in its class colour.
Image draw_scene(const Scene& scene, int scale = 4);
// A grid cell: draw_scene plus the caption and up to `questions` Q&A lines wrapped under it.
GridCell scene_cell(const Scene& scene, int scale = 4, int questions = 2);
// Text broken into lines of at most `max_chars` characters at spaces (long words are cut).
std::string wrap_text(const std::string& text, int max_chars);

}  // namespace iris::synth
