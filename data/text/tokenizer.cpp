// Tokenizer over sentencepiece: loading with checks (size cap, a walk over the model file's top-level
// protobuf fields so truncation is caught, iris's special ids), encoding with offsets, decoding, batch
// encoding, and deterministic BPE training from lines in memory.
// Leaves out: validating the inside of the normalizer blob; random corruption and truncation are caught,
// but a model file crafted to attack sentencepiece's tables is trusted as much as sentencepiece trusts it.
#include "data/text/tokenizer.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>

#include "io/file_util.h"

namespace iris::text {

namespace {

constexpr size_t kMaxModelBytes = size_t(64) << 20;  // iris's models are ~20 KB; anything huge is not one
const char* const kSpecialPieces[kNumSpecialIds] = {"<pad>", "<unk>", "<s>", "</s>", "<mask>"};

// Reads one protobuf varint at `pos`; false when it runs past the end or over 10 bytes.
bool read_varint(const std::string& bytes, size_t& pos, uint64_t& value) {
  value = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (pos >= bytes.size()) return false;
    uint8_t b = static_cast<uint8_t>(bytes[pos++]);
    value |= static_cast<uint64_t>(b & 0x7F) << shift;
    if (!(b & 0x80)) return true;
  }
  return false;
}

// Walks the top-level fields of a serialized sentencepiece ModelProto (pieces = 1, trainer_spec = 2,
// normalizer_spec = 3, ...) and checks that they tile the bytes exactly and that pieces, the trainer
// spec and the normalizer spec are all there. Protobuf writes fields in number order, so a file cut
// anywhere before its end loses field 2 or 3 or ends inside a field. Returns "" or what is wrong.
std::string check_model_layout(const std::string& bytes) {
  size_t pos = 0;
  int64_t pieces = 0;
  bool trainer_spec = false, normalizer_spec = false;
  while (pos < bytes.size()) {
    uint64_t key = 0;
    if (!read_varint(bytes, pos, key)) return cat_str("a field header at byte ", pos, " runs past the end");
    uint64_t field = key >> 3, wire = key & 7;
    if (field == 0) return cat_str("field number 0 at byte ", pos);
    uint64_t skip = 0;
    switch (wire) {
      case 0: {
        uint64_t ignored = 0;
        if (!read_varint(bytes, pos, ignored)) return cat_str("a number at byte ", pos, " runs past the end");
        break;
      }
      case 1: skip = 8; break;
      case 5: skip = 4; break;
      case 2:
        if (!read_varint(bytes, pos, skip)) return cat_str("a length at byte ", pos, " runs past the end");
        break;
      default: return cat_str("unknown wire type ", wire, " at byte ", pos);
    }
    if (skip > bytes.size() - pos) return cat_str("field ", field, " at byte ", pos, " runs past the end of the file");
    pos += static_cast<size_t>(skip);
    if (field == 1 && wire == 2) ++pieces;
    if (field == 2 && wire == 2) trainer_spec = true;
    if (field == 3 && wire == 2) normalizer_spec = true;
  }
  if (pieces == 0) return "it has no pieces";
  if (!trainer_spec || !normalizer_spec) return "the trainer or normalizer settings are missing (a truncated file?)";
  return "";
}

// Lines in memory, fed to the trainer one by one.
class LineIterator : public sentencepiece::SentenceIterator {
 public:
  explicit LineIterator(const std::vector<std::string>& lines) : lines_(lines) { skip_empty(); }
  bool done() const override { return index_ >= lines_.size(); }
  void Next() override {
    ++index_;
    skip_empty();
  }
  const std::string& value() const override { return lines_[index_]; }
  sentencepiece::util::Status status() const override { return sentencepiece::util::Status(); }

 private:
  void skip_empty() {
    while (index_ < lines_.size() && lines_[index_].empty()) ++index_;
  }
  const std::vector<std::string>& lines_;
  size_t index_ = 0;
};

std::string parent_folder(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? "" : path.substr(0, slash);
}

}  // namespace

// ---- loading --------------------------------------------------------------------------------

Tokenizer::Tokenizer(std::shared_ptr<const sentencepiece::SentencePieceProcessor> processor, std::string name)
    : processor_(std::move(processor)), name_(std::move(name)) {}

Tokenizer::Tokenizer(const std::string& model_path) {
  IRIS_CHECK(!model_path.empty(), "Tokenizer: the model path is empty; run `make tokenizer` to train ",
             default_tokenizer_path());
  IRIS_CHECK(path_exists(model_path), "Tokenizer: no tokenizer model at ", model_path,
             ": run `make tokenizer` to train one (or `datagen corpus --out DIR`, or set IRIS_TOKENIZER)");
  *this = from_bytes(read_file(model_path), model_path);
}

Tokenizer Tokenizer::from_bytes(const std::string& model_bytes, const std::string& name) {
  IRIS_CHECK(!model_bytes.empty(), "Tokenizer: the model file ", name, " is empty; retrain it with `make tokenizer`");
  IRIS_CHECK(model_bytes.size() <= kMaxModelBytes, "Tokenizer: the model file ", name, " is ", model_bytes.size(),
             " bytes, over the limit of ", kMaxModelBytes, "; it is not an iris tokenizer model");
  std::string layout_problem = check_model_layout(model_bytes);
  IRIS_CHECK(layout_problem.empty(), "Tokenizer: ", name, " is not a valid sentencepiece model (", layout_problem,
             "); retrain it with `make tokenizer`");
  auto processor = std::make_shared<sentencepiece::SentencePieceProcessor>();
  sentencepiece::util::Status status = processor->LoadFromSerializedProto(model_bytes);
  IRIS_CHECK(status.ok(), "Tokenizer: cannot load the sentencepiece model ", name, ": ", status.ToString(),
             "; retrain it with `make tokenizer`");
  int pieces = processor->GetPieceSize();
  IRIS_CHECK(pieces > kNumSpecialIds, "Tokenizer: ", name, " has only ", pieces, " pieces; not an iris tokenizer model");
  for (int id = 0; id < kNumSpecialIds; ++id) {
    bool kind_ok = id == kUnknownId ? processor->IsUnknown(id) : processor->IsControl(id);
    IRIS_CHECK(processor->IdToPiece(id) == kSpecialPieces[id] && kind_ok, "Tokenizer: ", name, " has \"",
               processor->IdToPiece(id), "\" at id ", id, " where iris models have the special piece \"",
               kSpecialPieces[id], "\"; it was not made by train_tokenizer (run `make tokenizer`)");
  }
  return Tokenizer(std::move(processor), name);
}

Tokenizer Tokenizer::load_default() {
  std::string path = default_tokenizer_path();
  const char* env = std::getenv("IRIS_TOKENIZER");
  bool from_env = env != nullptr && env[0] != '\0';
  IRIS_CHECK(path_exists(path), "Tokenizer: no tokenizer model at ", path,
             from_env ? " (from IRIS_TOKENIZER)" : "", ": run `make tokenizer` to train it",
             from_env ? ", or point IRIS_TOKENIZER at an existing model file" : " (or set IRIS_TOKENIZER)");
  return Tokenizer(path);
}

std::string default_tokenizer_path() {
  const char* env = std::getenv("IRIS_TOKENIZER");
  if (env != nullptr && env[0] != '\0') return env;
  const std::string in_build = "build/tokenizer/iris.model";
  if (path_exists(in_build)) return in_build;
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n > 0) {
    std::string bin_dir = parent_folder(std::string(exe, static_cast<size_t>(n)));
    std::string beside = bin_dir + "/../tokenizer/iris.model";
    if (!bin_dir.empty() && path_exists(beside)) return beside;
  }
  return in_build;
}

// ---- encode / decode ------------------------------------------------------------------------

int64_t Tokenizer::vocab_size() const { return processor_->GetPieceSize(); }

void Tokenizer::check_id(int64_t id, const char* op) const {
  IRIS_CHECK(id >= 0 && id < vocab_size(), "Tokenizer::", op, ": id ", id, " is outside the vocabulary [0, ",
             vocab_size(), ") of ", name_);
}

std::vector<int64_t> Tokenizer::encode(const std::string& text) const {
  std::vector<int> ids;
  sentencepiece::util::Status status = processor_->Encode(text, &ids);
  IRIS_CHECK(status.ok(), "Tokenizer::encode: ", status.ToString());
  return std::vector<int64_t>(ids.begin(), ids.end());
}

std::vector<std::string> Tokenizer::encode_as_pieces(const std::string& text) const {
  std::vector<std::string> pieces;
  sentencepiece::util::Status status = processor_->Encode(text, &pieces);
  IRIS_CHECK(status.ok(), "Tokenizer::encode_as_pieces: ", status.ToString());
  return pieces;
}

std::vector<TokenSpan> Tokenizer::encode_with_offsets(const std::string& text) const {
  sentencepiece::ImmutableSentencePieceText spt;
  sentencepiece::util::Status status = processor_->Encode(text, spt.mutable_proto());
  IRIS_CHECK(status.ok(), "Tokenizer::encode_with_offsets: ", status.ToString());
  std::vector<TokenSpan> spans;
  spans.reserve(spt.pieces_size());
  for (size_t i = 0; i < spt.pieces_size(); ++i) {
    auto piece = spt.pieces(static_cast<int>(i));
    spans.push_back({static_cast<int64_t>(piece.id()), static_cast<int64_t>(piece.begin()),
                     static_cast<int64_t>(piece.end())});
  }
  return spans;
}

PieceRange pieces_overlapping(const std::vector<TokenSpan>& spans, int64_t begin, int64_t end) {
  IRIS_CHECK(begin >= 0 && begin <= end, "pieces_overlapping: the byte span [", begin, ", ", end,
             ") is not a span; pass 0 <= begin <= end");
  PieceRange range;
  // Spans are increasing: skip those ending at or before `begin`, take those starting before `end`.
  int64_t n = static_cast<int64_t>(spans.size());
  while (range.first < n && spans[static_cast<size_t>(range.first)].end <= begin) ++range.first;
  range.last = range.first;
  if (begin == end) return range;
  while (range.last < n && spans[static_cast<size_t>(range.last)].begin < end) ++range.last;
  return range;
}

std::string Tokenizer::decode(const std::vector<int64_t>& ids) const {
  std::vector<int> kept;
  kept.reserve(ids.size());
  for (int64_t id : ids) {
    check_id(id, "decode");
    if (id == kPadId || id == kStartId || id == kEndId || id == kMaskId) continue;
    kept.push_back(static_cast<int>(id));
  }
  std::string text;
  sentencepiece::util::Status status = processor_->Decode(kept, &text);
  IRIS_CHECK(status.ok(), "Tokenizer::decode: ", status.ToString());
  return text;
}

std::vector<std::string> Tokenizer::decode_batch(const Tensor& ids) const {
  IRIS_CHECK(ids.dim() == 2, "Tokenizer::decode_batch: ids must be [B, L], got ", shape_str(ids.shape()));
  IRIS_CHECK(ids.dtype() == DType::i64 || ids.dtype() == DType::i32,
             "Tokenizer::decode_batch: ids must be i64 or i32, got ", dtype_name(ids.dtype()));
  int64_t rows = ids.shape()[0], length = ids.shape()[1];
  std::vector<int64_t> all = ids.to_vector<int64_t>();
  std::vector<std::string> texts;
  texts.reserve(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    auto begin = all.begin() + r * length, end = begin + length;
    texts.push_back(decode(std::vector<int64_t>(begin, std::find(begin, end, kEndId))));
  }
  return texts;
}

std::string Tokenizer::piece(int64_t id) const {
  check_id(id, "piece");
  return processor_->IdToPiece(static_cast<int>(id));
}

double Tokenizer::piece_score(int64_t id) const {
  check_id(id, "piece_score");
  return processor_->GetScore(static_cast<int>(id));
}

int64_t Tokenizer::piece_to_id(const std::string& piece) const { return processor_->PieceToId(piece); }

TokenBatch Tokenizer::encode_batch(const std::vector<std::string>& texts, int64_t context_length,
                                   const EncodeOptions& options) const {
  int64_t specials = (options.add_start ? 1 : 0) + (options.add_end ? 1 : 0);
  IRIS_CHECK(context_length >= 1 && context_length >= specials, "Tokenizer::encode_batch: context_length ",
             context_length, " leaves no room for the ", specials, " start/end tokens; use at least ",
             std::max<int64_t>(1, specials) + 1);
  int64_t rows = static_cast<int64_t>(texts.size()), room = context_length - specials;
  std::vector<int64_t> ids(static_cast<size_t>(rows * context_length), kPadId);
  std::vector<int64_t> end_index(static_cast<size_t>(rows)), lengths(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    std::vector<int64_t> pieces = encode(texts[r]);
    if (static_cast<int64_t>(pieces.size()) > room) {
      IRIS_CHECK(options.truncate, "Tokenizer::encode_batch: text ", r, " has ", pieces.size(),
                 " pieces, more than the ", room, " that fit in context_length ", context_length,
                 " (with start/end); shorten it, raise context_length or allow truncation");
      pieces.resize(static_cast<size_t>(room));
    }
    int64_t* row = ids.data() + r * context_length;
    int64_t n = 0;
    if (options.add_start) row[n++] = kStartId;
    for (int64_t id : pieces) row[n++] = id;
    if (options.add_end) row[n++] = kEndId;
    lengths[r] = n;
    end_index[r] = std::max<int64_t>(n - 1, 0);
  }
  TokenBatch batch;
  batch.ids = from_vector(ids, Shape{rows, context_length});
  batch.end_index = from_vector(end_index, Shape{rows});
  batch.lengths = from_vector(lengths, Shape{rows});
  return batch;
}

// ---- training -------------------------------------------------------------------------------

std::string train_tokenizer_model(const std::vector<std::string>& lines, int64_t vocab_size) {
  IRIS_CHECK(vocab_size > kNumSpecialIds && vocab_size <= (int64_t(1) << 20), "train_tokenizer: vocab_size must be in (",
             kNumSpecialIds, ", ", int64_t(1) << 20, "], got ", vocab_size);
  bool any = std::any_of(lines.begin(), lines.end(), [](const std::string& s) { return !s.empty(); });
  IRIS_CHECK(any, "train_tokenizer: the corpus has no text (", lines.size(), " empty lines)");
  // Every option that changes the result is spelled out, so a newer sentencepiece default cannot
  // silently change the model. The model stores these settings but no file names.
  std::string args = cat_str(
      "--model_type=bpe --vocab_size=", vocab_size,
      " --hard_vocab_limit=false --character_coverage=1.0 --normalization_rule_name=nmt_nfkc_cf"
      " --pad_id=0 --unk_id=1 --bos_id=2 --eos_id=3 --pad_piece=<pad> --unk_piece=<unk> --bos_piece=<s>"
      " --eos_piece=</s> --control_symbols=<mask> --byte_fallback=false --split_digits=false"
      " --num_threads=1 --input_sentence_size=0 --shuffle_input_sentence=false --max_sentence_length=4192"
      " --minloglevel=2");
  LineIterator iterator(lines);
  std::string model;
  sentencepiece::util::Status status = sentencepiece::SentencePieceTrainer::Train(args, &iterator, &model);
  IRIS_CHECK(status.ok(), "train_tokenizer: sentencepiece failed: ", status.ToString(),
             " (vocab_size ", vocab_size, "; a vocabulary must hold at least every character of the corpus)");
  return model;
}

int64_t train_tokenizer(const std::string& corpus_file, const std::string& model_prefix, int64_t vocab_size) {
  IRIS_CHECK(!model_prefix.empty(), "train_tokenizer: model_prefix is empty");
  std::string text = read_file(corpus_file);
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    size_t stop = (end > start && text[end - 1] == '\r') ? end - 1 : end;
    lines.push_back(text.substr(start, stop - start));
    start = end + 1;
  }
  IRIS_CHECK(!lines.empty(), "train_tokenizer: the corpus ", corpus_file, " is empty");
  std::string model = train_tokenizer_model(lines, vocab_size);
  Tokenizer tokenizer = Tokenizer::from_bytes(model, model_prefix + ".model");
  std::string vocab;
  for (int64_t id = 0; id < tokenizer.vocab_size(); ++id)
    vocab += cat_str(tokenizer.piece(id), '\t', tokenizer.piece_score(id), '\n');
  std::string folder = parent_folder(model_prefix);
  if (!folder.empty()) make_dirs(folder);
  write_file_atomic(model_prefix + ".model", model);
  write_file_atomic(model_prefix + ".vocab", vocab);
  return tokenizer.vocab_size();
}

}  // namespace iris::text
