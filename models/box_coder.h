// Box coding, the one differentiable piece of box geometry (written with autograd ops, so a GIoU loss
// on decoded boxes trains the regression head through it): corners <-> centre/size, and the
// anchor-relative offsets a head predicts, as torchvision's BoxCoder (plus_one = false) or as
// FCOS/ATSS/GLIP's maskrcnn_benchmark BoxCoder (plus_one = true: TO_REMOVE = 1, widths x1 - x0 + 1 and
// decoded x1 = cx + w / 2 - 1, for pixel-inclusive corners). Box tensors are [..., 4] corners
// (x0, y0, x1, y1); the tree's convention is x1/y1 exclusive (geometry/box.h), i.e. plus_one = false.
// The host-side geometry (layouts, IoU matrices, NMS, ATSS) is in geometry/box_ops.h, nms.h, atss.h.
// Leaves out: anchor generation, heads, losses (losses/detection.h).
#pragma once

#include <cmath>

#include "tensor/tensor.h"

namespace iris::models {

// [..., 4] (x0, y0, x1, y1) <-> [..., 4] (cx, cy, w, h): w = x1 - x0, cx = x0 + w / 2. Differentiable.
Tensor corners_to_center(const Tensor& boxes);
Tensor center_to_corners(const Tensor& boxes);

// The weights of the offsets (Faster R-CNN's second stage and GLIP/ATSS use 10, 10, 5, 5; 1 everywhere is
// RetinaNet's), and the +1 width convention (see above).
struct BoxCoderOptions {
  double x = 1, y = 1, w = 1, h = 1;
  bool plus_one = false;
};
// GLIP's coder (ATSS head): weights (10, 10, 5, 5) with TO_REMOVE = 1.
inline constexpr BoxCoderOptions kGlipBoxCoder{10, 10, 5, 5, true};

// Offsets of boxes from anchors (both [..., 4] corners, broadcastable; anchors must have w, h > 0), with
// w = x1 - x0 (+1), cx = x0 + w / 2:
//   dx = wx (cx - acx) / aw,  dy = wy (cy - acy) / ah,  dw = ww log(w / aw),  dh = wh log(h / ah).
Tensor encode_boxes(const Tensor& boxes, const Tensor& anchors, const BoxCoderOptions& coder = {});
// The inverse: offsets [..., 4] and anchors -> corners [..., 4] (x1 = cx + w / 2, minus 1 when plus_one).
// dw / ww and dh / wh are clamped above at log(1000 / 16) (both references' bound) so that exp stays
// finite for wild predictions. Differentiable.
Tensor decode_boxes(const Tensor& offsets, const Tensor& anchors, const BoxCoderOptions& coder = {});

}  // namespace iris::models
