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
import torch
import timm

from golden_common import (model_metadata, perturb_linear_norm_bias, print_written, random_batch,
                           record_classifier, save_golden)

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
    # timm's init (Linear weights std 0.02, zero biases, unit norms) leaves attention nearly uniform,
    # where a mistake in a bias or norm layout would hardly show: move every parameter to a scale where it does.
    perturb_linear_norm_bias(model, torch.Generator().manual_seed(2))
    model.train()  # no dropout or drop path in these configs, so train == eval numerically
    size = spec["img_size"]
    images, labels = random_batch(torch.Generator().manual_seed(1), spec["batch"], cfg["in_chans"], size,
                                  cfg["num_classes"])
    tensors, loss, losses = record_classifier(model, images, labels, adamw_steps=spec["adamw_steps"])

    ours = dict(img_size=size, in_chans=cfg["in_chans"], num_classes=cfg["num_classes"],
                stem_kernel=stem_k, stem_stride=stem_s, stem_padding=stem_p, embed_dims=list(cfg["embed_dims"]),
                depths=list(cfg["depths"]), num_heads=list(cfg["num_heads"]), window_size=cfg["window_size"],
                mlp_ratio=cfg["mlp_ratio"], attn_types=list(spec["attn_types"]))
    path = save_golden(name, tensors, model_metadata(ours, "make_davit.py"))
    print_written(path, tensors, loss, losses)


if __name__ == "__main__":
    torch.set_num_threads(1)
    for name, spec in CONFIGS.items():
        make(name, spec)
