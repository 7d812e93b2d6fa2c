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
CMAKE_FLAGS := -DIRIS_NATIVE=$(if $(filter 1,$(strip $(NATIVE))),ON,OFF) \
               $(if $(strip $(PREFIX)),-DIRIS_PREFIX=$(abspath $(strip $(PREFIX))),) \
               $(if $(filter 1,$(CUDA)),-DIRIS_CUDA=ON -DCMAKE_CUDA_COMPILER=$(NVCC) -DCMAKE_CUDA_ARCHITECTURES=$(strip $(CUDA_ARCH)),)
RUN_ENV := $(if $(strip $(THREADS)),IRIS_NUM_THREADS=$(strip $(THREADS)),)
GENERATOR := $(if $(shell command -v ninja 2>/dev/null),-G Ninja,)

.PHONY: all deps report configure build test demo sanitize bench bench-compare clean help

all: build

help:
	@echo "make demo      install deps, build, train a ViT on Fashion-MNIST for a few minutes"
	@echo "make test      install deps, build, run every test (CTest)"
	@echo "make build     build library, apps, tests into $(BUILD)/"
	@echo "make sanitize  build with ASan+UBSan into build-asan/ and run the tests there"
	@echo "make bench     run the benchmarks;  make bench-compare  also run PyTorch side by side"
	@echo "make deps      install the Debian packages iris needs (apt-get, only what is missing)"
	@echo "knobs: BUILD JOBS CUDA CUDA_ARCH NATIVE PREFIX THREADS (see the top of this Makefile)"

deps:
	@bash scripts/deps.sh

report:
	@eigen=$$(sed -n 's/#define EIGEN_\(WORLD\|MAJOR\|MINOR\)_VERSION \([0-9]*\)/\2/p' \
	    $(if $(strip $(PREFIX)),$(abspath $(strip $(PREFIX)))/usr/include/eigen3,/usr/include/eigen3)/Eigen/src/Core/util/Macros.h 2>/dev/null | paste -sd.); \
	  if [ -n "$$eigen" ]; then echo "✓ Eigen $$eigen"; else echo "✗ Eigen not found (make deps)"; fi; \
	  if [ -n "$(NVCC)" ]; then \
	    v=$$($(NVCC) --version | sed -n 's/.*release \([0-9.]*\).*/\1/p'); \
	    if [ "$(CUDA)" = "1" ]; then echo "✓ CUDA $$v: building the GPU backend"; \
	    else echo "✓ CUDA $$v found: the GPU backend builds with make CUDA=1"; fi; \
	  else echo "✗ no nvcc: CPU-only build"; fi; \
	  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then \
	    echo "✓ GPU: $$(nvidia-smi -L | head -n 1)"; \
	  else echo "✗ no GPU: GPU tests will be skipped"; fi; \
	  echo "  threads: $${IRIS_NUM_THREADS:-$(strip $(THREADS))}$${IRIS_NUM_THREADS:+ (IRIS_NUM_THREADS)}$(if $(strip $(THREADS)),, all $$(nproc) cores)"

$(BUILD)/CMakeCache.txt:
	@cmake -S . -B $(BUILD) $(GENERATOR) $(CMAKE_FLAGS) > $(BUILD).configure.log 2>&1 || \
	  (cat $(BUILD).configure.log; exit 1)

configure: $(BUILD)/CMakeCache.txt

build: report configure
	@cmake --build $(BUILD) -j $(strip $(JOBS))

test: deps build
	@cd $(BUILD) && $(RUN_ENV) ctest --output-on-failure -j $(strip $(JOBS))

demo: deps build
	@$(RUN_ENV) $(BUILD)/bin/vit demo

sanitize: deps
	@$(MAKE) --no-print-directory build BUILD=build-asan \
	  CMAKE_FLAGS="-DIRIS_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug -DIRIS_NATIVE=ON"
	@# test_apps is left out here: it runs the app binaries end to end (minutes under ASan at -O0);
	@# the same code paths run in-process in test_checkpoint and test_app_common.
	@cd build-asan && IRIS_SANITIZED=1 ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --output-on-failure -j $(strip $(JOBS)) -E test_apps

bench: deps build
	@$(RUN_ENV) $(BUILD)/bin/iris_bench

bench-compare: deps build
	@$(RUN_ENV) bash bench/compare.sh $(BUILD)

clean:
	rm -rf $(BUILD) build-asan $(BUILD).configure.log build-asan.configure.log
