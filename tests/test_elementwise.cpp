// Elementwise ops: every unary and binary op against a naive loop (f32 and f64), its gradient
// against finite differences, non-contiguous and broadcast inputs, dtype rules, and errors.
#include <functional>

#include "tensor/cpu/math.h"
#include "tensor/elementwise_formulas.h"
#include "tests/helpers.h"

using namespace iris;
using iris::testing::noncontiguous;
using iris::testing::randn64;

namespace {

// Applies a scalar function elementwise on the host: the naive reference.
Tensor reference_map(const Tensor& x, const std::function<double(double)>& f) {
  std::vector<double> v = x.to_vector<double>();
  for (double& e : v) e = f(e);
  return from_vector(v, x.shape()).to(x.dtype());
}

// Broadcasting reference for two operands, row-major over the broadcast shape.
Tensor reference_zip(const Tensor& a, const Tensor& b, const std::function<double(double, double)>& f) {
  Shape s = broadcast_shapes(a.shape(), b.shape(), "ref");
  Tensor ae = a.detach().expand(s).contiguous(), be = b.detach().expand(s).contiguous();
  std::vector<double> av = ae.to_vector<double>(), bv = be.to_vector<double>(), out(av.size());
  for (size_t i = 0; i < av.size(); ++i) out[i] = f(av[i], bv[i]);
  return from_vector(out, s);
}

double sigmoid_ref(double x) { return 1.0 / (1.0 + std::exp(-x)); }

struct UnaryCase {
  const char* name;
  std::function<Tensor(const Tensor&)> op;
  std::function<double(double)> ref;
  double lo, hi;  // input range (away from kinks / outside the domain)
};

std::vector<UnaryCase> unary_cases() {
  return {
      {"neg", [](const Tensor& x) { return neg(x); }, [](double x) { return -x; }, -3, 3},
      {"abs", [](const Tensor& x) { return abs(x); }, [](double x) { return std::fabs(x); }, 0.1, 3},
      {"square", [](const Tensor& x) { return square(x); }, [](double x) { return x * x; }, -3, 3},
      {"reciprocal", [](const Tensor& x) { return reciprocal(x); }, [](double x) { return 1 / x; }, 0.5, 3},
      {"exp", [](const Tensor& x) { return exp(x); }, [](double x) { return std::exp(x); }, -3, 3},
      {"log", [](const Tensor& x) { return log(x); }, [](double x) { return std::log(x); }, 0.2, 4},
      {"log1p", [](const Tensor& x) { return log1p(x); }, [](double x) { return std::log1p(x); }, -0.5, 3},
      {"sqrt", [](const Tensor& x) { return sqrt(x); }, [](double x) { return std::sqrt(x); }, 0.2, 4},
      {"rsqrt", [](const Tensor& x) { return rsqrt(x); }, [](double x) { return 1 / std::sqrt(x); }, 0.2, 4},
      {"sin", [](const Tensor& x) { return sin(x); }, [](double x) { return std::sin(x); }, -3, 3},
      {"cos", [](const Tensor& x) { return cos(x); }, [](double x) { return std::cos(x); }, -3, 3},
      {"tanh", [](const Tensor& x) { return tanh(x); }, [](double x) { return std::tanh(x); }, -3, 3},
      {"sigmoid", [](const Tensor& x) { return sigmoid(x); }, sigmoid_ref, -6, 6},
      {"relu", [](const Tensor& x) { return relu(x); }, [](double x) { return x > 0 ? x : 0; }, -3, 3},
      {"leaky_relu", [](const Tensor& x) { return leaky_relu(x, 0.2); },
       [](double x) { return x > 0 ? x : 0.2 * x; }, -3, 3},
      {"gelu", [](const Tensor& x) { return gelu(x); },
       [](double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }, -4, 4},
      {"gelu_tanh", [](const Tensor& x) { return gelu(x, GeluApprox::tanh); },
       [](double x) { return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x))); }, -4, 4},
      {"quick_gelu", [](const Tensor& x) { return quick_gelu(x); },
       [](double x) { return x * sigmoid_ref(1.702 * x); }, -4, 4},
      {"silu", [](const Tensor& x) { return silu(x); }, [](double x) { return x * sigmoid_ref(x); }, -4, 4},
      {"softplus", [](const Tensor& x) { return softplus(x, 2.0, 5.0); },
       [](double x) { return 2 * x > 5 ? x : std::log1p(std::exp(2 * x)) / 2; }, -4, 4},
      {"erf", [](const Tensor& x) { return erf(x); }, [](double x) { return std::erf(x); }, -2, 2},
      {"clamp", [](const Tensor& x) { return clamp(x, -1.0, 0.5); },
       [](double x) { return std::min(std::max(x, -1.0), 0.5); }, -3, 3},
      {"pow_scalar", [](const Tensor& x) { return pow(x, 2.5); }, [](double x) { return std::pow(x, 2.5); }, 0.2, 3},
      {"pow_neg", [](const Tensor& x) { return pow(x, -1.5); }, [](double x) { return std::pow(x, -1.5); }, 0.3, 3},
      {"mul_scalar", [](const Tensor& x) { return x * 3.0 - 1.0; }, [](double x) { return 3 * x - 1; }, -3, 3},
      {"rdiv_scalar", [](const Tensor& x) { return 2.0 / x; }, [](double x) { return 2 / x; }, 0.5, 3},
      {"rsub_scalar", [](const Tensor& x) { return 2.0 - x; }, [](double x) { return 2 - x; }, -3, 3},
  };
}

// Values in [lo, hi] kept away from the kinks of relu/abs/clamp (|x - k| > 0.05 for k in 0, -1, 0.5).
Tensor sample(const Shape& s, double lo, double hi, uint64_t seed) {
  Generator g(seed);
  std::vector<double> v = rand(s, DType::f64, &g).to_vector<double>();
  for (double& e : v) {
    e = lo + (hi - lo) * e;
    for (double k : {0.0, -1.0, 0.5})
      if (std::fabs(e - k) < 0.05) e = k + (e >= k ? 0.05 : -0.05);
  }
  return from_vector(v, s);
}

}  // namespace

TEST_CASE("unary ops: forward matches a naive loop, f64 and f32, contiguous or not") {
  for (const UnaryCase& c : unary_cases()) {
    CAPTURE(c.name);
    Tensor x = sample({3, 5}, c.lo, c.hi, 11);
    Tensor expected = reference_map(x, c.ref);
    CHECK_CLOSE(c.op(x), expected, 1e-12, 1e-12);
    CHECK_CLOSE(c.op(x.to(DType::f32)), expected, 1e-5, 2e-5);
    CHECK_CLOSE(c.op(noncontiguous(x)), expected, 1e-12, 1e-12);
    CHECK_CLOSE(c.op(x.t()), expected.t(), 1e-12, 1e-12);
  }
}

TEST_CASE("unary ops: gradients match finite differences") {
  GradcheckOptions opts;
  opts.atol = 1e-7;
  opts.rtol = 1e-5;
  for (const UnaryCase& c : unary_cases()) {
    CAPTURE(c.name);
    Tensor x = sample({2, 7}, c.lo, c.hi, 3).requires_grad_();
    CHECK_GRADCHECK([&](const std::vector<Tensor>& in) { return c.op(in[0]); }, {x}, opts);
    Tensor xn = noncontiguous(x);
    CHECK_GRADCHECK([&](const std::vector<Tensor>& in) { return c.op(in[0]); }, {xn}, opts);
  }
}

TEST_CASE("unary ops on integers and special values") {
  Tensor i = from_vector<int64_t>({-3, 0, 4});
  CHECK(neg(i).to_vector<int64_t>() == std::vector<int64_t>{3, 0, -4});
  CHECK(abs(i).to_vector<int64_t>() == std::vector<int64_t>{3, 0, 4});
  CHECK(relu(i).to_vector<int64_t>() == std::vector<int64_t>{0, 0, 4});
  CHECK(clamp(i, -1, 2).to_vector<int64_t>() == std::vector<int64_t>{-1, 0, 2});
  CHECK(exp(i).dtype() == DType::f32);  // float math on integers promotes
  CHECK(sign(from_vector<float>({-2, 0, 3})).to_vector<float>() == std::vector<float>{-1, 0, 1});
  CHECK(round(from_vector<float>({0.5f, 1.5f, -2.5f, 2.4f})).to_vector<float>() == std::vector<float>{0, 2, -2, 2});
  CHECK(floor(from_vector<float>({-0.5f, 1.7f})).to_vector<float>() == std::vector<float>{-1, 1});
  CHECK(ceil(from_vector<float>({-0.5f, 1.2f})).to_vector<float>() == std::vector<float>{0, 2});
  CHECK_FALSE(floor(randn({2}).requires_grad_()).requires_grad());
  // sigmoid and softplus are stable at extremes
  Tensor big = from_vector<float>({-1000, 1000});
  CHECK(sigmoid(big).to_vector<float>() == std::vector<float>{0, 1});
  CHECK(softplus(big).to_vector<float>() == std::vector<float>{0, 1000});
  CHECK(std::isnan(log(from_vector<float>({-1})).item()));
  CHECK(std::isnan(clamp(from_vector<float>({NAN}), 0, 1).item()));
  // gradient conventions at kinks, as PyTorch: relu'(0) = 0, abs'(0) = 0, clamp passes at the bounds
  Tensor z = zeros({1}, DType::f64).requires_grad_();
  relu(z).backward(ones({1}, DType::f64));
  CHECK(z.grad().item() == 0.0);
  z.zero_grad();
  abs(z).backward(ones({1}, DType::f64));
  CHECK(z.grad().item() == 0.0);
  Tensor b = from_vector<double>({-1.0, 0.5}).requires_grad_();
  sum(clamp(b, -1, 0.5)).backward();
  CHECK(b.grad().to_vector<double>() == std::vector<double>{1, 1});
}

struct BinaryCase {
  const char* name;
  std::function<Tensor(const Tensor&, const Tensor&)> op;
  std::function<double(double, double)> ref;
};

TEST_CASE("binary ops with broadcasting: forward and gradients") {
  std::vector<BinaryCase> cases = {
      {"add", [](const Tensor& a, const Tensor& b) { return a + b; }, [](double a, double b) { return a + b; }},
      {"sub", [](const Tensor& a, const Tensor& b) { return a - b; }, [](double a, double b) { return a - b; }},
      {"mul", [](const Tensor& a, const Tensor& b) { return a * b; }, [](double a, double b) { return a * b; }},
      {"div", [](const Tensor& a, const Tensor& b) { return a / b; }, [](double a, double b) { return a / b; }},
      {"pow", [](const Tensor& a, const Tensor& b) { return pow(a, b); },
       [](double a, double b) { return std::pow(a, b); }},
      {"maximum", [](const Tensor& a, const Tensor& b) { return maximum(a, b); },
       [](double a, double b) { return std::max(a, b); }},
      {"minimum", [](const Tensor& a, const Tensor& b) { return minimum(a, b); },
       [](double a, double b) { return std::min(a, b); }},
  };
  // Shape pairs: equal, trailing broadcast, both sides broadcast, scalar, leading dims, size-1 against size-1.
  std::vector<std::pair<Shape, Shape>> shapes = {
      {{3, 4}, {3, 4}}, {{2, 3, 4}, {4}}, {{3, 1}, {1, 4}}, {{2, 3}, {}}, {{}, {2, 3}}, {{1, 1}, {1}},
      {{2, 1, 3}, {4, 1}}};
  GradcheckOptions opts;
  opts.atol = 1e-7;
  opts.rtol = 1e-5;
  for (const BinaryCase& c : cases) {
    for (auto& [sa, sb] : shapes) {
      CAPTURE(c.name);
      CAPTURE(shape_str(sa));
      CAPTURE(shape_str(sb));
      // positive operands (pow, div); distinct values (maximum/minimum away from ties)
      Tensor a = sample(sa, 0.5, 2.0, 1).requires_grad_();
      Tensor b = sample(sb, 0.6, 2.1, 2).requires_grad_();
      Tensor expected = reference_zip(a, b, c.ref);
      CHECK_CLOSE(c.op(a, b), expected, 1e-12, 1e-12);
      CHECK_CLOSE(c.op(a.to(DType::f32), b.to(DType::f32)), expected, 1e-5, 1e-5);
      CHECK_GRADCHECK([&](const std::vector<Tensor>& in) { return c.op(in[0], in[1]); }, {a, b}, opts);
      if (a.dim() > 0 && b.dim() > 0) {
        Tensor an = noncontiguous(a), bn = noncontiguous(b);
        CHECK_CLOSE(c.op(an, bn), expected, 1e-12, 1e-12);
        CHECK_GRADCHECK([&](const std::vector<Tensor>& in) { return c.op(in[0], in[1]); }, {an, bn}, opts);
      }
    }
  }
}

TEST_CASE("binary ops on expanded and permuted views") {
  Tensor a = randn64({4, 1}, 1);
  Tensor ae = a.expand({4, 3});  // stride 0
  Tensor b = randn64({3, 4}, 2).t();  // transposed
  CHECK_CLOSE(ae * b, reference_zip(ae, b, [](double x, double y) { return x * y; }), 1e-12, 1e-12);
  GradcheckOptions opts;
  CHECK_GRADCHECK([](const std::vector<Tensor>& in) { return in[0].expand({4, 3}) * in[1].t(); },
                  std::vector<Tensor>({a, randn64({3, 4}, 2)}), opts);
}

TEST_CASE("maximum/minimum split the gradient on ties, like PyTorch") {
  Tensor a = from_vector<double>({1.0, 2.0, 3.0}).requires_grad_();
  Tensor b = from_vector<double>({1.0, 5.0, 0.0}).requires_grad_();
  sum(maximum(a, b)).backward();
  CHECK(a.grad().to_vector<double>() == std::vector<double>{0.5, 0, 1});
  CHECK(b.grad().to_vector<double>() == std::vector<double>{0.5, 1, 0});
  CHECK(std::isnan(maximum(from_vector<float>({NAN}), from_vector<float>({1})).item()));
}

TEST_CASE("comparisons, logic, where, masked_fill") {
  Tensor a = from_vector<float>({1, 2, 3, 4});
  Tensor b = from_vector<float>({4, 2, 1, 4});
  CHECK(eq(a, b).dtype() == DType::b8);
  CHECK(eq(a, b).to(DType::i32).to_vector<int32_t>() == std::vector<int32_t>{0, 1, 0, 1});
  CHECK(ne(a, b).to(DType::i32).to_vector<int32_t>() == std::vector<int32_t>{1, 0, 1, 0});
  CHECK(lt(a, b).to(DType::i32).to_vector<int32_t>() == std::vector<int32_t>{1, 0, 0, 0});
  CHECK(le(a, b).to(DType::i32).to_vector<int32_t>() == std::vector<int32_t>{1, 1, 0, 1});
  CHECK(gt(a, 2.5).to(DType::i32).to_vector<int32_t>() == std::vector<int32_t>{0, 0, 1, 1});
  CHECK(ge(a, 2.0).to(DType::i32).to_vector<int32_t>() == std::vector<int32_t>{0, 1, 1, 1});
  CHECK(logical_and(gt(a, 1.5), lt(a, 3.5)).to(DType::i32).to_vector<int32_t>() == std::vector<int32_t>{0, 1, 1, 0});
  CHECK(logical_or(lt(a, 1.5), gt(a, 3.5)).to(DType::i32).to_vector<int32_t>() == std::vector<int32_t>{1, 0, 0, 1});
  CHECK(logical_not(gt(a, 2.5)).to(DType::i32).to_vector<int32_t>() == std::vector<int32_t>{1, 1, 0, 0});
  CHECK_FALSE(gt(a.requires_grad_(), 0.0).requires_grad());

  // where with broadcasting; gradient goes to the chosen side only
  Tensor x = randn64({2, 3}, 5), y = randn64({3}, 6);
  Tensor cond = gt(randn64({2, 1}, 7, false), 0.0);
  Tensor w = where(cond, x, y);
  std::vector<double> cv = cond.to(DType::f64).to_vector<double>(), xv = x.to_vector<double>(),
                      yv = y.to_vector<double>(), wv = w.to_vector<double>();
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j) CHECK(wv[i * 3 + j] == (cv[i] != 0 ? xv[i * 3 + j] : yv[j]));
  CHECK_GRADCHECK([&](const std::vector<Tensor>& in) { return where(cond, in[0], in[1]); },
                  std::vector<Tensor>({x, y}), GradcheckOptions{});

  Tensor m = from_vector<float>({1, 2, 3, 4}).reshape({2, 2});
  Tensor mask = from_vector<uint8_t>({1, 0}).to(DType::b8).reshape({2, 1});
  CHECK(masked_fill(m, mask, -1).to_vector<float>() == std::vector<float>{-1, -1, 3, 4});
  Tensor mx = randn64({2, 2}, 8);
  CHECK_GRADCHECK([&](const std::vector<Tensor>& in) { return masked_fill(in[0], mask, 9.0); }, {mx},
                  GradcheckOptions{});
}

TEST_CASE("dtype promotion in binary ops") {
  Tensor i = from_vector<int64_t>({1, 2, 3});
  Tensor f = from_vector<float>({0.5f, 0.5f, 0.5f});
  CHECK((i + f).dtype() == DType::f32);
  CHECK((i + i).dtype() == DType::i64);
  CHECK((i / i).dtype() == DType::f32);  // true division
  CHECK((i / from_vector<int64_t>({2, 0, 2})).to_vector<float>()[1] == INFINITY);  // no integer trap
  CHECK((i * 2).dtype() == DType::i64);
  CHECK((i * 2.5).dtype() == DType::f32);
  CHECK((f + from_vector<double>({1, 1, 1})).dtype() == DType::f64);
  Tensor bsum = from_vector<uint8_t>({1, 0}).to(DType::b8) + from_vector<uint8_t>({1, 1}).to(DType::b8);
  CHECK(bsum.dtype() == DType::b8);
  // gradients come back in each input's own dtype
  Tensor a = ones({2}).requires_grad_();
  Tensor b = ones({2}, DType::f64).requires_grad_();
  sum(a * b).backward();
  CHECK(a.grad().dtype() == DType::f32);
  CHECK(b.grad().dtype() == DType::f64);
}

TEST_CASE("elementwise errors name the op and the fix") {
  CHECK_THROWS_WITH_SUBSTR(add(ones({2, 3}), ones({4})), "add: shapes [2, 3] and [4] do not broadcast");
  CHECK_THROWS_WITH_SUBSTR(mul(ones({3}), Tensor()), "mul: an operand is undefined");
  CHECK_THROWS_WITH_SUBSTR(where(ones({2}), ones({2}), ones({2})), "the condition must be bool");
  CHECK_THROWS_WITH_SUBSTR(masked_fill(ones({2}), ones({2}), 0), "must be a bool tensor");
  CHECK_THROWS_WITH_SUBSTR(masked_fill(ones({2}), gt(ones({3, 2}), 0.0), 0), "must broadcast to the input's shape");
  CHECK_THROWS_WITH_SUBSTR(clamp(ones({2}), 1, 0), "min (1) is greater than max (0)");
  CHECK_THROWS_WITH_SUBSTR(softplus(ones({2}), 0.0), "beta must be non-zero");
  CHECK_THROWS_WITH_SUBSTR(exp(gt(ones({2}), 0.0)), "not defined for bool");
  Tensor b = gt(ones({2}), 0.0);
  CHECK_THROWS_WITH_SUBSTR(sub(b, b), "not defined for bool");
  Tensor p = ones({2}).requires_grad_();
  CHECK_THROWS_WITH_SUBSTR(p.fill_(0), "in-place change of a tensor that requires grad");
  {
    NoGradGuard ng;
    p.fill_(3);  // allowed without grad mode (optimiser updates)
  }
  CHECK(p.to_vector<float>()[0] == 3.0f);
}

TEST_CASE("the f32 fast exp and erf behind GELU are accurate") {
  double worst_exp = 0, worst_erf = 0;
  for (int i = -80000; i <= 80000; ++i) {
    float x = static_cast<float>(i) * 1e-3f;
    double e = std::exp(static_cast<double>(x));
    if (x >= -87.0f) worst_exp = std::max(worst_exp, std::fabs(cpu::fast_expf(x) - e) / e);
    if (std::fabs(x) < 6.0f)
      worst_erf = std::max(worst_erf, std::fabs(cpu::fast_erff(x) - std::erf(static_cast<double>(x))));
  }
  CHECK(worst_exp < 4e-7);   // about 3 f32 ulp
  CHECK(worst_erf < 5e-7);   // the fit's 3.5e-7 (scripts/fit_erf.py) plus f32 rounding
  CHECK(cpu::fast_erff(0.0f) == 0.0f);
  CHECK(cpu::fast_erff(-10.0f) == -cpu::fast_erff(10.0f));  // odd, clamped beyond 3.92
  CHECK(std::isnan(cpu::fast_erff(NAN)));
  CHECK(cpu::fast_expf(-200.0f) == 0.0f);
  CHECK(cpu::fast_expf(-INFINITY) == 0.0f);
  CHECK(std::isfinite(cpu::fast_expf(200.0f)));
}

// ---- tensor/elementwise_formulas.h: the formulas both devices compile -------------------------------

TEST_CASE("the shared unary formulas: every op dispatches, and each derivative is its value's slope") {
  // every UnaryOp code reaches its own constant (one kernel per op on either device)
  for (int code = 0; code <= static_cast<int>(UnaryOp::affine); ++code) {
    const UnaryOp op = static_cast<UnaryOp>(code);
    UnaryOp seen = UnaryOp::neg;
    with_unary_op(op, [&](auto c) { seen = decltype(c)::value; });
    CHECK(seen == op);
  }
  CHECK_THROWS_WITH_SUBSTR(with_unary_op(static_cast<UnaryOp>(200), [](auto) {}), "unknown op code 200");

  // f'(x) against the central difference of f, in f64 through CpuMath, at points away from kinks
  // (the CUDA kernels evaluate the same expressions with DeviceMath)
  const UnaryParams none{}, leaky{0.1, 0}, softplus{2.0, 20.0}, clamp{-0.5, 0.75}, cube{3.0, 0}, affine{-1.5, 2};
  struct Case {
    UnaryOp op;
    UnaryParams p;
  };
  const Case cases[] = {{UnaryOp::neg, none},        {UnaryOp::abs, none},      {UnaryOp::square, none},
                        {UnaryOp::reciprocal, none}, {UnaryOp::exp, none},      {UnaryOp::log, none},
                        {UnaryOp::log1p, none},      {UnaryOp::sqrt, none},     {UnaryOp::rsqrt, none},
                        {UnaryOp::sin, none},        {UnaryOp::cos, none},      {UnaryOp::tanh, none},
                        {UnaryOp::sigmoid, none},    {UnaryOp::relu, none},     {UnaryOp::gelu, none},
                        {UnaryOp::gelu_tanh, none},  {UnaryOp::quick_gelu, none}, {UnaryOp::silu, none},
                        {UnaryOp::erf, none},        {UnaryOp::leaky_relu, leaky}, {UnaryOp::softplus, softplus},
                        {UnaryOp::clamp, clamp},     {UnaryOp::pow_scalar, cube}, {UnaryOp::affine, affine}};
  for (const Case& c : cases) {
    with_unary_op(c.op, [&](auto op_const) {
      constexpr UnaryOp Op = decltype(op_const)::value;
      for (double x : {-1.3, -0.2, 0.35, 0.9, 2.1}) {
        if ((Op == UnaryOp::log || Op == UnaryOp::sqrt || Op == UnaryOp::rsqrt) && x <= 0) continue;
        if (Op == UnaryOp::log1p && x <= -1) continue;
        CAPTURE(static_cast<int>(Op));
        CAPTURE(x);
        const double h = 1e-6, y = unary_value<Op, cpu::CpuMath>(x, c.p);
        const double slope =
            (unary_value<Op, cpu::CpuMath>(x + h, c.p) - unary_value<Op, cpu::CpuMath>(x - h, c.p)) / (2 * h);
        CHECK(unary_derivative<Op, cpu::CpuMath>(x, y, c.p) == doctest::Approx(slope).epsilon(1e-6));
      }
    });
  }
  // ops without a gradient say 0
  CHECK(unary_derivative<UnaryOp::floor, cpu::CpuMath>(1.5, 1.0, none) == 0.0);
  CHECK(unary_derivative<UnaryOp::sign, cpu::CpuMath>(-2.0, -1.0, none) == 0.0);
}

TEST_CASE("the shared unary formulas: f32 GELU takes the policy's fast erf, integers their own table") {
  const UnaryParams none{};
  // gelu's erf is CpuMath::gelu_erf (the f32 polynomial), not the library erf
  const float x = 0.8f;
  CHECK(unary_value<UnaryOp::gelu, cpu::CpuMath>(x, none) == 0.5f * x * (1.0f + cpu::fast_erff(x * 0.70710678f)));
  CHECK(unary_value<UnaryOp::erf, cpu::CpuMath>(x, none) == std::erf(x));
  CHECK(unary_value<UnaryOp::round, cpu::CpuMath>(2.5, none) == 2.0);  // half to even
  CHECK(std::isnan(unary_value<UnaryOp::clamp, cpu::CpuMath>(NAN, UnaryParams{0, 1})));

  CHECK(unary_defined_for_integers(UnaryOp::abs));
  CHECK(unary_defined_for_integers(UnaryOp::clamp));
  CHECK_FALSE(unary_defined_for_integers(UnaryOp::exp));
  CHECK(unary_int_value<cpu::CpuMath>(UnaryOp::abs, int32_t(-7), none) == 7);
  CHECK(unary_int_value<cpu::CpuMath>(UnaryOp::sign, int64_t(-7), none) == -1);
  CHECK(unary_int_value<cpu::CpuMath>(UnaryOp::abs, uint8_t(200), none) == 200);  // unsigned: never below zero
  // clamp bounds are rounded inwards: [-2.5, 3.5] on integers is [-2, 3]
  CHECK(unary_int_value<cpu::CpuMath>(UnaryOp::clamp, int32_t(-9), UnaryParams{-2.5, 3.5}) == -2);
  CHECK(unary_int_value<cpu::CpuMath>(UnaryOp::clamp, int32_t(9), UnaryParams{-2.5, 3.5}) == 3);
  CHECK(unary_int_value<cpu::CpuMath>(UnaryOp::floor, int32_t(9), none) == 9);
  // the CPU kernel refuses the others before its loop (as the CUDA one does)
  Tensor xi = from_vector(std::vector<double>{1, 2}, {2}).to(DType::i32), yi = empty({2}, DType::i32);
  CHECK_THROWS_WITH_SUBSTR(backend(Device::cpu()).unary(UnaryOp::exp, xi, yi, none),
                           "unary op is not defined for integer tensors");
}

TEST_CASE("the shared binary formulas: result types, NaN rules and integer powers") {
  static_assert(std::is_same_v<BinaryResult<BinaryOp::lt, float>, bool>);
  static_assert(std::is_same_v<BinaryResult<BinaryOp::add, int32_t>, int32_t>);
  static_assert(binary_undefined_for<BinaryOp::sub, bool> && !binary_undefined_for<BinaryOp::add, bool>);
  CHECK(std::isnan(binary_value<BinaryOp::maximum, cpu::CpuMath>(NAN, 1.0f)));
  CHECK(std::isnan(binary_value<BinaryOp::minimum, cpu::CpuMath>(NAN, 1.0f)));
  CHECK(binary_value<BinaryOp::maximum, cpu::CpuMath>(-1.0, 2.0) == 2.0);
  CHECK(binary_value<BinaryOp::pow, cpu::CpuMath>(int32_t(3), int32_t(3)) == 27);
  CHECK(binary_value<BinaryOp::pow, cpu::CpuMath>(int64_t(2), int64_t(40)) == (int64_t(1) << 40));
  CHECK(binary_value<BinaryOp::pow, cpu::CpuMath>(int32_t(2), int32_t(-1)) == 0);  // 0.5 truncates
  CHECK(binary_value<BinaryOp::logical_and, cpu::CpuMath>(2, 0) == false);
  CHECK(binary_value<BinaryOp::logical_or, cpu::CpuMath>(2, 0) == true);
  BinaryOp seen = BinaryOp::add;
  with_binary_op(BinaryOp::ge, [&](auto c) { seen = decltype(c)::value; });
  CHECK(seen == BinaryOp::ge);
  CHECK_THROWS_WITH_SUBSTR(with_binary_op(static_cast<BinaryOp>(99), [](auto) {}), "unknown op code 99");
}
