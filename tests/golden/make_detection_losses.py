"""Golden data for losses/detection and multi_positive_infonce (tests/test_detection_losses.cpp), all in
f64: each loss's value and the gradient of it (or of its sum, for reduction 'none') w.r.t. its inputs.
  sigmoid focal loss    torchvision.ops.sigmoid_focal_loss (none / sum / mean)
  masked focal loss     GLIP's token_sigmoid_binary_focal_loss (masked_select by the text mask) / num_pos
  GIoU loss             torchvision.ops.generalized_box_iou_loss
  CenterNet focal loss  CenterNet's _neg_loss on _sigmoid (clamped) logits, with heatmaps drawn by a
                        transcription of CenterNet's gaussian_radius / gaussian2D / draw_umich_gaussian
  weighted BCE          F.binary_cross_entropy_with_logits(weight=...)
  KL divergence         F.kl_div(reduction="batchmean", log_target=False)
  multi-positive NCE    -(1/|P(i)|) sum_{j in P(i)} log_softmax(z_i)_j, mean over rows with a positive
Rerun: /work/venv/bin/python tests/golden/make_detection_losses.py
"""
import math
import os

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from safetensors.torch import save_file
from torchvision.ops import generalized_box_iou_loss, sigmoid_focal_loss

from centernet_ref import draw_umich_gaussian, gaussian_radius

torch.manual_seed(1818)
D = torch.float64
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "detection_losses.safetensors")
T = {}


def leaf(t):
    return t.clone().detach().requires_grad_(True)


# ---- sigmoid focal loss (torchvision) ----
x = leaf(torch.randn(6, 7, dtype=D) * 2)
t = (torch.rand(6, 7, dtype=D) < 0.3).to(D)
t[0, :3] = torch.tensor([0.25, 0.5, 0.9], dtype=D)  # soft targets too
T["focal.logits"], T["focal.targets"] = x.detach(), t
for alpha, gamma, tag in [(0.25, 2.0, ""), (-1.0, 1.5, "_noalpha")]:
    T[f"focal.none{tag}"] = sigmoid_focal_loss(x, t, alpha, gamma, "none").detach()
    for red in ("sum", "mean"):
        x.grad = None
        loss = sigmoid_focal_loss(x, t, alpha, gamma, red)
        loss.backward()
        T[f"focal.{red}{tag}"], T[f"focal.grad_{red}{tag}"] = loss.detach(), x.grad.clone()


# ---- GLIP's masked token focal loss ----
def token_sigmoid_binary_focal_loss(pred_logits, targets, alpha, gamma, text_mask):
    text_mask = (text_mask > 0).unsqueeze(1).repeat(1, pred_logits.size(1), 1)
    pred_logits = torch.masked_select(pred_logits, text_mask)
    targets = torch.masked_select(targets, text_mask)
    p = torch.sigmoid(pred_logits)
    ce_loss = F.binary_cross_entropy_with_logits(pred_logits, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce_loss * ((1 - p_t) ** gamma)
    alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
    return alpha_t * loss


B, A, L = 2, 5, 6
x = leaf(torch.randn(B, A, L, dtype=D) * 2)
mask = torch.tensor([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 0]], dtype=torch.bool)
tg = torch.zeros(B, A, L, dtype=D)
tg[0, 1, 0:2] = 1  # anchor 1 of image 0 matches the phrase of tokens 0-1
tg[0, 3, 2] = 1
tg[1, 0, 4] = 1
tg[1, 2, 1:3] = 1
num_pos = float((tg.sum(-1) > 0).sum())  # positive anchors
loss = token_sigmoid_binary_focal_loss(x, tg, 0.25, 2.0, mask).sum() / max(num_pos, 1.0)
loss.backward()
T["masked.logits"], T["masked.targets"], T["masked.mask"] = x.detach(), tg, mask.to(torch.uint8)
T["masked.num_pos"], T["masked.loss"], T["masked.grad"] = torch.tensor(num_pos, dtype=D), loss.detach(), x.grad.clone()


# ---- GIoU loss (torchvision) ----
def rand_boxes(n):
    xy = torch.rand(n, 2, dtype=D) * 20
    return torch.cat([xy, xy + torch.rand(n, 2, dtype=D) * 10 + 0.5], 1)


p, g = leaf(rand_boxes(10)), rand_boxes(10)
with torch.no_grad():
    p[1] = g[1] + 0.3  # overlapping pairs, and some far apart
    p[2] = g[2] + torch.tensor([40.0, 40.0, 40.0, 40.0], dtype=D)
T["giou.pred"], T["giou.target"] = p.detach().clone(), g
T["giou.none"] = generalized_box_iou_loss(p, g, "none").detach()
for red in ("sum", "mean"):
    p.grad = None
    loss = generalized_box_iou_loss(p, g, reduction=red)
    loss.backward()
    T[f"giou.{red}"], T[f"giou.grad_{red}"] = loss.detach(), p.grad.clone()


# ---- CenterNet: gaussian_radius, draw_umich_gaussian, _neg_loss ----


sizes = [(3.0, 4.0), (10.0, 2.5), (17.0, 23.0), (1.0, 1.0), (40.0, 7.0), (0.5, 30.0)]
T["centernet.sizes"] = torch.tensor(sizes, dtype=D)
T["centernet.radii"] = torch.tensor([gaussian_radius(s) for s in sizes], dtype=D)
T["centernet.radii_0.5"] = torch.tensor([gaussian_radius(s, 0.5) for s in sizes], dtype=D)
C, H, W = 3, 12, 16
objects = []  # (class, cx, cy, h, w): centres near the border too, so the window is clipped
for _ in range(5):
    objects.append((int(torch.randint(0, C, ())), float(torch.rand(()) * (W - 0.01)), float(torch.rand(()) * (H - 0.01)),
                    float(torch.rand(()) * 8 + 1), float(torch.rand(()) * 8 + 1)))
objects.append((0, 0.2, 11.5, 6.0, 9.0))
objects.append((0, 15.7, 0.0, 3.0, 3.0))
hm = np.zeros((C, H, W), dtype=np.float64)
radii = []
for c, cx, cy, h, w in objects:
    r = max(0, int(gaussian_radius((math.ceil(h), math.ceil(w)))))
    radii.append(r)
    draw_umich_gaussian(hm[c], (cx, cy), r)
T["centernet.objects"] = torch.tensor(objects, dtype=D)
T["centernet.object_radii"] = torch.tensor(radii)
T["centernet.heatmap"] = torch.from_numpy(hm.copy())


def neg_loss(pred, gt):
    pos_inds = gt.eq(1).float()
    neg_inds = gt.lt(1).float()
    neg_weights = torch.pow(1 - gt, 4)
    loss = 0
    pos_loss = torch.log(pred) * torch.pow(1 - pred, 2) * pos_inds
    neg_loss = torch.log(1 - pred) * torch.pow(pred, 2) * neg_weights * neg_inds
    num_pos = pos_inds.float().sum()
    pos_loss, neg_loss = pos_loss.sum(), neg_loss.sum()
    if num_pos == 0:
        return loss - neg_loss
    return loss - (pos_loss + neg_loss) / num_pos


x = leaf(torch.randn(1, C, H, W, dtype=D) * 3)
with torch.no_grad():
    x[0, 0, :2, :3] = 12.0  # saturated: the clamp at 1 - 1e-4 holds, no gradient there
gt = torch.from_numpy(hm.copy()).unsqueeze(0)
loss = neg_loss(torch.clamp(x.sigmoid(), min=1e-4, max=1 - 1e-4), gt)
loss.backward()
T["centernet.logits"], T["centernet.loss"], T["centernet.grad"] = x.detach().clone(), loss.detach(), x.grad.clone()
x.grad = None
gt0 = gt * 0.9  # no peak: the negative sum alone
loss = neg_loss(torch.clamp(x.sigmoid(), min=1e-4, max=1 - 1e-4), gt0)
loss.backward()
T["centernet.loss_nopos"], T["centernet.grad_nopos"] = loss.detach(), x.grad.clone()

# ---- BCE with per-element weights ----
x = leaf(torch.randn(4, 9, dtype=D) * 2)
y = torch.rand(4, 9, dtype=D)
w = torch.rand(4, 9, dtype=D) * 2
w[1, :4] = 0
T["bce.logits"], T["bce.target"], T["bce.weight"] = x.detach(), y, w
T["bce.weight_row"] = w[0]
for red in ("sum", "mean"):
    x.grad = None
    loss = F.binary_cross_entropy_with_logits(x, y, weight=w, reduction=red)
    loss.backward()
    T[f"bce.{red}"], T[f"bce.grad_{red}"] = loss.detach(), x.grad.clone()
x.grad = None
loss = F.binary_cross_entropy_with_logits(x, y, weight=w[0], reduction="mean")  # a broadcast [9] weight
loss.backward()
T["bce.mean_row"], T["bce.grad_mean_row"] = loss.detach(), x.grad.clone()

# ---- KL divergence, batchmean ----
s = leaf(torch.log_softmax(torch.randn(5, 8, dtype=D), -1))
q = leaf(torch.softmax(torch.randn(5, 8, dtype=D) * 2, -1))
loss = F.kl_div(s, q, reduction="batchmean", log_target=False)
loss.backward()
T["kl.input"], T["kl.target"] = s.detach(), q.detach()
T["kl.loss"], T["kl.grad_input"], T["kl.grad_target"] = loss.detach(), s.grad.clone(), q.grad.clone()

# ---- multi-positive InfoNCE ----
z = leaf(torch.randn(6, 7, dtype=D) * 2)
pos = torch.rand(6, 7) < 0.3
pos[0] = False  # a row without positives: left out of the mean
pos[1, :] = False
pos[1, 3] = True
posf = pos.to(D)
rows = posf.sum(1) > 0
per_row = -(posf * torch.log_softmax(z, 1)).sum(1) / posf.sum(1).clamp(min=1)
loss = per_row[rows].mean()
loss.backward()
T["nce.logits"], T["nce.positives"] = z.detach(), pos.to(torch.uint8)
T["nce.loss"], T["nce.grad"] = loss.detach(), z.grad.clone()

T = {k: v.detach().clone().contiguous() for k, v in T.items()}
save_file(T, OUT, metadata={"torch": torch.__version__, "torchvision": torchvision.__version__})
print(f"wrote {OUT}: {len(T)} tensors, {os.path.getsize(OUT)} bytes")
