// The caption corpus and the sentencepiece tokenizer: corpus determinism and coverage of every world's
// words, training determinism (same bytes twice, no paths in the model), special ids, round trips of
// corpus lines and of unseen text, unknown characters and invalid UTF-8, byte offsets and phrase spans
// as piece ranges, batch encoding with padding/truncation and the end-token index, and the errors for
// missing, corrupt, truncated and foreign model files. A small model (vocab 320, ~1000 lines) is
// trained once, in well under a second.
#include <sentencepiece_trainer.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <thread>

#include "io/file_util.h"
#include "data/synth/scenes.h"
#include "data/text/corpus.h"
#include "data/text/tokenizer.h"
#include "tests/helpers.h"

using namespace iris;
using namespace iris::text;

namespace {

constexpr int64_t kTestVocab = 320;

// A fresh folder under /tmp, removed when the test ends.
struct TempDir {
  std::string path;
  TempDir() {
    char pattern[] = "/tmp/iris_test_tokenizer_XXXXXX";
    char* made = mkdtemp(pattern);
    REQUIRE(made != nullptr);
    path = made;
  }
  ~TempDir() {
    std::string cmd = "rm -rf '" + path + "'";
    if (std::system(cmd.c_str()) != 0) std::fprintf(stderr, "could not remove %s\n", path.c_str());
  }
  std::string file(const std::string& name) const { return path + "/" + name; }
};

int64_t test_corpus_lines() { return static_cast<int64_t>(caption_corpus_coverage_lines().size()) + 300; }

const std::vector<std::string>& test_corpus() {
  static const std::vector<std::string> lines = generate_caption_corpus(7, test_corpus_lines());
  return lines;
}

const std::string& test_model_bytes() {
  static const std::string bytes = train_tokenizer_model(test_corpus(), kTestVocab);
  return bytes;
}

const Tokenizer& test_tokenizer() {
  static const Tokenizer tokenizer = Tokenizer::from_bytes(test_model_bytes(), "test model");
  return tokenizer;
}

bool contains(const std::vector<int64_t>& ids, int64_t id) { return std::find(ids.begin(), ids.end(), id) != ids.end(); }

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Sets an environment variable for one scope and restores it afterwards.
struct ScopedEnv {
  std::string name;
  bool had = false;
  std::string old;
  ScopedEnv(const std::string& n, const std::string& value) : name(n) {
    if (const char* v = std::getenv(n.c_str())) {
      had = true;
      old = v;
    }
    setenv(n.c_str(), value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (had) setenv(name.c_str(), old.c_str(), 1);
    else unsetenv(name.c_str());
  }
};

}  // namespace

// ---- corpus ---------------------------------------------------------------------------------

TEST_CASE("corpus: deterministic per seed, coverage lines first, exact length") {
  const auto& coverage = caption_corpus_coverage_lines();
  std::vector<std::string> a = generate_caption_corpus(3, test_corpus_lines());
  std::vector<std::string> b = generate_caption_corpus(3, test_corpus_lines());
  std::vector<std::string> c = generate_caption_corpus(4, test_corpus_lines());
  CHECK(a == b);
  CHECK(a != c);
  REQUIRE(static_cast<int64_t>(a.size()) == test_corpus_lines());
  CHECK(std::equal(coverage.begin(), coverage.end(), a.begin()));
  CHECK(std::equal(coverage.begin(), coverage.end(), c.begin()));
  CHECK(caption_corpus_text(3, test_corpus_lines()) == caption_corpus_text(3, test_corpus_lines()));
  std::string text = caption_corpus_text(3, test_corpus_lines());
  CHECK(std::count(text.begin(), text.end(), '\n') == test_corpus_lines());
  CHECK(text.substr(0, coverage[0].size() + 1) == coverage[0] + "\n");
  CHECK_THROWS_WITH_SUBSTR(generate_caption_corpus(1, 10), "n_lines must be at least");
}

TEST_CASE("corpus: lines are lowercase, single-spaced and non-empty (so they decode back unchanged)") {
  for (const std::string& line : test_corpus()) {
    CAPTURE(line);
    REQUIRE(!line.empty());
    CHECK(line.front() != ' ');
    CHECK(line.back() != ' ');
    CHECK(line.find("  ") == std::string::npos);
    CHECK(line.find('\n') == std::string::npos);
    CHECK(std::none_of(line.begin(), line.end(), [](char ch) { return ch >= 'A' && ch <= 'Z'; }));
  }
}

TEST_CASE("corpus: every vocabulary entry and every template is in the coverage lines") {
  std::string coverage;
  for (const std::string& line : caption_corpus_coverage_lines()) coverage += line + "\n";
  const auto& words = caption_vocabulary();
  CHECK(std::is_sorted(words.begin(), words.end()));
  CHECK(std::adjacent_find(words.begin(), words.end()) == words.end());
  for (const std::string& w : words) {
    CAPTURE(w);
    CHECK(coverage.find(w) != std::string::npos);
  }
  for (const std::string& t : prompt_templates()) {
    CAPTURE(t);
    size_t at = t.find("{}");
    REQUIRE(at != std::string::npos);
    CHECK(coverage.find(t.substr(0, at)) != std::string::npos);
    CHECK(coverage.find(t.substr(at + 2)) != std::string::npos);
  }
  // The words the papers' small-scale plans name, one or more per world.
  for (const char* w : {"t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag",
                        "ankle boot", "left of", "right of", "above", "below", "next to", "small", "big", "circle",
                        "square", "triangle", "cross", "ring", "star", "magenta", "cyan", "center", "occluded",
                        "frame", "bald", "buzz", "bob", "long straight", "ponytail", "curly", "afro", "spiky",
                        "mohawk", "bangs", "bob cut", "undercut", "blond", "smiling", "frowning", "neutral",
                        "glasses", "hat", "nose", "mouth", "hair"}) {
    std::string word = w;
    CAPTURE(word);
    CHECK(std::binary_search(words.begin(), words.end(), word));
  }
  CHECK(std::find(prompt_templates().begin(), prompt_templates().end(), "a photo of a {}.") != prompt_templates().end());
}

TEST_CASE("corpus: the random part draws from every world") {
  std::vector<std::string> lines = generate_caption_corpus(11, test_corpus_lines() + 2000);
  auto count = [&](const std::string& needle) {
    int64_t n = 0;
    for (size_t i = caption_corpus_coverage_lines().size(); i < lines.size(); ++i)
      n += lines[i].find(needle) != std::string::npos;
    return n;
  };
  CHECK(count("a photo of") > 0);      // prompt templates
  CHECK(count(" of the ") > 0);        // relations
  CHECK(count("?") > 50);              // questions
  CHECK(count("hypothesis:") > 0);     // entailment
  CHECK(count(" hair") > 100);         // faces
  CHECK(count("frame") > 0);           // video
  CHECK(count("pullover. ") + count("coat. ") > 0);  // detection prompts
}

TEST_CASE("corpus: fill_template") {
  CHECK(fill_template("a photo of a {}.", "bag") == "a photo of a bag.");
  CHECK(fill_template("{}.", "ankle boot") == "ankle boot.");
  CHECK_THROWS_WITH_SUBSTR(fill_template("a photo", "bag"), "has no {}");
}

// ---- training -------------------------------------------------------------------------------

TEST_CASE("train: the same corpus gives the same model bytes, wherever it is written") {
  std::string again = train_tokenizer_model(test_corpus(), kTestVocab);
  CHECK(again == test_model_bytes());
  TempDir dir;
  write_bytes(dir.file("corpus.txt"), caption_corpus_text(7, test_corpus_lines()));
  int64_t v1 = train_tokenizer(dir.file("corpus.txt"), dir.file("one/iris"), kTestVocab);
  int64_t v2 = train_tokenizer(dir.file("corpus.txt"), dir.file("two/other"), kTestVocab);
  CHECK(v1 == kTestVocab);
  CHECK(v2 == kTestVocab);
  std::string m1 = read_file(dir.file("one/iris.model")), m2 = read_file(dir.file("two/other.model"));
  CHECK(m1 == m2);
  CHECK(m1 == test_model_bytes());  // no file names stored in the model
  CHECK(m1.find(dir.path) == std::string::npos);
  std::string vocab = read_file(dir.file("one/iris.vocab"));
  CHECK(vocab == read_file(dir.file("two/other.vocab")));
  CHECK(std::count(vocab.begin(), vocab.end(), '\n') == kTestVocab);
  CHECK(vocab.rfind("<pad>\t0\n<unk>\t0\n<s>\t0\n</s>\t0\n<mask>\t0\n", 0) == 0);
  // The file loads to the same tokenizer as the bytes.
  Tokenizer from_file(dir.file("one/iris.model"));
  CHECK(from_file.vocab_size() == test_tokenizer().vocab_size());
  CHECK(from_file.encode("a small bag left of a coat") == test_tokenizer().encode("a small bag left of a coat"));
  CHECK(from_file.name() == dir.file("one/iris.model"));
}

TEST_CASE("train: a vocabulary larger than the corpus allows is reduced, not an error") {
  std::vector<std::string> lines = {"a bag", "a coat", "a bag left of a coat", "two bags"};
  std::string model = train_tokenizer_model(lines, 5000);
  Tokenizer t = Tokenizer::from_bytes(model, "tiny");
  CHECK(t.vocab_size() > kNumSpecialIds);
  CHECK(t.vocab_size() < 5000);
  CHECK(t.decode(t.encode("a bag left of a coat")) == "a bag left of a coat");
}

TEST_CASE("train: errors") {
  CHECK_THROWS_WITH_SUBSTR(train_tokenizer_model(test_corpus(), 3), "vocab_size must be in");
  CHECK_THROWS_WITH_SUBSTR(train_tokenizer_model({"", ""}, 100), "the corpus has no text");
  CHECK_THROWS_WITH_SUBSTR(train_tokenizer_model(test_corpus(), 20), "vocab_size 20");
  CHECK_THROWS_WITH_SUBSTR(train_tokenizer("/nonexistent/iris_corpus.txt", "/tmp/x", 100), "/nonexistent/iris_corpus.txt");
  TempDir dir;
  write_bytes(dir.file("empty.txt"), "");
  CHECK_THROWS_WITH_SUBSTR(train_tokenizer(dir.file("empty.txt"), dir.file("m"), 100), "is empty");
  CHECK(!path_exists(dir.file("m.model")));
}

// ---- special ids, encode, decode -------------------------------------------------------------

TEST_CASE("tokenizer: special ids and pieces") {
  const Tokenizer& t = test_tokenizer();
  CHECK(t.vocab_size() == kTestVocab);
  CHECK(t.piece(kPadId) == "<pad>");
  CHECK(t.piece(kUnknownId) == "<unk>");
  CHECK(t.piece(kStartId) == "<s>");
  CHECK(t.piece(kEndId) == "</s>");
  CHECK(t.piece(kMaskId) == "<mask>");
  CHECK(t.piece_to_id("<mask>") == kMaskId);
  CHECK(t.piece_to_id("no such piece") == kUnknownId);
  CHECK(t.piece_to_id("▁a") >= kNumSpecialIds);
  // Text never encodes to the control ids, even when it spells them.
  std::vector<int64_t> ids = t.encode("<mask> <s> </s> <pad> a bag");
  for (int64_t special : {kPadId, kStartId, kEndId, kMaskId, kUnknownId}) CHECK(!contains(ids, special));
  // ...and decode drops them.
  std::vector<int64_t> bag = t.encode("a bag");
  std::vector<int64_t> wrapped = {kStartId, kMaskId};
  wrapped.insert(wrapped.end(), bag.begin(), bag.end());
  wrapped.insert(wrapped.end(), {kEndId, kPadId, kPadId});
  CHECK(t.decode(wrapped) == "a bag");
  CHECK(t.decode({}) == "");
}

TEST_CASE("tokenizer: round trip of every corpus line; frequent words are single pieces") {
  const Tokenizer& t = test_tokenizer();
  int64_t pieces = 0, chars = 0;
  for (const std::string& line : test_corpus()) {
    std::vector<int64_t> ids = t.encode(line);
    CAPTURE(line);
    CHECK(!contains(ids, kUnknownId));
    CHECK(t.decode(ids) == line);
    for (int64_t id : ids) CHECK((id >= kNumSpecialIds && id < t.vocab_size()));
    pieces += static_cast<int64_t>(ids.size());
    chars += static_cast<int64_t>(line.size());
  }
  CHECK(pieces * 2 < chars);  // BPE merges: over two characters per piece, even at this small vocabulary
  CHECK(t.encode_as_pieces("a photo of the bag") ==
        std::vector<std::string>{"▁a", "▁photo", "▁of", "▁the", "▁bag"});
}

TEST_CASE("tokenizer: round trip of unseen text; case folding and spaces") {
  const Tokenizer& t = test_tokenizer();
  for (const std::string& s : {std::string("a purple umbrella jumps over the striped zebra"),
                               std::string("xylophone quartz, jukebox & wizard: 42% (maybe)?"),
                               std::string("the kangaroo's backpack is left of frame 1234"),
                               std::string("café crème brûlée")}) {
    CAPTURE(s);
    std::vector<int64_t> ids = t.encode(s);
    CHECK(!contains(ids, kUnknownId));
    CHECK(t.decode(ids) == s);
  }
  CHECK(t.decode(t.encode("A Photo Of A BAG.")) == "a photo of a bag.");
  CHECK(t.encode("A Photo Of A BAG.") == t.encode("a photo of a bag."));
  CHECK(t.decode(t.encode("   a    bag\t\tleft  of a coat  ")) == "a bag left of a coat");
  CHECK(t.encode("").empty());
  CHECK(t.encode("   ").empty());
}

TEST_CASE("tokenizer: unknown characters, invalid UTF-8 and NUL bytes never throw") {
  const Tokenizer& t = test_tokenizer();
  std::vector<int64_t> ids = t.encode("a bag \xe2\x98\x83 and a \xf0\x9f\x98\x80");  // snowman, emoji
  CHECK(contains(ids, kUnknownId));
  std::string text = t.decode(ids);
  CHECK(text.find("a bag") == 0);
  CHECK(text.find("\xe2\x81\x87") != std::string::npos);  // " ⁇ " stands for an unknown piece
  for (const std::string& s : {std::string("\xff\xfe\xfd"), std::string("a\xc3"), std::string("bag\0coat", 8),
                               std::string(1, '\0'), std::string("\xed\xa0\x80")}) {
    std::vector<int64_t> got = t.encode(s);
    for (int64_t id : got) CHECK((id >= 0 && id < t.vocab_size()));
    CHECK_NOTHROW(t.decode(got));
    CHECK_NOTHROW(t.encode_with_offsets(s));
  }
  // Long input: no limit on encoding.
  std::string long_text;
  for (int i = 0; i < 2000; ++i) long_text += "a small bag left of a coat ";
  CHECK(t.encode(long_text).size() > 10000);
}

TEST_CASE("tokenizer: byte offsets map pieces back to the input (GLIP phrase spans)") {
  const Tokenizer& t = test_tokenizer();
  std::string text = "A sandal left of an Ankle Boot.";
  std::vector<TokenSpan> spans = t.encode_with_offsets(text);
  std::vector<int64_t> ids = t.encode(text);
  REQUIRE(spans.size() == ids.size());
  int64_t previous_end = 0;
  for (size_t i = 0; i < spans.size(); ++i) {
    CHECK(spans[i].id == ids[i]);
    CHECK(spans[i].begin >= previous_end);
    CHECK(spans[i].end >= spans[i].begin);
    CHECK(spans[i].end <= static_cast<int64_t>(text.size()));
    previous_end = spans[i].end;
  }
  // The pieces overlapping the phrase "Ankle Boot" decode to the phrase (case-folded).
  int64_t begin = static_cast<int64_t>(text.find("Ankle Boot")), end = begin + 10;
  std::vector<int64_t> phrase;
  for (const TokenSpan& s : spans)
    if (s.end > begin && s.begin < end) phrase.push_back(s.id);
  CHECK(t.decode(phrase) == "ankle boot");
  // Spans cover the text's words exactly: the covered bytes spell the words.
  std::string covered;
  for (const TokenSpan& s : spans) covered += text.substr(s.begin, s.end - s.begin);
  covered.erase(std::remove(covered.begin(), covered.end(), ' '), covered.end());
  std::string expected = text;
  expected.erase(std::remove(expected.begin(), expected.end(), ' '), expected.end());
  CHECK(covered == expected);
}

TEST_CASE("pieces_overlapping: phrase spans of a grounded text become its pieces") {
  const Tokenizer& t = test_tokenizer();
  // GLIP's detection prompt over all ten classes: each class name's characters map to pieces that
  // decode to exactly that name; ranges are non-empty, ordered and disjoint.
  std::vector<int> classes;
  for (int c = 0; c < synth::kNumClasses; ++c) classes.push_back(c);
  synth::GroundedText prompt = synth::detection_prompt(classes);
  std::vector<TokenSpan> spans = t.encode_with_offsets(prompt.text);
  REQUIRE(prompt.phrases.size() == classes.size());
  int64_t previous_last = 0;
  for (const synth::PhraseSpan& p : prompt.phrases) {
    CAPTURE(prompt.text.substr(p.name_char_begin, p.name_char_end - p.name_char_begin));
    PieceRange r = pieces_overlapping(spans, p.name_char_begin, p.name_char_end);
    CHECK(r.size() >= 1);
    CHECK(r.first >= previous_last);
    previous_last = r.last;
    std::vector<int64_t> ids;
    for (int64_t i = r.first; i < r.last; ++i) ids.push_back(spans[static_cast<size_t>(i)].id);
    CHECK(t.decode(ids) == synth::class_name(p.label));
    // In a batch row with the start token the same pieces sit one position later.
    TokenBatch batch = t.encode_batch({prompt.text}, 64);
    std::vector<int64_t> row = batch.ids.to_vector<int64_t>();
    for (int64_t i = r.first; i < r.last; ++i) CHECK(row[static_cast<size_t>(i + 1)] == spans[static_cast<size_t>(i)].id);
  }
  // Reference: a piece is in the range exactly when its bytes overlap the span (naive loop).
  std::string text = "a small ankle boot left of two t shirts.";
  spans = t.encode_with_offsets(text);
  for (int64_t b = 0; b <= static_cast<int64_t>(text.size()); ++b)
    for (int64_t e = b; e <= static_cast<int64_t>(text.size()); e += 3) {
      PieceRange r = pieces_overlapping(spans, b, e);
      for (int64_t i = 0; i < static_cast<int64_t>(spans.size()); ++i) {
        const TokenSpan& s = spans[static_cast<size_t>(i)];
        bool overlaps = b < e && s.begin < e && s.end > b;
        CHECK((i >= r.first && i < r.last) == overlaps);
      }
      if (b == e) CHECK(r.size() == 0);
    }
  CHECK(pieces_overlapping({}, 0, 5).size() == 0);
  CHECK_THROWS_WITH_SUBSTR(pieces_overlapping(spans, 4, 2), "is not a span");
  CHECK_THROWS_WITH_SUBSTR(pieces_overlapping(spans, -1, 2), "is not a span");
}

TEST_CASE("tokenizer: decode and piece errors") {
  const Tokenizer& t = test_tokenizer();
  CHECK_THROWS_WITH_SUBSTR(t.decode({5, -1}), "id -1 is outside the vocabulary");
  CHECK_THROWS_WITH_SUBSTR(t.decode({t.vocab_size()}), "outside the vocabulary [0, 320)");
  CHECK_THROWS_WITH_SUBSTR(t.piece(100000), "outside the vocabulary");
  CHECK_THROWS_WITH_SUBSTR(t.piece_score(-3), "outside the vocabulary");
}

TEST_CASE("tokenizer: encode from several threads at once gives the same ids") {
  const Tokenizer& t = test_tokenizer();
  const auto& lines = test_corpus();
  std::vector<std::vector<int64_t>> expected;
  for (const auto& line : lines) expected.push_back(t.encode(line));
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int k = 0; k < 4; ++k)
    threads.emplace_back([&, k] {
      Tokenizer copy = t;  // copies share the model
      for (size_t i = k; i < lines.size(); i += 2)
        if (copy.encode(lines[i]) != expected[i]) ++mismatches[k];
    });
  for (auto& th : threads) th.join();
  CHECK(mismatches == std::vector<int>(4, 0));
}

// ---- batches ----------------------------------------------------------------------------------

TEST_CASE("encode_batch: start, pieces, end, padding; end index; dtypes and shapes") {
  const Tokenizer& t = test_tokenizer();
  std::vector<std::string> texts = {"a photo of a bag.", "", "the ankle boot is left of the t-shirt"};
  const int64_t L = 12;
  TokenBatch b = t.encode_batch(texts, L);
  REQUIRE(b.ids.shape() == Shape{3, L});
  REQUIRE(b.end_index.shape() == Shape{3});
  REQUIRE(b.lengths.shape() == Shape{3});
  CHECK(b.ids.dtype() == DType::i64);
  CHECK(b.end_index.dtype() == DType::i64);
  CHECK(b.lengths.dtype() == DType::i64);
  std::vector<int64_t> ids = b.ids.to_vector<int64_t>(), ends = b.end_index.to_vector<int64_t>(),
                       lengths = b.lengths.to_vector<int64_t>();
  for (int64_t r = 0; r < 3; ++r) {
    CAPTURE(r);
    std::vector<int64_t> pieces = t.encode(texts[r]);
    REQUIRE(static_cast<int64_t>(pieces.size()) + 2 <= L);
    const int64_t* row = ids.data() + r * L;
    CHECK(row[0] == kStartId);
    for (size_t i = 0; i < pieces.size(); ++i) CHECK(row[i + 1] == pieces[i]);
    int64_t end = static_cast<int64_t>(pieces.size()) + 1;
    CHECK(row[end] == kEndId);
    CHECK(ends[r] == end);
    CHECK(lengths[r] == end + 1);
    for (int64_t i = end + 1; i < L; ++i) CHECK(row[i] == kPadId);
    // CLIP's gather at the end index finds the end token.
    CHECK(row[ends[r]] == kEndId);
  }
  CHECK(ends[1] == 1);  // the empty text: [start, end, pad...]
  CHECK(t.decode_batch(b.ids) == std::vector<std::string>{"a photo of a bag.", "", "the ankle boot is left of the t-shirt"});
}

TEST_CASE("encode_batch: truncation keeps the first pieces and puts the end token last") {
  const Tokenizer& t = test_tokenizer();
  std::string long_text = "a small red bag left of a large blue coat above a striped sandal next to a sneaker";
  std::vector<int64_t> pieces = t.encode(long_text);
  const int64_t L = 8;
  REQUIRE(static_cast<int64_t>(pieces.size()) > L);
  TokenBatch b = t.encode_batch({long_text, "a bag"}, L);
  std::vector<int64_t> row = b.ids.to_vector<int64_t>();
  CHECK(row[0] == kStartId);
  for (int64_t i = 1; i < L - 1; ++i) CHECK(row[i] == pieces[i - 1]);
  CHECK(row[L - 1] == kEndId);
  CHECK(b.end_index.to_vector<int64_t>() == std::vector<int64_t>{L - 1, static_cast<int64_t>(t.encode("a bag").size()) + 1});
  CHECK(b.lengths.to_vector<int64_t>()[0] == L);
  CHECK(t.decode_batch(b.ids)[0] == t.decode(std::vector<int64_t>(pieces.begin(), pieces.begin() + L - 2)));
  // Exactly fitting text is not truncated; one piece more is.
  int64_t fit = static_cast<int64_t>(t.encode("a bag").size()) + 2;
  CHECK_NOTHROW(t.encode_batch({"a bag"}, fit, {true, true, false}));
  REQUIRE(t.encode("a").size() == 1);
  CHECK_THROWS_WITH_SUBSTR(t.encode_batch({"a", "a bag"}, fit - 1, {true, true, false}),
                           "text 1 has 2 pieces, more than the 1 that fit");
}

TEST_CASE("encode_batch: without start/end tokens") {
  const Tokenizer& t = test_tokenizer();
  std::vector<int64_t> pieces = t.encode("a bag left of a coat");
  const int64_t L = 10;
  TokenBatch no_start = t.encode_batch({"a bag left of a coat"}, L, {false, true, true});
  std::vector<int64_t> row = no_start.ids.to_vector<int64_t>();
  CHECK(row[0] == pieces[0]);
  CHECK(row[pieces.size()] == kEndId);
  CHECK(no_start.end_index.item<int64_t>() == static_cast<int64_t>(pieces.size()));
  TokenBatch neither = t.encode_batch({"a bag left of a coat", ""}, L, {false, false, true});
  row = neither.ids.to_vector<int64_t>();
  CHECK(std::vector<int64_t>(row.begin(), row.begin() + pieces.size()) == pieces);
  CHECK(row[pieces.size()] == kPadId);
  CHECK(neither.end_index.to_vector<int64_t>() == std::vector<int64_t>{static_cast<int64_t>(pieces.size()) - 1, 0});
  CHECK(neither.lengths.to_vector<int64_t>() == std::vector<int64_t>{static_cast<int64_t>(pieces.size()), 0});
  // Truncation without an end token keeps the first L pieces.
  TokenBatch short_row = t.encode_batch({"a bag left of a coat"}, 2, {false, false, true});
  CHECK(short_row.ids.to_vector<int64_t>() == std::vector<int64_t>(pieces.begin(), pieces.begin() + 2));
}

TEST_CASE("encode_batch: empty batch, size-1 context, and errors") {
  const Tokenizer& t = test_tokenizer();
  TokenBatch empty_batch = t.encode_batch({}, 6);
  CHECK(empty_batch.ids.shape() == Shape{0, 6});
  CHECK(empty_batch.end_index.shape() == Shape{0});
  TokenBatch one = t.encode_batch({"a bag"}, 1, {false, true, true});
  CHECK(one.ids.to_vector<int64_t>() == std::vector<int64_t>{kEndId});
  CHECK_THROWS_WITH_SUBSTR(t.encode_batch({"a bag"}, 1), "context_length 1 leaves no room");
  CHECK_THROWS_WITH_SUBSTR(t.encode_batch({"a bag"}, 0, {false, false, true}), "context_length 0");
  CHECK_THROWS_WITH_SUBSTR(t.decode_batch(zeros({4}, DType::i64)), "ids must be [B, L]");
  CHECK_THROWS_WITH_SUBSTR(t.decode_batch(zeros({2, 4}, DType::f32)), "ids must be i64 or i32");
  CHECK(t.decode_batch(t.encode_batch({"a coat"}, 5).ids.to(DType::i32)) == std::vector<std::string>{"a coat"});
}

// ---- model files -------------------------------------------------------------------------------

TEST_CASE("model files: missing, empty, garbage, truncated and foreign models are errors naming the file") {
  TempDir dir;
  CHECK_THROWS_WITH_SUBSTR(Tokenizer(dir.file("missing.model")), dir.file("missing.model"));
  CHECK_THROWS_WITH_SUBSTR(Tokenizer(dir.file("missing.model")), "run `make tokenizer`");
  write_bytes(dir.file("empty.model"), "");
  CHECK_THROWS_WITH_SUBSTR(Tokenizer(dir.file("empty.model")), "empty.model is empty");
  write_bytes(dir.file("garbage.model"), std::string("\x89PNG this is not a model at all \xff\xff\xff\xff"));
  CHECK_THROWS_WITH_SUBSTR(Tokenizer(dir.file("garbage.model")), "garbage.model is not a valid sentencepiece model");
  const std::string& good = test_model_bytes();
  for (size_t keep : {good.size() / 10, good.size() / 3, good.size() / 2, good.size() - 1}) {
    CAPTURE(keep);
    CHECK_THROWS_WITH_SUBSTR(Tokenizer::from_bytes(good.substr(0, keep), "cut.model"), "cut.model");
  }
  std::string flipped = good;
  flipped[1] = static_cast<char>(0xFF);  // the first piece's length becomes absurd
  CHECK_THROWS_WITH_SUBSTR(Tokenizer::from_bytes(flipped, "flipped.model"), "flipped.model");
  CHECK_THROWS_WITH_SUBSTR(Tokenizer(dir.path), dir.path);  // a folder, not a file

  // A sentencepiece model with its own default ids (unk 0, bos 1, eos 2) is refused.
  std::string foreign;
  std::vector<std::string> lines = test_corpus();
  struct Lines : sentencepiece::SentenceIterator {
    const std::vector<std::string>& lines;
    size_t i = 0;
    explicit Lines(const std::vector<std::string>& l) : lines(l) {}
    bool done() const override { return i >= lines.size(); }
    void Next() override { ++i; }
    const std::string& value() const override { return lines[i]; }
    sentencepiece::util::Status status() const override { return {}; }
  } it(lines);
  REQUIRE(sentencepiece::SentencePieceTrainer::Train("--model_type=bpe --vocab_size=200 --minloglevel=2", &it, &foreign)
              .ok());
  CHECK_THROWS_WITH_SUBSTR(Tokenizer::from_bytes(foreign, "foreign.model"), "was not made by train_tokenizer");
}

TEST_CASE("model files: default path, IRIS_TOKENIZER and the make tokenizer hint") {
  TempDir dir;
  write_bytes(dir.file("iris.model"), test_model_bytes());
  {
    ScopedEnv env("IRIS_TOKENIZER", dir.file("iris.model"));
    CHECK(default_tokenizer_path() == dir.file("iris.model"));
    CHECK(Tokenizer::load_default().vocab_size() == kTestVocab);
  }
  {
    ScopedEnv env("IRIS_TOKENIZER", dir.file("nope.model"));
    CHECK_THROWS_WITH_SUBSTR(Tokenizer::load_default(), "run `make tokenizer`");
    CHECK_THROWS_WITH_SUBSTR(Tokenizer::load_default(), "IRIS_TOKENIZER");
  }
  {
    ScopedEnv env("IRIS_TOKENIZER", "");
    std::string path = default_tokenizer_path();
    CHECK(path.size() >= std::string("tokenizer/iris.model").size());
    CHECK(path.compare(path.size() - 20, 20, "tokenizer/iris.model") == 0);
  }
}
