// COCO JSON files for box detection: the instances file (images, categories, annotations) and a
// results file (a list of {image_id, category_id, bbox, score}), read with io/json.h.
// Boxes are COCO's [x, y, width, height] in pixels. Every error names the file, the JSON path
// (e.g. `annotations[12].bbox`) and what was expected.
// Instances: images[].id, categories[].id (name optional), annotations[].{id, image_id,
// category_id, bbox} required; area defaults to width * height and iscrowd / ignore to 0 where
// pycocotools would stop on the missing key. Ids must be integers; duplicate image, category or
// annotation ids, and annotations naming an unknown image or category, are errors.
// Results: as pycocotools' loadRes, a detection naming an image that is not in the instances file
// is an error; one naming an unknown category is kept (the evaluation skips it, as COCOeval does).
// Other keys (segmentation, info, licenses, width, height, ...) are read past.
// Leaves out: segmentation masks (polygons, RLE), keypoints, captions, and writing these files.
// The structs mirror metrics/coco_eval.h's (data/ may not include metrics/); apps convert.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace iris::data {

struct CocoImage {
  int64_t id = 0;
  std::string file_name;  // "" when absent
};

struct CocoCategoryInfo {
  int64_t id = 0;
  std::string name;  // "" when absent
};

struct CocoAnnotation {
  int64_t id = 0, image_id = 0, category_id = 0;
  std::array<double, 4> bbox{};  // x, y, width, height
  double area = 0;
  bool iscrowd = false, ignore = false;
};

struct CocoInstances {
  std::vector<CocoImage> images;
  std::vector<CocoCategoryInfo> categories;
  std::vector<CocoAnnotation> annotations;
};

struct CocoDetection {
  int64_t image_id = 0, category_id = 0;
  std::array<double, 4> bbox{};
  double score = 0;
};

// `name` is the file name used in the errors.
CocoInstances parse_coco_instances(const std::string& text, const std::string& name = "<instances>");
CocoInstances read_coco_instances(const std::string& path);

// Checks every image_id against `instances`.
std::vector<CocoDetection> parse_coco_results(const std::string& text, const CocoInstances& instances,
                                              const std::string& name = "<results>");
std::vector<CocoDetection> read_coco_results(const std::string& path, const CocoInstances& instances);

}  // namespace iris::data
