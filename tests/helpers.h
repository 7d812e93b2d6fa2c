// The one comparison helper every test uses, plus small fixtures.
//   CHECK_CLOSE(actual, expected, atol, rtol): shapes equal and |a - e| <= atol + rtol * |e|
//     everywhere; on failure prints the worst element, its index and both values.
//   CHECK_GRADCHECK(fn, {inputs...}, opts): finite differences vs backward() (autograd/gradcheck.h).
//   noncontiguous(t): the same values in a strided, non-contiguous layout (a leaf).
//   CHECK_THROWS_WITH_SUBSTR(expr, "text"): expr throws iris::Error whose message contains text.
//   json_ints(v), json_matrix(rows): a golden JSON array as int64s, a list of rows as an f64 [n, m] tensor.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "io/json.h"

namespace iris::testing {

struct CloseResult {
  bool ok = true;
  std::string message;
};

inline CloseResult allclose(const Tensor& actual, const Tensor& expected, double atol, double rtol) {
  CloseResult r;
  if (!actual.defined() || !expected.defined()) {
    r.ok = false;
    r.message = "allclose: a tensor is undefined";
    return r;
  }
  if (actual.shape() != expected.shape()) {
    r.ok = false;
    r.message = "allclose: shapes differ: " + shape_str(actual.shape()) + " vs " + shape_str(expected.shape());
    return r;
  }
  std::vector<double> a = actual.to_vector<double>(), e = expected.to_vector<double>();
  double worst = -1;
  int64_t worst_i = -1;
  for (size_t i = 0; i < a.size(); ++i) {
    double err = std::fabs(a[i] - e[i]);
    bool same_special = (std::isnan(a[i]) && std::isnan(e[i])) || (std::isinf(a[i]) && a[i] == e[i]);
    if (same_special) continue;
    double excess = std::isnan(err) ? INFINITY : err - (atol + rtol * std::fabs(e[i]));
    if (excess > 0 && excess > worst) {
      worst = excess;
      worst_i = static_cast<int64_t>(i);
    }
  }
  if (worst_i >= 0) {
    std::ostringstream os;
    os.precision(10);
    os << "allclose failed (shape " << shape_str(actual.shape()) << ", atol " << atol << ", rtol " << rtol
       << "): worst element " << worst_i << ": actual " << a[worst_i] << " expected " << e[worst_i]
       << " (|diff| " << std::fabs(a[worst_i] - e[worst_i]) << ")";
    r.ok = false;
    r.message = os.str();
  }
  return r;
}

// A leaf with the same values as t whose last dim has stride 2 (and is therefore not contiguous).
inline Tensor noncontiguous(const Tensor& t) {
  if (t.dim() == 0) return t.detach().clone().requires_grad_(t.requires_grad());
  Shape wide = t.shape();
  wide.back() = wide.back() * 2;
  Tensor base = zeros(wide, {t.dtype(), t.device()});
  Tensor view = base.slice(-1, 0, wide.back(), 2);
  view.copy_(t.detach());
  Tensor leaf = view.detach();
  if (t.requires_grad()) leaf.requires_grad_(true);
  return leaf;
}

// An f64 leaf of the given shape with values from randn (deterministic per seed).
inline Tensor randn64(const Shape& shape, uint64_t seed, bool requires_grad = true) {
  Generator g(seed);
  Tensor t = randn(shape, DType::f64, &g);
  if (requires_grad) t.requires_grad_(true);
  return t;
}

inline GradcheckResult run_gradcheck(const TensorFn& f, const std::vector<Tensor>& inputs,
                                     const GradcheckOptions& opts = {}) {
  return gradcheck(f, inputs, opts);
}

// A JSON array of integers (golden case files).
inline std::vector<int64_t> json_ints(const json::Value& v) {
  std::vector<int64_t> out;
  for (const json::Value& e : v.elements()) out.push_back(e.as_int());
  return out;
}

// A JSON list of n rows of m numbers as an f64 [n, m] tensor ([0, 0] when there are no rows).
inline Tensor json_matrix(const json::Value& rows) {
  std::vector<double> values;
  const int64_t n = static_cast<int64_t>(rows.size());
  const int64_t m = n == 0 ? 0 : static_cast<int64_t>(rows[0].size());
  for (const json::Value& r : rows.elements())
    for (const json::Value& e : r.elements()) values.push_back(e.as_number());
  return from_vector(values, Shape{n, m});
}

}  // namespace iris::testing

#define CHECK_CLOSE(actual, expected, atol, rtol)                                       \
  do {                                                                                  \
    auto iris_close_result_ = ::iris::testing::allclose((actual), (expected), (atol), (rtol)); \
    CHECK_MESSAGE(iris_close_result_.ok, iris_close_result_.message);                   \
  } while (0)

// CHECK_GRADCHECK(fn, {inputs...}[, opts]): variadic so brace lists pass through the macro.
#define CHECK_GRADCHECK(...)                                                   \
  do {                                                                         \
    auto iris_gc_result_ = ::iris::testing::run_gradcheck(__VA_ARGS__);        \
    CHECK_MESSAGE(iris_gc_result_.ok, iris_gc_result_.message);                \
    CHECK(iris_gc_result_.checked > 0);                                        \
  } while (0)

#define CHECK_THROWS_WITH_SUBSTR(expr, substr)                                                   \
  do {                                                                                           \
    bool iris_threw_ = false;                                                                    \
    std::string iris_msg_;                                                                       \
    try {                                                                                        \
      (void)(expr);                                                                              \
    } catch (const ::iris::Error& e) {                                                           \
      iris_threw_ = true;                                                                        \
      iris_msg_ = e.what();                                                                      \
    }                                                                                            \
    CHECK_MESSAGE(iris_threw_, "expected iris::Error from: " #expr);                             \
    if (iris_threw_)                                                                             \
      CHECK_MESSAGE(iris_msg_.find(substr) != std::string::npos,                                 \
                    "message \"" << iris_msg_ << "\" lacks \"" << substr << "\"");               \
  } while (0)
