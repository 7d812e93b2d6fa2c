// Runtime CPU dispatch (tensor/cpu/isa.h): every kernel path this CPU can run -- scalar (Eigen and
// plain loops), avx2 (our packed GEMM, register transposes), avx512 when iris has such kernels --
// checked against an f64 reference on the same inputs, and the paths against each other. Paths the
// CPU cannot run are skipped with a message. Also IRIS_ISA's parsing and its error for a path the
// CPU lacks. Leaves out speed (bench/).
#include <array>

#include "tensor/cpu/isa.h"
#include "tensor/backend.h"
#include "tensor/cpu/sgemm.h"
#include "tensor/cpu/sgemm_bf16.h"
#include "tests/app_runner.h"

using namespace iris;
using cpu::Isa;

namespace {

const Isa kAll[] = {Isa::scalar, Isa::avx2, Isa::avx512};

// The forward and input gradients of a small attention + MLP block, as f32 values.
std::vector<std::vector<float>> block_outputs(uint64_t seed) {
  Generator g(seed);
  Tensor x = randn({2, 70, 48}, {}, &g).requires_grad_();  // [B, N, C]: 70 tokens, past 64-row blocks
  Tensor wqkv = (randn({144, 48}, {}, &g) * 0.1).requires_grad_();
  Tensor w1 = (randn({96, 48}, {}, &g) * 0.1).requires_grad_(), b1 = randn({96}, {}, &g).requires_grad_();
  Tensor qkv = linear(layer_norm(x, {48}), wqkv);
  Tensor att = packed_qkv_attention(qkv, 4);                 // [B, N, C]
  Tensor y = gelu(linear(att + x, w1, b1));                 // [B, N, 96]
  Tensor moved = y.permute({0, 2, 1}).contiguous();          // the transposing copy
  sum(moved * moved).backward();
  return {moved.to_vector<float>(), x.grad().to_vector<float>(), wqkv.grad().to_vector<float>(),
          w1.grad().to_vector<float>(), b1.grad().to_vector<float>()};
}

double worst_relative(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  double scale = 0, worst = 0;
  for (float v : b) scale = std::max(scale, std::fabs(double(v)));
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(double(a[i]) - b[i]) / (scale + 1e-30));
  return worst;
}

}  // namespace

TEST_CASE("ISA names parse, and unknown ones are refused with the choices") {
  CHECK(cpu::parse_isa("scalar") == Isa::scalar);
  CHECK(cpu::parse_isa("avx2") == Isa::avx2);
  CHECK(cpu::parse_isa("avx512") == Isa::avx512);
  CHECK_THROWS_WITH_SUBSTR(cpu::parse_isa("sse9"), "use scalar, avx2 or avx512");
  CHECK(cpu::cpu_supports(Isa::scalar));
  CHECK(cpu::cpu_supports(cpu::cpu_best_isa()));
  CHECK(cpu::kernel_isa() <= cpu::kWidestKernels);
  MESSAGE("this CPU runs up to " << cpu::isa_name(cpu::cpu_best_isa()) << "; kernels run at "
                                 << cpu::isa_name(cpu::kernel_isa()));
}

TEST_CASE("forcing an ISA switches the kernels and the guard restores it") {
  const Isa before = cpu::kernel_isa();
  {
    cpu::KernelIsaGuard scalar(Isa::scalar);
    CHECK(cpu::kernel_isa() == Isa::scalar);
    CHECK_FALSE(cpu::packed_sgemm_available());  // scalar: Eigen serves f32 products
  }
  CHECK(cpu::kernel_isa() == before);
  if (!cpu::cpu_supports(Isa::avx512))
    CHECK_THROWS_WITH_SUBSTR(cpu::set_kernel_isa(Isa::avx512), "cannot run avx512");
  else
    MESSAGE("this CPU has AVX-512: the refusal of an unsupported ISA is checked on AVX2-only hosts");
}

TEST_CASE("every ISA path this CPU runs agrees with the f64 reference") {
  Generator g(11);
  Tensor a = randn({67, 129}, DType::f64, &g), b = randn({129, 45}, DType::f64, &g);
  Tensor ref = matmul(a, b);
  Tensor p = randn({3, 37, 19}, {}, &g);
  for (Isa isa : kAll) {
    if (!cpu::cpu_supports(isa)) {
      MESSAGE("skipped: this CPU cannot run " << cpu::isa_name(isa));
      continue;
    }
    CAPTURE(cpu::isa_name(isa));
    cpu::KernelIsaGuard guard(isa);
    CHECK_CLOSE(matmul(a.to(DType::f32), b.to(DType::f32)), ref, 1e-4, 1e-4);
    CHECK_CLOSE(matmul(a.t().contiguous().to(DType::f32).t(), b.to(DType::f32)), ref, 1e-4, 1e-4);
    // a transposed copy is exact on every path
    std::vector<float> pv = p.to_vector<float>(), moved = p.permute({0, 2, 1}).contiguous().to_vector<float>();
    bool exact = true;
    for (int64_t i = 0; i < 3; ++i)
      for (int64_t r = 0; r < 37; ++r)
        for (int64_t c = 0; c < 19; ++c) exact = exact && moved[(i * 19 + c) * 37 + r] == pv[(i * 37 + r) * 19 + c];
    CHECK(exact);
  }
}

TEST_CASE("a transformer block's forward and gradients agree across the ISA paths") {
  std::vector<std::vector<float>> scalar;
  {
    cpu::KernelIsaGuard guard(Isa::scalar);
    scalar = block_outputs(5);
  }
  for (Isa isa : {Isa::avx2, Isa::avx512}) {
    if (!cpu::cpu_supports(isa)) {
      MESSAGE("skipped: this CPU cannot run " << cpu::isa_name(isa));
      continue;
    }
    CAPTURE(cpu::isa_name(isa));
    cpu::KernelIsaGuard guard(isa);
    std::vector<std::vector<float>> got = block_outputs(5);
    for (size_t i = 0; i < got.size(); ++i) {
      CAPTURE(i);
      CHECK(worst_relative(got[i], scalar[i]) < 1e-4);
    }
  }
}

TEST_CASE("IRIS_ISA naming an unknown path stops an app with a clear message") {
  const char* bin = std::getenv("IRIS_BIN");
  std::string dir = bin ? bin : "build/bin";
  int st = std::system(("IRIS_ISA=sse9 " + dir + "/vit train --quick --out /tmp/iris_test_isa_bad "
                        "> /dev/null 2>/tmp/iris_test_isa_stderr.txt").c_str());
  CHECK(WIFEXITED(st));
  CHECK(WEXITSTATUS(st) != 0);
  CHECK(testing::slurp("/tmp/iris_test_isa_stderr.txt").find("use scalar, avx2 or avx512") != std::string::npos);
}

TEST_CASE("the AVX-512 GEMM tiles give the AVX2 kernel's results bit for bit") {
  if (!cpu::cpu_supports(Isa::avx512)) {
    MESSAGE("skipped: this CPU cannot run avx512");
    return;
  }
  Generator g(21);
  // {M, N, K}: full 12 x 32 tiles with row and column edges; N <= 64 reads a row-major A in place;
  // K past the 384 block; bias and beta.
  for (auto [m, n, k] : std::vector<std::array<int64_t, 3>>{{100, 70, 300}, {50, 64, 200}, {24, 32, 800}, {13, 97, 5}}) {
    CAPTURE(m);
    CAPTURE(n);
    CAPTURE(k);
    std::vector<float> a = randn({m, k}, {}, &g).to_vector<float>(), b = randn({k, n}, {}, &g).to_vector<float>(),
                       bias = randn({n}, {}, &g).to_vector<float>(), c0 = randn({m, n}, {}, &g).to_vector<float>();
    auto product = [&](Isa isa, int threads) {
      cpu::KernelIsaGuard guard(isa);
      std::vector<float> c = c0;
      cpu::packed_sgemm(m, n, k, 0.75f, a.data(), k, 1, b.data(), n, 1, 0.5f, c.data(), n, threads, bias.data());
      return c;
    };
    for (int threads : {1, 2}) {
      std::vector<float> narrow = product(Isa::avx2, threads), wide = product(Isa::avx512, threads);
      CHECK(std::memcmp(narrow.data(), wide.data(), narrow.size() * sizeof(float)) == 0);
    }
  }
}

TEST_CASE("autocast's AVX512_BF16 product equals the widened f32 product of the same bf16 values") {
  if (!cpu::bf16_gemm_available()) {
    MESSAGE("skipped: no AVX512_BF16 kernel here (needs the avx512 kernel ISA and AVX512_BF16)");
    return;
  }
  Generator g(31);
  // {M, N, K}: edges in rows (12-row tiles), columns (32-wide panels) and an odd K (pairs of k);
  // K past the 512 block; a batch of small products.
  for (auto [m, n, k] : std::vector<std::array<int64_t, 3>>{{1, 1, 1}, {13, 33, 7}, {100, 70, 301}, {24, 64, 1100}}) {
    for (bool transpose_a : {false, true}) {
      CAPTURE(m);
      CAPTURE(n);
      CAPTURE(k);
      CAPTURE(transpose_a);
      Tensor a32 = randn({3, m, k}, {}, &g), b32 = randn({3, k, n}, {}, &g), bias = randn({n}, {}, &g);
      Tensor a = (transpose_a ? a32.transpose(1, 2).contiguous().transpose(1, 2) : a32).to(DType::bf16);
      Tensor b = b32.to(DType::bf16);
      Tensor c0 = randn({3, m, n}, {}, &g);
      Tensor fast = c0.clone(), slow = c0.clone();
      backend(Device::cpu()).gemm(a, b, fast, 0.75, 0.5, bias);
      backend(Device::cpu()).gemm(a.to(DType::f32), b.to(DType::f32), slow, 0.75, 0.5, bias);
      // the same exact products, summed in another order: f32 rounding of a K-term sum
      CHECK_CLOSE(fast, slow, 1e-5 * std::sqrt(double(k)), 1e-5);
    }
  }
}
