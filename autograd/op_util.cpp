// Helpers shared by the op implementations: checks, promotion, broadcasting views, dim masks.
#include "autograd/op_util.h"

namespace iris::detail {

void check_same_device(const char* op, std::initializer_list<const Tensor*> ts) {
  const Tensor* first = nullptr;
  for (const Tensor* t : ts) {
    if (!t->defined()) continue;
    if (!first) {
      first = t;
      continue;
    }
    IRIS_CHECK(t->device() == first->device(), op, ": tensors are on different devices (", first->device().str(),
               " and ", t->device().str(), "); move them with .to(device)");
  }
}

void check_dims(const char* op, const char* what, const Tensor& t, std::initializer_list<int> ranks) {
  IRIS_CHECK(t.defined(), op, ": ", what, " is undefined");
  for (int r : ranks)
    if (t.dim() == r) return;
  std::string allowed;
  for (int r : ranks) allowed += (allowed.empty() ? "" : " or ") + std::to_string(r);
  throw Error(cat_str(op, ": ", what, " must have ", allowed, " dims, got shape ", shape_str(t.shape())));
}

void check_floating(const char* op, const Tensor& t) {
  IRIS_CHECK(is_floating(t.dtype()), op, ": needs a floating tensor, got ", dtype_name(t.dtype()),
             "; convert with .to(DType::f32)");
}

DType result_dtype(const Tensor& a, const Tensor& b) {
  bool sa = a.dim() == 0, sb = b.dim() == 0;
  if (sa == sb) return promote_types(a.dtype(), b.dtype());
  DType t = sa ? b.dtype() : a.dtype();  // the non-scalar side
  DType s = sa ? a.dtype() : b.dtype();  // the scalar side
  if (is_floating(s) && !is_floating(t)) return DType::f32;
  if (t == DType::b8 && s != DType::b8) return promote_types(t, s);
  return t == DType::bf16 || t == DType::f16 ? DType::f32 : t;
}

Tensor scalar_like(const Tensor& t, double v) {
  DType dt = t.dtype();
  if (!is_floating(dt) && v != static_cast<double>(static_cast<int64_t>(v))) dt = DType::f32;
  if (dt == DType::b8 && v != 0.0 && v != 1.0) dt = DType::i64;
  if (dt == DType::bf16 || dt == DType::f16) dt = DType::f32;
  return full(Shape{}, v, {dt, t.device()});
}

Tensor cast(const Tensor& t, DType dtype) {
  if (t.dtype() == dtype) return t;
  Tensor out = empty(t.shape(), {dtype, t.device()});
  backend(t.device()).copy(t, out);
  return out;
}

Tensor broadcast_to(const Tensor& t, const Shape& shape) {
  if (t.shape() == shape) return t;
  int n = shape.size(), off = n - t.dim();
  IRIS_CHECK(off >= 0, "broadcast: cannot broadcast shape ", shape_str(t.shape()), " to ", shape_str(shape));
  Strides st(n);
  for (int i = 0; i < n; ++i) {
    int j = i - off;
    if (j < 0) {
      st[i] = 0;
    } else if (t.shape()[j] == shape[i]) {
      st[i] = t.strides()[j];
    } else {
      IRIS_CHECK(t.shape()[j] == 1, "broadcast: cannot broadcast shape ", shape_str(t.shape()), " to ",
                 shape_str(shape));
      st[i] = 0;
    }
  }
  return make_view(t, shape, st, t.offset());
}

Tensor contiguous_nograd(const Tensor& t) {
  if (t.is_contiguous()) return t;
  Tensor out = empty(t.shape(), {t.dtype(), t.device()});
  backend(t.device()).copy(t, out);
  return out;
}

uint32_t dims_mask(const std::vector<int64_t>& dims, int ndim, const char* op) {
  if (dims.empty()) return ndim == 0 ? 0u : (ndim >= 32 ? ~0u : ((1u << ndim) - 1));
  uint32_t mask = 0;
  for (int64_t d : dims) {
    int nd = normalize_dim(d, ndim, op);
    if (ndim == 0) continue;
    IRIS_CHECK(!(mask & (1u << nd)), op, ": dim ", d, " appears twice in the list of dims");
    mask |= 1u << nd;
  }
  return mask;
}

Shape reduced_shape(const Shape& s, uint32_t mask, bool keepdim) {
  Shape out;
  for (int i = 0; i < s.size(); ++i) {
    if (mask & (1u << i)) {
      if (keepdim) out.push_back(1);
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace iris::detail
