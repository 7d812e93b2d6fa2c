#!/usr/bin/env python3
"""Writes the PyTorch reference files tests/test_davit.cpp compares models/davit against.

Rerunnable: python3 tests/golden/make_davit.py   (in a venv with torch, timm and safetensors from
PyPI; see tests/golden/README.md). Deterministic: fixed seeds, CPU, float32.

The reference is timm's own DaVit (timm.models.davit), not a port of ours:
  davit_pico.safetensors  the structure of the 32x32 miniature (davit-pico): 1 input channel, a 3x3
                          stride-2 stem (timm's Stem is built for 7x7 stride 4, so its conv is swapped
                          for a 3x3 stride-2 one with the same parameter names), 3 stages of one
                          spatial->channel dual block, window 4, group width Cg = 16 in every stage;
                          dims halved (16, 32, 64) to keep the file small. Also 5 AdamW steps.
  davit_pad.safetensors   timm's stem unchanged (7x7, stride 4) on a 3x42x42 input, which exercises
                          every padding path: the stem pads 42 -> 44, the 11x11 map pads to whole 4x4
                          windows, odd maps pad before downsampling; 4 stages, two dual blocks in
                          stage 2, and the blocks in channel->spatial order (the dual-cs arm).
Each file holds
  weights     "param.<timm name>"        (the weights, see perturb() below)
  inputs      "input.images" [B, C, H, W], "input.labels" [B]
  outputs     "out.logits", "out.loss"
  gradients   "grad.<timm name>"         (of the mean cross-entropy loss)
  training    "train.losses" [5]         (pico only: loss before each of 5 AdamW steps on the same batch)
and the config in the metadata (the keys of models::DavitConfig).
"""
import json
import math
import os

import torch
import timm
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
ADAMW = dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.05)
STEPS = 5

CONFIGS = {
    "davit_pico": dict(
        timm=dict(in_chans=1, num_classes=10, embed_dims=(16, 32, 64), depths=(1, 1, 1), num_heads=(1, 2, 4),
                  window_size=4, mlp_ratio=4.0),
        stem=(3, 2, 1), img_size=32, batch=4, attn_types=("spatial", "channel"), adamw_steps=STEPS),
    "davit_pad": dict(
        timm=dict(in_chans=3, num_classes=7, embed_dims=(8, 16, 24, 32), depths=(1, 2, 1, 1), num_heads=(1, 2, 3, 4),
                  window_size=4, mlp_ratio=2.0, attn_types=("channel", "spatial")),
        stem=(7, 4, 3), img_size=42, batch=2, attn_types=("channel", "spatial"), adamw_steps=0),
}


def perturb(model, gen):
    """timm's init gives Linear weights std 0.02, zero biases and unit norms: attention is then nearly
    uniform and a mistake in a bias or norm layout would hardly show. Move every parameter to a
    scale where such mistakes change the outputs: Linear weights ~ N(0, 1/fan_in), biases and norm
    parameters drawn around their defaults."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith(".weight") and p.dim() == 2:
                p.copy_(torch.randn(p.shape, generator=gen) / math.sqrt(p.shape[1]))
            elif "norm" in name and name.endswith(".weight"):
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=gen))
            elif name.endswith(".bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))


def make(name, spec):
    torch.manual_seed(0)
    cfg = spec["timm"]
    model = timm.create_model("davit_tiny", pretrained=False, **cfg)
    stem_k, stem_s, stem_p = spec["stem"]
    if (stem_k, stem_s, stem_p) != (7, 4, 3):
        # timm's Stem asserts stride 4; the miniature's 3x3 stride-2 stem keeps its names (stem.conv).
        model.stem.conv = torch.nn.Conv2d(cfg["in_chans"], cfg["embed_dims"][0], kernel_size=stem_k, stride=stem_s,
                                          padding=stem_p)
        model.stem.stride = (stem_s, stem_s)
    perturb(model, torch.Generator().manual_seed(2))
    model.train()  # no dropout or drop path in these configs, so train == eval numerically
    tensors = {"param." + n: v.detach().clone().contiguous() for n, v in model.state_dict().items()}

    gen = torch.Generator().manual_seed(1)
    size = spec["img_size"]
    images = torch.randn(spec["batch"], cfg["in_chans"], size, size, generator=gen)
    labels = torch.randint(0, cfg["num_classes"], (spec["batch"],), generator=gen)
    tensors["input.images"] = images
    tensors["input.labels"] = labels

    logits = model(images)
    loss = torch.nn.functional.cross_entropy(logits, labels)
    loss.backward()
    tensors["out.logits"] = logits.detach().clone()
    tensors["out.loss"] = loss.detach().clone().reshape(())
    for n, prm in model.named_parameters():
        tensors["grad." + n] = prm.grad.detach().clone().contiguous()

    losses = []
    if spec["adamw_steps"]:
        opt = torch.optim.AdamW(model.parameters(), **ADAMW)  # one group: every parameter decays
        for _ in range(spec["adamw_steps"]):
            opt.zero_grad()
            l = torch.nn.functional.cross_entropy(model(images), labels)
            losses.append(l.item())
            l.backward()
            opt.step()
        tensors["train.losses"] = torch.tensor(losses, dtype=torch.float32)

    ours = dict(img_size=size, in_chans=cfg["in_chans"], num_classes=cfg["num_classes"],
                stem_kernel=stem_k, stem_stride=stem_s, stem_padding=stem_p, embed_dims=list(cfg["embed_dims"]),
                depths=list(cfg["depths"]), num_heads=list(cfg["num_heads"]), window_size=cfg["window_size"],
                mlp_ratio=cfg["mlp_ratio"], attn_types=list(spec["attn_types"]))
    meta = {"config": json.dumps(ours), "adamw": json.dumps(ADAMW), "torch": torch.__version__,
            "timm": timm.__version__, "made_by": "tests/golden/make_davit.py"}
    path = os.path.join(HERE, name + ".safetensors")
    save_file(tensors, path, metadata=meta)
    print(f"wrote {path} ({os.path.getsize(path)} bytes): {len(tensors)} tensors, loss {loss.item():.6f}, "
          f"losses {['%.6f' % x for x in losses]}")


if __name__ == "__main__":
    torch.set_num_threads(1)
    for name, spec in CONFIGS.items():
        make(name, spec)
