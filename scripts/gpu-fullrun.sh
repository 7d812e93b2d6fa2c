#!/usr/bin/env bash
# Full runs of the apps on a GPU machine, one after another (two processes on one GPU time-slice
# it and each runs 3-4x slower): build the named app binaries with CUDA into build-gpu/, then run
# each command given as one argument ("APP COMMAND FLAGS..."), with `--device cuda --out RUN`
# added and IRIS_DATA set, each in its own run folder under $OUT (or runs/), with its log. Data:
# .gpu-bundle/fashion-mnist when present. Leaves out: tests and benchmarks (scripts/gpu-check.sh).
# Usage: bash scripts/gpu-fullrun.sh "vit train --epochs 40 --lr 2e-3" "minivit ablate"
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
apps=()
for cmd in "$@"; do
  app=${cmd%% *}
  [[ " ${apps[*]} " == *" $app "* ]] || apps+=("$app")
done
t=$(date +%s)
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DIRIS_CUDA=ON \
  -DCMAKE_CUDA_ARCHITECTURES="${CUDA_ARCH:-90}" ${NVCC:+-DCMAKE_CUDA_COMPILER="$NVCC"} "${prefix[@]}" \
  > "$out/build.log" 2>&1 &&
  cmake --build "$build" -j "$(nproc)" --target "${apps[@]}" >> "$out/build.log" 2>&1 ||
  { echo "build failed:"; tail -n 40 "$out/build.log"; exit 1; }
echo "build: $(( $(date +%s) - t ))s"
i=0
for cmd in "$@"; do
  i=$((i + 1))
  run=$out/run$i
  echo "== run$i: $cmd --device cuda"
  t=$(date +%s)
  # shellcheck disable=SC2086
  OMP_WAIT_POLICY=PASSIVE IRIS_DATA=$data "$build/bin/"$cmd --device cuda --out "$run" \
    > "$out/run$i.log" 2>&1 < /dev/null
  echo "rc $? in $(( $(date +%s) - t ))s: $(tail -n 1 "$out/run$i.log")"
done
