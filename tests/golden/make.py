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
import json
import os

import torch
import timm
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))

CONFIGS = {
    # token pooling with a class token (timm's default) -> "norm"
    "vit_token": dict(img_size=28, patch_size=7, in_chans=1, num_classes=10, embed_dim=32, depth=2, num_heads=4),
    # average pooling without a class token -> "fc_norm"
    "vit_avg": dict(img_size=28, patch_size=7, in_chans=1, num_classes=10, embed_dim=32, depth=2, num_heads=4,
                    class_token=False, global_pool="avg"),
}
ADAMW = dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.05)
BATCH = 4
STEPS = 5


def make(name, cfg):
    torch.manual_seed(0)
    model = timm.create_model("vit_tiny_patch16_224", pretrained=False, **cfg)
    model.train()  # no dropout in these configs, so train == eval numerically
    tensors = {}
    for k, v in model.state_dict().items():
        tensors["param." + k] = v.detach().clone().contiguous()

    gen = torch.Generator().manual_seed(1)
    images = torch.rand(BATCH, cfg["in_chans"], cfg["img_size"], cfg["img_size"], generator=gen)
    labels = torch.randint(0, cfg["num_classes"], (BATCH,), generator=gen)
    tensors["input.images"] = images
    tensors["input.labels"] = labels

    logits = model(images)
    loss = torch.nn.functional.cross_entropy(logits, labels)
    loss.backward()
    tensors["out.logits"] = logits.detach().clone()
    tensors["out.loss"] = loss.detach().clone().reshape(())
    for k, p in model.named_parameters():
        tensors["grad." + k] = p.grad.detach().clone().contiguous()

    # 5 AdamW steps on the same batch; every parameter decays (one group), as the C++ test does.
    opt = torch.optim.AdamW(model.parameters(), **ADAMW)
    losses = []
    for _ in range(STEPS):
        opt.zero_grad()
        l = torch.nn.functional.cross_entropy(model(images), labels)
        losses.append(l.item())
        l.backward()
        opt.step()
    tensors["train.losses"] = torch.tensor(losses, dtype=torch.float32)

    meta = {"config": json.dumps(cfg), "adamw": json.dumps(ADAMW), "torch": torch.__version__,
            "timm": timm.__version__, "made_by": "tests/golden/make.py"}
    path = os.path.join(HERE, name + ".safetensors")
    save_file(tensors, path, metadata=meta)
    print(f"wrote {path}: {len(tensors)} tensors, loss {loss.item():.6f}, losses {['%.6f' % x for x in losses]}")


if __name__ == "__main__":
    torch.set_num_threads(1)
    for name, cfg in CONFIGS.items():
        make(name, cfg)
