// track/hungarian against scipy.optimize.linear_sum_assignment (tests/golden/hungarian.json, written
// by tests/golden/make_hungarian.py): the total cost of every case to 1e-9, and the matching itself
// where the optimum is unique; where it is not, the same tie-break as scipy (same algorithm, same
// scan order) is checked too, since py-motmetrics' per-frame matching inherits scipy's choice.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "io/file_util.h"
#include "io/json.h"
#include "tests/helpers.h"
#include "track/hungarian.h"

using namespace iris;
using namespace iris::track;

namespace {

struct Case {
  std::string name;
  int rows = 0, cols = 0;
  std::vector<double> cost;
  double threshold = std::numeric_limits<double>::infinity();
  std::vector<std::pair<int, int>> pairs;
  double total = 0;
  bool unique = false;
};

std::vector<Case> load_cases() {
  json::Value doc = json::parse(read_file("tests/golden/hungarian.json"));
  std::vector<Case> cases;
  for (const json::Value& c : doc["cases"].elements()) {
    Case k;
    k.name = c["name"].as_string();
    k.rows = static_cast<int>(c["rows"].as_int());
    k.cols = static_cast<int>(c["cols"].as_int());
    for (const json::Value& v : c["cost"].elements())
      k.cost.push_back(v.is_null()     ? std::nan("")
                       : v.is_string() ? std::numeric_limits<double>::infinity()
                                       : v.as_number());
    if (const json::Value* t = c.find("threshold")) k.threshold = t->as_number();
    for (const json::Value& p : c["pairs"].elements())
      k.pairs.push_back({static_cast<int>(p[0].as_int()), static_cast<int>(p[1].as_int())});
    k.total = c["total"].as_number();
    k.unique = c["unique"].as_bool();
    cases.push_back(k);
  }
  return cases;
}

}  // namespace

TEST_CASE("hungarian: equal to scipy's linear_sum_assignment on every golden case") {
  std::vector<Case> cases = load_cases();
  REQUIRE(cases.size() >= 50);
  int unique = 0, ties = 0;
  for (const Case& k : cases) {
    CAPTURE(k.name);
    Assignment a = linear_assignment(k.cost, k.rows, k.cols, k.threshold);
    CHECK(a.cost == doctest::Approx(k.total).epsilon(1e-9).scale(1));
    CHECK(a.pairs.size() == k.pairs.size());  // as many allowed pairs as scipy's
    if (k.unique) {
      CHECK(a.pairs == k.pairs);
      ++unique;
    } else {
      CHECK_MESSAGE(a.pairs == k.pairs, "tie broken differently from scipy");
      ++ties;
    }
    // Unmatched rows and columns are the complement of the pairs.
    CHECK(a.unmatched_rows.size() + a.pairs.size() == static_cast<size_t>(k.rows));
    CHECK(a.unmatched_cols.size() + a.pairs.size() == static_cast<size_t>(k.cols));
    for (auto [r, c] : a.pairs) {
      const double v = k.cost[static_cast<size_t>(r) * k.cols + c];
      CHECK((std::isfinite(v) && !(v > k.threshold)));
    }
  }
  CHECK(unique > 40);
  CHECK(ties > 5);
}

TEST_CASE("hungarian: threshold, forbidden-only and bad input") {
  // 2x3: the cheap diagonal unless the threshold forbids (1, 1).
  std::vector<double> m = {0.1, 0.9, 0.8, 0.7, 0.2, 0.3};
  Assignment a = linear_assignment(m, 2, 3);
  CHECK(a.pairs == std::vector<std::pair<int, int>>{{0, 0}, {1, 1}});
  CHECK(a.unmatched_cols == std::vector<int>{2});
  a = linear_assignment(m, 2, 3, 0.25);
  CHECK(a.pairs == std::vector<std::pair<int, int>>{{0, 0}, {1, 1}});
  a = linear_assignment(m, 2, 3, 0.15);
  CHECK(a.pairs == std::vector<std::pair<int, int>>{{0, 0}});
  CHECK(a.unmatched_rows == std::vector<int>{1});
  CHECK(a.cost == doctest::Approx(0.1));
  const double inf = std::numeric_limits<double>::infinity();
  a = linear_assignment({inf, std::nan(""), inf, inf}, 2, 2);
  CHECK(a.pairs.empty());
  CHECK(a.unmatched_rows == std::vector<int>{0, 1});
  CHECK(a.cost == 0.0);
  CHECK_THROWS_WITH_SUBSTR(linear_assignment({1, 2, 3}, 2, 2), "3 costs for a 2 x 2 matrix");
  CHECK_THROWS_WITH_SUBSTR(linear_assignment({1, -inf, 3, 4}, 2, 2), "entry (0, 1) is -inf");
}
