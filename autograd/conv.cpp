// conv2d and conv_transpose2d. conv2d is im2col + one batched GEMM per chunk of images (per group
// via strided views; 1x1 stride-1 convs read the input directly); depthwise convs (groups == C)
// use a direct kernel. Its backward is grad_w = grad_out @ cols^T (summed over images),
// grad_x = col2im(W^T @ grad_out), grad_b = sum. conv_transpose2d is the adjoint of conv2d, so
// it reuses the same three routines with the roles swapped. Leaves out padding modes other
// than zeros, string paddings ('same') and 3-D convolution.
#include <algorithm>

#include "autograd/op_util.h"

namespace iris {

namespace {

using detail::contiguous_nograd;

// The im2col buffer holds at most this many elements (or one image, when that is larger):
// large batches are processed in chunks so memory stays bounded.
constexpr int64_t kColsBudget = int64_t(1) << 20;

bool is_depthwise(const Conv2dGeometry& g, int64_t groups) { return groups == g.C && groups > 1; }

// A 1x1, stride-1, unpadded conv whose output has the input's size: the input is its own cols.
bool is_pointwise(const Conv2dGeometry& g) {
  return g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0 && g.Ho == g.H && g.Wo == g.W;
}

int64_t images_per_chunk(const Conv2dGeometry& g) {
  const int64_t per_image = g.C * g.kh * g.kw * g.Ho * g.Wo;
  return std::max<int64_t>(1, kColsBudget / std::max<int64_t>(per_image, 1));
}

// A view into t's storage at `offset` elements past t's own offset.
Tensor view_at(const Tensor& t, const Shape& shape, const Strides& strides, int64_t offset) {
  return make_view(t, shape, strides, t.offset() + offset);
}

// The cols [nb, C*kh*kw, Ho*Wo] of images [n0, n0 + nb) of x [N, C, H, W] (contiguous): x itself
// for pointwise convs, else im2col into `buffer`.
Tensor cols_of(const Tensor& x, const Conv2dGeometry& g, int64_t n0, int64_t nb, const Tensor& buffer) {
  const int64_t CK = g.C * g.kh * g.kw, L = g.Ho * g.Wo;
  if (is_pointwise(g)) return view_at(x, {nb, g.C, L}, {g.C * L, L, 1}, n0 * g.C * L);
  Conv2dGeometry chunk = g;
  chunk.N = nb;
  Tensor images = view_at(x, {nb, g.C, g.H, g.W}, contiguous_strides({nb, g.C, g.H, g.W}), n0 * g.C * g.H * g.W);
  Tensor cols = view_at(buffer, {nb, CK, L}, {CK * L, L, 1}, 0);
  backend(x.device()).im2col(images, chunk, cols);
  return cols;
}

// out [N, Cout, Ho, Wo] = conv(x [N, C, H, W], w [Cout, C/groups, kh, kw]); both contiguous.
Tensor conv_output(const Tensor& x, const Tensor& w, const Conv2dGeometry& g, int64_t groups) {
  Backend& be = backend(x.device());
  const int64_t Cout = w.shape()[0];
  Tensor out = empty({g.N, Cout, g.Ho, g.Wo}, {x.dtype(), x.device()});
  if (out.numel() == 0) return out;
  if (is_depthwise(g, groups)) {
    be.depthwise_conv2d(x, w, g, out);
    return out;
  }
  const int64_t L = g.Ho * g.Wo, CK = g.C * g.kh * g.kw, K = CK / groups, Cog = Cout / groups;
  const int64_t chunk = is_pointwise(g) ? g.N : std::min(g.N, images_per_chunk(g));
  Tensor buffer = is_pointwise(g) ? Tensor() : empty({chunk, CK, L}, {x.dtype(), x.device()});
  for (int64_t n0 = 0; n0 < g.N; n0 += chunk) {
    const int64_t nb = std::min(chunk, g.N - n0);
    Tensor cols = cols_of(x, g, n0, nb, buffer);  // [nb, CK, L]
    if (groups == 1) {
      // [nb, Cout, L] = W [Cout, CK] (broadcast over the batch) @ cols [nb, CK, L]
      Tensor a = view_at(w, {nb, Cout, CK}, {0, CK, 1}, 0);
      be.gemm(a, cols, view_at(out, {nb, Cout, L}, {Cout * L, L, 1}, n0 * Cout * L), 1.0, 0.0);
    } else {
      // Per image: [G, Cog, L] = W [G, Cog, K] @ cols [G, K, L], the groups as the batch.
      Tensor a = view_at(w, {groups, Cog, K}, {Cog * K, K, 1}, 0);
      for (int64_t i = 0; i < nb; ++i) {
        Tensor b = view_at(cols, {groups, K, L}, {K * L, L, 1}, i * CK * L);
        be.gemm(a, b, view_at(out, {groups, Cog, L}, {Cog * L, L, 1}, (n0 + i) * Cout * L), 1.0, 0.0);
      }
    }
  }
  return out;
}

// grad_x [N, C, H, W] = the adjoint of conv_output w.r.t. x, applied to grad_out [N, Cout, Ho, Wo].
Tensor conv_input_grad(const Tensor& grad_out, const Tensor& w, const Conv2dGeometry& g, int64_t groups) {
  Backend& be = backend(grad_out.device());
  const DType dt = grad_out.dtype();
  const int64_t Cout = w.shape()[0];
  if (is_depthwise(g, groups)) {
    Tensor grad_x = empty({g.N, g.C, g.H, g.W}, {dt, grad_out.device()});
    if (grad_x.numel() > 0) be.depthwise_conv2d_backward(grad_out, Tensor(), w, g, grad_x, Tensor());
    return grad_x;
  }
  const bool pointwise = is_pointwise(g);
  Tensor grad_x = pointwise ? empty({g.N, g.C, g.H, g.W}, {dt, grad_out.device()})
                            : zeros({g.N, g.C, g.H, g.W}, {dt, grad_out.device()});
  if (grad_x.numel() == 0) return grad_x;
  const int64_t L = g.Ho * g.Wo, CK = g.C * g.kh * g.kw, K = CK / groups, Cog = Cout / groups;
  const int64_t chunk = pointwise ? g.N : std::min(g.N, images_per_chunk(g));
  Tensor buffer = pointwise ? Tensor() : empty({chunk, CK, L}, {dt, grad_out.device()});
  for (int64_t n0 = 0; n0 < g.N; n0 += chunk) {
    const int64_t nb = std::min(chunk, g.N - n0);
    // dcols [nb, CK, L]: written straight into grad_x for pointwise convs.
    Tensor dcols = pointwise ? view_at(grad_x, {nb, CK, L}, {CK * L, L, 1}, n0 * CK * L)
                             : view_at(buffer, {nb, CK, L}, {CK * L, L, 1}, 0);
    if (groups == 1) {
      Tensor wt = view_at(w, {nb, CK, Cout}, {0, 1, CK}, 0);  // W^T, broadcast over the batch
      be.gemm(wt, view_at(grad_out, {nb, Cout, L}, {Cout * L, L, 1}, n0 * Cout * L), dcols, 1.0, 0.0);
    } else {
      Tensor wt = view_at(w, {groups, K, Cog}, {Cog * K, 1, K}, 0);  // per-group W^T
      for (int64_t i = 0; i < nb; ++i) {
        Tensor go = view_at(grad_out, {groups, Cog, L}, {Cog * L, L, 1}, (n0 + i) * Cout * L);
        be.gemm(wt, go, view_at(dcols, {groups, K, L}, {K * L, L, 1}, i * CK * L), 1.0, 0.0);
      }
    }
    if (!pointwise) {
      Conv2dGeometry part = g;
      part.N = nb;
      Shape s{nb, g.C, g.H, g.W};
      be.col2im(dcols, part, view_at(grad_x, s, contiguous_strides(s), n0 * g.C * g.H * g.W));
    }
  }
  return grad_x;
}

// grad_w [Cout, C/groups, kh, kw] = sum over images of grad_out @ cols^T.
// w supplies the weight's shape (and is what the depthwise kernel expects).
Tensor conv_weight_grad(const Tensor& grad_out, const Tensor& x, const Tensor& w, const Conv2dGeometry& g,
                        int64_t groups) {
  Backend& be = backend(grad_out.device());
  const DType dt = grad_out.dtype();
  const int64_t Cout = w.shape()[0];
  if (is_depthwise(g, groups)) {
    Tensor grad_w = empty(w.shape(), {dt, grad_out.device()});
    if (grad_w.numel() > 0) be.depthwise_conv2d_backward(grad_out, x, w, g, Tensor(), grad_w);
    return grad_w;
  }
  Tensor grad_w = zeros(w.shape(), {dt, grad_out.device()});
  if (grad_w.numel() == 0 || g.N == 0) return grad_w;
  const int64_t L = g.Ho * g.Wo, CK = g.C * g.kh * g.kw, K = CK / groups, Cog = Cout / groups;
  const int64_t chunk = is_pointwise(g) ? g.N : std::min(g.N, images_per_chunk(g));
  Tensor buffer = is_pointwise(g) ? Tensor() : empty({chunk, CK, L}, {dt, grad_out.device()});
  Tensor gw3 = view_at(grad_w, {groups, Cog, K}, {Cog * K, K, 1}, 0);
  for (int64_t n0 = 0; n0 < g.N; n0 += chunk) {
    const int64_t nb = std::min(chunk, g.N - n0);
    Tensor cols = cols_of(x, g, n0, nb, buffer);
    for (int64_t i = 0; i < nb; ++i) {
      // [G, Cog, K] += grad_out [G, Cog, L] @ cols^T [G, L, K]
      Tensor go = view_at(grad_out, {groups, Cog, L}, {Cog * L, L, 1}, (n0 + i) * Cout * L);
      Tensor cols_t = view_at(cols, {groups, L, K}, {K * L, 1, L}, i * CK * L);
      be.gemm(go, cols_t, gw3, 1.0, 1.0);
    }
  }
  return grad_w;
}

// out += bias broadcast over [N, Cout, Ho, Wo] (out is fresh: no autograd involved).
void add_bias_inplace(const Tensor& out, const Tensor& bias) {
  Tensor b = make_view(bias, out.shape(), {0, bias.strides()[0], 0, 0}, bias.offset());
  backend(out.device()).binary(BinaryOp::add, out, b, out);
}

Tensor bias_grad(const Tensor& grad_out) { return sum(grad_out, {0, 2, 3}); }

// Checks shared by conv2d and conv_transpose2d: ranks, device, dtypes, and positive parameters.
void check_conv_args(const char* op, const Tensor& x, const Tensor& weight, const Tensor& bias, Size2 stride,
                     Size2 padding, Size2 dilation, int64_t groups) {
  detail::check_dims(op, "weight", weight, {4});
  detail::check_same_device(op, {&x, &weight, &bias});
  detail::check_floating(op, x);
  IRIS_CHECK(weight.dtype() == x.dtype(), op, ": input is ", dtype_name(x.dtype()), " but weight is ",
             dtype_name(weight.dtype()), "; convert one with .to(dtype)");
  if (bias.defined())
    IRIS_CHECK(bias.dtype() == x.dtype(), op, ": input is ", dtype_name(x.dtype()), " but bias is ",
               dtype_name(bias.dtype()), "; convert one with .to(dtype)");
  IRIS_CHECK(stride.h > 0 && stride.w > 0, op, ": stride must be positive, got (", stride.h, ", ", stride.w, ")");
  IRIS_CHECK(padding.h >= 0 && padding.w >= 0, op, ": padding must be non-negative, got (", padding.h, ", ",
             padding.w, ")");
  IRIS_CHECK(dilation.h > 0 && dilation.w > 0, op, ": dilation must be positive, got (", dilation.h, ", ",
             dilation.w, ")");
  IRIS_CHECK(groups > 0, op, ": groups must be positive, got ", groups);
  const int64_t limit = int64_t(1) << 30;  // keeps the size arithmetic far from overflow
  IRIS_CHECK(stride.h < limit && stride.w < limit && padding.h < limit && padding.w < limit && dilation.h < limit &&
                 dilation.w < limit,
             op, ": stride, padding and dilation must be below 2^30");
  IRIS_CHECK(weight.shape()[2] > 0 && weight.shape()[3] > 0, op, ": weight of shape ", shape_str(weight.shape()),
             " has an empty kernel");
}

void check_bias(const char* op, const Tensor& bias, int64_t Cout) {
  if (!bias.defined()) return;
  IRIS_CHECK(bias.dim() == 1 && bias.shape()[0] == Cout, op, ": bias of shape ", shape_str(bias.shape()),
             " does not match the ", Cout, " output channels; it must be [", Cout, "]");
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Size2 stride, Size2 padding, Size2 dilation,
              int64_t groups) {
  const char* op = "conv2d";
  IRIS_CHECK(x.defined() && weight.defined(), "conv2d: input or weight is undefined");
  detail::check_dims(op, "input", x, {3, 4});
  if (x.dim() == 3) return conv2d(x.unsqueeze(0), weight, bias, stride, padding, dilation, groups).squeeze(0);
  check_conv_args(op, x, weight, bias, stride, padding, dilation, groups);
  const int64_t N = x.shape()[0], C = x.shape()[1], H = x.shape()[2], W = x.shape()[3];
  const int64_t Cout = weight.shape()[0], kh = weight.shape()[2], kw = weight.shape()[3];
  IRIS_CHECK(C % groups == 0, "conv2d: input channels ", C, " are not divisible by groups=", groups);
  IRIS_CHECK(Cout % groups == 0, "conv2d: weight of shape ", shape_str(weight.shape()), " has ", Cout,
             " output channels, not divisible by groups=", groups);
  IRIS_CHECK(weight.shape()[1] * groups == C, "conv2d: weight of shape ", shape_str(weight.shape()),
             " expects ", weight.shape()[1] * groups, " input channels (", weight.shape()[1], " per group x ", groups,
             " groups) but the input of shape ", shape_str(x.shape()), " has ", C,
             "; the weight must be [Cout, C/groups, kh, kw]");
  check_bias(op, bias, Cout);
  const int64_t eff_h = dilation.h * (kh - 1) + 1, eff_w = dilation.w * (kw - 1) + 1;
  IRIS_CHECK(eff_h <= H + 2 * padding.h && eff_w <= W + 2 * padding.w, "conv2d: the kernel (", kh, "x", kw,
             ", dilated to ", eff_h, "x", eff_w, ") is larger than the padded input (", H + 2 * padding.h, "x",
             W + 2 * padding.w, ") of shape ", shape_str(x.shape()), "; use a smaller kernel or more padding");

  Conv2dGeometry g{N, C, H, W, kh, kw, stride.h, stride.w, padding.h, padding.w, dilation.h, dilation.w, 0, 0};
  g.Ho = (H + 2 * padding.h - eff_h) / stride.h + 1;
  g.Wo = (W + 2 * padding.w - eff_w) / stride.w + 1;

  Tensor xd = contiguous_nograd(x.detach()), wd = contiguous_nograd(weight.detach());
  Tensor out = conv_output(xd, wd, g, groups);
  if (bias.defined() && out.numel() > 0) add_bias_inplace(out, bias.detach());

  const bool need_x = x.requires_grad(), need_w = weight.requires_grad(), need_b = bias.requires_grad();
  return record("Conv2dBackward", out, {x, weight, bias},
                [xs = need_w ? xd : Tensor(), wd, g, groups, need_x, need_w, need_b](const Tensor& grad) {
                  Tensor go = contiguous_nograd(grad);
                  Tensor gx = need_x ? conv_input_grad(go, wd, g, groups) : Tensor();
                  Tensor gw = need_w ? conv_weight_grad(go, xs, wd, g, groups) : Tensor();
                  Tensor gb = need_b ? bias_grad(go) : Tensor();
                  return std::vector<Tensor>{gx, gw, gb};
                });
}

Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Size2 stride, Size2 padding,
                        Size2 output_padding, int64_t groups, Size2 dilation) {
  const char* op = "conv_transpose2d";
  IRIS_CHECK(x.defined() && weight.defined(), "conv_transpose2d: input or weight is undefined");
  detail::check_dims(op, "input", x, {3, 4});
  if (x.dim() == 3)
    return conv_transpose2d(x.unsqueeze(0), weight, bias, stride, padding, output_padding, groups, dilation)
        .squeeze(0);
  check_conv_args(op, x, weight, bias, stride, padding, dilation, groups);
  const int64_t N = x.shape()[0], Cin = x.shape()[1], H = x.shape()[2], W = x.shape()[3];
  const int64_t kh = weight.shape()[2], kw = weight.shape()[3];
  IRIS_CHECK(weight.shape()[0] == Cin, "conv_transpose2d: weight of shape ", shape_str(weight.shape()), " expects ",
             weight.shape()[0], " input channels but the input of shape ", shape_str(x.shape()), " has ", Cin,
             "; the weight must be [C, Cout/groups, kh, kw]");
  IRIS_CHECK(Cin % groups == 0, "conv_transpose2d: input channels ", Cin, " are not divisible by groups=", groups);
  const int64_t Cout = weight.shape()[1] * groups;
  check_bias(op, bias, Cout);
  IRIS_CHECK(output_padding.h >= 0 && output_padding.w >= 0 &&
                 output_padding.h < std::max(stride.h, dilation.h) && output_padding.w < std::max(stride.w, dilation.w),
             "conv_transpose2d: output_padding (", output_padding.h, ", ", output_padding.w,
             ") must be non-negative and smaller than either stride (", stride.h, ", ", stride.w, ") or dilation (",
             dilation.h, ", ", dilation.w, ")");
  const int64_t Ho = (H - 1) * stride.h - 2 * padding.h + dilation.h * (kh - 1) + output_padding.h + 1;
  const int64_t Wo = (W - 1) * stride.w - 2 * padding.w + dilation.w * (kw - 1) + output_padding.w + 1;
  IRIS_CHECK(H > 0 && W > 0 && Ho > 0 && Wo > 0, "conv_transpose2d: input of shape ", shape_str(x.shape()),
             " gives an output of ", Ho, "x", Wo, " (padding (", padding.h, ", ", padding.w,
             ") removes too much); use less padding or a larger input");

  // The conv whose adjoint this is maps [N, Cout, Ho, Wo] to [N, Cin, H, W] with this weight.
  Conv2dGeometry g{N, Cout, Ho, Wo, kh, kw, stride.h, stride.w, padding.h, padding.w, dilation.h, dilation.w, H, W};
  Tensor xd = contiguous_nograd(x.detach()), wd = contiguous_nograd(weight.detach());
  Tensor out = conv_input_grad(xd, wd, g, groups);
  if (bias.defined() && out.numel() > 0) add_bias_inplace(out, bias.detach());

  const bool need_x = x.requires_grad(), need_w = weight.requires_grad(), need_b = bias.requires_grad();
  return record("ConvTranspose2dBackward", out, {x, weight, bias},
                [xs = need_w ? xd : Tensor(), wd, g, groups, need_x, need_w, need_b](const Tensor& grad) {
                  Tensor go = contiguous_nograd(grad);
                  Tensor gx = need_x ? conv_output(go, wd, g, groups) : Tensor();
                  Tensor gw = need_w ? conv_weight_grad(xs, go, wd, g, groups) : Tensor();
                  Tensor gb = need_b ? bias_grad(go) : Tensor();
                  return std::vector<Tensor>{gx, gw, gb};
                });
}

}  // namespace iris
