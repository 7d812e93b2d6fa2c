#!/usr/bin/env bash
# Full runs of the apps on a GPU machine, one after another (two processes on one GPU time-slice
# it and each runs 3-4x slower): build the named app binaries with CUDA into build-gpu/, then run
# each command given as one argument ("APP COMMAND FLAGS..."), with `--device cuda --out RUN`
# added and IRIS_DATA set, each in its own run folder with its log (see below). Data:
# .gpu-bundle/fashion-mnist when present. GPU_FULLRUN_TESTS="test_cuda_a test_cuda_b" also builds
# those test binaries and runs them in the background while the first commands run (tests.log).
# GPU_FULLRUN_CMD_LIMIT: seconds each command may run (default: no limit).
# Leaves out: benchmarks and the summary of scripts/gpu-check.sh.
# Usage: bash scripts/gpu-fullrun.sh "vit train --epochs 40 --lr 2e-3" "minivit ablate"
set -o pipefail
cd "$(dirname "$0")/.."
# The device runner brings back at most 8 files from $OUT: the runs go to a scratch folder and
# each comes back as one runN.tgz (weights left out) beside summary.txt (every log, in order).
out=runs/gpu-fullrun-$(date +%Y%m%d-%H%M%S)
[[ -n "${OUT:-}" ]] && out=$(mktemp -d /tmp/gpu-fullrun.XXXXXX)
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
read -r -a tests <<< "${GPU_FULLRUN_TESTS:-}"
t=$(date +%s)
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DIRIS_CUDA=ON \
  -DCMAKE_CUDA_ARCHITECTURES="${CUDA_ARCH:-90}" ${NVCC:+-DCMAKE_CUDA_COMPILER="$NVCC"} "${prefix[@]}" \
  > "$out/build.log" 2>&1 &&
  cmake --build "$build" -j "$(nproc)" --target "${apps[@]}" "${tests[@]}" >> "$out/build.log" 2>&1 ||
  { echo "build failed:"; tail -n 40 "$out/build.log"; [[ -n "${OUT:-}" ]] && cp "$out/build.log" "$OUT/"; exit 1; }
echo "build: $(( $(date +%s) - t ))s"
for name in "${tests[@]}"; do
  ( OMP_WAIT_POLICY=PASSIVE timeout -k 5 120 "$build/tests/$name" > "$out/$name.log" 2>&1
    echo "$name: rc $? $(grep -E '^\[doctest\] test cases:' "$out/$name.log")" >> "$out/tests.log" ) &
done
# pack [RUN]: every log so far into $OUT/summary.txt, and RUN's folder into $OUT/RUN.tgz
pack() {
  [[ -n "${OUT:-}" ]] || return 0
  for f in "$out"/*.log; do echo "======== $(basename "$f")"; cat "$f"; done > "$OUT/summary.txt"
  [[ -n "${1:-}" && -d $out/$1 ]] && tar -czf "$OUT/$1.tgz" --exclude='*.safetensors' -C "$out" "$1"
  return 0
}
i=0
for cmd in "$@"; do
  i=$((i + 1))
  run=$out/run$i
  echo "== run$i: $cmd --device cuda"
  t=$(date +%s)
  # shellcheck disable=SC2086
  OMP_WAIT_POLICY=PASSIVE IRIS_DATA=$data timeout -k 5 "${GPU_FULLRUN_CMD_LIMIT:-86400}" "$build/bin/"$cmd --device cuda --out "$run" \
    > "$out/run$i.log" 2>&1 < /dev/null
  echo "rc $? in $(( $(date +%s) - t ))s: $(tail -n 1 "$out/run$i.log")"
  pack "run$i"   # at once, so a call cut off later still brings this run back
done
wait
[[ -f $out/tests.log ]] && cat "$out/tests.log"
pack
