#!/usr/bin/env python3
"""Writes tests/golden/davit_tiny_formula.safetensors: timm's full-size davit_tiny (224x224, 1000 classes)
with every parameter and buffer filled by a closed-form formula, on a formula image, so only the logits
need storing (the weights would be 110 MB). tests/test_davit_tiny.cpp fills models::DaVit "davit-tiny"
with the same formula and compares. Leaves out gradients and training steps (test_davit.cpp covers them
on small configs).

Rerunnable: python3 tests/golden/make_davit_tiny.py   (venv with torch, timm, safetensors; see README.md).

The formula (computed in float64, then cast to float32; the C++ test implements the same lines):
  the k-th tensor of the state dict sorted by name (k = 0, 1, ...), element i of its flattened values:
    h = (7919 i + 104729 k + 31 i^2) mod 65521        exact integer arithmetic (int64)
    u = 2 h / 65521 - 1                               in [-1, 1), one correctly rounded division
  and the value
    a weight of 2 or more dims (linear, conv)  u * sqrt(3 / fan_in)   (std 1 / sqrt(fan_in); fan_in = numel / shape[0])
    a 1-d tensor named *norm*.weight           1 + 0.2 u
    any other 1-d tensor (the biases)          0.1 u
  The image [1, 3, 224, 224] is u with k = -1 over its flattened elements, times 1.5.
  Why not a plain a sin(0.7 i + 1.3 k): its phase is linear in i = row * cols + col, so every weight
  matrix it fills is rank 2 and most of the network would collapse onto a few directions; the quadratic
  term mixes rows and columns, and integer arithmetic leaves no libm or FMA difference between the sides.
Stored: "out.logits" [1, 1000] and "out.features" [1, 768] (the pooled features before the head norm),
and in the metadata the sorted state-dict names with their shapes ("state"), the sums of |value| of the
filled tensors and of the image ("state_abs_sum", "image_abs_sum") and a few stats.
"""
import json
import math

import numpy as np
import timm
import torch

from golden_common import save_golden

MODULUS = 65521


def formula_values(n, k):
    """u for elements 0..n-1 of tensor k (float64, in [-1, 1))."""
    i = np.arange(n, dtype=np.int64)
    h = (7919 * i + 104729 * k + 31 * i * i) % MODULUS  # 31 i^2 < 2^63 for i < 5e8
    return 2.0 * h.astype(np.float64) / MODULUS - 1.0


def formula_tensor(name, shape, k):
    n = int(np.prod(shape)) if len(shape) else 1
    u = formula_values(n, k)
    if len(shape) >= 2:
        fan_in = n // shape[0]
        v = u * math.sqrt(3.0 / fan_in)
    elif "norm" in name and name.endswith(".weight"):
        v = 1.0 + 0.2 * u
    else:
        v = 0.1 * u
    return torch.from_numpy(v.reshape(shape)).to(torch.float32)


def formula_image():
    return torch.from_numpy(1.5 * formula_values(3 * 224 * 224, -1).reshape(1, 3, 224, 224)).to(torch.float32)


def main():
    torch.set_num_threads(4)
    model = timm.create_model("davit_tiny", pretrained=False)
    state = model.state_dict()
    names = sorted(state.keys())
    filled = {name: formula_tensor(name, tuple(state[name].shape), k) for k, name in enumerate(names)}
    model.load_state_dict(filled, strict=True)
    model.eval()
    image = formula_image()
    with torch.no_grad():
        feats = model.forward_features(image)          # [1, 768, 7, 7] (NCHW in timm)
        pooled = feats.mean(dim=(2, 3))                # [1, 768]
        logits = model(image)
        # The same in float64: how far float32 accumulation alone moves the logits.
        model64 = timm.create_model("davit_tiny", pretrained=False).double().eval()
        model64.load_state_dict({n: t.double() for n, t in filled.items()}, strict=True)
        logits64 = model64(image.double())
    f32_error = ((logits.double() - logits64).abs().max() / logits64.abs().max()).item()
    tensors = {"out.logits": logits.contiguous(), "out.features": pooled.contiguous()}
    meta = {
        "state": json.dumps([[n, list(state[n].shape)] for n in names]),
        # sum of |value| over every filled float32 tensor and over the image (float64 sums): the C++ side
        # checks its fill against these before the forward, so a formula mismatch is named as such.
        "state_abs_sum": "%.17g" % sum(t.double().abs().sum().item() for t in filled.values()),
        "image_abs_sum": "%.17g" % image.double().abs().sum().item(),
        "formula": "h = (7919 i + 104729 k + 31 i^2) mod 65521, u = 2 h / 65521 - 1; see make_davit_tiny.py",
        "f32_vs_f64_scaled_error": "%.3e" % f32_error,
        "logits_max_abs": "%.6f" % logits.abs().max().item(),
        "logits_std": "%.6f" % logits.std().item(),
        "torch": torch.__version__, "timm": timm.__version__, "made_by": "tests/golden/make_davit_tiny.py",
    }
    path = save_golden("davit_tiny_formula", tensors, meta)
    print(f"wrote {path}: {len(names)} state tensors filled; logits max |.| {logits.abs().max().item():.4f} "
          f"std {logits.std().item():.4f}; features std {pooled.std().item():.4f}; "
          f"float32 vs float64 scaled error {f32_error:.3e}; buffers: {[n for n, _ in model.named_buffers()]}")


if __name__ == "__main__":
    main()
