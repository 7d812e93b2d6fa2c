"""Golden data for FaRL-mini's losses and pieces (tests/test_farl.cpp), all in f64:
  - ITC: CLIP's symmetric cross-entropy (mean of the two directions) with a logit scale, value and gradients;
  - MIM: cross-entropy of the visual-token logits at the masked positions only, value and gradient;
  - the total L = L_ITC + 1.0 L_MIM (FaRL's objective, lambda = 1) and its gradients;
  - soft-argmax (sigmoid heatmaps, normalised expectation) and the landmark loss (L1 + BCE-with-logits);
  - k-means assignment of points to fixed centroids (NumPy argmin of squared distances);
  - BEiT's blockwise mask generator (its masking_generator.py logic, Python's `random`) on an 8 x 8 grid
    aiming at 26 patches with blocks of at least 4: the statistics of 20000 masks (mean and std of the
    count, the share of masks that hit the target, the masking frequency per row and column).
Rerun: /work/venv/bin/python tests/golden/make_farl.py
"""
import math
import os
import random

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

torch.manual_seed(20)
out = {}
dt = torch.float64

# ---- ITC + MIM ---------------------------------------------------------------------------------
B, E, N, K = 6, 8, 10, 12
img = F.normalize(torch.randn(B, E, dtype=dt), dim=-1).requires_grad_(True)
txt = F.normalize(torch.randn(B, E, dtype=dt), dim=-1).requires_grad_(True)
scale = torch.tensor(7.5, dtype=dt, requires_grad=True)
logits = (torch.randn(B, N, K, dtype=dt) * 2).requires_grad_(True)
targets = torch.randint(0, K, (B, N))
mask = torch.rand(B, N) < 0.4
mask[0, 0] = True
out["input.img"], out["input.txt"], out["input.scale"] = img.detach(), txt.detach(), scale.detach()
out["input.logits"], out["input.targets"], out["input.mask"] = logits.detach(), targets, mask.to(torch.uint8)

z = scale * img @ txt.t()
labels = torch.arange(B)
itc = (F.cross_entropy(z, labels) + F.cross_entropy(z.t(), labels)) / 2
mim = F.cross_entropy(logits[mask], targets[mask])
total = itc + 1.0 * mim
total.backward()
out["out.itc"], out["out.mim"], out["out.total"] = itc.detach(), mim.detach(), total.detach()
out["grad.img"], out["grad.txt"], out["grad.scale"] = img.grad, txt.grad, scale.grad
out["grad.logits"] = logits.grad

# ---- soft-argmax and the landmark loss ------------------------------------------------------------
L, H = 3, 5
hm = torch.randn(2, L, H, H, dtype=dt, requires_grad=True)
p = torch.sigmoid(hm).reshape(2, L, H * H)
w = p / p.sum(-1, keepdim=True)
ys, xs = torch.meshgrid(torch.arange(H, dtype=dt), torch.arange(H, dtype=dt), indexing="ij")
coords = torch.stack([(w * xs.reshape(-1)).sum(-1), (w * ys.reshape(-1)).sum(-1)], -1)  # [2, L, 2]
true = torch.rand(2, L, 2, dtype=dt) * (H - 1)
target_hm = torch.rand(2, L, H, H, dtype=dt)
lm = F.l1_loss(coords / H, true / H) + F.binary_cross_entropy_with_logits(hm, target_hm)
lm.backward()
out["input.heatmaps"], out["input.true"], out["input.target_heatmaps"] = hm.detach(), true, target_hm
out["out.coords"], out["out.landmark_loss"], out["grad.heatmaps"] = coords.detach(), lm.detach(), hm.grad

# ---- k-means assignment -----------------------------------------------------------------------
pts = np.random.default_rng(3).normal(size=(50, 6))
cents = np.random.default_rng(4).normal(size=(7, 6))
d = ((pts[:, None, :] - cents[None, :, :]) ** 2).sum(-1)
out["input.points"], out["input.centroids"] = torch.from_numpy(pts), torch.from_numpy(cents)
out["out.assign"] = torch.from_numpy(d.argmin(1).astype(np.int64))


# ---- BEiT blockwise masking ---------------------------------------------------------------------
class MaskingGenerator:  # the logic of BEiT's masking_generator.py
    def __init__(self, size, num_masking_patches, min_num_patches=4, max_num_patches=None, min_aspect=0.3,
                 max_aspect=None):
        self.height = self.width = size
        self.num_masking_patches = num_masking_patches
        self.min_num_patches = min_num_patches
        self.max_num_patches = num_masking_patches if max_num_patches is None else max_num_patches
        max_aspect = max_aspect or 1 / min_aspect
        self.log_aspect_ratio = (math.log(min_aspect), math.log(max_aspect))

    def _mask(self, mask, max_mask_patches):
        delta = 0
        for _ in range(10):
            target_area = random.uniform(self.min_num_patches, max_mask_patches)
            aspect_ratio = math.exp(random.uniform(*self.log_aspect_ratio))
            h = int(round(math.sqrt(target_area * aspect_ratio)))
            w = int(round(math.sqrt(target_area / aspect_ratio)))
            if w < self.width and h < self.height:
                top = random.randint(0, self.height - h)
                left = random.randint(0, self.width - w)
                num_masked = mask[top: top + h, left: left + w].sum()
                if 0 < h * w - num_masked <= max_mask_patches:
                    for i in range(top, top + h):
                        for j in range(left, left + w):
                            if mask[i, j] == 0:
                                mask[i, j] = 1
                                delta += 1
                if delta > 0:
                    break
        return delta

    def __call__(self):
        mask = np.zeros((self.height, self.width), dtype=np.int64)
        count = 0
        while count < self.num_masking_patches:
            delta = self._mask(mask, min(self.num_masking_patches - count, self.max_num_patches))
            if delta == 0:
                break
            count += delta
        return mask


random.seed(0)
gen = MaskingGenerator(8, 26, 4)
masks = np.stack([gen() for _ in range(20000)]).astype(np.float64)
counts = masks.reshape(len(masks), -1).sum(1)
out["mask.count_mean"] = torch.tensor(counts.mean())
out["mask.count_std"] = torch.tensor(counts.std())
out["mask.count_max"] = torch.tensor(counts.max())
out["mask.hit_target"] = torch.tensor((counts == 26).mean())
out["mask.row_freq"] = torch.from_numpy(masks.mean((0, 2)))
out["mask.col_freq"] = torch.from_numpy(masks.mean((0, 1)))

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "farl_losses.safetensors")
save_file({k: v.contiguous() for k, v in out.items()}, path, metadata={"torch": torch.__version__})
print("wrote", path, {k: tuple(v.shape) for k, v in out.items() if k.startswith("mask.")},
      float(counts.mean()), float((counts == 26).mean()))
