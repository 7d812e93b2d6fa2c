// Class synonyms and prompt sampling for image-label data; see prompts.h.
// Leaves out: its own templates (data/text/corpus.h holds the 80 CLIP-style ones).
#include "data/text/prompts.h"

#include <sstream>

#include "data/idx.h"
#include "data/synth/shapes.h"
#include "data/text/corpus.h"
#include "tensor/error.h"

namespace iris::text {

namespace {
std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\n"), e = s.find_last_not_of(" \t\n");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}
const std::vector<std::string>& or_default(const std::vector<std::string>& templates) {
  return templates.empty() ? prompt_templates() : templates;
}
}  // namespace

const std::vector<ClassSynonyms>& fashion_mnist_class_synonyms() {
  static const std::vector<ClassSynonyms> classes = [] {
    std::vector<ClassSynonyms> out;
    for (const std::string& name : data::fashion_mnist_classes()) {
      ClassSynonyms names;
      std::stringstream ss(lower(name));
      std::string part;
      while (std::getline(ss, part, '/')) names.push_back(part);
      out.push_back(names);
    }
    return out;
  }();
  return classes;
}

const std::vector<ClassSynonyms>& shape_class_synonyms() {
  static const std::vector<ClassSynonyms> classes = [] {
    std::vector<ClassSynonyms> out;
    for (int s = 0; s < synth::shape_kind::count; ++s) out.push_back(synth::shape_caption_words("shape", s));
    return out;
  }();
  return classes;
}

std::vector<ClassSynonyms> color_shape_classes() {
  std::vector<ClassSynonyms> out;
  for (const std::string& c : synth::shape_color_names())
    for (const std::string& s : synth::shape_kind_names()) out.push_back({c + " " + s});
  return out;
}

std::vector<ClassSynonyms> parse_class_list(const std::string& text) {
  std::vector<ClassSynonyms> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    ClassSynonyms names;
    std::stringstream parts(item);
    std::string part;
    while (std::getline(parts, part, '+'))
      if (!trim(part).empty()) names.push_back(trim(part));
    IRIS_CHECK(!names.empty(), "class list \"", text, "\": an empty class name; separate names with commas, "
               "e.g. \"red circle,blue star\"");
    out.push_back(names);
  }
  IRIS_CHECK(!out.empty(), "class list is empty; give names separated by commas, e.g. \"red circle,blue star\"");
  return out;
}

std::string clean_prompt(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == ',') continue;
    if (c == '+') c = ' ';
    if (c == ' ' && (out.empty() || out.back() == ' ')) continue;
    out += c;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::string sample_prompt(const ClassSynonyms& names, synth::SynthRandom& rng, const std::vector<std::string>& templates) {
  IRIS_CHECK(!names.empty(), "sample_prompt: the class has no name");
  const std::vector<std::string>& t = or_default(templates);
  IRIS_CHECK(!t.empty(), "sample_prompt: no templates");
  const std::string& templ = rng.pick(t);
  return clean_prompt(fill_template(templ, rng.pick(names)));
}

std::vector<std::string> prompt_ensemble(const ClassSynonyms& names, const std::vector<std::string>& templates) {
  IRIS_CHECK(!names.empty(), "prompt_ensemble: the class has no name");
  std::vector<std::string> out;
  for (const std::string& templ : or_default(templates))
    for (const std::string& name : names) out.push_back(clean_prompt(fill_template(templ, name)));
  return out;
}

}  // namespace iris::text
