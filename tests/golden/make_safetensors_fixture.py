#!/usr/bin/env python3
# Writes tests/golden/safetensors_from_python.safetensors with the real `safetensors` package (every dtype
# iris reads, a 0-d and two empty tensors, metadata), and checks a file written by iris (--check FILE).
# Leaves out: dtypes iris has no counterpart for (I8, U16, F8...). Needs torch and safetensors from PyPI.
#
#   python3 tests/golden/make_safetensors_fixture.py            # (re)writes the fixture
#   python3 tests/golden/make_safetensors_fixture.py --check F  # F must hold the same tensors + metadata
import os
import sys

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "safetensors_from_python.safetensors")
METADATA = {"format": "pt", "producer": "make_safetensors_fixture.py", "note": "caf\u00e9 \"quoted\""}


def expected_tensors():
    # Values chosen to be exact in their dtype, so the C++ test can compare bit for bit.
    return {
        "f32.matrix": torch.tensor([[0.5, -1.25, 3.0], [1e-3, -0.0, 65536.0]], dtype=torch.float32),
        "f64.vector": torch.tensor([0.1, -2.5, 1e-300, 12345678.875], dtype=torch.float64),
        "i32.vector": torch.tensor([-1, 2147483647, -2147483648], dtype=torch.int32),
        "i64.matrix": torch.tensor([[-9223372036854775808, 42], [9223372036854775807, -7]], dtype=torch.int64),
        "u8.vector": torch.tensor([0, 255, 7, 128], dtype=torch.uint8),
        "bool.vector": torch.tensor([True, False, True, True, False], dtype=torch.bool),
        "bf16.vector": torch.tensor([1.0, -2.5, 0.15625, 3.0e38], dtype=torch.bfloat16),
        "f16.vector": torch.tensor([1.0, -0.5, 65504.0, 2.0 ** -14, 2.0 ** -24], dtype=torch.float16),
        "f32.scalar": torch.tensor(3.5, dtype=torch.float32),  # 0-d
        "f32.empty": torch.zeros((0, 3), dtype=torch.float32),
        "i64.empty": torch.zeros((0,), dtype=torch.int64),
        "f32.rank3": torch.arange(24, dtype=torch.float32).reshape(2, 3, 4) / 4,
    }


def write_fixture():
    save_file(expected_tensors(), FIXTURE, metadata=METADATA)
    print(f"wrote {FIXTURE} ({os.path.getsize(FIXTURE)} bytes)")


def check(path):
    got = load_file(path)
    with safe_open(path, framework="pt") as f:
        meta = f.metadata() or {}
    want = expected_tensors()
    # iris adds one tensor of its own: a transposed (non-contiguous) view, saved as its values.
    want["extra.transposed"] = torch.arange(6, dtype=torch.float32).reshape(2, 3).t()
    problems = []
    for name, w in want.items():
        if name not in got:
            problems.append(f"missing tensor {name}")
            continue
        g = got[name]
        if g.dtype != w.dtype or tuple(g.shape) != tuple(w.shape):
            problems.append(f"{name}: got {g.dtype} {tuple(g.shape)}, want {w.dtype} {tuple(w.shape)}")
        elif not torch.equal(g.reshape(-1).view(torch.uint8), w.reshape(-1).view(torch.uint8)):
            problems.append(f"{name}: values differ: {g} vs {w}")
    for name in got:
        if name not in want:
            problems.append(f"unexpected tensor {name}")
    if meta != METADATA:
        problems.append(f"metadata {meta} != {METADATA}")
    with open(path, "rb") as fh:
        n = int.from_bytes(fh.read(8), "little")
    if n % 8 != 0:
        problems.append(f"header length {n} is not a multiple of 8")
    if problems:
        print("FAIL: " + "; ".join(problems))
        sys.exit(1)
    print(f"OK: {path}: {len(got)} tensors and the metadata match (header {n} bytes)")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        check(sys.argv[2])
    elif len(sys.argv) == 1:
        write_fixture()
    else:
        print(__doc__ if __doc__ else "usage: make_safetensors_fixture.py [--check FILE]")
        sys.exit(2)
