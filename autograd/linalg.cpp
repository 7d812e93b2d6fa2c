// Matrix products: matmul (NumPy semantics), bmm, linear.
// The forward maps both operands onto 3-D strided views [B, M, K] x [B, K, N] and calls the gemm
// kernel once; a batched left operand times a plain matrix is folded into one tall product. The
// backward is two more matmuls on transposed views (dA = dC B^T, dB = A^T dC), summed over
// broadcast batch dims. Under autocast (autograd/autocast.h) f32 products read bf16 operand copies.
#include "autograd/autocast.h"
#include "autograd/op_util.h"
#include "tensor/gemm_layout.h"

namespace iris {

namespace {

// True when the last two dims of t form a row- or column-major matrix the gemm kernel can read.
bool gemm_readable(const Tensor& t) {
  const int n = t.dim();
  GemmLayout unused;
  return find_gemm_layout(t.shape()[n - 2], t.shape()[n - 1], t.strides()[n - 2], t.strides()[n - 1], unused);
}

// A [B, rows, cols] view of t (batch dims collapsed), copying only when the strides forbid it.
Tensor as_batched_3d(Tensor t) {
  if (!gemm_readable(t)) t = detail::contiguous_nograd(t);
  int n = t.dim();
  int64_t batch = 1, bstride = 0;
  bool collapsible = true;
  for (int i = n - 3; i >= 0; --i) {
    int64_t s = t.shape()[i], st = t.strides()[i];
    if (s == 1) continue;
    if (batch == 1) bstride = st;
    else if (st != bstride * batch && !(st == 0 && bstride == 0)) collapsible = false;
    batch *= s;
  }
  if (!collapsible) {
    t = detail::contiguous_nograd(t);
    return make_view(t, {batch, t.shape()[n - 2], t.shape()[n - 1]},
                     {t.shape()[n - 2] * t.shape()[n - 1], t.strides()[n - 2], t.strides()[n - 1]}, t.offset());
  }
  return make_view(t, {batch, t.shape()[n - 2], t.shape()[n - 1]}, {bstride, t.strides()[n - 2], t.strides()[n - 1]},
                   t.offset());
}

// The product of a and b (both >= 2-D), no autograd, written in out_dt (a's dtype, or f32 when a
// and b are autocast's bf16 copies).
Tensor matmul_kernel(const Tensor& a, const Tensor& b, DType out_dt) {
  int na = a.dim(), nb = b.dim();
  int64_t M = a.shape()[na - 2], K = a.shape()[na - 1], N = b.shape()[nb - 1];
  IRIS_CHECK(b.shape()[nb - 2] == K, "matmul: shapes ", shape_str(a.shape()), " and ", shape_str(b.shape()),
             " do not line up: inner sizes ", K, " and ", b.shape()[nb - 2],
             " (the last dim of the first must equal the second-to-last of the second)");
  Shape a_batch(a.shape().begin(), a.shape().end() - 2), b_batch(b.shape().begin(), b.shape().end() - 2);
  Shape batch = broadcast_shapes(a_batch, b_batch, "matmul");
  Shape out_shape = batch;
  out_shape.push_back(M);
  out_shape.push_back(N);
  Tensor out = empty(out_shape, {out_dt, a.device()});

  // [..., M, K] @ [K, N]: fold the batch into the rows when the rows are evenly strided.
  if (nb == 2 && na > 2 && a.is_contiguous()) {
    Tensor a2 = make_view(a, {numel_of(batch) * M, K}, {K, 1}, a.offset());
    backend(a.device()).gemm(as_batched_3d(a2), as_batched_3d(b), out.view({1, numel_of(batch) * M, N}), 1.0, 0.0);
    return out;
  }
  Shape ea = batch, eb = batch;
  ea.push_back(M);
  ea.push_back(K);
  eb.push_back(K);
  eb.push_back(N);
  Tensor a3 = as_batched_3d(detail::broadcast_to(a, ea));
  Tensor b3 = as_batched_3d(detail::broadcast_to(b, eb));
  Tensor c3 = make_view(out, {numel_of(batch), M, N}, {M * N, N, 1}, 0);
  backend(a.device()).gemm(a3, b3, c3, 1.0, 0.0);
  return out;
}

// dA = dC B^T, summed over the batch dims A was broadcast along. When A is a plain matrix and the
// batch is real, the sum is folded into one product: dA = [M, B*N] x [B*N, K].
Tensor matmul_grad_a(const Tensor& g, const Tensor& b, const Shape& sa) {
  if (sa.size() == 2 && g.dim() > 2) {
    const int64_t M = g.shape()[g.dim() - 2], N = g.shape()[g.dim() - 1], K = sa[1];
    Tensor g3 = g.reshape({-1, M, N});                                               // [Bt, M, N]
    Shape eb(g.shape().begin(), g.shape().end() - 2);
    eb.push_back(K);
    eb.push_back(N);
    Tensor b3 = detail::broadcast_to(b, eb).reshape({-1, K, N});                       // [Bt, K, N]
    Tensor left = g3.permute({1, 0, 2}).reshape({M, -1});                              // [M, Bt*N]
    Tensor right = b3.transpose(1, 2).reshape({-1, K});                                // [Bt*N, K]
    return matmul(left, right);
  }
  return sum_to(matmul(g, b.transpose(-1, -2)), sa);
}

// dB = A^T dC, summed over the batch dims B was broadcast along. A weight matrix shared by a batch
// (linear layers) gets one product: dB = [K, B*M] x [B*M, N], never a batch of products to sum.
Tensor matmul_grad_b(const Tensor& g, const Tensor& a, const Shape& sb) {
  if (sb.size() == 2 && g.dim() > 2) {
    const int64_t M = g.shape()[g.dim() - 2], N = g.shape()[g.dim() - 1], K = sb[0];
    Shape ea(g.shape().begin(), g.shape().end() - 2);
    ea.push_back(M);
    ea.push_back(K);
    Tensor a2 = detail::broadcast_to(a, ea).reshape({-1, K});  // [Bt*M, K]
    return matmul(a2.t(), g.reshape({-1, N}));
  }
  return sum_to(matmul(a.transpose(-1, -2), g), sb);
}

}  // namespace

Tensor matmul(const Tensor& a0, const Tensor& b0) {
  IRIS_CHECK(a0.defined() && b0.defined(), "matmul: an operand is undefined");
  IRIS_CHECK(a0.dim() >= 1 && b0.dim() >= 1, "matmul: operands must have at least 1 dim, got shapes ",
             shape_str(a0.shape()), " and ", shape_str(b0.shape()));
  detail::check_same_device("matmul", {&a0, &b0});
  // 1-D operands: a vector on the left is a row, on the right a column; the added dim is removed.
  if (a0.dim() == 1 && b0.dim() == 1) return matmul(a0.unsqueeze(0), b0.unsqueeze(-1)).reshape({});
  if (a0.dim() == 1) return matmul(a0.unsqueeze(0), b0).squeeze(-2);
  if (b0.dim() == 1) return matmul(a0, b0.unsqueeze(-1)).squeeze(-1);

  DType dt = promote_types(a0.dtype(), b0.dtype());
  IRIS_CHECK(is_floating(dt), "matmul: needs floating tensors, got ", dtype_name(a0.dtype()), " and ",
             dtype_name(b0.dtype()));
  const bool amp = autocast_applies(dt);  // bf16 operands, f32 product
  const DType operand_dt = amp ? DType::bf16 : dt;
  Tensor a = detail::cast(a0.detach(), operand_dt), b = detail::cast(b0.detach(), operand_dt);
  Tensor out = matmul_kernel(a, b, dt);
  bool ga = a0.requires_grad(), gb = b0.requires_grad();
  return record("MatmulBackward", out, {a0, b0},
                [ad = gb ? a : Tensor(), bd = ga ? b : Tensor(), sa = a0.shape(), sb = b0.shape(), amp](const Tensor& g) {
                  AutocastGuard autocast(amp);  // the gradient products in the precision of the forward's
                  const Tensor gc = amp ? detail::cast(g, DType::bf16) : g;  // cast once for both products
                  return std::vector<Tensor>{bd.defined() ? matmul_grad_a(gc, bd, sa) : Tensor(),
                                             ad.defined() ? matmul_grad_b(gc, ad, sb) : Tensor()};
                });
}

Tensor bmm(const Tensor& a, const Tensor& b) {
  detail::check_dims("bmm", "first operand", a, {3});
  detail::check_dims("bmm", "second operand", b, {3});
  IRIS_CHECK(a.shape()[0] == b.shape()[0], "bmm: batch sizes differ: ", shape_str(a.shape()), " and ",
             shape_str(b.shape()));
  return matmul(a, b);
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  IRIS_CHECK(x.defined() && weight.defined(), "linear: input or weight is undefined");
  detail::check_dims("linear", "weight", weight, {2});
  IRIS_CHECK(x.dim() >= 1 && x.shape()[x.dim() - 1] == weight.shape()[1], "linear: input of shape ",
             shape_str(x.shape()), " does not match weight of shape ", shape_str(weight.shape()),
             ": the input's last dim must equal the weight's second dim (in_features)");
  if (bias.defined())
    IRIS_CHECK(bias.dim() == 1 && bias.shape()[0] == weight.shape()[0], "linear: bias of shape ",
               shape_str(bias.shape()), " does not match out_features ", weight.shape()[0]);
  DType dt = promote_types(x.dtype(), weight.dtype());
  bool fused = x.dim() >= 2 && weight.dtype() == x.dtype() && (!bias.defined() || bias.dtype() == x.dtype()) &&
               is_floating(dt) && x.device() == weight.device() && (!bias.defined() || bias.device() == x.device());
  if (!fused) {
    Tensor y = matmul(x, weight.t());
    return bias.defined() ? add(y, bias) : y;
  }
  // One product with the bias fused into its write-back: x as rows [R, in] times W^T read in place
  // (W [out, in] is a column-major [in, out]). Under autocast x and W are read as bf16 copies.
  const int64_t in = weight.shape()[1], out_f = weight.shape()[0];
  const bool amp = autocast_applies(dt);
  Tensor x2 = amp ? detail::cast(x.detach(), DType::bf16) : detail::contiguous_nograd(x.detach());
  const int64_t R = x2.numel() / in;
  Tensor xr = make_view(x2, {1, R, in}, {R * in, in, 1}, x2.offset());
  Tensor wd = amp ? detail::cast(weight.detach(), DType::bf16) : weight.detach();
  if (!wd.is_contiguous() && !wd.t().is_contiguous()) wd = detail::contiguous_nograd(wd);
  Tensor wt = make_view(wd, {1, in, out_f}, {0, wd.strides()[1], wd.strides()[0]}, wd.offset());
  Tensor bd = bias.defined() ? detail::contiguous_nograd(bias.detach()) : Tensor();
  Shape out_shape = x.shape();
  out_shape.back() = out_f;
  Tensor y = empty(out_shape, {dt, x.device()});
  backend(x.device()).gemm(xr, wt, make_view(y, {1, R, out_f}, {R * out_f, out_f, 1}, 0), 1.0, 0.0, bd);
  bool gx = x.requires_grad(), gw = weight.requires_grad();
  return record("LinearBackward", y, {x, weight, bias},
                [x2 = gw ? x2 : Tensor(), wd = gx ? wd : Tensor(), sx = x.shape(), in, out_f, R,
                 has_bias = bias.defined(), amp](const Tensor& g) {
                  AutocastGuard autocast(amp);  // bf16 products in the backward too (x2, wd are bf16 then)
                  Tensor g2 = detail::contiguous_nograd(g).reshape({R, out_f});  // [R, out]
                  // under autocast dY is cast to bf16 once, for both products (dB sums the f32 dY)
                  const Tensor g16 = amp ? detail::cast(g2, DType::bf16) : g2;
                  Tensor dx = wd.defined() ? matmul(g16, wd).reshape(sx) : Tensor();  // [R, in]
                  Tensor dw, db;
                  // dW = dY^T x and dB = dY summed over rows in one pass, where the backend has that form
                  if (x2.defined() && has_bias && g2.dtype() == x2.dtype() &&
                      backend(g2.device()).supports(Kernel::gemm_row_sums, g2.dtype())) {
                    dw = empty({out_f, in}, {g2.dtype(), g2.device()});
                    db = empty({out_f}, {g2.dtype(), g2.device()});
                    Tensor gt = make_view(g2, {1, out_f, R}, {R * out_f, 1, out_f}, g2.offset());  // dY^T
                    Tensor xv = make_view(x2, {1, R, in}, {R * in, in, 1}, x2.offset());
                    if (backend(g2.device()).gemm_row_sums(gt, xv, make_view(dw, {1, out_f, in}, {out_f * in, in, 1}, 0),
                                                           db))
                      return std::vector<Tensor>{dx, dw, db};
                  }
                  dw = x2.defined() ? matmul(g16.t(), x2.reshape({R, in})) : Tensor();  // [out, in]
                  db = has_bias ? sum(g2, {0}) : Tensor();
                  return std::vector<Tensor>{dx, dw, db};
                });
}

}  // namespace iris
