// Tokenizer: text <-> token ids through a sentencepiece BPE model trained on iris's caption corpus
// (data/text/corpus.h), with the special tokens every iris model has at fixed ids (pad 0, unknown 1,
// start 2, end 3, mask 4), batch encoding to i64 [B, L] with padding/truncation to a context length and
// the end token's position per row (for CLIP-style end-of-text pooling), and byte offsets of each piece
// (for GLIP's phrase-to-token maps). Text is case-folded (NFKC + lowercase), extra spaces are dropped.
// Leaves out: subword sampling/dropout, byte fallback (characters the corpus never saw become the unknown
// id, so decode shows " ⁇ " for them), and sentencepiece models not made by train_tokenizer.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace iris::text {

// The special ids, reserved in this order by train_tokenizer. Start, end, pad and mask are control
// symbols: text never encodes to them (typing "<mask>" gives ordinary pieces); they are placed by id.
constexpr int64_t kPadId = 0;      // "<pad>": fills rows after the end token
constexpr int64_t kUnknownId = 1;  // "<unk>": characters the model has no piece for
constexpr int64_t kStartId = 2;    // "<s>"
constexpr int64_t kEndId = 3;      // "</s>"
constexpr int64_t kMaskId = 4;     // "<mask>": for masked-token objectives
constexpr int64_t kNumSpecialIds = 5;

// The vocabulary size `make tokenizer` trains: about 700 corpus words plus their sub-word pieces fit,
// so the common caption words are one piece each while the embedding table stays small (1024 x width).
constexpr int64_t kDefaultVocabSize = 1024;

// One piece of an encoded text and the bytes [begin, end) of the *input* text it covers.
struct TokenSpan {
  int64_t id = 0;
  int64_t begin = 0, end = 0;
};

struct EncodeOptions {
  bool add_start = true;  // kStartId first
  bool add_end = true;    // kEndId right after the text
  bool truncate = true;   // too long: keep the first pieces (the end token stays last); false: throw
};

struct TokenBatch {
  Tensor ids;        // i64 [B, L]: [start] pieces... [end] then kPadId up to L
  Tensor end_index;  // i64 [B]: position of the end token in each row (the last token when add_end is
                     // false; 0 for a row with no tokens at all)
  Tensor lengths;    // i64 [B]: tokens before the padding (start and end included)
};

class Tokenizer {
 public:
  // Loads a model file written by train_tokenizer. A missing, unreadable, corrupt or truncated file,
  // or a sentencepiece model without iris's special ids, throws iris::Error naming the file.
  explicit Tokenizer(const std::string& model_path);
  // The same from the file's bytes; `name` is used in error messages.
  static Tokenizer from_bytes(const std::string& model_bytes, const std::string& name);
  // The model at default_tokenizer_path(); when there is none, the error says to run `make tokenizer`.
  static Tokenizer load_default();

  int64_t vocab_size() const;          // pieces, the special ids included
  const std::string& name() const { return name_; }

  // The text's pieces, no start/end. Never throws on text content: unknown characters and invalid
  // UTF-8 become kUnknownId.
  std::vector<int64_t> encode(const std::string& text) const;
  std::vector<std::string> encode_as_pieces(const std::string& text) const;
  // Pieces with the byte range of the input they cover (a case-folded letter maps back to its
  // original bytes); ranges are increasing and lie within [0, text.size()].
  std::vector<TokenSpan> encode_with_offsets(const std::string& text) const;

  // Ids to text; the control ids (pad, start, end, mask) are dropped, kUnknownId shows as " ⁇ ".
  // Ids outside [0, vocab_size) throw.
  std::string decode(const std::vector<int64_t>& ids) const;
  // Rows of an integer tensor [B, L] to texts, each row read up to its first end token.
  std::vector<std::string> decode_batch(const Tensor& ids) const;

  std::string piece(int64_t id) const;                  // throws outside [0, vocab_size)
  double piece_score(int64_t id) const;                 // the BPE merge score (higher merges first)
  int64_t piece_to_id(const std::string& piece) const;  // kUnknownId when the piece is not in the model

  // Encodes each text into one row of length context_length (see TokenBatch). context_length must
  // leave room for the start/end tokens asked for.
  TokenBatch encode_batch(const std::vector<std::string>& texts, int64_t context_length,
                          const EncodeOptions& options = {}) const;

 private:
  Tokenizer(std::shared_ptr<const sentencepiece::SentencePieceProcessor> processor, std::string name);
  void check_id(int64_t id, const char* op) const;

  std::shared_ptr<const sentencepiece::SentencePieceProcessor> processor_;  // immutable; shared by copies
  std::string name_;
};

// The pieces of `spans` (encode_with_offsets of some text) that overlap the bytes [begin, end) of that
// text, as piece indices [first, last): how a caption's phrase span (e.g. synth::PhraseSpan's name
// characters) becomes GLIP's positive tokens. In an encode_batch row with add_start the pieces sit one
// position later (first + 1). No piece overlaps an empty span: then first == last (where it would go).
// Throws when begin > end or either is negative.
struct PieceRange {
  int64_t first = 0, last = 0;
  int64_t size() const { return last - first; }
};
PieceRange pieces_overlapping(const std::vector<TokenSpan>& spans, int64_t begin, int64_t end);

// Where apps look for the model: $IRIS_TOKENIZER when set, else build/tokenizer/iris.model under the
// current folder, else ../tokenizer/iris.model next to the running binary (build/bin/<app>).
std::string default_tokenizer_path();

// Trains a BPE model on the lines of `corpus_file` and writes <model_prefix>.model and
// <model_prefix>.vocab (one "piece<TAB>score" line per id) atomically. Deterministic: the same corpus
// and vocab_size give the same bytes (one training thread, every line used, no paths stored in the
// model). hard_vocab_limit is off, so a corpus too small for vocab_size gives a smaller vocabulary
// instead of failing. Returns the vocabulary size reached.
int64_t train_tokenizer(const std::string& corpus_file, const std::string& model_prefix,
                        int64_t vocab_size = kDefaultVocabSize);
// The same from lines in memory, returning the model file's bytes (no files written).
std::string train_tokenizer_model(const std::vector<std::string>& lines, int64_t vocab_size = kDefaultVocabSize);

}  // namespace iris::text
