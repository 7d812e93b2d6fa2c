// iris-eval coco: COCO box detection AP/AR from a COCO instances JSON (--gt) and a results JSON
// (--dt), the same numbers as pycocotools' COCOeval(iouType='bbox'):
//   iris-eval coco --gt instances_val2017.json --dt detections.json [--use-ignore]
// Prints pycocotools' 12 summary lines, a per-class AP@[.5:.95] table, and last the JSON line
//   {"app":"iris-eval","cmd":"coco","metrics":{"ap":..,"ap50":..,...,"ar_large":..}}
// in percent (a value pycocotools gives as -1, undefined for want of ground truth, stays -1).
// Leaves out: segm/keypoint evaluation, writing a run folder (this only reads and prints).
#include <cstdio>
#include <string>

#include "apps/common/run.h"
#include "apps/iris-eval/eval.h"
#include "data/coco_format.h"
#include "metrics/coco_eval.h"
#include "tensor/error.h"

namespace iris::eval {

void add_coco_flags(Flags& flags) {
  flags.add_string("dt", "", "coco: detection results JSON, a list of {image_id, category_id, bbox, score}",
                   "PATH");
  flags.add_bool("use-ignore", false,
                 "coco: also ignore gt whose \"ignore\" is 1 (pycocotools replaces it by iscrowd; off = as pycocotools)");
}

int run_coco(const Flags& flags) {
  const std::string& gt_path = flags.get_string("gt");
  const std::string& dt_path = flags.get_string("dt");
  IRIS_CHECK(!gt_path.empty(), "coco: --gt is required (a COCO instances JSON, e.g. instances_val2017.json)");
  IRIS_CHECK(!dt_path.empty(), "coco: --dt is required (a results JSON: [{image_id, category_id, bbox, score}, ...])");

  data::CocoInstances instances = data::read_coco_instances(gt_path);
  std::vector<data::CocoDetection> results = data::read_coco_results(dt_path, instances);

  std::vector<int64_t> images;
  std::vector<metrics::CocoCategory> categories;
  std::vector<metrics::CocoGt> gt;
  std::vector<metrics::CocoDet> dt;
  for (const auto& im : instances.images) images.push_back(im.id);
  for (const auto& c : instances.categories) categories.push_back({c.id, c.name});
  int64_t crowd = 0;
  for (const auto& a : instances.annotations) {
    gt.push_back({a.id, a.image_id, a.category_id, a.bbox, a.area, a.iscrowd, a.ignore});
    crowd += a.iscrowd;
  }
  for (const auto& d : results) dt.push_back({d.image_id, d.category_id, d.bbox, d.score});
  metrics::CocoEvalOptions options;
  options.use_ignore_flag = flags.get_bool("use-ignore");
  metrics::CocoEvalResult r = metrics::coco_evaluate(images, categories, gt, dt, options);

  std::printf("coco: %zu images, %zu categories, %zu ground truth (%lld crowd), %zu detections\n", images.size(),
              categories.size(), gt.size(), static_cast<long long>(crowd), dt.size());
  if (r.ignored_detections > 0)
    std::printf("coco: %lld detections name a category not in the ground truth and are skipped (as pycocotools)\n",
                static_cast<long long>(r.ignored_detections));
  for (int i = 0; i < metrics::kCocoStats; ++i) std::printf("%s\n", metrics::coco_summary_line(i, r.stats[i]).c_str());
  std::printf("\nper-class AP@[.50:.95] (area all, maxDets 100; -1: no ground truth)\n");
  std::printf("%10s  %-24s %7s\n", "id", "name", "AP");
  for (size_t k = 0; k < r.category_ids.size(); ++k)
    std::printf("%10lld  %-24s %7.3f\n", static_cast<long long>(r.category_ids[k]), r.category_names[k].c_str(),
                r.class_ap[k]);

  json::Value metrics = json::Value::object();
  for (int i = 0; i < metrics::kCocoStats; ++i)
    metrics[metrics::kCocoStatNames[i]] = r.stats[i] < 0 ? -1.0 : 100.0 * r.stats[i];
  std::printf("%s\n", final_json_line("iris-eval", "coco", metrics).c_str());
  return 0;
}

}  // namespace iris::eval
