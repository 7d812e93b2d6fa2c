// Reductions: sum, mean, var/std, amax/amin, max/min with indices, argmax/argmin, logsumexp,
// norm, any/all. sum and amax/amin run one kernel and have their own backward; the others are
// written with those, so their gradients come from the composition.
#include "autograd/op_util.h"

namespace iris {

using detail::dims_mask;
using detail::reduced_shape;

namespace {

// Runs the reduce kernel; the result has the keepdim shape unless !keepdim.
Tensor reduce_kernel(ReduceOp op, const Tensor& x, uint32_t mask, bool keepdim, DType out_dtype) {
  Tensor out = empty(reduced_shape(x.shape(), mask, true), {out_dtype, x.device()});
  backend(x.device()).reduce(op, x.detach(), mask, out);
  if (keepdim) return out;
  Shape s = reduced_shape(x.shape(), mask, false);
  return make_view(out, s, contiguous_strides(s), 0);
}

// Gradient of a reduction: g (reduced shape) broadcast back to the input's shape.
Tensor expand_back(const Tensor& g, const Shape& in, uint32_t mask) {
  return g.reshape(reduced_shape(in, mask, true)).expand(in);
}

int64_t reduced_count(const Shape& s, uint32_t mask) {
  int64_t n = 1;
  for (int i = 0; i < s.size(); ++i)
    if (mask & (1u << i)) n *= s[i];
  return n;
}

void check_nonempty(const Tensor& x, uint32_t mask, const char* op) {
  IRIS_CHECK(reduced_count(x.shape(), mask) > 0 || x.dim() == 0, op, ": cannot reduce over an empty dim (shape ",
             shape_str(x.shape()), ")");
}

Tensor extreme_values(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim, bool is_max) {
  const char* name = is_max ? "amax" : "amin";
  IRIS_CHECK(x.defined(), name, ": the input is undefined");
  uint32_t mask = dims_mask(dims, x.dim(), name);
  check_nonempty(x, mask, name);
  Tensor out = reduce_kernel(is_max ? ReduceOp::max : ReduceOp::min, x, mask, keepdim, x.dtype());
  if (!is_floating(x.dtype())) return out;
  return record(is_max ? "AmaxBackward" : "AminBackward", out, {x},
                [xd = x.detach(), od = out.detach(), mask](const Tensor& g) {
                  // Ties share the gradient equally.
                  Tensor hit = eq(xd, od.reshape(reduced_shape(xd.shape(), mask, true))).to(g.dtype());
                  std::vector<int64_t> ds;
                  for (int i = 0; i < xd.dim(); ++i)
                    if (mask & (1u << i)) ds.push_back(i);
                  Tensor n = sum(hit, ds, true);
                  return std::vector<Tensor>{div(mul(expand_back(g, xd.shape(), mask), hit), n)};
                });
}

ValuesIndices extreme_with_index(const Tensor& x, int64_t dim, bool keepdim, bool is_max) {
  const char* name = is_max ? "max" : "min";
  IRIS_CHECK(x.defined(), name, ": the input is undefined");
  int d = normalize_dim(dim, x.dim(), name);
  uint32_t mask = x.dim() == 0 ? 0u : 1u << d;
  check_nonempty(x, mask, name);
  Tensor idx = reduce_kernel(is_max ? ReduceOp::argmax : ReduceOp::argmin, x, mask, keepdim, DType::i64);
  Tensor vals = reduce_kernel(is_max ? ReduceOp::max : ReduceOp::min, x, mask, keepdim, x.dtype());
  if (is_floating(x.dtype())) {
    vals = record(is_max ? "MaxBackward" : "MinBackward", vals, {x},
                  [in = x.shape(), id = idx.detach(), d, mask, dt = x.dtype()](const Tensor& g) {
                    if (in.size() == 0) return std::vector<Tensor>{g.reshape(in)};
                    // One-hot of the winning index along d, times the broadcast gradient.
                    Shape pos(in.size(), 1);
                    pos[d] = in[d];
                    Tensor positions = arange(0, static_cast<double>(in[d]), 1, {DType::i64, g.device()}).reshape(pos);
                    Tensor hit = eq(positions, id.reshape(reduced_shape(in, mask, true)));
                    Tensor zero = detail::scalar_like(g, 0.0);
                    return std::vector<Tensor>{where(hit, expand_back(g, in, mask), zero)};
                  });
  }
  return {vals, idx};
}

}  // namespace

Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  IRIS_CHECK(x.defined(), "sum: the input is undefined");
  uint32_t mask = dims_mask(dims, x.dim(), "sum");
  Tensor xs = is_floating(x.dtype()) ? x : detail::cast(x.detach(), DType::i64);
  Tensor out = reduce_kernel(ReduceOp::sum, xs, mask, keepdim, xs.dtype());
  return record("SumBackward", out, {x}, [in = x.shape(), mask](const Tensor& g) {
    return std::vector<Tensor>{expand_back(g, in, mask)};
  });
}

Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  IRIS_CHECK(x.defined(), "mean: the input is undefined");
  detail::check_floating("mean", x);
  uint32_t mask = dims_mask(dims, x.dim(), "mean");
  int64_t n = reduced_count(x.shape(), mask);
  IRIS_CHECK(n > 0 || x.dim() == 0, "mean: cannot average over an empty dim (shape ", shape_str(x.shape()), ")");
  return div(sum(x, dims, keepdim), static_cast<double>(x.dim() == 0 ? 1 : n));
}

Tensor var(const Tensor& x, const std::vector<int64_t>& dims, bool unbiased, bool keepdim) {
  IRIS_CHECK(x.defined(), "var: the input is undefined");
  detail::check_floating("var", x);
  uint32_t mask = dims_mask(dims, x.dim(), "var");
  int64_t n = x.dim() == 0 ? 1 : reduced_count(x.shape(), mask);
  int64_t denom = n - (unbiased ? 1 : 0);
  IRIS_CHECK(denom > 0, "var: needs more than ", unbiased ? 1 : 0, " element(s) per reduction, got ", n,
             unbiased ? " (pass unbiased=false for one element)" : "");
  Tensor centered = sub(x, mean(x, dims, true));
  return div(sum(mul(centered, centered), dims, keepdim), static_cast<double>(denom));
}

Tensor stddev(const Tensor& x, const std::vector<int64_t>& dims, bool unbiased, bool keepdim) {
  return sqrt(var(x, dims, unbiased, keepdim));
}

Tensor amax(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  return extreme_values(x, dims, keepdim, true);
}
Tensor amin(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  return extreme_values(x, dims, keepdim, false);
}
Tensor max(const Tensor& x) { return amax(x); }
Tensor min(const Tensor& x) { return amin(x); }
ValuesIndices max(const Tensor& x, int64_t dim, bool keepdim) { return extreme_with_index(x, dim, keepdim, true); }
ValuesIndices min(const Tensor& x, int64_t dim, bool keepdim) { return extreme_with_index(x, dim, keepdim, false); }

Tensor argmax(const Tensor& x, int64_t dim, bool keepdim) { return max(x.detach(), dim, keepdim).indices; }
Tensor argmin(const Tensor& x, int64_t dim, bool keepdim) { return min(x.detach(), dim, keepdim).indices; }
Tensor argmax(const Tensor& x) { return argmax(x.detach().reshape({-1}), 0); }

Tensor logsumexp(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  IRIS_CHECK(x.defined(), "logsumexp: the input is undefined");
  detail::check_floating("logsumexp", x);
  // Shift by the (constant) max for stability; an infinite max is replaced by 0.
  Tensor m = amax(x.detach(), dims, true);
  m = where(logical_not(eq(abs(m), INFINITY)), m, detail::scalar_like(m, 0.0));
  Tensor out = add(log(sum(exp(sub(x, m)), dims, true)), m);
  if (keepdim) return out;
  uint32_t mask = dims_mask(dims, x.dim(), "logsumexp");
  return out.reshape(reduced_shape(x.shape(), mask, false));
}

Tensor norm(const Tensor& x, double p, const std::vector<int64_t>& dims, bool keepdim) {
  IRIS_CHECK(x.defined(), "norm: the input is undefined");
  detail::check_floating("norm", x);
  IRIS_CHECK(p > 0, "norm: p must be positive, got ", p);
  if (std::isinf(p)) return amax(abs(x), dims, keepdim);
  if (p == 1.0) return sum(abs(x), dims, keepdim);
  if (p == 2.0) {
    uint32_t mask = dims_mask(dims, x.dim(), "norm");
    Tensor out;
    {
      NoGradGuard ng;
      out = sqrt(sum(mul(x, x), dims, keepdim));
    }
    // d||x||/dx = x / ||x||, taken as 0 where the norm is 0 (as PyTorch).
    return record("NormBackward", out, {x}, [xd = x.detach(), od = out.detach(), mask](const Tensor& g) {
      Tensor n = od.reshape(reduced_shape(xd.shape(), mask, true));
      Tensor safe = where(eq(n, 0.0), detail::scalar_like(n, 1.0), n);
      Tensor scale = div(expand_back(g, xd.shape(), mask), safe);
      return std::vector<Tensor>{where(eq(n, 0.0), detail::scalar_like(g, 0.0), mul(xd, scale))};
    });
  }
  return pow(sum(pow(abs(x), p), dims, keepdim), 1.0 / p);
}

Tensor any(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  IRIS_CHECK(x.defined(), "any: the input is undefined");
  return reduce_kernel(ReduceOp::any, x, dims_mask(dims, x.dim(), "any"), keepdim, DType::b8);
}
Tensor all(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  IRIS_CHECK(x.defined(), "all: the input is undefined");
  return reduce_kernel(ReduceOp::all, x, dims_mask(dims, x.dim(), "all"), keepdim, DType::b8);
}

}  // namespace iris
