// Matrix products: matmul in all its NumPy forms (1-D, 2-D, broadcast batches), bmm, linear,
// on transposed and expanded views (no copies), against a naive triple loop; gradients; errors.
#include "tensor/backend.h"
#include "tensor/cpu/sgemm.h"
#include "tensor/gemm_layout.h"
#include "tests/helpers.h"

using namespace iris;
using iris::testing::noncontiguous;
using iris::testing::randn64;

namespace {

// Naive [.., M, K] x [.., K, N] with broadcast batch dims (both operands at least 2-D).
Tensor reference_matmul(const Tensor& a, const Tensor& b) {
  int na = a.dim(), nb = b.dim();
  int64_t M = a.shape()[na - 2], K = a.shape()[na - 1], N = b.shape()[nb - 1];
  Shape batch = broadcast_shapes(Shape(a.shape().begin(), a.shape().end() - 2),
                                 Shape(b.shape().begin(), b.shape().end() - 2), "ref");
  Shape sa = batch, sb = batch, so = batch;
  sa.push_back(M), sa.push_back(K), sb.push_back(K), sb.push_back(N), so.push_back(M), so.push_back(N);
  std::vector<double> av = a.detach().expand(sa).contiguous().to_vector<double>();
  std::vector<double> bv = b.detach().expand(sb).contiguous().to_vector<double>();
  int64_t B = numel_of(batch);
  std::vector<double> out(static_cast<size_t>(B * M * N), 0.0);
  for (int64_t t = 0; t < B; ++t)
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double s = 0;
        for (int64_t k = 0; k < K; ++k) s += av[(t * M + i) * K + k] * bv[(t * K + k) * N + j];
        out[(t * M + i) * N + j] = s;
      }
  return from_vector(out, so);
}

}  // namespace

TEST_CASE("matmul of 2-D and batched operands matches a naive loop") {
  std::vector<std::pair<Shape, Shape>> shapes = {
      {{3, 4}, {4, 5}},       {{1, 7}, {7, 1}},          {{2, 3, 4}, {4, 5}},    {{2, 3, 4}, {2, 4, 5}},
      {{2, 1, 3, 4}, {5, 4, 2}}, {{3, 4}, {2, 4, 6}},     {{1, 3, 4}, {3, 4, 2}}, {{17, 33}, {33, 9}}};
  for (auto& [sa, sb] : shapes) {
    CAPTURE(shape_str(sa));
    CAPTURE(shape_str(sb));
    Tensor a = randn64(sa, 1, false), b = randn64(sb, 2, false);
    Tensor expected = reference_matmul(a, b);
    CHECK_CLOSE(matmul(a, b), expected, 1e-12, 1e-12);
    CHECK_CLOSE(matmul(a.to(DType::f32), b.to(DType::f32)), expected, 1e-4, 1e-4);
    CHECK_CLOSE(matmul(noncontiguous(a), noncontiguous(b)), expected, 1e-12, 1e-12);
  }
  // 1-D forms
  Tensor v = randn64({4}, 3, false), m = randn64({4, 3}, 4, false), bm = randn64({2, 3, 4}, 5, false);
  CHECK(matmul(v, v).dim() == 0);
  CHECK(matmul(v, v).item() == doctest::Approx(sum(mul(v, v)).item()));
  CHECK_CLOSE(matmul(v, m), reference_matmul(v.unsqueeze(0), m).squeeze(0), 1e-12, 1e-12);
  CHECK_CLOSE(matmul(m.t(), v), reference_matmul(m.t(), v.unsqueeze(1)).squeeze(1), 1e-12, 1e-12);
  CHECK_CLOSE(matmul(bm, v), reference_matmul(bm, v.unsqueeze(1)).squeeze(-1), 1e-12, 1e-12);
  CHECK(matmul(v, bm.transpose(1, 2)).shape() == Shape{2, 3});
}

TEST_CASE("transposed and expanded operands are read in place") {
  Tensor a = randn64({5, 4}, 6, false), b = randn64({6, 5}, 7, false);
  // a^T b^T: both column-major views
  CHECK_CLOSE(matmul(a.t(), b.t()), reference_matmul(a.t().contiguous(), b.t().contiguous()), 1e-12, 1e-12);
  // batch of transposed slices, and a batch-broadcast (stride 0) operand
  Tensor q = randn64({3, 6, 4}, 8, false);
  CHECK_CLOSE(matmul(q.transpose(1, 2), q), reference_matmul(q.transpose(1, 2).contiguous(), q), 1e-12, 1e-12);
  Tensor w = randn64({4, 2}, 9, false);
  CHECK_CLOSE(matmul(q, w.unsqueeze(0).expand({3, 4, 2})), reference_matmul(q, w), 1e-12, 1e-12);
  // a column slice with a row stride larger than its width
  Tensor big = randn64({4, 10}, 10, false);
  Tensor sl = big.slice(1, 2, 7);
  CHECK_CLOSE(matmul(sl, randn64({5, 3}, 11, false)), reference_matmul(sl.contiguous(), randn64({5, 3}, 11, false)),
              1e-12, 1e-12);
  // neither row- nor column-major (step-2 slices in both dims) still works via a copy
  Tensor odd = big.slice(0, 0, 4, 2).slice(1, 0, 10, 2);
  CHECK_CLOSE(matmul(odd, randn64({5, 2}, 12, false)),
              reference_matmul(odd.contiguous(), randn64({5, 2}, 12, false)), 1e-12, 1e-12);
}

TEST_CASE("matmul, bmm and linear gradients") {
  GradcheckOptions opts;
  opts.atol = 1e-7;
  opts.rtol = 1e-5;
  std::vector<std::pair<Shape, Shape>> shapes = {
      {{3, 4}, {4, 2}},    {{2, 3, 4}, {4, 2}}, {{2, 1, 3, 4}, {3, 4, 2}}, {{4}, {4, 3}},
      {{2, 3, 4}, {4}},    {{4}, {4}},          {{3, 4}, {2, 4, 5}},       {{3, 4}, {2, 2, 4, 5}},
      {{2, 2, 3, 4}, {4, 5}}, {{4}, {2, 4, 3}}};
  for (auto& [sa, sb] : shapes) {
    CAPTURE(shape_str(sa));
    CAPTURE(shape_str(sb));
    Tensor a = randn64(sa, 1), b = randn64(sb, 2);
    CHECK_GRADCHECK([](const std::vector<Tensor>& t) { return matmul(t[0], t[1]); }, {a, b}, opts);
    CHECK_GRADCHECK([](const std::vector<Tensor>& t) { return matmul(t[0], t[1]); },
                    {noncontiguous(a), noncontiguous(b)}, opts);
  }
  Tensor x = randn64({2, 3, 4}, 3), y = randn64({2, 4, 5}, 4);
  CHECK_GRADCHECK([](const std::vector<Tensor>& t) { return bmm(t[0], t[1]); }, {x, y}, opts);
  CHECK_GRADCHECK([](const std::vector<Tensor>& t) { return matmul(t[0].transpose(1, 2), t[1].transpose(1, 2)); },
                  {randn64({2, 4, 3}, 5), randn64({2, 5, 4}, 6)}, opts);

  Tensor in = randn64({2, 3, 4}, 7), w = randn64({5, 4}, 8), bias = randn64({5}, 9);
  Tensor expected = add(reference_matmul(in, w.t().contiguous()), bias);
  CHECK_CLOSE(linear(in, w, bias), expected, 1e-12, 1e-12);
  CHECK_CLOSE(linear(in, w), reference_matmul(in, w.t().contiguous()), 1e-12, 1e-12);
  CHECK_GRADCHECK([](const std::vector<Tensor>& t) { return linear(t[0], t[1], t[2]); }, {in, w, bias}, opts);
  CHECK_GRADCHECK([](const std::vector<Tensor>& t) { return linear(t[0], t[1]); },
                  {noncontiguous(in), noncontiguous(w)}, opts);
}

TEST_CASE("linear's f32 backward (weight and bias gradients in one pass over dY) matches f64") {
  // f32 takes the fused gemm_row_sums path on CPUs with the packed kernel, f64 the gemm + sum path;
  // rows from 1 to past the K split (the weight gradient's K is the row count).
  CHECK(backend(Device::cpu()).supports(Kernel::gemm_row_sums, DType::f32) == cpu::packed_sgemm_available());
  CHECK_FALSE(backend(Device::cpu()).supports(Kernel::gemm_row_sums, DType::f64));
  for (int64_t rows : {1, 7, 300, 5000}) {
    CAPTURE(rows);
    Tensor x = randn64({rows, 24}, 11, false), w = randn64({10, 24}, 12, false), b = randn64({10}, 13, false),
           g = randn64({rows, 10}, 14, false);
    std::vector<Tensor> want, got;
    for (DType dt : {DType::f64, DType::f32}) {
      // fresh leaves each pass (to() of an f64 tensor to f64 is the tensor itself)
      Tensor xd = x.to(dt).detach().requires_grad_(), wd = w.to(dt).detach().requires_grad_(),
             bd = b.to(dt).detach().requires_grad_();
      sum(mul(linear(xd, wd, bd), g.to(dt))).backward();
      (dt == DType::f64 ? want : got) = {xd.grad(), wd.grad(), bd.grad()};
    }
    // the bias gradient is the column sum of dY = g
    CHECK_CLOSE(want[2], sum(g, {0}), 1e-12, 1e-12);
    for (int i = 0; i < 3; ++i) CHECK_CLOSE(got[i].to(DType::f64), want[i], 1e-4, 1e-4);
  }
}

TEST_CASE("matmul errors") {
  CHECK_THROWS_WITH_SUBSTR(matmul(ones({4, 3}), ones({5, 2})),
                           "matmul: shapes [4, 3] and [5, 2] do not line up: inner sizes 3 and 5");
  CHECK_THROWS_WITH_SUBSTR(matmul(ones({2, 2, 3}), ones({3, 3, 4})), "do not broadcast");
  CHECK_THROWS_WITH_SUBSTR(matmul(ones({}), ones({3})), "at least 1 dim");
  CHECK_THROWS_WITH_SUBSTR(matmul(ones({2, 2}, DType::i64), ones({2, 2}, DType::i64)), "needs floating tensors");
  CHECK_THROWS_WITH_SUBSTR(bmm(ones({2, 3}), ones({2, 3, 4})), "must have 3 dims");
  CHECK_THROWS_WITH_SUBSTR(bmm(ones({2, 3, 4}), ones({3, 4, 5})), "batch sizes differ");
  CHECK_THROWS_WITH_SUBSTR(linear(ones({2, 3}), ones({4, 5})), "in_features");
  CHECK_THROWS_WITH_SUBSTR(linear(ones({2, 3}), ones({4, 3}), ones({5})), "bias of shape [5]");
  CHECK_THROWS_WITH_SUBSTR(linear(ones({2, 3}), ones({3})), "must have 2 dims");
  // empty products
  CHECK(matmul(ones({0, 3}), ones({3, 4})).shape() == Shape{0, 4});
  CHECK(matmul(ones({2, 0}), ones({0, 4})).to_vector<float>() == std::vector<float>(8, 0.0f));
}

// ---- tensor/gemm_layout.h: how both devices' gemm (and matmul) read an operand in place ----------

TEST_CASE("gemm layouts: row- and column-major from strides, size-1 dims, and what no layout reads") {
  GemmLayout l{};
  REQUIRE(find_gemm_layout(4, 3, 3, 1, l));  // contiguous [4, 3]
  CHECK(l.row_major);
  CHECK(l.ld == 3);
  REQUIRE(find_gemm_layout(4, 3, 1, 4, l));  // the transpose of a contiguous [3, 4]
  CHECK_FALSE(l.row_major);
  CHECK(l.ld == 4);
  REQUIRE(find_gemm_layout(4, 3, 8, 1, l));  // rows padded to 8 (a slice of wider rows)
  CHECK(l.ld == 8);
  // a single row or column: its stride means nothing, and the leading dimension is kept valid
  REQUIRE(find_gemm_layout(1, 5, 0, 1, l));
  CHECK(l.row_major);
  CHECK(l.ld == 5);
  REQUIRE(find_gemm_layout(5, 1, 7, 3, l));
  CHECK(l.row_major);
  CHECK(l.ld == 7);
  CHECK_FALSE(find_gemm_layout(4, 3, 6, 2, l));  // every other column
  CHECK_FALSE(find_gemm_layout(4, 3, 2, 1, l));  // overlapping rows
  CHECK_THROWS_WITH_SUBSTR(gemm_layout(4, 3, 6, 2, "b"),
                           "operand b [4, 3] with strides (6, 2) is neither row- nor column-major");
  const RowColStrides rc = row_col_strides(GemmLayout{false, 9});
  CHECK(rc.rs == 1);
  CHECK(rc.cs == 9);

  // a problem's sizes and batch strides; a batch of one reads only matrix 0 (stride 0)
  Tensor a = randn({2, 4, 3}), b = randn({3, 5}).expand({2, 3, 5});
  const GemmProblem g = gemm_problem(a, b);
  CHECK(g.batch == 2);
  CHECK(g.M == 4);
  CHECK(g.K == 3);
  CHECK(g.N == 5);
  CHECK(g.batch_stride_a == 12);
  CHECK(g.batch_stride_b == 0);  // broadcast
  CHECK(g.layout_a().row_major);
  CHECK(gemm_problem(randn({1, 4, 3}), randn({1, 3, 5})).batch_stride_a == 0);
  // matmul copies exactly the operands gemm_layout refuses, so strided views still multiply right
  Tensor wide = randn64({4, 6}, 3, false), right = randn64({3, 2}, 4, false);
  Tensor every_other = wide.slice(1, 0, 6, 2);  // [4, 3], strides (6, 2)
  CHECK_CLOSE(matmul(every_other, right), reference_matmul(every_other.contiguous(), right), 1e-12, 1e-12);
}

TEST_CASE("Backend::supports: the CPU's optional kernels") {
  Backend& cpu = backend(Device::cpu());
  CHECK(cpu.supports(Kernel::gemm_row_sums, DType::f32) == cpu::packed_sgemm_available());
  CHECK_FALSE(cpu.supports(Kernel::gemm_row_sums, DType::f64));
  CHECK_FALSE(cpu.supports(Kernel::gemm_row_sums, DType::i32));
  for (DType dt : {DType::f32, DType::f64, DType::bf16}) {
    CHECK(cpu.supports(Kernel::attention_views, dt));
    CHECK(cpu.supports(Kernel::depthwise_conv2d_nhwc, dt));
  }
  CHECK_FALSE(cpu.supports(Kernel::attention_views, DType::i64));
}
