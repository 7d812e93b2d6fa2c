// Box geometry on [N, 4] tensors, shared by detectors, metrics and trackers: the Box <-> tensor
// bridge, the three layouts (xyxy, xywh, cxcywh), areas, and the pairwise IoU and GIoU matrices of
// torchvision.ops (box_iou, generalized_box_iou). Boxes follow geometry/box.h: corners, x1/y1
// exclusive, so a width is x1 - x0 with no "+1". Everything here runs on the host in f64 and is
// not differentiable (the differentiable forms are autograd ops: models/box_coder.h for coding,
// losses/detection.h for the GIoU loss); results come back in the input's float dtype and device.
// Leaves out: rotated boxes, clipping to an image, DIoU/CIoU.
#pragma once

#include <vector>

#include "geometry/box.h"
#include "tensor/tensor.h"

namespace iris {

// Rows of a [N, 4] corner tensor as boxes (host copy), and back ([N, 4] of dtype on the CPU).
std::vector<Box> boxes_from_tensor(const Tensor& boxes);
Tensor boxes_to_tensor(const std::vector<Box>& boxes, DType dtype = DType::f32);

// xyxy: (x0, y0, x1, y1); xywh: (x0, y0, w, h) as COCO and MOT files; cxcywh: (cx, cy, w, h).
enum class BoxFormat { xyxy, xywh, cxcywh };
// [..., 4] in one layout -> the same shape in another (torchvision.ops.box_convert).
Tensor box_convert(const Tensor& boxes, BoxFormat from, BoxFormat to);

// [N, 4] xyxy -> [N]: (x1 - x0) (y1 - y0), unclamped as torchvision's box_area.
Tensor box_area(const Tensor& boxes);

// a [N, 4], b [M, 4] xyxy -> [N, M]. IoU: inter / (area_a + area_b - inter) with the intersection's
// sides clamped at 0 (torchvision's box_iou: 0 / 0 = NaN for two empty boxes, unlike geometry/box.h's
// iou, which says 0). GIoU: IoU - (C - U) / C with C the smallest enclosing box's area.
Tensor box_iou(const Tensor& a, const Tensor& b);
Tensor generalized_box_iou(const Tensor& a, const Tensor& b);

// The same matrices on host boxes, row-major [N * M] f64.
std::vector<double> box_iou(const std::vector<Box>& a, const std::vector<Box>& b);
std::vector<double> generalized_box_iou(const std::vector<Box>& a, const std::vector<Box>& b);

}  // namespace iris
