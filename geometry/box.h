// The one box type of the tree, and its geometry: area, intersection, IoU. Header-only and below
// every folder (it includes nothing of iris), so the worlds (data/synth/), drawing, metrics and the
// detection helpers (geometry/box_ops.h, nms.h, atss.h) share it without an arrow going up.
//
// The pixel convention, stated once: a box is its corners (x0, y0) and (x1, y1) in pixels of the
// image, 0-based, with x1/y1 EXCLUSIVE: it covers the columns [x0, x1) and the rows [y0, y1), so
// its width is x1 - x0 and the tight box of a mask is {min x, min y, max x + 1, max y + 1}. Sub-pixel
// boxes (a detector's, a MOT file's) use the same reading on the continuous plane, where pixel
// (x, y) is the square [x, x + 1) x [y, y + 1). MOT files count from 1 (data/mot_format.h converts).
// Leaves out: rotated boxes, and any clipping (a box may leave the image: amodal ground truth).
#pragma once

#include <algorithm>

namespace iris {

struct Box {
  double x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  double width() const { return x1 - x0; }
  double height() const { return y1 - y0; }
  bool empty() const { return !(x1 > x0 && y1 > y0); }  // also true for NaN corners
  bool operator==(const Box& o) const { return x0 == o.x0 && y0 == o.y0 && x1 == o.x1 && y1 == o.y1; }
  bool operator!=(const Box& o) const { return !(*this == o); }
};

// From MOT-style left, top, width, height (0-based pixels).
inline Box box_from_size(double left, double top, double width, double height) {
  return {left, top, left + width, top + height};
}

// Pixels covered; 0 for an empty box.
inline double area(const Box& b) { return b.empty() ? 0.0 : b.width() * b.height(); }

// The overlap of a and b (empty when they do not overlap; its area is then 0).
inline Box intersect(const Box& a, const Box& b) {
  return {std::max(a.x0, b.x0), std::max(a.y0, b.y0), std::min(a.x1, b.x1), std::min(a.y1, b.y1)};
}

// Intersection over union in [0, 1]; 0 when the boxes do not overlap (also for two empty boxes).
inline double iou(const Box& a, const Box& b) {
  const double inter = area(intersect(a, b));
  if (inter <= 0) return 0.0;
  const double uni = area(a) + area(b) - inter;
  return uni > 0 ? inter / uni : 0.0;
}

}  // namespace iris
