// COCO-style box detection AP/AR, computed exactly as pycocotools' COCOeval (iouType "bbox") does:
//   * per image and category, detections sorted by descending score (stable, as numpy's mergesort: ties
//     keep the input order) and cut to the largest maxDets (100); gt sorted with ignored ones last (stable);
//   * IoU of boxes [x, y, w, h]: intersection over union, or over the detection's area when the gt is a
//     crowd region; a crowd gt can match any number of detections;
//   * greedy matching per IoU threshold (.50:.05:.95): each detection in score order takes the
//     unmatched gt of highest IoU >= the threshold (on equal IoU the later gt in that order), regular gts
//     before ignored ones; a detection matched to an ignored gt (crowd, `ignore`, or outside the area
//     range) is ignored, as is an unmatched detection whose own area (w * h) is outside the range;
//   * area ranges all [0, 1e10], small [0, 32^2], medium [32^2, 96^2], large [96^2, 1e10] on the gt's
//     `area` field (both ends inclusive), maxDets 1 / 10 / 100;
//   * per (category, area range, maxDets), detections of all images merged by score (stable, images in
//     ascending id order), precision made monotone from the right and read at the 101 recall thresholds
//     0:.01:1 (0 past the highest recall reached); -1 where the category has no non-ignored gt there;
//   * the 12 summary numbers: means over the entries that are not -1, -1 when there are none.
// pycocotools' quirks are kept, since results must equal it: the `ignore` field of a gt file is overwritten
// with iscrowd by pycocotools (data/coco_format.h reads it; CocoGtAnnotation::ignore honours it only where
// the caller sets it), and a detection matched to a gt whose annotation id is 0 counts as unmatched (it
// stores the matched id and tests it for zero).
// Leaves out: segm and keypoint evaluation, useCats = 0, the `scores` array of accumulate().
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace iris::metrics {

struct CocoImage {
  int64_t id = 0;
};

struct CocoCategory {
  int64_t id = 0;
  std::string name;
};

struct CocoGtAnnotation {
  int64_t id = 0;  // annotation id (0 is legal but, as in pycocotools, a match to it counts as a miss)
  int64_t image_id = 0;
  int64_t category_id = 0;
  std::array<double, 4> bbox{};  // x, y, width, height
  double area = 0;               // decides the area range (COCO files: the segmentation's area)
  bool iscrowd = false;          // a crowd region: ignored, IoU over the detection's area, matches many
  bool ignore = false;           // ignored like a crowd region but matched one to one (see the top)
};

struct CocoDetection {
  int64_t image_id = 0;
  int64_t category_id = 0;
  std::array<double, 4> bbox{};  // x, y, width, height; its area is width * height
  double score = 0;
};

struct CocoGroundTruth {
  std::vector<CocoImage> images;          // every image evaluated, with or without annotations
  std::vector<CocoCategory> categories;   // every category evaluated
  std::vector<CocoGtAnnotation> annotations;
};

// COCOeval's default parameters for boxes (Params.setDetParams): thresholds as np.linspace makes them.
struct CocoParams {
  std::vector<double> iou_thresholds;     // .50:.05:.95 (10)
  std::vector<double> recall_thresholds;  // 0:.01:1 (101)
  std::vector<int64_t> max_dets{1, 10, 100};
  std::vector<std::array<double, 2>> area_ranges{{0, 1e10}, {0, 1024}, {1024, 9216}, {9216, 1e10}};
  std::vector<std::string> area_labels{"all", "small", "medium", "large"};
  CocoParams();
};

// The 12 summary numbers, in pycocotools' order (stats[0..11]), and their names in iris-eval's JSON line.
constexpr int kCocoStatCount = 12;
extern const std::array<const char*, kCocoStatCount> kCocoStatNames;  // "ap", "ap50", ..., "ar_large"

struct CocoEvalResult {
  CocoParams params;
  std::vector<int64_t> category_ids;  // sorted: the K axis
  std::vector<int64_t> image_ids;     // sorted, unique
  // precision [T, R, K, A, M] and recall [T, K, A, M], row-major, -1 where undefined (as eval['precision']).
  std::vector<double> precision, recall;
  std::array<double, kCocoStatCount> stats{};  // as COCOeval.stats (fractions; -1 where undefined)
  // Per category (the K axis): AP@[.5:.95] over area "all", maxDets 100: the mean of precision entries
  // that are not -1, or -1 when the category has no non-ignored gt (detectron2's per-category AP).
  std::vector<double> per_class_ap;
  std::vector<int64_t> gt_count;      // [K] non-crowd, non-ignored gt per category (all areas)
  std::vector<int64_t> dt_count;      // [K] detections per category (all of them, before maxDets)
  int64_t unknown_category_detections = 0;  // detections of categories not in the gt (never evaluated)

  size_t T() const { return params.iou_thresholds.size(); }
  size_t R() const { return params.recall_thresholds.size(); }
  size_t K() const { return category_ids.size(); }
  size_t A() const { return params.area_ranges.size(); }
  size_t M() const { return params.max_dets.size(); }
  double precision_at(size_t t, size_t r, size_t k, size_t a, size_t m) const {
    return precision[(((t * R() + r) * K() + k) * A() + a) * M() + m];
  }
  double recall_at(size_t t, size_t k, size_t a, size_t m) const {
    return recall[((t * K() + k) * A() + a) * M() + m];
  }
};

// evaluate() + accumulate() + summarize(). Throws iris::Error when a detection or annotation names an
// image not in gt.images (pycocotools' loadRes: "Results do not correspond to current coco set"), an
// annotation names a category not in gt.categories, or a score or box value is not finite. Detections of
// unknown categories are counted and left out, as pycocotools leaves them out.
CocoEvalResult coco_evaluate(const CocoGroundTruth& gt, const std::vector<CocoDetection>& detections,
                             const CocoParams& params = CocoParams());

// pycocotools' IoU of boxes [x, y, w, h] (maskApi.c bbIou): 0 without overlap; crowd: over the detection's area.
double coco_box_iou(const std::array<double, 4>& dt, const std::array<double, 4>& gt, bool crowd);

// The 12 lines summarize() prints, character for character, e.g.
// " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.357".
std::vector<std::string> coco_summary_lines(const CocoEvalResult& result);

}  // namespace iris::metrics
