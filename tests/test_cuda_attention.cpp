// The fused GPU attention (cuda/attention.cu) against the CPU twin on the same inputs: through
// scaled_dot_product_attention with no mask, bias or dropout (the fused path), forward and the
// gradients of q, k and v, with L != S, E != Ev, causal or not, head dims 1 .. 256, batch/head
// dims, non-contiguous operands, a custom scale, f32, f64 and autocast's bf16 q, k, v; lse straight from the kernel
// interface; and the errors (mixed devices, head dims above 256).
// Leaves out: masks, biases and dropout (they run the composed path, covered by other suites).
#include <string>

#include "autograd/autocast.h"
#include "tensor/backend.h"
#include "tests/cuda_helpers.h"

using namespace iris;
using iris::testing::to_gpu;

namespace {

const Device kGpu = Device::cuda();

struct Problem {
  int64_t B, L, S, E, Ev;
};

std::string describe(const Problem& p, DType dt, bool causal) {
  return "B " + std::to_string(p.B) + " L " + std::to_string(p.L) + " S " + std::to_string(p.S) + " E " +
         std::to_string(p.E) + " Ev " + std::to_string(p.Ev) + " " + dtype_name(dt) + (causal ? " causal" : "");
}

struct Tolerance {
  double out_atol, out_rtol, grad_atol, grad_rtol;
};
Tolerance tolerance(DType dt) {
  if (dt == DType::f64) return {1e-12, 1e-10, 1e-11, 1e-9};
  return {2e-6, 1e-4, 2e-5, 2e-4};  // f32: the sums run in a different order than the CPU's
}

// Runs attention forward + backward of sum(out * w) on the CPU and the GPU and compares the output
// and the three gradients. q, k, v are built from `shape_*` with the leading dims as batch dims.
// amp: both devices under autocast (bf16 q, k, v into the kernels; f32 out and gradients).
void check_attention(const Shape& qs, const Shape& ks, const Shape& vs, DType dt, bool causal, double scale,
                     uint64_t seed, const std::string& what, bool permuted = false, bool amp = false) {
  Generator g(seed);
  Tensor q = randn(qs, dt, &g), k = randn(ks, dt, &g), v = randn(vs, dt, &g);
  AttentionOptions opts;
  opts.causal = causal;
  opts.scale = scale;
  auto leaf = [permuted](const Tensor& t, bool gpu) {
    Tensor base = gpu ? to_gpu(t) : t.detach().clone();
    if (permuted) {
      // the same values held transposed in memory: [..., F, T] storage seen as [..., T, F]
      Tensor stored = base.transpose(-1, -2).contiguous();
      base = stored.transpose(-1, -2).detach();
    }
    return base.requires_grad_(true);
  };
  Tensor qc = leaf(q, false), kc = leaf(k, false), vc = leaf(v, false);
  Tensor qg = leaf(q, true), kg = leaf(k, true), vg = leaf(v, true);
  Tensor oc, og;
  {
    AutocastGuard autocast(amp);
    oc = scaled_dot_product_attention(qc, kc, vc, opts);
    og = scaled_dot_product_attention(qg, kg, vg, opts);
  }
  Tolerance tol = tolerance(dt);
  INFO("fused attention ", what);
  REQUIRE(og.device().is_cuda());
  CHECK_CLOSE(og, oc, tol.out_atol, tol.out_rtol);
  Tensor w = randn(oc.shape(), dt, &g);
  sum(mul(oc, w)).backward();
  sum(mul(og, to_gpu(w))).backward();
  REQUIRE(qg.grad().defined());
  REQUIRE(kg.grad().defined());
  REQUIRE(vg.grad().defined());
  {
    INFO("grad q");
    CHECK_CLOSE(qg.grad(), qc.grad(), tol.grad_atol, tol.grad_rtol);
  }
  {
    INFO("grad k");
    CHECK_CLOSE(kg.grad(), kc.grad(), tol.grad_atol, tol.grad_rtol);
  }
  {
    INFO("grad v");
    CHECK_CLOSE(vg.grad(), vc.grad(), tol.grad_atol, tol.grad_rtol);
  }
}

const std::vector<Problem> kProblems = {
    {1, 1, 1, 4, 4},       // one query, one key
    {2, 7, 5, 8, 3},       // L > S, E != Ev
    {2, 7, 50, 33, 65},    // L < S, odd head dims (two and three feature chunks per lane)
    {3, 50, 33, 16, 24},
    {1, 197, 197, 64, 64},  // ViT-sized
    {1, 5, 3, 1, 1},
    {2, 9, 40, 128, 128},
    {1, 17, 70, 200, 130},  // wide heads: 8 feature chunks per lane, two rows per warp
};

}  // namespace

TEST_CASE("cuda fused attention: forward and q/k/v gradients match the CPU (f32, f64, causal or not)") {
  REQUIRE_GPU();
  uint64_t seed = 1;
  for (DType dt : {DType::f32, DType::f64})
    for (bool causal : {false, true})
      for (const Problem& p : kProblems)
        check_attention({p.B, p.L, p.E}, {p.B, p.S, p.E}, {p.B, p.S, p.Ev}, dt, causal, 0.0, ++seed,
                        describe(p, dt, causal));
}

TEST_CASE("cuda fused attention: head dims, a custom scale and non-contiguous operands") {
  REQUIRE_GPU();
  for (DType dt : {DType::f32, DType::f64}) {
    // [batch, heads, tokens, features] flattened to B = 6 by the op
    check_attention({2, 3, 11, 16}, {2, 3, 13, 16}, {2, 3, 13, 8}, dt, false, 0.0, 41,
                    std::string("heads ") + dtype_name(dt));
    check_attention({2, 3, 11, 16}, {2, 3, 13, 16}, {2, 3, 13, 8}, dt, true, 0.37, 42,
                    std::string("heads causal scale 0.37 ") + dtype_name(dt));
    check_attention({3, 20, 32}, {3, 45, 32}, {3, 45, 40}, dt, true, 0.0, 43,
                    std::string("transposed storage ") + dtype_name(dt), true);
    check_attention({4, 33, 24}, {4, 33, 24}, {4, 33, 24}, dt, true, 2.5, 44,
                    std::string("large scale (peaked rows) ") + dtype_name(dt));
  }
}

TEST_CASE("cuda fused attention under autocast: bf16 q, k, v give the CPU's autocast results") {
  REQUIRE_GPU();
  uint64_t seed = 100;
  for (bool causal : {false, true})
    for (const Problem& p : kProblems)
      check_attention({p.B, p.L, p.E}, {p.B, p.S, p.E}, {p.B, p.S, p.Ev}, DType::f32, causal, 0.0, ++seed,
                      "autocast " + describe(p, DType::f32, causal), false, true);
  check_attention({3, 20, 32}, {3, 45, 32}, {3, 45, 40}, DType::f32, true, 0.0, 143, "autocast transposed storage",
                  true, true);
  // the kernel itself: bf16 operands, f32 out and lse, against f32 operands holding the same values
  Generator g(7);
  Tensor q = randn({2, 9, 16}, DType::f32, &g).to(DType::bf16), k = randn({2, 12, 16}, DType::f32, &g).to(DType::bf16),
         v = randn({2, 12, 8}, DType::f32, &g).to(DType::bf16);
  Tensor out16 = empty({2, 9, 8}, kGpu), lse16 = empty({2, 9}, kGpu), out32 = empty({2, 9, 8}, kGpu),
         lse32 = empty({2, 9}, kGpu);
  backend(kGpu).attention(q.to(kGpu), k.to(kGpu), v.to(kGpu), 0.25, false, out16, lse16);
  backend(kGpu).attention(q.to(DType::f32).to(kGpu), k.to(DType::f32).to(kGpu), v.to(DType::f32).to(kGpu), 0.25, false,
                          out32, lse32);
  CHECK_CLOSE(out16, out32, 0.0, 0.0);  // the same f32 maths on the same values
  CHECK_CLOSE(lse16, lse32, 0.0, 0.0);
}

TEST_CASE("cuda attention kernel: out and lse straight from the kernel interface") {
  REQUIRE_GPU();
  const std::vector<Problem> problems = {{1, 1, 1, 4, 4}, {2, 7, 5, 8, 3}, {2, 50, 33, 16, 24}, {1, 197, 197, 64, 64},
                                         {3, 4, 100, 256, 256}};
  uint64_t seed = 77;
  for (DType dt : {DType::f32, DType::f64})
    for (bool causal : {false, true})
      for (const Problem& p : problems) {
        Generator g(++seed);
        Tensor q = randn({p.B, p.L, p.E}, dt, &g), k = randn({p.B, p.S, p.E}, dt, &g),
               v = randn({p.B, p.S, p.Ev}, dt, &g);
        const double scale = 1.0 / std::sqrt(static_cast<double>(p.E));
        Tensor out_c = empty({p.B, p.L, p.Ev}, dt), lse_c = empty({p.B, p.L}, dt);
        Tensor out_g = empty({p.B, p.L, p.Ev}, {dt, kGpu}), lse_g = empty({p.B, p.L}, {dt, kGpu});
        backend(Device::cpu()).attention(q, k, v, scale, causal, out_c, lse_c);
        backend(kGpu).attention(to_gpu(q), to_gpu(k), to_gpu(v), scale, causal, out_g, lse_g);
        Tolerance tol = tolerance(dt);
        INFO("attention kernel ", describe(p, dt, causal));
        CHECK_CLOSE(out_g, out_c, tol.out_atol, tol.out_rtol);
        CHECK_CLOSE(lse_g, lse_c, tol.out_atol * 10, tol.out_rtol);
      }
}

TEST_CASE("cuda attention kernel: the backward overwrites stale gradient buffers") {
  REQUIRE_GPU();
  const Problem p{2, 9, 12, 8, 5};
  Generator g(5);
  Tensor q = randn({p.B, p.L, p.E}, DType::f64, &g), k = randn({p.B, p.S, p.E}, DType::f64, &g),
         v = randn({p.B, p.S, p.Ev}, DType::f64, &g), go = randn({p.B, p.L, p.Ev}, DType::f64, &g);
  Tensor out = empty({p.B, p.L, p.Ev}, DType::f64), lse = empty({p.B, p.L}, DType::f64);
  backend(Device::cpu()).attention(q, k, v, 0.5, true, out, lse);
  Tensor gq = empty(q.shape(), DType::f64), gk = empty(k.shape(), DType::f64), gv = empty(v.shape(), DType::f64);
  backend(Device::cpu()).attention_backward(q, k, v, out, lse, go, 0.5, true, gq, gk, gv);
  // GPU buffers pre-filled with garbage: the kernel must write every element
  Tensor gq_g = to_gpu(full(q.shape(), 123.0, DType::f64)), gk_g = to_gpu(full(k.shape(), -7.0, DType::f64)),
         gv_g = to_gpu(full(v.shape(), 1e30, DType::f64));
  backend(kGpu).attention_backward(to_gpu(q), to_gpu(k), to_gpu(v), to_gpu(out), to_gpu(lse), to_gpu(go), 0.5, true,
                                   gq_g, gk_g, gv_g);
  CHECK_CLOSE(gq_g, gq, 1e-11, 1e-9);
  CHECK_CLOSE(gk_g, gk, 1e-11, 1e-9);
  CHECK_CLOSE(gv_g, gv, 1e-11, 1e-9);
}

TEST_CASE("cuda attention: errors for mixed devices and head dims above the fused kernel's limit") {
  REQUIRE_GPU();
  Tensor q = randn({1, 4, 8}), k = randn({1, 5, 8}), v = randn({1, 5, 8});
  CHECK_THROWS_WITH_SUBSTR(scaled_dot_product_attention(to_gpu(q), k, to_gpu(v)), "different devices");
  CHECK_THROWS_WITH_SUBSTR(scaled_dot_product_attention(to_gpu(q), k, to_gpu(v)), "cuda:0");
  Tensor wide_q = to_gpu(randn({1, 4, 300})), wide_k = to_gpu(randn({1, 5, 300}));
  CHECK_THROWS_WITH_SUBSTR(scaled_dot_product_attention(wide_q, wide_k, to_gpu(v)), "head dims up to 256");
}
