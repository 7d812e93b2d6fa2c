// Elementwise ops with broadcasting: arithmetic, activations, comparisons, where/masked_fill/clamp.
// Each op: promote dtypes, broadcast, run one kernel; then record a node whose backward computes
// the input gradients (summed back over broadcast dims by sum_to). Backward closures capture only
// the tensors they need, and never the op's own output (that would be a reference cycle): they
// capture a detached alias of it instead.
#include "autograd/op_util.h"

namespace iris {

using detail::broadcast_to;
using detail::cast;

// ---- binary -----------------------------------------------------------------------------

namespace {

const char* binary_name(BinaryOp op) {
  switch (op) {
    case BinaryOp::add: return "add";
    case BinaryOp::sub: return "sub";
    case BinaryOp::mul: return "mul";
    case BinaryOp::div: return "div";
    case BinaryOp::pow: return "pow";
    case BinaryOp::maximum: return "maximum";
    case BinaryOp::minimum: return "minimum";
    case BinaryOp::eq: return "eq";
    case BinaryOp::ne: return "ne";
    case BinaryOp::lt: return "lt";
    case BinaryOp::le: return "le";
    case BinaryOp::gt: return "gt";
    case BinaryOp::ge: return "ge";
    case BinaryOp::logical_and: return "logical_and";
    case BinaryOp::logical_or: return "logical_or";
  }
  return "binary";
}

// Forward only: promote, broadcast, run the kernel. Never records a node.
Tensor binary_kernel(BinaryOp op, const Tensor& a, const Tensor& b) {
  const char* name = binary_name(op);
  IRIS_CHECK(a.defined() && b.defined(), name, ": an operand is undefined");
  detail::check_same_device(name, {&a, &b});
  DType dt = detail::result_dtype(a, b);
  if (op == BinaryOp::logical_and || op == BinaryOp::logical_or) dt = DType::b8;
  if (op == BinaryOp::div && !is_floating(dt)) dt = DType::f32;  // true division, as PyTorch
  Shape s = broadcast_shapes(a.shape(), b.shape(), name);
  Tensor out = empty(s, {is_predicate(op) ? DType::b8 : dt, a.device()});
  Tensor ac = broadcast_to(cast(a.detach(), dt), s), bc = broadcast_to(cast(b.detach(), dt), s);
  backend(a.device()).binary(op, ac, bc, out);
  return out;
}

}  // namespace

Tensor sum_to(const Tensor& grad, const Shape& shape) {
  if (grad.shape() == shape) return grad;
  int lead = grad.dim() - shape.size();
  IRIS_ASSERT(lead >= 0);
  std::vector<int64_t> dims;
  for (int i = 0; i < grad.dim(); ++i)
    if (i < lead || (shape[i - lead] == 1 && grad.shape()[i] != 1)) dims.push_back(i);
  Tensor s = dims.empty() ? grad : sum(grad, dims, true);
  return s.reshape(shape);
}

Tensor add(const Tensor& a, const Tensor& b) {
  Tensor out = binary_kernel(BinaryOp::add, a, b);
  return record("AddBackward", out, {a, b}, [sa = a.shape(), sb = b.shape()](const Tensor& g) {
    return std::vector<Tensor>{sum_to(g, sa), sum_to(g, sb)};
  });
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor out = binary_kernel(BinaryOp::sub, a, b);
  return record("SubBackward", out, {a, b}, [sa = a.shape(), sb = b.shape()](const Tensor& g) {
    return std::vector<Tensor>{sum_to(g, sa), sum_to(neg(g), sb)};
  });
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = binary_kernel(BinaryOp::mul, a, b);
  // d(ab)/da = b and d(ab)/db = a: keep each operand only when the other side needs it.
  return record("MulBackward", out, {a, b},
                [sa = a.shape(), sb = b.shape(), ad = b.requires_grad() ? a.detach() : Tensor(),
                 bd = a.requires_grad() ? b.detach() : Tensor()](const Tensor& g) {
                  return std::vector<Tensor>{bd.defined() ? sum_to(mul(g, bd), sa) : Tensor(),
                                             ad.defined() ? sum_to(mul(g, ad), sb) : Tensor()};
                });
}

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor out = binary_kernel(BinaryOp::div, a, b);
  bool gb = b.requires_grad();
  return record("DivBackward", out, {a, b},
                [sa = a.shape(), bd = b.detach(), ad = gb ? a.detach() : Tensor()](const Tensor& g) {
                  Tensor ga = sum_to(div(g, bd), sa);
                  Tensor gb2 = ad.defined() ? sum_to(neg(div(mul(g, ad), mul(bd, bd))), bd.shape()) : Tensor();
                  return std::vector<Tensor>{ga, gb2};
                });
}

Tensor pow(const Tensor& a, const Tensor& b) {
  Tensor out = binary_kernel(BinaryOp::pow, a, b);
  bool gb = b.requires_grad();
  return record("PowBackward", out, {a, b},
                [ad = a.detach(), bd = b.detach(), od = gb ? out.detach() : Tensor()](const Tensor& g) {
                  // d/da a^b = b a^(b-1); d/db a^b = a^b log(a)
                  Tensor ga = sum_to(mul(g, mul(bd, pow(ad, sub(bd, 1.0)))), ad.shape());
                  Tensor gbv = od.defined() ? sum_to(mul(g, mul(od, log(ad))), bd.shape()) : Tensor();
                  return std::vector<Tensor>{ga, gbv};
                });
}

// maximum/minimum: the gradient goes to the winner; ties split it in half (as PyTorch).
static Tensor extremum(BinaryOp op, const Tensor& a, const Tensor& b) {
  Tensor out = binary_kernel(op, a, b);
  return record(op == BinaryOp::maximum ? "MaximumBackward" : "MinimumBackward", out, {a, b},
                [op, ad = a.detach(), bd = b.detach()](const Tensor& g) {
                  Tensor a_wins = op == BinaryOp::maximum ? gt(ad, bd) : lt(ad, bd);
                  Tensor share = add(cast(a_wins, g.dtype()), mul(cast(eq(ad, bd), g.dtype()), 0.5));
                  Tensor ga = mul(g, share);
                  Tensor gb = sub(g, ga);
                  return std::vector<Tensor>{sum_to(ga, ad.shape()), sum_to(gb, bd.shape())};
                });
}
Tensor maximum(const Tensor& a, const Tensor& b) { return extremum(BinaryOp::maximum, a, b); }
Tensor minimum(const Tensor& a, const Tensor& b) { return extremum(BinaryOp::minimum, a, b); }

Tensor add(const Tensor& a, double b) { return add(a, detail::scalar_like(a, b)); }
Tensor sub(const Tensor& a, double b) { return sub(a, detail::scalar_like(a, b)); }
Tensor mul(const Tensor& a, double b) { return mul(a, detail::scalar_like(a, b)); }
Tensor div(const Tensor& a, double b) { return div(a, detail::scalar_like(a, b)); }

Tensor eq(const Tensor& a, const Tensor& b) { return binary_kernel(BinaryOp::eq, a, b); }
Tensor ne(const Tensor& a, const Tensor& b) { return binary_kernel(BinaryOp::ne, a, b); }
Tensor lt(const Tensor& a, const Tensor& b) { return binary_kernel(BinaryOp::lt, a, b); }
Tensor le(const Tensor& a, const Tensor& b) { return binary_kernel(BinaryOp::le, a, b); }
Tensor gt(const Tensor& a, const Tensor& b) { return binary_kernel(BinaryOp::gt, a, b); }
Tensor ge(const Tensor& a, const Tensor& b) { return binary_kernel(BinaryOp::ge, a, b); }
Tensor eq(const Tensor& a, double b) { return eq(a, detail::scalar_like(a, b)); }
Tensor ne(const Tensor& a, double b) { return ne(a, detail::scalar_like(a, b)); }
Tensor lt(const Tensor& a, double b) { return lt(a, detail::scalar_like(a, b)); }
Tensor le(const Tensor& a, double b) { return le(a, detail::scalar_like(a, b)); }
Tensor gt(const Tensor& a, double b) { return gt(a, detail::scalar_like(a, b)); }
Tensor ge(const Tensor& a, double b) { return ge(a, detail::scalar_like(a, b)); }
Tensor logical_and(const Tensor& a, const Tensor& b) { return binary_kernel(BinaryOp::logical_and, a, b); }
Tensor logical_or(const Tensor& a, const Tensor& b) { return binary_kernel(BinaryOp::logical_or, a, b); }

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator+(const Tensor& a, double b) { return add(a, b); }
Tensor operator-(const Tensor& a, double b) { return sub(a, b); }
Tensor operator*(const Tensor& a, double b) { return mul(a, b); }
Tensor operator/(const Tensor& a, double b) { return div(a, b); }
Tensor operator+(double a, const Tensor& b) { return add(b, a); }
Tensor operator-(double a, const Tensor& b) { return sub(detail::scalar_like(b, a), b); }
Tensor operator*(double a, const Tensor& b) { return mul(b, a); }
Tensor operator/(double a, const Tensor& b) { return div(detail::scalar_like(b, a), b); }
Tensor operator-(const Tensor& x) { return neg(x); }

// ---- where, masked_fill -----------------------------------------------------------------

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  IRIS_CHECK(cond.defined() && a.defined() && b.defined(), "where: an operand is undefined");
  IRIS_CHECK(cond.dtype() == DType::b8, "where: the condition must be bool, got ", dtype_name(cond.dtype()),
             "; build it with a comparison such as gt(x, 0)");
  detail::check_same_device("where", {&cond, &a, &b});
  DType dt = detail::result_dtype(a, b);
  Shape s = broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  Tensor out = empty(s, {dt, a.device()});
  backend(a.device()).where(broadcast_to(cond, s), broadcast_to(cast(a.detach(), dt), s),
                            broadcast_to(cast(b.detach(), dt), s), out);
  return record("WhereBackward", out, {a, b}, [c = cond.detach(), sa = a.shape(), sb = b.shape()](const Tensor& g) {
    Tensor zero = detail::scalar_like(g, 0.0);
    return std::vector<Tensor>{sum_to(where(c, g, zero), sa), sum_to(where(c, zero, g), sb)};
  });
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
  IRIS_CHECK(mask.defined() && mask.dtype() == DType::b8, "masked_fill: the mask must be a bool tensor");
  Shape s = broadcast_shapes(x.shape(), mask.shape(), "masked_fill");
  IRIS_CHECK(s == x.shape(), "masked_fill: mask of shape ", shape_str(mask.shape()),
             " must broadcast to the input's shape ", shape_str(x.shape()));
  return where(mask, detail::scalar_like(x, value).to(x.dtype()), x);
}

// ---- unary ------------------------------------------------------------------------------

namespace {

struct UnaryInfo {
  const char* name;
  bool float_only;    // integer inputs are converted to f32 first
  bool grad;          // differentiable
  bool needs_input;   // backward reads x
  bool needs_output;  // backward reads y = f(x)
};

UnaryInfo unary_info(UnaryOp op) {
  switch (op) {
    case UnaryOp::neg: return {"neg", false, true, false, false};
    case UnaryOp::abs: return {"abs", false, true, true, false};
    case UnaryOp::sign: return {"sign", false, false, false, false};
    case UnaryOp::square: return {"square", false, true, true, false};
    case UnaryOp::reciprocal: return {"reciprocal", true, true, false, true};
    case UnaryOp::exp: return {"exp", true, true, false, true};
    case UnaryOp::log: return {"log", true, true, true, false};
    case UnaryOp::log1p: return {"log1p", true, true, true, false};
    case UnaryOp::sqrt: return {"sqrt", true, true, false, true};
    case UnaryOp::rsqrt: return {"rsqrt", true, true, true, true};
    case UnaryOp::sin: return {"sin", true, true, true, false};
    case UnaryOp::cos: return {"cos", true, true, true, false};
    case UnaryOp::tanh: return {"tanh", true, true, false, true};
    case UnaryOp::sigmoid: return {"sigmoid", true, true, false, true};
    case UnaryOp::relu: return {"relu", false, true, true, false};
    case UnaryOp::gelu: return {"gelu", true, true, true, false};
    case UnaryOp::gelu_tanh: return {"gelu", true, true, true, false};
    case UnaryOp::quick_gelu: return {"quick_gelu", true, true, true, false};
    case UnaryOp::silu: return {"silu", true, true, true, false};
    case UnaryOp::erf: return {"erf", true, true, true, false};
    case UnaryOp::floor: return {"floor", false, false, false, false};
    case UnaryOp::ceil: return {"ceil", false, false, false, false};
    case UnaryOp::round: return {"round", false, false, false, false};
    case UnaryOp::logical_not: return {"logical_not", false, false, false, false};
    case UnaryOp::leaky_relu: return {"leaky_relu", true, true, true, false};
    case UnaryOp::softplus: return {"softplus", true, true, true, false};
    case UnaryOp::clamp: return {"clamp", false, true, true, false};
    case UnaryOp::pow_scalar: return {"pow", true, true, true, false};
    case UnaryOp::affine: return {"affine", true, true, false, false};
  }
  return {"unary", true, false, false, false};
}

Tensor unary_op(UnaryOp op, const Tensor& x0, UnaryParams p = {}) {
  UnaryInfo info = unary_info(op);
  IRIS_CHECK(x0.defined(), info.name, ": the input is undefined");
  Tensor x = x0;
  if (op == UnaryOp::logical_not) {
    x = cast(x0.detach(), DType::b8);
  } else {
    IRIS_CHECK(x0.dtype() != DType::b8 || !info.float_only, info.name, ": not defined for bool tensors");
    if (info.float_only && !is_floating(x0.dtype())) x = cast(x0.detach(), DType::f32);
  }
  Tensor out = empty(x.shape(), {x.dtype(), x.device()});
  backend(x.device()).unary(op, x.detach(), out, p);
  if (!info.grad) return out;
  return record(info.name, out, {x0},
                [op, p, xd = info.needs_input ? x.detach() : Tensor(), yd = info.needs_output ? out.detach() : Tensor(),
                 shape = x.shape(), dt = x.dtype()](const Tensor& g) {
                  Tensor gx = empty(shape, {dt, g.device()});
                  backend(g.device()).unary_backward(op, xd, yd, g, gx, p);
                  return std::vector<Tensor>{gx};
                });
}

}  // namespace

Tensor neg(const Tensor& x) { return unary_op(UnaryOp::neg, x); }
Tensor abs(const Tensor& x) { return unary_op(UnaryOp::abs, x); }
Tensor square(const Tensor& x) { return unary_op(UnaryOp::square, x); }
Tensor reciprocal(const Tensor& x) { return unary_op(UnaryOp::reciprocal, x); }
Tensor exp(const Tensor& x) { return unary_op(UnaryOp::exp, x); }
Tensor log(const Tensor& x) { return unary_op(UnaryOp::log, x); }
Tensor log1p(const Tensor& x) { return unary_op(UnaryOp::log1p, x); }
Tensor sqrt(const Tensor& x) { return unary_op(UnaryOp::sqrt, x); }
Tensor rsqrt(const Tensor& x) { return unary_op(UnaryOp::rsqrt, x); }
Tensor sin(const Tensor& x) { return unary_op(UnaryOp::sin, x); }
Tensor cos(const Tensor& x) { return unary_op(UnaryOp::cos, x); }
Tensor tanh(const Tensor& x) { return unary_op(UnaryOp::tanh, x); }
Tensor sigmoid(const Tensor& x) { return unary_op(UnaryOp::sigmoid, x); }
Tensor relu(const Tensor& x) { return unary_op(UnaryOp::relu, x); }
Tensor leaky_relu(const Tensor& x, double negative_slope) {
  return unary_op(UnaryOp::leaky_relu, x, {negative_slope, 0});
}
Tensor gelu(const Tensor& x, GeluApprox approximate) {
  return unary_op(approximate == GeluApprox::tanh ? UnaryOp::gelu_tanh : UnaryOp::gelu, x);
}
Tensor quick_gelu(const Tensor& x) { return unary_op(UnaryOp::quick_gelu, x); }
Tensor silu(const Tensor& x) { return unary_op(UnaryOp::silu, x); }
Tensor softplus(const Tensor& x, double beta, double threshold) {
  IRIS_CHECK(beta != 0, "softplus: beta must be non-zero");
  return unary_op(UnaryOp::softplus, x, {beta, threshold});
}
Tensor erf(const Tensor& x) { return unary_op(UnaryOp::erf, x); }
Tensor sign(const Tensor& x) { return unary_op(UnaryOp::sign, x); }
Tensor floor(const Tensor& x) { return unary_op(UnaryOp::floor, x); }
Tensor ceil(const Tensor& x) { return unary_op(UnaryOp::ceil, x); }
Tensor round(const Tensor& x) { return unary_op(UnaryOp::round, x); }
Tensor logical_not(const Tensor& x) { return unary_op(UnaryOp::logical_not, x); }
Tensor pow(const Tensor& a, double exponent) { return unary_op(UnaryOp::pow_scalar, a, {exponent, 0}); }

Tensor clamp(const Tensor& x, double min, double max) {
  IRIS_CHECK(!(min > max), "clamp: min (", min, ") is greater than max (", max, ")");
  return unary_op(UnaryOp::clamp, x, {min, max});
}

}  // namespace iris
