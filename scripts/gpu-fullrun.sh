#!/usr/bin/env bash
# Full training runs of `vit` on a GPU machine, one after another (two processes on one GPU
# time-slice it and each runs 3-4x slower): build the vit binary with CUDA into build-gpu/, then
# run each recipe given as one argument (the flags after `vit train --device cuda`), each in its own
# run folder under $OUT (or runs/), with its log. Data: .gpu-bundle/fashion-mnist when present.
# Leaves out: tests and benchmarks (scripts/gpu-check.sh does those).
# Usage: bash scripts/gpu-fullrun.sh "--epochs 30 --lr 2e-3 --no-augment" "--epochs 40 --lr 2e-3"
set -o pipefail
cd "$(dirname "$0")/.."
out=${OUT:-runs/gpu-fullrun-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out"
build=${GPU_FULLRUN_BUILD:-build-gpu}
if [[ -d .gpu-bundle/usr ]]; then
  export LD_LIBRARY_PATH="$PWD/.gpu-bundle/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  prefix=(-DIRIS_PREFIX="$PWD/.gpu-bundle")
fi
data=/usr/share/datasets/fashion-mnist
[[ -d .gpu-bundle/fashion-mnist ]] && data=$PWD/.gpu-bundle/fashion-mnist
NVCC=$(command -v nvcc || ls /usr/local/cuda/bin/nvcc 2>/dev/null || true)
nvidia-smi -L || true
t=$(date +%s)
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DIRIS_CUDA=ON \
  -DCMAKE_CUDA_ARCHITECTURES="${CUDA_ARCH:-90}" ${NVCC:+-DCMAKE_CUDA_COMPILER="$NVCC"} "${prefix[@]}" \
  > "$out/build.log" 2>&1 &&
  cmake --build "$build" -j "$(nproc)" --target vit >> "$out/build.log" 2>&1 ||
  { echo "build failed:"; tail -n 40 "$out/build.log"; exit 1; }
echo "build: $(( $(date +%s) - t ))s"
i=0
for recipe in "$@"; do
  i=$((i + 1))
  run=$out/run$i
  echo "== run$i: vit train --device cuda $recipe"
  t=$(date +%s)
  # shellcheck disable=SC2086
  OMP_WAIT_POLICY=PASSIVE "$build/bin/vit" train --device cuda --data "$data" --out "$run" $recipe \
    > "$out/run$i.log" 2>&1 < /dev/null
  echo "rc $? in $(( $(date +%s) - t ))s: $(tail -n 1 "$out/run$i.log")"
done
