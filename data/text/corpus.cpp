// The caption corpus: word lists per world, a block of coverage lines that uses every list entry, and
// random captions per world drawn from a SplitMix64 generator (fixed arithmetic, so the same seed gives
// the same bytes everywhere; no std::*_distribution, whose output differs between standard libraries).
// Leaves out: grammar beyond templates (some lines read stiffly: "a photo of a ankle boot." is kept
// as CLIP's templates write it) and any language but lowercase English.
#include "data/text/corpus.h"

#include <algorithm>
#include <set>

#include "tensor/error.h"

namespace iris::text {

namespace {

// ---- randomness -----------------------------------------------------------------------------

class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n); the modulo bias is below 2^-50 for the list sizes used here.
  size_t below(size_t n) { return static_cast<size_t>(next() % n); }
  bool chance(double p) { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0) < p; }
  template <class T>
  const T& pick(const std::vector<T>& list) {
    return list[below(list.size())];
  }

 private:
  uint64_t state_;
};

// ---- word lists -----------------------------------------------------------------------------

struct Noun {
  std::string singular, plural;
};

// A Fashion-MNIST class: its canonical name first among the names, then synonyms.
struct ItemClass {
  std::vector<Noun> names;
};

const std::vector<ItemClass>& item_classes() {
  static const std::vector<ItemClass> classes = {
      {{{"t-shirt", "t-shirts"}, {"t shirt", "t shirts"}, {"tshirt", "tshirts"}, {"top", "tops"}, {"tee", "tees"},
        {"t-shirt/top", "t-shirts/tops"}}},
      {{{"trouser", "trousers"}, {"pair of trousers", "pairs of trousers"}, {"pants", "pants"}, {"jeans", "jeans"},
        {"slacks", "slacks"}}},
      {{{"pullover", "pullovers"}, {"sweater", "sweaters"}, {"jumper", "jumpers"}, {"sweatshirt", "sweatshirts"}}},
      {{{"dress", "dresses"}, {"gown", "gowns"}, {"frock", "frocks"}}},
      {{{"coat", "coats"}, {"jacket", "jackets"}, {"overcoat", "overcoats"}, {"parka", "parkas"}}},
      {{{"sandal", "sandals"}, {"flip-flop", "flip-flops"}, {"slipper", "slippers"}}},
      {{{"shirt", "shirts"}, {"blouse", "blouses"}, {"button-up shirt", "button-up shirts"}}},
      {{{"sneaker", "sneakers"}, {"trainer", "trainers"}, {"running shoe", "running shoes"}, {"shoe", "shoes"}}},
      {{{"bag", "bags"}, {"handbag", "handbags"}, {"purse", "purses"}, {"tote", "totes"}}},
      {{{"ankle boot", "ankle boots"}, {"boot", "boots"}, {"bootie", "booties"}}},
  };
  return classes;
}

const std::vector<Noun>& generic_nouns() {
  static const std::vector<Noun> nouns = {{"item", "items"},           {"object", "objects"},
                                          {"thing", "things"},         {"garment", "garments"},
                                          {"piece of clothing", "pieces of clothing"},
                                          {"clothing item", "clothing items"}, {"accessory", "accessories"},
                                          {"product", "products"}};
  return nouns;
}

const std::vector<Noun>& shapes() {
  static const std::vector<Noun> list = {
      {"circle", "circles"}, {"disc", "discs"},         {"disk", "disks"},     {"dot", "dots"},
      {"square", "squares"}, {"box", "boxes"},          {"block", "blocks"},   {"rectangle", "rectangles"},
      {"triangle", "triangles"}, {"cross", "crosses"},  {"plus sign", "plus signs"}, {"ring", "rings"},
      {"donut", "donuts"},   {"annulus", "annuli"},     {"star", "stars"},     {"shape", "shapes"}};
  return list;
}

const std::vector<std::string>& colours() {
  static const std::vector<std::string> list = {
      "red",   "green", "blue",   "yellow", "magenta", "cyan",  "orange", "white", "black", "gray",
      "grey",  "brown", "pink",   "purple", "violet",  "teal",  "gold",   "golden", "silver", "beige",
      "navy",  "dark",  "light",  "pale",   "bright",  "olive", "maroon"};
  return list;
}

const std::vector<std::string>& sizes() {
  static const std::vector<std::string> list = {"small", "large",    "big",   "tiny",       "huge",
                                                "little", "medium",  "medium-sized", "giant", "miniature",
                                                "smaller", "larger", "bigger", "smallest", "largest", "biggest"};
  return list;
}

const std::vector<std::string>& item_attributes() {
  static const std::vector<std::string> list = {"bright",  "dark",   "faded",   "tinted",  "inverted", "striped",
                                                "textured", "plain", "noisy",   "blurry",  "shifted",  "rotated",
                                                "scaled",  "cropped", "partly hidden", "occluded", "whole", "upside-down"};
  return list;
}

const std::vector<std::string>& positions() {
  static const std::vector<std::string> list = {
      "left",        "right",           "top",          "bottom",          "center",          "centre",
      "middle",      "top left",        "top right",    "bottom left",     "bottom right",    "upper left",
      "upper right", "lower left",      "lower right",  "left side",       "right side",      "edge",
      "corner"};
  return list;
}

const std::vector<std::string>& relations() {
  static const std::vector<std::string> list = {
      "left of",   "right of", "to the left of", "to the right of", "above",       "below",  "over",
      "under",     "beneath",  "next to",        "beside",          "near",        "far from", "on top of",
      "in front of", "behind", "close to",       "touching",        "overlapping", "underneath", "alongside"};
  return list;
}

const std::vector<std::string>& backgrounds() {
  static const std::vector<std::string> list = {"a dark background",   "a light background", "a black background",
                                                "a white background",  "a gray background",  "a noisy background",
                                                "a textured background", "a plain background", "a gradient background"};
  return list;
}

const std::vector<std::string>& count_words() {
  static const std::vector<std::string> list = {"no",  "zero",  "one",   "two",    "three",  "four",   "five",
                                                "six", "seven", "eight", "nine",   "ten",    "eleven", "twelve",
                                                "several", "many", "some", "a few", "both", "none", "all"};
  return list;
}

const std::vector<std::string>& scene_words() {
  static const std::vector<std::string> list = {
      "picture", "image", "photo", "canvas", "scene", "grid", "box", "bounding box", "region", "crop", "patch",
      "caption", "phrase", "question", "answer", "hypothesis", "true", "false", "yes", "no", "entail",
      "entailment", "contradict", "contradiction", "neutral", "option", "correct", "wrong", "there is", "there are",
      "contains", "shows", "with", "and", "or", "not", "only", "also", "each", "every", "other", "another",
      "same", "different", "first", "second", "third", "last", "nothing", "empty", "biggest", "highest",
      "lowest", "leftmost", "rightmost", "topmost", "count", "detect", "find", "locate", "ground", "label",
      "class", "category", "seen", "unseen", "novel", "base", "held-out", "zero-shot"};
  return list;
}

const std::vector<std::string>& motion_verbs() {
  static const std::vector<std::string> list = {
      "moves",      "is moving",   "slides",      "drifts",        "travels",      "glides",       "bounces",
      "stops",      "turns",       "speeds up",   "slows down",    "enters",       "leaves",       "exits",
      "appears",    "disappears",  "reappears",   "hides",         "waits",        "jumps",        "falls",
      "rises",      "follows",     "chases",      "passes",        "crosses",      "collides with", "overtakes"};
  return list;
}

const std::vector<std::string>& directions() {
  static const std::vector<std::string> list = {
      "left",          "right",          "up",           "down",            "upward",         "downward",
      "to the left",   "to the right",   "toward the top", "toward the bottom", "diagonally",    "across the frame",
      "in a circle",   "back and forth", "away",         "closer",          "fast",           "quickly",
      "slowly",        "steadily",       "suddenly"};
  return list;
}

const std::vector<std::string>& video_words() {
  static const std::vector<std::string> list = {
      "frame",     "frames",    "video",     "clip",       "sequence",   "track",      "tracks",     "tracklet",
      "camera",    "identity",  "id",        "visible",    "invisible",  "partly",     "fully",      "occlusion",
      "occluded",  "hidden",    "speed",     "velocity",   "border",     "trajectory", "path",       "start",
      "end",       "time",      "second",    "moment",     "detection",  "missed",     "switch",     "same item",
      "new item",  "re-identified", "person", "pedestrian", "walking", "standing"};
  return list;
}

const std::vector<std::string>& people() {
  static const std::vector<std::string> list = {"person",    "man",     "woman",    "boy",    "girl",
                                                "child",     "face",    "cartoon face", "portrait", "character",
                                                "avatar",    "someone", "people",   "lady",   "guy",
                                                "adult",     "teenager", "kid"};
  return list;
}

// The renderer's eight styles with their spelling variants, then HairCLIP's hairstyle names.
const std::vector<std::string>& hairstyles() {
  static const std::vector<std::string> list = {
      "bald",           "buzz",           "buzz cut",      "bob",           "long straight",  "long-straight",
      "ponytail",       "curly",          "afro",          "curly afro",    "spiky",          "mohawk",
      "spiky mohawk",   "bangs",          "fringe",        "short",         "long",           "wavy",
      "straight",       "shaved",         "messy",         "neat",          "bowl cut",       "bob cut",
      "braid",          "braids",         "caesar cut",    "chignon",       "cornrows",       "crew cut",
      "crown braid",    "curtained hair", "dido flip",     "dreadlocks",    "extensions",     "fade",
      "fauxhawk",       "finger waves",   "french braid",  "frosted tips",  "full crown",     "harvard clip",
      "hi-top fade",    "high and tight", "hime cut",      "jheri curl",    "liberty spikes", "marcel waves",
      "pageboy",        "perm",           "pixie cut",     "psychobilly wedge", "quiff",      "regular taper cut",
      "ringlets",       "shingle bob",    "short hair",    "slicked-back",  "spiky hair",     "surfer hair",
      "taper cut",      "the rachel",     "undercut",      "updo",          "pigtails",       "bun"};
  return list;
}

const std::vector<std::string>& hair_colours() {
  static const std::vector<std::string> list = {"black", "brown",  "blond",  "blonde", "red",      "gray",
                                                "grey",  "white",  "blue",   "pink",   "purple",   "green",
                                                "orange", "yellow", "silver", "auburn", "ginger",  "platinum",
                                                "dark brown", "light brown", "dark", "light", "golden", "copper"};
  return list;
}

const std::vector<std::string>& expressions() {
  static const std::vector<std::string> list = {"smiling",  "neutral",   "frowning", "laughing", "grinning", "sad",
                                                "happy",    "serious",   "surprised", "angry",   "calm",     "cheerful",
                                                "open-mouthed", "pouting", "winking"};
  return list;
}

const std::vector<std::string>& expression_nouns() {
  static const std::vector<std::string> list = {"a smile",        "a frown",         "a neutral expression",
                                                "an open mouth",  "a closed mouth",  "a big smile",
                                                "a slight smile", "a sad expression", "a surprised look"};
  return list;
}

const std::vector<std::string>& accessories() {
  static const std::vector<std::string> list = {"glasses",       "round glasses", "square glasses", "rectangular glasses",
                                                "spectacles",    "sunglasses",    "a hat",          "a cap",
                                                "a beanie",      "earrings",      "a necklace",     "a scarf",
                                                "no glasses",    "no hat"};
  return list;
}

const std::vector<std::string>& skin_tones() {
  static const std::vector<std::string> list = {"light skin", "fair skin",  "medium skin", "olive skin",
                                                "tan skin",   "brown skin", "dark skin",   "pale skin",
                                                "warm skin",  "deep skin"};
  return list;
}

const std::vector<std::string>& eye_descriptions() {
  static const std::vector<std::string> list = {"blue eyes",     "green eyes",     "brown eyes",    "gray eyes",
                                                "hazel eyes",    "dark eyes",      "big eyes",      "small eyes",
                                                "wide-set eyes", "close-set eyes", "closed eyes",   "round eyes"};
  return list;
}

const std::vector<std::string>& face_shapes() {
  static const std::vector<std::string> list = {"an oval face",   "a round face",     "a square face",  "a square jaw",
                                                "a narrow chin",  "a pointed chin",   "a long face",    "a wide face",
                                                "thick eyebrows", "thin eyebrows",    "arched eyebrows", "raised eyebrows",
                                                "a long nose",    "a short nose",     "a wide mouth",   "a small mouth",
                                                "freckles",       "rosy cheeks",      "a beard",        "a mustache"};
  return list;
}

const std::vector<std::string>& face_parts() {
  static const std::vector<std::string> list = {
      "background", "skin",     "face skin", "hair",     "left eyebrow", "right eyebrow", "eyebrow", "eyebrows",
      "left eye",   "right eye", "eye",      "eyes",     "nose",         "nose tip",      "mouth",   "lips",
      "upper lip",  "lower lip", "inner mouth", "teeth", "glasses",      "neck",          "ear",     "ears",
      "left ear",   "right ear", "chin",     "jaw",      "cheek",        "forehead",      "iris",    "eye corner",
      "mouth corner", "brow end", "landmark", "landmarks", "mask",       "parsing",       "segment", "pixel",
      "hat",        "cloth",     "earring",  "necklace"};
  return list;
}

const std::vector<std::string>& poses() {
  static const std::vector<std::string> list = {"facing forward",        "tilted to the left", "tilted to the right",
                                                "looking at the camera", "slightly rotated",   "head tilted",
                                                "centered",              "zoomed in",          "zoomed out"};
  return list;
}

const std::vector<std::string>& edit_words() {
  static const std::vector<std::string> list = {"change", "make",  "turn",  "edit",     "keep",      "dye",
                                                "cut",    "grow",  "style", "hairstyle", "haircut",  "hair colour",
                                                "hair color", "colour", "color", "into", "instead", "reference"};
  return list;
}

// CLIP's ImageNet prompt templates, plus the short ones the paper notes use ("a {}.", "an image of a {}.").
const std::vector<std::string>& templates() {
  static const std::vector<std::string> list = {
      "a bad photo of a {}.",          "a photo of many {}.",                "a sculpture of a {}.",
      "a photo of the hard to see {}.", "a low resolution photo of the {}.", "a rendering of a {}.",
      "graffiti of a {}.",             "a bad photo of the {}.",             "a cropped photo of the {}.",
      "a tattoo of a {}.",             "the embroidered {}.",                "a photo of a hard to see {}.",
      "a bright photo of a {}.",       "a photo of a clean {}.",             "a photo of a dirty {}.",
      "a dark photo of the {}.",       "a drawing of a {}.",                 "a photo of my {}.",
      "the plastic {}.",               "a photo of the cool {}.",            "a close-up photo of a {}.",
      "a black and white photo of the {}.", "a painting of the {}.",         "a painting of a {}.",
      "a pixelated photo of the {}.",  "a sculpture of the {}.",             "a bright photo of the {}.",
      "a cropped photo of a {}.",      "a plastic {}.",                      "a photo of the dirty {}.",
      "a jpeg corrupted photo of a {}.", "a blurry photo of the {}.",        "a photo of the {}.",
      "a good photo of the {}.",       "a rendering of the {}.",             "a {} in a video game.",
      "a photo of one {}.",            "a doodle of a {}.",                  "a close-up photo of the {}.",
      "a photo of a {}.",              "the origami {}.",                    "the {} in a video game.",
      "a sketch of a {}.",             "a doodle of the {}.",                "a origami {}.",
      "a low resolution photo of a {}.", "the toy {}.",                      "a rendition of the {}.",
      "a photo of the clean {}.",      "a photo of a large {}.",             "a rendition of a {}.",
      "a photo of a nice {}.",         "a photo of a weird {}.",             "a blurry photo of a {}.",
      "a cartoon {}.",                 "art of a {}.",                       "a sketch of the {}.",
      "a embroidered {}.",             "a pixelated photo of a {}.",         "itap of the {}.",
      "a jpeg corrupted photo of the {}.", "a good photo of a {}.",          "a plushie {}.",
      "a photo of the nice {}.",       "a photo of the small {}.",           "a photo of the weird {}.",
      "the cartoon {}.",               "art of the {}.",                     "a drawing of the {}.",
      "a photo of the large {}.",      "a black and white photo of a {}.",   "the plushie {}.",
      "a dark photo of a {}.",         "itap of a {}.",                      "graffiti of the {}.",
      "a toy {}.",                     "itap of my {}.",                     "a photo of a cool {}.",
      "a photo of a small {}.",        "a tattoo of the {}.",                "a {}.",
      "{}.",                           "a picture of the {}.",               "a picture of a {}.",
      "an image of a {}.",             "an image of the {}.",                "there is a {} in the image.",
      "this is a {}.",                 "a centered photo of a {}.",          "a synthetic image of a {}."};
  return list;
}

// ---- small helpers ----------------------------------------------------------------------------

std::string article(const std::string& word) {
  if (word.empty()) return "a ";
  char c = word[0];
  bool vowel = c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u';
  return vowel ? "an " : "a ";
}

std::string with_article(const std::string& word) { return article(word) + word; }

// The names of every class and synonym.
std::vector<Noun> all_item_names() {
  std::vector<Noun> out;
  for (const ItemClass& c : item_classes()) out.insert(out.end(), c.names.begin(), c.names.end());
  return out;
}

// "a", "b and c", "a, b and c".
std::string join_list(const std::vector<std::string>& parts) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += (i + 1 == parts.size()) ? " and " : ", ";
    out += parts[i];
  }
  return out;
}

// ---- random captions, one generator per world ------------------------------------------------

struct Drawn {
  Noun noun;
  int class_index = 0;
};

Drawn draw_item(SplitMix64& rng, bool canonical_only = false) {
  const auto& classes = item_classes();
  Drawn d;
  d.class_index = static_cast<int>(rng.below(classes.size()));
  const auto& names = classes[d.class_index].names;
  d.noun = canonical_only || rng.chance(0.5) ? names[0] : rng.pick(names);
  return d;
}

// "small red bag", "bag", "striped coat"
std::string item_phrase(SplitMix64& rng) {
  std::string phrase;
  if (rng.chance(0.3)) phrase += rng.pick(sizes()) + " ";
  if (rng.chance(0.2)) phrase += rng.pick(item_attributes()) + " ";
  return phrase + draw_item(rng).noun.singular;
}

std::string prompt_line(SplitMix64& rng) {
  std::string name;
  switch (rng.below(6)) {
    case 0: name = item_phrase(rng); break;
    case 1: name = rng.pick(shapes()).singular; break;
    case 2: name = rng.pick(colours()) + " " + rng.pick(shapes()).singular; break;
    case 3: name = rng.pick(people()); break;
    default: name = draw_item(rng).noun.singular; break;
  }
  return fill_template(rng.pick(templates()), name);
}

std::string scene_caption(SplitMix64& rng) {
  std::string a = item_phrase(rng), b = item_phrase(rng);
  switch (rng.below(8)) {
    case 0: return with_article(a) + " " + rng.pick(relations()) + " " + with_article(b);
    case 1: return "the " + a + " is " + rng.pick(relations()) + " the " + b + ".";
    case 2: return "there is " + with_article(a) + " on the " + rng.pick(positions()) + ".";
    case 3: {
      std::vector<std::string> parts;
      size_t n = 2 + rng.below(3);
      for (size_t i = 0; i < n; ++i) parts.push_back(with_article(draw_item(rng).noun.singular));
      return join_list(parts);
    }
    case 4: return with_article(a) + " and " + with_article(b) + " on " + rng.pick(backgrounds());
    case 5: {
      const Noun& n = draw_item(rng).noun;
      return rng.pick(count_words()) + " " + n.plural + " " + rng.pick(relations()) + " " + with_article(b);
    }
    case 6: return "a picture with " + with_article(a) + " in the " + rng.pick(positions()) + " and " +
                   with_article(b) + " " + rng.pick(relations()) + " it";
    default: return "hypothesis: " + with_article(a) + " is " + rng.pick(relations()) + " " + with_article(b) + ". " +
                    (rng.chance(0.5) ? "entail." : "contradict.");
  }
}

std::string scene_question(SplitMix64& rng) {
  std::string a = draw_item(rng).noun.singular, b = draw_item(rng).noun.singular;
  switch (rng.below(7)) {
    case 0: return "what is " + rng.pick(relations()) + " the " + a + "? " + with_article(b) + ".";
    case 1: {
      const Noun& n = draw_item(rng).noun;
      return "how many " + n.plural + " are there? " + rng.pick(count_words()) + ".";
    }
    case 2: return "is there " + with_article(a) + " " + rng.pick(relations()) + " the " + b + "? " +
                   (rng.chance(0.5) ? "yes." : "no.");
    case 3: return "what color is the " + a + "? " + rng.pick(colours()) + ".";
    case 4: return "where is the " + a + "? on the " + rng.pick(positions()) + ".";
    case 5: return "which item is the " + rng.pick(sizes()) + "? the " + a + ".";
    default: return "is the " + a + " " + rng.pick(sizes()) + "? " + (rng.chance(0.5) ? "yes." : "no.");
  }
}

// GLIP's detection prompt: class names joined by ". ".
std::string detection_prompt(SplitMix64& rng) {
  std::vector<int> order(item_classes().size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
  for (size_t i = order.size() - 1; i > 0; --i) std::swap(order[i], order[rng.below(i + 1)]);
  size_t n = 1 + rng.below(order.size());
  std::string out;
  for (size_t i = 0; i < n; ++i) out += (i ? ". " : "") + item_classes()[order[i]].names[0].singular;
  return out + ".";
}

std::string shape_caption(SplitMix64& rng) {
  std::string size = rng.pick(sizes()), colour = rng.pick(colours()), shape = rng.pick(shapes()).singular;
  std::string position = rng.pick(positions());
  switch (rng.below(5)) {
    case 0: return "a " + size + " " + colour + " " + shape + " on the " + position;
    case 1: return "a " + colour + " " + shape;
    case 2: return "on the " + position + ", " + with_article(size) + " " + shape + " that is " + colour;
    case 3: return colour + " " + shape + ", " + size + ", " + position;
    default: return "the " + shape + " is " + colour + " and " + size + ".";
  }
}

std::string video_caption(SplitMix64& rng) {
  std::string a = item_phrase(rng), b = draw_item(rng).noun.singular;
  switch (rng.below(6)) {
    case 0: return "the " + a + " " + rng.pick(motion_verbs()) + " " + rng.pick(directions()) + ".";
    case 1: return with_article(a) + " is hidden behind the " + b + " for " + std::to_string(2 + rng.below(9)) +
                   " frames.";
    case 2: return "frame " + std::to_string(rng.below(60)) + ": " + rng.pick(count_words()) + " items, the " + a +
                   " is " + (rng.chance(0.5) ? "occluded." : "visible.");
    case 3: return "the " + a + " passes " + (rng.chance(0.5) ? "in front of" : "behind") + " the " + b + ".";
    case 4: return "track " + std::to_string(rng.below(100)) + " follows the " + a + " " + rng.pick(directions()) + ".";
    default: return "the " + a + " enters from the " + rng.pick(positions()) + " and " + rng.pick(motion_verbs()) +
                    " " + rng.pick(directions()) + ".";
  }
}

std::string face_caption(SplitMix64& rng) {
  std::string style = rng.pick(hairstyles()), colour = rng.pick(hair_colours()), person = rng.pick(people());
  std::string expression = rng.pick(expressions());
  switch (rng.below(8)) {
    case 0: {
      std::string s = with_article(expression) + " " + person + " with " + style + " " + colour + " hair";
      if (rng.chance(0.3)) s += " and " + rng.pick(accessories());
      return s;
    }
    case 1: return "cartoon face, " + style + ", " + colour + " hair, " + expression + " expression";
    case 2: return colour + " hair";
    case 3: return style + " hairstyle";
    case 4: return with_article(person) + " with " + rng.pick(skin_tones()) + ", " + rng.pick(eye_descriptions()) +
                   " and " + rng.pick(face_shapes()) + ", " + rng.pick(poses());
    case 5: return "change the hair to " + colour + (rng.chance(0.5) ? " and make it " + style : "") + ".";
    case 6: return "a portrait of " + with_article(person) + " wearing " + rng.pick(accessories()) + " with " +
                   rng.pick(expression_nouns());
    default: return "the " + rng.pick(face_parts()) + " of the " + person + " is " + rng.pick(colours()) + ".";
  }
}

// ---- the coverage block -----------------------------------------------------------------------

std::vector<std::string> make_coverage_lines() {
  std::vector<std::string> lines;
  const auto& classes = item_classes();
  // Every class name and synonym, singular and plural.
  for (const ItemClass& c : classes)
    for (const Noun& n : c.names) {
      lines.push_back("a photo of " + with_article(n.singular) + ".");
      lines.push_back("two " + n.plural + " next to each other.");
    }
  for (const Noun& n : generic_nouns()) lines.push_back(with_article(n.singular) + " and three " + n.plural + ".");
  // Every template, with the class names in turn.
  for (size_t i = 0; i < templates().size(); ++i)
    lines.push_back(fill_template(templates()[i], classes[i % classes.size()].names[0].singular));
  // The detection prompt with all ten names, in order.
  {
    std::string all;
    for (size_t i = 0; i < classes.size(); ++i) all += (i ? ". " : "") + classes[i].names[0].singular;
    lines.push_back(all + ".");
  }
  for (const Noun& s : shapes()) lines.push_back(with_article(s.singular) + " and four " + s.plural);
  for (size_t i = 0; i < colours().size(); ++i)
    lines.push_back("a " + colours()[i] + " " + shapes()[i % shapes().size()].singular);
  for (const auto& w : sizes()) lines.push_back("the " + w + " item");
  for (const auto& w : item_attributes()) lines.push_back("a " + w + " coat");
  for (const auto& w : positions()) lines.push_back("a bag on the " + w);
  for (const auto& w : relations()) lines.push_back("a sandal " + w + " a dress");
  for (const auto& w : backgrounds()) lines.push_back("a shirt on " + w);
  for (const auto& w : count_words()) lines.push_back(w + " sneakers");
  for (const auto& w : scene_words()) lines.push_back("the " + w + " of the scene");
  for (const auto& w : motion_verbs()) lines.push_back("the trouser " + w);
  for (const auto& w : directions()) lines.push_back("it moves " + w);
  for (const auto& w : video_words()) lines.push_back("the " + w + " in the video");
  for (const auto& w : people()) lines.push_back(with_article(w) + " with short hair");
  for (const auto& w : hairstyles()) lines.push_back(w + " hairstyle");
  for (const auto& w : hair_colours()) lines.push_back(w + " hair");
  for (const auto& w : expressions()) lines.push_back(with_article(w) + " person");
  for (const auto& w : expression_nouns()) lines.push_back("a face with " + w);
  for (const auto& w : accessories()) lines.push_back("a woman wearing " + w);
  for (const auto& w : skin_tones()) lines.push_back("a man with " + w);
  for (const auto& w : eye_descriptions()) lines.push_back("a child with " + w);
  for (const auto& w : face_shapes()) lines.push_back("a person with " + w);
  for (const auto& w : face_parts()) lines.push_back("the " + w + " label");
  for (const auto& w : poses()) lines.push_back("a cartoon face " + w);
  for (const auto& w : edit_words()) lines.push_back(w + " the hair");
  // Digits, numbers and every printable ASCII punctuation mark, so no ASCII text meets an unknown piece.
  lines.push_back("0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 20 32 48 64 96 100 128 256 512 1000");
  lines.push_back("frame 0, frame 1, frame 2; item 3 of 4: 50% hidden (partly) [left] {right}");
  lines.push_back("punctuation: . , ; : ! ? ' \" - _ / \\ ( ) [ ] { } < > @ # $ % ^ & * + = ~ ` |");
  lines.push_back("what's this? it's a t-shirt/top! \"a bag\" & 'a coat' @ 3pm #1 $5 ~2 = 1+1 * 2 ^ x | y `z`");
  lines.push_back("abcdefghijklmnopqrstuvwxyz");
  // Common accented Latin letters (lowercase; the tokenizer folds case), for user class names.
  lines.push_back("café naïve façade jalapeño über señor crème brûlée smörgåsbord æ ø œ ß à á â ã ä å ç è é ê ë "
                  "ì í î ï ñ ò ó ô õ ö ù ú û ü ý ÿ");
  return lines;
}

}  // namespace

const std::vector<std::string>& caption_corpus_coverage_lines() {
  static const std::vector<std::string> lines = make_coverage_lines();
  return lines;
}

std::vector<std::string> generate_caption_corpus(uint64_t seed, int64_t n_lines) {
  const auto& coverage = caption_corpus_coverage_lines();
  IRIS_CHECK(n_lines >= static_cast<int64_t>(coverage.size()), "generate_caption_corpus: n_lines must be at least ",
             coverage.size(), " (the coverage lines every corpus starts with), got ", n_lines);
  std::vector<std::string> lines(coverage.begin(), coverage.end());
  lines.reserve(static_cast<size_t>(n_lines));
  SplitMix64 rng(seed);
  while (static_cast<int64_t>(lines.size()) < n_lines) {
    // World weights out of 100: prompts 25, scene captions 20, questions 10, detection prompts 5,
    // shapes 10, video 10, faces 20.
    size_t r = rng.below(100);
    if (r < 25) lines.push_back(prompt_line(rng));
    else if (r < 45) lines.push_back(scene_caption(rng));
    else if (r < 55) lines.push_back(scene_question(rng));
    else if (r < 60) lines.push_back(detection_prompt(rng));
    else if (r < 70) lines.push_back(shape_caption(rng));
    else if (r < 80) lines.push_back(video_caption(rng));
    else lines.push_back(face_caption(rng));
  }
  return lines;
}

std::string caption_corpus_text(uint64_t seed, int64_t n_lines) {
  std::string text;
  for (const std::string& line : generate_caption_corpus(seed, n_lines)) {
    text += line;
    text += '\n';
  }
  return text;
}

const std::vector<std::string>& caption_vocabulary() {
  static const std::vector<std::string> words = [] {
    std::set<std::string> set;
    auto add = [&](const std::vector<std::string>& list) { set.insert(list.begin(), list.end()); };
    auto add_nouns = [&](const std::vector<Noun>& list) {
      for (const Noun& n : list) set.insert({n.singular, n.plural});
    };
    add_nouns(all_item_names());
    add_nouns(generic_nouns());
    add_nouns(shapes());
    for (const auto* list : {&colours(), &sizes(), &item_attributes(), &positions(), &relations(), &backgrounds(),
                             &count_words(), &scene_words(), &motion_verbs(), &directions(), &video_words(), &people(),
                             &hairstyles(), &hair_colours(), &expressions(), &expression_nouns(), &accessories(),
                             &skin_tones(), &eye_descriptions(), &face_shapes(), &face_parts(), &poses(),
                             &edit_words()})
      add(*list);
    return std::vector<std::string>(set.begin(), set.end());
  }();
  return words;
}

const std::vector<std::string>& prompt_templates() { return templates(); }

std::string fill_template(const std::string& templ, const std::string& name) {
  size_t at = templ.find("{}");
  IRIS_CHECK(at != std::string::npos, "fill_template: the template \"", templ, "\" has no {} to fill");
  return templ.substr(0, at) + name + templ.substr(at + 2);
}

}  // namespace iris::text
