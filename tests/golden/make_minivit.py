#!/usr/bin/env python3
"""Writes the PyTorch reference files tests/test_minivit.cpp and tests/test_distill.cpp compare against.

Rerunnable: python3 tests/golden/make_minivit.py   (in a venv with torch, timm and safetensors from PyPI;
see tests/golden/README.md). Deterministic: fixed seeds, CPU.

  minivit_timm.safetensors     timm's VisionTransformer(class_token=False, global_pool='avg', fc_norm=False):
                               the MiniViT teacher shape (final norm on all tokens, average pool, head),
                               which models::MiniVit with share=1 and no transforms must equal. float32.
  minivit_dwconv.safetensors   a small MiniViT written here from the paper notes in plain torch (RefMiniVit):
                               share 2, per-layer norms, head mixing with bias, per-layer LN + depthwise 3x3
                               conv residual (Mini-Swin style). float32.
  minivit_relpos.safetensors   the same reference with share 3 (one weight set for all 3 layers), shared norms,
                               head mixing without bias and a per-layer relative-position logit bias. float32.
Each model file holds
  weights     "param.<name>"     (every state-dict name; shared weights repeated under each layer)
  inputs      "input.images" [B, C, H, W], "input.labels" [B]
  outputs     "out.logits", "out.loss" (mean cross-entropy)
  gradients   "grad.<name>"      (one per unique parameter, under its first name, as named_parameters)
and the config in the metadata.
  minivit_distill.safetensors  losses/distill on fixed float64 inputs: soft CE (T = 1, 2), Q/K/V relations
                               (relation heads 1, 2), hidden relations (both forms), and the weighted total
                               over two layer pairs with its gradients w.r.t. every student tensor.
Weights are moved away from timm's init (Linear std 0.02, zero biases, unit norms), where attention is nearly
uniform and a mistake in a bias, norm or mixing layout would hardly show (see perturb()).
"""
import json
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
import timm

from golden_common import model_metadata, random_batch, record_classifier, save_golden

BATCH = 2


def perturb(model, gen):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith(".weight") and p.dim() >= 2 and "local_conv" not in name:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=gen) / math.sqrt(fan_in))
            elif "local_conv.weight" in name:
                p.copy_(0.3 * torch.randn(p.shape, generator=gen))
            elif "norm" in name and name.endswith(".weight"):
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=gen))
            elif name.endswith(".bias") or "rel_bias" in name:
                p.copy_(0.2 * torch.randn(p.shape, generator=gen))
            elif name == "pos_embed":
                p.copy_(0.5 * torch.randn(p.shape, generator=gen))
            else:
                raise RuntimeError("perturb: no rule for " + name)


# ---- a MiniViT written from the notes (models/minivit.h is the C++ side) -------------------------

class RefAttention(nn.Module):
    def __init__(self, qkv, proj, heads, mix, mix_bias, grid):
        super().__init__()
        self.qkv, self.proj, self.heads = qkv, proj, heads
        if mix:
            self.pre_mix = nn.Linear(heads, heads, bias=mix_bias)
            self.post_mix = nn.Linear(heads, heads, bias=mix_bias)
        else:
            self.pre_mix = self.post_mix = None
        self.grid = grid
        if grid:
            self.rel_bias = nn.Parameter(torch.zeros((2 * grid - 1) ** 2))
            rows, cols = torch.meshgrid(torch.arange(grid), torch.arange(grid), indexing="ij")
            r, c = rows.flatten(), cols.flatten()
            dr = r[:, None] - r[None, :] + grid - 1
            dc = c[:, None] - c[None, :] + grid - 1
            self.register_buffer("index", dr * (2 * grid - 1) + dc, persistent=False)

    def forward(self, x):
        B, N, D = x.shape
        H = self.heads
        q, k, v = self.qkv(x).reshape(B, N, 3, H, D // H).permute(2, 0, 3, 1, 4)
        logits = q @ k.transpose(-1, -2) / math.sqrt(D // H)
        if self.grid:
            logits = logits + self.rel_bias[self.index]
        if self.pre_mix is not None:  # Linear over the head axis
            logits = self.pre_mix(logits.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        attn = logits.softmax(-1)
        if self.post_mix is not None:
            attn = self.post_mix(attn.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        return self.proj((attn @ v).transpose(1, 2).reshape(B, N, D))


class RefMlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(dim, hidden), nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class RefBlock(nn.Module):
    def __init__(self, norm1, attn, norm2, mlp, dim, dwconv, kernel, grid):
        super().__init__()
        self.norm1, self.attn = norm1, attn
        self.grid = grid
        if dwconv:
            self.local_norm = nn.LayerNorm(dim, eps=1e-6)
            self.local_conv = nn.Conv2d(dim, dim, kernel, padding=kernel // 2, groups=dim, bias=True)
        else:
            self.local_conv = None
        self.norm2, self.mlp = norm2, mlp

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        if self.local_conv is not None:
            B, N, D = x.shape
            x = self.local_norm(x)  # replaces the stream
            x = x + self.local_conv(x.transpose(1, 2).reshape(B, D, self.grid, self.grid)).flatten(2).transpose(1, 2)
        return x + self.mlp(self.norm2(x))


class RefMiniVit(nn.Module):
    def __init__(self, c):
        super().__init__()
        D, grid = c["embed_dim"], c["img_size"] // c["patch_size"]
        self.patch_embed = nn.Module()
        self.patch_embed.proj = nn.Conv2d(c["in_chans"], D, c["patch_size"], stride=c["patch_size"])
        self.pos_embed = nn.Parameter(torch.zeros(1, grid * grid, D))
        blocks = []
        for i in range(c["depth"]):
            if i % c["share"] == 0:
                qkv, proj = nn.Linear(D, 3 * D), nn.Linear(D, D)
                mlp = RefMlp(D, int(D * c["mlp_ratio"]))
            if c["per_layer_norm"] or i % c["share"] == 0:
                norm1, norm2 = nn.LayerNorm(D, eps=1e-6), nn.LayerNorm(D, eps=1e-6)
            attn = RefAttention(qkv, proj, c["num_heads"], c["attn_transform"], c["transform_bias"],
                                grid if c["mlp_transform"] == "relpos" else 0)
            blocks.append(RefBlock(norm1, attn, norm2, mlp, D, c["mlp_transform"] == "dwconv", c["dwconv_kernel"], grid))
        self.blocks = nn.ModuleList(blocks)
        self.norm = nn.LayerNorm(D, eps=1e-6)
        self.head = nn.Linear(D, c["num_classes"])

    def forward(self, images):
        x = self.patch_embed.proj(images).flatten(2).transpose(1, 2) + self.pos_embed
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.norm(x).mean(1))


BASE = dict(img_size=16, patch_size=4, in_chans=1, num_classes=10, embed_dim=32, num_heads=4, mlp_ratio=2.0)
MODELS = {
    "minivit_timm": dict(BASE, depth=2, share=1, per_layer_norm=True, attn_transform=False, transform_bias=True,
                         mlp_transform="none", dwconv_kernel=3),
    "minivit_dwconv": dict(BASE, depth=4, share=2, per_layer_norm=True, attn_transform=True, transform_bias=True,
                           mlp_transform="dwconv", dwconv_kernel=3),
    "minivit_relpos": dict(BASE, depth=3, share=3, per_layer_norm=False, attn_transform=True, transform_bias=False,
                           mlp_transform="relpos", dwconv_kernel=3),
}


def make_model_file(name, c):
    torch.manual_seed(0)
    if name == "minivit_timm":
        vit_keys = ("img_size", "patch_size", "in_chans", "num_classes", "embed_dim", "depth", "num_heads", "mlp_ratio")
        model = timm.models.vision_transformer.VisionTransformer(
            **{k: c[k] for k in vit_keys}, class_token=False, global_pool="avg", fc_norm=False)
    else:
        model = RefMiniVit(c)
    gen = torch.Generator().manual_seed(2)
    perturb(model, gen)
    images, labels = random_batch(gen, BATCH, c["in_chans"], c["img_size"], c["num_classes"], uniform=True)
    tensors, loss, _ = record_classifier(model, images, labels)  # grad.*: unique parameters, first name
    path = save_golden(name, tensors, model_metadata(c, "make_minivit.py", adamw=False))
    print(f"wrote {path}: {len(tensors)} tensors, loss {loss.item():.6f}")


# ---- distillation losses (losses/distill.h is the C++ side) ----------------------------------------

def soft_ce(s, t, T=1.0):
    return -(F.softmax(t.detach() / T, -1) * F.log_softmax(s / T, -1)).sum(-1).mean()


def qkv_relation(sqkv, tqkv, heads=1):
    total = 0.0
    for i in range(3):
        for j in range(3):
            rel = []
            for side in (sqkv, tqkv):
                B, N, D = side[0].shape
                a = side[i].reshape(B, N, heads, D // heads).transpose(1, 2)
                b = side[j].reshape(B, N, heads, D // heads).transpose(1, 2)
                rel.append(a @ b.transpose(-1, -2) / math.sqrt(D // heads))
            total = total + soft_ce(rel[0], rel[1])
    return total / 9


def hidden_relation(s, t, form="cosine_gram_mse"):
    t = t.detach()
    if form == "cosine_gram_mse":
        ns, nt = F.normalize(s, dim=-1), F.normalize(t, dim=-1)
        return ((ns @ ns.transpose(-1, -2) - nt @ nt.transpose(-1, -2)) ** 2).mean() * s.shape[1]
    rs = s @ s.transpose(-1, -2) / math.sqrt(s.shape[2])
    rt = t @ t.transpose(-1, -2) / math.sqrt(t.shape[2])
    return soft_ce(rs, rt)


def make_distill_file():
    gen = torch.Generator().manual_seed(5)
    B, C, N, Ds, Dt = 2, 5, 6, 8, 12
    r = lambda *shape, scale=1.0: (scale * torch.randn(*shape, generator=gen, dtype=torch.float64)).requires_grad_()
    t = {"s.logits": r(B, C, scale=2.0), "t.logits": r(B, C, scale=2.0)}
    for layer in range(2):
        for part in ("q", "k", "v", "hidden"):
            t[f"s.{part}.{layer}"] = r(B, N, Ds)
    for layer in range(3):
        for part in ("q", "k", "v", "hidden"):
            t[f"t.{part}.{layer}"] = r(B, N, Dt)
    out = {}
    sq = lambda l: [t[f"s.{p}.{l}"] for p in "qkv"]
    tq = lambda l: [t[f"t.{p}.{l}"] for p in "qkv"]
    out["soft_ce.T1"] = soft_ce(t["s.logits"], t["t.logits"], 1.0)
    out["soft_ce.T2"] = soft_ce(t["s.logits"], t["t.logits"], 2.0)
    out["qkv.heads1"] = qkv_relation(sq(0), tq(1), 1)
    out["qkv.heads2"] = qkv_relation(sq(0), tq(1), 2)
    out["hidden.cosine_gram_mse"] = hidden_relation(t["s.hidden.0"], t["t.hidden.1"], "cosine_gram_mse")
    out["hidden.softmax_ce"] = hidden_relation(t["s.hidden.0"], t["t.hidden.1"], "softmax_ce")
    # weighted total over pairs (0, 0), (1, 2) with weights logit 0.9, attn 1.1, hidden 0.3
    pairs, w = [(0, 0), (1, 2)], dict(logit=0.9, attn=1.1, hidden=0.3)
    attn = sum(qkv_relation(sq(a), tq(b), 1) for a, b in pairs) / len(pairs)
    hidden = sum(hidden_relation(t[f"s.hidden.{a}"], t[f"t.hidden.{b}"]) for a, b in pairs) / len(pairs)
    total = w["logit"] * soft_ce(t["s.logits"], t["t.logits"]) + w["attn"] * attn + w["hidden"] * hidden
    out["total.attn"], out["total.hidden"], out["total"] = attn, hidden, total
    total.backward()
    tensors = {"input." + k: v.detach().clone() for k, v in t.items()}
    tensors.update({"out." + k: v.detach().clone().reshape(()) for k, v in out.items()})
    for k, v in t.items():  # the teacher side is detached: only student gradients
        if k.startswith("s."):
            tensors["grad." + k] = v.grad.detach().clone()
        else:
            assert v.grad is None, k
    meta = {"pairs": json.dumps(pairs), "weights": json.dumps(w), "torch": torch.__version__,
            "made_by": "tests/golden/make_minivit.py"}
    path = save_golden("minivit_distill", tensors, meta)
    print(f"wrote {path}: {len(tensors)} tensors, total {total.item():.10f}")


if __name__ == "__main__":
    torch.set_num_threads(1)
    for name, c in MODELS.items():
        make_model_file(name, c)
    make_distill_file()
