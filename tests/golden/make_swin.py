#!/usr/bin/env python3
"""Writes the PyTorch reference files tests/test_swin.cpp compares models/swin against.

Rerunnable: python3 tests/golden/make_swin.py   (in a venv with torch, timm and safetensors from PyPI;
see tests/golden/README.md). Deterministic: fixed seeds, CPU, float32.

The reference is timm's own SwinTransformer (timm.models.swin_transformer), not a port of ours:
  swin_pad.safetensors    28x28x1, patch 2 -> 14x14 tokens, window 4, 2 stages: both maps (14, 7) pad to
                          whole windows and their odd blocks shift by 2 with the attention mask (the
                          shift happens before the padding, as timm); patch merging pads 7 -> 8.
                          Also 5 AdamW steps.
  swin_clamp.safetensors  32x32x3, patch 4 -> 8x8 tokens, window 4, 3 stages: stage 0 shifts without
                          padding; stages 1 and 2 (4x4, 2x2) fit one window, so timm clamps the window to
                          the map (a 2x2 window and a 3x3 relative position table in stage 2) and never
                          shifts.
Each file holds
  weights     "param.<timm name>"        (the weights, see perturb() below)
  inputs      "input.images" [B, C, H, W], "input.labels" [B]
  outputs     "out.logits", "out.loss"
  gradients   "grad.<timm name>"         (of the mean cross-entropy loss)
  training    "train.losses" [5]         (swin_pad only: loss before each of 5 AdamW steps on the same batch)
and the config in the metadata (the keys of models::SwinConfig).
"""
import torch
import timm

from golden_common import (model_metadata, perturb_linear_norm_bias, print_written, random_batch,
                           record_classifier, save_golden)

CONFIGS = {
    "swin_pad": dict(
        timm=dict(img_size=28, patch_size=2, in_chans=1, num_classes=10, embed_dim=16, depths=(2, 2),
                  num_heads=(2, 4), window_size=4, mlp_ratio=4.0),
        batch=2, adamw_steps=5),
    "swin_clamp": dict(
        timm=dict(img_size=32, patch_size=4, in_chans=3, num_classes=7, embed_dim=8, depths=(2, 2, 2),
                  num_heads=(1, 2, 4), window_size=4, mlp_ratio=2.0),
        batch=3, adamw_steps=0),
}


def make(name, spec):
    torch.manual_seed(0)
    cfg = spec["timm"]
    model = timm.create_model("swin_tiny_patch4_window7_224", pretrained=False, drop_path_rate=0.0, **cfg)
    # timm's init (Linear weights and the relative position tables std 0.02, zero biases, unit norms) leaves attention nearly uniform,
    # where a mistake in a table index or a bias layout would hardly show: move every parameter to a scale where it does.
    perturb_linear_norm_bias(model, torch.Generator().manual_seed(2), position_tables=True)
    model.train()  # no dropout or drop path in these configs, so train == eval numerically
    size = cfg["img_size"]
    images, labels = random_batch(torch.Generator().manual_seed(1), spec["batch"], cfg["in_chans"], size,
                                  cfg["num_classes"])
    tensors, loss, losses = record_classifier(model, images, labels, adamw_steps=spec["adamw_steps"])

    ours = dict(img_size=size, patch_size=cfg["patch_size"], in_chans=cfg["in_chans"],
                num_classes=cfg["num_classes"], embed_dim=cfg["embed_dim"], depths=list(cfg["depths"]),
                num_heads=list(cfg["num_heads"]), window_size=cfg["window_size"], mlp_ratio=cfg["mlp_ratio"])
    path = save_golden(name, tensors, model_metadata(ours, "make_swin.py"))
    print_written(path, tensors, loss, losses)


if __name__ == "__main__":
    torch.set_num_threads(1)
    for name, spec in CONFIGS.items():
        make(name, spec)
