// Class names with synonyms and prompt texts for image-label data (UniCL, papers/unicl.md 3.1 and 3.4):
// Fashion-MNIST's classes (from data/idx.h) and the SHAPES world's shapes and (colour, shape) pairs, a
// random prompt per sample (a random template of data/text/corpus.h and a random synonym; commas
// dropped, '+' made a space, as UniCL's code does) and the prompt ensembles of zero-shot classifiers.
// Leaves out: the embedding of the texts (apps/unicl) and any language other than English.
#pragma once

#include <string>
#include <vector>

#include "data/synth/items.h"

namespace iris::text {

// One class: its names, the canonical one first ("t-shirt", "top").
using ClassSynonyms = std::vector<std::string>;

// Fashion-MNIST's 10 classes, lower case, "T-shirt/top" split into "t-shirt" and "top".
const std::vector<ClassSynonyms>& fashion_mnist_class_synonyms();
// The SHAPES world's 6 shapes with their caption synonyms ("ring", "donut", "annulus").
const std::vector<ClassSynonyms>& shape_class_synonyms();
// The 48 "{colour} {shape}" classes, class id = colour * 6 + shape (canonical words only).
std::vector<ClassSynonyms> color_shape_classes();
// A comma-separated list from the command line ("red circle, blue star") as one-name classes, trimmed;
// '+' inside a name separates synonyms ("t-shirt+top"). Throws on an empty list or an empty name.
std::vector<ClassSynonyms> parse_class_list(const std::string& text);

// UniCL's text clean-up: commas removed, '+' becomes a space, spaces collapsed.
std::string clean_prompt(const std::string& text);
// A random template filled with a random synonym, cleaned (deterministic in rng). `templates` empty:
// prompt_templates().
std::string sample_prompt(const ClassSynonyms& names, synth::SynthRandom& rng,
                          const std::vector<std::string>& templates = {});
// Every template filled with every synonym of the class, cleaned: the prompt ensemble whose mean
// embedding is the class's zero-shot classifier row.
std::vector<std::string> prompt_ensemble(const ClassSynonyms& names, const std::vector<std::string>& templates = {});

}  // namespace iris::text
