#!/usr/bin/env python3
"""Writes the PyTorch reference files the C++ model tests compare against (tests/golden/*.safetensors).

Rerunnable: python3 tests/golden/make.py   (in a venv with torch, timm and safetensors from PyPI;
see tests/golden/README.md). Deterministic: fixed seeds, CPU, float32.

For each small ViT config it writes <name>.safetensors holding
  weights     "param.<timm name>"        (the initial weights)
  inputs      "input.images" [B, C, H, W], "input.labels" [B]
  outputs     "out.logits", "out.loss"
  gradients   "grad.<timm name>"         (of the mean cross-entropy loss)
  training    "train.losses" [5]         (loss before each of 5 AdamW steps on the same batch)
and the config in the metadata, so the C++ side builds the same model.
"""
import torch
import timm

from golden_common import model_metadata, random_batch, record_classifier, save_golden

CONFIGS = {
    # token pooling with a class token (timm's default) -> "norm"
    "vit_token": dict(img_size=28, patch_size=7, in_chans=1, num_classes=10, embed_dim=32, depth=2, num_heads=4),
    # average pooling without a class token -> "fc_norm"
    "vit_avg": dict(img_size=28, patch_size=7, in_chans=1, num_classes=10, embed_dim=32, depth=2, num_heads=4,
                    class_token=False, global_pool="avg"),
}
BATCH = 4
STEPS = 5


def make(name, cfg):
    torch.manual_seed(0)
    model = timm.create_model("vit_tiny_patch16_224", pretrained=False, **cfg)
    model.train()  # no dropout in these configs, so train == eval numerically
    images, labels = random_batch(torch.Generator().manual_seed(1), BATCH, cfg["in_chans"], cfg["img_size"],
                                  cfg["num_classes"], uniform=True)
    # 5 AdamW steps on the same batch; every parameter decays (one group), as the C++ test does.
    tensors, loss, losses = record_classifier(model, images, labels, adamw_steps=STEPS)

    path = save_golden(name, tensors, model_metadata(cfg, "make.py"))
    print(f"wrote {path}: {len(tensors)} tensors, loss {loss.item():.6f}, losses {['%.6f' % x for x in losses]}")


if __name__ == "__main__":
    torch.set_num_threads(1)
    for name, cfg in CONFIGS.items():
        make(name, cfg)
