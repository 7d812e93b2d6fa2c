#!/usr/bin/env python3
"""Writes the PyTorch reference files for the UniCL models and losses (tests/golden/{text,resnet,unicl}_*.safetensors).

Rerunnable: python3 tests/golden/make_unicl.py   (in a venv with torch, timm, open_clip_torch and safetensors;
see tests/golden/README.md). Deterministic: fixed seeds, CPU. The models run in float64 and the files store
float32 (the weights are float32 values, so they are exact); the loss file stays float64.

text_<variant>.safetensors   open_clip's TextTransformer (width 32, layers 2, heads 4, context 8, vocab 50,
                             output_dim 16); weights perturbed away from init so every bias and norm matters.
  "param.<open_clip name>", "input.ids" [B, L] (the end token is id 49, the largest, so open_clip's argmax
  pooling finds it), "input.eot" [B], "input.weights" [B, E], "out.features" [B, E],
  "out.loss" = sum(features * weights), "grad.<name>".
resnet_<variant>.safetensors timm's ResNet, tiny widths; BN weights/biases/running stats perturbed. 64x64 inputs,
  so the last stage's train-mode BN normalises 2 x 2 x 2 = 8 values (over only 2 it is so ill-conditioned that
  PyTorch's own f32 gradients are off by 2e-3).
  "param.<timm name>" (state dict, before the forward), "input.images", "input.weights" [B, classes],
  train mode: "out.train_logits", "out.train_loss" = sum(logits * weights), "grad.<name>",
  "after.<bn buffer>" (running stats after the train-mode forward), then eval mode: "out.eval_logits".
unicl_loss.safetensors       f64 embeddings (L2-normalised), labels with repeats and singletons, scale;
  "out.unicl", "out.unicl_avg", "out.clip", "out.clip_avg" and gradients "grad.unicl.{img,txt,scale}",
  "grad.clip.{img,txt,scale}"; "out.targets" (the row-normalised target matrix).
"""
import json
import os

import open_clip
import timm
import torch
import torch.nn.functional as F
from open_clip.transformer import QuickGELU, TextTransformer
from safetensors.torch import save_file
from timm.models.resnet import BasicBlock, Bottleneck, ResNet

HERE = os.path.dirname(os.path.abspath(__file__))
VERSIONS = {"torch": torch.__version__, "timm": timm.__version__, "open_clip": open_clip.__version__,
            "made_by": "tests/golden/make_unicl.py"}


def perturb(model, gen, scale=0.1):
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.add_(torch.randn(p.shape, generator=gen) * scale)


def save(name, tensors, cfg, as_f32=True):
    path = os.path.join(HERE, name + ".safetensors")
    tensors = {k: v.detach().clone().contiguous() for k, v in tensors.items()}
    if as_f32:  # computed in f64 (the reference to the last bit of f32), stored in f32
        tensors = {k: v.float() if v.is_floating_point() else v for k, v in tensors.items()}
    save_file(tensors, path, metadata={"config": json.dumps(cfg), **VERSIONS})
    print(f"wrote {path}: {len(tensors)} tensors, {os.path.getsize(path)} bytes")


# ---- text tower ----------------------------------------------------------------------------------

TEXT = dict(context_length=8, vocab_size=50, width=32, heads=4, layers=2, output_dim=16)


def make_text(name, quick_gelu, causal):
    torch.manual_seed(0)
    model = TextTransformer(**TEXT, act_layer=QuickGELU if quick_gelu else torch.nn.GELU,
                            no_causal_mask=not causal)
    gen = torch.Generator().manual_seed(1)
    perturb(model, gen)
    model.double().train()
    B, L, EOT = 3, TEXT["context_length"], TEXT["vocab_size"] - 1
    eot = torch.tensor([7, 3, 5])
    ids = torch.randint(1, EOT, (B, L), generator=gen)
    for b in range(B):
        ids[b, eot[b]] = EOT
        ids[b, eot[b] + 1:] = 0  # PAD after the end token
    weights = torch.randn(B, TEXT["output_dim"], generator=gen, dtype=torch.float64)
    features = model(ids)
    loss = (features * weights).sum()
    loss.backward()
    t = {"param." + k: v for k, v in model.state_dict().items()}
    t.update({"input.ids": ids, "input.eot": eot, "input.weights": weights, "out.features": features,
              "out.loss": loss.reshape(())})
    t.update({"grad." + k: p.grad for k, p in model.named_parameters()})
    save(name, t, dict(TEXT, quick_gelu=quick_gelu, causal=causal))


# ---- ResNet --------------------------------------------------------------------------------------

def make_resnet(name, block, layers, channels, cifar_stem, img, in_chans=3, classes=5):
    torch.manual_seed(0)
    # timm's 7x7 stem is always 64 wide (stem_width only sizes the deep stems)
    model = ResNet(block=block, layers=layers, channels=channels, in_chans=in_chans, num_classes=classes)
    if cifar_stem:  # the CIFAR stem of resnet-mini: 3x3 stride-1 conv, no max pool
        model.conv1 = torch.nn.Conv2d(in_chans, 64, 3, 1, 1, bias=False)
        model.maxpool = torch.nn.Identity()
    gen = torch.Generator().manual_seed(1)
    perturb(model, gen)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.copy_(1 + 0.3 * torch.randn(m.weight.shape, generator=gen))
                m.running_mean.copy_(0.2 * torch.randn(m.running_mean.shape, generator=gen))
                m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=gen))
    model.double()
    t = {"param." + k: v.clone() for k, v in model.state_dict().items()}
    images = torch.randn(2, in_chans, img, img, generator=gen, dtype=torch.float64)
    weights = torch.randn(2, classes, generator=gen, dtype=torch.float64)
    model.train()
    logits = model(images)
    loss = (logits * weights).sum()
    loss.backward()
    t.update({"input.images": images, "input.weights": weights, "out.train_logits": logits,
              "out.train_loss": loss.reshape(())})
    t.update({"grad." + k: p.grad for k, p in model.named_parameters()})
    t.update({"after." + k: v for k, v in model.named_buffers()})
    model.eval()
    with torch.no_grad():
        t["out.eval_logits"] = model(images)
    cfg = dict(block="basic" if block is BasicBlock else "bottleneck", layers=layers, channels=channels,
               stem_width=64, cifar_stem=cifar_stem, img=img, in_chans=in_chans, num_classes=classes)
    save(name, t, cfg)


# ---- losses --------------------------------------------------------------------------------------

def reference_unicl(img, txt, labels, scale, average):
    same = (labels[:, None] == labels[None, :]).to(img.dtype)
    rows = same / same.sum(1, keepdim=True)   # image i: its |P(i)| positive texts
    cols = same / same.sum(0, keepdim=True)   # text j: its |Q(j)| positive images
    logits = scale * img @ txt.T
    i2t = -(rows * F.log_softmax(logits, 1)).sum(1).mean()
    t2i = -(cols * F.log_softmax(logits, 0)).sum(0).mean()
    total = i2t + t2i
    return total / 2 if average else total, rows


def reference_clip(img, txt, scale, average):
    logits = scale * img @ txt.T
    target = torch.arange(img.shape[0])
    total = F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)
    return total / 2 if average else total


def make_losses():
    gen = torch.Generator().manual_seed(2)
    B, E = 8, 6
    img = F.normalize(torch.randn(B, E, generator=gen, dtype=torch.float64), dim=1)
    txt = F.normalize(torch.randn(B, E, generator=gen, dtype=torch.float64), dim=1)
    labels = torch.tensor([3, 1, 3, 7, 1, 3, 9, 1000])  # repeats (3 x3, 1 x2) and singletons (7, 9, 1000)
    scale = torch.tensor(4.5, dtype=torch.float64)
    t = {"input.img": img, "input.txt": txt, "input.labels": labels, "input.scale": scale}
    for tag, fn in (("unicl", lambda a, b, s, avg: reference_unicl(a, b, labels, s, avg)[0]),
                    ("clip", reference_clip)):
        for avg in (False, True):
            a, b, s = (x.clone().requires_grad_(True) for x in (img, txt, scale))
            loss = fn(a, b, s, avg)
            loss.backward()
            key = tag + ("_avg" if avg else "")
            t["out." + key] = loss.reshape(())
            t[f"grad.{key}.img"], t[f"grad.{key}.txt"], t[f"grad.{key}.scale"] = a.grad, b.grad, s.grad.reshape(())
    t["out.targets"] = reference_unicl(img, txt, labels, scale, False)[1]
    save("unicl_loss", t, dict(B=B, E=E), as_f32=False)


if __name__ == "__main__":
    torch.set_num_threads(1)
    make_text("text_quickgelu_causal", quick_gelu=True, causal=True)
    make_text("text_gelu_bidir", quick_gelu=False, causal=False)
    make_resnet("resnet_basic", BasicBlock, [1, 2, 1, 1], (4, 8, 8, 16), cifar_stem=False, img=64)
    make_resnet("resnet_bottleneck", Bottleneck, [1, 1, 2, 1], (4, 4, 8, 8), cifar_stem=False, img=64)
    make_resnet("resnet_mini", BasicBlock, [1, 1, 1, 1], (4, 8, 8, 16), cifar_stem=True, img=12, in_chans=1)
    make_losses()
