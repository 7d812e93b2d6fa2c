// Normalisation layers as ops: layer_norm (fused kernel forward and backward), batch_norm and
// group_norm (composed from mean/mul/... and layer_norm, so their gradients follow from the
// composition), and dropout (a Philox mask from a Generator, scaled by 1/(1-p)).
// Leaves out: instance norm (group_norm with groups = C), cumulative-average batch-norm momentum.
#include "autograd/op_util.h"

namespace iris {

namespace {

// Checks an optional per-feature parameter (weight, bias, running stat) against the expected shape.
void check_param(const char* op, const char* what, const Tensor& p, const Shape& expected, const Tensor& x,
                 bool same_dtype) {
  if (!p.defined()) return;
  IRIS_CHECK(p.shape() == expected, op, ": ", what, " has shape ", shape_str(p.shape()), " but the input ",
             shape_str(x.shape()), " needs ", shape_str(expected));
  IRIS_CHECK(p.device() == x.device(), op, ": ", what, " is on ", p.device().str(), " but the input is on ",
             x.device().str(), "; move it with .to(device)");
  if (same_dtype)
    IRIS_CHECK(p.dtype() == x.dtype(), op, ": ", what, " is ", dtype_name(p.dtype()), " but the input is ",
               dtype_name(x.dtype()), "; convert one with .to(dtype)");
  else
    detail::check_floating(op, p);
}

void check_eps(const char* op, double eps) {
  IRIS_CHECK(eps >= 0 && std::isfinite(eps), op, ": eps must be finite and >= 0, got ", eps);
}

// [1, C, 1, ...] for an input of rank ndim: per-channel values broadcast over N and space.
Shape channel_shape(int64_t C, int ndim) {
  Shape s(ndim, 1);
  s[1] = C;
  return s;
}

// y * weight + bias with per-channel [C] parameters (either may be undefined).
Tensor channel_affine(Tensor y, const Tensor& weight, const Tensor& bias, int64_t C, int ndim) {
  Shape cs = channel_shape(C, ndim);
  if (weight.defined()) y = mul(y, weight.reshape(cs));
  if (bias.defined()) y = add(y, bias.reshape(cs));
  return y;
}

}  // namespace

// ---- layer_norm ---------------------------------------------------------------------------

Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias,
                  double eps) {
  const char* op = "layer_norm";
  IRIS_CHECK(x.defined(), op, ": the input is undefined");
  detail::check_floating(op, x);
  int k = normalized_shape.size();
  IRIS_CHECK(k >= 1, op, ": normalized_shape must have at least one dim (the trailing dims to normalise), got []");
  bool trailing = x.dim() >= k;
  for (int i = 0; i < k && trailing; ++i) trailing = x.shape()[x.dim() - k + i] == normalized_shape[i];
  IRIS_CHECK(trailing, op, ": normalized_shape ", shape_str(normalized_shape),
             " must equal the trailing dims of the input ", shape_str(x.shape()));
  check_param(op, "weight", weight, normalized_shape, x, true);
  check_param(op, "bias", bias, normalized_shape, x, true);
  check_eps(op, eps);

  // x as rows: [R, D] with D = numel(normalized_shape).
  int64_t D = numel_of(normalized_shape);
  int64_t R = 1;
  for (int i = 0; i < x.dim() - k; ++i) R *= x.shape()[i];
  Tensor xc = detail::contiguous_nograd(x.detach());
  Tensor x2 = make_view(xc, {R, D}, {D, 1}, xc.offset());
  auto as_row = [D](const Tensor& p) {
    if (!p.defined()) return Tensor();
    Tensor c = detail::contiguous_nograd(p.detach());
    return make_view(c, {D}, {1}, c.offset());
  };
  Tensor w = as_row(weight), b = as_row(bias);
  Tensor y = empty(x.shape(), {x.dtype(), x.device()});
  Tensor mean = empty({R}, {x.dtype(), x.device()}), rstd = empty({R}, {x.dtype(), x.device()});
  backend(x.device()).layer_norm(x2, w, b, eps, make_view(y, {R, D}, {D, 1}, 0), mean, rstd);

  bool want_x = x.requires_grad(), want_w = weight.requires_grad(), want_b = bias.requires_grad();
  return record("LayerNormBackward", y, {x, weight, bias},
                [x2, w, mean, rstd, want_x, want_w, want_b, xs = x.shape(), ps = normalized_shape](const Tensor& g) {
                  Tensor gc = detail::contiguous_nograd(detail::cast(g, x2.dtype()));
                  Tensor g2 = make_view(gc, x2.shape(), x2.strides(), gc.offset());
                  Tensor gx = want_x ? empty(xs, {x2.dtype(), x2.device()}) : Tensor();
                  Tensor gw = want_w ? empty(ps, {x2.dtype(), x2.device()}) : Tensor();
                  Tensor gb = want_b ? empty(ps, {x2.dtype(), x2.device()}) : Tensor();
                  // Fresh contiguous gradients seen as [R, D] and [D].
                  auto flat = [](const Tensor& t, const Shape& s) {
                    return t.defined() ? make_view(t, s, contiguous_strides(s), 0) : Tensor();
                  };
                  int64_t D = x2.shape()[1];
                  backend(x2.device())
                      .layer_norm_backward(g2, x2, w, mean, rstd, flat(gx, x2.shape()), flat(gw, {D}), flat(gb, {D}));
                  return std::vector<Tensor>{gx, gw, gb};
                });
}

// ---- batch_norm ---------------------------------------------------------------------------

Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum, double eps) {
  const char* op = "batch_norm";
  IRIS_CHECK(x.defined(), op, ": the input is undefined");
  detail::check_floating(op, x);
  IRIS_CHECK(x.dim() >= 2, op, ": the input must be [N, C, ...] with at least 2 dims, got ", shape_str(x.shape()));
  const int64_t C = x.shape()[1];
  const int nd = x.dim();
  IRIS_CHECK(running_mean.defined() == running_var.defined(), op,
             ": give both running_mean and running_var, or neither");
  check_param(op, "running_mean", running_mean, {C}, x, false);
  check_param(op, "running_var", running_var, {C}, x, false);
  check_param(op, "weight", weight, {C}, x, true);
  check_param(op, "bias", bias, {C}, x, true);
  check_eps(op, eps);
  Shape cs = channel_shape(C, nd);

  if (!training) {
    IRIS_CHECK(running_mean.defined(), op, ": evaluation mode (training = false) needs running_mean and running_var");
    // [1, C, 1, ...] statistics, constants for autograd.
    Tensor rm = detail::cast(running_mean.detach(), x.dtype()).reshape(cs);
    Tensor rv = detail::cast(running_var.detach(), x.dtype()).reshape(cs);
    Tensor scale = rsqrt(add(rv, eps));
    if (weight.defined()) scale = mul(scale, weight.reshape(cs));
    Tensor y = mul(sub(x, rm), scale);
    return bias.defined() ? add(y, bias.reshape(cs)) : y;
  }

  IRIS_CHECK(std::isfinite(momentum), op, ": momentum must be finite, got ", momentum);
  std::vector<int64_t> dims{0};
  for (int i = 2; i < nd; ++i) dims.push_back(i);
  const int64_t per_channel = C == 0 ? 0 : x.numel() / C;
  IRIS_CHECK(per_channel > 1, op, ": training needs more than 1 value per channel, got input ", shape_str(x.shape()),
             "; use a larger batch or evaluation mode");

  Tensor m = mean(x, dims, true);  // [1, C, 1, ...]
  Tensor centered = sub(x, m);
  Tensor biased_var = mean(mul(centered, centered), dims, true);
  Tensor scale = rsqrt(add(biased_var, eps));
  if (weight.defined()) scale = mul(scale, weight.reshape(cs));
  Tensor y = mul(centered, scale);
  if (bias.defined()) y = add(y, bias.reshape(cs));

  if (running_mean.defined()) {
    // running <- (1 - momentum) running + momentum * batch statistic (unbiased variance), no graph.
    NoGradGuard no_grad;
    double unbias = static_cast<double>(per_channel) / static_cast<double>(per_channel - 1);
    Tensor bm = detail::cast(m.detach().reshape({C}), running_mean.dtype());
    Tensor bv = detail::cast(mul(biased_var.detach(), unbias).reshape({C}), running_var.dtype());
    Tensor rm = running_mean, rv = running_var;  // handles to the same storage, written in place
    rm.copy_(add(mul(running_mean.detach(), 1.0 - momentum), mul(bm, momentum)));
    rv.copy_(add(mul(running_var.detach(), 1.0 - momentum), mul(bv, momentum)));
  }
  return y;
}

// ---- group_norm ---------------------------------------------------------------------------

Tensor group_norm(const Tensor& x, int64_t groups, const Tensor& weight, const Tensor& bias, double eps) {
  const char* op = "group_norm";
  IRIS_CHECK(x.defined(), op, ": the input is undefined");
  detail::check_floating(op, x);
  IRIS_CHECK(x.dim() >= 2, op, ": the input must be [N, C, ...] with at least 2 dims, got ", shape_str(x.shape()));
  const int64_t N = x.shape()[0], C = x.shape()[1];
  IRIS_CHECK(groups > 0 && C % groups == 0, op, ": groups (", groups, ") must be positive and divide the ", C,
             " channels of the input ", shape_str(x.shape()));
  check_param(op, "weight", weight, {C}, x, true);
  check_param(op, "bias", bias, {C}, x, true);
  check_eps(op, eps);
  // Each group of C/groups channels and all spatial positions is one layer-norm row: [N, G, Cg*space].
  int64_t group_size = C / groups;
  for (int i = 2; i < x.dim(); ++i) group_size *= x.shape()[i];
  Tensor rows = x.reshape({N, groups, group_size});
  Tensor y = layer_norm(rows, {group_size}, Tensor(), Tensor(), eps).reshape(x.shape());
  return channel_affine(y, weight, bias, C, x.dim());
}

// ---- dropout ------------------------------------------------------------------------------

Tensor dropout(const Tensor& x, double p, bool training, Generator* gen) {
  const char* op = "dropout";
  IRIS_CHECK(x.defined(), op, ": the input is undefined");
  IRIS_CHECK(p >= 0.0 && p <= 1.0, op, ": p must be in [0, 1], got ", p);
  detail::check_floating(op, x);
  if (!training || p == 0.0) return x;
  if (p == 1.0) {  // everything dropped: zeros, and a zero gradient
    Tensor out = zeros(x.shape(), {x.dtype(), x.device()});
    return record("DropoutBackward", out, {x}, [](const Tensor& g) { return std::vector<Tensor>{zeros_like(g)}; });
  }
  // keep where u >= p for u ~ U[0, 1) drawn from the generator (Philox), so P(keep) = 1 - p.
  Tensor u = rand(x.shape(), {x.dtype(), x.device()}, gen);
  Tensor mask = where(ge(u, p), detail::scalar_like(u, 1.0 / (1.0 - p)), detail::scalar_like(u, 0.0));
  Tensor out;
  {
    NoGradGuard no_grad;
    out = mul(x.detach(), mask);
  }
  return record("DropoutBackward", out, {x}, [mask](const Tensor& g) { return std::vector<Tensor>{mul(g, mask)}; });
}

}  // namespace iris
