#!/usr/bin/env python3
"""PyTorch side of `make bench-compare`: the same shapes and models as build/bin/iris_bench, timed the
same way, printed as JSON lines ({"bench": name, "value": number, "unit": ...}) that bench/compare.py
joins with iris's.

Run by bench/compare.sh with the newest PyTorch installable here (PyPI's torch in .venv), falling
back to Debian's python3-torch; the first line says which. Threads: $IRIS_NUM_THREADS or all cores,
the same count iris uses.
"""
import json
import os
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

THREADS = int(os.environ.get("IRIS_NUM_THREADS", "0")) or os.cpu_count()
torch.set_num_threads(THREADS)
QUICK = "--quick" in sys.argv


def emit(name, value, unit, **extra):
    print(json.dumps({"bench": name, "value": value, "unit": unit, **extra}), flush=True)


def timeit(fn, min_seconds, min_reps=3):
    """Median seconds per call over repeated windows (a warm-up call first)."""
    fn()
    samples = []
    start = time.perf_counter()
    while len(samples) < min_reps or time.perf_counter() - start < min_seconds:
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    samples.sort()
    return samples[len(samples) // 2]


# ---- GEMM -------------------------------------------------------------------------------------
def gemm_shapes():
    shapes = [("sq256", 256, 256, 256), ("sq512", 512, 512, 512), ("sq1024", 1024, 1024, 1024)]
    if not QUICK:
        shapes.append(("sq2048", 2048, 2048, 2048))
    # transformer products: tokens T = batch * (patches + 1); for each linear layer of the two
    # ViT configs: forward y = x W^T, backward dx = dy W and dW = dy^T x.
    for cfg, batch, dim in (("small", 128, 64), ("tiny", 64, 192)):
        t = batch * 50
        for layer, fin, fout in (("qkv", dim, 3 * dim), ("fc1", dim, 4 * dim), ("fc2", 4 * dim, dim)):
            shapes.append((f"{cfg}_{layer}_fwd", t, fout, fin))
            shapes.append((f"{cfg}_{layer}_dx", t, fin, fout))
            shapes.append((f"{cfg}_{layer}_dw", fout, fin, t))
    return shapes


def bench_gemm():
    for name, m, n, k in gemm_shapes():
        a = torch.randn(m, k)
        b = torch.randn(k, n)
        c = torch.empty(m, n)
        s = timeit(lambda: torch.mm(a, b, out=c), 0.3 if QUICK else 1.0)
        emit("gemm_" + name, 2.0 * m * n * k / s / 1e9, "GFLOP/s", m=m, n=n, k=k)


# ---- attention --------------------------------------------------------------------------------
def bench_attention():
    for name, bh, n, d in (("small", 128 * 4, 50, 16), ("tiny", 64 * 3, 50, 64)):
        q = torch.randn(bh, n, d, requires_grad=True)
        k = torch.randn(bh, n, d, requires_grad=True)
        v = torch.randn(bh, n, d, requires_grad=True)

        def step():
            o = F.scaled_dot_product_attention(q, k, v)
            o.sum().backward()

        s = timeit(step, 0.3 if QUICK else 1.0)
        emit("attention_" + name + "_train", bh / s, "heads/s", bh=bh, n=n, d=d)


# ---- ViT ----------------------------------------------------------------------------------------
class Block(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.fc1 = nn.Linear(dim, 4 * dim)
        self.fc2 = nn.Linear(4 * dim, dim)
        self.heads = heads

    def forward(self, x):
        b, n, c = x.shape
        qkv = self.qkv(self.norm1(x)).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        o = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2])
        x = x + self.proj(o.transpose(1, 2).reshape(b, n, c))
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x))))


class ViT(nn.Module):
    """The same network as iris's models/vit (timm's layout): patch conv, class token, pos embed,
    pre-norm blocks, final norm, head on the class token."""

    def __init__(self, dim, depth, heads):
        super().__init__()
        self.patch = nn.Conv2d(1, dim, 4, 4)
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = nn.Parameter(torch.zeros(1, 50, dim))
        self.blocks = nn.ModuleList(Block(dim, heads) for _ in range(depth))
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, 10)

    def forward(self, x):
        x = self.patch(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], 1) + self.pos
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.norm(x)[:, 0])


VIT_CONFIGS = {"small": (64, 6, 4, 128), "tiny": (192, 12, 3, 64)}


def bench_vit(name):
    dim, depth, heads, batch = VIT_CONFIGS[name]
    torch.manual_seed(0)
    model = ViT(dim, depth, heads)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.05)
    x = torch.rand(batch, 1, 28, 28)
    y = torch.randint(0, 10, (batch,))

    def train_step():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        opt.step()

    def eval_step():
        with torch.no_grad():
            model(x)

    secs = 2.0 if QUICK else 6.0
    emit(f"vit_{name}_train", batch / timeit(train_step, secs), "images/s", batch=batch)
    model.eval()
    emit(f"vit_{name}_eval", batch / timeit(eval_step, secs / 2), "images/s", batch=batch)
    emit(f"vit_{name}_rss", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, "MiB")


if __name__ == "__main__":
    print(json.dumps({"bench": "torch_version", "value": torch.__version__, "unit": "",
                      "source": os.path.dirname(torch.__file__), "threads": THREADS}), flush=True)
    which = [a for a in sys.argv[1:] if not a.startswith("--")]
    if not which or "gemm" in which:
        bench_gemm()
    if not which or "attention" in which:
        bench_attention()
    for cfg in ("small", "tiny"):
        if not which or f"vit_{cfg}" in which:
            bench_vit(cfg)
