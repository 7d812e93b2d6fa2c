// `iris-eval coco` end to end: the binary on golden sets of tests/golden/make_coco.py (its final JSON
// line against 100 x pycocotools' stats, its 12 summary lines against the lines pycocotools printed,
// --use-ignore against COCOeval with the ignore field kept), and on malformed or missing files (exit
// status 1 and a stderr line naming the file, the JSON path and what was expected).
// The binary is found through IRIS_BIN (set by CTest to build/bin).
#include <cmath>
#include <fstream>
#include <string>

#include "io/file_util.h"
#include "io/json.h"
#include "metrics/coco_eval.h"
#include "tests/app_runner.h"

using namespace iris;
using namespace iris::testing;

namespace {

const std::string kGolden = "tests/golden/coco/";
const std::string kTmp = "/tmp/iris_test_iris_eval_coco";

AppResult coco(const std::string& args) { return run_app("iris-eval coco " + args, kTmp + "_stderr.txt"); }

std::string set_args(const std::string& name) {
  return "--gt " + kGolden + name + "_gt.json --dt " + kGolden + name + "_dt.json";
}

const json::Value& expected_set(const std::string& name) {
  static const json::Value all = json::parse(read_file(kGolden + "expected.json"));
  return all["sets"][name];
}

// The final line's metrics are pycocotools' stats in percent (-1 stays -1).
void check_metrics(const AppResult& r, const json::Value& want) {
  REQUIRE(r.status == 0);
  json::Value line = last_json_line(r.out);
  CHECK(line["app"].as_string() == "iris-eval");
  CHECK(line["cmd"].as_string() == "coco");
  const json::Value& m = line["metrics"];
  REQUIRE(m.size() == metrics::kCocoStats);
  for (int i = 0; i < metrics::kCocoStats; ++i) {
    double s = want["stats"][i].as_number();
    double expect = s < 0 ? -1.0 : 100.0 * s;
    CHECK_MESSAGE(std::fabs(m[metrics::kCocoStatNames[i]].as_number() - expect) < 1e-4,
                  metrics::kCocoStatNames[i] << ": " << m[metrics::kCocoStatNames[i]].as_number() << " vs "
                                             << expect);
  }
}

std::string write_tmp(const std::string& name, const std::string& text) {
  std::string path = kTmp + "_" + name;
  std::ofstream(path) << text;
  return path;
}

const std::string kGoodGt =
    R"({"images":[{"id":1},{"id":2}],"categories":[{"id":1,"name":"a"}],)"
    R"("annotations":[{"id":1,"image_id":1,"category_id":1,"bbox":[0,0,10,10],"area":100,"iscrowd":0}]})";

}  // namespace

TEST_CASE("iris-eval coco: numbers, summary lines and per-class AP as pycocotools") {
  for (const char* name : {"categories_without_gt", "crowd", "over_100_per_image", "unsorted_ids"}) {
    CAPTURE(name);
    const json::Value& want = expected_set(name);
    AppResult r = coco(set_args(name));
    CHECK_MESSAGE(r.status == 0, r.err);
    check_metrics(r, want);
    // pycocotools' own printed lines, verbatim and in order.
    size_t at = 0;
    for (const json::Value& line : want["summary_lines"].elements()) {
      size_t found = r.out.find(line.as_string() + "\n", at);
      CHECK_MESSAGE(found != std::string::npos, "missing or out of order: " << line.as_string());
      if (found != std::string::npos) at = found;
    }
    // One per-class row per category: id, name, AP to 3 decimals.
    for (size_t k = 0; k < want["category_ids"].size(); ++k) {
      char row[64];
      std::snprintf(row, sizeof row, "%7.3f\n", want["class_ap"][k].as_number());
      std::string id = std::to_string(want["category_ids"][k].as_int());
      size_t pos = r.out.find(" " + id + "  ");
      REQUIRE_MESSAGE(pos != std::string::npos, "no per-class row for category " << id);
      CHECK(r.out.substr(r.out.find('\n', pos) - 7, 8) == row);
    }
  }
}

TEST_CASE("iris-eval coco: --use-ignore honours the ignore field; unknown categories are reported") {
  const json::Value& want = expected_set("ignore_flags");
  check_metrics(coco(set_args("ignore_flags")), want);
  check_metrics(coco(set_args("ignore_flags") + " --use-ignore"), want["with_ignore_flag"]);
  AppResult wrong = coco(set_args("all_wrong_classes"));
  check_metrics(wrong, expected_set("all_wrong_classes"));
  CHECK(wrong.out.find("name a category not in the ground truth and are skipped") != std::string::npos);
}

TEST_CASE("iris-eval coco: malformed files fail with the file, the JSON path and what was expected") {
  std::string good_gt = write_tmp("good_gt.json", kGoodGt);
  std::string good_dt = write_tmp("good_dt.json", R"([{"image_id":1,"category_id":1,"bbox":[0,0,10,10],"score":0.9}])");
  AppResult ok = coco("--gt " + good_gt + " --dt " + good_dt);
  REQUIRE_MESSAGE(ok.status == 0, ok.err);
  CHECK(last_json_line(ok.out)["metrics"]["ap"].as_number() == doctest::Approx(100.0));

  struct Case {
    std::string gt, dt, message;
  };
  std::string bad_box = write_tmp("bad_box_gt.json",
                                  R"({"images":[{"id":1}],"categories":[{"id":1}],"annotations":[)"
                                  R"({"id":1,"image_id":1,"category_id":1,"bbox":[0,0,10,10]},)"
                                  R"({"id":2,"image_id":1,"category_id":1,"bbox":[0,0,10]}]})");
  std::string not_json = write_tmp("not_json.json", R"({"images": [)");
  std::string far_image = write_tmp("far_dt.json", R"([{"image_id":1,"category_id":1,"bbox":[0,0,1,1],"score":1},)"
                                                   R"({"image_id":42,"category_id":1,"bbox":[0,0,1,1],"score":1}])");
  std::string no_score = write_tmp("no_score_dt.json", R"([{"image_id":1,"category_id":1,"bbox":[0,0,1,1]}])");
  std::string object_dt = write_tmp("object_dt.json", R"({"annotations":[]})");
  for (const Case& c : std::vector<Case>{
           {bad_box, good_dt,
            bad_box + ": annotations[1].bbox: expected [x, y, width, height] (an array of 4 numbers), got 3 values"},
           {not_json, good_dt, not_json + ": json: parse error at byte"},
           {good_gt, far_image, far_image + ": [1].image_id: image 42 is not in the ground truth's images"},
           {good_gt, no_score, no_score + ": [0]: missing key \"score\""},
           {good_gt, object_dt, object_dt + ": the top level: expected an array of detections"},
           {kTmp + "_missing.json", good_dt, kTmp + "_missing.json"},
       }) {
    AppResult r = coco("--gt " + c.gt + " --dt " + c.dt);
    CAPTURE(c.message);
    CHECK(r.status == 1);
    CHECK(r.out.find("\"metrics\"") == std::string::npos);
    CHECK_MESSAGE(r.err.find("iris-eval coco: error: ") != std::string::npos, r.err);
    CHECK_MESSAGE(r.err.find(c.message) != std::string::npos, r.err);
  }
  AppResult no_dt = coco("--gt " + good_gt);
  CHECK(no_dt.status != 0);
  CHECK_MESSAGE(no_dt.err.find("--dt is required") != std::string::npos, no_dt.err);
}
