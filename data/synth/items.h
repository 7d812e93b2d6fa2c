// The Fashion-MNIST "item bank" the synthetic worlds (scenes, videos) paste onto their canvases: each
// 28x28 item with its label and the tight box of its ink, per-class index lists, a deterministic
// identity split for re-identification, the category words used in captions (names, plurals,
// synonyms, groups such as "shoe"), and SynthRandom, the counter-based random stream the worlds draw from.
// Leaves out: rendering (scenes.h, the video world) and any other item source than Fashion-MNIST.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tensor/random.h"
#include "tensor/tensor.h"

namespace iris::synth {

constexpr int kItemSide = 28;    // Fashion-MNIST items are 28 x 28
constexpr int kNumClasses = 10;

struct Item {
  Tensor image;         // u8 [28, 28], a copy (writing into it leaves the bank alone)
  int label = 0;        // 0..9, the index into class_names()
  int64_t index = 0;    // its index in the bank's split (train: 0..59999, test: 0..9999)
  int x0 = 0, y0 = 0;   // tight box of the nonzero pixels in the 28 x 28 image,
  int x1 = 0, y1 = 0;   // x1/y1 exclusive; all zero for an image without ink
  int width() const { return x1 - x0; }
  int height() const { return y1 - y0; }
  bool blank() const { return x1 <= x0 || y1 <= y0; }
};

// One split (train: 60000 items, test: 10000) of Fashion-MNIST held in memory. Copies are cheap
// handles to the same immutable data; load() reads the IDX files once per (folder, split) per
// process and hands out the cached bank afterwards, so calling it often is fine.
class ItemBank {
 public:
  ItemBank() = default;  // empty; size() == 0
  static ItemBank load(const std::string& fmnist_dir, bool train_split);

  int64_t size() const;
  bool train_split() const;
  bool empty() const { return size() == 0; }

  Item item(int64_t i) const;
  // The same without copies, for renderers: the 784 pixels of item i (row-major, valid as long as
  // any copy of this bank lives), its label and its tight box {x0, y0, x1, y1} (x1/y1 exclusive).
  const uint8_t* pixels(int64_t i) const;
  int label(int64_t i) const;
  std::array<int, 4> box(int64_t i) const;

  // Indices (ascending) of the items of class c that have ink; blank images are left out.
  const std::vector<int64_t>& indices_of_class(int c) const;

  // A deterministic identity split for re-identification: the instances [0, size()) are shuffled
  // by `seed` and cut into `parts` disjoint, equal blocks (the remainder is dropped); returns the
  // first `count` instances of block `part` in shuffled order (count = -1: the whole block).
  // Different parts never share an instance; the same (seed, parts) always cut the same way.
  std::vector<int64_t> identity_subset(uint64_t seed, int64_t count, int part, int parts) const;

 private:
  struct Data;
  static std::shared_ptr<const Data> read(const std::string& fmnist_dir, bool train_split);
  explicit ItemBank(std::shared_ptr<const Data> data) : data_(std::move(data)) {}
  const Data& checked(const char* op) const;
  std::shared_ptr<const Data> data_;
};

// ---- category words ---------------------------------------------------------------------------
// The names captions use, lowercase: "t shirt", "trouser", "pullover", "dress", "coat", "sandal",
// "shirt", "sneaker", "bag", "ankle boot". Multi-word names stay multi-word ("t shirt" is two words
// as in the GLIP-mini spec, so a word-level tokenizer sees a multi-token phrase); data::
// fashion_mnist_classes() keeps the data set's own spelling ("T-shirt/top").
const std::vector<std::string>& class_names();
const std::string& class_name(int c);
const std::string& class_plural(int c);                     // "t shirts", "trousers", "dresses", ...
const std::vector<std::string>& class_synonyms(int c);      // "tee", "pants", "sweater", ... (may be empty)
// Class of a name, plural or synonym ("bags", "Ankle Boot", "8"); -1 when none matches.
int class_from_word(const std::string& word);
// A comma-separated list of classes by name or index ("sandal,bag,ankle boot" or "5,8,9"), sorted,
// without repeats; an unknown word throws iris::Error suggesting the closest class name.
std::vector<int> parse_class_list(const std::string& text);

// Coarser words that cover several classes, for questions such as "how many shoes?".
struct ClassGroup {
  std::string name, plural;  // "shoe", "shoes"
  std::vector<int> classes;  // sandal, sneaker, ankle boot
};
const std::vector<ClassGroup>& class_groups();  // "shoe" {sandal, sneaker, ankle boot}, "top" {t shirt, pullover, shirt}

// "a" or "an" for the word that follows ("an ankle boot", "an orange bag", "a small bag").
const char* indefinite_article(const std::string& next_word);
// "zero", "one", ..., "ten" (larger numbers as digits).
std::string number_word(int n);

// ---- randomness --------------------------------------------------------------------------------
// A random stream for the synthetic worlds: Philox 4x32-10 keyed by `seed`, with `stream` (e.g. the
// split and the sample's index) in the upper half of the counter. Every (seed, stream) pair gives its
// own sequence, the same on every machine and thread count, so sample i is a pure function of
// (seed, stream) and can be made in any order, in parallel.
class SynthRandom {
 public:
  SynthRandom(uint64_t seed, uint64_t stream) : seed_(seed), stream_(stream) {}
  uint32_t next_u32();
  double uniform();                          // [0, 1)
  double uniform(double low, double high);   // [low, high)
  int64_t below(int64_t n);                  // uniform integer in [0, n); n >= 1
  int64_t range(int64_t low, int64_t high);  // uniform integer in [low, high], inclusive
  bool bernoulli(double p);
  double normal();                           // N(0, 1)
  template <class T>
  void shuffle(std::vector<T>& values) {
    for (int64_t i = static_cast<int64_t>(values.size()) - 1; i > 0; --i) std::swap(values[i], values[below(i + 1)]);
  }
  template <class T>
  const T& pick(const std::vector<T>& values) {
    IRIS_CHECK(!values.empty(), "SynthRandom::pick: the list is empty");
    return values[below(static_cast<int64_t>(values.size()))];
  }

 private:
  uint64_t seed_, stream_, counter_ = 0;
  std::array<uint32_t, 4> block_{};
  int used_ = 4;                // words of block_ already handed out
  double spare_normal_ = 0;
  bool has_spare_ = false;
};

}  // namespace iris::synth
