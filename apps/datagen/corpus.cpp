// datagen corpus: writes DIR/corpus.txt (the caption corpus of every world, data/text/corpus.h) and
// trains the tokenizer every app loads, DIR/iris.model + DIR/iris.vocab (`make tokenizer` runs this
// into build/tokenizer). Same --seed and --n, same bytes. A few sample lines go to stderr as pieces.
// Leaves out: a vocabulary-size flag (text::kDefaultVocabSize; change it there and rerun).
#include <algorithm>
#include <iostream>

#include "apps/common/run.h"
#include "apps/datagen/datagen.h"
#include "io/file_util.h"
#include "data/text/corpus.h"
#include "data/text/tokenizer.h"

namespace iris::datagen {

namespace {
constexpr int64_t kCorpusLines = 50000;       // about 2 MB of text; trains in a couple of seconds
constexpr int64_t kQuickCorpusLines = 5000;
}  // namespace

int run_corpus(const Flags& flags) {
  int64_t n_lines = flags.is_set("n") ? flags.get_int("n") : flags.quick() ? kQuickCorpusLines : kCorpusLines;
  int64_t minimum = static_cast<int64_t>(text::caption_corpus_coverage_lines().size());
  IRIS_CHECK(n_lines >= minimum, "--n ", n_lines, " is below the ", minimum,
             " lines that cover every word; use --n ", minimum, " or more (default ", kCorpusLines, ")");
  Run run(flags);
  std::string corpus_path = run.path("corpus.txt");
  std::vector<std::string> lines = text::generate_caption_corpus(flags.seed(), n_lines);
  std::string corpus_text;
  for (const std::string& line : lines) corpus_text += line + "\n";
  write_file_atomic(corpus_path, corpus_text);
  int64_t vocab_size = text::train_tokenizer(corpus_path, run.path("iris"), text::kDefaultVocabSize);

  // How long captions become, and what a few look like.
  text::Tokenizer tokenizer(run.path("iris.model"));
  int64_t total = 0, longest = 0, unknown = 0;
  for (const std::string& line : lines) {
    std::vector<int64_t> ids = tokenizer.encode(line);
    total += static_cast<int64_t>(ids.size());
    longest = std::max<int64_t>(longest, static_cast<int64_t>(ids.size()));
    unknown += std::count(ids.begin(), ids.end(), text::kUnknownId);
  }
  for (size_t i = static_cast<size_t>(minimum); i < lines.size() && i < static_cast<size_t>(minimum) + 6; ++i) {
    std::cerr << lines[i] << "\n   ->";
    for (const std::string& piece : tokenizer.encode_as_pieces(lines[i])) std::cerr << ' ' << piece;
    std::cerr << "\n";
  }
  std::cerr << "wrote " << corpus_path << " (" << n_lines << " lines) and " << run.path("iris.model") << " ("
            << vocab_size << " pieces)\n";

  json::Value metrics = json::Value::object();
  metrics["lines"] = n_lines;
  metrics["vocab_size"] = vocab_size;
  metrics["mean_tokens"] = static_cast<double>(total) / static_cast<double>(lines.size());
  metrics["max_tokens"] = longest;
  metrics["unknown_tokens"] = unknown;
  run.finish(metrics);
  return 0;
}

}  // namespace iris::datagen
