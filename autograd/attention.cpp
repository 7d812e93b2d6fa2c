// scaled_dot_product_attention composed from matmul, softmax, where and dropout:
//   out = dropout(softmax(q k^T * scale + bias, masked)) v, with q [..., L, E], k [..., S, E],
//   v [..., S, Ev] -> [..., L, Ev]; batch dims broadcast as in matmul.
// Fully masked rows: a query row in which every key is forbidden (by the mask, the causal rule, or
// -inf in the bias) has no distribution to attend with. PyTorch's math path gives NaN there in
// older versions; iris defines the row's output as zeros and every gradient through it as zero
// (never NaN). Without mask, bias or dropout one fused kernel runs instead (tensor/backend.h
// attention). packed_qkv_attention is multi-head self-attention read straight from a fused QKV
// projection; packed_qkv_channel_attention is DaViT's channel attention from one, after a single
// transpose. Under autocast (autograd/autocast.h) the fused kernels read bf16 copies of f32 q, k
// and v and write f32; the composed form's matmuls autocast themselves.
// Leaves out: key padding as lengths (pass a mask).
#include <algorithm>

#include "autograd/autocast.h"
#include "autograd/op_util.h"

namespace iris {

namespace {

void check_operand(const char* what, const Tensor& t) {
  IRIS_CHECK(t.defined(), "scaled_dot_product_attention: ", what, " is undefined");
  IRIS_CHECK(t.dim() >= 2, "scaled_dot_product_attention: ", what, " must be [..., tokens, features], got shape ",
             shape_str(t.shape()));
  detail::check_floating("scaled_dot_product_attention", t);
}

// Throws unless `extra` (mask or bias) broadcasts to the scores' shape without growing it.
void check_broadcasts_to(const char* what, const Tensor& extra, const Shape& scores) {
  bool ok = extra.dim() <= scores.size();
  for (int i = 0; ok && i < extra.dim(); ++i) {
    int64_t e = extra.shape()[extra.dim() - 1 - i], s = scores[scores.size() - 1 - i];
    ok = e == s || e == 1;
  }
  IRIS_CHECK(ok, "scaled_dot_product_attention: ", what, " of shape ", shape_str(extra.shape()),
             " does not broadcast to the attention scores [..., L, S] = ", shape_str(scores));
}

// The checks the two packed ops share on qkv [B, N, 3 * W] split into `count` parts of W / count
// (heads or groups); returns W. letter/count_name/unit_name word the errors ("D", "heads", "head_dim").
int64_t check_packed_qkv(const char* op, const Tensor& qkv, int64_t count, const char* letter,
                         const char* count_name, const char* unit_name) {
  IRIS_CHECK(qkv.defined(), op, ": qkv is undefined");
  IRIS_CHECK(qkv.dim() == 3, op, ": qkv must be [B, N, 3 * ", letter, "] (a fused QKV projection), got shape ",
             shape_str(qkv.shape()));
  detail::check_floating(op, qkv);
  IRIS_CHECK(count > 0, op, ": ", count_name, " must be positive, got ", count);
  IRIS_CHECK(qkv.shape()[2] % (3 * count) == 0, op, ": the last dim of qkv ", shape_str(qkv.shape()), " must be 3 * ",
             count_name, " * ", unit_name, " with ", count_name, " = ", count);
  return qkv.shape()[2] / 3;
}

// Whether a packed op runs as one fused node: the backend reads strided views, and nothing
// (mask, bias, dropout) needs the composed form; sizes are non-empty.
bool packed_fused(const Tensor& qkv, const AttentionOptions& opts, int64_t unit) {
  const DType operand_dt = autocast_applies(qkv.dtype()) ? DType::bf16 : qkv.dtype();
  return backend(qkv.device()).supports(Kernel::attention_views, operand_dt) && !opts.mask.defined() &&
         !opts.bias.defined() && opts.dropout_p == 0.0 && qkv.shape()[0] > 0 && qkv.shape()[1] > 0 && unit > 0;
}

}  // namespace

Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionOptions& opts) {
  const char* op = "scaled_dot_product_attention";
  check_operand("q", q);
  check_operand("k", k);
  check_operand("v", v);
  detail::check_same_device(op, {&q, &k, &v, &opts.mask, &opts.bias});
  IRIS_CHECK(q.dtype() == k.dtype() && q.dtype() == v.dtype(), op, ": q, k and v must share a dtype, got ",
             dtype_name(q.dtype()), ", ", dtype_name(k.dtype()), " and ", dtype_name(v.dtype()));
  const int64_t L = q.shape()[q.dim() - 2], E = q.shape()[q.dim() - 1];
  const int64_t S = k.shape()[k.dim() - 2];
  IRIS_CHECK(k.shape()[k.dim() - 1] == E, op, ": q ", shape_str(q.shape()), " and k ", shape_str(k.shape()),
             " must have the same feature size E (last dim)");
  IRIS_CHECK(v.shape()[v.dim() - 2] == S, op, ": k ", shape_str(k.shape()), " and v ", shape_str(v.shape()),
             " must have the same number of keys S (second-to-last dim)");
  IRIS_CHECK(opts.dropout_p >= 0.0 && opts.dropout_p <= 1.0, op, ": dropout_p must be in [0, 1], got ",
             opts.dropout_p);
  IRIS_CHECK(std::isfinite(opts.scale), op, ": scale must be finite, got ", opts.scale);
  double scale = opts.scale != 0.0 ? opts.scale : 1.0 / std::sqrt(static_cast<double>(std::max<int64_t>(E, 1)));

  // The common case (no mask, bias or dropout; q, k, v with the same batch dims) runs one fused
  // kernel that never materialises the [L, S] scores; everything else is composed below.
  Shape batch(q.shape().begin(), q.shape().end() - 2);
  bool same_batch = Shape(k.shape().begin(), k.shape().end() - 2) == batch &&
                    Shape(v.shape().begin(), v.shape().end() - 2) == batch;
  if (!opts.mask.defined() && !opts.bias.defined() && opts.dropout_p == 0.0 && same_batch && S > 0 && L > 0) {
    const int64_t B = numel_of(batch), Ev = v.shape()[v.dim() - 1];
    // A backend that takes views reads [B, L, E] and [B, H, L, E] operands in place (heads sliced
    // out of a packed projection stay where they are); otherwise everything becomes [B, L, E] contiguous.
    const bool amp = autocast_applies(q.dtype());
    const DType operand_dt = amp ? DType::bf16 : q.dtype();
    const bool views =
        backend(q.device()).supports(Kernel::attention_views, operand_dt) && (q.dim() == 3 || q.dim() == 4);
    auto as_operand = [&](const Tensor& t) {
      Tensor d = amp ? detail::cast(t.detach(), DType::bf16) : t.detach();  // cast: contiguous
      if (views) return d.strides().back() == 1 || d.shape().back() <= 1 ? d : detail::contiguous_nograd(d);
      Tensor c = detail::contiguous_nograd(d);
      return make_view(c, {B, c.shape()[c.dim() - 2], c.shape()[c.dim() - 1]},
                       contiguous_strides({B, c.shape()[c.dim() - 2], c.shape()[c.dim() - 1]}), c.offset());
    };
    Tensor q3 = as_operand(q), k3 = as_operand(k), v3 = as_operand(v);
    Shape out_operand = views ? batch : Shape{B};
    out_operand.push_back(L);
    out_operand.push_back(Ev);
    Tensor out = empty(out_operand, {q.dtype(), q.device()});
    Tensor lse = empty({B, L}, {q.dtype(), q.device()});
    backend(q.device()).attention(q3, k3, v3, scale, opts.causal, out, lse);
    Shape out_shape = batch;
    out_shape.push_back(L);
    out_shape.push_back(Ev);
    Tensor result = make_view(out, out_shape, contiguous_strides(out_shape), 0);
    return record("AttentionBackward", result, {q, k, v},
                  [q3, k3, v3, out, lse, scale, causal = opts.causal, sq = q.shape(), sk = k.shape(),
                   sv = v.shape()](const Tensor& g) {
                    Tensor g3 = detail::contiguous_nograd(g).reshape(out.shape());
                    Tensor gq = empty(q3.shape(), {out.dtype(), q3.device()});  // f32 under autocast
                    Tensor gk = empty(k3.shape(), {out.dtype(), k3.device()});
                    Tensor gv = empty(v3.shape(), {out.dtype(), v3.device()});
                    backend(g.device()).attention_backward(q3, k3, v3, out, lse, g3, scale, causal, gq, gk, gv);
                    return std::vector<Tensor>{gq.reshape(sq), gk.reshape(sk), gv.reshape(sv)};
                  });
  }

  // Scores [..., L, S] (batch dims broadcast between q and k). The scale is applied to q, which is
  // usually smaller than the scores (E < S).
  Tensor scores = matmul(mul(q, scale), k.transpose(-1, -2));
  if (opts.bias.defined()) {
    detail::check_floating(op, opts.bias);
    check_broadcasts_to("bias", opts.bias, scores.shape());
    scores = add(scores, opts.bias.to(q.dtype()));  // differentiable: a learned bias gets its gradient
  }

  // allowed [.., L, S] bool: the mask AND the causal rule (key j <= query i, top-left aligned).
  Tensor allowed;
  if (opts.mask.defined()) {
    IRIS_CHECK(opts.mask.dtype() == DType::b8, op, ": mask must be bool (true = may attend), got ",
               dtype_name(opts.mask.dtype()), "; pass an additive float mask as bias instead");
    check_broadcasts_to("mask", opts.mask, scores.shape());
    allowed = opts.mask;
  }
  if (opts.causal) {
    Tensor rows = arange(0, static_cast<double>(L), 1, {DType::i64, q.device()}).reshape({L, 1});
    Tensor cols = arange(0, static_cast<double>(S), 1, {DType::i64, q.device()}).reshape({1, S});
    Tensor causal = le(cols, rows);
    allowed = allowed.defined() ? logical_and(allowed, causal) : causal;
  }

  Tensor weights;
  bool can_die = allowed.defined() || opts.bias.defined() || S == 0;
  if (!can_die) {
    weights = softmax(scores, -1);
  } else {
    if (allowed.defined()) scores = where(allowed, scores, detail::scalar_like(scores, -INFINITY));
    // A row is dead when nothing in it is finite above -inf (or S == 0). Dead rows get scores 0 (a
    // finite softmax) and weights 0, so the output row is 0 and no gradient flows back through it.
    Tensor dead;
    {
      NoGradGuard no_grad;
      dead = S == 0 ? ones({1}, {DType::b8, q.device()}) : eq(amax(scores.detach(), {-1}, true), -INFINITY);
    }
    Tensor zero = detail::scalar_like(scores, 0.0);
    if (S > 0) weights = where(dead, zero, softmax(where(dead, zero, scores), -1));
    else weights = scores;  // [..., L, 0]
  }
  if (opts.dropout_p > 0.0) weights = dropout(weights, opts.dropout_p, true, opts.generator);
  return matmul(weights, v);
}

// ---- the multi-head layout ----------------------------------------------------------------------

Tensor split_heads(const Tensor& x, int64_t heads) {
  IRIS_CHECK(x.defined() && x.dim() == 3, "split_heads: expects tokens [B, N, H * D], got ",
             x.defined() ? shape_str(x.shape()) : std::string("an undefined tensor"));
  IRIS_CHECK(heads > 0 && x.shape()[2] % heads == 0, "split_heads: the last dim of ", shape_str(x.shape()),
             " is not divisible by ", heads, " heads");
  const int64_t B = x.shape()[0], N = x.shape()[1];
  return x.reshape({B, N, heads, x.shape()[2] / heads}).permute({0, 2, 1, 3});  // [B, H, N, D]
}

Tensor merge_heads(const Tensor& x) {
  IRIS_CHECK(x.defined() && x.dim() == 4, "merge_heads: expects heads [B, H, N, D], got ",
             x.defined() ? shape_str(x.shape()) : std::string("an undefined tensor"));
  const int64_t B = x.shape()[0], H = x.shape()[1], N = x.shape()[2], D = x.shape()[3];
  return x.transpose(1, 2).reshape({B, N, H * D});
}

std::array<Tensor, 3> split_packed_qkv(const Tensor& qkv, int64_t heads) {
  const int64_t D = check_packed_qkv("split_packed_qkv", qkv, heads, "D", "heads", "head_dim");
  const int64_t B = qkv.shape()[0], N = qkv.shape()[1];
  // [B, N, 3D] -> [B, N, 3, H, D/H] -> [3, B, H, N, D/H]
  Tensor t = qkv.reshape({B, N, 3, heads, D / heads}).permute({2, 0, 3, 1, 4});
  return {t.select(0, 0), t.select(0, 1), t.select(0, 2)};
}

// ---- multi-head self-attention from a packed QKV projection -----------------------------------

Tensor packed_qkv_attention(const Tensor& qkv, int64_t heads, const AttentionOptions& opts) {
  const char* op = "packed_qkv_attention";
  const int64_t D = check_packed_qkv(op, qkv, heads, "D", "heads", "head_dim");
  const int64_t B = qkv.shape()[0], N = qkv.shape()[1], hd = D / heads;
  if (!packed_fused(qkv, opts, hd)) {
    // [B, N, 3D] -> q, k, v [B, H, N, hd]; attention per head; [B, H, N, hd] -> [B, N, D]
    std::array<Tensor, 3> t = split_packed_qkv(qkv, heads);
    return merge_heads(scaled_dot_product_attention(t[0], t[1], t[2], opts));
  }
  IRIS_CHECK(std::isfinite(opts.scale), op, ": scale must be finite, got ", opts.scale);
  const double scale = opts.scale != 0.0 ? opts.scale : 1.0 / std::sqrt(static_cast<double>(hd));
  const bool causal = opts.causal;
  // part `which` (0 q, 1 k, 2 v) of a [B, N, 3D] buffer as a [B, H, N, hd] view
  auto part = [=](const Tensor& base, int64_t which) {
    return make_view(base, {B, heads, N, hd}, {N * 3 * D, hd, 3 * D, 1}, base.offset() + which * D);
  };
  const bool amp = autocast_applies(qkv.dtype());  // read a bf16 copy
  Tensor x = amp ? detail::cast(qkv.detach(), DType::bf16) : detail::contiguous_nograd(qkv.detach());
  Tensor out = empty({B, N, D}, {qkv.dtype(), qkv.device()});
  Tensor out4 = make_view(out, {B, heads, N, hd}, {N * D, hd, D, 1}, out.offset());  // heads merged in place
  Tensor lse = empty({B, heads, N}, {qkv.dtype(), qkv.device()});
  backend(qkv.device()).attention(part(x, 0), part(x, 1), part(x, 2), scale, causal, out4, lse);
  Tensor result = make_view(out, out.shape(), out.strides(), out.offset());
  return record("PackedQkvAttentionBackward", result, {qkv},
                [x, out4, lse, part, scale, causal, B, N, D, heads, hd](const Tensor& g) {
                  Tensor gc = detail::contiguous_nograd(g);  // [B, N, D]
                  Tensor g4 = make_view(gc, {B, heads, N, hd}, {N * D, hd, D, 1}, gc.offset());
                  // every element of the [B, N, 3D] gradient is written: q, k and v parts are disjoint
                  Tensor gx = empty({B, N, 3 * D}, {out4.dtype(), x.device()});
                  backend(g.device()).attention_backward(part(x, 0), part(x, 1), part(x, 2), out4, lse, g4, scale,
                                                         causal, part(gx, 0), part(gx, 1), part(gx, 2));
                  return std::vector<Tensor>{gx};
                });
}

Tensor packed_qkv_channel_attention(const Tensor& qkv, int64_t groups, const AttentionOptions& opts,
                                    std::array<int, 3> parts) {
  const char* op = "packed_qkv_channel_attention";
  const int64_t C = check_packed_qkv(op, qkv, groups, "C", "groups", "group_width");
  IRIS_CHECK(parts[0] != parts[1] && parts[0] != parts[2] && parts[1] != parts[2] &&
                 std::min({parts[0], parts[1], parts[2]}) == 0 && std::max({parts[0], parts[1], parts[2]}) == 2,
             op, ": parts must order 0, 1 and 2, got {", parts[0], ", ", parts[1], ", ", parts[2], "}");
  const int64_t B = qkv.shape()[0], N = qkv.shape()[1], cg = C / groups;
  if (!packed_fused(qkv, opts, cg)) {
    // [B, N, 3C] -> [B, N, 3, G, Cg] -> [3, B, G, Cg, N]; attention per group; [B, G, Cg, N] -> [B, N, C]
    Tensor t = qkv.reshape({B, N, 3, groups, cg}).permute({2, 0, 3, 4, 1});
    Tensor o = scaled_dot_product_attention(t.select(0, parts[0]), t.select(0, parts[1]), t.select(0, parts[2]), opts);
    return o.permute({0, 3, 1, 2}).reshape({B, N, C});
  }
  IRIS_CHECK(std::isfinite(opts.scale), op, ": scale must be finite, got ", opts.scale);
  const double scale = opts.scale != 0.0 ? opts.scale : 1.0 / std::sqrt(static_cast<double>(N));
  const bool causal = opts.causal;
  Backend& be = backend(qkv.device());
  const TensorOptions to{qkv.dtype(), qkv.device()};
  // a [B, N, W] buffer read (or written) as its transpose [B, W, N]
  auto transposed = [](const Tensor& t, int64_t W) {
    const int64_t b = t.shape()[0], n = t.shape()[1];
    return make_view(t, {b, W, n}, {n * W, 1, W}, t.offset());
  };
  // part `which` of a [B, 3C, N] buffer as [B, G, Cg, N] (unit stride along N)
  auto part = [=](const Tensor& base, int64_t which) {
    return make_view(base, {B, groups, cg, N}, {3 * C * N, cg * N, N, 1}, base.offset() + which * C * N);
  };
  auto groups_view = [=](const Tensor& bcn) {  // a [B, C, N] buffer as [B, G, Cg, N]
    return make_view(bcn, {B, groups, cg, N}, {C * N, cg * N, N, 1}, bcn.offset());
  };
  Tensor x = detail::contiguous_nograd(qkv.detach());
  const bool amp = autocast_applies(qkv.dtype());
  Tensor xt = empty({B, 3 * C, N}, {amp ? DType::bf16 : qkv.dtype(), qkv.device()});
  be.copy(transposed(x, 3 * C), xt);  // the one transpose of the input (and autocast's bf16 cast)
  Tensor out_t = empty({B, C, N}, to);
  Tensor lse = empty({B, groups, cg}, to);
  be.attention(part(xt, parts[0]), part(xt, parts[1]), part(xt, parts[2]), scale, causal, groups_view(out_t), lse);
  Tensor result = empty({B, N, C}, to);
  be.copy(transposed(out_t, N), result);  // [B, C, N] -> [B, N, C]
  return record("PackedQkvChannelAttentionBackward", result, {qkv},
                [xt, out_t, lse, part, groups_view, transposed, parts, scale, causal, B, N, C, to](const Tensor& g) {
                  Backend& bk = backend(g.device());
                  Tensor gc = detail::contiguous_nograd(g);  // [B, N, C]
                  Tensor gt = empty({B, C, N}, to);
                  bk.copy(transposed(gc, C), gt);
                  // every element of the [B, 3C, N] gradient is written: the three parts are disjoint
                  Tensor gxt = empty({B, 3 * C, N}, to);
                  bk.attention_backward(part(xt, parts[0]), part(xt, parts[1]), part(xt, parts[2]), groups_view(out_t),
                                        lse, groups_view(gt), scale, causal, part(gxt, parts[0]), part(gxt, parts[1]),
                                        part(gxt, parts[2]));
                  Tensor gx = empty({B, N, 3 * C}, to);
                  bk.copy(transposed(gxt, N), gx);
                  return std::vector<Tensor>{gx};
                });
}

}  // namespace iris
