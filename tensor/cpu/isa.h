// Runtime CPU dispatch: which of iris's hand-written CPU kernel sets runs, chosen once from what the
// CPU reports (cpuid, through __builtin_cpu_supports), so one binary -- NATIVE=0 or not -- runs on
// every x86-64 host and uses the widest kernels it has there. IRIS_ISA=scalar|avx2|avx512 forces a
// path for tests and comparisons; naming one the CPU lacks is an error, never a crash.
// Kernel families ask kernel_isa() (what runs), not the CPU: a family without an AVX-512 version
// (all but the packed SGEMM's micro-kernel, today) runs its AVX2 one on an AVX-512 host. Leaves out: the compiler's own vectorisation of the
// elementwise loops, which follows the build's -march (NATIVE=1: this CPU; NATIVE=0: x86-64).
#pragma once

#include <cstdint>
#include <string>

namespace iris::cpu {

enum class Isa : uint8_t { scalar = 0, avx2 = 1, avx512 = 2 };

const char* isa_name(Isa isa);            // "scalar", "avx2", "avx512"
bool cpu_supports(Isa isa);               // avx2: AVX2 + FMA; avx512: F + BW + VL + DQ + FMA
Isa cpu_best_isa();                       // the widest the CPU runs
bool cpu_has_avx512_bf16();               // AVX512_BF16 (vdpbf16ps), reported by iris_bench
// The widest set iris has any kernel for.
constexpr Isa kWidestKernels = Isa::avx512;

// The ISA the kernels run at: IRIS_ISA when set (checked against the CPU: an unsupported or
// unknown name throws iris::Error naming the choices), else cpu_best_isa(); never wider than
// kWidestKernels. Read once; set_kernel_isa changes it (tests).
Isa kernel_isa();
// The ISA the user or the CPU asked for before capping at kWidestKernels (iris_bench prints both).
Isa requested_isa();
// Forces the kernel ISA (throws when the CPU lacks it). Returns the previous one. Not for use while
// other threads run kernels.
Isa set_kernel_isa(Isa isa);
// True when IRIS_ISA or set_kernel_isa chose the ISA (not the CPU's best): a kernel that would
// otherwise decide by measurement (the AVX-512 GEMM tiles) then runs as asked.
bool isa_forced();
// Parses "scalar" / "avx2" / "avx512"; throws naming the choices otherwise.
Isa parse_isa(const std::string& name);

// The whole choice (the ISA and whether it was forced), to save and restore.
struct IsaChoice {
  Isa isa;
  bool forced;
};
IsaChoice kernel_isa_choice();
void restore_kernel_isa_choice(IsaChoice choice);

// For a scope: the kernels run at `isa` (forced), then the previous choice is restored.
class KernelIsaGuard {
 public:
  explicit KernelIsaGuard(Isa isa) : saved_(kernel_isa_choice()) { set_kernel_isa(isa); }
  ~KernelIsaGuard() { restore_kernel_isa_choice(saved_); }
  KernelIsaGuard(const KernelIsaGuard&) = delete;
  KernelIsaGuard& operator=(const KernelIsaGuard&) = delete;

 private:
  IsaChoice saved_;
};

}  // namespace iris::cpu
