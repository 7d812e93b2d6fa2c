// Box layouts and the IoU / GIoU matrices (box_ops.h): tensors are read to f64 on the host, computed
// with torchvision's formulas in its order of operations, and written back in the input's dtype.
#include "geometry/box_ops.h"

#include <algorithm>
#include <string>

namespace iris {

namespace {

void check_rows(const char* op, const char* what, const Tensor& t, bool any_leading) {
  const bool ok = t.defined() && (any_leading ? t.dim() >= 1 : t.dim() == 2) && t.shape()[t.dim() - 1] == 4;
  IRIS_CHECK(ok, op, ": ", what, any_leading ? " must be [..., 4]" : " must be [N, 4]", ", got ",
             t.defined() ? shape_str(t.shape()) : std::string("an undefined tensor"));
  IRIS_CHECK(is_floating(t.dtype()), op, ": ", what, " must be a float tensor, got ", dtype_name(t.dtype()));
}

std::vector<double> host(const Tensor& t) { return t.cpu().to(DType::f64).contiguous().to_vector<double>(); }

// f64 values back into a tensor shaped and typed like `like`'s float dtype, on its device.
Tensor back(const std::vector<double>& v, const Shape& shape, const Tensor& like) {
  return from_vector(v, shape).to(like.dtype()).to(like.device());
}

template <class F>
std::vector<double> pairwise(const std::vector<Box>& a, const std::vector<Box>& b, F f) {
  std::vector<double> out(a.size() * b.size());
  for (size_t i = 0; i < a.size(); ++i)
    for (size_t j = 0; j < b.size(); ++j) out[i * b.size() + j] = f(a[i], b[j]);
  return out;
}

double raw_area(const Box& b) { return (b.x1 - b.x0) * (b.y1 - b.y0); }

// torchvision's _box_inter_union for one pair: sides clamped at 0, union = area_a + area_b - inter.
void inter_union(const Box& a, const Box& b, double& inter, double& uni) {
  const double w = std::max(0.0, std::min(a.x1, b.x1) - std::max(a.x0, b.x0));
  const double h = std::max(0.0, std::min(a.y1, b.y1) - std::max(a.y0, b.y0));
  inter = w * h;
  uni = raw_area(a) + raw_area(b) - inter;
}

double pair_iou(const Box& a, const Box& b) {
  double inter, uni;
  inter_union(a, b, inter, uni);
  return inter / uni;
}

double pair_giou(const Box& a, const Box& b) {
  double inter, uni;
  inter_union(a, b, inter, uni);
  const double iou = inter / uni;
  const double w = std::max(0.0, std::max(a.x1, b.x1) - std::min(a.x0, b.x0));
  const double h = std::max(0.0, std::max(a.y1, b.y1) - std::min(a.y0, b.y0));
  const double c = w * h;
  return iou - (c - uni) / c;
}

}  // namespace

std::vector<Box> boxes_from_tensor(const Tensor& boxes) {
  check_rows("boxes_from_tensor", "boxes", boxes, false);
  std::vector<double> v = host(boxes);
  std::vector<Box> out(static_cast<size_t>(boxes.shape()[0]));
  for (size_t i = 0; i < out.size(); ++i) out[i] = {v[4 * i], v[4 * i + 1], v[4 * i + 2], v[4 * i + 3]};
  return out;
}

Tensor boxes_to_tensor(const std::vector<Box>& boxes, DType dtype) {
  std::vector<double> v;
  v.reserve(boxes.size() * 4);
  for (const Box& b : boxes)
    for (double x : {b.x0, b.y0, b.x1, b.y1}) v.push_back(x);
  return from_vector(v, {static_cast<int64_t>(boxes.size()), 4}).to(dtype);
}

Tensor box_convert(const Tensor& boxes, BoxFormat from, BoxFormat to) {
  check_rows("box_convert", "boxes", boxes, true);
  std::vector<double> v = host(boxes);
  for (size_t i = 0; i + 3 < v.size(); i += 4) {
    double& a = v[i];
    double& b = v[i + 1];
    double& c = v[i + 2];
    double& d = v[i + 3];
    // to xyxy first
    if (from == BoxFormat::xywh) {
      c = a + c, d = b + d;
    } else if (from == BoxFormat::cxcywh) {
      const double x0 = a - 0.5 * c, y0 = b - 0.5 * d, x1 = a + 0.5 * c, y1 = b + 0.5 * d;
      a = x0, b = y0, c = x1, d = y1;
    }
    if (to == BoxFormat::xywh) {
      c = c - a, d = d - b;
    } else if (to == BoxFormat::cxcywh) {
      const double cx = (a + c) / 2, cy = (b + d) / 2, w = c - a, h = d - b;
      a = cx, b = cy, c = w, d = h;
    }
  }
  return back(v, boxes.shape(), boxes);
}

Tensor box_area(const Tensor& boxes) {
  check_rows("box_area", "boxes", boxes, false);
  std::vector<Box> b = boxes_from_tensor(boxes);
  std::vector<double> out(b.size());
  for (size_t i = 0; i < b.size(); ++i) out[i] = raw_area(b[i]);
  return back(out, {static_cast<int64_t>(b.size())}, boxes);
}

std::vector<double> box_iou(const std::vector<Box>& a, const std::vector<Box>& b) { return pairwise(a, b, pair_iou); }

std::vector<double> generalized_box_iou(const std::vector<Box>& a, const std::vector<Box>& b) {
  return pairwise(a, b, pair_giou);
}

Tensor box_iou(const Tensor& a, const Tensor& b) {
  check_rows("box_iou", "a", a, false);
  check_rows("box_iou", "b", b, false);
  return back(box_iou(boxes_from_tensor(a), boxes_from_tensor(b)), {a.shape()[0], b.shape()[0]}, a);
}

Tensor generalized_box_iou(const Tensor& a, const Tensor& b) {
  check_rows("generalized_box_iou", "a", a, false);
  check_rows("generalized_box_iou", "b", b, false);
  return back(generalized_box_iou(boxes_from_tensor(a), boxes_from_tensor(b)), {a.shape()[0], b.shape()[0]}, a);
}

}  // namespace iris
