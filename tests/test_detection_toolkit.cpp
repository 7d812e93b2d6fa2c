// The detection toolkit against its references (tests/golden/detection_toolkit.safetensors, written by
// make_detection_toolkit.py): box layouts and IoU / GIoU matrices against torchvision.ops, box coding
// against torchvision's BoxCoder and GLIP's (TO_REMOVE = 1) transcribed, NMS and batched NMS against
// torchvision on 24 random sets (tied scores, integer corners with IoUs equal to the threshold,
// duplicates, empty sets) with the kept indices compared exactly, top-k against a stable torch.sort,
// and ATSS against a transcription of GLIP's ATSSLossComputation (8 images, both IoU conventions).
// Also: the errors, and ATSS without ground truth.
#include <string>

#include "geometry/atss.h"
#include "geometry/box_ops.h"
#include "geometry/nms.h"
#include "io/safetensors.h"
#include "models/box_coder.h"
#include "tests/helpers.h"

using namespace iris;

namespace {

const SafetensorsFile& golden() {
  static SafetensorsFile g = load_safetensors("tests/golden/detection_toolkit.safetensors");
  return g;
}
const Tensor& G(const std::string& name) { return golden().get(name); }
std::vector<int64_t> ints(const Tensor& t) { return t.to(DType::i64).to_vector<int64_t>(); }
int64_t count(const char* key) { return std::stoll(golden().metadata.at(key)); }

}  // namespace

TEST_CASE("box layouts, IoU and GIoU matrices equal torchvision.ops") {
  const char* fmts[] = {"xyxy", "xywh", "cxcywh"};
  const BoxFormat kinds[] = {BoxFormat::xyxy, BoxFormat::xywh, BoxFormat::cxcywh};
  for (int f = 0; f < 3; ++f) {
    CHECK_CLOSE(box_convert(G("box.a"), BoxFormat::xyxy, kinds[f]), G(std::string("box.a_") + fmts[f]), 1e-12, 1e-12);
    for (int g = 0; g < 3; ++g) {
      INFO(fmts[f], " -> ", fmts[g]);
      Tensor in = G(std::string("box.a_") + fmts[f]);
      CHECK_CLOSE(box_convert(in, kinds[f], kinds[g]), G(std::string("box.convert_") + fmts[f] + "_" + fmts[g]),
                  1e-12, 1e-12);
    }
  }
  CHECK_CLOSE(box_iou(G("box.a"), G("box.b")), G("box.iou"), 1e-15, 1e-12);
  CHECK_CLOSE(generalized_box_iou(G("box.a"), G("box.b")), G("box.giou"), 1e-15, 1e-12);
  // f32 in, f32 out; geometry/box.h's iou agrees with the matrix on these valid boxes
  CHECK(box_iou(G("box.a").to(DType::f32), G("box.b")).dtype() == DType::f32);
  std::vector<Box> a = boxes_from_tensor(G("box.a")), b = boxes_from_tensor(G("box.b"));
  CHECK(box_iou(a, b)[5 * b.size() + 3] == doctest::Approx(iou(a[5], b[3])).epsilon(1e-14));
  CHECK_CLOSE(box_area(G("box.a")), G("box.a_xywh").slice(1, 2, 3).squeeze(1) * G("box.a_xywh").slice(1, 3, 4).squeeze(1),
              1e-12, 1e-12);
  CHECK_THROWS_WITH_SUBSTR(box_iou(zeros({3, 5}), G("box.b")), "box_iou: a must be [N, 4]");
  CHECK_THROWS_WITH_SUBSTR(box_convert(zeros({3, 4}, DType::i64), BoxFormat::xyxy, BoxFormat::xywh),
                           "must be a float tensor");
}

TEST_CASE("box coding equals torchvision's BoxCoder and GLIP's (TO_REMOVE = 1)") {
  using namespace iris::models;
  const BoxCoderOptions tv{10, 10, 5, 5};
  CHECK_CLOSE(encode_boxes(G("coder.boxes"), G("coder.anchors"), tv), G("coder.tv_encoded"), 1e-12, 1e-12);
  CHECK_CLOSE(decode_boxes(G("coder.offsets"), G("coder.anchors"), tv), G("coder.tv_decoded"), 1e-12, 1e-12);
  CHECK_CLOSE(encode_boxes(G("coder.boxes"), G("coder.anchors"), kGlipBoxCoder), G("coder.glip_encoded"), 1e-12, 1e-12);
  CHECK_CLOSE(decode_boxes(G("coder.offsets"), G("coder.anchors"), kGlipBoxCoder), G("coder.glip_decoded"), 1e-12,
              1e-12);
  // the conventions differ (else the +1 test would prove nothing), and each round-trips
  CHECK(testing::allclose(G("coder.tv_encoded"), G("coder.glip_encoded"), 1e-6, 0).ok == false);
  CHECK_CLOSE(decode_boxes(encode_boxes(G("coder.boxes"), G("coder.anchors"), kGlipBoxCoder), G("coder.anchors"),
                           kGlipBoxCoder),
              G("coder.boxes"), 1e-11, 1e-12);
}

TEST_CASE("NMS and batched NMS keep exactly torchvision's indices") {
  const int64_t sets = count("nms_sets");
  REQUIRE(sets >= 20);
  int64_t some_suppressed = 0;
  for (int64_t i = 0; i < sets; ++i) {
    const std::string p = "nms." + std::to_string(i) + ".";
    INFO("set ", i);
    NmsOptions o;
    o.iou_threshold = G(p + "iou_threshold").item();
    const Tensor &boxes = G(p + "boxes"), &scores = G(p + "scores"), &classes = G(p + "classes");
    CHECK(ints(nms(boxes, scores, Tensor(), o)) == ints(G(p + "keep")));
    CHECK(ints(batched_nms(boxes, scores, classes, o)) == ints(G(p + "batched_keep")));
    // the host form agrees, and f32 boxes (integer corners are exact in f32) give the same
    CHECK(nms(boxes_from_tensor(boxes), scores.to_vector<double>(), ints(classes), o) == ints(G(p + "batched_keep")));
    if (G(p + "keep").numel() < boxes.shape()[0]) ++some_suppressed;
  }
  CHECK(some_suppressed >= sets / 2);  // the sets exercise suppression, not only the sort
}

TEST_CASE("top-k: descending (or ascending), ties to the lower index, as a stable torch.sort") {
  for (int i = 0; i < count("topk_sets"); ++i) {
    const std::string p = "topk." + std::to_string(i) + ".";
    INFO("set ", i);
    const int64_t k = static_cast<int64_t>(G(p + "k").item());
    CHECK(ints(topk_indices(G(p + "values"), k)) == ints(G(p + "largest")));
    CHECK(ints(topk_indices(G(p + "values"), k, false)) == ints(G(p + "smallest")));
  }
  CHECK(topk_indices(std::vector<double>{1, NAN, 3}, 2) == std::vector<int64_t>{1, 2});  // NaN as the largest
  CHECK(topk_indices(std::vector<double>{1, NAN, 3}, 3, false) == std::vector<int64_t>{0, 2, 1});
  CHECK_THROWS_WITH_SUBSTR(topk_indices(std::vector<double>{1}, -1), "k must be >= 0");
}

TEST_CASE("ATSS assignment equals GLIP's ATSSLossComputation") {
  const int64_t sets = count("atss_sets");
  int64_t positives = 0;
  for (int64_t i = 0; i < sets; ++i) {
    const std::string p = "atss." + std::to_string(i) + ".";
    std::vector<int64_t> levels = ints(G(p + "levels"));
    std::vector<Box> anchors = boxes_from_tensor(G(p + "anchors")), gts = boxes_from_tensor(G(p + "gts"));
    for (bool plus_one : {false, true}) {
      INFO("set ", i, plus_one ? " (TO_REMOVE = 1)" : " (x1 exclusive)");
      const std::string s = plus_one ? "_plus_one" : "";
      AtssOptions o;
      o.topk = static_cast<int64_t>(G(p + "topk").item());
      o.plus_one = plus_one;
      AtssAssignment r = atss_assign(anchors, levels, gts, o);
      CHECK(r.gt == ints(G(p + "assigned" + s)));
      CHECK_CLOSE(from_vector(r.iou), G(p + "iou" + s), 1e-15, 1e-12);
      CHECK_CLOSE(from_vector(r.threshold), G(p + "threshold" + s), 1e-15, 1e-12);
      CHECK(ints(atss_assign(G(p + "anchors"), levels, G(p + "gts"), o)) == r.gt);
      if (!plus_one) continue;
      std::vector<double> cness(anchors.size(), 0.0);
      for (size_t a = 0; a < anchors.size(); ++a)
        if (r.gt[a] >= 0) cness[a] = centerness_target(anchors[a], gts[static_cast<size_t>(r.gt[a])]), ++positives;
      CHECK_CLOSE(from_vector(cness), G(p + "centerness"), 1e-9, 1e-9);
    }
  }
  CHECK(positives >= sets);
  // no ground truth: all background; malformed levels are refused
  std::vector<Box> anchors = {{0, 0, 8, 8}, {8, 0, 16, 8}};
  CHECK(atss_assign(anchors, {2}, {}).gt == std::vector<int64_t>{-1, -1});
  CHECK_THROWS_WITH_SUBSTR(atss_assign(anchors, {3}, {{0, 0, 4, 4}}), "anchors_per_level sums to 3");
}
