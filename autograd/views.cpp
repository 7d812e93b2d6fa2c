// View ops (share storage with their input) and the copies that go with them: reshape/view,
// permute/transpose, slice/narrow/select, expand, squeeze/unsqueeze, flatten, contiguous, clone,
// to(dtype), to(device). Each records a node whose backward maps the gradient back to the
// input's geometry (reshape back, inverse permutation, scatter into a zero tensor, sum over the
// expanded dims). Leaves out: views with negative strides (flip copies; see shape.cpp).
#include "autograd/op_util.h"

namespace iris {

namespace {

// The strides that let `shape` view the same elements as (old_shape, old_strides), if any.
// Old dims are grouped into runs that are contiguous with each other; each run must be covered
// exactly by a run of new dims, which then get strides inside that run.
bool view_strides(const Shape& old_shape, const Strides& old_strides, const Shape& shape, Strides& out) {
  out = Strides(shape.size());
  if (numel_of(old_shape) == 0 || old_shape.size() == 0) {
    out = contiguous_strides(shape);
    return true;
  }
  int nd = shape.size() - 1;
  int64_t base = old_strides.back();  // stride of the innermost dim of the current run
  int64_t run_numel = 1, view_numel = 1;
  for (int od = old_shape.size() - 1; od >= 0; --od) {
    run_numel *= old_shape[od];
    bool run_ends = od == 0 || (old_shape[od - 1] != 1 && old_strides[od - 1] != run_numel * base);
    if (!run_ends) continue;
    while (nd >= 0 && (view_numel < run_numel || shape[nd] == 1)) {
      out[nd] = view_numel * base;
      view_numel *= shape[nd];
      --nd;
    }
    if (view_numel != run_numel) return false;
    if (od > 0) {
      base = old_strides[od - 1];
      run_numel = 1;
      view_numel = 1;
    }
  }
  return nd == -1;
}

// Replaces one -1 in `shape` by the size that makes numel match.
Shape infer_shape(const Shape& shape, int64_t numel, const char* op, const Shape& from) {
  Shape s = shape;
  int infer = -1;
  int64_t known = 1;
  for (int i = 0; i < s.size(); ++i) {
    if (s[i] == -1) {
      IRIS_CHECK(infer < 0, op, ": only one dim can be -1, got ", shape_str(shape));
      infer = i;
    } else {
      IRIS_CHECK(s[i] >= 0, op, ": invalid size ", s[i], " in ", shape_str(shape));
      known *= s[i];
    }
  }
  if (infer >= 0) {
    IRIS_CHECK(known != 0 && numel % known == 0, op, ": cannot reshape ", shape_str(from), " (", numel,
               " elements) into ", shape_str(shape));
    s[infer] = numel / known;
  }
  IRIS_CHECK(numel_of(s) == numel, op, ": cannot reshape ", shape_str(from), " (", numel, " elements) into ",
             shape_str(shape), " (", numel_of(s), " elements)");
  return s;
}

// A view of `x` with new geometry and a backward that maps the gradient back via `back`.
Tensor view_op(const char* name, const Tensor& x, const Shape& shape, const Strides& strides, int64_t offset,
               BackwardFn back) {
  Tensor out = make_view(x, shape, strides, offset);
  return record(name, out, {x}, std::move(back));
}

// Gradient of a strided sub-view: zeros of the input's shape with g written into the view.
Tensor scatter_into_zeros(const Tensor& g, const Shape& in_shape, const Strides& view_strides_of_contig,
                          const Shape& view_shape, int64_t view_offset) {
  Tensor gx = zeros(in_shape, {g.dtype(), g.device()});
  Tensor target = make_view(gx, view_shape, view_strides_of_contig, view_offset);
  backend(g.device()).copy(g, target);
  return gx;
}

}  // namespace

Tensor Tensor::view(const Shape& shape_in) const {
  Shape s = infer_shape(shape_in, numel(), "view", shape());
  Strides st;
  IRIS_CHECK(view_strides(shape(), strides(), s, st), "view: cannot view a tensor of shape ", shape_str(shape()),
             " with strides ", shape_str(strides()), " as ", shape_str(s),
             " without copying; use reshape() (copies when needed) or call contiguous() first");
  return view_op("ViewBackward", *this, s, st, offset(), [in = shape()](const Tensor& g) {
    return std::vector<Tensor>{g.reshape(in)};
  });
}

Tensor Tensor::reshape(const Shape& shape_in) const {
  Shape s = infer_shape(shape_in, numel(), "reshape", shape());
  if (s == shape()) return *this;
  Strides st;
  if (view_strides(shape(), strides(), s, st)) return view(s);
  return contiguous().view(s);
}

Tensor Tensor::permute(const Shape& dims) const {
  int n = dim();
  IRIS_CHECK(dims.size() == n, "permute: got ", dims.size(), " dims ", shape_str(dims), " for a tensor with ", n,
             " dims");
  Shape shape_out(n), inverse(n);
  Strides st(n);
  uint32_t seen = 0;
  for (int i = 0; i < n; ++i) {
    int d = normalize_dim(dims[i], n, "permute");
    IRIS_CHECK(!(seen & (1u << d)), "permute: dim ", dims[i], " repeated in ", shape_str(dims));
    seen |= 1u << d;
    shape_out[i] = shape()[d];
    st[i] = strides()[d];
    inverse[d] = i;
  }
  return view_op("PermuteBackward", *this, shape_out, st, offset(), [inverse](const Tensor& g) {
    return std::vector<Tensor>{g.permute(inverse)};
  });
}

Tensor Tensor::transpose(int64_t d0, int64_t d1) const {
  int n = dim();
  if (n == 0) return *this;
  int a = normalize_dim(d0, n, "transpose"), b = normalize_dim(d1, n, "transpose");
  Shape perm(n);
  for (int i = 0; i < n; ++i) perm[i] = i;
  std::swap(perm[a], perm[b]);
  return permute(perm);
}

Tensor Tensor::t() const {
  IRIS_CHECK(dim() <= 2, "t(): expects a tensor with at most 2 dims, got shape ", shape_str(shape()),
             "; use transpose(d0, d1)");
  return dim() < 2 ? *this : transpose(0, 1);
}

Tensor Tensor::slice(int64_t dim_in, int64_t start, int64_t end, int64_t step) const {
  int d = normalize_dim(dim_in, dim(), "slice");
  IRIS_CHECK(dim() > 0, "slice: cannot slice a 0-d tensor");
  IRIS_CHECK(step > 0, "slice: step must be positive, got ", step, " (use flip() to reverse)");
  int64_t n = shape()[d];
  if (start < 0) start += n;
  if (end < 0) end += n;
  start = std::min(std::max<int64_t>(start, 0), n);
  end = std::min(std::max<int64_t>(end, start), n);
  Shape s = shape();
  Strides st = strides();
  s[d] = (end - start + step - 1) / step;
  st[d] = strides()[d] * step;
  int64_t off = offset() + start * strides()[d];
  Shape in = shape();
  Strides in_contig = contiguous_strides(in);
  Strides gst = in_contig;
  gst[d] = in_contig[d] * step;
  int64_t goff = start * in_contig[d];
  return view_op("SliceBackward", *this, s, st, off, [in, gst, s, goff](const Tensor& g) {
    return std::vector<Tensor>{scatter_into_zeros(g, in, gst, s, goff)};
  });
}

Tensor Tensor::narrow(int64_t dim_in, int64_t start, int64_t length) const {
  int d = normalize_dim(dim_in, dim(), "narrow");
  int64_t n = shape()[d];
  if (start < 0) start += n;
  IRIS_CHECK(start >= 0 && length >= 0 && start + length <= n, "narrow: range [", start, ", ", start + length,
             ") is outside dim ", d, " of size ", n);
  return slice(d, start, start + length);
}

Tensor Tensor::select(int64_t dim_in, int64_t index) const {
  IRIS_CHECK(dim() > 0, "select: cannot index a 0-d tensor");
  int d = normalize_dim(dim_in, dim(), "select");
  int64_t n = shape()[d];
  IRIS_CHECK(index >= -n && index < n, "select: index ", index, " is out of range for dim ", d, " of size ", n);
  if (index < 0) index += n;
  Shape s = shape();
  Strides st = strides();
  s.erase(d);
  st.erase(d);
  Shape in = shape();
  Strides gst = contiguous_strides(in);
  int64_t goff = index * gst[d];
  gst.erase(d);
  return view_op("SelectBackward", *this, s, st, offset() + index * strides()[d], [in, gst, s, goff](const Tensor& g) {
    return std::vector<Tensor>{scatter_into_zeros(g, in, gst, s, goff)};
  });
}

Tensor Tensor::expand(const Shape& shape_in) const {
  int n = shape_in.size(), off = n - dim();
  IRIS_CHECK(off >= 0, "expand: the target ", shape_str(shape_in), " has fewer dims than the tensor ",
             shape_str(shape()));
  Shape s(n);
  Strides st(n);
  for (int i = 0; i < n; ++i) {
    int j = i - off;
    int64_t want = shape_in[i];
    if (j < 0) {
      IRIS_CHECK(want >= 0, "expand: -1 is not allowed for a new leading dim, got ", shape_str(shape_in));
      s[i] = want;
      st[i] = 0;
      continue;
    }
    int64_t have = shape()[j];
    if (want == -1 || want == have) {
      s[i] = have;
      st[i] = strides()[j];
    } else {
      IRIS_CHECK(have == 1, "expand: cannot expand dim ", j, " of size ", have, " to ", want, " (shape ",
                 shape_str(shape()), " to ", shape_str(shape_in), "); only size-1 dims expand");
      s[i] = want;
      st[i] = 0;
    }
  }
  if (s == shape()) return *this;
  return view_op("ExpandBackward", *this, s, st, offset(), [in = shape()](const Tensor& g) {
    return std::vector<Tensor>{sum_to(g, in)};
  });
}

Tensor Tensor::squeeze() const {
  Shape s;
  for (int64_t d : shape())
    if (d != 1) s.push_back(d);
  return s == shape() ? *this : reshape(s);
}

Tensor Tensor::squeeze(int64_t dim_in) const {
  if (dim() == 0) return *this;
  int d = normalize_dim(dim_in, dim(), "squeeze");
  if (shape()[d] != 1) return *this;
  Shape s = shape();
  s.erase(d);
  return reshape(s);
}

Tensor Tensor::unsqueeze(int64_t dim_in) const {
  int d = normalize_dim(dim_in, dim() + 1, "unsqueeze");
  Shape s = shape();
  s.insert(d, 1);
  return reshape(s);
}

Tensor Tensor::flatten(int64_t start_dim, int64_t end_dim) const {
  if (dim() == 0) return reshape({1});
  int a = normalize_dim(start_dim, dim(), "flatten"), b = normalize_dim(end_dim, dim(), "flatten");
  IRIS_CHECK(a <= b, "flatten: start_dim (", start_dim, ") comes after end_dim (", end_dim, ")");
  Shape s;
  for (int i = 0; i < a; ++i) s.push_back(shape()[i]);
  int64_t m = 1;
  for (int i = a; i <= b; ++i) m *= shape()[i];
  s.push_back(m);
  for (int i = b + 1; i < dim(); ++i) s.push_back(shape()[i]);
  return reshape(s);
}

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  return clone();
}

Tensor Tensor::clone() const {
  Tensor out = empty(shape(), {dtype(), device()});
  backend(device()).copy(*this, out);
  return record("CloneBackward", out, {*this}, [](const Tensor& g) { return std::vector<Tensor>{g}; });
}

Tensor Tensor::to(DType dt) const {
  if (dt == dtype()) return *this;
  Tensor out = detail::cast(detach(), dt);
  if (!is_floating(dt)) return out;  // integer results carry no gradient
  return record("ToDTypeBackward", out, {*this}, [src = dtype()](const Tensor& g) {
    return std::vector<Tensor>{g.to(src)};
  });
}

Tensor Tensor::to(Device d) const {
  if (d == device()) return *this;
  Tensor out = empty(shape(), {dtype(), d});
  // Cross-device copies run on the GPU side's backend, which knows both memories.
  backend(d.is_cuda() ? d : device()).copy(*this, out);
  return record("ToDeviceBackward", out, {*this}, [src = device()](const Tensor& g) {
    return std::vector<Tensor>{g.to(src)};
  });
}

}  // namespace iris
