// COCO box detection evaluation, the same numbers as pycocotools' COCOeval(iouType='bbox'):
// evaluate() + accumulate() + summarize() with the default parameters.
//   IoU thresholds .50:.05:.95 (T = 10), recall thresholds 0:.01:1 (R = 101), area ranges
//   all [0, 1e10], small [0, 32²], medium [32², 96²], large [96², 1e10] (bounds included, on the
//   ground truth's `area` field and the detection's w*h), maxDets 1, 10, 100 (M = 3).
// Per image and category: detections sorted by descending score (stable: input order breaks ties),
// at most 100 kept; ground truth ignored (crowd, or `area` out of range) sorted last. Each
// detection in turn takes the unmatched ground truth of highest IoU >= t (a later one wins a tie);
// once it holds a regular one it never moves to an ignored one. Crowd ground truth may take any
// number of detections, with IoU = intersection / detection area. A detection matched to an
// ignored ground truth, or unmatched with its area out of range, is ignored.
// Per category, area range and maxDets: the kept detections of every image pooled, stably sorted by
// score (images in ascending id order), precision made monotone from the right, read at the first
// rank whose recall >= each recall threshold (0 past the last recall reached).
// Undefined entries are -1: a category with no regular ground truth in that area range has
// precision and recall -1; summaries average only entries > -1, and are -1 when none is.
// pycocotools' quirks kept on purpose so the numbers agree:
//   - the annotation `ignore` field is replaced by `iscrowd` (it has no effect) unless
//     CocoEvalOptions::use_ignore_flag is set;
//   - a match to a ground truth whose id is 0 counts as no match (pycocotools stores matched ids
//     and tests them against 0).
// Leaves out: segmentation masks and keypoints (OKS), useCats=0, custom thresholds / ranges, and
// accumulate()'s `scores` array.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace iris::metrics {

struct CocoCategory {
  int64_t id = 0;
  std::string name;
};

// A ground-truth annotation. bbox is x, y, width, height in pixels (any origin convention: only
// differences matter).
struct CocoGt {
  int64_t id = 0;
  int64_t image_id = 0;
  int64_t category_id = 0;
  std::array<double, 4> bbox{};
  double area = 0;        // used for the area ranges (COCO's is the mask area, not w*h)
  bool iscrowd = false;
  bool ignore = false;    // only read with CocoEvalOptions::use_ignore_flag (see above)
};

// A detection (one entry of a COCO results file).
struct CocoDet {
  int64_t image_id = 0;
  int64_t category_id = 0;
  std::array<double, 4> bbox{};  // x, y, width, height
  double score = 0;
};

struct CocoEvalOptions {
  // Also ignore ground truth whose `ignore` is set (pycocotools overwrites it with iscrowd).
  bool use_ignore_flag = false;
};

// The order of pycocotools' stats: AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl.
constexpr int kCocoStats = 12;
// Short names, as in iris-eval's JSON line: ap, ap50, ap75, ap_small, ... ar_large.
extern const std::array<const char*, kCocoStats> kCocoStatNames;

struct CocoEvalResult {
  static constexpr int T = 10, R = 101, A = 4, M = 3;
  std::array<double, kCocoStats> stats{};  // fractions in [0, 1], or -1 where undefined
  std::vector<int64_t> category_ids;       // [K] ascending
  std::vector<std::string> category_names; // [K]
  std::vector<double> class_ap;            // [K] AP@[.5:.95], area all, 100 dets; -1 without gt
  std::vector<double> precision;           // [T][R][K][A][M] row-major, -1 where undefined
  std::vector<double> recall;              // [T][K][A][M], -1 where undefined
  int64_t ignored_detections = 0;          // detections whose category is not in `categories`
  double precision_at(int t, int r, int k, int a, int m) const;
  double recall_at(int t, int k, int a, int m) const;
};

// The IoU thresholds and recall thresholds exactly as numpy's linspace makes them.
std::array<double, CocoEvalResult::T> coco_iou_thresholds();
std::array<double, CocoEvalResult::R> coco_recall_thresholds();

// IoU of two xywh boxes as pycocotools' bbIou: 0 unless the overlap is positive in both axes;
// crowd: intersection / area of `det`.
double coco_box_iou(const std::array<double, 4>& det, const std::array<double, 4>& gt, bool crowd);

// Evaluates every image in `image_ids` and every category. Throws iris::Error on duplicate image,
// category or annotation ids, an annotation or detection whose image is not listed, ground truth of
// an unknown category, or a negative or non-finite box. Detections of unknown categories are
// skipped (as pycocotools does) and counted in ignored_detections.
CocoEvalResult coco_evaluate(const std::vector<int64_t>& image_ids, const std::vector<CocoCategory>& categories,
                             const std::vector<CocoGt>& gt, const std::vector<CocoDet>& detections,
                             const CocoEvalOptions& options = {});

// pycocotools' summary line i (0..11), e.g.
// " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.362".
std::string coco_summary_line(int i, double value);

}  // namespace iris::metrics
