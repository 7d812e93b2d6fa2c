// metrics/mot against py-motmetrics 1.4 (tests/golden/mot.json, written by tests/golden/make_mot.py):
// 14 generated track sets (identity swaps, kept correspondences, occlusions, gaps, fragments,
// missing and empty frames, extra ids, degenerate boxes, random scenes) and the TUD-Campus /
// TUD-Stadtmitte sample sequences motmetrics ships (read here with data/mot_format), each sequence
// and the OVERALL rows: every count exactly, every ratio to 1e-9.
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "data/mot_format.h"
#include "io/file_util.h"
#include "io/json.h"
#include "metrics/mot.h"
#include "tests/helpers.h"

using namespace iris;
using namespace iris::metrics;

namespace {

std::vector<TrackBox> boxes(const json::Value& rows) {
  std::vector<TrackBox> out;
  for (const json::Value& r : rows.elements())
    out.push_back({static_cast<int>(r[0].as_int()), static_cast<int>(r[1].as_int()),
                   box_from_size(r[2].as_number(), r[3].as_number(), r[4].as_number(), r[5].as_number())});
  return out;
}

double number(const json::Value& v) {
  if (v.is_string()) {
    const std::string& s = v.as_string();
    if (s == "nan") return std::nan("");
    return s == "inf" ? INFINITY : -INFINITY;
  }
  return v.as_number();
}

void check_ratio(const std::string& name, double actual, const json::Value& expected) {
  CAPTURE(name);
  const double e = number(expected);
  if (std::isnan(e)) {
    CHECK(std::isnan(actual));
  } else if (std::isinf(e)) {
    CHECK(actual == e);
  } else {
    CHECK(actual == doctest::Approx(e).epsilon(1e-9).scale(1));
  }
}

void check_count(const std::string& name, int64_t actual, const json::Value& expected) {
  CAPTURE(name);
  CHECK(static_cast<double>(actual) == expected.as_number());
}

// Every metric motmetrics reported for one row.
void check_summary(const MotSummary& s, const json::Value& m) {
  const MotCounts& c = s.counts;
  check_count("num_unique_objects", c.unique_objects, m["num_unique_objects"]);
  check_count("mostly_tracked", c.mostly_tracked, m["mostly_tracked"]);
  check_count("partially_tracked", c.partially_tracked, m["partially_tracked"]);
  check_count("mostly_lost", c.mostly_lost, m["mostly_lost"]);
  check_count("num_false_positives", c.false_positives, m["num_false_positives"]);
  check_count("num_misses", c.misses, m["num_misses"]);
  check_count("num_switches", c.switches, m["num_switches"]);
  check_count("num_fragmentations", c.fragmentations, m["num_fragmentations"]);
  check_count("num_transfer", c.transfers, m["num_transfer"]);
  check_count("num_ascend", c.ascends, m["num_ascend"]);
  check_count("num_migrate", c.migrates, m["num_migrate"]);
  check_count("num_matches", c.matches, m["num_matches"]);
  check_count("num_objects", c.objects, m["num_objects"]);
  check_count("num_predictions", c.predictions, m["num_predictions"]);
  check_count("num_detections", c.matches + c.switches, m["num_detections"]);
  check_count("idtp", c.idtp, m["idtp"]);
  check_count("idfp", c.idfp, m["idfp"]);
  check_count("idfn", c.idfn, m["idfn"]);
  check_ratio("mota", s.mota, m["mota"]);
  check_ratio("motp", s.motp, m["motp"]);
  check_ratio("precision", s.precision, m["precision"]);
  check_ratio("recall", s.recall, m["recall"]);
  check_ratio("idf1", s.idf1, m["idf1"]);
  check_ratio("idp", s.idp, m["idp"]);
  check_ratio("idr", s.idr, m["idr"]);
}

std::vector<TrackBox> track_boxes(const std::vector<data::MotBox>& rows) {
  std::vector<TrackBox> out;
  for (const data::MotBox& b : rows) out.push_back({b.frame, b.id, b.box()});
  return out;
}

}  // namespace

TEST_CASE("mot metrics: equal to py-motmetrics on the generated track sets and their OVERALL row") {
  json::Value doc = json::parse(read_file("tests/golden/mot.json"));
  MotCounts overall;
  int sets = 0;
  for (const json::Value& set : doc["synthetic"].elements()) {
    CAPTURE(set["name"].as_string());
    MotCounts c = mot_counts(boxes(set["gt"]), boxes(set["hyp"]));
    check_summary(mot_summary(c), set["metrics"]);
    overall += c;
    ++sets;
  }
  CHECK(sets == 14);
  check_summary(mot_summary(overall), doc["synthetic_overall"]);
}

TEST_CASE("mot metrics: equal to py-motmetrics on TUD-Campus and TUD-Stadtmitte read from their files") {
  json::Value doc = json::parse(read_file("tests/golden/mot.json"));
  MotCounts overall;
  for (const std::string seq : {"TUD-Campus", "TUD-Stadtmitte"}) {
    CAPTURE(seq);
    auto gt = data::keep_confident(data::read_mot("tests/golden/mot/gt/" + seq + "/gt/gt.txt"), 1);
    auto ts = data::keep_confident(data::read_mot("tests/golden/mot/ts/" + seq + ".txt"), -1);
    MotCounts c = mot_counts(track_boxes(gt), track_boxes(ts));
    check_summary(mot_summary(c), doc["tud"][seq]);
    overall += c;
  }
  check_summary(mot_summary(overall), doc["tud"]["OVERALL"]);
}

TEST_CASE("mot metrics: a worked example, a duplicate id, and the reader's filters") {
  // Frame 0: object 1 matched to hypothesis 7 (IoU 1). Frame 1: 7 is too far off (IoU 0), 8 fits:
  // a switch; object 2 unmatched: a miss. Frame 2: object 1 only: a miss after tracking.
  std::vector<TrackBox> gt = {{0, 1, {0, 0, 10, 10}}, {1, 1, {0, 0, 10, 10}}, {1, 2, {50, 50, 60, 60}},
                              {2, 1, {0, 0, 10, 10}}};
  std::vector<TrackBox> hyp = {{0, 7, {0, 0, 10, 10}}, {1, 7, {20, 20, 30, 30}}, {1, 8, {0, 0, 10, 8}}};
  MotSummary s = mot_summary(mot_counts(gt, hyp));
  CHECK(s.counts.matches == 1);
  CHECK(s.counts.switches == 1);
  CHECK(s.counts.misses == 2);
  CHECK(s.counts.false_positives == 1);
  CHECK(s.mota == doctest::Approx(1 - 4.0 / 4));
  CHECK(s.motp == doctest::Approx(0.2 / 2));  // distances 0 and 1 - 0.8
  CHECK(s.counts.idtp == 1);                  // 1 with 7 or with 8: one frame either way
  CHECK(s.counts.mostly_lost == 1);           // object 2
  CHECK_THROWS_WITH_SUBSTR(mot_counts(gt, {{3, 4, {}}, {3, 4, {}}}), "hypothesis id 4 appears twice in frame 3");

  auto rows = data::parse_mot("1 1 10 20 30 40 1 1 1\n1,2,10,20,30,40,0,1,1\n", "g.txt");
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].left == 9.0);
  CHECK(rows[0].width == 30.0);
  CHECK(data::keep_confident(rows, 1).size() == 1);
  CHECK(data::keep_confident(rows, -1).size() == 2);
}
