# iris: the front door. `make demo` and `make test` are all a new user needs; both install the
# Debian packages first (make deps). The real build is CMakeLists.txt.

# ---- knobs -------------------------------------------------------------------------------
BUILD     ?= build             # build folder
JOBS      ?= $(shell nproc)    # parallel compile jobs
CUDA      ?= 0                 # 1: build the CUDA backend (needs nvcc)
CUDA_ARCH ?= native            # e.g. 90 for H100; native = the GPU of this machine
NATIVE    ?= 1                 # -march=native
PREFIX    ?=                   # extra prefix with usr/include, usr/lib (see make gpu-bundle)
THREADS   ?=                   # IRIS_NUM_THREADS for tests, demos and benchmarks
# ------------------------------------------------------------------------------------------

BUILD := $(strip $(BUILD))
CUDA := $(strip $(CUDA))
NVCC := $(shell command -v nvcc 2>/dev/null || ls /usr/local/cuda/bin/nvcc 2>/dev/null)
# CMake's CUDA_ARCH=native needs a GPU to ask; without one (CI, a build host) compile for 90 (H100).
HAVE_GPU := $(if $(filter 1,$(CUDA)),$(shell nvidia-smi -L >/dev/null 2>&1 && echo 1),)
CUDA_ARCH_USED := $(if $(and $(filter native,$(strip $(CUDA_ARCH))),$(if $(HAVE_GPU),,1)),90,$(strip $(CUDA_ARCH)))
CMAKE_FLAGS := -DIRIS_NATIVE=$(if $(filter 1,$(strip $(NATIVE))),ON,OFF) \
               $(if $(strip $(PREFIX)),-DIRIS_PREFIX=$(abspath $(strip $(PREFIX))),) \
               $(if $(filter 1,$(CUDA)),-DIRIS_CUDA=ON -DCMAKE_CUDA_COMPILER=$(NVCC) -DCMAKE_CUDA_ARCHITECTURES=$(CUDA_ARCH_USED),-DIRIS_CUDA=OFF)
CUDA_TESTS := $(basename $(notdir $(wildcard tests/test_cuda_*.cpp)))
RUN_ENV := $(if $(strip $(THREADS)),IRIS_NUM_THREADS=$(strip $(THREADS)),)
GENERATOR := $(if $(shell command -v ninja 2>/dev/null),-G Ninja,)

.PHONY: all deps report configure build test demo sanitize sanitize-opt bench bench-compare clean help tokenizer \
        gpu-bundle cuda-check

all: build

help:
	@echo "make demo      install deps, build, train a ViT on Fashion-MNIST for a few minutes"
	@echo "make test      install deps, build, run every test (CTest)"
	@echo "make build     build library, apps, tests into $(BUILD)/"
	@echo "make sanitize  build with ASan+UBSan into build-asan/ and run the tests there"
	@echo "make sanitize-opt  the same at -O1, portable (build-asan-opt/): what only the optimiser exposes"
	@echo "make bench     run the benchmarks;  make bench-compare  also run PyTorch side by side"
	@echo "make deps      install the Debian packages iris needs (apt-get, only what is missing)"
	@echo "make tokenizer train the text tokenizer on the caption corpus: $(BUILD)/tokenizer/iris.model"
	@echo "make cuda-check  compile the CUDA backend (build-cuda/, arch 90) and run the GPU tests (they skip without a GPU)"
	@echo "make gpu-bundle  unpack the Debian packages a bare GPU machine lacks into .gpu-bundle/ (then PREFIX=.gpu-bundle)"
	@echo "knobs: BUILD JOBS CUDA CUDA_ARCH NATIVE PREFIX THREADS (see the top of this Makefile)"

deps:
	@bash scripts/deps.sh

report:
	@eigen=$$(sed -n 's/#define EIGEN_\(WORLD\|MAJOR\|MINOR\)_VERSION \([0-9]*\)/\2/p' \
	    $(if $(strip $(PREFIX)),$(abspath $(strip $(PREFIX)))/usr/include/eigen3,/usr/include/eigen3)/Eigen/src/Core/util/Macros.h 2>/dev/null | paste -sd.); \
	  if [ -n "$$eigen" ]; then echo "✓ Eigen $$eigen"; else echo "✗ Eigen not found (make deps)"; fi; \
	  if [ -n "$(NVCC)" ]; then \
	    v=$$($(NVCC) --version | sed -n 's/.*release \([0-9.]*\).*/\1/p'); \
	    if [ "$(CUDA)" = "1" ]; then echo "✓ CUDA $$v: building the GPU backend for sm_$(CUDA_ARCH_USED)"; \
	      if [ "$(strip $(CUDA_ARCH))" = "native" ] && [ -z "$(HAVE_GPU)" ]; then \
	        echo "  CUDA_ARCH=native needs a GPU to detect; compiling for 90 (H100) instead (set CUDA_ARCH=...)"; fi; \
	    else echo "✓ CUDA $$v found: the GPU backend builds with make CUDA=1"; fi; \
	  else echo "✗ no nvcc: CPU-only build"; fi; \
	  isa=scalar; grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo && isa=avx2; \
	  w=1; for f in avx512f avx512bw avx512vl avx512dq; do grep -qw $$f /proc/cpuinfo || w=0; done; \
	  if [ $$w = 1 ] && [ $$isa = avx2 ]; then isa=avx512; fi; \
	  echo "✓ CPU: $$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1), up to $$isa; kernels picked at run time" \
	    "(tensor/cpu/isa.h; IRIS_ISA=scalar|avx2|avx512 forces one)"; \
	  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then \
	    echo "✓ GPU: $$(nvidia-smi -L | head -n 1)"; \
	  else echo "✗ no GPU: GPU tests will be skipped"; fi; \
	  if [ -n "$(strip $(THREADS))" ]; then echo "  threads: $(strip $(THREADS)) (THREADS)"; \
	  elif [ -n "$${IRIS_NUM_THREADS:-}" ]; then echo "  threads: $$IRIS_NUM_THREADS (IRIS_NUM_THREADS)"; \
	  else echo "  threads: all $$(nproc) cores"; fi

# Configures when the folder is new or the knobs changed since (CUDA=1 after a CPU build, ...).
configure:
	@if [ "$(CUDA)" = "1" ] && [ -z "$(NVCC)" ]; then \
	  echo "CUDA=1 needs nvcc: install the CUDA toolkit (or put nvcc on PATH), or build without CUDA=1"; exit 1; fi
	@if [ ! -f $(BUILD)/CMakeCache.txt ] || [ "$$(cat $(BUILD)/iris-cmake-flags 2>/dev/null)" != "$(strip $(CMAKE_FLAGS))" ]; then \
	  cmake -S . -B $(BUILD) $(GENERATOR) $(CMAKE_FLAGS) > $(BUILD).configure.log 2>&1 || \
	    { cat $(BUILD).configure.log; exit 1; }; \
	  echo "$(strip $(CMAKE_FLAGS))" > $(BUILD)/iris-cmake-flags; fi

build: report configure
	@cat $(BUILD)/iris-toolchain.txt 2>/dev/null || true
	@cmake --build $(BUILD) -j $(strip $(JOBS))

test: deps build
	@cd $(BUILD) && $(RUN_ENV) ctest --output-on-failure -j $(strip $(JOBS))

demo: deps build
	@$(RUN_ENV) $(BUILD)/bin/vit demo

# The sentencepiece model every text app loads; deterministic (same corpus, same bytes).
tokenizer: deps configure
	@cmake --build $(BUILD) -j $(strip $(JOBS)) --target datagen
	@$(BUILD)/bin/datagen corpus --out $(BUILD)/tokenizer

sanitize: deps
	@$(MAKE) --no-print-directory build BUILD=build-asan \
	  CMAKE_FLAGS="-DIRIS_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug -DIRIS_NATIVE=ON"
	@# The app smoke tests (test_apps, test_datagen, test_davit_app) are left out here: they run the
	@# app binaries end to end (minutes under ASan at -O0); their code runs in-process in other suites.
	@cd build-asan && IRIS_SANITIZED=1 ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --output-on-failure -j $(strip $(JOBS)) -E 'test_apps|test_datagen|test_davit_app|test_minivit_app|test_unicl_app|test_farl_app'

# The same suite with the sanitizers at -O1: some bugs (and miscompiles) appear only once the
# optimiser inlines across headers, which the -O0 build above cannot see. Built portable
# (NATIVE=0), so CI also runs the suite on the binary that picks its kernels at run time only.
sanitize-opt: deps
	@$(MAKE) --no-print-directory build BUILD=build-asan-opt \
	  CMAKE_FLAGS="-DIRIS_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo -DIRIS_NATIVE=OFF"
	@cd build-asan-opt && IRIS_SANITIZED=1 ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --output-on-failure -j $(strip $(JOBS)) -E 'test_apps|test_datagen|test_davit_app|test_minivit_app|test_unicl_app|test_farl_app'

bench: deps build
	@$(RUN_ENV) $(BUILD)/bin/iris_bench

bench-compare: deps build
	@$(RUN_ENV) bash bench/compare.sh $(BUILD)

# CI: the CUDA backend compiles (arch 90, no GPU needed) and the GPU tests run, or skip with a message.
cuda-check: deps
	@if [ -z "$(NVCC)" ]; then echo "cuda-check: skipped: no nvcc on this machine"; exit 0; fi; \
	  $(MAKE) --no-print-directory report configure BUILD=build-cuda CUDA=1 CUDA_ARCH=90 || exit 1; \
	  cmake --build build-cuda -j $(strip $(JOBS)) --target iris $(CUDA_TESTS) || exit 1; \
	  failed=""; for t in $(CUDA_TESTS); do \
	    echo "== $$t"; $(RUN_ENV) build-cuda/tests/$$t || failed="$$failed $$t"; done; \
	  if [ -n "$$failed" ]; then echo "cuda-check: FAILED:$$failed"; exit 1; fi; \
	  echo "cuda-check: $(words $(CUDA_TESTS)) GPU test binaries passed (or skipped without a GPU)"

gpu-bundle:
	@bash scripts/gpu-bundle.sh

clean:
	rm -rf $(BUILD) build-asan build-asan-opt build-cuda $(BUILD).configure.log build-asan.configure.log \
	  build-asan-opt.configure.log build-cuda.configure.log
