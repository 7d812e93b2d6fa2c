// Runtime CPU dispatch (see isa.h): the CPU's flags, IRIS_ISA, and the one atomic the kernels read.
#include "tensor/cpu/isa.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>

#include "tensor/error.h"

namespace iris::cpu {

namespace {

bool has(const char* feature_x86) {
#if defined(__x86_64__)
  __builtin_cpu_init();
  // __builtin_cpu_supports needs a string literal, hence the switch on a few known names.
  const std::string f = feature_x86;
  if (f == "avx2") return __builtin_cpu_supports("avx2");
  if (f == "fma") return __builtin_cpu_supports("fma");
  if (f == "avx512f") return __builtin_cpu_supports("avx512f");
  if (f == "avx512bw") return __builtin_cpu_supports("avx512bw");
  if (f == "avx512vl") return __builtin_cpu_supports("avx512vl");
  if (f == "avx512dq") return __builtin_cpu_supports("avx512dq");
  if (f == "avx512bf16") return __builtin_cpu_supports("avx512bf16");
#endif
  (void)feature_x86;
  return false;
}

// -1: not read yet. Holds the requested ISA; kernel_isa() caps it.
std::atomic<int> g_requested{-1};
std::atomic<bool> g_forced{false};

Isa initial_request() {
  const char* env = std::getenv("IRIS_ISA");
  if (!env || !*env) return cpu_best_isa();
  Isa isa = parse_isa(env);
  g_forced.store(true, std::memory_order_relaxed);
  IRIS_CHECK(cpu_supports(isa), "IRIS_ISA=", env, ": this CPU cannot run ", isa_name(isa), " (it runs up to ",
             isa_name(cpu_best_isa()), "); unset IRIS_ISA or choose scalar",
             cpu_best_isa() >= Isa::avx2 ? " or avx2" : "");
  return isa;
}

}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::scalar: return "scalar";
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
  }
  return "?";
}

bool cpu_supports(Isa isa) {
  switch (isa) {
    case Isa::scalar: return true;
    case Isa::avx2: return has("avx2") && has("fma");
    case Isa::avx512:
      return cpu_supports(Isa::avx2) && has("avx512f") && has("avx512bw") && has("avx512vl") && has("avx512dq");
  }
  return false;
}

Isa cpu_best_isa() {
  static const Isa best = cpu_supports(Isa::avx512) ? Isa::avx512 : cpu_supports(Isa::avx2) ? Isa::avx2 : Isa::scalar;
  return best;
}

bool cpu_has_avx512_bf16() {
  static const bool bf16 = cpu_supports(Isa::avx512) && has("avx512bf16");  // asked on every bf16 GEMM
  return bf16;
}

Isa parse_isa(const std::string& name) {
  if (name == "scalar") return Isa::scalar;
  if (name == "avx2") return Isa::avx2;
  if (name == "avx512") return Isa::avx512;
  throw Error(cat_str("IRIS_ISA: unknown instruction set '", name, "'; use scalar, avx2 or avx512"));
}

Isa requested_isa() {
  int v = g_requested.load(std::memory_order_relaxed);
  if (v < 0) {
    v = static_cast<int>(initial_request());
    g_requested.store(v, std::memory_order_relaxed);
  }
  return static_cast<Isa>(v);
}

Isa kernel_isa() { return std::min(requested_isa(), kWidestKernels); }

Isa set_kernel_isa(Isa isa) {
  IRIS_CHECK(cpu_supports(isa), "set_kernel_isa: this CPU cannot run ", isa_name(isa), " (it runs up to ",
             isa_name(cpu_best_isa()), ")");
  Isa previous = requested_isa();
  g_requested.store(static_cast<int>(isa), std::memory_order_relaxed);
  g_forced.store(true, std::memory_order_relaxed);
  return previous;
}

IsaChoice kernel_isa_choice() { return {requested_isa(), isa_forced()}; }

void restore_kernel_isa_choice(IsaChoice choice) {
  g_requested.store(static_cast<int>(choice.isa), std::memory_order_relaxed);
  g_forced.store(choice.forced, std::memory_order_relaxed);
}

bool isa_forced() {
  (void)requested_isa();  // reads IRIS_ISA first
  return g_forced.load(std::memory_order_relaxed);
}

}  // namespace iris::cpu
