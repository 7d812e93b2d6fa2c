#!/usr/bin/env python3
"""Evaluates iris ViT weights in PyTorch: builds timm's VisionTransformer from the config stored in
the file's metadata (vit train writes it into weights.safetensors), loads the weights with
load_state_dict(strict=True), and prints the Fashion-MNIST test accuracy. Run `vit eval --weights
FILE` on the same file: the two numbers must agree.

  .venv/bin/python scripts/torch_eval.py runs/<run>/weights.safetensors [--data DIR]

With --export OUT it instead writes a freshly initialised timm model of the default vit-fmnist
config to OUT (the direction PyTorch -> iris; `vit eval --weights OUT` must then report what this
script reports for OUT).
"""
import argparse
import gzip
import json
import os

import numpy as np
import timm
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

MEAN, STD = 0.2860, 0.3530  # apps/vit/main.cpp normalises with these


def load_test_set(data_dir):
    with gzip.open(os.path.join(data_dir, "t10k-images-idx3-ubyte.gz")) as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
    with gzip.open(os.path.join(data_dir, "t10k-labels-idx1-ubyte.gz")) as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)
    x = (torch.from_numpy(images.astype(np.float32) / 255.0) - MEAN) / STD
    return x, torch.from_numpy(labels.astype(np.int64))


def build(cfg):
    kwargs = dict(img_size=cfg["img_size"], patch_size=cfg["patch_size"], in_chans=cfg["in_chans"],
                  num_classes=cfg["num_classes"], embed_dim=cfg["embed_dim"], depth=cfg["depth"],
                  num_heads=cfg["num_heads"])
    if not cfg.get("class_token", True):
        kwargs.update(class_token=False, global_pool="avg")
    return timm.create_model("vit_tiny_patch16_224", pretrained=False, **kwargs)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("weights")
    p.add_argument("--data", default=os.environ.get("IRIS_DATA", "/usr/share/datasets/fashion-mnist"))
    p.add_argument("--export", action="store_true", help="write a timm-initialised model to WEIGHTS instead")
    args = p.parse_args()
    if args.export:
        cfg = dict(img_size=28, patch_size=4, in_chans=1, num_classes=10, embed_dim=64, depth=6, num_heads=4)
        torch.manual_seed(0)
        m = build(cfg)
        save_file({k: v.contiguous() for k, v in m.state_dict().items()}, args.weights,
                  metadata={"config": json.dumps(cfg)})
        print(f"wrote {args.weights}")
    with safe_open(args.weights, "pt") as f:
        cfg = json.loads(f.metadata()["config"])
    model = build(cfg)
    model.load_state_dict(load_file(args.weights), strict=True)
    model.eval()
    x, y = load_test_set(args.data)
    with torch.no_grad():
        preds = torch.cat([model(x[i:i + 500]).argmax(1) for i in range(0, len(x), 500)])
    top1 = (preds == y).float().mean().item() * 100
    print(json.dumps({"app": "torch_eval", "weights": args.weights, "metrics": {"top1": round(top1, 2)}}))


if __name__ == "__main__":
    main()
