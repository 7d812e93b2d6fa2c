// Reductions: sum, mean, var/std, amax/amin, max/min with indices, argmax/argmin, logsumexp, norm,
// any/all over any set of dims with keepdim, against naive loops; gradients; layouts; errors.
#include <functional>

#include "tests/helpers.h"

using namespace iris;
using iris::testing::noncontiguous;
using iris::testing::randn64;

namespace {

// Naive reduction over the dims in `dims` of x (row-major), returning the keepdim=false result.
// f receives the values of one reduction group in row-major order.
Tensor reference_reduce(const Tensor& x, std::vector<int64_t> dims,
                        const std::function<double(const std::vector<double>&)>& f) {
  Shape s = x.shape();
  int n = s.size();
  if (dims.empty())
    for (int i = 0; i < n; ++i) dims.push_back(i);
  std::vector<bool> red(n, false);
  for (int64_t d : dims) red[d < 0 ? d + n : d] = true;
  Shape out_shape;
  for (int i = 0; i < n; ++i)
    if (!red[i]) out_shape.push_back(s[i]);
  std::vector<double> v = x.to_vector<double>();
  std::vector<std::vector<double>> groups(static_cast<size_t>(numel_of(out_shape)));
  Strides cs = contiguous_strides(s);
  for (int64_t i = 0; i < numel_of(s); ++i) {
    int64_t rem = i, o = 0;
    for (int d = 0; d < n; ++d) {
      int64_t idx = rem / cs[d];
      rem %= cs[d];
      if (!red[d]) o = o * s[d] + idx;
    }
    groups[o].push_back(v[i]);
  }
  std::vector<double> out;
  for (auto& g : groups) out.push_back(f(g));
  return from_vector(out, out_shape);
}

double vsum(const std::vector<double>& g) {
  double s = 0;
  for (double v : g) s += v;
  return s;
}
double vmean(const std::vector<double>& g) { return vsum(g) / g.size(); }
double vvar(const std::vector<double>& g, bool unbiased) {
  double m = vmean(g), s = 0;
  for (double v : g) s += (v - m) * (v - m);
  return s / (g.size() - (unbiased ? 1 : 0));
}

}  // namespace

TEST_CASE("sum/mean/var/std/amax/amin/logsumexp/norm over dim sets match naive loops") {
  Tensor x = randn64({3, 4, 5}, 1, false);
  std::vector<std::vector<int64_t>> dim_sets = {{}, {0}, {1}, {2}, {-1}, {0, 2}, {1, 2}, {0, 1}};
  for (auto& dims : dim_sets) {
    CAPTURE(dims.size());
    for (const Tensor& in : {x, noncontiguous(x), x.permute({2, 0, 1}).contiguous().permute({1, 2, 0})}) {
      CHECK_CLOSE(sum(in, dims), reference_reduce(x, dims, vsum), 1e-12, 1e-12);
      CHECK_CLOSE(mean(in, dims), reference_reduce(x, dims, vmean), 1e-12, 1e-12);
      CHECK_CLOSE(var(in, dims), reference_reduce(x, dims, [](auto& g) { return vvar(g, true); }), 1e-12, 1e-10);
      CHECK_CLOSE(var(in, dims, false), reference_reduce(x, dims, [](auto& g) { return vvar(g, false); }), 1e-12,
                  1e-10);
      CHECK_CLOSE(stddev(in, dims), reference_reduce(x, dims, [](auto& g) { return std::sqrt(vvar(g, true)); }),
                  1e-12, 1e-10);
      CHECK_CLOSE(amax(in, dims), reference_reduce(x, dims, [](auto& g) { return *std::max_element(g.begin(), g.end()); }),
                  0, 0);
      CHECK_CLOSE(amin(in, dims), reference_reduce(x, dims, [](auto& g) { return *std::min_element(g.begin(), g.end()); }),
                  0, 0);
      CHECK_CLOSE(logsumexp(in, dims), reference_reduce(x, dims, [](auto& g) {
                    double s = 0;
                    for (double v : g) s += std::exp(v);
                    return std::log(s);
                  }),
                  1e-12, 1e-12);
      CHECK_CLOSE(norm(in, 2.0, dims), reference_reduce(x, dims, [](auto& g) {
                    double s = 0;
                    for (double v : g) s += v * v;
                    return std::sqrt(s);
                  }),
                  1e-12, 1e-12);
      CHECK_CLOSE(norm(in, 3.0, dims), reference_reduce(x, dims, [](auto& g) {
                    double s = 0;
                    for (double v : g) s += std::pow(std::fabs(v), 3);
                    return std::cbrt(s);
                  }),
                  1e-12, 1e-10);
      CHECK_CLOSE(norm(in, 1.0, dims), reference_reduce(x, dims, [](auto& g) {
                    double s = 0;
                    for (double v : g) s += std::fabs(v);
                    return s;
                  }),
                  1e-12, 1e-12);
      CHECK_CLOSE(norm(in, INFINITY, dims), reference_reduce(x, dims, [](auto& g) {
                    double s = 0;
                    for (double v : g) s = std::max(s, std::fabs(v));
                    return s;
                  }),
                  0, 0);
    }
  }
  // keepdim keeps the reduced dims as 1
  CHECK(sum(x, {0, 2}, true).shape() == Shape{1, 4, 1});
  CHECK(mean(x, {}, true).shape() == Shape{1, 1, 1});
  CHECK(sum(x).dim() == 0);
  // f32 sums accumulate in double: 1e6 ones sum exactly
  CHECK(sum(ones({1000, 1000})).item() == 1e6);
  CHECK(sum(ones({1000, 1000}), {0}).to_vector<float>()[7] == 1000.0f);  // the column-sum path
  // integer and bool sums give i64
  CHECK(sum(from_vector<int32_t>({1, 2, 3})).dtype() == DType::i64);
  CHECK(sum(gt(from_vector<float>({1, -1, 2}), 0.0)).item() == 2);
  CHECK(logsumexp(from_vector<float>({1000, 1000}), {0}).item() == doctest::Approx(1000 + std::log(2.0)));
  CHECK(logsumexp(from_vector<float>({-INFINITY, -INFINITY}), {0}).item() == -INFINITY);
}

TEST_CASE("reduction gradients match finite differences") {
  GradcheckOptions opts;
  opts.atol = 1e-7;
  opts.rtol = 1e-5;
  Tensor x = randn64({3, 4, 2}, 2);
  Tensor xn = noncontiguous(x);
  std::vector<std::vector<int64_t>> dim_sets = {{}, {1}, {0, 2}};
  for (auto& dims : dim_sets) {
    for (bool keep : {false, true}) {
      for (const Tensor& in : {x, xn}) {
        CHECK_GRADCHECK([&](const std::vector<Tensor>& t) { return sum(t[0], dims, keep); }, {in}, opts);
        CHECK_GRADCHECK([&](const std::vector<Tensor>& t) { return mean(t[0], dims, keep); }, {in}, opts);
        CHECK_GRADCHECK([&](const std::vector<Tensor>& t) { return var(t[0], dims, true, keep); }, {in}, opts);
        CHECK_GRADCHECK([&](const std::vector<Tensor>& t) { return stddev(t[0], dims, false, keep); }, {in}, opts);
        CHECK_GRADCHECK([&](const std::vector<Tensor>& t) { return amax(t[0], dims, keep); }, {in}, opts);
        CHECK_GRADCHECK([&](const std::vector<Tensor>& t) { return amin(t[0], dims, keep); }, {in}, opts);
        CHECK_GRADCHECK([&](const std::vector<Tensor>& t) { return norm(t[0], 2.0, dims, keep); }, {in}, opts);
        CHECK_GRADCHECK([&](const std::vector<Tensor>& t) { return norm(t[0], 3.0, dims, keep); }, {in}, opts);
        if (!dims.empty())
          CHECK_GRADCHECK([&](const std::vector<Tensor>& t) { return logsumexp(t[0], dims, keep); }, {in}, opts);
      }
    }
  }
  for (int64_t d : {0, 1, -1}) {
    CHECK_GRADCHECK([&](const std::vector<Tensor>& t) { return max(t[0], d).values; }, {x}, opts);
    CHECK_GRADCHECK([&](const std::vector<Tensor>& t) { return min(t[0], d, true).values; }, {xn}, opts);
  }
}

TEST_CASE("max/min with indices, argmax, ties and NaN") {
  Tensor x = from_vector<float>({1, 5, 5, 2, 0, -1}).reshape({2, 3});
  ValuesIndices m = max(x, 1);
  CHECK(m.values.to_vector<float>() == std::vector<float>{5, 2});
  CHECK(m.indices.to_vector<int64_t>() == std::vector<int64_t>{1, 0});  // first of the tied maxima
  CHECK(m.indices.dtype() == DType::i64);
  CHECK(min(x, 0).indices.to_vector<int64_t>() == std::vector<int64_t>{0, 1, 1});
  CHECK(max(x, 1, true).values.shape() == Shape{2, 1});
  CHECK(argmax(x, 0).to_vector<int64_t>() == std::vector<int64_t>{1, 0, 0});
  CHECK(argmin(x, 1).to_vector<int64_t>() == std::vector<int64_t>{0, 2});
  CHECK(argmax(x).item() == 1);
  CHECK(argmax(x.t(), 1).to_vector<int64_t>() == std::vector<int64_t>{1, 0, 0});  // strided input
  CHECK(max(x).item() == 5);
  CHECK(min(x).item() == -1);
  CHECK(std::isnan(max(from_vector<float>({1, NAN, 3})).item()));
  CHECK(argmax(from_vector<float>({1, NAN, 3})).item() == 1);
  // ties: amax shares the gradient, max(dim) sends it to the returned index
  Tensor t = from_vector<double>({2, 7, 7}).requires_grad_();
  amax(t).backward();
  CHECK(t.grad().to_vector<double>() == std::vector<double>{0, 0.5, 0.5});
  t.zero_grad();
  max(t, 0).values.backward();
  CHECK(t.grad().to_vector<double>() == std::vector<double>{0, 1, 0});
  // integers
  CHECK(max(from_vector<int64_t>({3, 9, 4})).item() == 9);
  CHECK(argmax(from_vector<int32_t>({3, 9, 4}), 0).item() == 1);
}

TEST_CASE("any and all") {
  Tensor b = gt(from_vector<float>({1, -1, 0, 2}).reshape({2, 2}), 0.0);
  CHECK(any(b).item() == 1);
  CHECK(all(b).item() == 0);
  CHECK(any(b, {1}).to(DType::i32).to_vector<int32_t>() == std::vector<int32_t>{1, 1});
  CHECK(all(b, {0}).to(DType::i32).to_vector<int32_t>() == std::vector<int32_t>{0, 0});
  CHECK(all(zeros({0})).item() == 1);
  CHECK(any(zeros({0})).item() == 0);
}

TEST_CASE("reduction errors") {
  Tensor x = zeros({2, 3});
  CHECK_THROWS_WITH_SUBSTR(sum(x, {2}), "dim 2 is out of range");
  CHECK_THROWS_WITH_SUBSTR(sum(x, {1, -1}), "appears twice");
  CHECK_THROWS_WITH_SUBSTR(mean(from_vector<int64_t>({1, 2})), "needs a floating tensor");
  CHECK_THROWS_WITH_SUBSTR(var(ones({1})), "unbiased=false");
  CHECK_THROWS_WITH_SUBSTR(amax(zeros({0, 3}), {0}), "empty dim");
  CHECK_THROWS_WITH_SUBSTR(max(zeros({2, 0}), 1), "empty dim");
  CHECK_THROWS_WITH_SUBSTR(norm(x, -1.0), "p must be positive");
  CHECK_THROWS_WITH_SUBSTR(sum(Tensor()), "undefined");
  CHECK(sum(zeros({0, 3}), {0}).to_vector<float>() == std::vector<float>{0, 0, 0});
}
