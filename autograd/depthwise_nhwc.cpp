// depthwise_conv2d_nhwc: a depthwise (groups == C), stride-1 convolution of a channels-last map
// x [N, H, W, C], equal to permuting to NCHW, calling conv2d and permuting back, but in one kernel
// with no permute copies (DaViT's ConvPosEnc). Backends without the kernel get that composition.
// Leaves out stride, dilation, channel multipliers and unbatched inputs (use conv2d for those).
#include "autograd/op_util.h"

namespace iris {

Tensor depthwise_conv2d_nhwc(const Tensor& x, const Tensor& weight, const Tensor& bias, Size2 padding) {
  const char* op = "depthwise_conv2d_nhwc";
  IRIS_CHECK(x.defined() && weight.defined(), op, ": input or weight is undefined");
  detail::check_dims(op, "input", x, {4});
  detail::check_dims(op, "weight", weight, {4});
  detail::check_same_device(op, {&x, &weight, &bias});
  detail::check_floating(op, x);
  IRIS_CHECK(weight.dtype() == x.dtype(), op, ": input is ", dtype_name(x.dtype()), " but weight is ",
             dtype_name(weight.dtype()), "; convert one with .to(dtype)");
  const int64_t N = x.shape()[0], H = x.shape()[1], W = x.shape()[2], C = x.shape()[3];
  const int64_t kh = weight.shape()[2], kw = weight.shape()[3];
  IRIS_CHECK(weight.shape()[0] == C && weight.shape()[1] == 1 && kh > 0 && kw > 0, op, ": weight of shape ",
             shape_str(weight.shape()), " does not fit the input ", shape_str(x.shape()), " [N, H, W, C]; it must be [",
             C, ", 1, kh, kw] (one kh x kw filter per channel, as nn::Conv2d with groups = C)");
  if (bias.defined()) {
    IRIS_CHECK(bias.dtype() == x.dtype(), op, ": input is ", dtype_name(x.dtype()), " but bias is ",
               dtype_name(bias.dtype()), "; convert one with .to(dtype)");
    IRIS_CHECK(bias.dim() == 1 && bias.shape()[0] == C, op, ": bias of shape ", shape_str(bias.shape()),
               " does not match the ", C, " channels; it must be [", C, "]");
  }
  const int64_t limit = int64_t(1) << 30;  // keeps the size arithmetic far from overflow
  IRIS_CHECK(padding.h >= 0 && padding.w >= 0 && padding.h < limit && padding.w < limit, op,
             ": padding must be non-negative and below 2^30, got (", padding.h, ", ", padding.w, ")");
  const int64_t Ho = H + 2 * padding.h - kh + 1, Wo = W + 2 * padding.w - kw + 1;
  IRIS_CHECK(Ho >= 1 && Wo >= 1, op, ": the ", kh, "x", kw, " kernel is larger than the padded input (",
             H + 2 * padding.h, "x", W + 2 * padding.w, ") of shape ", shape_str(x.shape()),
             "; use a smaller kernel or more padding");

  Backend& be = backend(x.device());
  if (!be.supports(Kernel::depthwise_conv2d_nhwc, x.dtype()))  // the composition; autograd differentiates it
    return conv2d(x.permute({0, 3, 1, 2}), weight, bias, 1, padding, 1, C).permute({0, 2, 3, 1});

  Tensor xd = detail::contiguous_nograd(x.detach()), wd = detail::contiguous_nograd(weight.detach());
  Tensor bd = bias.defined() ? detail::contiguous_nograd(bias.detach()) : Tensor();
  Tensor out = empty({N, Ho, Wo, C}, {x.dtype(), x.device()});  // [N, Ho, Wo, C]
  if (out.numel() > 0) be.depthwise_conv2d_nhwc(xd, wd, bd, padding.h, padding.w, out);

  const bool need_x = x.requires_grad(), need_w = weight.requires_grad(), need_b = bias.requires_grad();
  // The kernel reads x's values only for grad_w; otherwise grad_x (same shape) stands in for it.
  Tensor xs = need_w || !need_x ? xd : Tensor();
  return record("DepthwiseConv2dNhwcBackward", out, {x, weight, bias},
                [xs, wd, padding, need_x, need_w, need_b, x_shape = x.shape()](const Tensor& grad) {
                  Tensor go = detail::contiguous_nograd(grad);  // [N, Ho, Wo, C]
                  const TensorOptions like{go.dtype(), go.device()};
                  Tensor gx = need_x ? empty(x_shape, like) : Tensor();
                  Tensor gw = need_w ? empty(wd.shape(), like) : Tensor();
                  Tensor gb = need_b ? empty({wd.shape()[0]}, like) : Tensor();
                  backend(go.device())
                      .depthwise_conv2d_nhwc_backward(go, xs.defined() ? xs : gx, wd, padding.h, padding.w, gx, gw, gb);
                  return std::vector<Tensor>{gx, gw, gb};
                });
}

}  // namespace iris
