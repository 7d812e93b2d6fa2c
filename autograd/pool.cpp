// Pooling ops: max_pool2d, avg_pool2d, adaptive_avg_pool2d on [N, C, H, W] or unbatched [C, H, W].
// Output sizes follow PyTorch (ceil_mode keeps a last window only if it starts inside the input or
// the left padding). max_pool2d returns values only; the argmax indices stay inside its backward,
// which sends each gradient to the first maximum of its window. Leaves out return_indices,
// divisor_override, adaptive max pooling and fractional pooling.
#include <algorithm>

#include "autograd/op_util.h"

namespace iris {

namespace {

using detail::contiguous_nograd;

// Floor division for a possibly negative numerator (positive divisor).
int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// PyTorch's pooling output size along one dim.
int64_t pool_out_size(int64_t in, int64_t kernel, int64_t pad, int64_t stride, int64_t dilation, bool ceil_mode) {
  int64_t out = floor_div(in + 2 * pad - dilation * (kernel - 1) - 1 + (ceil_mode ? stride - 1 : 0), stride) + 1;
  if (ceil_mode && (out - 1) * stride >= in + pad) --out;  // the last window must start inside
  return out;
}

// Validates the arguments of max/avg pooling and returns the geometry of x [N, C, H, W].
Pool2dGeometry pool_geometry(const char* op, const Tensor& x, Size2 kernel, Size2 stride, Size2 padding,
                             Size2 dilation, bool ceil_mode) {
  detail::check_floating(op, x);
  IRIS_CHECK(kernel.h > 0 && kernel.w > 0, op, ": kernel size must be positive, got (", kernel.h, ", ", kernel.w,
             ")");
  IRIS_CHECK(stride.h >= 0 && stride.w >= 0, op, ": stride must be positive (or 0 for the kernel size), got (",
             stride.h, ", ", stride.w, ")");
  IRIS_CHECK(dilation.h > 0 && dilation.w > 0, op, ": dilation must be positive, got (", dilation.h, ", ",
             dilation.w, ")");
  IRIS_CHECK(padding.h >= 0 && padding.w >= 0 && padding.h <= kernel.h / 2 && padding.w <= kernel.w / 2, op,
             ": padding (", padding.h, ", ", padding.w, ") must be non-negative and at most half the kernel size (",
             kernel.h, ", ", kernel.w, ")");
  const int64_t limit = int64_t(1) << 30;  // keeps the size arithmetic far from overflow
  IRIS_CHECK(kernel.h < limit && kernel.w < limit && stride.h < limit && stride.w < limit && dilation.h < limit &&
                 dilation.w < limit,
             op, ": kernel size, stride and dilation must be below 2^30");
  Pool2dGeometry g;
  g.N = x.shape()[0];
  g.C = x.shape()[1];
  g.H = x.shape()[2];
  g.W = x.shape()[3];
  g.kh = kernel.h;
  g.kw = kernel.w;
  g.sh = stride.h == 0 ? kernel.h : stride.h;
  g.sw = stride.w == 0 ? kernel.w : stride.w;
  g.ph = padding.h;
  g.pw = padding.w;
  g.dh = dilation.h;
  g.dw = dilation.w;
  g.Ho = pool_out_size(g.H, g.kh, g.ph, g.sh, g.dh, ceil_mode);
  g.Wo = pool_out_size(g.W, g.kw, g.pw, g.sw, g.dw, ceil_mode);
  IRIS_CHECK(g.Ho > 0 && g.Wo > 0, op, ": input of shape ", shape_str(x.shape()), " is too small for kernel (",
             g.kh, ", ", g.kw, ") with dilation (", g.dh, ", ", g.dw, ") and padding (", g.ph, ", ", g.pw,
             "): the output would be ", g.Ho, "x", g.Wo);
  return g;
}

}  // namespace

Tensor max_pool2d(const Tensor& x, Size2 kernel, Size2 stride, Size2 padding, Size2 dilation, bool ceil_mode) {
  detail::check_dims("max_pool2d", "input", x, {3, 4});
  if (x.dim() == 3) return max_pool2d(x.unsqueeze(0), kernel, stride, padding, dilation, ceil_mode).squeeze(0);
  Pool2dGeometry g = pool_geometry("max_pool2d", x, kernel, stride, padding, dilation, ceil_mode);
  Tensor out = empty({g.N, g.C, g.Ho, g.Wo}, {x.dtype(), x.device()});
  Tensor indices = empty({g.N, g.C, g.Ho, g.Wo}, {DType::i64, x.device()});
  if (out.numel() > 0) backend(x.device()).max_pool2d(contiguous_nograd(x.detach()), g, out, indices);
  return record("MaxPool2dBackward", out, {x}, [indices, g](const Tensor& grad) {
    Tensor grad_x = empty({g.N, g.C, g.H, g.W}, {grad.dtype(), grad.device()});
    if (grad_x.numel() > 0) backend(grad.device()).max_pool2d_backward(contiguous_nograd(grad), indices, g, grad_x);
    return std::vector<Tensor>{grad_x};
  });
}

Tensor avg_pool2d(const Tensor& x, Size2 kernel, Size2 stride, Size2 padding, bool ceil_mode,
                  bool count_include_pad) {
  detail::check_dims("avg_pool2d", "input", x, {3, 4});
  if (x.dim() == 3) return avg_pool2d(x.unsqueeze(0), kernel, stride, padding, ceil_mode, count_include_pad).squeeze(0);
  Pool2dGeometry g = pool_geometry("avg_pool2d", x, kernel, stride, padding, 1, ceil_mode);
  Tensor out = empty({g.N, g.C, g.Ho, g.Wo}, {x.dtype(), x.device()});
  if (out.numel() > 0) backend(x.device()).avg_pool2d(contiguous_nograd(x.detach()), g, count_include_pad, out);
  return record("AvgPool2dBackward", out, {x}, [g, count_include_pad](const Tensor& grad) {
    Tensor grad_x = empty({g.N, g.C, g.H, g.W}, {grad.dtype(), grad.device()});
    if (grad_x.numel() > 0)
      backend(grad.device()).avg_pool2d_backward(contiguous_nograd(grad), g, count_include_pad, grad_x);
    return std::vector<Tensor>{grad_x};
  });
}

Tensor adaptive_avg_pool2d(const Tensor& x, Size2 output_size) {
  detail::check_dims("adaptive_avg_pool2d", "input", x, {3, 4});
  if (x.dim() == 3) return adaptive_avg_pool2d(x.unsqueeze(0), output_size).squeeze(0);
  detail::check_floating("adaptive_avg_pool2d", x);
  IRIS_CHECK(output_size.h > 0 && output_size.w > 0, "adaptive_avg_pool2d: output size must be positive, got (",
             output_size.h, ", ", output_size.w, ")");
  IRIS_CHECK(x.shape()[2] > 0 && x.shape()[3] > 0, "adaptive_avg_pool2d: input of shape ", shape_str(x.shape()),
             " has an empty spatial dim");
  const Shape in_shape = x.shape();
  Tensor out = empty({in_shape[0], in_shape[1], output_size.h, output_size.w}, {x.dtype(), x.device()});
  if (out.numel() > 0) backend(x.device()).adaptive_avg_pool2d(contiguous_nograd(x.detach()), out);
  return record("AdaptiveAvgPool2dBackward", out, {x}, [in_shape](const Tensor& grad) {
    Tensor grad_x = empty(in_shape, {grad.dtype(), grad.device()});
    if (grad_x.numel() > 0) backend(grad.device()).adaptive_avg_pool2d_backward(contiguous_nograd(grad), grad_x);
    return std::vector<Tensor>{grad_x};
  });
}

}  // namespace iris
