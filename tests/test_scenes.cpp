// The synthetic scenes world and the Fashion-MNIST item bank: determinism (same bytes, any thread
// count), boxes inside the canvas and equal to the drawn pixels, the overlap bound, caption spans on
// the right words, answers recomputed from the objects, seen/novel classes, disjoint splits, the
// shifted domain, JSON export and config errors. Throughput is measured by datagen, not here.
// Everything but the word helpers needs Fashion-MNIST; those cases skip with a message without it.
#include <cmath>
#include <map>
#include <set>

#include "data/idx.h"
#include "data/synth/scenes.h"
#include "tests/helpers.h"

using namespace iris;
using namespace iris::synth;

namespace iris::testing {
extern bool g_skipped_for_missing_data;  // tests/doctest_main.cpp: the suite exits as "skipped"
}

namespace {

bool have_fashion_mnist() {
  static const bool ok = [] {
    std::string dir = data::fashion_mnist_dir();
    FILE* f = std::fopen((dir + "/t10k-images-idx3-ubyte.gz").c_str(), "rb");
    if (f) std::fclose(f);
    return f != nullptr;
  }();
  return ok;
}

#define SKIP_WITHOUT_FASHION_MNIST()                                                                      \
  if (!have_fashion_mnist()) {                                                                            \
    MESSAGE("Fashion-MNIST not installed at " << data::fashion_mnist_dir() << "; skipping this test case"); \
    ::iris::testing::g_skipped_for_missing_data = true;                                                   \
    return;                                                                                               \
  }

// Most cases use the test split: its file is small, so the suite stays fast under sanitizers.
SceneConfig test_config() {
  SceneConfig c;
  c.split = SceneSplit::test;
  c.seed = 7;
  return c;
}

Box box_of(const SceneObject& o) { return o.box(); }

// The largest channel value of pixel (y, x).
int ink_at(const Image& im, int y, int x) {
  int v = 0;
  for (int c = 0; c < im.channels(); ++c) v = std::max<int>(v, im.at(y, x, c));
  return v;
}

double iou(const Box& a, const Box& b, double* cover) {
  *cover = area(intersect(a, b)) / std::min(area(a), area(b));
  return iris::iou(a, b);
}

bool loosely(const std::string& r, const SceneObject& a, const SceneObject& b) {
  int ax = a.x0 + a.x1, bx = b.x0 + b.x1, ay = a.y0 + a.y1, by = b.y0 + b.y1;
  if (r == "left of") return ax < bx;
  if (r == "right of") return ax > bx;
  if (r == "above") return ay < by;
  REQUIRE(r == "below");
  return ay > by;
}

// The classes a word of a question names: a class (name or plural) or a group.
std::vector<int> classes_of_word(const std::string& word) {
  for (const ClassGroup& g : class_groups())
    if (word == g.name || word == g.plural) return g.classes;
  int c = class_from_word(word);
  REQUIRE_MESSAGE(c >= 0, "no class for \"" << word << "\"");
  return {c};
}

int count_classes(const Scene& s, const std::vector<int>& classes) {
  int n = 0;
  for (const SceneObject& o : s.objects)
    if (std::find(classes.begin(), classes.end(), o.label) != classes.end()) ++n;
  return n;
}

const std::vector<std::string> kDirections = {"left of", "right of", "above", "below"};

// "there is a bag left of a coat." -> {"bag", "left of", "coat"}.
std::array<std::string, 3> parse_statement(const std::string& s) {
  REQUIRE(s.rfind("there is ", 0) == 0);
  std::string body = s.substr(9, s.size() - 10);  // without "there is " and "."
  for (const std::string& r : kDirections) {
    size_t at = body.find(" " + r + " ");
    if (at == std::string::npos) continue;
    std::string a = body.substr(0, at), b = body.substr(at + r.size() + 2);
    a = a.substr(a.find(' ') + 1);  // drop the article
    b = b.substr(b.find(' ') + 1);
    return {a, r, b};
  }
  FAIL("no relation in \"" << s << "\"");
  return {};
}

}  // namespace

// ---- words, no data needed ------------------------------------------------------------------------

TEST_CASE("class words: names, plurals, synonyms, lists and articles") {
  CHECK(class_names().size() == 10);
  CHECK(class_name(9) == "ankle boot");  // multi-word names stay multi-word
  CHECK(class_name(0) == "t shirt");
  CHECK(class_from_word("Ankle  Boots") == 9);
  CHECK(class_from_word("bags") == 8);
  CHECK(class_from_word("sweater") == 2);
  CHECK(class_from_word("7") == 7);
  CHECK(class_from_word("12") == -1);
  CHECK(class_from_word("hat") == -1);
  CHECK(parse_class_list("sandal, bag,ankle boot") == std::vector<int>{5, 8, 9});
  CHECK(parse_class_list("9,5,5") == std::vector<int>{5, 9});
  CHECK_THROWS_WITH_SUBSTR(parse_class_list("sandal,bgg"), "did you mean \"bag\"");
  CHECK(std::string(indefinite_article("ankle boot")) == "an");
  CHECK(std::string(indefinite_article("orange bag")) == "an");
  CHECK(std::string(indefinite_article("small bag")) == "a");
  CHECK(number_word(3) == "three");
  CHECK_THROWS_WITH_SUBSTR(class_name(10), "outside 0..9");
}

TEST_CASE("word tokens split words and punctuation with exact character spans") {
  std::string text = "a t shirt, two ankle boots left of the bag.";
  std::vector<WordToken> t = word_tokens(text);
  std::vector<std::string> words;
  for (const WordToken& w : t) words.push_back(text.substr(w.begin, w.end - w.begin));
  CHECK(words == std::vector<std::string>{"a", "t", "shirt", ",", "two", "ankle", "boots", "left", "of", "the", "bag",
                                          "."});
  CHECK(word_tokens("").empty());
  CHECK(word_tokens("  don't-stop?").size() == 2);
}

TEST_CASE("detection prompt: names joined by '. ' with spans on each name") {
  GroundedText p = detection_prompt({5, 8, 9});
  CHECK(p.text == "sandal. bag. ankle boot.");
  REQUIRE(p.phrases.size() == 3);
  CHECK(p.text.substr(p.phrases[2].char_begin, p.phrases[2].char_end - p.phrases[2].char_begin) == "ankle boot");
  CHECK(p.phrases[2].token_begin == 4);  // sandal . bag . [ankle boot] .
  CHECK(p.phrases[2].token_end == 6);
  CHECK_THROWS_WITH_SUBSTR(detection_prompt({11}), "outside 0..9");
}

TEST_CASE("SynthRandom: same (seed, stream) same numbers, other streams differ, ranges hold") {
  SynthRandom a(5, 9), b(5, 9), c(5, 10);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    uint32_t x = a.next_u32();
    CHECK(x == b.next_u32());
    differs = differs || x != c.next_u32();
  }
  CHECK(differs);
  std::vector<int> counts(5, 0);
  for (int i = 0; i < 5000; ++i) {
    int64_t v = a.range(2, 6);
    REQUIRE(v >= 2);
    REQUIRE(v <= 6);
    ++counts[v - 2];
  }
  for (int n : counts) CHECK(n > 850);  // 1000 expected each
  CHECK_THROWS_WITH_SUBSTR(a.below(0), "must be >= 1");
}

TEST_CASE("spatial relations compare centres along the dominant axis") {
  bool clear = false;
  CHECK(spatial_relation({0, 0, 10, 10}, {20, 2, 30, 12}, &clear) == "left of");
  CHECK(clear);
  CHECK(spatial_relation({20, 2, 30, 12}, {0, 0, 10, 10}) == "right of");
  CHECK(spatial_relation({0, 0, 10, 10}, {6, 20, 16, 30}, &clear) == "above");
  CHECK(clear);
  CHECK(spatial_relation({0, 20, 10, 30}, {0, 0, 10, 10}) == "below");
  CHECK(spatial_relation({0, 0, 10, 10}, {10, 9, 20, 19}, &clear) == "left of");  // dx 10 > dy 9: not clear
  CHECK_FALSE(clear);
  CHECK(spatial_relation({0, 0, 10, 10}, {0, 0, 10, 10}).empty());
  CHECK(wrap_text("a bag left of a small sneaker", 12) == "a bag left\nof a small\nsneaker");
}

// ---- the item bank ----------------------------------------------------------------------------------

TEST_CASE("item bank: boxes are the tight boxes of the nonzero pixels; class lists; cached loads") {
  SKIP_WITHOUT_FASHION_MNIST();
  ItemBank bank = ItemBank::load(data::fashion_mnist_dir(), false);
  CHECK(bank.size() == 10000);
  CHECK_FALSE(bank.train_split());
  ItemBank again = ItemBank::load(data::fashion_mnist_dir(), false);
  CHECK(again.pixels(0) == bank.pixels(0));  // the same data, not a second copy
  for (int64_t i : {int64_t(0), int64_t(1), int64_t(4321), int64_t(9999)}) {
    Item item = bank.item(i);
    CHECK(item.image.shape() == Shape{28, 28});
    CHECK(item.image.dtype() == DType::u8);
    CHECK(item.index == i);
    std::vector<uint8_t> px = item.image.to_vector<uint8_t>();
    int x0 = 28, y0 = 28, x1 = 0, y1 = 0;
    for (int y = 0; y < 28; ++y)
      for (int x = 0; x < 28; ++x)
        if (px[y * 28 + x]) x0 = std::min(x0, x), y0 = std::min(y0, y), x1 = std::max(x1, x + 1), y1 = std::max(y1, y + 1);
    CHECK(std::array<int, 4>{item.x0, item.y0, item.x1, item.y1} == std::array<int, 4>{x0, y0, x1, y1});
    CHECK_FALSE(item.blank());
  }
  int64_t total = 0;
  for (int c = 0; c < kNumClasses; ++c) {
    const std::vector<int64_t>& idx = bank.indices_of_class(c);
    total += static_cast<int64_t>(idx.size());
    CHECK(std::is_sorted(idx.begin(), idx.end()));
    for (size_t k = 0; k < idx.size(); k += 97) CHECK(bank.label(idx[k]) == c);
  }
  CHECK(total == 10000);
  CHECK_THROWS_WITH_SUBSTR(bank.item(10000), "outside [0, 10000)");
  CHECK_THROWS_WITH_SUBSTR(bank.indices_of_class(10), "outside 0..9");
  CHECK_THROWS_WITH_SUBSTR(ItemBank().item(0), "the bank is empty");
  CHECK_THROWS_WITH_SUBSTR(ItemBank::load("/nonexistent/fmnist", false), "dataset-fashion-mnist");
}

TEST_CASE("item bank: identity subsets are deterministic and disjoint across parts") {
  SKIP_WITHOUT_FASHION_MNIST();
  ItemBank bank = ItemBank::load(data::fashion_mnist_dir(), false);
  std::vector<int64_t> a = bank.identity_subset(3, -1, 0, 3), b = bank.identity_subset(3, -1, 1, 3),
                       c = bank.identity_subset(3, 500, 2, 3);
  CHECK(a.size() == 3333);
  CHECK(c.size() == 500);
  CHECK(bank.identity_subset(3, 500, 2, 3) == c);
  CHECK(bank.identity_subset(4, 500, 2, 3) != c);
  std::set<int64_t> seen(a.begin(), a.end());
  CHECK(seen.size() == a.size());
  for (int64_t i : b) CHECK(seen.insert(i).second);
  for (int64_t i : c) CHECK(seen.insert(i).second);
  CHECK(*std::max_element(seen.begin(), seen.end()) < 10000);
  CHECK_THROWS_WITH_SUBSTR(bank.identity_subset(3, 4000, 0, 3), "count = 4000");
  CHECK_THROWS_WITH_SUBSTR(bank.identity_subset(3, 10, 3, 3), "part = 3");
  CHECK_THROWS_WITH_SUBSTR(bank.identity_subset(3, 10, 0, 0), "parts = 0");
}

// ---- scenes -------------------------------------------------------------------------------------

TEST_CASE("scenes are deterministic: same bytes and JSON, in parallel as one by one") {
  SKIP_WITHOUT_FASHION_MNIST();
  for (bool colour : {false, true}) {
    SceneConfig c = test_config();
    c.colour = colour;
    c.size = colour ? 96 : 64;
    Scene a = generate_scene(c, 11), b = generate_scene(c, 11), other = generate_scene(c, 12);
    REQUIRE(a.image.size_bytes() == size_t(c.size) * c.size * (colour ? 3 : 1));
    CHECK(std::equal(a.image.data(), a.image.data() + a.image.size_bytes(), b.image.data()));
    CHECK(scene_to_json(a).dump() == scene_to_json(b).dump());
    CHECK_FALSE(std::equal(a.image.data(), a.image.data() + a.image.size_bytes(), other.image.data()));
    int threads = num_threads();
    set_num_threads(1);
    std::vector<Scene> serial = generate_scenes(c, 5, 8);
    set_num_threads(2);
    std::vector<Scene> parallel = generate_scenes(c, 5, 8);
    set_num_threads(threads);
    for (int i = 0; i < 8; ++i) {
      Scene single = generate_scene(c, 5 + i);
      CHECK(serial[i].index == 5 + i);
      CHECK(std::equal(single.image.data(), single.image.data() + single.image.size_bytes(), parallel[i].image.data()));
      CHECK(scene_to_json(single).dump() == scene_to_json(parallel[i]).dump());
      CHECK(scene_to_json(serial[i]).dump() == scene_to_json(parallel[i]).dump());
    }
  }
  // A different seed gives different scenes.
  SceneConfig c = test_config();
  SceneConfig d = c;
  d.seed = 8;
  CHECK(scene_to_json(generate_scene(c, 0)).dump() != scene_to_json(generate_scene(d, 0)).dump());
}

TEST_CASE("boxes lie inside the canvas and are exactly the drawn pixels") {
  SKIP_WITHOUT_FASHION_MNIST();
  for (int size : {64, 96}) {
    for (bool colour : {false, true}) {
      for (bool shifted : {false, true}) {
        SceneConfig c = test_config();
        c.size = size;
        c.colour = colour;
        c.shifted = shifted;
        c.clean_background = true;
        SceneConfig noisy = c;
        noisy.clean_background = false;
        for (int64_t i = 0; i < 12; ++i) {
          Scene s = generate_scene(c, i);
          CHECK(s.background == "clean");
          // The same layout with or without the background.
          Scene n = generate_scene(noisy, i);
          REQUIRE(n.objects.size() == s.objects.size());
          for (size_t k = 0; k < s.objects.size(); ++k) CHECK(box_of(n.objects[k]) == box_of(s.objects[k]));
          for (const SceneObject& o : s.objects) {
            CHECK(o.x0 >= 0);
            CHECK(o.y0 >= 0);
            CHECK(o.x1 <= size);
            CHECK(o.y1 <= size);
            REQUIRE(o.x1 > o.x0);
            REQUIRE(o.y1 > o.y0);
            // Each edge of the box touches a drawn pixel.
            bool left = false, right = false, top = false, bottom = false;
            for (int y = o.y0; y < o.y1; ++y) left |= ink_at(s.image, y, o.x0) > 0, right |= ink_at(s.image, y, o.x1 - 1) > 0;
            for (int x = o.x0; x < o.x1; ++x) top |= ink_at(s.image, o.y0, x) > 0, bottom |= ink_at(s.image, o.y1 - 1, x) > 0;
            CHECK((left && right && top && bottom));
          }
          // Every drawn pixel lies in a box; with one item, the box is the tight box of the drawn pixels.
          int x0 = size, y0 = size, x1 = 0, y1 = 0;
          int stray = 0;
          for (int y = 0; y < size; ++y) {
            for (int x = 0; x < size; ++x) {
              if (ink_at(s.image, y, x) == 0) continue;
              x0 = std::min(x0, x), y0 = std::min(y0, y), x1 = std::max(x1, x + 1), y1 = std::max(y1, y + 1);
              bool inside = false;
              for (const SceneObject& o : s.objects) inside |= x >= o.x0 && x < o.x1 && y >= o.y0 && y < o.y1;
              stray += !inside;
            }
          }
          CHECK(stray == 0);
          if (s.objects.size() == 1) CHECK(box_of(s.objects[0]) == Box{1.0 * x0, 1.0 * y0, 1.0 * x1, 1.0 * y1});
        }
      }
    }
  }
}

TEST_CASE("item counts and the overlap bound hold, also at the limits of the config") {
  SKIP_WITHOUT_FASHION_MNIST();
  SceneConfig c = test_config();
  c.size = 96;
  c.min_items = 2;
  c.max_items = 5;
  c.max_iou = 0.2;
  c.max_cover = 0.4;
  std::set<size_t> counts;
  for (const Scene& s : generate_scenes(c, 0, 60)) {
    CHECK(s.objects.size() >= 2);
    CHECK(s.objects.size() <= 5);
    counts.insert(s.objects.size());
    for (size_t i = 0; i < s.objects.size(); ++i) {
      CHECK(s.objects[i].id == static_cast<int>(i));
      for (size_t j = i + 1; j < s.objects.size(); ++j) {
        double cover = 0;
        double v = iou(box_of(s.objects[i]), box_of(s.objects[j]), &cover);
        CHECK(v <= 0.2 + 1e-12);
        CHECK(cover <= 0.4 + 1e-12);
      }
    }
  }
  CHECK(counts.size() == 4);  // 2, 3, 4 and 5 items all occur
  SceneConfig single = test_config();
  single.centered_single = true;
  Scene s = generate_scene(single, 3);
  REQUIRE(s.objects.size() == 1);
  const SceneObject& o = s.objects[0];
  CHECK(std::abs((o.x0 + o.x1) - 64) <= 1);
  CHECK(std::abs((o.y0 + o.y1) - 64) <= 1);
  CHECK(o.side_px == item_px_range(single).second);
}

TEST_CASE("caption and referring spans point at the right words and boxes") {
  SKIP_WITHOUT_FASHION_MNIST();
  SceneConfig c = test_config();
  c.colour = true;
  int relational = 0, grouped = 0, relation_refs = 0;
  for (const Scene& s : generate_scenes(c, 0, 80)) {
    const std::string& text = s.caption.text;
    std::vector<WordToken> tokens = word_tokens(text);
    std::multiset<int> mentioned;
    for (const PhraseSpan& p : s.caption.phrases) {
      REQUIRE(!p.objects.empty());
      REQUIRE(p.char_begin >= 0);
      REQUIRE(p.char_end <= static_cast<int>(text.size()));
      REQUIRE(p.token_end <= static_cast<int>(tokens.size()));
      for (int id : p.objects) {
        mentioned.insert(id);
        CHECK(s.objects[id].label == p.label);
      }
      // Name characters: the class name (or its plural for "two bags"), inside the phrase, at its end.
      std::string name = text.substr(p.name_char_begin, p.name_char_end - p.name_char_begin);
      CHECK(name == (p.objects.size() == 1 ? class_name(p.label) : class_plural(p.label)));
      CHECK(p.name_char_begin >= p.char_begin);
      CHECK(p.name_char_end == p.char_end);
      // Token spans cover exactly the same characters.
      CHECK(tokens[p.token_begin].begin == p.char_begin);
      CHECK(tokens[p.token_end - 1].end == p.char_end);
      CHECK(tokens[p.name_token_begin].begin == p.name_char_begin);
      CHECK(tokens[p.name_token_end - 1].end == p.name_char_end);
      std::string joined;
      for (int t = p.name_token_begin; t < p.name_token_end; ++t)
        joined += (joined.empty() ? "" : " ") + text.substr(tokens[t].begin, tokens[t].end - tokens[t].begin);
      CHECK(joined == name);
      // Attribute words in the phrase are the object's own.
      if (p.objects.size() == 1) {
        const SceneObject& o = s.objects[p.objects[0]];
        std::string lead = text.substr(p.char_begin, p.name_char_begin - p.char_begin);
        for (const auto& t : tint_palette(false))
          if (lead.find(t.first + " ") != std::string::npos) CHECK(t.first == o.colour);
        if (lead.find("small ") != std::string::npos) CHECK(o.size == "small");
        if (lead.find("big ") != std::string::npos) CHECK(o.size == "big");
      } else {
        ++grouped;
      }
    }
    // Every object is named exactly once.
    CHECK(mentioned.size() == s.objects.size());
    for (const SceneObject& o : s.objects) CHECK(mentioned.count(o.id) == 1);
    for (const std::string& r : kDirections) relational += text.find(" " + r + " ") != std::string::npos;
    for (const ReferringExpression& r : s.referring) {
      const GroundedText& e = r.expression;
      REQUIRE(!e.phrases.empty());
      CHECK(e.phrases[0].objects == std::vector<int>{r.target});
      CHECK(e.text.substr(e.phrases[0].name_char_begin, e.phrases[0].name_char_end - e.phrases[0].name_char_begin) ==
            s.objects[r.target].name);
      if (!r.uses_relation) continue;
      ++relation_refs;
      REQUIRE(e.phrases.size() == 2);
      const SceneObject& target = s.objects[r.target];
      const SceneObject& anchor = s.objects[e.phrases[1].objects[0]];
      std::string predicate = e.text.substr(e.phrases[0].char_end + 1, e.phrases[1].char_begin - e.phrases[0].char_end - 2);
      CHECK(spatial_relation(box_of(target), box_of(anchor)) == predicate);
      // No other object of the target's class is on that side of the anchor, even loosely.
      for (const SceneObject& o : s.objects)
        if (o.id != target.id && o.label == target.label) CHECK_FALSE(loosely(predicate, o, anchor));
    }
  }
  CHECK(relational > 10);
  CHECK(grouped > 0);
  CHECK(relation_refs > 0);
}

TEST_CASE("answers agree with the objects: counts, existence, relations, colours, sizes, entailment") {
  SKIP_WITHOUT_FASHION_MNIST();
  SceneConfig c = test_config();
  c.colour = true;
  c.size = 96;
  std::map<std::string, int> by_type;
  for (const Scene& s : generate_scenes(c, 0, 120)) {
    for (const QAPair& q : s.qa) {
      ++by_type[q.type];
      REQUIRE(q.answer_index >= 0);
      REQUIRE(q.answer_index < static_cast<int>(q.options.size()));
      CHECK(q.options[q.answer_index] == q.answer);
      CHECK(std::set<std::string>(q.options.begin(), q.options.end()).size() == q.options.size());
      const std::string& t = q.question;
      if (q.type == "count") {
        REQUIRE(q.options.size() == 4);
        std::string word = t.substr(9, t.size() - 10);  // "how many " ... "?"
        CHECK(q.answer == number_word(count_classes(s, classes_of_word(word))));
      } else if (q.type == "exist") {
        std::string word = t.substr(t.find(' ', 9) + 1);  // after "is there a(n) "
        word.pop_back();
        CHECK(q.answer == (count_classes(s, classes_of_word(word)) > 0 ? "yes" : "no"));
      } else if (q.type == "relation") {
        REQUIRE(q.options.size() == 4);
        std::string rel, anchor_name;
        for (const std::string& r : kDirections)
          if (t.rfind("what is " + r + " the ", 0) == 0) rel = r, anchor_name = t.substr(13 + r.size(), t.size() - 14 - r.size());
        REQUIRE(!rel.empty());
        int anchor_class = class_from_word(anchor_name);
        REQUIRE(count_classes(s, {anchor_class}) == 1);
        const SceneObject* anchor = nullptr;
        for (const SceneObject& o : s.objects)
          if (o.label == anchor_class) anchor = &o;
        std::vector<const SceneObject*> holders;
        for (const SceneObject& o : s.objects)
          if (o.id != anchor->id && loosely(rel, o, *anchor)) holders.push_back(&o);
        REQUIRE(holders.size() == 1);
        CHECK(holders[0]->name == q.answer);
        bool clear = false;
        CHECK(spatial_relation(box_of(*holders[0]), box_of(*anchor), &clear) == rel);
        CHECK(clear);
      } else if (q.type == "color" || q.type == "size") {
        size_t at = t.find(" the ") + 5;
        std::string name = q.type == "color" ? t.substr(at, t.size() - at - 1) : t.substr(at, t.find(" big or") - at);
        int label = class_from_word(name);
        REQUIRE(count_classes(s, {label}) == 1);
        for (const SceneObject& o : s.objects)
          if (o.label == label) CHECK(q.answer == (q.type == "color" ? o.colour : o.size));
      } else if (q.type == "verify") {
        auto [a, rel, b] = parse_statement(t);
        bool strict = false, loose = false;
        for (const SceneObject& x : s.objects)
          for (const SceneObject& y : s.objects) {
            if (x.id == y.id || x.name != a || y.name != b) continue;
            strict |= spatial_relation(box_of(x), box_of(y)) == rel;
            loose |= loosely(rel, x, y);
          }
        if (q.answer == "entail") CHECK(strict);
        else CHECK_FALSE(loose);
      } else {
        FAIL("unknown question type " << q.type);
      }
    }
  }
  for (const char* type : {"count", "exist", "relation", "color", "size", "verify"}) CHECK(by_type[type] > 10);
}

TEST_CASE("novel classes: absent from the seen split (pixels and words), present in the novel split") {
  SKIP_WITHOUT_FASHION_MNIST();
  SceneConfig seen = test_config();
  seen.classes = SceneClasses::seen;
  seen.held_out = parse_class_list("sandal,bag,ankle boot");
  auto mentions_novel = [](const std::string& text) {
    std::vector<WordToken> tokens = word_tokens(text);
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string w = text.substr(tokens[i].begin, tokens[i].end - tokens[i].begin);
      if (w == "sandal" || w == "sandals" || w == "bag" || w == "bags" || w == "boot" || w == "boots" || w == "shoe" ||
          w == "shoes")
        return true;
    }
    return false;
  };
  for (const Scene& s : generate_scenes(seen, 0, 100)) {
    for (const SceneObject& o : s.objects) {
      CHECK_FALSE(o.novel);
      CHECK(o.label != 5);
      CHECK(o.label != 8);
      CHECK(o.label != 9);
    }
    CHECK_FALSE(mentions_novel(s.caption.text));
    for (const QAPair& q : s.qa) {
      CHECK_FALSE(mentions_novel(q.question));
      for (const std::string& option : q.options) CHECK_FALSE(mentions_novel(option));
    }
  }
  SceneConfig novel = seen;
  novel.classes = SceneClasses::novel;
  int novel_objects = 0, total = 0;
  for (const Scene& s : generate_scenes(novel, 0, 50)) {
    int here = 0;
    for (const SceneObject& o : s.objects) {
      here += o.novel;
      CHECK(o.novel == (o.label == 5 || o.label == 8 || o.label == 9));
    }
    CHECK(here >= 1);
    novel_objects += here;
    total += static_cast<int>(s.objects.size());
    json::Value base_only = detection_record(s, false);
    CHECK(static_cast<int>(base_only["annotations"].size()) == static_cast<int>(s.objects.size()) - here);
    for (const json::Value& a : base_only["annotations"].elements()) CHECK_FALSE(a["novel"].as_bool());
  }
  CHECK(novel_objects < total);  // seen classes appear beside them
  // A different held-out list.
  SceneConfig other = seen;
  other.held_out = {0, 1};
  for (const Scene& s : generate_scenes(other, 0, 30))
    for (const SceneObject& o : s.objects) CHECK(o.label >= 2);
}

TEST_CASE("splits use disjoint random streams and disjoint item instances") {
  SKIP_WITHOUT_FASHION_MNIST();
  std::map<SceneSplit, std::set<int64_t>> items;
  std::map<SceneSplit, std::string> first;
  for (SceneSplit split : {SceneSplit::train, SceneSplit::val, SceneSplit::test}) {
    SceneConfig c = test_config();
    c.split = split;
    for (const Scene& s : generate_scenes(c, 0, 40)) {
      CHECK(s.split == split);
      for (const SceneObject& o : s.objects) items[split].insert(o.item_index);
    }
    first[split] = scene_to_json(generate_scene(c, 0)).dump();
  }
  for (int64_t i : items[SceneSplit::train]) CHECK(i < 50000);
  for (int64_t i : items[SceneSplit::val]) CHECK(i >= 50000);
  for (int64_t i : items[SceneSplit::test]) CHECK(i < 10000);  // from the t10k file
  CHECK(first[SceneSplit::train] != first[SceneSplit::val]);
  CHECK(first[SceneSplit::val] != first[SceneSplit::test]);
  CHECK(parse_scene_split("val") == SceneSplit::val);
  CHECK_THROWS_WITH_SUBSTR(parse_scene_split("dev"), "use train, val or test");
}

TEST_CASE("the shifted domain changes scales, backgrounds and tints") {
  SKIP_WITHOUT_FASHION_MNIST();
  SceneConfig normal = test_config();
  normal.colour = true;
  SceneConfig shifted = normal;
  shifted.shifted = true;
  CHECK(item_px_range(normal) == std::pair<int, int>{16, 28});
  CHECK(item_px_range(shifted) == std::pair<int, int>{28, 40});
  std::set<std::string> normal_colours, shifted_colours, backgrounds;
  // Mean and spread of the background pixels (those outside every box).
  auto background_stats = [](const Scene& s, double* mean, double* spread) {
    double sum = 0, sum2 = 0;
    int n = 0;
    for (int y = 0; y < s.image.height(); ++y)
      for (int x = 0; x < s.image.width(); ++x) {
        bool inside = false;
        for (const SceneObject& o : s.objects) inside |= x >= o.x0 && x < o.x1 && y >= o.y0 && y < o.y1;
        if (inside) continue;
        double v = s.image.at(y, x, 0) / 255.0;
        sum += v, sum2 += v * v, ++n;
      }
    *mean = sum / n;
    *spread = std::sqrt(std::max(0.0, sum2 / n - *mean * *mean));
  };
  for (const Scene& s : generate_scenes(normal, 0, 40)) {
    CHECK(s.background == "dark");
    double mean, spread;
    background_stats(s, &mean, &spread);
    CHECK(mean < 0.15);
    for (const SceneObject& o : s.objects) {
      CHECK(o.side_px >= 16);
      CHECK(o.side_px <= 28);
      CHECK(std::max(o.width(), o.height()) <= 28);
      normal_colours.insert(o.colour);
    }
  }
  for (const Scene& s : generate_scenes(shifted, 0, 40)) {
    backgrounds.insert(s.background);
    double mean, spread;
    background_stats(s, &mean, &spread);
    if (s.background == "light") CHECK(mean > 0.7);
    else CHECK(s.background == "texture");
    if (s.background == "texture") CHECK(spread > 0.05);  // noise alone is 0.05
    for (const SceneObject& o : s.objects) {
      CHECK(o.side_px >= 28);
      CHECK(o.side_px <= 40);
      CHECK(std::max(o.width(), o.height()) >= 26);
      shifted_colours.insert(o.colour);
    }
  }
  CHECK(backgrounds.size() == 2);
  for (const std::string& colour : shifted_colours) CHECK(normal_colours.count(colour) == 0);
  CHECK(shifted_colours.size() == tint_palette(true).size());
  // Grey light canvases draw dark ink: the item pixels are darker than the background.
  SceneConfig grey = shifted;
  grey.colour = false;
  for (const Scene& s : generate_scenes(grey, 0, 20)) {
    if (s.background != "light") continue;
    const SceneObject& o = s.objects[0];
    int darkest = 255;
    for (int y = o.y0; y < o.y1; ++y)
      for (int x = o.x0; x < o.x1; ++x) darkest = std::min<int>(darkest, s.image.at(y, x, 0));
    CHECK(darkest < 100);
  }
}

TEST_CASE("JSON export, detection record, image batch and pictures") {
  SKIP_WITHOUT_FASHION_MNIST();
  SceneConfig c = test_config();
  c.colour = true;
  std::vector<Scene> scenes = generate_scenes(c, 0, 3);
  const Scene& s = scenes[0];
  json::Value j = scene_to_json(s);
  CHECK(json::parse(j.dump(2)) == j);
  CHECK(j["split"].as_string() == "test");
  REQUIRE(j["objects"].size() == s.objects.size());
  CHECK(j["objects"][0]["box"][2].as_int() == s.objects[0].x1);
  CHECK(j["caption"]["text"].as_string() == s.caption.text);
  const json::Value& phrase = j["caption"]["phrases"][0];
  CHECK(j["caption"]["words"][phrase["name_tokens"][0].as_int()].as_string() ==
        class_name(phrase["label"].as_int()).substr(0, class_name(phrase["label"].as_int()).find(' ')));
  json::Value det = detection_record(s);
  CHECK(det["width"].as_int() == 64);
  REQUIRE(det["annotations"].size() == s.objects.size());
  CHECK(det["annotations"][0]["category"].as_string() == s.objects[0].name);
  Tensor batch = scene_images(scenes);
  CHECK(batch.shape() == Shape{3, 3, 64, 64});
  CHECK(batch.to_vector<float>()[64 * 64 + 5 * 64 + 7] == doctest::Approx(s.image.at(5, 7, 1) / 255.0));
  Image picture = draw_scene(s, 4);
  CHECK(picture.height() == 256);
  CHECK(picture.channels() == 3);
  GridCell cell = scene_cell(s, 4, 2);
  CHECK(cell.caption.find(s.caption.text.substr(0, 10)) == 0);
  SceneConfig grey = test_config();
  CHECK_THROWS_WITH_SUBSTR(scene_images({s, generate_scene(grey, 0)}), "generate them with one config");
}

TEST_CASE("config errors name the field and the fix") {
  SceneConfig c;
  c.size = 16;
  CHECK_THROWS_WITH_SUBSTR(validate_scene_config(c), "size 16 must be in [32, 256]");
  c = SceneConfig();
  c.max_items = 6;
  CHECK_THROWS_WITH_SUBSTR(validate_scene_config(c), "max_items 6");
  c = SceneConfig();
  c.min_items = 3;
  c.max_items = 2;
  CHECK_THROWS_WITH_SUBSTR(validate_scene_config(c), "max_items 2");
  c = SceneConfig();
  c.held_out = {5, 12};
  CHECK_THROWS_WITH_SUBSTR(validate_scene_config(c), "held-out class 12");
  c.held_out = {5, 5};
  CHECK_THROWS_WITH_SUBSTR(validate_scene_config(c), "listed twice");
  c = SceneConfig();
  c.held_out = {};
  c.classes = SceneClasses::novel;
  CHECK_THROWS_WITH_SUBSTR(validate_scene_config(c), "needs at least one held-out class");
  c = SceneConfig();
  c.classes = SceneClasses::seen;
  c.held_out = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  CHECK_THROWS_WITH_SUBSTR(validate_scene_config(c), "seen split has no class");
  c = SceneConfig();
  c.min_item_px = 50;
  c.max_item_px = 40;
  CHECK_THROWS_WITH_SUBSTR(validate_scene_config(c), "4 <= min <= max <= size");
  c = SceneConfig();
  c.max_iou = 1.5;
  CHECK_THROWS_WITH_SUBSTR(validate_scene_config(c), "max_iou");
  CHECK_THROWS_WITH_SUBSTR(parse_scene_classes("base"), "use all, seen or novel");
  if (!have_fashion_mnist()) {
    ::iris::testing::g_skipped_for_missing_data = true;
    return;
  }
  CHECK_THROWS_WITH_SUBSTR(generate_scene(SceneConfig(), -1), "index -1");  // (the item bank loads first)
  // Five 60 px items cannot share a 64 px canvas without overlapping.
  c = test_config();
  c.min_items = c.max_items = 5;
  c.min_item_px = c.max_item_px = 60;
  CHECK_THROWS_WITH_SUBSTR(generate_scene(c, 0), "could not place 5 items");
}
