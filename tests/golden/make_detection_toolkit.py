"""Golden data for the detection toolkit (tests/test_detection_toolkit.cpp): box layouts and the IoU /
GIoU matrices (torchvision.ops), box coding (torchvision's BoxCoder and a transcription of GLIP's
maskrcnn_benchmark BoxCoder with TO_REMOVE = 1), NMS and batched NMS (torchvision.ops.nms /
batched_nms on random sets with tied scores and exact-threshold IoUs), top-k (a stable torch.sort), and
ATSS assignment (a transcription of GLIP's ATSSLossComputation, POSITIVE_TYPE 'ATSS', in torch).
Everything in f64. Rerun: /work/venv/bin/python tests/golden/make_detection_toolkit.py
"""
import math
import os

import torch
import torchvision
from safetensors.torch import save_file
from torchvision.models.detection._utils import BoxCoder
from torchvision.ops import batched_nms, box_convert, box_iou, generalized_box_iou, nms

torch.manual_seed(18)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "detection_toolkit.safetensors")
T = {}
D = torch.float64


def random_boxes(n, size=60.0, integer=False):
    xy = torch.rand(n, 2, dtype=D) * size
    wh = torch.rand(n, 2, dtype=D) * size / 2 + 0.5
    if integer:
        xy, wh = xy.floor(), wh.ceil()
    return torch.cat([xy, xy + wh], 1)


# ---- layouts, IoU, GIoU ----
a, b = random_boxes(12), random_boxes(9)
T["box.a"], T["box.b"] = a, b
fmts = ["xyxy", "xywh", "cxcywh"]
for f in fmts:
    src = box_convert(a, "xyxy", f)
    T[f"box.a_{f}"] = src
for f in fmts:
    for g in fmts:
        T[f"box.convert_{f}_{g}"] = box_convert(T[f"box.a_{f}"], f, g)
T["box.iou"] = box_iou(a, b)
T["box.giou"] = generalized_box_iou(a, b)

# ---- box coding ----
anchors = random_boxes(10)
targets = random_boxes(10)
T["coder.anchors"], T["coder.boxes"] = anchors, targets
tv = BoxCoder(weights=(10.0, 10.0, 5.0, 5.0))
T["coder.tv_encoded"] = tv.encode_single(targets, anchors)
offsets = torch.randn(10, 4, dtype=D)
offsets[0, 2] = 50.0  # past the log(1000/16) clamp
T["coder.offsets"] = offsets
T["coder.tv_decoded"] = tv.decode_single(offsets, anchors)


def glip_encode(gt, ex, w=(10.0, 10.0, 5.0, 5.0)):
    # maskrcnn_benchmark BoxCoder.encode(reference_boxes=gt, proposals=ex), TO_REMOVE = 1
    TO_REMOVE = 1
    ex_w = ex[:, 2] - ex[:, 0] + TO_REMOVE
    ex_h = ex[:, 3] - ex[:, 1] + TO_REMOVE
    ex_cx = ex[:, 0] + 0.5 * ex_w
    ex_cy = ex[:, 1] + 0.5 * ex_h
    gt_w = gt[:, 2] - gt[:, 0] + TO_REMOVE
    gt_h = gt[:, 3] - gt[:, 1] + TO_REMOVE
    gt_cx = gt[:, 0] + 0.5 * gt_w
    gt_cy = gt[:, 1] + 0.5 * gt_h
    wx, wy, ww, wh = w
    return torch.stack([wx * (gt_cx - ex_cx) / ex_w, wy * (gt_cy - ex_cy) / ex_h,
                        ww * torch.log(gt_w / ex_w), wh * torch.log(gt_h / ex_h)], 1)


def glip_decode(codes, boxes, w=(10.0, 10.0, 5.0, 5.0), clip=math.log(1000.0 / 16)):
    TO_REMOVE = 1
    widths = boxes[:, 2] - boxes[:, 0] + TO_REMOVE
    heights = boxes[:, 3] - boxes[:, 1] + TO_REMOVE
    ctr_x = boxes[:, 0] + 0.5 * widths
    ctr_y = boxes[:, 1] + 0.5 * heights
    wx, wy, ww, wh = w
    dx, dy = codes[:, 0] / wx, codes[:, 1] / wy
    dw = torch.clamp(codes[:, 2] / ww, max=clip)
    dh = torch.clamp(codes[:, 3] / wh, max=clip)
    pcx, pcy = dx * widths + ctr_x, dy * heights + ctr_y
    pw, ph = torch.exp(dw) * widths, torch.exp(dh) * heights
    return torch.stack([pcx - 0.5 * pw, pcy - 0.5 * ph, pcx + 0.5 * pw - 1, pcy + 0.5 * ph - 1], 1)


T["coder.glip_encoded"] = glip_encode(targets, anchors)
T["coder.glip_decoded"] = glip_decode(offsets, anchors)

# ---- NMS and batched NMS ----
NMS_SETS = 24
for i in range(NMS_SETS):
    n = [0, 1, 2][i] if i < 3 else int(torch.randint(5, 70, ()))
    integer = i % 2 == 0  # integer corners: exact IoU ties and IoUs equal to the threshold
    boxes = random_boxes(n, size=40.0, integer=integer)
    if i % 3 == 0:
        scores = torch.randint(0, 4, (n,)).to(D) / 4  # many equal scores
    else:
        scores = torch.rand(n, dtype=D)
    if i == 5 and n > 3:
        boxes[1] = boxes[0]  # duplicates
        boxes[3] = boxes[0]
        scores[3] = scores[0]
    classes = torch.randint(0, 3, (n,))
    thr = [0.3, 0.5, 0.7, 0.5][i % 4]
    T[f"nms.{i}.boxes"] = boxes
    T[f"nms.{i}.scores"] = scores
    T[f"nms.{i}.classes"] = classes
    T[f"nms.{i}.iou_threshold"] = torch.tensor(thr, dtype=D)
    T[f"nms.{i}.keep"] = nms(boxes, scores, thr)
    T[f"nms.{i}.batched_keep"] = batched_nms(boxes, scores, classes, thr)
    assert n <= 1000  # batched_nms takes the coordinate-offset path (its vanilla path re-sorts unstably)

# ---- top-k: torch.sort(stable=True) ----
for i, (n, k) in enumerate([(30, 5), (30, 30), (30, 40), (7, 0), (50, 9)]):
    v = torch.randint(0, 6, (n,)).to(D) if i % 2 == 0 else torch.rand(n, dtype=D)
    T[f"topk.{i}.values"] = v
    T[f"topk.{i}.k"] = torch.tensor(k)
    T[f"topk.{i}.largest"] = torch.sort(v, descending=True, stable=True).indices[:k]
    T[f"topk.{i}.smallest"] = torch.sort(v, descending=False, stable=True).indices[:k]
    # torch.topk picks the same values (its order among equal values is unspecified)
    assert torch.equal(torch.topk(v, min(k, n)).values, v[T[f"topk.{i}.largest"]])

# ---- ATSS: GLIP's ATSSLossComputation.prepare_targets, POSITIVE_TYPE == 'ATSS' ----
INF = 100000000


def boxlist_iou(b1, b2, TO_REMOVE):
    area1 = (b1[:, 2] - b1[:, 0] + TO_REMOVE) * (b1[:, 3] - b1[:, 1] + TO_REMOVE)
    area2 = (b2[:, 2] - b2[:, 0] + TO_REMOVE) * (b2[:, 3] - b2[:, 1] + TO_REMOVE)
    lt = torch.max(b1[:, None, :2], b2[:, :2])
    rb = torch.min(b1[:, None, 2:], b2[:, 2:])
    wh = (rb - lt + TO_REMOVE).clamp(min=0)
    inter = wh[:, :, 0] * wh[:, :, 1]
    return inter / (area1[:, None] + area2 - inter)


def glip_atss(anchors_per_level, bboxes_per_im, topk_per_level, TO_REMOVE):
    anchors_per_im = torch.cat(anchors_per_level, 0)
    num_gt = bboxes_per_im.shape[0]
    num_anchors_per_level = [len(x) for x in anchors_per_level]
    ious = boxlist_iou(anchors_per_im, bboxes_per_im, TO_REMOVE)
    gt_cx = (bboxes_per_im[:, 2] + bboxes_per_im[:, 0]) / 2.0
    gt_cy = (bboxes_per_im[:, 3] + bboxes_per_im[:, 1]) / 2.0
    gt_points = torch.stack((gt_cx, gt_cy), dim=1)
    anchors_cx = (anchors_per_im[:, 2] + anchors_per_im[:, 0]) / 2.0
    anchors_cy = (anchors_per_im[:, 3] + anchors_per_im[:, 1]) / 2.0
    anchor_points = torch.stack((anchors_cx, anchors_cy), dim=1)
    distances = (anchor_points[:, None, :] - gt_points[None, :, :]).pow(2).sum(-1).sqrt()
    candidate_idxs = []
    star_idx = 0
    for level in range(len(anchors_per_level)):
        end_idx = star_idx + num_anchors_per_level[level]
        distances_per_level = distances[star_idx:end_idx, :]
        topk = min(topk_per_level, num_anchors_per_level[level])
        _, topk_idxs_per_level = distances_per_level.topk(topk, dim=0, largest=False)
        candidate_idxs.append(topk_idxs_per_level + star_idx)
        star_idx = end_idx
    candidate_idxs = torch.cat(candidate_idxs, dim=0)
    candidate_ious = ious[candidate_idxs, torch.arange(num_gt)]
    iou_thresh_per_gt = candidate_ious.mean(0) + candidate_ious.std(0)
    is_pos = candidate_ious >= iou_thresh_per_gt[None, :]
    anchor_num = anchors_cx.shape[0]
    for ng in range(num_gt):
        candidate_idxs[:, ng] += ng * anchor_num
    e_anchors_cx = anchors_cx.view(1, -1).expand(num_gt, anchor_num).contiguous().view(-1)
    e_anchors_cy = anchors_cy.view(1, -1).expand(num_gt, anchor_num).contiguous().view(-1)
    candidate_idxs = candidate_idxs.view(-1)
    l = e_anchors_cx[candidate_idxs].view(-1, num_gt) - bboxes_per_im[:, 0]
    t = e_anchors_cy[candidate_idxs].view(-1, num_gt) - bboxes_per_im[:, 1]
    r = bboxes_per_im[:, 2] - e_anchors_cx[candidate_idxs].view(-1, num_gt)
    b = bboxes_per_im[:, 3] - e_anchors_cy[candidate_idxs].view(-1, num_gt)
    is_in_gts = torch.stack([l, t, r, b], dim=1).min(dim=1)[0] > 0.01
    is_pos = is_pos & is_in_gts
    ious_inf = torch.full_like(ious, -INF).t().contiguous().view(-1)
    index = candidate_idxs.view(-1)[is_pos.view(-1)]
    ious_inf[index] = ious.t().contiguous().view(-1)[index]
    ious_inf = ious_inf.view(num_gt, -1).t()
    values, indexes = ious_inf.max(dim=1)
    assigned = indexes.clone()
    assigned[values == -INF] = -1
    iou_of = torch.where(values == -INF, torch.zeros_like(values), values)
    # centerness targets of the positives, as compute_centerness_targets (decode of the encoded target)
    pos = assigned >= 0
    centerness = torch.zeros(anchor_num, dtype=D)
    if pos.any():
        anc = anchors_per_im[pos]
        gts = glip_decode(glip_encode(bboxes_per_im[indexes[pos]], anc), anc)
        acx, acy = (anc[:, 2] + anc[:, 0]) / 2, (anc[:, 3] + anc[:, 1]) / 2
        lr = torch.stack([acx - gts[:, 0], gts[:, 2] - acx], 1)
        tb = torch.stack([acy - gts[:, 1], gts[:, 3] - acy], 1)
        centerness[pos] = torch.sqrt((lr.min(-1)[0] / lr.max(-1)[0]) * (tb.min(-1)[0] / tb.max(-1)[0]))
    return assigned, iou_of, iou_thresh_per_gt, centerness


def grid_anchors(img, stride, size):
    n = int(math.ceil(img / stride))
    c = (torch.arange(n, dtype=D) + 0.5) * stride
    cy, cx = torch.meshgrid(c, c, indexing="ij")
    cx, cy = cx.reshape(-1), cy.reshape(-1)
    h = size / 2
    return torch.stack([cx - h, cy - h, cx + h, cy + h], 1)


ATSS_SETS = 8
for i in range(ATSS_SETS):
    img = 64
    strides = [8, 16] if i % 2 == 0 else [4, 8, 16, 32]
    levels = [grid_anchors(img, s, 4 * s) for s in strides]
    if i == 3:
        levels = [lv + torch.rand_like(lv) * 0.3 for lv in levels]  # off-grid anchors
    g = int(torch.randint(1, 7, ()))
    gts = random_boxes(g, size=50.0)
    if i == 4:
        gts = torch.cat([gts, gts[:1]])  # a duplicate gt: equal IoUs, the lower index wins
    topk = 9 if i != 6 else 20  # 20 > a 4 x 4 level: the whole level is a candidate
    T[f"atss.{i}.anchors"] = torch.cat(levels)
    T[f"atss.{i}.levels"] = torch.tensor([len(lv) for lv in levels])
    T[f"atss.{i}.gts"] = gts
    T[f"atss.{i}.topk"] = torch.tensor(topk)
    for plus_one in (0, 1):
        assigned, iou_of, thr, cness = glip_atss(levels, gts, topk, plus_one)
        suffix = "_plus_one" if plus_one else ""
        T[f"atss.{i}.assigned{suffix}"] = assigned
        T[f"atss.{i}.iou{suffix}"] = iou_of
        T[f"atss.{i}.threshold{suffix}"] = thr
        if plus_one:
            T[f"atss.{i}.centerness"] = cness
    assert (T[f"atss.{i}.assigned_plus_one"] >= 0).any(), f"set {i} has no positive"

T = {k: v.contiguous() for k, v in T.items()}
save_file(T, OUT, metadata={"torch": torch.__version__, "torchvision": torchvision.__version__,
                            "nms_sets": str(NMS_SETS), "atss_sets": str(ATSS_SETS), "topk_sets": "5"})
print(f"wrote {OUT}: {len(T)} tensors, {os.path.getsize(OUT)} bytes")
