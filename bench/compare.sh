#!/usr/bin/env bash
# make bench-compare: iris and PyTorch on the same shapes, in one run, on this machine.
# Alternates the two per benchmark group (so both see the same machine state) and runs each ViT
# group in a fresh process (so peak memory is per model). Results: runs/bench-<time>/{iris,torch}.jsonl;
# bench/compare.py prints the table of ratios and the final JSON line.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
if [[ -x .venv/bin/python ]] && .venv/bin/python -c "import torch" 2>/dev/null; then
  py=.venv/bin/python
elif python3 -c "import torch" 2>/dev/null; then
  py=python3   # Debian's python3-torch
else
  echo "bench-compare: no PyTorch found. Either:  python3 -m venv .venv && .venv/bin/pip install torch" >&2
  echo "               or:  sudo apt-get install python3-torch" >&2
  exit 1
fi
threads=${IRIS_NUM_THREADS:-$(nproc)}
export IRIS_NUM_THREADS=$threads OMP_NUM_THREADS=$threads
out=runs/bench-$(date +%Y%m%d-%H%M%S)
mkdir -p "$out"
echo "bench-compare: $threads threads; PyTorch from $($py -c 'import torch; print(torch.__version__, torch.__file__)')" >&2
for group in gemm attention vit_small vit_tiny davit_mini; do
  echo "== $group: iris" >&2
  "$build/bin/iris_bench" $group ${QUICK:+--quick} >> "$out/iris.jsonl"
  echo "== $group: PyTorch" >&2
  $py bench/torch_ref.py $group ${QUICK:+--quick} >> "$out/torch.jsonl"
done
$py bench/compare.py "$out/iris.jsonl" "$out/torch.jsonl" | tee "$out/compare.txt"
