// The packed f32 GEMM (tensor/cpu/sgemm.cpp) against a double-precision reference loop and against
// Eigen (the f64 path of the gemm kernel): odd sizes around every block edge, transposed and strided
// operands, alpha/beta, beta = 0 ignoring garbage in C, empty dims, one and several threads; A's row
// sums (the bias gradient that rides on a weight gradient) over the same cases.
#include <Eigen/Core>

#include "tensor/cpu/sgemm.h"
#include "tests/helpers.h"

using namespace iris;

namespace {

struct Case {
  int64_t m, n, k;
  bool ta, tb;  // A stored transposed (column-major), B stored transposed
  int64_t pad;  // extra elements per stored row (leading dimension > width)
  float alpha, beta;
};

// Runs packed_sgemm on random operands laid out as the case says and returns the worst error
// relative to sum_k |a_ik b_kj| (the scale of each dot product). With sums, it also asks for A's
// row sums and folds their error (relative to sum_k |a_ik|) into the result.
double worst_error(const Case& c, int threads, uint64_t seed, bool sums = false) {
  Generator g(seed);
  // A logical [m, k]: stored [m, k + pad] row-major, or [k, m + pad] (transposed)
  int64_t a_rows = c.ta ? c.k : c.m, a_cols = (c.ta ? c.m : c.k) + c.pad;
  int64_t b_rows = c.tb ? c.n : c.k, b_cols = (c.tb ? c.k : c.n) + c.pad;
  std::vector<float> A = randn({std::max<int64_t>(a_rows * a_cols, 1)}, DType::f32, &g).to_vector<float>();
  std::vector<float> B = randn({std::max<int64_t>(b_rows * b_cols, 1)}, DType::f32, &g).to_vector<float>();
  int64_t ldc = c.n + c.pad;
  std::vector<float> C = randn({std::max<int64_t>(c.m * ldc, 1)}, DType::f32, &g).to_vector<float>();
  if (c.beta == 0.0f)
    for (float& v : C) v = NAN;  // must never be read
  std::vector<float> C0 = C;
  auto at = [&](int64_t i, int64_t kk) { return c.ta ? A[kk * a_cols + i] : A[i * a_cols + kk]; };
  auto bt = [&](int64_t kk, int64_t j) { return c.tb ? B[j * b_cols + kk] : B[kk * b_cols + j]; };
  int64_t a_rs = c.ta ? 1 : a_cols, a_cs = c.ta ? a_cols : 1;
  int64_t b_rs = c.tb ? 1 : b_cols, b_cs = c.tb ? b_cols : 1;
  std::vector<float> S(static_cast<size_t>(c.m), NAN);  // must be overwritten
  cpu::packed_sgemm(c.m, c.n, c.k, c.alpha, A.data(), a_rs, a_cs, B.data(), b_rs, b_cs, c.beta, C.data(), ldc,
                    threads, nullptr, sums ? S.data() : nullptr);
  double worst = 0;
  if (sums)
    for (int64_t i = 0; i < c.m; ++i) {
      double want = 0, scale = 1e-30;
      for (int64_t kk = 0; kk < c.k; ++kk) {
        want += at(i, kk);
        scale += std::fabs(static_cast<double>(at(i, kk)));
      }
      double err = std::fabs(S[i] - want) / scale;
      if (!(err <= 1e30)) return INFINITY;
      worst = std::max(worst, err);
    }
  for (int64_t i = 0; i < c.m; ++i)
    for (int64_t j = 0; j < c.n; ++j) {
      double dot = 0, scale = 1e-30;
      for (int64_t kk = 0; kk < c.k; ++kk) {
        dot += static_cast<double>(at(i, kk)) * bt(kk, j);
        scale += std::fabs(static_cast<double>(at(i, kk)) * bt(kk, j));
      }
      double want = c.alpha * dot + (c.beta != 0.0f ? c.beta * static_cast<double>(C0[i * ldc + j]) : 0.0);
      double err = std::fabs(C[i * ldc + j] - want) / (std::fabs(c.alpha) * scale + std::fabs(c.beta) + 1e-30);
      if (!(err <= 1e30)) return INFINITY;  // NaN leaked in
      worst = std::max(worst, err);
    }
  // the padding columns of C are untouched
  for (int64_t i = 0; i < c.m; ++i)
    for (int64_t j = c.n; j < ldc; ++j)
      if (!(C[i * ldc + j] == C0[i * ldc + j] || (std::isnan(C[i * ldc + j]) && std::isnan(C0[i * ldc + j]))))
        return INFINITY;
  return worst;
}

}  // namespace

TEST_CASE("packed sgemm matches a double-precision loop on odd sizes, transposes and strides") {
  if (!cpu::packed_sgemm_available()) {
    MESSAGE("no packed micro-kernel for this CPU (needs AVX2 + FMA); Eigen serves f32 products");
    return;
  }
  std::vector<Case> cases;
  // sizes around the micro-tile (MR x NR: 6 x 16 or 4 x 24) and the K block edges (256, 384)
  for (int64_t m : {1, 3, 5, 6, 7, 13, 97})
    for (int64_t n : {1, 15, 16, 17, 23, 25, 33})
      for (int64_t k : {1, 7, 257, 385})
        cases.push_back({m, n, k, false, false, 0, 1.0f, 0.0f});
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      cases.push_back({37, 45, 29, ta, tb, 3, 1.0f, 0.0f});
      cases.push_back({130, 70, 600, ta, tb, 0, -0.5f, 2.0f});
      cases.push_back({8, 3100, 9, ta, tb, 1, 1.0f, 1.0f});  // crosses the NC = 3072 block
      // small C, long K: with 2 or 3 threads each takes a slice of K (K >= 4 KC threads)
      cases.push_back({13, 21, 4700, ta, tb, 2, 0.5f, -1.5f});
    }
  cases.push_back({0, 5, 3, false, false, 0, 1.0f, 0.0f});
  cases.push_back({4, 5, 0, false, false, 0, 1.0f, 0.5f});
  cases.push_back({3, 0, 5, true, false, 0, 1.0f, 0.0f});  // no columns: only the row sums
  for (int threads : {1, 2, 3}) {
    for (size_t i = 0; i < cases.size(); ++i) {
      const Case& c = cases[i];
      CAPTURE(threads);
      CAPTURE(c.m);
      CAPTURE(c.n);
      CAPTURE(c.k);
      CAPTURE(c.ta);
      CAPTURE(c.tb);
      CAPTURE(c.beta);
      CHECK(worst_error(c, threads, i + 1) < 2e-6);
      CHECK(worst_error(c, threads, i + 1, /*sums=*/true) < 2e-6);
    }
  }
}

TEST_CASE("f32 matmul through the packed kernel agrees with Eigen's f64 product") {
  Generator g(3);
  for (auto [m, n, k] : std::vector<std::array<int64_t, 3>>{{1, 1, 1}, {64, 192, 64}, {300, 20, 500}, {129, 257, 65}}) {
    Tensor a = randn({m, k}, DType::f64, &g), b = randn({k, n}, DType::f64, &g);
    Tensor ref = matmul(a, b);  // f64: Eigen
    CHECK_CLOSE(matmul(a.to(DType::f32), b.to(DType::f32)), ref, 1e-4, 1e-4);
    CHECK_CLOSE(matmul(a.t().contiguous().to(DType::f32).t(), b.to(DType::f32)), ref, 1e-4, 1e-4);
    CHECK_CLOSE(matmul(a.to(DType::f32), b.t().contiguous().to(DType::f32).t()), ref, 1e-4, 1e-4);
  }
}

TEST_CASE("the bias fused into the packed product's write-back") {
  if (!cpu::packed_sgemm_available()) return;
  for (auto [m, n, k] : std::vector<std::array<int64_t, 3>>{{1, 1, 1}, {7, 17, 5}, {80, 40, 600}, {13, 3100, 3}, {9, 18, 5000}}) {
    CAPTURE(m);
    CAPTURE(n);
    Generator g(9);
    Tensor a = randn({m, k}, DType::f32, &g), b = randn({k, n}, DType::f32, &g), bias = randn({n}, DType::f32, &g);
    Tensor c = empty({m, n});
    cpu::packed_sgemm(m, n, k, 1.0f, a.data<float>(), k, 1, b.data<float>(), n, 1, 0.0f, c.data<float>(), n, 2,
                      bias.data<float>());
    Tensor want = matmul(a.to(DType::f64), b.to(DType::f64)) + bias.to(DType::f64);
    CHECK_CLOSE(c, want, 1e-4, 1e-4);
  }
  // through linear(): f32 takes the packed path, f64 Eigen's; both add the bias once
  Generator g(4);
  Tensor x = randn({3, 5, 8}, DType::f64, &g), w = randn({6, 8}, DType::f64, &g), b = randn({6}, DType::f64, &g);
  Tensor ref = matmul(x, w.t()) + b;
  CHECK_CLOSE(linear(x, w, b), ref, 1e-12, 1e-12);
  CHECK_CLOSE(linear(x.to(DType::f32), w.to(DType::f32), b.to(DType::f32)), ref, 1e-4, 1e-4);
}
