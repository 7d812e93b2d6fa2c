// The Fashion-MNIST item bank (loaded once per folder and split, then shared), the category words
// and SynthRandom. Leaves out: any drawing.
#include "data/synth/items.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <mutex>
#include <numeric>
#include <utility>

#include "data/idx.h"

namespace iris::synth {

struct ItemBank::Data {
  bool train = true;
  Tensor images;                             // u8 [N, 28, 28], contiguous
  std::vector<int> labels;                   // [N]
  std::vector<std::array<int, 4>> boxes;     // [N] tight ink boxes {x0, y0, x1, y1}
  std::array<std::vector<int64_t>, kNumClasses> by_class;
};

namespace {

// Scans each row from both ends to its first ink, so most pixels of an item are never read.
std::array<int, 4> tight_box(const uint8_t* p) {
  int x0 = kItemSide, y0 = -1, x1 = 0, y1 = 0;
  for (int y = 0; y < kItemSide; ++y) {
    const uint8_t* row = p + y * kItemSide;
    int left = 0;
    while (left < kItemSide && row[left] == 0) ++left;
    if (left == kItemSide) continue;
    int right = kItemSide;
    while (row[right - 1] == 0) --right;
    if (y0 < 0) y0 = y;
    y1 = y + 1;
    x0 = std::min(x0, left);
    x1 = std::max(x1, right);
  }
  if (y0 < 0) return {0, 0, 0, 0};
  return {x0, y0, x1, y1};
}

}  // namespace

ItemBank ItemBank::load(const std::string& fmnist_dir, bool train_split) {
  // One bank per (folder, split) for the life of the process: the IDX files are decompressed once.
  static std::mutex mu;
  static std::map<std::pair<std::string, bool>, std::shared_ptr<const Data>> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto key = std::make_pair(fmnist_dir, train_split);
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, read(fmnist_dir, train_split)).first;
  return ItemBank(it->second);
}

std::shared_ptr<const ItemBank::Data> ItemBank::read(const std::string& dir, bool train) {
  data::LabelledImages raw = data::load_fashion_mnist(dir, train);
  IRIS_CHECK(raw.images.shape()[1] == kItemSide && raw.images.shape()[2] == kItemSide,
             "ItemBank::load: expected 28 x 28 Fashion-MNIST images in ", dir, ", got ",
             shape_str(raw.images.shape()));
  auto d = std::make_shared<ItemBank::Data>();
  d->train = train;
  d->images = raw.images.contiguous();
  int64_t n = d->images.shape()[0];
  std::vector<int64_t> labels = raw.labels.to_vector<int64_t>();
  d->labels.assign(labels.begin(), labels.end());
  d->boxes.resize(n);
  const uint8_t* base = d->images.data<uint8_t>();
  for (int64_t i = 0; i < n; ++i) {
    d->boxes[i] = tight_box(base + i * kItemSide * kItemSide);
    bool blank = d->boxes[i][2] <= d->boxes[i][0];
    if (!blank) d->by_class[d->labels[i]].push_back(i);
  }
  for (int c = 0; c < kNumClasses; ++c)
    IRIS_CHECK(!d->by_class[c].empty(), "ItemBank::load: ", dir, " has no item of class ", c, " (",
               class_name(c), "); the data set looks incomplete");
  return d;
}

const ItemBank::Data& ItemBank::checked(const char* op) const {
  IRIS_CHECK(data_ != nullptr, "ItemBank::", op, ": the bank is empty; make it with ItemBank::load(dir, train)");
  return *data_;
}

int64_t ItemBank::size() const { return data_ ? static_cast<int64_t>(data_->labels.size()) : 0; }

bool ItemBank::train_split() const { return checked("train_split").train; }

const uint8_t* ItemBank::pixels(int64_t i) const {
  const Data& d = checked("pixels");
  IRIS_CHECK(i >= 0 && i < size(), "ItemBank::pixels: index ", i, " is outside [0, ", size(), ")");
  return d.images.data<uint8_t>() + i * kItemSide * kItemSide;
}

int ItemBank::label(int64_t i) const {
  const Data& d = checked("label");
  IRIS_CHECK(i >= 0 && i < size(), "ItemBank::label: index ", i, " is outside [0, ", size(), ")");
  return d.labels[i];
}

std::array<int, 4> ItemBank::box(int64_t i) const {
  const Data& d = checked("box");
  IRIS_CHECK(i >= 0 && i < size(), "ItemBank::box: index ", i, " is outside [0, ", size(), ")");
  return d.boxes[i];
}

Item ItemBank::item(int64_t i) const {
  const Data& d = checked("item");
  IRIS_CHECK(i >= 0 && i < size(), "ItemBank::item: index ", i, " is outside [0, ", size(), ")");
  Item out;
  out.image = d.images.select(0, i).clone();  // u8 [28, 28]
  out.label = d.labels[i];
  out.index = i;
  out.x0 = d.boxes[i][0];
  out.y0 = d.boxes[i][1];
  out.x1 = d.boxes[i][2];
  out.y1 = d.boxes[i][3];
  return out;
}

const std::vector<int64_t>& ItemBank::indices_of_class(int c) const {
  const Data& d = checked("indices_of_class");
  IRIS_CHECK(c >= 0 && c < kNumClasses, "ItemBank::indices_of_class: class ", c, " is outside 0..9");
  return d.by_class[c];
}

std::vector<int64_t> ItemBank::identity_subset(uint64_t seed, int64_t count, int part, int parts) const {
  checked("identity_subset");
  IRIS_CHECK(parts >= 1 && parts <= size(), "ItemBank::identity_subset: parts = ", parts, " must be in [1, ",
             size(), "]");
  IRIS_CHECK(part >= 0 && part < parts, "ItemBank::identity_subset: part = ", part, " must be in [0, ", parts, ")");
  int64_t block = size() / parts;
  if (count == -1) count = block;
  IRIS_CHECK(count >= 0 && count <= block, "ItemBank::identity_subset: count = ", count,
             " must be in [0, ", block, "] (each of the ", parts, " parts holds ", block,
             " instances), or -1 for the whole part");
  std::vector<int64_t> order(size());
  std::iota(order.begin(), order.end(), int64_t(0));
  // The stream constant keeps this shuffle apart from any scene or video drawn with the same seed.
  SynthRandom rng(seed, 0x1D5EB17ULL << 32);
  rng.shuffle(order);
  return std::vector<int64_t>(order.begin() + part * block, order.begin() + part * block + count);
}

// ---- category words ---------------------------------------------------------------------------

const std::vector<std::string>& class_names() {
  static const std::vector<std::string> names = {"t shirt", "trouser", "pullover", "dress", "coat",
                                                 "sandal",  "shirt",   "sneaker",  "bag",   "ankle boot"};
  return names;
}

const std::string& class_name(int c) {
  IRIS_CHECK(c >= 0 && c < kNumClasses, "class_name: class ", c, " is outside 0..9");
  return class_names()[c];
}

const std::string& class_plural(int c) {
  static const std::vector<std::string> plurals = {"t shirts", "trousers", "pullovers", "dresses", "coats",
                                                   "sandals",  "shirts",   "sneakers",  "bags",    "ankle boots"};
  IRIS_CHECK(c >= 0 && c < kNumClasses, "class_plural: class ", c, " is outside 0..9");
  return plurals[c];
}

const std::vector<std::string>& class_synonyms(int c) {
  static const std::vector<std::vector<std::string>> synonyms = {
      {"tee", "t-shirt", "tshirt"}, {"pants"}, {"sweater", "jumper"}, {"gown"},
      {"jacket"}, {"flip flop"}, {"blouse"}, {"trainer", "running shoe"}, {"handbag", "purse"},
      {"boot", "bootie"}};
  IRIS_CHECK(c >= 0 && c < kNumClasses, "class_synonyms: class ", c, " is outside 0..9");
  return synonyms[c];
}

namespace {

std::string lower_trimmed(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  std::string out;
  bool space = false;
  for (size_t i = b; i < e; ++i) {
    unsigned char ch = static_cast<unsigned char>(s[i]);
    if (std::isspace(ch)) {
      space = true;
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += static_cast<char>(std::tolower(ch));
  }
  return out;
}

// Levenshtein distance, for "did you mean" hints.
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), size_t(0));
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

int class_from_word(const std::string& word) {
  std::string w = lower_trimmed(word);
  if (w.empty()) return -1;
  if (std::all_of(w.begin(), w.end(), [](char ch) { return std::isdigit(static_cast<unsigned char>(ch)); })) {
    if (w.size() > 2) return -1;
    int c = std::stoi(w);
    return c < kNumClasses ? c : -1;
  }
  for (int c = 0; c < kNumClasses; ++c) {
    if (w == class_names()[c] || w == class_plural(c)) return c;
    for (const std::string& s : class_synonyms(c))
      if (w == s || w == s + "s") return c;
  }
  if (w == "t-shirt/top") return 0;
  return -1;
}

std::vector<int> parse_class_list(const std::string& text) {
  std::vector<int> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string word = lower_trimmed(text.substr(start, comma - start));
    start = comma + 1;
    if (word.empty()) continue;
    int c = class_from_word(word);
    if (c < 0) {
      std::string best;
      size_t best_distance = SIZE_MAX;
      for (const std::string& cand : class_names()) {
        size_t d = edit_distance(word, cand);
        if (d < best_distance) {
          best_distance = d;
          best = cand;
        }
      }
      throw Error(cat_str("parse_class_list: \"", word, "\" is not a Fashion-MNIST class; use names (",
                          "t shirt, trouser, pullover, dress, coat, sandal, shirt, sneaker, bag, ankle boot) ",
                          "or indices 0..9 separated by commas; did you mean \"", best, "\"?"));
    }
    out.push_back(c);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

const std::vector<ClassGroup>& class_groups() {
  static const std::vector<ClassGroup> groups = {{"shoe", "shoes", {5, 7, 9}}, {"top", "tops", {0, 2, 6}}};
  return groups;
}

const char* indefinite_article(const std::string& next_word) {
  if (next_word.empty()) return "a";
  char ch = static_cast<char>(std::tolower(static_cast<unsigned char>(next_word[0])));
  return (ch == 'a' || ch == 'e' || ch == 'i' || ch == 'o' || ch == 'u') ? "an" : "a";
}

std::string number_word(int n) {
  static const char* words[] = {"zero", "one", "two", "three", "four", "five",
                                "six",  "seven", "eight", "nine", "ten"};
  if (n >= 0 && n <= 10) return words[n];
  return std::to_string(n);
}

// ---- randomness --------------------------------------------------------------------------------

uint32_t SynthRandom::next_u32() {
  if (used_ == 4) {
    block_ = philox4x32_10({static_cast<uint32_t>(counter_), static_cast<uint32_t>(counter_ >> 32),
                            static_cast<uint32_t>(stream_), static_cast<uint32_t>(stream_ >> 32)},
                           {static_cast<uint32_t>(seed_), static_cast<uint32_t>(seed_ >> 32)});
    ++counter_;
    used_ = 0;
  }
  return block_[used_++];
}

double SynthRandom::uniform() {
  uint32_t hi = next_u32(), lo = next_u32();
  return uniform_f64(hi, lo);
}

double SynthRandom::uniform(double low, double high) { return low + (high - low) * uniform(); }

int64_t SynthRandom::below(int64_t n) {
  IRIS_CHECK(n >= 1, "SynthRandom::below: n = ", n, " must be >= 1");
  if (n == 1) return 0;
  // Rejection sampling on 64 random bits keeps every value equally likely.
  uint64_t un = static_cast<uint64_t>(n);
  uint64_t limit = UINT64_MAX - UINT64_MAX % un;
  for (;;) {
    uint64_t x = (static_cast<uint64_t>(next_u32()) << 32) | next_u32();
    if (x < limit) return static_cast<int64_t>(x % un);
  }
}

int64_t SynthRandom::range(int64_t low, int64_t high) {
  IRIS_CHECK(low <= high, "SynthRandom::range: low ", low, " > high ", high);
  return low + below(high - low + 1);
}

bool SynthRandom::bernoulli(double p) { return uniform() < p; }

double SynthRandom::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_normal_;
  }
  // Box-Muller: two uniforms give two independent normals.
  double u1 = 1.0 - uniform();  // (0, 1]
  double u2 = uniform();
  double r = std::sqrt(-2.0 * std::log(u1));
  double angle = 6.283185307179586 * u2;
  spare_normal_ = r * std::sin(angle);
  has_spare_ = true;
  return r * std::cos(angle);
}

}  // namespace iris::synth
