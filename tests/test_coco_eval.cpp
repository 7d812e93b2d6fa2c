// COCO box evaluation (metrics/coco_eval.h) against pycocotools' COCOeval on the golden sets of
// tests/golden/make_coco.py (12 stats and per-class AP to 1e-6), hand-worked IoU / threshold /
// format cases, and the COCO JSON reader's errors (data/coco_format.h).
#include <cmath>
#include <map>
#include <string>

#include "data/coco_format.h"
#include "io/file_util.h"
#include "io/json.h"
#include "metrics/coco_eval.h"
#include "tensor/error.h"
#include "tests/helpers.h"

using namespace iris;

namespace {

const std::string kDir = "tests/golden/coco/";

struct Loaded {
  std::vector<int64_t> images;
  std::vector<metrics::CocoCategory> cats;
  std::vector<metrics::CocoGt> gt;
  std::vector<metrics::CocoDet> dt;
};

Loaded convert(const data::CocoInstances& in, const std::vector<data::CocoDetection>& dets) {
  Loaded l;
  for (const auto& im : in.images) l.images.push_back(im.id);
  for (const auto& c : in.categories) l.cats.push_back({c.id, c.name});
  for (const auto& a : in.annotations)
    l.gt.push_back({a.id, a.image_id, a.category_id, a.bbox, a.area, a.iscrowd, a.ignore});
  for (const auto& d : dets) l.dt.push_back({d.image_id, d.category_id, d.bbox, d.score});
  return l;
}

Loaded load_set(const std::string& name) {
  data::CocoInstances in = data::read_coco_instances(kDir + name + "_gt.json");
  return convert(in, data::read_coco_results(kDir + name + "_dt.json", in));
}

void check_against(const metrics::CocoEvalResult& r, const json::Value& want, const std::string& name) {
  const json::Value& stats = want["stats"];
  REQUIRE(stats.size() == metrics::kCocoStats);
  for (int i = 0; i < metrics::kCocoStats; ++i)
    CHECK_MESSAGE(std::fabs(r.stats[i] - stats[i].as_number()) < 1e-6,
                  name << " " << metrics::kCocoStatNames[i] << ": " << r.stats[i] << " vs pycocotools "
                       << stats[i].as_number());
  const json::Value& ids = want["category_ids"];
  const json::Value& ap = want["class_ap"];
  REQUIRE(r.category_ids.size() == ids.size());
  REQUIRE(r.class_ap.size() == ap.size());
  for (size_t k = 0; k < ids.size(); ++k) {
    CHECK(r.category_ids[k] == ids[k].as_int());
    CHECK_MESSAGE(std::fabs(r.class_ap[k] - ap[k].as_number()) < 1e-6,
                  name << " class " << r.category_ids[k] << " AP " << r.class_ap[k] << " vs pycocotools "
                       << ap[k].as_number());
  }
}

template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("coco_evaluate matches pycocotools on every golden set") {
  json::Value expected = json::parse(read_file(kDir + "expected.json"));
  const json::Value& sets = expected["sets"];
  REQUIRE(sets.size() >= 20);
  for (const auto& [name, want] : sets.items()) {
    CAPTURE(name);
    Loaded l = load_set(name);
    metrics::CocoEvalResult r = metrics::coco_evaluate(l.images, l.cats, l.gt, l.dt);
    check_against(r, want, name);
    if (const json::Value* w = want.find("with_ignore_flag")) {
      metrics::CocoEvalOptions o;
      o.use_ignore_flag = true;
      check_against(metrics::coco_evaluate(l.images, l.cats, l.gt, l.dt, o), *w, name + " (use_ignore_flag)");
    }
  }
}

TEST_CASE("coco_evaluate: the golden sets exercise what they are named for") {
  // Guards against a generator change quietly emptying an adversarial set.
  json::Value sets = json::parse(read_file(kDir + "expected.json"))["sets"];
  CHECK(sets["perfect"]["stats"][0].as_number() == doctest::Approx(1.0));
  CHECK(sets["no_detections"]["stats"][0].as_number() == 0.0);
  Loaded many = load_set("over_100_per_image");
  std::map<int64_t, int> per_image;
  for (const auto& d : many.dt) ++per_image[d.image_id];
  int over = 0;
  for (const auto& [id, n] : per_image) over += n > 100;
  CHECK(over >= 2);
  Loaded wrong = load_set("all_wrong_classes");
  CHECK(metrics::coco_evaluate(wrong.images, wrong.cats, wrong.gt, wrong.dt).ignored_detections > 0);
  // With use_ignore_flag the ignore_flags set must come out different, else that check proves nothing.
  const json::Value& ig = sets["ignore_flags"];
  CHECK(ig["stats"][0].as_number() != ig["with_ignore_flag"]["stats"][0].as_number());
}

TEST_CASE("coco_box_iou follows bbIou: overlap in both axes, crowd over the detection's area") {
  using B = std::array<double, 4>;
  CHECK(metrics::coco_box_iou(B{0, 0, 10, 10}, B{0, 0, 10, 10}, false) == 1.0);
  CHECK(metrics::coco_box_iou(B{0, 0, 5, 10}, B{0, 0, 10, 10}, false) == 0.5);
  CHECK(metrics::coco_box_iou(B{5, 0, 10, 10}, B{0, 0, 10, 10}, false) == doctest::Approx(50.0 / 150.0));
  CHECK(metrics::coco_box_iou(B{10, 0, 10, 10}, B{0, 0, 10, 10}, false) == 0.0);  // touching edges
  CHECK(metrics::coco_box_iou(B{2, 2, 0, 5}, B{0, 0, 10, 10}, false) == 0.0);     // zero width
  // Crowd: a detection inside the region has IoU 1 whatever the region's size.
  CHECK(metrics::coco_box_iou(B{10, 10, 5, 5}, B{0, 0, 100, 100}, true) == 1.0);
  CHECK(metrics::coco_box_iou(B{-5, 0, 10, 10}, B{0, 0, 100, 100}, true) == 0.5);
}

TEST_CASE("coco thresholds are numpy's linspace values") {
  auto t = metrics::coco_iou_thresholds();
  CHECK(t[0] == 0.5);
  CHECK(t[5] == 0.75);  // summarize() looks .75 up by equality
  CHECK(t[9] == 0.95);
  auto r = metrics::coco_recall_thresholds();
  CHECK(r[0] == 0.0);
  CHECK(r[100] == 1.0);
  CHECK(r[7] == 7 * 0.01);  // not 7 / 100.0: 0.07 and 0.07000000000000001 differ
}

TEST_CASE("coco_evaluate: a hand-worked image") {
  // One class, two gt; detections: a hit (0.9), a miss (0.8), the second hit (0.7).
  // Every threshold: tp 1,1,2 / fp 0,1,1 -> precision 1, .5, .667 -> monotone 1, .667, .667;
  // recall .5, .5, 1 -> 51 thresholds at 1 and 50 at .667: AP = (51 + 50 * 2/3) / 101.
  std::vector<metrics::CocoGt> gt = {{1, 1, 1, {0, 0, 50, 50}, 2500, false, false},
                                     {2, 1, 1, {100, 100, 50, 50}, 2500, false, false}};
  std::vector<metrics::CocoDet> dt = {{1, 1, {0, 0, 50, 50}, 0.9},
                                      {1, 1, {300, 300, 20, 20}, 0.8},
                                      {1, 1, {100, 100, 50, 50}, 0.7}};
  auto r = metrics::coco_evaluate({1}, {{1, "a"}}, gt, dt);
  double ap = (51 + 50 * (2.0 / 3.0)) / 101;
  CHECK(r.stats[0] == doctest::Approx(ap).epsilon(1e-12));
  CHECK(r.stats[1] == doctest::Approx(ap).epsilon(1e-12));
  CHECK(r.stats[3] == -1);                        // no small gt
  // Both gt are medium (area 2500); the miss is 20x20, small, so unmatched it is ignored there.
  CHECK(r.stats[4] == 1.0);
  CHECK(r.stats[5] == -1);
  CHECK(r.stats[6] == 0.5);                       // AR1: the best one finds one of two
  CHECK(r.stats[8] == 1.0);
  CHECK(r.class_ap[0] == doctest::Approx(ap).epsilon(1e-12));
}

TEST_CASE("coco_evaluate: bad input throws naming the problem") {
  std::vector<metrics::CocoCategory> cats = {{1, "a"}};
  metrics::CocoGt g{1, 1, 1, {0, 0, 10, 10}, 100, false, false};
  metrics::CocoDet d{1, 1, {0, 0, 10, 10}, 0.5};
  CHECK(error_of([&] { metrics::coco_evaluate({1, 1}, cats, {g}, {d}); }).find("image id 1 is listed twice") !=
        std::string::npos);
  CHECK(error_of([&] { metrics::coco_evaluate({1}, cats, {g, g}, {d}); }).find("annotation id 1 appears twice") !=
        std::string::npos);
  metrics::CocoDet far = d;
  far.image_id = 9;
  CHECK(error_of([&] { metrics::coco_evaluate({1}, cats, {g}, {far}); }).find("image 9") != std::string::npos);
  metrics::CocoGt neg = g;
  neg.bbox[2] = -1;
  CHECK(error_of([&] { metrics::coco_evaluate({1}, cats, {neg}, {d}); }).find("negative box size") !=
        std::string::npos);
}

TEST_CASE("coco_summary_line prints pycocotools' lines") {
  CHECK(metrics::coco_summary_line(0, 0.3621) ==
        " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.362");
  CHECK(metrics::coco_summary_line(2, 0.5) ==
        " Average Precision  (AP) @[ IoU=0.75      | area=   all | maxDets=100 ] = 0.500");
  CHECK(metrics::coco_summary_line(6, 0.25) ==
        " Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ] = 0.250");
  CHECK(metrics::coco_summary_line(10, -1) ==
        " Average Recall     (AR) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ] = -1.000");
}

TEST_CASE("coco_format: malformed files name the file, the JSON path and what was expected") {
  auto inst_err = [](const std::string& text) {
    return error_of([&] { data::parse_coco_instances(text, "gt.json"); });
  };
  const std::string head = R"({"images":[{"id":1},{"id":2}],"categories":[{"id":1,"name":"a"}],"annotations":)";
  CHECK(inst_err(R"({"images":[{"id":1}],"categories":[]})") ==
        "coco: gt.json: the top level: missing key \"annotations\"");
  CHECK(inst_err(head + R"([{"id":1,"image_id":1,"category_id":1,"bbox":[0,0,10]}]})") ==
        "coco: gt.json: annotations[0].bbox: expected [x, y, width, height] (an array of 4 numbers), got 3 values");
  CHECK(inst_err(head + R"([{"id":1,"image_id":1,"category_id":1,"bbox":[0,0,1,1]},)"
                        R"({"id":2,"image_id":1,"category_id":1,"bbox":[0,"x",1,1]}]})") ==
        "coco: gt.json: annotations[1].bbox[1]: expected a number, got a string");
  CHECK(inst_err(head + R"([{"id":1,"image_id":3,"category_id":1,"bbox":[0,0,1,1]}]})") ==
        "coco: gt.json: annotations[0].image_id: image 3 is not in \"images\"");
  CHECK(inst_err(head + R"([{"id":1,"image_id":1,"category_id":7,"bbox":[0,0,1,1]}]})") ==
        "coco: gt.json: annotations[0].category_id: category 7 is not in \"categories\"");
  CHECK(inst_err(head + R"([{"id":1.5,"image_id":1,"category_id":1,"bbox":[0,0,1,1]}]})") ==
        "coco: gt.json: annotations[0].id: expected an integer id, got 1.5");
  CHECK(inst_err(R"({"images":[{"id":1},{"id":1}],"categories":[],"annotations":[]})") ==
        "coco: gt.json: images[1].id: image id 1 appears twice");
  CHECK(inst_err(head + R"([{"id":1,"image_id":1,"category_id":1,"bbox":[0,0,-1,1]}]})").find(
            "annotations[0].bbox: negative box size") != std::string::npos);
  CHECK(inst_err(R"({"images":[)").find("coco: gt.json: json: parse error at byte") == 0);

  data::CocoInstances in = data::parse_coco_instances(
      head + R"([{"id":4,"image_id":2,"category_id":1,"bbox":[1,2,3,4],"iscrowd":1}]})", "gt.json");
  REQUIRE(in.annotations.size() == 1);
  CHECK(in.annotations[0].area == 12.0);  // defaults to width * height
  CHECK(in.annotations[0].iscrowd);
  auto res_err = [&](const std::string& text) {
    return error_of([&] { data::parse_coco_results(text, in, "dt.json"); });
  };
  CHECK(res_err(R"({"image_id":1})") ==
        "coco: dt.json: the top level: expected an array of detections [{\"image_id\", \"category_id\", \"bbox\", "
        "\"score\"}, ...], got an object");
  CHECK(res_err(R"([{"image_id":1,"category_id":1,"bbox":[0,0,1,1],"score":0.5},{"image_id":5}])") ==
        "coco: dt.json: [1].image_id: image 5 is not in the ground truth's images (the results do not belong to it)");
  CHECK(res_err(R"([{"image_id":1,"category_id":1,"bbox":[0,0,1,1]}])") == "coco: dt.json: [0]: missing key \"score\"");
  CHECK(error_of([] { data::read_coco_instances("/nonexistent/gt.json"); }).find("/nonexistent/gt.json") !=
        std::string::npos);
  auto ok = data::parse_coco_results(R"([{"image_id":2,"category_id":9,"bbox":[0,0,1,1],"score":0.5}])", in);
  REQUIRE(ok.size() == 1);
  CHECK(ok[0].category_id == 9);  // unknown categories are kept; the evaluation skips them
}
