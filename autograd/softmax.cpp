// softmax and log_softmax over any dim: one fused kernel forward (tensor/backend.h softmax) and one
// backward that reads only the saved output. A row of all -inf gives NaN, as in PyTorch; attention
// handles fully masked rows itself (autograd/attention.cpp).
// Leaves out: a dtype argument (compute in the input's floating dtype).
#include "autograd/op_util.h"

namespace iris {

namespace {

Tensor softmax_op(const Tensor& x, int64_t dim, bool log) {
  const char* name = log ? "log_softmax" : "softmax";
  IRIS_CHECK(x.defined(), name, ": the input is undefined");
  detail::check_floating(name, x);
  // A 0-d tensor is one row of one element (dim 0 or -1, as PyTorch).
  int d = normalize_dim(dim, x.dim() == 0 ? 1 : x.dim(), name);
  Tensor xc = detail::contiguous_nograd(x.detach());
  Tensor out = empty(x.shape(), {x.dtype(), x.device()});
  backend(x.device()).softmax(xc, d, log, out);
  return record(log ? "LogSoftmaxBackward" : "SoftmaxBackward", out, {x},
                [yd = out.detach(), d, log](const Tensor& g) {
                  Tensor gc = detail::contiguous_nograd(detail::cast(g, yd.dtype()));
                  Tensor gx = empty(yd.shape(), {yd.dtype(), yd.device()});
                  backend(yd.device()).softmax_backward(yd, gc, d, log, gx);
                  return std::vector<Tensor>{gx};
                });
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) { return softmax_op(x, dim, false); }
Tensor log_softmax(const Tensor& x, int64_t dim) { return softmax_op(x, dim, true); }

}  // namespace iris
