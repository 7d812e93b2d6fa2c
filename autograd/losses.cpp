// Losses as differentiable ops: cross_entropy (class indices or soft targets, label smoothing,
// ignore_index, per-class weights), binary_cross_entropy_with_logits (its own stable backward),
// mse/l1/smooth_l1, kl_div, cosine_similarity and normalize. Reductions follow PyTorch exactly,
// including the weighted mean sum(w_i l_i) / sum(w_i) and NaN for a mean over nothing.
// Leaves out: gradients w.r.t. the per-class weight of cross_entropy (PyTorch has none either) and
// broadcasting between input and target (shapes must match; expand explicitly).
#include "autograd/op_util.h"

namespace iris {

namespace {

// none: the per-element loss; sum: its total; mean: total / count (NaN when there is nothing).
Tensor reduce_loss(const Tensor& per_element, Reduction reduction) {
  switch (reduction) {
    case Reduction::none: return per_element;
    case Reduction::sum: return sum(per_element);
    case Reduction::mean: return div(sum(per_element), static_cast<double>(per_element.numel()));
  }
  return per_element;
}

void check_pair(const char* op, const Tensor& input, const Tensor& target) {
  IRIS_CHECK(input.defined() && target.defined(), op, ": input or target is undefined");
  detail::check_floating(op, input);
  detail::check_floating(op, target);
  detail::check_same_device(op, {&input, &target});
  IRIS_CHECK(input.shape() == target.shape(), op, ": input ", shape_str(input.shape()), " and target ",
             shape_str(target.shape()), " must have the same shape (expand or reshape one explicitly)");
}

// [1, C, 1, ...]: a per-class vector broadcast against logits of rank ndim.
Shape class_shape(int64_t C, int ndim) {
  Shape s(ndim, 1);
  s[1] = C;
  return s;
}

}  // namespace

// ---- cross_entropy ------------------------------------------------------------------------

Tensor cross_entropy(const Tensor& logits_in, const Tensor& target_in, const CrossEntropyOptions& opts) {
  const char* op = "cross_entropy";
  IRIS_CHECK(logits_in.defined() && target_in.defined(), op, ": logits or target is undefined");
  detail::check_floating(op, logits_in);
  detail::check_same_device(op, {&logits_in, &target_in, &opts.weight});
  IRIS_CHECK(logits_in.dim() >= 1, op, ": logits must be [N, C] or [N, C, d1, ...] (or [C]), got a 0-d tensor");
  IRIS_CHECK(opts.label_smoothing >= 0.0 && opts.label_smoothing <= 1.0, op,
             ": label_smoothing must be in [0, 1], got ", opts.label_smoothing);
  const bool soft = is_floating(target_in.dtype());
  IRIS_CHECK(soft || target_in.dtype() == DType::i64 || target_in.dtype() == DType::i32, op,
             ": target must hold class indices (i64/i32) or probabilities (floating), got ",
             dtype_name(target_in.dtype()));

  // Unbatched logits [C] are a batch of one.
  const bool unbatched = logits_in.dim() == 1;
  Tensor logits = unbatched ? logits_in.unsqueeze(0) : logits_in;
  Tensor target = target_in;
  if (unbatched && (soft ? target.dim() == 1 : target.dim() == 0)) target = target.unsqueeze(0);
  const int nd = logits.dim();
  const int64_t C = logits.shape()[1];
  const double eps = opts.label_smoothing;
  Shape cs = class_shape(C, nd);

  Tensor w;  // [1, C, 1, ...] in the logits' dtype; a constant
  if (opts.weight.defined()) {
    IRIS_CHECK(opts.weight.dim() == 1 && opts.weight.shape()[0] == C, op, ": weight must be [C] = [", C,
               "] for logits ", shape_str(logits_in.shape()), ", got ", shape_str(opts.weight.shape()));
    detail::check_floating(op, opts.weight);
    w = detail::cast(opts.weight.detach(), logits.dtype()).reshape(cs);
  }
  Tensor logp = log_softmax(logits, 1);  // [N, C, d...]

  Tensor per;  // [N, d...]
  if (soft) {
    IRIS_CHECK(target.shape() == logits.shape(), op, ": soft (probability) targets must have the logits' shape ",
               shape_str(logits_in.shape()), ", got ", shape_str(target_in.shape()));
    Tensor p = target.to(logits.dtype());
    if (eps > 0) p = add(mul(p, 1.0 - eps), eps / static_cast<double>(C));
    Tensor term = mul(logp, p);
    if (w.defined()) term = mul(term, w);
    per = neg(sum(term, {1}));
    if (unbatched) per = per.squeeze(0);
    return reduce_loss(per, opts.reduction);  // mean: over N * d1 * ..., as PyTorch
  }

  Shape expected = logits.shape();
  expected.erase(1);
  IRIS_CHECK(target.shape() == expected, op, ": class-index targets for logits ", shape_str(logits_in.shape()),
             " must have shape ", shape_str(unbatched ? Shape{} : expected), ", got ", shape_str(target_in.shape()));
  Tensor t64 = detail::cast(target.detach(), DType::i64);
  {
    std::vector<int64_t> tv = t64.to_vector<int64_t>();
    for (size_t i = 0; i < tv.size(); ++i)
      IRIS_CHECK(tv[i] == opts.ignore_index || (tv[i] >= 0 && tv[i] < C), op, ": target ", tv[i], " at position ", i,
                 " is out of range for ", C, " classes (valid: 0 to ", C - 1, ", or ignore_index ", opts.ignore_index,
                 ")");
  }
  // one_hot [N, C, d...]: class c == target (no gather: an arange over classes compared with t).
  Tensor classes = arange(0, static_cast<double>(C), 1, {DType::i64, logits.device()}).reshape(cs);
  Tensor one_hot = eq(classes, t64.unsqueeze(1));
  Tensor valid = ne(t64, static_cast<double>(opts.ignore_index));  // [N, d...]
  Tensor zero = detail::scalar_like(logp, 0.0);

  Tensor picked = sum(where(one_hot, logp, zero), {1});  // log p of the target class
  // w_i: the target's class weight (1 without weights), 0 where ignored.
  Tensor w_target = w.defined() ? sum(where(one_hot, w, zero), {1}) : ones(expected, {logp.dtype(), logp.device()});
  w_target = where(valid, w_target, zero);
  per = mul(neg(picked), w_target);
  if (eps > 0) {
    // The smoothing part: the (weighted) cross entropy against a uniform target, ignored rows zero.
    Tensor all_classes = w.defined() ? mul(logp, w) : logp;
    Tensor smooth = div(neg(sum(all_classes, {1})), static_cast<double>(C));
    per = add(mul(per, 1.0 - eps), mul(where(valid, smooth, zero), eps));
  }
  per = where(valid, per, zero);  // ignored rows are exactly 0, even against -inf logits
  if (unbatched) per = per.squeeze(0);
  if (opts.reduction == Reduction::mean) return div(sum(per), sum(w_target));  // sum(w_i l_i) / sum(w_i)
  return reduce_loss(per, opts.reduction);
}

// ---- binary_cross_entropy_with_logits -----------------------------------------------------

Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target, const Tensor& pos_weight,
                                        Reduction reduction) {
  const char* op = "binary_cross_entropy_with_logits";
  check_pair(op, logits, target);
  IRIS_CHECK(target.dtype() == logits.dtype(), op, ": logits (", dtype_name(logits.dtype()), ") and target (",
             dtype_name(target.dtype()), ") must share a dtype; convert the target with .to(dtype)");
  if (pos_weight.defined()) {
    IRIS_CHECK(pos_weight.dtype() == logits.dtype(), op, ": pos_weight must be ", dtype_name(logits.dtype()),
               " like the logits, got ", dtype_name(pos_weight.dtype()));
    detail::check_same_device(op, {&logits, &pos_weight});
    bool fits = pos_weight.dim() <= logits.dim();
    for (int i = 0; fits && i < pos_weight.dim(); ++i) {
      int64_t p = pos_weight.shape()[pos_weight.dim() - 1 - i], l = logits.shape()[logits.dim() - 1 - i];
      fits = p == l || p == 1;
    }
    IRIS_CHECK(fits, op, ": pos_weight of shape ", shape_str(pos_weight.shape()),
               " does not broadcast to the logits ", shape_str(logits.shape()), " (give one weight per class, [C])");
  }
  // l = (1 - y) x + (1 + (pw - 1) y) softplus(-x), softplus(-x) = log1p(exp(-|x|)) + max(-x, 0).
  Tensor x = logits.detach(), y = target.detach(), pw = pos_weight.defined() ? pos_weight.detach() : Tensor();
  Tensor loss;
  {
    NoGradGuard no_grad;
    Tensor softplus_neg = add(log1p(exp(neg(abs(x)))), relu(neg(x)));
    Tensor lw = pw.defined() ? add(mul(sub(pw, 1.0), y), 1.0) : Tensor();
    Tensor pos_part = lw.defined() ? mul(lw, softplus_neg) : softplus_neg;
    loss = add(mul(1.0 - y, x), pos_part);
  }
  // dl/dx = (1 - y) - lw sigmoid(-x);  dl/dy = -x + (pw - 1) softplus(-x);  dl/dpw = y softplus(-x).
  // Written out (not composed) so the derivative is exact at x = 0 where |x| has a kink.
  loss = record("BinaryCrossEntropyWithLogitsBackward", loss, {logits, target, pos_weight},
                [x, y, pw, want_y = target.requires_grad(), want_pw = pos_weight.requires_grad()](const Tensor& g) {
                  Tensor sig_neg = sigmoid(neg(x));
                  Tensor lw = pw.defined() ? add(mul(sub(pw, 1.0), y), 1.0) : Tensor();
                  Tensor gx = mul(g, sub(1.0 - y, lw.defined() ? mul(lw, sig_neg) : sig_neg));
                  Tensor gy, gpw;
                  if (want_y || want_pw) {
                    Tensor softplus_neg = add(log1p(exp(neg(abs(x)))), relu(neg(x)));
                    if (want_y) gy = mul(g, pw.defined() ? sub(mul(sub(pw, 1.0), softplus_neg), x) : neg(x));
                    if (want_pw) gpw = sum_to(mul(g, mul(y, softplus_neg)), pw.shape());
                  }
                  return std::vector<Tensor>{gx, gy, gpw};
                });
  return reduce_loss(loss, reduction);
}

// ---- regression losses --------------------------------------------------------------------

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  check_pair("mse_loss", input, target);
  Tensor diff = sub(input, target);
  return reduce_loss(mul(diff, diff), reduction);
}

Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  check_pair("l1_loss", input, target);
  return reduce_loss(abs(sub(input, target)), reduction);  // gradient sign(d), 0 at d = 0
}

Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, double beta, Reduction reduction) {
  check_pair("smooth_l1_loss", input, target);
  IRIS_CHECK(beta >= 0 && std::isfinite(beta), "smooth_l1_loss: beta must be finite and >= 0, got ", beta);
  if (beta == 0.0) return l1_loss(input, target, reduction);
  // 0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta.
  Tensor diff = sub(input, target);
  Tensor abs_diff = abs(diff);
  Tensor quadratic = div(mul(mul(diff, diff), 0.5), beta);
  Tensor linear_part = sub(abs_diff, 0.5 * beta);
  return reduce_loss(where(lt(abs_diff.detach(), beta), quadratic, linear_part), reduction);
}

Tensor kl_div(const Tensor& input, const Tensor& target, Reduction reduction, bool log_target) {
  check_pair("kl_div", input, target);
  Tensor pointwise;
  if (log_target) {
    pointwise = mul(exp(target), sub(target, input));
  } else {
    // target * log(target) is 0 where target == 0 (xlogy); negative targets give NaN, as PyTorch.
    Tensor is_zero = eq(target.detach(), 0.0);
    Tensor safe = where(is_zero, detail::scalar_like(target, 1.0), target);
    Tensor t_log_t = where(is_zero, detail::scalar_like(target, 0.0), mul(target, log(safe)));
    pointwise = sub(t_log_t, mul(target, input));
  }
  return reduce_loss(pointwise, reduction);  // mean: over all elements (PyTorch's 'mean', not 'batchmean')
}

// ---- similarity and normalisation ---------------------------------------------------------

Tensor cosine_similarity(const Tensor& a_in, const Tensor& b_in, int64_t dim, double eps) {
  const char* op = "cosine_similarity";
  IRIS_CHECK(a_in.defined() && b_in.defined(), op, ": an input is undefined");
  detail::check_floating(op, a_in);
  detail::check_floating(op, b_in);
  detail::check_same_device(op, {&a_in, &b_in});
  IRIS_CHECK(eps >= 0 && std::isfinite(eps), op, ": eps must be finite and >= 0, got ", eps);
  Shape s = broadcast_shapes(a_in.shape(), b_in.shape(), op);
  IRIS_CHECK(s.size() >= 1, op, ": inputs must have at least one dim");
  int d = normalize_dim(dim, s.size(), op);
  Tensor a = a_in.shape() == s ? a_in : a_in.expand(s);
  Tensor b = b_in.shape() == s ? b_in : b_in.expand(s);
  // dot / (max(||a||, eps) * max(||b||, eps)): each norm clamped on its own, as current PyTorch.
  Tensor norm_a = clamp(norm(a, 2.0, {d}, false), eps);
  Tensor norm_b = clamp(norm(b, 2.0, {d}, false), eps);
  return div(sum(mul(a, b), {d}), mul(norm_a, norm_b));
}

Tensor normalize(const Tensor& x, double p, int64_t dim, double eps) {
  const char* op = "normalize";
  IRIS_CHECK(x.defined(), op, ": the input is undefined");
  detail::check_floating(op, x);
  IRIS_CHECK(x.dim() >= 1, op, ": the input must have at least one dim");
  IRIS_CHECK(eps >= 0 && std::isfinite(eps), op, ": eps must be finite and >= 0, got ", eps);
  IRIS_CHECK(p > 0, op, ": p must be positive, got ", p);
  int d = normalize_dim(dim, x.dim(), op);
  return div(x, clamp(norm(x, p, {d}, true), eps));
}

}  // namespace iris
