// OUTrack's pieces against a port of the spec's formulas (tests/golden/outrack.safetensors and
// outrack_occlusion.json, written by make_outrack.py, f64): the cycle loss (papers/outrack.md 5.2) over a batch of
// three frame pairs, its value and the gradients of every embedding, for the default and each arm (no placeholder,
// no cycle term, median and zero placeholders), each term of one pair and its assignment matrix; the degenerate
// pairs (an empty frame, one object per frame, no object); the occlusion targets (5.3) of hand-made and random
// scenes; and the errors.
#include <doctest/doctest.h>

#include <cmath>

#include "geometry/occlusion_target.h"
#include "io/file_util.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "losses/cycle.h"
#include "tests/helpers.h"

using namespace iris;

namespace {

const char* kGolden = "tests/golden/outrack.safetensors";
const char* kOcclusion = "tests/golden/outrack_occlusion.json";
constexpr int kPairs = 3;

struct Batch {
  std::vector<Tensor> cur, pre;
};

Batch leaves(const SafetensorsFile& g) {
  Batch b;
  for (int i = 0; i < kPairs; ++i) {
    b.cur.push_back(g.get("input.cur" + std::to_string(i)).clone().requires_grad_(true));
    b.pre.push_back(g.get("input.pre" + std::to_string(i)).clone().requires_grad_(true));
  }
  return b;
}

// The batch loss and every gradient against the golden arm `name`.
// pairs_with_gradients: the first pairs whose gradients are compared (the rest only through the loss).
void check_arm(const SafetensorsFile& g, const std::string& name, const losses::CycleLossOptions& options,
               int pairs_with_gradients = kPairs) {
  CAPTURE(name);
  Batch b = leaves(g);
  Tensor loss = losses::cycle_loss(b.cur, b.pre, options);
  CHECK_CLOSE(loss, g.get(name + ".loss"), 1e-12, 1e-10);
  loss.backward();
  for (int i = 0; i < pairs_with_gradients; ++i) {
    CAPTURE(i);
    CHECK_CLOSE(b.cur[i].grad(), g.get(name + ".grad.cur" + std::to_string(i)), 1e-12, 1e-9);
    CHECK_CLOSE(b.pre[i].grad(), g.get(name + ".grad.pre" + std::to_string(i)), 1e-12, 1e-9);
  }
}

std::vector<double> numbers(const json::Value& v) {
  std::vector<double> out;
  for (const json::Value& e : v.elements()) out.push_back(e.as_number());
  return out;
}

std::vector<int64_t> integers(const json::Value& v) {
  std::vector<int64_t> out;
  for (const json::Value& e : v.elements()) out.push_back(e.as_int());
  return out;
}

void check_near(const std::vector<double>& a, const std::vector<double>& e, double tol) {
  REQUIRE(a.size() == e.size());
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(a[i] - e[i]));
  CHECK_MESSAGE(worst <= tol, "worst |a - e| = " << worst);
}

}  // namespace

TEST_CASE("outrack: the cycle loss matches the spec's formulas (value and gradients), default and every arm") {
  SafetensorsFile g = load_safetensors(kGolden);
  losses::CycleLossOptions defaults;
  CHECK(defaults.epsilon == 0.5);
  CHECK(defaults.margin == 0.5);
  CHECK(defaults.placeholder == losses::Placeholder::mean);
  check_arm(g, "default", defaults);
  losses::CycleLossOptions no_placeholder;
  no_placeholder.placeholder = losses::Placeholder::none;
  check_arm(g, "no_placeholder", no_placeholder);
  losses::CycleLossOptions no_cycle;
  no_cycle.cycle_term = false;
  check_arm(g, "no_cycle", no_cycle);
  losses::CycleLossOptions median;
  median.placeholder = losses::Placeholder::median;
  // Pairs 1 and 2 are small (T = 6 and 3): the lower median of the symmetric S is one of its similarities
  // exactly, so a row's top two tie and the margin gradient depends on which index a top-k picks.
  check_arm(g, "median", median, 1);
  losses::CycleLossOptions zero;
  zero.placeholder = losses::Placeholder::zero;
  check_arm(g, "zero", zero);
  // the arms really differ (a flag that did nothing would pass the checks above only by luck)
  CHECK(std::fabs(g.get("default.loss").item() - g.get("no_cycle.loss").item()) > 0.05);
  CHECK(std::fabs(g.get("default.loss").item() - g.get("no_placeholder.loss").item()) > 1e-3);
}

TEST_CASE("outrack: one pair's terms, its assignment and the options") {
  SafetensorsFile g = load_safetensors(kGolden);
  const Tensor &cur = g.get("input.cur0"), &pre = g.get("input.pre0");  // N = 4, M = 5
  losses::CycleLossTerms t = losses::cycle_loss_terms(cur, pre);
  CHECK_CLOSE(t.within_frame, g.get("pair0.within"), 1e-12, 1e-10);
  CHECK_CLOSE(t.cycle, g.get("pair0.cycle"), 1e-12, 1e-10);
  CHECK_CLOSE(t.margin, g.get("pair0.margin"), 1e-12, 1e-10);
  Tensor A = losses::cycle_assignment(cur, pre);
  CHECK(A.shape() == Shape({9, 10}));
  CHECK_CLOSE(A, g.get("pair0.assignment"), 1e-12, 1e-10);
  CHECK_CLOSE(sum(A, {1}), ones({9}, DType::f64), 1e-12, 0);
  losses::CycleLossOptions none;
  none.placeholder = losses::Placeholder::none;
  Tensor B = losses::cycle_assignment(cur, pre, none);
  CHECK(B.shape() == Shape({9, 9}));
  CHECK_CLOSE(B, g.get("pair0.assignment_no_placeholder"), 1e-12, 1e-10);
  CHECK(A.select(0, 2).select(0, 2).item() == 0.0);  // the -inf diagonal: no object matches itself
  losses::CycleLossOptions o;
  o.epsilon = 0.25;
  o.margin = 0.3;
  CHECK_CLOSE(losses::cycle_loss_terms(cur, pre, o).total(), g.get("pair0.eps025_m03_total"), 1e-12, 1e-10);
  // f32 embeddings give the f64 value to f32 precision
  Tensor f32 = losses::cycle_loss({cur.to(DType::f32)}, {pre.to(DType::f32)});
  CHECK(f32.dtype() == DType::f32);
  CHECK(f32.item() == doctest::Approx(losses::cycle_loss({cur}, {pre}).item()).epsilon(1e-5));
}

TEST_CASE("outrack: degenerate pairs: an empty frame, one object per frame, no object") {
  SafetensorsFile g = load_safetensors(kGolden);
  {  // M = 0: no cycle term, value and gradient as the port's
    Tensor c = g.get("empty_prev.cur").clone().requires_grad_(true);
    Tensor p = g.get("empty_prev.pre");
    REQUIRE(p.shape() == Shape({0, 6}));
    Tensor loss = losses::cycle_loss({c}, {p});
    CHECK_CLOSE(loss, g.get("empty_prev.loss"), 1e-12, 1e-10);
    loss.backward();
    CHECK_CLOSE(c.grad(), g.get("empty_prev.grad.cur"), 1e-12, 1e-9);
    CHECK(losses::cycle_loss_terms(c, p).cycle.item() == 0.0);
  }
  {  // N = M = 1: A rows are [0, 1/2, 1/2] (the placeholder equals the one similarity): loss 2 x 0.5 / 2.
    // The gradient is not compared: top-2 is an exact tie there, so it depends on which index a top-k picks.
    Tensor c = g.get("one_each.cur").clone().requires_grad_(true), p = g.get("one_each.pre");
    Tensor loss = losses::cycle_loss({c}, {p});
    CHECK_CLOSE(loss, g.get("one_each.loss"), 1e-12, 1e-10);
    CHECK(loss.item() == doctest::Approx(0.5).epsilon(1e-12));
    loss.backward();
    for (double v : c.grad().to_vector<double>()) CHECK(std::isfinite(v));
    // without the placeholder each object must match the other: A = [[0, 1], [1, 0]], every term 0
    losses::CycleLossOptions none;
    none.placeholder = losses::Placeholder::none;
    CHECK(losses::cycle_loss({c}, {p}, none).item() == doctest::Approx(0.0).scale(1e-12));
  }
  Tensor none0 = zeros({0, 6}, DType::f64), one = g.get("one_each.cur");
  CHECK(losses::cycle_loss({none0}, {none0}).item() == 0.0);  // no object at all
  CHECK(losses::cycle_loss({one}, {none0}).item() == doctest::Approx(0.0).scale(1e-12));  // A = [0, 1]
  losses::CycleLossOptions none;
  none.placeholder = losses::Placeholder::none;
  CHECK(losses::cycle_loss({one}, {none0}, none).item() == 0.0);  // nothing to assign
}

TEST_CASE("outrack: cycle loss errors name the problem") {
  Tensor a = randn({3, 4}, DType::f64), b = randn({2, 5}, DType::f64);
  CHECK_THROWS_WITH_AS(losses::cycle_loss({a}, {b}), doctest::Contains("[N, D] and [M, D] with one D"), Error);
  CHECK_THROWS_WITH_AS(losses::cycle_loss({a, a}, {a}), doctest::Contains("one pair per sample"), Error);
  CHECK_THROWS_WITH_AS(losses::cycle_loss({}, {}), doctest::Contains("batch is empty"), Error);
  CHECK_THROWS_WITH_AS(losses::cycle_loss({a.to(DType::i64)}, {a.to(DType::i64)}), doctest::Contains("float dtype"),
                       Error);
  CHECK_THROWS_WITH_AS(losses::cycle_loss({a}, {a.to(DType::f32)}), doctest::Contains("float dtype"), Error);
  CHECK_THROWS_WITH_AS(losses::cycle_loss({a.reshape({12})}, {a}), doctest::Contains("[N, D]"), Error);
  losses::CycleLossOptions bad;
  bad.epsilon = 0;
  CHECK_THROWS_WITH_AS(losses::cycle_loss({a}, {a}, bad), doctest::Contains("epsilon"), Error);
  losses::CycleLossOptions none;
  none.placeholder = losses::Placeholder::none;
  CHECK_THROWS_WITH_AS(losses::cycle_assignment(a.slice(0, 0, 1), zeros({0, 4}, DType::f64), none),
                       doctest::Contains("two objects"), Error);
}

TEST_CASE("outrack: occlusion targets match the port of gen_occlusion_target") {
  json::Value doc = json::parse(read_file(kOcclusion));
  int cases = 0, with_occlusions = 0;
  for (const json::Value& c : doc["cases"].elements()) {
    const std::string name = c["name"].as_string();
    CAPTURE(name);
    std::vector<Box> boxes;
    for (const json::Value& b : c["boxes"].elements()) {
      std::vector<double> v = numbers(b);
      boxes.push_back({v[0], v[1], v[2], v[3]});
    }
    const json::Value& e = c["targets"];
    OcclusionTargets t = occlusion_targets(boxes, c["height"].as_int(), c["width"].as_int());
    check_near(t.heatmap, numbers(e["heatmap"]), 1e-12);
    CHECK(t.index == integers(e["index"]));
    check_near(t.offset, numbers(e["offset"]), 1e-12);
    check_near(t.centre, numbers(e["centre"]), 1e-12);
    CHECK(t.radius == integers(e["radius"]));
    CHECK(t.pair == integers(e["pair"]));
    if (name == "no_overlap" || name == "one_box" || name == "empty") {
      CHECK(t.count() == 0);
      for (double v : t.heatmap) CHECK(v == 0.0);
    }
    with_occlusions += t.count() > 0;
    ++cases;
  }
  CHECK(cases == 7);
  CHECK(with_occlusions == 4);  // the hand-made scene and the three random ones
}

TEST_CASE("outrack: occlusion targets: pairs, the threshold, the cap and the errors") {
  // box 1 lies inside box 0: intersection / min area = 1 > 0.7, centre (6, 6.5), peak 1 at (6, 6)
  std::vector<Box> boxes = {{2, 3, 12, 13}, {4, 4, 8, 9}, {20, 2, 30, 12}};
  OcclusionTargets t = occlusion_targets(boxes, 16, 32);
  REQUIRE(t.count() == 2);  // (0, 1) and (1, 0)
  CHECK(t.pair == std::vector<int64_t>({0, 1, 1, 0}));
  CHECK(t.index[0] == 6 * 32 + 6);
  CHECK(t.offset == std::vector<double>({0.0, 0.5, 0.0, 0.5}));
  CHECK(t.heatmap[6 * 32 + 6] == 1.0);
  OcclusionTargetOptions once;
  once.ordered_pairs = false;
  CHECK(occlusion_targets(boxes, 16, 32, once).count() == 1);
  OcclusionTargetOptions cap;
  cap.max_occlusions = 1;
  CHECK(occlusion_targets(boxes, 16, 32, cap).count() == 1);
  // overlap 0.5 of the smaller box: below the 0.7 threshold, kept with a lower one
  std::vector<Box> half = {{0, 0, 10, 10}, {5, 0, 15, 10}};
  CHECK(occlusion_targets(half, 16, 32).count() == 0);
  OcclusionTargetOptions low;
  low.overlap_threshold = 0.4;
  CHECK(occlusion_targets(half, 16, 32, low).count() == 2);
  CHECK_THROWS_WITH_AS(occlusion_targets(boxes, 0, 32), doctest::Contains("at least 1 x 1"), Error);
  CHECK_THROWS_WITH_AS(occlusion_targets({{0, 0, NAN, 3}}, 16, 32), doctest::Contains("finite"), Error);
  OcclusionTargetOptions bad;
  bad.overlap_threshold = 1.5;
  CHECK_THROWS_WITH_AS(occlusion_targets(boxes, 16, 32, bad), doctest::Contains("overlap_threshold"), Error);
}
