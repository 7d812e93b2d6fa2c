#!/usr/bin/env bash
# The one prepared run on a GPU machine (H100/H200, sm_90), under about 6 minutes:
#   1. the machine: nvidia-smi, nvcc
#   2. configure + build with CUDA into build-gpu/ (Ninja, all cores; PREFIX=.gpu-bundle when it
#      exists, see `make gpu-bundle`): the library, the tests/test_cuda_* binaries, iris_bench, vit
#   3. every tests/test_cuda_* binary, all at once, each under a timeout; pass/fail and the failing
#      assertions (doctest's report) go to the log
#   4. the GPU benchmark: iris_bench and bench/torch_ref.py on the GPU (attention fused and unfused,
#      vit_small, vit_tiny, deit_small), images/s and the iris/PyTorch ratios: fp32 first, then the
#      same groups with --amp (bf16 autocast on both sides; names end in _amp)
#   5. `vit train --quick --device cuda` and `vit eval` on a Fashion-MNIST slice from the bundle, then
#      the same training with --amp
#   6. if time is left, each failing test case again on its own with CUDA_LAUNCH_BLOCKING=1 (a
#      kernel fault poisons the rest of its process; alone it names its own kernel)
#   then a summary block and one JSON line. Every step after the build goes on after a failure.
# Output: $OUT/ when set (the device runner), else runs/gpu-check-<time>/: gpu-check.log (all of
# it), build.log, tests.log (every doctest report in full), iris.jsonl, torch.jsonl, app.log,
# summary.json. Knobs: GPU_CHECK_BUDGET (seconds, default 330), CUDA_ARCH (default 90), JOBS,
# GPU_CHECK_BUILD (build folder, default build-gpu), GPU_CHECK_TESTS (test binaries to run, default
# every tests/test_cuda_*), GPU_CHECK_NO_BUILD=1 (use the build folder as it is).
# Leaves out: the CPU test suite (CI runs it), compute-sanitizer (too slow for the budget).
set -o pipefail   # not -e: every step after the build runs whatever failed before it
cd "$(dirname "$0")/.."
T0=$(date +%s)
BUDGET=${GPU_CHECK_BUDGET:-330}
ARCH=${CUDA_ARCH:-90}
JOBS=${JOBS:-$(nproc)}
if [[ -n "${OUT:-}" ]]; then dir=$OUT; else dir=runs/gpu-check-$(date +%Y%m%d-%H%M%S); fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
log=$dir/gpu-check.log
work=$(mktemp -d /tmp/iris-gpu-check.XXXXXX)
exec > >(tee -a "$log") 2>&1
tee_pid=$!

elapsed() { echo $(( $(date +%s) - T0 )); }
left() { echo $(( BUDGET - $(elapsed) )); }
step() { echo; echo "== [$(elapsed)s] $*"; }
# cap SECONDS RESERVE: SECONDS, or less so that RESERVE seconds stay for the later steps (>= 5)
cap() { local c=$1 l=$(( $(left) - $2 )); (( l < c )) && c=$l; (( c < 5 )) && c=5; echo "$c"; }

build=${GPU_CHECK_BUILD:-build-gpu}
if [[ -d .gpu-bundle/usr ]]; then
  export LD_LIBRARY_PATH="$PWD/.gpu-bundle/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
NVCC=$(command -v nvcc || ls /usr/local/cuda/bin/nvcc 2>/dev/null || true)
PY=python3
$PY -c "import torch" 2>/dev/null || { [[ -x .venv/bin/python ]] && PY=.venv/bin/python; }

step "machine"
nvidia-smi -L || echo "nvidia-smi -L failed"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader 2>/dev/null || true
if [[ -n "$NVCC" ]]; then "$NVCC" --version | tail -n 2; else echo "no nvcc found"; fi
echo "host: $(nproc) cores, $(uname -r), $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME"); g++ $(g++ -dumpfullversion 2>/dev/null); $(cmake --version | head -n 1); ninja $(ninja --version 2>/dev/null)"
torch_info=$($PY -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "gpu", torch.cuda.is_available())' 2>&1 | tail -n 1)
echo "python: $PY ($torch_info)"
torch_cuda=0
[[ $torch_info == *"gpu True"* ]] && torch_cuda=1
echo "bundle: $( [[ -d .gpu-bundle/usr ]] && echo ".gpu-bundle ($(paste -sd, .gpu-bundle/PACKAGES 2>/dev/null))" || echo "none (system packages)")"
gpu_name=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1)

# ---- build -----------------------------------------------------------------------------------
step "configure ($build, CUDA arch $ARCH)"
cuda_tests=()
if [[ -n "${GPU_CHECK_TESTS:-}" ]]; then read -r -a cuda_tests <<< "$GPU_CHECK_TESTS"
else for f in tests/test_cuda_*.cpp; do cuda_tests+=("$(basename "$f" .cpp)"); done; fi
generator=Ninja keep_going=(-k 0)   # past a file that fails to compile
command -v ninja >/dev/null || { generator="Unix Makefiles"; keep_going=(-k); }
cmake_args=(-S . -B "$build" -G "$generator" -DCMAKE_BUILD_TYPE=Release -DIRIS_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES="$ARCH")
[[ -n "$NVCC" ]] && cmake_args+=(-DCMAKE_CUDA_COMPILER="$NVCC")
[[ -d .gpu-bundle/usr ]] && cmake_args+=(-DIRIS_PREFIX="$PWD/.gpu-bundle")
t=$(date +%s)
if [[ -n "${GPU_CHECK_NO_BUILD:-}" ]]; then configure_rc=0; echo "(GPU_CHECK_NO_BUILD: using $build as it is)" > "$dir/build.log"
else timeout -k 5 "$(cap 120 200)" cmake "${cmake_args[@]}" > "$dir/build.log" 2>&1; configure_rc=$?; fi
echo "configure: rc $configure_rc in $(( $(date +%s) - t ))s"
if (( configure_rc != 0 )); then tail -n 30 "$dir/build.log"; fi
grep -E "^(Eigen3_DIR|STB_INCLUDE_DIR|DOCTEST_INCLUDE_DIR|SENTENCEPIECE_LIBRARY|ZLIB_LIBRARY_RELEASE|CMAKE_CUDA_COMPILER):" \
  "$build/CMakeCache.txt" 2>/dev/null | sed 's/^/  /'

build_rc=1
build_s=0
if (( configure_rc == 0 )) && [[ -n "${GPU_CHECK_NO_BUILD:-}" ]]; then build_rc=0
elif (( configure_rc == 0 )); then
  step "build: iris ${cuda_tests[*]} iris_bench vit (-j$JOBS, keeps going past a failing file)"
  t=$(date +%s)
  timeout -k 5 "$(cap 600 60)" cmake --build "$build" -j "$JOBS" --target iris "${cuda_tests[@]}" iris_bench vit \
    -- "${keep_going[@]}" >> "$dir/build.log" 2>&1
  build_rc=$?
  build_s=$(( $(date +%s) - t ))
  echo "build: rc $build_rc in ${build_s}s"
  if (( build_rc != 0 )); then
    echo "build errors (first 60 lines; all of it in build.log):"
    grep -E "error|FAILED|undefined reference" "$dir/build.log" | head -n 60
  fi
  awk 'NR>1 {printf "%7.1fs %s\n", ($2-$1)/1000, $4}' "$build/.ninja_log" 2>/dev/null | sort -rn | head -n 8 |
    sed 's/^/  slowest: /'
fi

# ---- GPU tests -------------------------------------------------------------------------------
declare -A test_status test_cases test_asserts test_secs
run_tests() {
  local per_test=$1 threads=$2 pids=() name
  for name in "${cuda_tests[@]}"; do
    local bin=$build/tests/$name
    if [[ ! -x $bin ]]; then test_status[$name]="not built"; continue; fi
    ( s=$(date +%s)
      IRIS_NUM_THREADS=$threads OMP_NUM_THREADS=$threads timeout -k 5 "$per_test" "$bin" > "$work/$name.out" 2>&1
      echo "$? $(( $(date +%s) - s ))" > "$work/$name.rc" ) &
    pids+=($!)
  done
  (( ${#pids[@]} )) && wait "${pids[@]}"
}
if (( configure_rc == 0 )); then
  n=${#cuda_tests[@]}
  threads=$(( JOBS / (n > 0 ? n : 1) )); (( threads < 2 )) && threads=2
  per_test=$(cap 60 30)
  step "GPU tests: ${n} binaries at once, ${per_test}s each, $threads CPU threads each"
  run_tests "$per_test" "$threads"
  for name in "${cuda_tests[@]}"; do
    [[ -f $work/$name.rc ]] || continue
    read -r rc secs < "$work/$name.rc"
    out=$work/$name.out
    test_secs[$name]=$secs
    test_cases[$name]=$(grep -E "^\[doctest\] test cases:" "$out" | tail -n 1 | sed 's/\[doctest\] test cases: *//')
    test_asserts[$name]=$(grep -E "^\[doctest\] assertions:" "$out" | tail -n 1 | sed 's/\[doctest\] assertions: *//')
    if (( rc == 124 || rc == 137 )); then test_status[$name]="TIMEOUT"
    elif (( rc > 128 )); then test_status[$name]="CRASH (signal $(( rc - 128 )))"
    elif (( rc != 0 )); then test_status[$name]="FAIL"
    elif grep -q "GPU tests skipped" "$out"; then test_status[$name]="skipped (no GPU)"
    else test_status[$name]="pass"; fi
    { echo "======== $name: ${test_status[$name]} (rc $rc, ${secs}s)"; cat "$out"; } >> "$dir/tests.log"
  done
  for name in "${cuda_tests[@]}"; do
    printf "  %-26s %-18s %5ss  cases: %s\n" "$name" "${test_status[$name]}" "${test_secs[$name]:--}" \
      "${test_cases[$name]:--}"
  done
  for name in "${cuda_tests[@]}"; do
    [[ ${test_status[$name]} == pass || ${test_status[$name]} == "not built" ]] && continue
    [[ ${test_status[$name]} == skipped* ]] && continue
    echo "---- $name: failing assertions (first 80 lines; tests.log has everything)"
    grep -vE "^=+$|^\[doctest\] (doctest version|run with)" "$work/$name.out" | grep -v "^$" | head -n 80
  done
fi

# ---- benchmark ---------------------------------------------------------------------------------
: > "$dir/iris.jsonl"
: > "$dir/torch.jsonl"
# bench_pass LABEL EXTRA_FLAG: iris then PyTorch, the four groups, EXTRA_FLAG ("" or --amp) on both
bench_pass() {
  local label=$1 flag=$2 group t rc
  if [[ -x $build/bin/iris_bench ]]; then
    step "benchmark: iris on the GPU ($label, --quick: ~2 s per measurement)"
    for group in attention vit_small vit_tiny deit_small; do
      if (( $(left) < 40 )); then echo "iris_bench $group $flag: skipped, $(left)s left"; continue; fi
      t=$(date +%s)
      timeout -k 5 "$(cap 45 40)" "$build/bin/iris_bench" "$group" --quick --device cuda $flag >> "$dir/iris.jsonl" \
        2> "$work/bench.err"
      rc=$?
      sed 's/^/  /' "$work/bench.err"
      (( rc != 0 )) && echo "  iris_bench $group $flag: rc $rc$( (( rc == 124 )) && echo ' (timeout)')"
      echo "  ($group: $(( $(date +%s) - t ))s)"
    done
  fi
  if (( torch_cuda )); then
    if (( $(left) >= 35 )); then
      step "benchmark: PyTorch on the GPU ($label; same models and shapes, TF32 off)"
      t=$(date +%s)
      timeout -k 5 "$(cap 100 25)" $PY bench/torch_ref.py attention vit_small vit_tiny deit_small --quick --device cuda \
        $flag >> "$dir/torch.jsonl" 2> "$work/torch.err"
      rc=$?
      tail -n 5 "$work/torch.err" | sed 's/^/  /'
      echo "  torch_ref.py $flag: rc $rc in $(( $(date +%s) - t ))s"
    else
      echo "PyTorch benchmark ($label): skipped, $(left)s left"
    fi
  else
    echo "PyTorch benchmark: skipped ($PY has no torch with CUDA)"
  fi
}
bench_pass fp32 ""
bench_pass "bf16 autocast" --amp

# ---- the app end to end ------------------------------------------------------------------------
app_status="not run"
mini=.gpu-bundle/fashion-mnist-mini
if [[ -x $build/bin/vit && -f $mini/train-images-idx3-ubyte.gz ]] && (( $(left) >= 30 )); then
  step "vit train --quick --device cuda, then vit eval (Fashion-MNIST slice)"
  : > "$dir/app.log"
  timeout -k 5 "$(cap 60 15)" "$build/bin/vit" train --quick --device cuda --data "$mini" --out "$work/vit" \
    > "$work/vit-train.out" 2>> "$dir/app.log"
  rc=$?
  cat "$work/vit-train.out" >> "$dir/app.log"
  tail -n 1 "$work/vit-train.out"
  if (( rc == 0 )); then
    timeout -k 5 "$(cap 30 10)" "$build/bin/vit" eval --quick --device cuda --data "$mini" \
      --weights "$work/vit/weights.safetensors" --out "$work/vit-eval" > "$work/vit-eval.out" 2>> "$dir/app.log"
    rc2=$?
    cat "$work/vit-eval.out" >> "$dir/app.log"
    tail -n 1 "$work/vit-eval.out"
    app_status=$( (( rc2 == 0 )) && echo "ok" || echo "eval failed (rc $rc2)")
    if (( $(left) >= 20 )); then  # the same run under --amp (bf16 autocast), end to end
      timeout -k 5 "$(cap 60 10)" "$build/bin/vit" train --quick --amp --device cuda --data "$mini" \
        --out "$work/vit-amp" > "$work/vit-amp.out" 2>> "$dir/app.log"
      rc3=$?
      cat "$work/vit-amp.out" >> "$dir/app.log"
      tail -n 1 "$work/vit-amp.out"
      app_status+=$( (( rc3 == 0 )) && echo "; --amp train ok" || echo "; --amp train failed (rc $rc3)")
    fi
  else
    app_status="train failed (rc $rc)"
    tail -n 5 "$dir/app.log"
  fi
  echo "app: $app_status"
elif [[ ! -f $mini/train-images-idx3-ubyte.gz ]]; then
  app_status="skipped (no $mini; make gpu-bundle on a machine with dataset-fashion-mnist)"
fi

# ---- failing cases one by one ------------------------------------------------------------------
isolated=$dir/tests.log
for name in "${cuda_tests[@]}"; do
  st=${test_status[$name]:-}
  [[ $st == FAIL || $st == TIMEOUT || $st == CRASH* ]] || continue
  if (( $(left) < 25 )); then echo "isolation of $name: skipped, $(left)s left"; continue; fi
  step "$name: each test case alone, CUDA_LAUNCH_BLOCKING=1"
  mapfile -t cases < <("$build/tests/$name" --list-test-cases --no-version 2>/dev/null |
                        grep -vE "^\[doctest\]|^=+$|^$")
  for c in "${cases[@]}"; do
    (( $(left) < 15 )) && { echo "  (out of time)"; break; }
    filter=${c//,/?}   # doctest splits filters at commas; '?' matches any one character
    CUDA_LAUNCH_BLOCKING=1 IRIS_NUM_THREADS=8 timeout -k 3 "$(cap 20 12)" "$build/tests/$name" -tc="$filter" \
      > "$work/case.out" 2>&1
    rc=$?
    verdict=$( (( rc == 0 )) && echo pass || echo "FAIL (rc $rc)")
    printf "  %-10s %s\n" "$verdict" "$c"
    if (( rc != 0 )); then
      { echo "======== $name -tc=\"$filter\" alone, CUDA_LAUNCH_BLOCKING=1: rc $rc"; cat "$work/case.out"; } >> "$isolated"
      grep -E "ERROR|error|CUDA|values:|logged:" "$work/case.out" | head -n 6 | sed 's/^/      /'
    fi
  done
done

# ---- summary -----------------------------------------------------------------------------------
step "summary"
tests_tsv=$work/tests.tsv
: > "$tests_tsv"
for name in "${cuda_tests[@]}"; do
  printf "%s\t%s\t%s\t%s\t%s\n" "$name" "${test_status[$name]:-not run}" "${test_cases[$name]:-}" \
    "${test_asserts[$name]:-}" "${test_secs[$name]:-}" >> "$tests_tsv"
done
$PY - "$dir/iris.jsonl" "$dir/torch.jsonl" "$tests_tsv" "$build_rc" "$build_s" "$app_status" "$(elapsed)" \
  "${gpu_name:-unknown}" > "$work/summary.txt" <<'EOF'
import json, sys
iris_path, torch_path, tests_path, build_rc, build_s, app, seconds, gpu = sys.argv[1:9]

def load(path):
    out = {}
    for line in open(path):
        line = line.strip()
        if line.startswith("{"):
            try:
                r = json.loads(line)
                out[r["bench"]] = r
            except Exception:
                pass
    return out

iris, torch = load(iris_path), load(torch_path)
tests = {}
for line in open(tests_path):
    name, status, cases, asserts, secs = (line.rstrip("\n").split("\t") + [""] * 5)[:5]
    tests[name] = {"status": status, "cases": cases, "assertions": asserts, "seconds": secs}
print("tests:")
for name, t in tests.items():
    print(f"  {name:<26} {t['status']:<18} {t['cases']}")
rows, ratios = [], {}
for name, r in iris.items():
    if r.get("unit") not in ("images/s", "heads/s", "GFLOP/s", "MiB") or "_rss" in name:
        continue
    t = torch.get(name)
    ratio = r["value"] / t["value"] if t and t["value"] else None
    if ratio is not None:
        ratios[name] = round(ratio, 3)
    rows.append((name, r["value"], t["value"] if t else None, ratio, r["unit"]))
print("\nbenchmark on the GPU (iris / PyTorch; for *_gpu_peak lower is better):")
print(f"  {'benchmark':<32}{'iris':>11}{'PyTorch':>11}{'ratio':>8}  unit")
for name, a, b, ratio, unit in rows:
    bs = f"{b:11.1f}" if b is not None else f"{'-':>11}"
    rs = f"{ratio:8.2f}" if ratio is not None else f"{'-':>8}"
    print(f"  {name:<32}{a:11.1f}{bs}{rs}  {unit}")
fused = {}
for name, r in iris.items():
    if name.startswith("attention_") and "_unfused_train" in name:
        f = iris.get(name.replace("_unfused_train", "_train"))
        if f and r["value"]:
            fused[name.replace("_unfused_train", "")] = round(f["value"] / r["value"], 3)
if fused:
    print("\niris fused attention / unfused (matmul-softmax-matmul), forward+backward: " +
          ", ".join(f"{k} {v:.2f}x" for k, v in fused.items()))
passed = sum(t["status"] == "pass" for t in tests.values())
skipped = [n for n, t in tests.items() if t["status"].startswith("skipped")]
failed = [n for n, t in tests.items() if t["status"] != "pass" and n not in skipped]
summary = {"app": "gpu-check", "gpu": gpu, "build": "ok" if build_rc == "0" else f"failed (rc {build_rc})",
           "build_seconds": int(build_s), "tests_passed": passed, "tests_failed": failed,
           "tests_skipped": skipped,
           "tests": {n: t["status"] for n, t in tests.items()}, "ratios": ratios, "fused_attention_speedup": fused,
           "images_per_s": {n: round(r["value"], 1) for n, r in iris.items() if r.get("unit") == "images/s"},
           "vit_app": app, "seconds": int(seconds)}
print()
print(json.dumps(summary))
EOF
py_rc=$?
echo "gpu-check: $(elapsed)s; files in $dir"
if (( py_rc == 0 )); then
  cat "$work/summary.txt"
  tail -n 1 "$work/summary.txt" > "$dir/summary.json"
else  # no Python: the tests alone
  line="{\"app\": \"gpu-check\", \"build_rc\": $build_rc, \"tests\": {"
  sep=""
  for name in "${cuda_tests[@]}"; do line+="$sep\"$name\": \"${test_status[$name]:-not run}\""; sep=", "; done
  line+="}, \"seconds\": $(elapsed)}"
  echo "$line" | tee "$dir/summary.json"
fi
# Long logs (a flood of compiler warnings) keep their head and tail, so they travel back.
for f in "$dir/build.log" "$dir/tests.log" "$dir/app.log"; do
  if [[ -f $f ]] && (( $(stat -c %s "$f") > 2000000 )); then
    { head -c 500000 "$f"; printf '\n[... cut by gpu-check.sh ...]\n'; tail -c 1000000 "$f"; } > "$f.cut" && mv "$f.cut" "$f"
  fi
done
rm -rf "$work"
exec 1>&- 2>&-
wait "$tee_pid" 2>/dev/null
