// metrics/reid against tests/golden/reid_cases.json (tests/golden/make_reid.py): a NumPy reference of
// the Market-1501 protocol (to 1e-9) and torchreid's eval_market1501 where it applies (to 1e-6: its
// CMC is float32), on random, tied, skipped-query, single-gallery and junk cases; plus a hand-worked
// ranking and the error messages.
#include <cmath>
#include <string>
#include <vector>

#include "io/file_util.h"
#include "io/json.h"
#include "metrics/reid.h"
#include "tests/helpers.h"

using namespace iris;
using testing::json_ints;
using testing::json_matrix;
using namespace iris::metrics;

namespace {

const json::Value& golden() {
  static const json::Value g = json::parse(read_file("tests/golden/reid_cases.json"));
  return g;
}

}  // namespace

TEST_CASE("reid: a hand-worked ranking") {
  // One query (id 1, camera 0). Sorted gallery: g0 id 1 cam 0 (removed: same view), g1 id 2, g2 id 1
  // cam 1 (match at kept position 2), g3 id 1 cam 2 (match at position 3), g4 id -1.
  Tensor d = from_vector(std::vector<double>{0.1, 0.2, 0.3, 0.4, 0.5}, Shape{1, 5});
  ReidOptions opt;
  opt.max_rank = 5;
  ReidResult r = evaluate_reid(d, {1}, {0}, {1, 2, 1, 1, -1}, {0, 0, 1, 2, 0}, opt);
  CHECK(r.valid_queries == 1);
  CHECK(r.map == doctest::Approx((1.0 / 2 + 2.0 / 3) / 2).epsilon(1e-12));
  CHECK(r.rank(1) == 0.0);
  CHECK(r.rank(2) == 1.0);
  // Official AP: ((0 + 1/2)/2 + (1/2 + 2/3)/2) / 2 (precision before the first match is 0/1).
  opt.ap = ReidAp::market_official;
  r = evaluate_reid(d, {1}, {0}, {1, 2, 1, 1, -1}, {0, 0, 1, 2, 0}, opt);
  CHECK(r.map == doctest::Approx(((0 + 0.5) / 2 + (0.5 + 2.0 / 3) / 2) / 2).epsilon(1e-12));
  CHECK_THROWS_WITH(r.rank(6), doctest::Contains("outside [1, 5]"));
}

TEST_CASE("reid: equals the NumPy reference and torchreid on the golden cases") {
  int checked_torchreid = 0;
  for (const auto& c : golden()["cases"].elements()) {
    const std::string name = c["name"].as_string();
    CAPTURE(name);
    ReidOptions opt;
    opt.max_rank = c["max_rank"].as_int();
    if (!c["junk_id"].is_null()) opt.junk_id = c["junk_id"].as_int();
    opt.ap = c["ap_style"].as_string() == "torchreid" ? ReidAp::torchreid : ReidAp::market_official;
    Tensor d = json_matrix(c["dist"]);
    auto run = [&] {
      return evaluate_reid(d, json_ints(c["query_ids"]), json_ints(c["query_cameras"]), json_ints(c["gallery_ids"]),
                           json_ints(c["gallery_cameras"]), opt);
    };
    const json::Value& ref = c["reference"];
    if (ref.is_null()) {  // no valid query at all
      CHECK_THROWS_WITH(run(), doctest::Contains("nothing to evaluate"));
      continue;
    }
    ReidResult r = run();
    CHECK(std::fabs(r.map - ref["map"].as_number()) < 1e-9);
    CHECK(r.valid_queries == ref["valid"].as_int());
    CHECK(r.skipped_queries == ref["skipped"].as_int());
    REQUIRE(r.cmc.size() == ref["cmc"].size());
    for (size_t k = 0; k < r.cmc.size(); ++k) CHECK(std::fabs(r.cmc[k] - ref["cmc"][k].as_number()) < 1e-9);
    REQUIRE(r.ap.size() == ref["ap"].size());
    for (size_t q = 0; q < r.ap.size(); ++q) {
      if (ref["ap"][q].is_null()) CHECK(std::isnan(r.ap[q]));
      else CHECK(std::fabs(r.ap[q] - ref["ap"][q].as_number()) < 1e-9);
    }
    // torchreid itself, where its (unstable) argsort ordered the ties as we do.
    if (const json::Value* t = c.find("torchreid"); t != nullptr && c["torchreid_order_is_stable"].as_bool()) {
      ++checked_torchreid;
      CHECK(std::fabs(r.map - (*t)["map"].as_number()) < 1e-9);
      for (size_t k = 0; k < (*t)["cmc"].size(); ++k)
        CHECK(std::fabs(r.cmc[k] - (*t)["cmc"][k].as_number()) < 1e-6);
    }
  }
  if (golden()["torchreid_checked"].as_bool()) CHECK(checked_torchreid >= 8);
}

TEST_CASE("reid: feature distances as torchreid's compute_distance_matrix") {
  const json::Value& g = golden()["distances"];
  Tensor q = json_matrix(g["query"]), gal = json_matrix(g["gallery"]);
  for (const char* metric : {"euclidean", "cosine"}) {
    CAPTURE(metric);
    std::vector<double> got = reid_distances(q, gal, reid_distance_from_name(metric)).to_vector<double>();
    std::vector<double> want = json_matrix(g[metric]).to_vector<double>();
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < got.size(); ++i) CHECK(std::fabs(got[i] - want[i]) < 1e-12);
  }
  CHECK_THROWS_WITH(reid_distance_from_name("l1"), doctest::Contains("not one of: euclidean, cosine"));
  CHECK_THROWS_WITH(reid_distances(q, zeros({3, 4}), ReidDistance::cosine), doctest::Contains("share D"));
}

TEST_CASE("reid: bad input gives clear errors") {
  Tensor d = zeros({2, 3});
  CHECK_THROWS_WITH(evaluate_reid(d, {1}, {0, 0}, {1, 2, 3}, {0, 0, 0}), doctest::Contains("2 query rows"));
  CHECK_THROWS_WITH(evaluate_reid(d, {1, 2}, {0, 0}, {1, 2}, {0, 0, 0}), doctest::Contains("3 gallery columns"));
  CHECK_THROWS_WITH(evaluate_reid(zeros({6}), {}, {}, {}, {}), doctest::Contains("[queries, gallery]"));
  Tensor nan = from_vector(std::vector<double>{0.0, std::nan("")}, Shape{1, 2});
  CHECK_THROWS_WITH(evaluate_reid(nan, {1}, {0}, {1, 1}, {1, 1}), doctest::Contains("[0, 1] is NaN"));
}
