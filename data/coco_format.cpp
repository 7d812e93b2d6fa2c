// COCO instances and results JSON (coco_format.h): each field read through one helper that knows
// the file and the JSON path, so every error says where and what was expected.
#include "data/coco_format.h"

#include <cmath>
#include <unordered_set>

#include "io/file_util.h"
#include "io/json.h"
#include "tensor/error.h"

namespace iris::data {

namespace {

const char* kind(const json::Value& v) {
  switch (v.type()) {
    case json::Value::Type::null: return "null";
    case json::Value::Type::boolean: return "a bool";
    case json::Value::Type::number: return "a number";
    case json::Value::Type::string: return "a string";
    case json::Value::Type::array: return "an array";
    case json::Value::Type::object: return "an object";
  }
  return "?";
}

// A value and where it is: file name and JSON path.
struct Node {
  const json::Value& v;
  const std::string& file;
  std::string path;

  template <class... Args>
  [[noreturn]] void fail(const Args&... what) const {
    throw Error(cat_str("coco: ", file, ": ", path.empty() ? "the top level" : path, ": ", what...));
  }
  std::string child_path(const std::string& key) const { return path.empty() ? key : path + "." + key; }

  const json::Value* find(const char* key) const {
    if (!v.is_object()) fail("expected an object, got ", kind(v));
    return v.find(key);
  }
  Node at(const char* key) const {
    const json::Value* c = find(key);
    if (!c) fail("missing key \"", key, "\"");
    return {*c, file, child_path(key)};
  }
  Node at(size_t i) const { return {v[i], file, path + "[" + std::to_string(i) + "]"}; }
  const std::vector<json::Value>& array() const {
    if (!v.is_array()) fail("expected an array, got ", kind(v));
    return v.elements();
  }
  double number() const {
    if (!v.is_number()) fail("expected a number, got ", kind(v));
    return v.as_number();
  }
  int64_t integer() const {
    if (!v.is_number()) fail("expected an integer id, got ", kind(v));
    double d = v.as_number();
    if (!v.is_integer() && !(d == std::floor(d) && std::fabs(d) < 9e15)) fail("expected an integer id, got ", d);
    return v.is_integer() ? v.as_int() : static_cast<int64_t>(d);
  }
  // A 0/1 flag (pycocotools takes it by truth value): a bool or an integer.
  bool flag() const {
    if (v.is_bool()) return v.as_bool();
    if (v.is_number() && v.as_number() == std::floor(v.as_number())) return v.as_number() != 0;
    fail("expected 0, 1 or a bool, got ", v.is_number() ? std::to_string(v.as_number()) : kind(v));
  }
  std::string text() const {
    if (!v.is_string()) fail("expected a string, got ", kind(v));
    return v.as_string();
  }
  std::array<double, 4> box() const {
    if (!v.is_array() || v.size() != 4)
      fail("expected [x, y, width, height] (an array of 4 numbers), got ",
           v.is_array() ? std::to_string(v.size()) + " values" : kind(v));
    std::array<double, 4> b{};
    for (size_t i = 0; i < 4; ++i) b[i] = at(i).number();
    if (b[2] < 0 || b[3] < 0) fail("negative box size ", b[2], " x ", b[3], " (width and height must be >= 0)");
    return b;
  }
};

json::Value parse_text(const std::string& text, const std::string& name) {
  try {
    return json::parse(text);
  } catch (const Error& e) {
    throw Error(cat_str("coco: ", name, ": ", e.what()));
  }
}

}  // namespace

CocoInstances parse_coco_instances(const std::string& text, const std::string& name) {
  const json::Value root = parse_text(text, name);
  Node top{root, name, ""};
  CocoInstances out;

  std::unordered_set<int64_t> image_ids, category_ids, annotation_ids;
  Node images = top.at("images");
  for (size_t i = 0; i < images.array().size(); ++i) {
    Node im = images.at(i);
    CocoImage image;
    Node id = im.at("id");
    image.id = id.integer();
    if (!image_ids.insert(image.id).second) id.fail("image id ", image.id, " appears twice");
    if (im.find("file_name")) image.file_name = im.at("file_name").text();
    out.images.push_back(image);
  }
  Node cats = top.at("categories");
  for (size_t i = 0; i < cats.array().size(); ++i) {
    Node c = cats.at(i);
    CocoCategoryInfo cat;
    Node id = c.at("id");
    cat.id = id.integer();
    if (!category_ids.insert(cat.id).second) id.fail("category id ", cat.id, " appears twice");
    if (c.find("name")) cat.name = c.at("name").text();
    out.categories.push_back(cat);
  }
  Node anns = top.at("annotations");
  for (size_t i = 0; i < anns.array().size(); ++i) {
    Node a = anns.at(i);
    CocoAnnotation ann;
    Node id = a.at("id");
    ann.id = id.integer();
    if (!annotation_ids.insert(ann.id).second) id.fail("annotation id ", ann.id, " appears twice");
    Node image = a.at("image_id");
    ann.image_id = image.integer();
    if (!image_ids.count(ann.image_id)) image.fail("image ", ann.image_id, " is not in \"images\"");
    Node cat = a.at("category_id");
    ann.category_id = cat.integer();
    if (!category_ids.count(ann.category_id)) cat.fail("category ", ann.category_id, " is not in \"categories\"");
    ann.bbox = a.at("bbox").box();
    ann.area = a.find("area") ? a.at("area").number() : ann.bbox[2] * ann.bbox[3];
    if (a.find("iscrowd")) ann.iscrowd = a.at("iscrowd").flag();
    if (a.find("ignore")) ann.ignore = a.at("ignore").flag();
    out.annotations.push_back(ann);
  }
  return out;
}

CocoInstances read_coco_instances(const std::string& path) { return parse_coco_instances(read_file(path), path); }

std::vector<CocoDetection> parse_coco_results(const std::string& text, const CocoInstances& instances,
                                              const std::string& name) {
  const json::Value root = parse_text(text, name);
  Node top{root, name, ""};
  if (!root.is_array()) top.fail("expected an array of detections [{\"image_id\", \"category_id\", \"bbox\", \"score\"}, ...], got ", kind(root));
  std::unordered_set<int64_t> image_ids;
  for (const CocoImage& im : instances.images) image_ids.insert(im.id);
  std::vector<CocoDetection> out;
  out.reserve(root.size());
  for (size_t i = 0; i < root.size(); ++i) {
    Node d = top.at(i);
    CocoDetection det;
    Node image = d.at("image_id");
    det.image_id = image.integer();
    if (!image_ids.count(det.image_id))
      image.fail("image ", det.image_id, " is not in the ground truth's images (the results do not belong to it)");
    det.category_id = d.at("category_id").integer();
    det.bbox = d.at("bbox").box();
    det.score = d.at("score").number();
    out.push_back(det);
  }
  return out;
}

std::vector<CocoDetection> read_coco_results(const std::string& path, const CocoInstances& instances) {
  return parse_coco_results(read_file(path), instances, path);
}

}  // namespace iris::data
