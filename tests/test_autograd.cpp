// The backward engine: accumulation over several uses (shared weights), seeds, retain_graph, the
// graph freed after backward, no_grad, detach, retain_grad, deep graphs, view gradients, memory.
#include "tests/helpers.h"

using namespace iris;
using iris::testing::randn64;

TEST_CASE("a tensor used several times gets the sum of its gradients") {
  Tensor x = from_vector<double>({1, 2, 3}).requires_grad_();
  Tensor y = x * x + x * 3.0 + x;  // d/dx = 2x + 4
  sum(y).backward();
  CHECK(x.grad().to_vector<double>() == std::vector<double>{6, 8, 10});
  // shared weight in two layers: w used twice in a chain
  Tensor w = from_vector<double>({0.5, -1, 2, 0.25}).reshape({2, 2}).requires_grad_();
  Tensor in = from_vector<double>({1, 2}).reshape({1, 2});
  Tensor out = matmul(matmul(in, w), w);
  GradcheckOptions opts;
  CHECK_GRADCHECK([&](const std::vector<Tensor>& t) { return matmul(matmul(in, t[0]), t[0]); }, {w}, opts);
  (void)out;
}

TEST_CASE("gradients accumulate across backward calls until zeroed") {
  Tensor x = ones({2}, DType::f64).requires_grad_();
  sum(x * 2.0).backward();
  sum(x * 3.0).backward();
  CHECK(x.grad().to_vector<double>() == std::vector<double>{5, 5});
  x.zero_grad();
  CHECK_FALSE(x.grad().defined());
  sum(x).backward();
  CHECK(x.grad().to_vector<double>() == std::vector<double>{1, 1});
}

TEST_CASE("seed gradients and non-scalar outputs") {
  Tensor x = from_vector<double>({1, 2}).requires_grad_();
  Tensor y = x * 2.0;
  CHECK_THROWS_WITH_SUBSTR(y.backward(), "pass a gradient of the same shape");
  CHECK_THROWS_WITH_SUBSTR(y.backward(ones({3}, DType::f64)), "seed gradient has shape [3]");
  y.backward(from_vector<double>({10, 100}));
  CHECK(x.grad().to_vector<double>() == std::vector<double>{20, 200});
  // an f32 seed for an f64 output is converted
  Tensor z = x * 1.0;
  x.zero_grad();
  z.backward(ones({2}));
  CHECK(x.grad().to_vector<double>() == std::vector<double>{1, 1});
  CHECK_THROWS_WITH_SUBSTR(ones({2}).backward(), "does not require grad");
}

TEST_CASE("the graph is freed after backward unless retained") {
  Tensor x = from_vector<double>({3}).requires_grad_();
  Tensor y = x * x;
  y.backward(Tensor(), true);
  y.backward();  // allowed: the first call retained the graph
  CHECK(x.grad().item() == 12.0);
  CHECK_THROWS_WITH_SUBSTR(y.backward(), "already freed");
  // freeing drops saved tensors: the closure of MulBackward no longer holds x's copy
  Tensor a = randn({1000}).requires_grad_();
  Tensor b = a * a;
  sum(b).backward();
  CHECK(b.grad_fn()->released);
  CHECK_FALSE(static_cast<bool>(b.grad_fn()->backward));
}

TEST_CASE("no_grad, detach and requires_grad rules") {
  Tensor x = ones({2}).requires_grad_();
  {
    NoGradGuard ng;
    Tensor y = x * 2.0;
    CHECK_FALSE(y.requires_grad());
    CHECK(y.is_leaf());
  }
  CHECK(grad_mode_enabled());
  Tensor d = (x * 2.0).detach();
  CHECK_FALSE(d.requires_grad());
  CHECK(d.is_leaf());
  Tensor y = x * 2.0;
  CHECK(y.requires_grad());
  CHECK_FALSE(y.is_leaf());
  CHECK(std::string(y.grad_fn()->name) == "MulBackward");
  CHECK_THROWS_WITH_SUBSTR(y.requires_grad_(false), "use detach()");
  // a constant branch does not receive gradients
  Tensor c = ones({2});
  sum(x * c).backward();
  CHECK_FALSE(c.grad().defined());
  CHECK(x.grad().defined());
}

TEST_CASE("retain_grad keeps a non-leaf gradient") {
  Tensor x = from_vector<double>({1, 2}).requires_grad_();
  Tensor h = x * 3.0;
  h.retain_grad();
  sum(h * h).backward();
  CHECK(h.grad().to_vector<double>() == std::vector<double>{6, 12});
  CHECK(x.grad().to_vector<double>() == std::vector<double>{18, 36});
}

TEST_CASE("view ops have correct gradients") {
  GradcheckOptions opts;
  Tensor x = randn64({2, 3, 4}, 1);
  auto check = [&](std::function<Tensor(const Tensor&)> f) {
    CHECK_GRADCHECK([&](const std::vector<Tensor>& t) { return f(t[0]); }, {x}, opts);
    CHECK_GRADCHECK([&](const std::vector<Tensor>& t) { return f(t[0]); }, {iris::testing::noncontiguous(x)}, opts);
  };
  check([](const Tensor& t) { return t.reshape({4, 6}); });
  check([](const Tensor& t) { return t.permute({2, 0, 1}) * 1.5; });
  check([](const Tensor& t) { return t.transpose(0, 2); });
  check([](const Tensor& t) { return t.slice(2, 1, 4, 2); });
  check([](const Tensor& t) { return t.slice(0, 1, 2).slice(1, 0, 3, 2); });
  check([](const Tensor& t) { return t.select(1, 2); });
  check([](const Tensor& t) { return t.select(-1, 0) * t.select(-1, 3); });
  check([](const Tensor& t) { return t.narrow(1, 1, 2); });
  check([](const Tensor& t) { return t.unsqueeze(1).expand({2, 5, 3, 4}); });
  check([](const Tensor& t) { return t.slice(1, 0, 1).squeeze(1); });
  check([](const Tensor& t) { return t.flatten(1); });
  check([](const Tensor& t) { return t.permute({1, 0, 2}).contiguous().view({3, 8}); });
  check([](const Tensor& t) { return t.clone() * t; });
  // through f32 and back: linear, so a large step keeps finite differences above f32 rounding
  GradcheckOptions coarse;
  coarse.eps = 1e-2;
  coarse.rtol = 1e-5;
  coarse.atol = 1e-5;
  CHECK_GRADCHECK([](const std::vector<Tensor>& t) { return t[0].to(DType::f32).to(DType::f64) * 2.0; }, {x}, coarse);
}

TEST_CASE("deep graphs do not overflow the stack") {
  Tensor x = ones({1}, DType::f64).requires_grad_();
  Tensor y = x;
  for (int i = 0; i < 20000; ++i) y = y * 1.0001;
  y.backward(ones({1}, DType::f64));
  CHECK(x.grad().item() == doctest::Approx(std::pow(1.0001, 20000)).epsilon(1e-9));
}

TEST_CASE("diamond graphs visit each node once with the summed gradient") {
  Tensor x = from_vector<double>({2}).requires_grad_();
  Tensor a = x * x;      // 4
  Tensor b = a * 3.0;    // 12
  Tensor c = a * a;      // 16
  Tensor y = b + c;      // dy/da = 3 + 2a = 11; dy/dx = 11 * 2x = 44
  y.backward(ones({1}, DType::f64));
  CHECK(x.grad().item() == 44.0);
}

TEST_CASE("gradcheck itself detects a wrong gradient") {
  // A deliberately broken op: forward x^2, backward claims 3x.
  auto broken = [](const std::vector<Tensor>& t) {
    Tensor x = t[0];
    Tensor out = mul(x.detach(), x.detach());
    return record("BrokenBackward", out, {x}, [xd = x.detach()](const Tensor& g) {
      return std::vector<Tensor>{mul(g, mul(xd, 3.0))};
    });
  };
  GradcheckResult r = gradcheck(broken, {randn64({3}, 1)});
  CHECK_FALSE(r.ok);
  CHECK(r.message.find("numeric") != std::string::npos);
  CHECK_THROWS_WITH_SUBSTR(gradcheck(broken, {randn({3}).requires_grad_()}), "must be f64");
}
