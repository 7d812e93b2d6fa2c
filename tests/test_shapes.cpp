// Tests of the SHAPES world (data/synth/shapes.h) and the prompt helpers (data/text/prompts.h):
// determinism, the held-out (colour, shape) pairs never in a training split, pixels (the object's colour
// where the mask is, the background elsewhere), captions that name every attribute, bad arguments.
// Leaves out: how the pictures look (datagen shapes writes them for a person to judge).
#include <set>

#include "data/synth/shapes.h"
#include "data/text/corpus.h"
#include "data/text/prompts.h"
#include "tests/helpers.h"

using namespace iris;
using namespace iris::synth;

namespace {
bool mentions_any(const std::string& text, const std::vector<std::string>& words) {
  for (const std::string& w : words)
    if (text.find(w) != std::string::npos) return true;
  return false;
}
}  // namespace

TEST_CASE("shapes: held-out pairs cover every shape and colour, 12 of 48") {
  const auto& held = held_out_shape_combinations();
  CHECK(held.size() == 12);
  std::set<int> shapes, colors;
  std::set<std::pair<int, int>> unique(held.begin(), held.end());
  CHECK(unique.size() == 12);
  for (const auto& [c, s] : held) colors.insert(c), shapes.insert(s);
  CHECK(shapes.size() == shape_kind::count);
  CHECK(colors.size() == shape_color::count);
  CHECK(is_held_out_shape_combination(shape_color::red, shape_kind::circle));
  CHECK_FALSE(is_held_out_shape_combination(shape_color::red, shape_kind::square));
}

TEST_CASE("shapes: deterministic from (seed, split, index), splits differ") {
  ShapeConfig c;
  c.seed = 7;
  ShapeSample a = make_shape_sample(c, 5), b = make_shape_sample(c, 5);
  CHECK(a.caption == b.caption);
  CHECK(std::equal(a.render.image.data(), a.render.image.data() + a.render.image.size_bytes(), b.render.image.data()));
  // a batch made in parallel gives the same bytes as one sample at a time
  std::vector<ShapeSample> many = make_shape_samples(c, 3, 4);
  CHECK(many[2].caption == a.caption);
  CHECK(std::equal(a.render.image.data(), a.render.image.data() + a.render.image.size_bytes(),
                   many[2].render.image.data()));
  ShapeConfig other = c;
  other.split = ShapeSplit::text_train;
  ShapeConfig seed2 = c;
  seed2.seed = 8;
  int differ_split = 0, differ_seed = 0;
  for (int i = 0; i < 8; ++i) {
    ShapeFactors f = sample_shape_factors(c, i), g = sample_shape_factors(other, i), h = sample_shape_factors(seed2, i);
    differ_split += f.center_x != g.center_x;
    differ_seed += f.center_x != h.center_x;
  }
  CHECK(differ_split >= 7);
  CHECK(differ_seed >= 7);
}

TEST_CASE("shapes: held-out pairs never in training splits, only in test-held-out") {
  std::set<std::pair<int, int>> seen_train, seen_out;
  for (ShapeSplit split : {ShapeSplit::label_train, ShapeSplit::text_train, ShapeSplit::test_held_in}) {
    ShapeConfig c;
    c.split = split;
    for (int i = 0; i < 600; ++i) {
      ShapeFactors f = sample_shape_factors(c, i);
      CHECK_FALSE(is_held_out_shape_combination(f.color, f.shape));
      seen_train.insert({f.color, f.shape});
    }
  }
  CHECK(seen_train.size() == 36);  // every held-in pair shows up
  ShapeConfig c;
  c.split = ShapeSplit::test_held_out;
  ShapeSet set = make_shape_set(c, 300);
  std::vector<int64_t> color = set.color.to_vector<int64_t>(), shape = set.shape.to_vector<int64_t>();
  for (size_t i = 0; i < color.size(); ++i) {
    CHECK(is_held_out_shape_combination(static_cast<int>(color[i]), static_cast<int>(shape[i])));
    seen_out.insert({static_cast<int>(color[i]), static_cast<int>(shape[i])});
  }
  CHECK(seen_out.size() == 12);
  CHECK(set.images.shape() == Shape{300, 3, 32, 32});
  CHECK(set.images.dtype() == DType::u8);
  CHECK(set.captions.size() == 300);
}

TEST_CASE("shapes: pixels, the object colour under the mask and the background elsewhere") {
  ShapeConfig c;
  c.noise_sigma = 0;
  for (int i = 0; i < 40; ++i) {
    ShapeSample s = make_shape_sample(c, i);
    const Color ink = shape_color_rgb(s.factors.color);
    const int bg = s.factors.background;
    int64_t masked = 0;
    for (int y = 0; y < 32; ++y)
      for (int x = 0; x < 32; ++x) {
        double d_ink = 0, d_bg = 0;
        const uint8_t want[3] = {ink.r, ink.g, ink.b};
        for (int ch = 0; ch < 3; ++ch) {
          double v = s.render.image.at(y, x, ch);
          d_ink += std::fabs(v - want[ch]);
          d_bg += std::fabs(v - bg);
        }
        if (s.render.mask.at(y, x)) {
          ++masked;
          CHECK(d_ink <= d_bg + 3);  // more than half covered: nearer the ink (up to rounding, 3 channels)
        } else {
          CHECK(d_bg <= d_ink + 3);
        }
      }
    // the object is there, its area follows its radius, and the radius the size attribute
    const double r = s.factors.radius;
    CHECK(masked > 0.3 * r * r);
    CHECK(masked < 3.3 * r * r);
    if (s.factors.size == shape_size::small) CHECK(r <= 4.5);
    else CHECK(r >= 6.0);
    // the mask's centre of mass is on the named side
    double mx = 0, my = 0;
    for (int y = 0; y < 32; ++y)
      for (int x = 0; x < 32; ++x)
        if (s.render.mask.at(y, x)) mx += x + 0.5, my += y + 0.5;
    mx /= masked, my /= masked;
    switch (s.factors.position) {
      case shape_position::left: CHECK(mx < 13); break;
      case shape_position::right: CHECK(mx > 19); break;
      case shape_position::top: CHECK(my < 13); break;
      case shape_position::bottom: CHECK(my > 19); break;
      default: CHECK(std::fabs(mx - 16) < 3.5); CHECK(std::fabs(my - 16) < 3.5);
    }
  }
  // with noise the mean over the mask stays near the ink colour
  ShapeConfig noisy;
  ShapeSample s = make_shape_sample(noisy, 3);
  double sum = 0;
  int64_t n = 0;
  for (int y = 0; y < 32; ++y)
    for (int x = 0; x < 32; ++x)
      if (s.render.mask.at(y, x)) sum += s.render.image.at(y, x, 0), ++n;
  const Color ink = shape_color_rgb(s.factors.color);
  CHECK(std::fabs(sum / n - ink.r) < 30);
}

TEST_CASE("shapes: captions name every attribute, in varied orders") {
  ShapeConfig c;
  c.split = ShapeSplit::text_train;
  std::set<std::string> first_words;
  for (int i = 0; i < 200; ++i) {
    ShapeSample s = make_shape_sample(c, i);
    const ShapeFactors& f = s.factors;
    INFO(s.caption);
    CHECK(mentions_any(s.caption, shape_caption_words("shape", f.shape)));
    CHECK(mentions_any(s.caption, shape_caption_words("color", f.color)));
    CHECK(mentions_any(s.caption, shape_caption_words("size", f.size)));
    CHECK(mentions_any(s.caption, shape_caption_words("position", f.position)));
    first_words.insert(s.caption.substr(0, s.caption.find(' ')));
  }
  CHECK(first_words.size() >= 3);  // "a", "on", "small", ...
}

TEST_CASE("shapes: bad arguments throw") {
  ShapeConfig c;
  c.size = 8;
  CHECK_THROWS_WITH_SUBSTR(make_shape_sample(c, 0), "size must be in [16, 128]");
  c.size = 32;
  c.noise_sigma = -1;
  CHECK_THROWS_WITH_SUBSTR(make_shape_set(c, 2), "noise_sigma");
  c.noise_sigma = 0.04;
  CHECK_THROWS_WITH_SUBSTR(make_shape_sample(c, -1), "index must be >= 0");
  ShapeFactors f;
  f.shape = 6;
  CHECK_THROWS_WITH_SUBSTR(render_shape(f), "shape 6");
  f.shape = 0;
  f.color = -1;
  CHECK_THROWS_WITH_SUBSTR(render_shape(f), "color -1");
  CHECK_THROWS_WITH_SUBSTR(parse_shape_split("train"), "label-train");
  CHECK(parse_shape_split("test-held-out") == ShapeSplit::test_held_out);
  CHECK_THROWS_WITH_SUBSTR(shape_caption_words("hue", 0), "unknown factor");
  CHECK_THROWS_WITH_SUBSTR(shape_color_rgb(8), "colour 8");
}

TEST_CASE("prompts: class synonyms, sampling, ensembles, class lists") {
  const auto& fm = text::fashion_mnist_class_synonyms();
  REQUIRE(fm.size() == 10);
  CHECK(fm[0] == text::ClassSynonyms{"t-shirt", "top"});
  CHECK(fm[9] == text::ClassSynonyms{"ankle boot"});
  CHECK(text::shape_class_synonyms().size() == 6);
  auto cs = text::color_shape_classes();
  REQUIRE(cs.size() == 48);
  CHECK(cs[shape_color::blue * 6 + shape_kind::star][0] == "blue star");
  CHECK(text::clean_prompt("a photo of a t-shirt+top, nice.") == "a photo of a t-shirt top nice.");
  SynthRandom rng(1, 2), rng2(1, 2);
  std::set<std::string> prompts;
  for (int i = 0; i < 50; ++i) {
    std::string p = text::sample_prompt(fm[0], rng);
    CHECK(p == text::sample_prompt(fm[0], rng2));
    CHECK((p.find("t-shirt") != std::string::npos || p.find("top") != std::string::npos));
    CHECK(p.find(',') == std::string::npos);
    prompts.insert(p);
  }
  CHECK(prompts.size() > 20);
  auto ens = text::prompt_ensemble(fm[0]);
  CHECK(ens.size() == 2 * text::prompt_templates().size());
  auto ens2 = text::prompt_ensemble({"circle"}, {"a {}.", "art of a {}."});
  CHECK(ens2 == std::vector<std::string>{"a circle.", "art of a circle."});
  auto list = text::parse_class_list(" red circle,blue star , t-shirt+top");
  REQUIRE(list.size() == 3);
  CHECK(list[0] == text::ClassSynonyms{"red circle"});
  CHECK(list[2] == text::ClassSynonyms{"t-shirt", "top"});
  CHECK_THROWS_WITH_SUBSTR(text::parse_class_list(""), "empty");
  CHECK_THROWS_WITH_SUBSTR(text::parse_class_list("red circle,,blue star"), "empty class name");
  CHECK_THROWS_WITH_SUBSTR(text::sample_prompt({}, rng), "no name");
}
