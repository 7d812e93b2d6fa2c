// softmax / log_softmax: forward against a naive loop over every dim (rows and column blocks of the
// kernel, the parallel path), gradients by finite differences, non-contiguous inputs, f32, extreme
// values (+-1e4, -inf), 0-d / size-1 / empty tensors, and the error paths.
#include "tensor/softmax_norm_geometry.h"
#include "tests/helpers.h"

using namespace iris;
using iris::testing::noncontiguous;
using iris::testing::randn64;

namespace {

// Naive softmax of a row-major tensor of `shape` over `dim`, in double.
std::vector<double> naive_softmax(const std::vector<double>& x, const Shape& shape, int dim, bool log) {
  int64_t outer = 1, D = shape[dim], inner = 1;
  for (int i = 0; i < dim; ++i) outer *= shape[i];
  for (int i = dim + 1; i < shape.size(); ++i) inner *= shape[i];
  std::vector<double> y(x.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t c = 0; c < inner; ++c) {
      auto at = [&](int64_t d) { return (o * D + d) * inner + c; };
      double mx = -INFINITY;
      for (int64_t d = 0; d < D; ++d) mx = std::max(mx, x[at(d)]);
      double total = 0;
      for (int64_t d = 0; d < D; ++d) total += std::exp(x[at(d)] - mx);
      for (int64_t d = 0; d < D; ++d)
        y[at(d)] = log ? x[at(d)] - mx - std::log(total) : std::exp(x[at(d)] - mx) / total;
    }
  return y;
}

Tensor naive_softmax_tensor(const Tensor& x, int dim, bool log) {
  return from_vector<double>(naive_softmax(x.to_vector<double>(), x.shape(), dim, log), x.shape(), DType::f64);
}

}  // namespace

TEST_CASE("softmax and log_softmax match a naive loop over every dim") {
  Tensor x = randn64({3, 4, 5}, 1, false);
  for (int dim = 0; dim < 3; ++dim) {
    CAPTURE(dim);
    CHECK_CLOSE(softmax(x, dim), naive_softmax_tensor(x, dim, false), 1e-14, 1e-12);
    CHECK_CLOSE(log_softmax(x, dim), naive_softmax_tensor(x, dim, true), 1e-14, 1e-12);
    CHECK_CLOSE(softmax(x, dim - 3), naive_softmax_tensor(x, dim, false), 1e-14, 1e-12);  // negative dims
  }
  // The default dim is the last one.
  CHECK_CLOSE(softmax(x), naive_softmax_tensor(x, 2, false), 1e-14, 1e-12);
  CHECK_CLOSE(log_softmax(x), naive_softmax_tensor(x, 2, true), 1e-14, 1e-12);
}

TEST_CASE("softmax: column blocks and the parallel path") {
  // inner = 70 spans two column blocks of the kernel (64 + 6).
  Tensor a = randn64({2, 5, 70}, 2, false);
  CHECK_CLOSE(softmax(a, 1), naive_softmax_tensor(a, 1, false), 1e-14, 1e-12);
  CHECK_CLOSE(log_softmax(a, 1), naive_softmax_tensor(a, 1, true), 1e-14, 1e-12);
  // Enough work to split rows across threads, and columns across threads.
  Tensor b = randn64({300, 130}, 3, false);
  CHECK_CLOSE(softmax(b, 1), naive_softmax_tensor(b, 1, false), 1e-14, 1e-12);
  CHECK_CLOSE(log_softmax(b, 0), naive_softmax_tensor(b, 0, true), 1e-13, 1e-12);
  std::vector<double> rows = sum(softmax(b, 1), {1}).to_vector<double>();
  for (double r : rows) CHECK(std::fabs(r - 1.0) < 1e-12);
}

TEST_CASE("softmax in f32 matches f64") {
  Tensor x = randn64({4, 33}, 4, false);
  Tensor x32 = x.to(DType::f32);
  Tensor y = softmax(x32, -1);
  CHECK(y.dtype() == DType::f32);
  CHECK_CLOSE(y, softmax(x, -1), 1e-7, 1e-5);
  CHECK_CLOSE(log_softmax(x32, 0), log_softmax(x, 0), 1e-5, 1e-5);

  // f32 gradients against f64 ones.
  Tensor a = x32.detach().requires_grad_();
  Tensor r = randn64({4, 33}, 5, false);
  sum(mul(log_softmax(a, 1), r.to(DType::f32))).backward();
  Tensor b = x.detach().requires_grad_();
  sum(mul(log_softmax(b, 1), r)).backward();
  CHECK_CLOSE(a.grad(), b.grad(), 1e-5, 1e-4);
}

TEST_CASE("softmax gradients by finite differences") {
  for (int dim = 0; dim < 3; ++dim) {
    CAPTURE(dim);
    Tensor x = randn64({2, 3, 4}, 10 + dim);
    CHECK_GRADCHECK([dim](const std::vector<Tensor>& in) { return softmax(in[0], dim); }, {x}, GradcheckOptions{});
    CHECK_GRADCHECK([dim](const std::vector<Tensor>& in) { return log_softmax(in[0], dim); }, {x},
                    GradcheckOptions{});
  }
  // Non-contiguous input (stride 2 in the last dim) and a permuted view.
  Tensor nc = noncontiguous(randn64({3, 5}, 20));
  CHECK_FALSE(nc.is_contiguous());
  CHECK_GRADCHECK([](const std::vector<Tensor>& in) { return softmax(in[0], 1); }, {nc}, GradcheckOptions{});
  CHECK_GRADCHECK([](const std::vector<Tensor>& in) { return log_softmax(in[0].permute({1, 0}), 1); }, {nc},
                  GradcheckOptions{});
}

TEST_CASE("softmax backward with known gradients") {
  // sum(softmax) == 1 in every row: its gradient is 0. sum(log_softmax) over a row of C: 1 - C p.
  Tensor x = randn64({3, 4}, 30);
  sum(softmax(x, 1)).backward();
  for (double g : x.grad().to_vector<double>()) CHECK(std::fabs(g) < 1e-14);
  Tensor z = randn64({3, 4}, 31);
  sum(log_softmax(z, 1)).backward();  // the seed reaches the node as a stride-0 (expanded) gradient
  CHECK_CLOSE(z.grad(), 1.0 - mul(softmax(z.detach(), 1), 4.0), 1e-14, 1e-12);
}

TEST_CASE("softmax on non-contiguous inputs") {
  Tensor x = randn64({4, 6}, 40, false);
  Tensor nc = noncontiguous(x);
  CHECK_CLOSE(softmax(nc, 1), softmax(x, 1), 0, 0);
  CHECK_CLOSE(log_softmax(nc, 0), log_softmax(x, 0), 0, 0);
  Tensor p = x.permute({1, 0});  // [6, 4] transposed view
  CHECK_CLOSE(softmax(p, 1), naive_softmax_tensor(p.contiguous(), 1, false), 1e-14, 1e-12);
  Tensor e = x.slice(1, 0, 1).expand({4, 5});  // stride-0 rows: uniform softmax
  CHECK_CLOSE(softmax(e, 1), full({4, 5}, 0.2, DType::f64), 1e-15, 0);
}

TEST_CASE("softmax is stable for extreme values") {
  Tensor x = from_vector<double>({1e4, 1e4 - 1, -1e4, 0}, {1, 4}, DType::f64);
  double e1 = std::exp(-1.0);
  CHECK_CLOSE(softmax(x, 1), from_vector<double>({1 / (1 + e1), e1 / (1 + e1), 0, 0}, {1, 4}, DType::f64), 1e-15,
              1e-12);
  Tensor ls = log_softmax(x.to(DType::f32), 1);
  std::vector<float> v = ls.to_vector<float>();
  for (float f : v) CHECK(std::isfinite(f));
  CHECK(std::fabs(v[2] - (-2e4 - std::log1p(e1))) < 1.0);

  // f32 log_softmax keeps log(sum) exact next to 1e4 logits (rows and column blocks).
  Tensor big32 = full({2, 3}, 1e4, DType::f32);
  CHECK_CLOSE(log_softmax(big32, 1), full({2, 3}, -std::log(3.0), DType::f32), 1e-6, 0);
  CHECK_CLOSE(log_softmax(big32, 0), full({2, 3}, -std::log(2.0), DType::f32), 1e-6, 0);

  // -inf entries get probability 0 (log -inf); the rest behave normally.
  Tensor m = from_vector<double>({-INFINITY, 0.0, 0.0}, {3}, DType::f64);
  CHECK_CLOSE(softmax(m, 0), from_vector<double>({0, 0.5, 0.5}, {3}, DType::f64), 0, 0);
  std::vector<double> lm = log_softmax(m, 0).to_vector<double>();
  CHECK(lm[0] == -INFINITY);
  CHECK(std::fabs(lm[1] - std::log(0.5)) < 1e-15);
  // A row of only -inf has no distribution: NaN, as in PyTorch.
  CHECK(std::isnan(softmax(full({2}, -INFINITY, DType::f64), 0).to_vector<double>()[0]));
}

TEST_CASE("softmax edge shapes") {
  Tensor s = scalar_tensor(3.0, DType::f64);
  CHECK(softmax(s, 0).item() == 1.0);
  CHECK(log_softmax(s, -1).item() == 0.0);
  CHECK(softmax(s, 0).dim() == 0);
  Tensor one = randn64({3, 1}, 50, false);  // size-1 softmax dim
  CHECK_CLOSE(softmax(one, 1), ones({3, 1}, DType::f64), 0, 0);
  CHECK_CLOSE(log_softmax(one, 1), zeros({3, 1}, DType::f64), 0, 0);
  Tensor empty_rows = zeros({0, 3}, DType::f64);
  CHECK(softmax(empty_rows, 1).shape() == Shape{0, 3});
  CHECK(softmax(zeros({2, 0}), 1).shape() == Shape{2, 0});
  // Odd sizes through the gradient too.
  Tensor odd = randn64({1, 7, 1}, 51);
  CHECK_GRADCHECK([](const std::vector<Tensor>& in) { return log_softmax(in[0], 1); }, {odd}, GradcheckOptions{});
}

TEST_CASE("softmax errors") {
  Tensor x = randn64({2, 3}, 60, false);
  CHECK_THROWS_WITH_SUBSTR(softmax(x, 2), "out of range");
  CHECK_THROWS_WITH_SUBSTR(log_softmax(x, -3), "out of range");
  CHECK_THROWS_WITH_SUBSTR(softmax(arange(4), 0), "needs a floating tensor");
  CHECK_THROWS_WITH_SUBSTR(log_softmax(Tensor(), 0), "undefined");
  CHECK_THROWS_WITH_SUBSTR(softmax(x.to(DType::bf16), 0), "f32 or f64");
}

// ---- tensor/softmax_norm_geometry.h: the row geometry both devices' kernels use ---------------------

TEST_CASE("softmax geometry: [outer, D, inner] around the dim, and every row's start visits each element once") {
  Tensor x = empty({2, 3, 4, 5});
  for (int dim = 0; dim < 4; ++dim) {
    CAPTURE(dim);
    const SoftmaxGeometry g = softmax_geometry(x, dim);
    CHECK(g.outer * g.D * g.inner == x.numel());
    CHECK(g.D == x.shape()[dim]);
    CHECK(g.rows() * g.D == x.numel());
    std::vector<int> hits(x.numel(), 0);
    for (int64_t r = 0; r < g.rows(); ++r)
      for (int64_t d = 0; d < g.D; ++d) ++hits[g.row_start(r) + d * g.inner];
    CHECK(std::count(hits.begin(), hits.end(), 1) == x.numel());
  }
  const SoftmaxGeometry last = softmax_geometry(x, 3);
  CHECK(last.inner == 1);
  CHECK(last.row_start(7) == 7 * 5);  // innermost: rows are adjacent runs of D
  const SoftmaxGeometry scalar = softmax_geometry(empty({}), 0);
  CHECK(scalar.rows() == 1);
  CHECK(scalar.D == 1);
}

TEST_CASE("layer norm's row chunks cover the rows in order, whatever the chunk count") {
  for (int64_t R : {1, 7, 300, 1000}) {
    for (int64_t chunks : {int64_t(1), int64_t(3), std::min<int64_t>(R, 64)}) {
      CAPTURE(R);
      CAPTURE(chunks);
      CHECK(chunk_first_row(R, chunks, 0) == 0);
      CHECK(chunk_first_row(R, chunks, chunks) == R);
      for (int64_t c = 0; c < chunks; ++c) CHECK(chunk_first_row(R, chunks, c) <= chunk_first_row(R, chunks, c + 1));
    }
  }
}
