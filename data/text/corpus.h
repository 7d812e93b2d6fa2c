// The caption corpus the tokenizer is trained on: deterministic lines of text covering the vocabulary
// of every iris world (Fashion-MNIST items and synonyms, scenes with relations and questions, coloured
// shapes, moving items, cartoon faces with hair, CLIP-style prompt templates), plus digits, ASCII
// punctuation and common accented Latin letters, so that such text encodes without unknown pieces.
// All text is lowercase (the tokenizer folds case).
// Leaves out: the worlds' own caption generators (data/synth/); this file keeps its own word lists so
// the tokenizer never depends on them, and words it misses still encode as smaller pieces.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace iris::text {

// The lines every corpus starts with, whatever the seed: each word list entry and each prompt
// template appears in at least one of them.
const std::vector<std::string>& caption_corpus_coverage_lines();

// n_lines lines: the coverage lines first, then random captions from every world drawn with a
// SplitMix64 generator seeded by `seed` (the same seed gives the same lines on every machine).
// n_lines must be at least caption_corpus_coverage_lines().size() (throws iris::Error otherwise).
std::vector<std::string> generate_caption_corpus(uint64_t seed, int64_t n_lines);

// The same lines joined with '\n' (one line each, ending with a newline), as written to corpus.txt.
std::string caption_corpus_text(uint64_t seed, int64_t n_lines);

// Every word and multi-word name of the word lists (class names, synonyms, relations, attributes,
// shapes, colours, hair styles, face words, ...), sorted and without duplicates; for tests and for
// apps that want to check a caption's words are in the corpus.
const std::vector<std::string>& caption_vocabulary();

// The CLIP-style prompt templates, each with one "{}" where the class name goes ("a photo of a {}.").
const std::vector<std::string>& prompt_templates();

// A template with its "{}" replaced by `name` (throws when the template has no "{}").
std::string fill_template(const std::string& templ, const std::string& name);

}  // namespace iris::text
