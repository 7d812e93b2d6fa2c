#!/usr/bin/env python3
"""PyTorch side of `make bench-compare`: the same shapes and models as build/bin/iris_bench, timed the
same way, printed as JSON lines ({"bench": name, "value": number, "unit": ...}) that bench/compare.py
joins with iris's.

Run by bench/compare.sh with the newest PyTorch installable here (PyPI's torch in .venv), falling
back to Debian's python3-torch; the first line says which. Threads: $IRIS_NUM_THREADS or all cores,
the same count iris uses.

  torch_ref.py [gemm] [attention] [vit_small] [vit_tiny] [davit_mini] [deit_small] [--quick] [--device cuda] [--amp]

With no names it runs all but deit_small (224x224 batch 64, only when named). davit_mini needs
timm (PyPI); without it the group prints a note on stderr and no result. With
--device cuda (scripts/gpu-check.sh) everything runs on the GPU in strict fp32 (TF32 off for
matmul and convolution, as iris), every timed call ends with torch.cuda.synchronize(), attention
adds the unfused form and the ViT groups report torch's peak allocated GPU memory. --amp runs the
attention and model groups under torch.autocast(bfloat16) (as iris_bench --amp runs them under
iris's autocast) and adds "_amp" to every name; gemm stays fp32 and is skipped then.
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
AMP = "--amp" in sys.argv


def parse_device(argv):
    for i, a in enumerate(argv):
        if a == "--device" and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith("--device="):
            return a.split("=", 1)[1]
    return "cpu"


DEVICE = torch.device(parse_device(sys.argv[1:]))
CUDA = DEVICE.type == "cuda"


def strict_fp32():
    """TF32 off for matmul and cuDNN convolution: iris computes in IEEE fp32."""
    cudnn_conv = getattr(torch.backends.cudnn, "conv", None)
    if hasattr(torch.backends.cuda.matmul, "fp32_precision") and cudnn_conv is not None:
        torch.backends.cuda.matmul.fp32_precision = "ieee"
        cudnn_conv.fp32_precision = "ieee"
    else:  # older PyTorch: the legacy flags (never mix the two APIs)
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False


def sync():
    if CUDA:
        torch.cuda.synchronize(DEVICE)


def emit(name, value, unit, **extra):
    if AMP:
        name, extra = name + "_amp", {**extra, "precision": "bf16 autocast"}
    print(json.dumps({"bench": name, "value": value, "unit": unit, **extra}), flush=True)


def autocast():
    """bf16 autocast with --amp, else a no-op context."""
    return torch.autocast(device_type=DEVICE.type, dtype=torch.bfloat16, enabled=AMP)


def timeit(fn, min_seconds, min_reps=3):
    """Median seconds per call over repeated windows (a warm-up call first)."""
    fn()
    sync()
    samples = []
    start = time.perf_counter()
    while len(samples) < min_reps or time.perf_counter() - start < min_seconds:
        t0 = time.perf_counter()
        fn()
        sync()
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
        a = torch.randn(m, k, device=DEVICE)
        b = torch.randn(k, n, device=DEVICE)
        c = torch.empty(m, n, device=DEVICE)
        # the best of three medians: a co-tenant's burst slows one window, not all three (as iris_bench)
        s = min(timeit(lambda: torch.mm(a, b, out=c), 0.1 if QUICK else 0.35) for _ in range(3))
        emit("gemm_" + name, 2.0 * m * n * k / s / 1e9, "GFLOP/s", m=m, n=n, k=k)


# ---- attention --------------------------------------------------------------------------------
def bench_attention():
    shapes = [("small", 128 * 4, 50, 16), ("tiny", 64 * 3, 50, 64)]
    if CUDA:
        shapes.append(("deit", 64 * 6, 197, 64))  # DeiT-S: batch 64, 6 heads
    for name, bh, n, d in shapes:
        q = torch.randn(bh, n, d, device=DEVICE, requires_grad=True)
        k = torch.randn(bh, n, d, device=DEVICE, requires_grad=True)
        v = torch.randn(bh, n, d, device=DEVICE, requires_grad=True)

        def step():
            with autocast():
                o = F.scaled_dot_product_attention(q, k, v)
            o.float().sum().backward()

        def unfused():
            with autocast():
                o = torch.softmax(q @ k.transpose(-1, -2) * d ** -0.5, -1) @ v
            o.float().sum().backward()

        s = timeit(step, 0.3 if QUICK else 1.0)
        emit("attention_" + name + "_train", bh / s, "heads/s", bh=bh, n=n, d=d)
        if CUDA:
            s = timeit(unfused, 0.3 if QUICK else 1.0)
            emit("attention_" + name + "_unfused_train", bh / s, "heads/s", bh=bh, n=n, d=d)


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

    def __init__(self, dim, depth, heads, img=28, patch=4, chans=1, classes=10):
        super().__init__()
        self.patch = nn.Conv2d(chans, dim, patch, patch)
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = nn.Parameter(torch.zeros(1, (img // patch) ** 2 + 1, dim))
        self.blocks = nn.ModuleList(Block(dim, heads) for _ in range(depth))
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, classes)

    def forward(self, x):
        x = self.patch(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], 1) + self.pos
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.norm(x)[:, 0])


# name: (dim, depth, heads, batch, image size, patch, channels, classes); bench names vit_small,
# vit_tiny and deit_small (the last is DeiT-S, as iris's "deit-small" config)
VIT_CONFIGS = {"vit_small": (64, 6, 4, 128, 28, 4, 1, 10), "vit_tiny": (192, 12, 3, 64, 28, 4, 1, 10),
               "deit_small": (384, 12, 6, 64, 224, 16, 3, 1000)}


def bench_classifier(name, model, x, y):
    """Times a train step (zero_grad, forward, cross-entropy, backward, AdamW) and an eval forward;
    emits <name>_train, <name>_eval (images/s) and <name>_rss, as iris_bench's bench_classifier."""
    batch = x.shape[0]
    if CUDA:
        torch.cuda.reset_peak_memory_stats(DEVICE)
    model = model.to(DEVICE)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.05)

    def train_step():
        opt.zero_grad(set_to_none=True)
        with autocast():
            loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()

    def eval_step():
        with torch.no_grad(), autocast():
            model(x)

    secs = 2.0 if QUICK else 6.0
    extra = {"device": str(DEVICE)} if CUDA else {}
    model.train()
    emit(f"{name}_train", batch / timeit(train_step, secs), "images/s", batch=batch, **extra)
    model.eval()
    emit(f"{name}_eval", batch / timeit(eval_step, secs / 2), "images/s", batch=batch, **extra)
    emit(f"{name}_rss", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, "MiB")
    if CUDA:
        emit(f"{name}_gpu_peak", torch.cuda.max_memory_allocated(DEVICE) / 1048576.0, "MiB")


def bench_vit(name):
    dim, depth, heads, batch, img, patch, chans, classes = VIT_CONFIGS[name]
    torch.manual_seed(0)
    model = ViT(dim, depth, heads, img, patch, chans, classes)
    x = torch.rand(batch, chans, img, img, device=DEVICE)
    y = torch.randint(0, classes, (batch,), device=DEVICE)
    bench_classifier(name, model, x, y)


def bench_davit_mini():
    """The DaViT miniature (iris_bench davit_mini): timm's DaVit with two stages, embed dims (64, 128),
    one dual block each, heads (2, 4), window 7, on 28x28 grey images; the stem conv swapped for
    3x3 stride 2 (as tests/golden/make_davit.py does), so the first stage sees 14x14 tokens."""
    try:
        import timm
    except ImportError:
        print("torch_ref: davit_mini skipped: timm is not installed (pip install timm)", file=sys.stderr)
        return
    torch.manual_seed(0)
    model = timm.create_model("davit_tiny", pretrained=False, in_chans=1, num_classes=10, embed_dims=(64, 128),
                              depths=(1, 1), num_heads=(2, 4), window_size=7)
    model.stem.conv = nn.Conv2d(1, 64, kernel_size=3, stride=2, padding=1)
    model.stem.stride = (2, 2)
    x = torch.rand(64, 1, 28, 28, device=DEVICE)
    y = torch.randint(0, 10, (64,), device=DEVICE)
    bench_classifier("davit_mini", model, x, y)


if __name__ == "__main__":
    info = {"bench": "torch_version", "value": torch.__version__, "unit": "",
            "source": os.path.dirname(torch.__file__), "threads": THREADS}
    if CUDA:
        strict_fp32()
        info["device"] = torch.cuda.get_device_name(DEVICE)
    print(json.dumps(info), flush=True)
    args = sys.argv[1:]
    which = [a for i, a in enumerate(args) if not a.startswith("--") and (i == 0 or args[i - 1] != "--device")]
    if (not which or "gemm" in which) and AMP:
        print("torch_ref: gemm skipped under --amp (fp32 kernels only)", file=sys.stderr)
    elif not which or "gemm" in which:
        bench_gemm()
    if not which or "attention" in which:
        bench_attention()
    for name in ("vit_small", "vit_tiny", "davit_mini", "deit_small"):
        if (not which and name != "deit_small") or name in which:
            bench_davit_mini() if name == "davit_mini" else bench_vit(name)
