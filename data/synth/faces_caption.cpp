// The FACES caption grammar: a sentence ("a smiling person with long straight red hair and round
// glasses") or a tag list ("cartoon face, bob cut, blond hair, neutral expression"), with shuffled
// clauses, synonyms for every value, and the list of claims it makes (tests check each claim).
// Leaves out: negations other than "no glasses", pose, background and shirt (never mentioned).
#include <algorithm>
#include <map>

#include "data/synth/faces.h"
#include "tensor/error.h"

namespace iris::synth {

namespace {

// ---- the synonym tables ---------------------------------------------------------------------------
// Per factor, per value name, the words that claim it. Captions only ever say one of these.
using KeywordTable = std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::vector<std::string>>>>>;

const KeywordTable& keyword_table() {
  static const KeywordTable table = [] {
    KeywordTable t;
    auto values = [](const char* (*name)(int), int count, const std::vector<std::vector<std::string>>& words) {
      std::vector<std::pair<std::string, std::vector<std::string>>> v;
      for (int i = 0; i < count; ++i) v.emplace_back(name(i), words[static_cast<size_t>(i)]);
      return v;
    };
    t.emplace_back("hair_style", values(hair_style_name, hair_style::count,
                                        {{"bald"},
                                         {"buzz cut", "crew cut", "very short", "cropped"},
                                         {"bob", "bob cut", "chin-length"},
                                         {"long"},
                                         {"ponytail"},
                                         {"curly", "afro", "curls"},
                                         {"spiky", "mohawk", "spikes"},
                                         {"bangs", "fringe"}}));
    t.emplace_back("hair_color", values(hair_color_name, hair_color::count,
                                        {{"black", "jet-black"},
                                         {"brown", "chestnut", "brunette"},
                                         {"blond", "blonde", "golden"},
                                         {"red", "ginger", "auburn"},
                                         {"gray", "grey", "silver"},
                                         {"white", "snow-white"},
                                         {"blue"},
                                         {"pink"},
                                         {"purple", "violet"},
                                         {"green"}}));
    t.emplace_back("expression", values(expression_name, expression::count,
                                        {{"smiling", "smile", "happy", "cheerful"},
                                         {"neutral", "calm", "expressionless", "straight face"},
                                         {"frowning", "frown", "sad", "grumpy", "unhappy"}}));
    t.emplace_back("glasses", values(glasses_name, glasses_kind::count,
                                     {{"no glasses", "without glasses"},
                                      {"round glasses", "round spectacles"},
                                      {"rectangular glasses", "square glasses", "square spectacles"}}));
    t.push_back({"hat", {{"yes", {"hat", "beanie"}}}});
    std::vector<std::vector<std::string>> skin;
    for (int i = 0; i < skin_tone::count; ++i)
      skin.push_back({std::string(skin_tone_name(i)) + " skin", std::string(skin_tone_name(i)) + " complexion"});
    t.emplace_back("skin_tone", values(skin_tone_name, skin_tone::count, skin));
    t.emplace_back("face_shape", values(face_shape_name, face_shape::count,
                                        {{"oval face"}, {"round face"}, {"square face", "square jaw"}}));
    t.emplace_back("eye_color", values(eye_color_name, eye_color::count,
                                       {{"brown eyes"}, {"blue eyes"}, {"green eyes"}, {"gray eyes", "grey eyes"}}));
    t.push_back({"mouth_open", {{"yes", {"open mouth", "mouth open"}}}});
    return t;
  }();
  return table;
}

// ---- draws from the caller's Generator ------------------------------------------------------------
class CaptionDraws {
 public:
  explicit CaptionDraws(Generator& rng) : rng_(rng) {}
  double uniform() {
    std::array<uint32_t, 4> block = philox_block(rng_.seed(), rng_.reserve(1));
    return uniform_f64(block[0], block[1]);
  }
  int below(int n) { return std::min(n - 1, static_cast<int>(uniform() * n)); }
  bool chance(double p) { return uniform() < p; }
  const std::string& pick(const std::vector<std::string>& options) {
    return options[static_cast<size_t>(below(static_cast<int>(options.size())))];
  }
  template <class T>
  void shuffle(std::vector<T>& items) {  // Fisher-Yates
    for (int i = static_cast<int>(items.size()) - 1; i > 0; --i) std::swap(items[i], items[below(i + 1)]);
  }

 private:
  Generator& rng_;
};

// "a" before a word starting with a vowel becomes "an".
std::string fix_articles(const std::string& text) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    bool word_start = i == 0 || text[i - 1] == ' ';
    if (word_start && text.compare(i, 2, "a ") == 0 && i + 2 < text.size() &&
        std::string("aeiou").find(text[i + 2]) != std::string::npos) {
      out += "an ";
      i += 2;
      continue;
    }
    out += text[i++];
  }
  return out;
}

std::string join_with_and(const std::vector<std::string>& parts) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += i + 1 == parts.size() ? " and " : ", ";
    out += parts[i];
  }
  return out;
}

// One clause of a caption and the claims it makes (their phrase is the whole clause).
struct Clause {
  std::string text;
  std::vector<std::pair<std::string, std::string>> claims;  // (factor, value name)
};

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
  return s;
}

// The hair clause of a sentence: both style and colour ("a ginger ponytail"). {c} is the colour word.
std::string hair_sentence_clause(int style, const std::string& c, CaptionDraws& d) {
  static const std::vector<std::vector<std::string>> forms = {
      {"a bald head and {c} hair on the sides", "a bald crown with {c} hair at the sides"},
      {"a {c} buzz cut", "a {c} crew cut", "very short {c} hair", "cropped {c} hair"},
      {"a {c} bob", "a {c} bob cut", "chin-length {c} hair", "{c} hair in a bob"},
      {"long straight {c} hair", "long {c} hair", "long sleek {c} hair", "{c} hair that is long and straight"},
      {"a {c} ponytail", "{c} hair in a ponytail", "{c} hair tied back in a ponytail"},
      {"curly {c} hair", "a {c} afro", "big curly {c} hair", "{c} curls"},
      {"a {c} mohawk", "spiky {c} hair", "a spiky {c} mohawk", "{c} spikes"},
      {"{c} hair with bangs", "{c} bangs", "a {c} fringe", "blunt {c} bangs"}};
  return fix_articles(replace_all(d.pick(forms[static_cast<size_t>(style)]), "{c}", c));
}

// The hair style alone, as a tag ("bob cut").
std::string hair_style_tag(int style, CaptionDraws& d) {
  static const std::vector<std::vector<std::string>> tags = {
      {"bald", "bald head"},          {"buzz cut", "crew cut", "very short hair"}, {"bob cut", "bob"},
      {"long straight hair", "long hair"}, {"ponytail"},                        {"curly hair", "afro"},
      {"mohawk", "spiky hair"},       {"bangs", "fringe"}};
  return d.pick(tags[static_cast<size_t>(style)]);
}

}  // namespace

const std::vector<std::string>& face_caption_keywords(const std::string& factor, const std::string& value) {
  for (const auto& [name, values] : keyword_table()) {
    if (name != factor) continue;
    for (const auto& [v, words] : values)
      if (v == value) return words;
    throw Error("face_caption_keywords: factor '" + factor + "' has no value '" + value + "'");
  }
  throw Error("face_caption_keywords: unknown factor '" + factor +
              "'; expected hair_style, hair_color, expression, glasses, hat, skin_tone, face_shape, eye_color or "
              "mouth_open");
}

const std::vector<std::pair<std::string, std::vector<std::string>>>& face_caption_factors() {
  static const std::vector<std::pair<std::string, std::vector<std::string>>> factors = [] {
    std::vector<std::pair<std::string, std::vector<std::string>>> out;
    for (const auto& [name, values] : keyword_table()) {
      std::vector<std::string> names;
      for (const auto& v : values) names.push_back(v.first);
      out.emplace_back(name, names);
    }
    return out;
  }();
  return factors;
}

std::string hair_style_prompt(int style) { return std::string(hair_style_name(style)) + " hairstyle"; }
std::string hair_color_prompt(int color) { return std::string(hair_color_name(color)) + " hair"; }

FaceCaption face_caption(const FaceFactors& f, Generator& rng) {
  check_face_factors(f);
  CaptionDraws d(rng);
  const IdentityFactors& id = f.identity;
  const std::string style = hair_style_name(f.hair.style), color = hair_color_name(f.hair.color);
  const std::string expr = expression_name(id.expression);
  const std::string color_word = d.pick(face_caption_keywords("hair_color", color));
  const bool sentence = d.chance(0.6);

  std::vector<Clause> clauses;
  if (sentence) {
    clauses.push_back({hair_sentence_clause(f.hair.style, color_word, d), {{"hair_style", style}, {"hair_color", color}}});
  } else {
    clauses.push_back({hair_style_tag(f.hair.style, d), {{"hair_style", style}}});
    clauses.push_back({f.hair.style == hair_style::bald ? color_word + " side hair" : color_word + " hair",
                       {{"hair_color", color}}});
  }

  // Expression: in a sentence either an adjective on the subject or a clause.
  std::string subject_adjective;
  if (d.chance(0.7)) {
    static const std::vector<std::vector<std::string>> adjectives = {
        {"smiling", "happy", "cheerful"}, {"calm", "expressionless"}, {"frowning", "sad", "grumpy", "unhappy"}};
    static const std::vector<std::vector<std::string>> sentence_forms = {
        {"a smile", "a happy smile", "a cheerful smile"},
        {"a neutral expression", "a straight face", "a calm expression"},
        {"a frown", "a sad frown", "a grumpy frown"}};
    static const std::vector<std::vector<std::string>> tag_forms = {
        {"smiling", "smile"}, {"neutral expression", "expressionless"}, {"frowning", "frown"}};
    size_t e = static_cast<size_t>(id.expression);
    if (sentence && d.chance(0.5)) subject_adjective = d.pick(adjectives[e]);
    else clauses.push_back({d.pick(sentence ? sentence_forms[e] : tag_forms[e]), {{"expression", expr}}});
  }
  if (id.mouth_open && d.chance(0.4))
    clauses.push_back({sentence ? std::string("an open mouth") : d.pick({"open mouth", "mouth open"}),
                       {{"mouth_open", "yes"}}});
  if (id.glasses != glasses_kind::none ? d.chance(0.9) : d.chance(0.2)) {
    const std::string g = glasses_name(id.glasses);
    // "with ... and no glasses" reads well; "with ... without glasses" does not.
    std::string words = sentence && id.glasses == glasses_kind::none ? std::string("no glasses")
                                                                     : d.pick(face_caption_keywords("glasses", g));
    clauses.push_back({words, {{"glasses", g}}});
  }
  if (f.scene.hat && d.chance(0.9)) {
    static const std::vector<std::string> sentence_hats = {"a hat", "a beanie", "a woolly hat", "a bobble hat"};
    static const std::vector<std::string> tag_hats = {"hat", "beanie", "wearing a hat"};
    clauses.push_back({d.pick(sentence ? sentence_hats : tag_hats), {{"hat", "yes"}}});
  }
  if (d.chance(0.3)) {
    const std::string tone = skin_tone_name(id.skin_tone);
    clauses.push_back({sentence && d.chance(0.5) ? fix_articles("a " + tone + " complexion") : tone + " skin",
                       {{"skin_tone", tone}}});
  }
  if (d.chance(0.25)) {
    const std::string shape = face_shape_name(id.face_shape);
    std::string words = d.pick(face_caption_keywords("face_shape", shape));
    clauses.push_back({sentence ? fix_articles("a " + words) : words, {{"face_shape", shape}}});
  }
  if (d.chance(0.25)) {
    const std::string eyes = eye_color_name(id.eye_color);
    clauses.push_back({d.pick(face_caption_keywords("eye_color", eyes)), {{"eye_color", eyes}}});
  }
  d.shuffle(clauses);

  FaceCaption caption;
  std::vector<std::string> parts;
  for (const Clause& c : clauses) parts.push_back(c.text);
  if (sentence) {
    static const std::vector<std::string> prefixes = {"", "", "", "a drawing of ", "a portrait of ",
                                                      "an illustration of "};
    static const std::vector<std::string> nouns = {"person", "cartoon person", "face", "cartoon face",
                                                   "character", "cartoon character", "figure"};
    std::string subject = fix_articles(d.pick(prefixes) + "a " +
                                       (subject_adjective.empty() ? "" : subject_adjective + " ") + d.pick(nouns));
    caption.text = subject + " with " + join_with_and(parts);
    if (!subject_adjective.empty()) caption.mentions.push_back({"expression", expr, subject_adjective});
  } else {
    static const std::vector<std::string> heads = {"cartoon face", "cartoon portrait", "drawn face", "avatar"};
    caption.text = d.pick(heads);
    for (const std::string& p : parts) caption.text += ", " + p;
  }
  for (const Clause& c : clauses)
    for (const auto& [factor, value] : c.claims) caption.mentions.push_back({factor, value, c.text});
  return caption;
}

}  // namespace iris::synth
