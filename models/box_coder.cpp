// Box coding (box_coder.h), written with autograd ops in the references' order of operations.
#include "models/box_coder.h"

#include <array>
#include <string>

#include "autograd/ops.h"

namespace iris::models {

namespace {

void check_boxes(const char* op, const char* what, const Tensor& t) {
  IRIS_CHECK(t.defined() && t.dim() >= 1 && t.shape()[t.dim() - 1] == 4, op, ": ", what,
             " must be [..., 4] (x0, y0, x1, y1 or offsets), got ",
             t.defined() ? shape_str(t.shape()) : std::string("an undefined tensor"));
}

// The four columns of a [..., 4] tensor, each [..., 1].
std::array<Tensor, 4> columns(const Tensor& t) {
  const int64_t last = t.dim() - 1;
  return {t.slice(last, 0, 1), t.slice(last, 1, 2), t.slice(last, 2, 3), t.slice(last, 3, 4)};
}

// (cx, cy, w, h) columns of corners, w = x1 - x0 + extra, cx = x0 + w / 2.
std::array<Tensor, 4> centre_size(const Tensor& boxes, double extra) {
  auto [x0, y0, x1, y1] = columns(boxes);
  Tensor w = extra != 0 ? x1 - x0 + extra : x1 - x0;
  Tensor h = extra != 0 ? y1 - y0 + extra : y1 - y0;
  return {x0 + w * 0.5, y0 + h * 0.5, w, h};
}

}  // namespace

Tensor corners_to_center(const Tensor& boxes) {
  check_boxes("corners_to_center", "boxes", boxes);
  auto [cx, cy, w, h] = centre_size(boxes, 0.0);
  return cat({cx, cy, w, h}, -1);
}

Tensor center_to_corners(const Tensor& boxes) {
  check_boxes("center_to_corners", "boxes", boxes);
  auto [cx, cy, w, h] = columns(boxes);
  Tensor hw = w * 0.5, hh = h * 0.5;
  return cat({cx - hw, cy - hh, cx + hw, cy + hh}, -1);
}

Tensor encode_boxes(const Tensor& boxes, const Tensor& anchors, const BoxCoderOptions& coder) {
  check_boxes("encode_boxes", "boxes", boxes);
  check_boxes("encode_boxes", "anchors", anchors);
  const double extra = coder.plus_one ? 1.0 : 0.0;
  auto [cx, cy, w, h] = centre_size(boxes, extra);
  auto [ax, ay, aw, ah] = centre_size(anchors, extra);
  return cat({(cx - ax) * coder.x / aw, (cy - ay) * coder.y / ah, log(w / aw) * coder.w, log(h / ah) * coder.h},
             -1);
}

Tensor decode_boxes(const Tensor& offsets, const Tensor& anchors, const BoxCoderOptions& coder) {
  check_boxes("decode_boxes", "offsets", offsets);
  check_boxes("decode_boxes", "anchors", anchors);
  IRIS_CHECK(coder.x > 0 && coder.y > 0 && coder.w > 0 && coder.h > 0,
             "decode_boxes: the coder weights must be positive, got ", coder.x, ", ", coder.y, ", ", coder.w, ", ",
             coder.h);
  const double bound = std::log(1000.0 / 16.0);
  const double extra = coder.plus_one ? 1.0 : 0.0;
  auto [dx, dy, dw, dh] = columns(offsets);
  auto [ax, ay, aw, ah] = centre_size(anchors, extra);
  Tensor cx = dx / coder.x * aw + ax, cy = dy / coder.y * ah + ay;
  Tensor w = exp(clamp(dw / coder.w, -INFINITY, bound)) * aw;
  Tensor h = exp(clamp(dh / coder.h, -INFINITY, bound)) * ah;
  Tensor hw = w * 0.5, hh = h * 0.5;
  Tensor x1 = cx + hw, y1 = cy + hh;
  if (coder.plus_one) x1 = x1 - 1.0, y1 = y1 - 1.0;
  return cat({cx - hw, cy - hh, x1, y1}, -1);
}

}  // namespace iris::models
