"""Golden data for OUTrack's pieces (tests/test_outrack.cpp), written from papers/outrack.md 5.2 and 5.3, in f64:
  - the cycle loss (5.2, the official CycleLoss as the spec states it): F = normalize([cur; pre]), S = F F^T with a
    -inf diagonal, a detached placeholder column (mean of the off-diagonal S), A = softmax(t [S | p]) by rows with
    t = log(K + 1) / eps (K = columns, eps = 0.5), within-frame sum |A[cur,cur]| + |A[pre,pre]|, cycle sum
    |A[cur,pre] - A[pre,cur]^T|, margin sum relu(top2 - top1 + 0.5) over rows (placeholder included), all summed
    over a batch of pairs and divided by the total N + M. Values and gradients of the embeddings for the default
    and for each arm (no placeholder, no cycle term, median and zero placeholders), plus each term of pair 0;
  - the occlusion targets (5.3, gen_occlusion_target as the spec states it): boxes clipped to the map, every ordered
    pair with intersection / min area > 0.7, a CenterNet Gaussian (gaussian_radius of ceil(h), ceil(w), int, and
    draw_umich_gaussian) at the intersection's centre, its index y * W + x and offset, into outrack_occlusion.json.
Rerun: /work/venv/bin/python tests/golden/make_outrack.py
"""
import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from centernet_ref import draw_umich_gaussian, gaussian_radius

HERE = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(26)
dt = torch.float64
out = {}


# ---- the cycle loss ------------------------------------------------------------------------------
def assignment(cur, pre, eps=0.5, placeholder="mean"):
    f = F.normalize(torch.cat([cur, pre], 0), dim=1)
    s = f @ f.t()
    T = s.shape[0]
    diag = torch.eye(T, dtype=torch.bool)
    logits = s.masked_fill(diag, -math.inf)
    if placeholder != "none":
        valid = s.detach()[~diag]
        if placeholder == "mean":
            p = valid.mean() if valid.numel() else torch.zeros((), dtype=dt)
        elif placeholder == "median":
            p = valid.median() if valid.numel() else torch.zeros((), dtype=dt)
        else:
            p = torch.zeros((), dtype=dt)
        logits = torch.cat([logits, p.expand(T, 1)], 1)
    K = logits.shape[1]
    t = math.log(K + 1) / eps
    return torch.softmax(t * logits, 1)


def terms(cur, pre, eps=0.5, margin=0.5, placeholder="mean", cycle=True):
    N, M = cur.shape[0], pre.shape[0]
    zero = torch.zeros((), dtype=dt)
    if N + M == 0 or (N + M == 1 and placeholder == "none"):
        return zero, zero, zero
    A = assignment(cur, pre, eps, placeholder)
    T = N + M
    within = A[:N, :N].abs().sum() + A[N:T, N:T].abs().sum()
    cyc = (A[:N, N:T] - A[N:T, :N].t()).abs().sum() if cycle and N and M else zero
    top = torch.topk(A, 2, dim=1).values
    marg = F.relu(top[:, 1] - top[:, 0] + margin).sum()
    return within, cyc, marg


def batch_loss(curs, pres, **kw):
    total, objects = torch.zeros((), dtype=dt), 0
    for c, p in zip(curs, pres):
        w, cy, m = terms(c, p, **kw)
        total = total + w + cy + m
        objects += c.shape[0] + p.shape[0]
    return total / objects if objects else total


D = 6
sizes = [(4, 5), (3, 3), (2, 1)]  # (N, M) per pair
curs = [torch.randn(n, D, dtype=dt) for n, _ in sizes]
pres = [torch.randn(m, D, dtype=dt) for _, m in sizes]
# make pair 0 look like a real pair: previous objects 0..2 are noisy copies of current 0..2
pres[0][:3] = curs[0][:3] + 0.3 * torch.randn(3, D, dtype=dt)
for b in range(len(sizes)):
    out[f"input.cur{b}"], out[f"input.pre{b}"] = curs[b], pres[b]

arms = {"default": {}, "no_placeholder": {"placeholder": "none"}, "no_cycle": {"cycle": False},
        "median": {"placeholder": "median"}, "zero": {"placeholder": "zero"}}
for name, kw in arms.items():
    c = [x.clone().requires_grad_(True) for x in curs]
    p = [x.clone().requires_grad_(True) for x in pres]
    loss = batch_loss(c, p, **kw)
    loss.backward()
    out[f"{name}.loss"] = loss.detach()
    for b in range(len(sizes)):
        out[f"{name}.grad.cur{b}"], out[f"{name}.grad.pre{b}"] = c[b].grad, p[b].grad

w, cy, m = terms(curs[0], pres[0])
out["pair0.within"], out["pair0.cycle"], out["pair0.margin"] = w, cy, m
out["pair0.assignment"] = assignment(curs[0], pres[0])
out["pair0.assignment_no_placeholder"] = assignment(curs[0], pres[0], placeholder="none")
# eps = 0.25, margin 0.3: the options reach the formulas
w2, cy2, m2 = terms(curs[0], pres[0], eps=0.25, margin=0.3)
out["pair0.eps025_m03_total"] = w2 + cy2 + m2
# degenerate pairs: an empty previous frame (3, 0) and one object per frame (1, 1), each alone in its batch
for name, (n, m) in {"empty_prev": (3, 0), "one_each": (1, 1)}.items():
    c = torch.randn(n, D, dtype=dt, requires_grad=True)
    p = torch.randn(m, D, dtype=dt, requires_grad=True)
    loss = batch_loss([c], [p])
    loss.backward()
    out[f"{name}.cur"], out[f"{name}.pre"], out[f"{name}.loss"] = c.detach(), p.detach(), loss.detach()
    out[f"{name}.grad.cur"] = c.grad if c.grad is not None else torch.zeros_like(c)
out = {k: v.contiguous() for k, v in out.items()}
save_file(out, os.path.join(HERE, "outrack.safetensors"))


# ---- occlusion targets ----------------------------------------------------------------------------
def gen_occlusion_target(boxes, H, W, thr=0.7, max_occ=2000):
    b = np.array(boxes, dtype=np.float64).reshape(-1, 4)
    b[:, [0, 2]] = np.clip(b[:, [0, 2]], 0, W - 1)
    b[:, [1, 3]] = np.clip(b[:, [1, 3]], 0, H - 1)
    hm = np.zeros((H, W))
    res = {"index": [], "offset": [], "centre": [], "radius": [], "pair": []}
    area = lambda r: max(r[2] - r[0], 0) * max(r[3] - r[1], 0)
    for i in range(len(b)):
        for j in range(len(b)):
            if i == j:
                continue
            small = min(area(b[i]), area(b[j]))
            if small <= 0:
                continue
            x0, y0 = max(b[i][0], b[j][0]), max(b[i][1], b[j][1])
            x1, y1 = min(b[i][2], b[j][2]), min(b[i][3], b[j][3])
            if not (x1 > x0 and y1 > y0) or (x1 - x0) * (y1 - y0) / small <= thr:
                continue
            if len(res["index"]) >= max_occ:
                break
            cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
            r = max(0, int(gaussian_radius((math.ceil(y1 - y0), math.ceil(x1 - x0)))))
            draw_umich_gaussian(hm, (cx, cy), r)
            ix, iy = int(cx), int(cy)
            res["index"].append(iy * W + ix)
            res["offset"] += [cx - ix, cy - iy]
            res["centre"] += [cx, cy]
            res["radius"].append(r)
            res["pair"] += [i, j]
    res["heatmap"] = hm.reshape(-1).tolist()
    return res


rng = np.random.default_rng(5)
cases = []
H, W = 24, 32
# a hand-made scene: 0 and 1 overlap heavily (1 almost inside 0), 2 overlaps 0 lightly, 3 leaves the map
# and is clipped, overlapping 4 heavily after clipping; 5 is empty.
hand = [[2.0, 3.0, 12.5, 15.0], [4.3, 5.1, 11.2, 14.7], [10.0, 1.0, 18.0, 9.0], [26.0, 18.0, 40.0, 30.0],
        [27.5, 19.2, 33.0, 26.0], [5.0, 5.0, 5.0, 9.0]]
cases.append({"name": "hand", "height": H, "width": W, "boxes": hand})
for c in range(3):  # random crowded scenes
    n = int(rng.integers(5, 12))
    xy = rng.uniform(0, [W - 4, H - 4], size=(n, 2))
    wh = rng.uniform(2, 10, size=(n, 2))
    boxes = np.concatenate([xy, xy + wh], 1)
    dup = rng.integers(0, n, size=3)  # a few near-copies so heavy overlaps exist
    boxes = np.concatenate([boxes, boxes[dup] + rng.normal(0, 0.6, size=(3, 4))], 0)
    cases.append({"name": f"random{c}", "height": H, "width": W, "boxes": boxes.round(3).tolist()})
cases.append({"name": "no_overlap", "height": H, "width": W, "boxes": [[1, 1, 5, 5], [10, 10, 14, 14]]})
cases.append({"name": "one_box", "height": H, "width": W, "boxes": [[1, 1, 5, 5]]})
cases.append({"name": "empty", "height": H, "width": W, "boxes": []})
for case in cases:
    case["targets"] = gen_occlusion_target(case["boxes"], case["height"], case["width"])
with open(os.path.join(HERE, "outrack_occlusion.json"), "w") as fh:
    json.dump({"generator": "tests/golden/make_outrack.py", "cases": cases}, fh)
print("wrote outrack.safetensors and outrack_occlusion.json;",
      {c["name"]: len(c["targets"]["index"]) for c in cases})
