// Shape and indexing ops: cat/stack, split/chunk (views), gather/scatter_add, index_select/embedding,
// repeat, flip, pad (constant, reflect), roll. Forward and backward sit together; the ops that are
// compositions of others (stack, embedding, repeat, flip, reflect pad, roll) get their gradient
// from the parts. Leaves out: negative indices (rejected), circular/replicate padding, in-place
// scatter, and second derivatives.
// Backward pairs: gather <-> scatter_add, index_select <-> index_add, cat <-> slices, pad <-> crop.
#include <string>

#include "autograd/op_util.h"

namespace iris {

using detail::contiguous_nograd;

namespace {

void check_index_dtype(const char* op, const Tensor& index) {
  IRIS_CHECK(index.defined(), op, ": the index tensor is undefined");
  IRIS_CHECK(index.dtype() == DType::i64 || index.dtype() == DType::i32, op, ": indices must be i64 or i32, got ",
             dtype_name(index.dtype()), "; convert with .to(DType::i64)");
}

// "[1, 2, 3]" for lists that may be longer than a Shape holds.
std::string list_str(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

// The region of a fresh contiguous tensor `base` that starts at `starts` and has shape `shape`.
Tensor region_of(const Tensor& base, const Shape& shape, const std::vector<int64_t>& starts) {
  int64_t off = base.offset();
  for (int d = 0; d < base.dim(); ++d) off += starts[d] * base.strides()[d];
  return make_view(base, shape, base.strides(), off);
}

// zeros(shape) with g's rows added at index along dim (backward of index_select).
Tensor index_add_into_zeros(const Tensor& g, const Shape& shape, int dim, const Tensor& index) {
  Tensor gx = zeros(shape, {g.dtype(), g.device()});
  backend(g.device()).index_add(gx, dim, index, contiguous_nograd(g));
  return gx;
}

// x.index_select(dim, index) for x with >= 1 dim and a 0-d/1-d index; errors name `op`.
Tensor index_select_impl(const char* op, const Tensor& x, int d, const Tensor& index) {
  Shape out_shape = x.shape();
  out_shape[d] = index.numel();
  Tensor out = empty(out_shape, {x.dtype(), x.device()});
  Tensor idx = contiguous_nograd(index.detach());
  if (idx.dim() == 0) idx = idx.reshape({1});
  try {
    backend(x.device()).index_select(contiguous_nograd(x.detach()), d, idx, out);
  } catch (const Error& e) {
    if (std::string(op) == "index_select") throw;
    throw Error(cat_str(op, ": ", e.what()));  // "embedding: index_select: index 9 is out of range ..."
  }
  return record("IndexSelectBackward", out, {x}, [in = x.shape(), d, idx](const Tensor& g) {
    return std::vector<Tensor>{index_add_into_zeros(g, in, d, idx)};
  });
}

}  // namespace

// ---- cat / stack ------------------------------------------------------------------------------

// Each input is copied into its slice of the output along dim; the gradient of input i is the
// matching slice of the output's gradient. dtypes promote as in binary ops.
Tensor cat(const std::vector<Tensor>& xs, int64_t dim) {
  IRIS_CHECK(!xs.empty(), "cat: needs at least one tensor, got an empty list");
  for (size_t i = 0; i < xs.size(); ++i) IRIS_CHECK(xs[i].defined(), "cat: tensor ", i, " is undefined");
  const Tensor& first = xs[0];
  IRIS_CHECK(first.dim() > 0, "cat: cannot concatenate 0-d tensors (tensor 0 has shape []); use stack(), or "
                              "unsqueeze(0) each tensor first");
  const int n = first.dim();
  const int d = normalize_dim(dim, n, "cat");
  DType dt = first.dtype();
  Shape out_shape = first.shape();
  out_shape[d] = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    const Tensor& x = xs[i];
    IRIS_CHECK(x.dim() == n, "cat: tensor ", i, " has shape ", shape_str(x.shape()), " but tensor 0 has shape ",
               shape_str(first.shape()), "; all tensors need the same number of dims");
    for (int k = 0; k < n; ++k)
      IRIS_CHECK(k == d || x.shape()[k] == first.shape()[k], "cat: tensor ", i, " has shape ",
                 shape_str(x.shape()), " but tensor 0 has shape ", shape_str(first.shape()),
                 "; sizes must match in every dim except the concatenation dim ", d, " (they differ in dim ", k, ")");
    IRIS_CHECK(x.device() == first.device(), "cat: tensor ", i, " is on ", x.device().str(), " but tensor 0 is on ",
               first.device().str(), "; move them with .to(device)");
    dt = promote_types(dt, x.dtype());
    out_shape[d] += x.shape()[d];
  }
  Tensor out = empty(out_shape, {dt, first.device()});
  std::vector<int64_t> starts(xs.size()), sizes(xs.size());
  std::vector<bool> wants_grad(xs.size());
  std::vector<int64_t> at(n, 0);
  for (size_t i = 0; i < xs.size(); ++i) {
    starts[i] = at[d];
    sizes[i] = xs[i].shape()[d];
    wants_grad[i] = xs[i].requires_grad();
    if (xs[i].numel() > 0) backend(out.device()).copy(xs[i].detach(), region_of(out, xs[i].shape(), at));
    at[d] += sizes[i];
  }
  return record("CatBackward", out, xs, [d, starts, sizes, wants_grad](const Tensor& g) {
    std::vector<Tensor> grads(starts.size());
    for (size_t i = 0; i < starts.size(); ++i)
      if (wants_grad[i]) grads[i] = g.slice(d, starts[i], starts[i] + sizes[i]);
    return grads;
  });
}

Tensor stack(const std::vector<Tensor>& xs, int64_t dim) {
  IRIS_CHECK(!xs.empty(), "stack: needs at least one tensor, got an empty list");
  for (size_t i = 0; i < xs.size(); ++i) {
    IRIS_CHECK(xs[i].defined(), "stack: tensor ", i, " is undefined");
    IRIS_CHECK(xs[i].shape() == xs[0].shape(), "stack: tensor ", i, " has shape ", shape_str(xs[i].shape()),
               " but tensor 0 has shape ", shape_str(xs[0].shape()), "; stack needs tensors of one shape");
  }
  const int d = normalize_dim(dim, xs[0].dim() + 1, "stack");
  std::vector<Tensor> parts;
  parts.reserve(xs.size());
  for (const Tensor& x : xs) parts.push_back(x.unsqueeze(d));
  return cat(parts, d);
}

// ---- split / chunk (views; the slices carry their own backward) ------------------------------

std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim) {
  IRIS_CHECK(x.defined(), "split: the input is undefined");
  IRIS_CHECK(x.dim() > 0, "split: cannot split a 0-d tensor");
  const int d = normalize_dim(dim, x.dim(), "split");
  const int64_t n = x.shape()[d];
  IRIS_CHECK(split_size > 0 || (split_size == 0 && n == 0), "split: split_size must be positive, got ", split_size,
             " (dim ", d, " has size ", n, ")");
  if (n == 0) return {x.slice(d, 0, 0)};
  std::vector<Tensor> pieces;
  for (int64_t start = 0; start < n; start += split_size) pieces.push_back(x.slice(d, start, std::min(start + split_size, n)));
  return pieces;
}

std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim) {
  IRIS_CHECK(x.defined(), "split: the input is undefined");
  IRIS_CHECK(x.dim() > 0, "split: cannot split a 0-d tensor");
  const int d = normalize_dim(dim, x.dim(), "split");
  const int64_t n = x.shape()[d];
  int64_t total = 0;
  for (int64_t s : sizes) {
    IRIS_CHECK(s >= 0, "split: sizes must be non-negative, got ", list_str(sizes));
    total += s;
  }
  IRIS_CHECK(total == n, "split: sizes ", list_str(sizes), " add up to ", total, " but dim ", d, " of shape ",
             shape_str(x.shape()), " has size ", n);
  std::vector<Tensor> pieces;
  int64_t start = 0;
  for (int64_t s : sizes) {
    pieces.push_back(x.slice(d, start, start + s));
    start += s;
  }
  return pieces;
}

// As torch.chunk: pieces of ceil(n / chunks), so there may be fewer than `chunks` of them.
std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim) {
  IRIS_CHECK(x.defined(), "chunk: the input is undefined");
  IRIS_CHECK(chunks > 0, "chunk: the number of chunks must be positive, got ", chunks);
  IRIS_CHECK(x.dim() > 0, "chunk: cannot split a 0-d tensor");
  const int d = normalize_dim(dim, x.dim(), "chunk");
  const int64_t n = x.shape()[d];
  if (n == 0) return std::vector<Tensor>(static_cast<size_t>(chunks), x.slice(d, 0, 0));
  return split(x, (n + chunks - 1) / chunks, d);
}

// ---- gather / scatter_add ---------------------------------------------------------------------

// out: index's shape, out[..., j, ...] = x[..., index[..., j, ...], ...] along dim.
// Backward: the gradient scattered (added) back to the positions it was read from.
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index) {
  IRIS_CHECK(x.defined(), "gather: the input is undefined");
  check_index_dtype("gather", index);
  detail::check_same_device("gather", {&x, &index});
  IRIS_CHECK(index.dim() == x.dim(), "gather: index has shape ", shape_str(index.shape()), " and x has shape ",
             shape_str(x.shape()), "; they need the same number of dims");
  if (x.dim() == 0) return gather(x.reshape({1}), normalize_dim(dim, 1, "gather"), index.reshape({1})).reshape({});
  const int d = normalize_dim(dim, x.dim(), "gather");
  for (int k = 0; k < x.dim(); ++k)
    IRIS_CHECK(k == d || index.shape()[k] <= x.shape()[k], "gather: index has shape ", shape_str(index.shape()),
               " and x has shape ", shape_str(x.shape()), ": index.size(", k, ") = ", index.shape()[k],
               " exceeds x.size(", k, ") = ", x.shape()[k], " (only dim ", d, " may be larger)");
  Tensor out = empty(index.shape(), {x.dtype(), x.device()});
  Tensor idx = contiguous_nograd(index.detach());
  backend(x.device()).gather(contiguous_nograd(x.detach()), d, idx, out);
  return record("GatherBackward", out, {x}, [in = x.shape(), d, idx](const Tensor& g) {
    Tensor gx = zeros(in, {g.dtype(), g.device()});
    backend(g.device()).scatter_add(gx, d, idx, contiguous_nograd(g));
    return std::vector<Tensor>{gx};
  });
}

// x + (src scattered along dim at index), over index's shape; src and x may be larger than index.
// Backward: x gets the gradient as is, src gets it gathered from where src's elements went.
Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
  IRIS_CHECK(x.defined() && src.defined(), "scatter_add: x or src is undefined");
  check_index_dtype("scatter_add", index);
  detail::check_same_device("scatter_add", {&x, &index, &src});
  IRIS_CHECK(src.dtype() == x.dtype(), "scatter_add: src has dtype ", dtype_name(src.dtype()), " but x has ",
             dtype_name(x.dtype()), "; convert src with .to(DType::", dtype_name(x.dtype()), ")");
  IRIS_CHECK(index.dim() == x.dim() && src.dim() == x.dim(), "scatter_add: x ", shape_str(x.shape()), ", index ",
             shape_str(index.shape()), " and src ", shape_str(src.shape()), " need the same number of dims");
  if (x.dim() == 0)
    return scatter_add(x.reshape({1}), normalize_dim(dim, 1, "scatter_add"), index.reshape({1}), src.reshape({1}))
        .reshape({});
  const int d = normalize_dim(dim, x.dim(), "scatter_add");
  for (int k = 0; k < x.dim(); ++k) {
    IRIS_CHECK(index.shape()[k] <= src.shape()[k], "scatter_add: index has shape ", shape_str(index.shape()),
               " and src has shape ", shape_str(src.shape()), ": index.size(", k, ") = ", index.shape()[k],
               " exceeds src.size(", k, ") = ", src.shape()[k]);
    IRIS_CHECK(k == d || index.shape()[k] <= x.shape()[k], "scatter_add: index has shape ",
               shape_str(index.shape()), " and x has shape ", shape_str(x.shape()), ": index.size(", k, ") = ",
               index.shape()[k], " exceeds x.size(", k, ") = ", x.shape()[k], " (only dim ", d, " may be larger)");
  }
  Tensor out = empty(x.shape(), {x.dtype(), x.device()});
  backend(x.device()).copy(x.detach(), out);
  Tensor idx = contiguous_nograd(index.detach());
  backend(x.device()).scatter_add(out, d, idx, contiguous_nograd(src.detach()));
  return record("ScatterAddBackward", out, {x, src},
                [d, idx, src_shape = src.shape(), src_grad = src.requires_grad()](const Tensor& g) {
                  if (!src_grad) return std::vector<Tensor>{g, Tensor()};
                  Tensor picked = empty(idx.shape(), {g.dtype(), g.device()});
                  backend(g.device()).gather(contiguous_nograd(g), d, idx, picked);
                  if (idx.shape() == src_shape) return std::vector<Tensor>{g, picked};
                  // src elements outside index's extent were never scattered: zero gradient.
                  Tensor gsrc = zeros(src_shape, {g.dtype(), g.device()});
                  backend(g.device()).copy(picked, region_of(gsrc, idx.shape(), std::vector<int64_t>(idx.dim(), 0)));
                  return std::vector<Tensor>{g, gsrc};
                });
}

// ---- index_select / embedding -----------------------------------------------------------------

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
  IRIS_CHECK(x.defined(), "index_select: the input is undefined");
  check_index_dtype("index_select", index);
  detail::check_same_device("index_select", {&x, &index});
  IRIS_CHECK(index.dim() <= 1, "index_select: index must be 0-d or 1-d, got shape ", shape_str(index.shape()),
             "; flatten it with reshape({-1})");
  if (x.dim() == 0) {  // as PyTorch: one index (which must be 0) and a 0-d result
    IRIS_CHECK(index.numel() == 1, "index_select: a 0-d input takes exactly one index, got ", index.numel());
    return index_select_impl("index_select", x.reshape({1}), normalize_dim(dim, 1, "index_select"), index).reshape({});
  }
  return index_select_impl("index_select", x, normalize_dim(dim, x.dim(), "index_select"), index);
}

// weight: [V, E], indices: [...] -> [..., E]; rows of weight picked by index_select, so the
// gradient adds each output row back into the row of weight it came from.
Tensor embedding(const Tensor& weight, const Tensor& indices) {
  detail::check_dims("embedding", "weight", weight, {2});
  check_index_dtype("embedding", indices);
  detail::check_same_device("embedding", {&weight, &indices});
  Shape out_shape = indices.shape();
  IRIS_CHECK(out_shape.size() < kMaxDims, "embedding: indices of shape ", shape_str(indices.shape()),
             " would give a result with more than ", kMaxDims, " dims");
  out_shape.push_back(weight.shape()[1]);
  Tensor rows = index_select_impl("embedding", weight, 0, indices.reshape({-1}));  // [numel(indices), E]
  return rows.reshape(out_shape);
}

// ---- repeat / flip ----------------------------------------------------------------------------

// Tiles x repeats[d] times along each dim (leading extra repeats add dims), one dim at a time:
// x viewed as [A, B] (A = dims before d, B = the rest) becomes [A, r, B] by expand, then a
// contiguous copy. The gradient sums the tiles (the backward of expand).
Tensor repeat(const Tensor& x, const Shape& repeats) {
  IRIS_CHECK(x.defined(), "repeat: the input is undefined");
  IRIS_CHECK(repeats.size() >= x.dim(), "repeat: got ", repeats.size(), " repeats ", shape_str(repeats),
             " for a tensor of shape ", shape_str(x.shape()), "; give at least one per dim");
  for (int64_t r : repeats)
    IRIS_CHECK(r >= 0, "repeat: repeats must be non-negative, got ", shape_str(repeats));
  Shape lead_shape(repeats.size() - x.dim(), 1);
  for (int64_t s : x.shape()) lead_shape.push_back(s);
  Tensor y = x.reshape(lead_shape);
  bool copied = false;
  for (int d = 0; d < repeats.size(); ++d) {
    const int64_t r = repeats[d];
    if (r == 1) continue;
    int64_t before = 1, rest = 1;
    for (int k = 0; k < d; ++k) before *= y.shape()[k];
    for (int k = d; k < y.dim(); ++k) rest *= y.shape()[k];
    Shape tiled = y.shape();
    tiled[d] *= r;
    y = y.reshape({before, 1, rest}).expand({before, r, rest}).reshape(tiled);
    copied = true;
  }
  return copied ? y : y.clone();
}

// Reverses the listed dims (an empty list flips nothing and returns a copy). iris has no negative
// strides, so each flipped dim is an index_select with reversed indices.
Tensor flip(const Tensor& x, const std::vector<int64_t>& dims) {
  IRIS_CHECK(x.defined(), "flip: the input is undefined");
  if (dims.empty() || x.dim() == 0) {
    for (int64_t d : dims) normalize_dim(d, x.dim(), "flip");
    return x.clone();
  }
  uint32_t mask = detail::dims_mask(dims, x.dim(), "flip");
  Tensor y = x;
  for (int d = 0; d < x.dim(); ++d) {
    const int64_t n = x.shape()[d];
    if (!(mask & (1u << d)) || n <= 1) continue;
    y = index_select(y, d, arange(static_cast<double>(n - 1), -1.0, -1.0, {DType::i64, x.device()}));
  }
  return y.shares_storage(x) ? y.clone() : y;
}

// ---- pad --------------------------------------------------------------------------------------

namespace {

// Constant padding (negative pads crop): fill, then copy the kept part of x into the interior.
// Backward: the same op with negated pads (crop where we padded, zeros where we cropped).
Tensor pad_constant(const Tensor& x, const std::vector<int64_t>& pads, double value) {
  const int n = x.dim();
  Shape out_shape = x.shape(), kept_shape = x.shape();
  std::vector<int64_t> src_start(n, 0), dst_start(n, 0);
  for (size_t p = 0; p * 2 < pads.size(); ++p) {
    const int d = n - 1 - static_cast<int>(p);
    const int64_t before = pads[2 * p], after = pads[2 * p + 1], size = x.shape()[d];
    IRIS_CHECK(size + before + after >= 0, "pad: pads (", before, ", ", after, ") on dim ", d, " of size ", size,
               " (shape ", shape_str(x.shape()), ") give a negative size ", size + before + after);
    out_shape[d] = size + before + after;
    src_start[d] = std::max<int64_t>(0, -before);
    dst_start[d] = std::max<int64_t>(0, before);
    kept_shape[d] = std::max<int64_t>(0, size - src_start[d] - std::max<int64_t>(0, -after));
  }
  Tensor out = full(out_shape, value, {x.dtype(), x.device()});
  if (numel_of(kept_shape) > 0) {
    Tensor xd = x.detach();
    int64_t off = xd.offset();
    for (int d = 0; d < n; ++d) off += src_start[d] * xd.strides()[d];
    Tensor kept = make_view(xd, kept_shape, xd.strides(), off);
    backend(x.device()).copy(kept, region_of(out, kept_shape, dst_start));
  }
  std::vector<int64_t> undo(pads.size());
  for (size_t i = 0; i < pads.size(); ++i) undo[i] = -pads[i];
  return record("PadBackward", out, {x}, [undo](const Tensor& g) {
    return std::vector<Tensor>{pad_constant(g, undo, 0.0)};
  });
}

// Reflect padding (the edge is not repeated: [a b c] with (2, 2) -> [c b a b c b a]), one
// index_select per padded dim, so the gradient follows from index_select's.
Tensor pad_reflect(const Tensor& x, const std::vector<int64_t>& pads) {
  const int n = x.dim();
  Tensor y = x;
  for (size_t p = 0; p * 2 < pads.size(); ++p) {
    const int d = n - 1 - static_cast<int>(p);
    const int64_t before = pads[2 * p], after = pads[2 * p + 1], size = x.shape()[d];
    IRIS_CHECK(before >= 0 && after >= 0, "pad: reflect padding must be non-negative, got (", before, ", ", after,
               ") for dim ", d);
    IRIS_CHECK(before < size && after < size, "pad: reflect padding (", before, ", ", after, ") is too large for dim ",
               d, " of size ", size, " (shape ", shape_str(x.shape()), "); each pad must be smaller than the size");
    if (before == 0 && after == 0) continue;
    std::vector<int64_t> source(static_cast<size_t>(size + before + after));
    for (int64_t i = 0; i < static_cast<int64_t>(source.size()); ++i) {
      int64_t s = i - before;
      if (s < 0) s = -s;
      if (s >= size) s = 2 * (size - 1) - s;
      source[i] = s;
    }
    Tensor index = from_vector(source, Shape{static_cast<int64_t>(source.size())}, {DType::i64, x.device()});
    y = index_select(y, d, index);
  }
  return y.shares_storage(x) ? y.clone() : y;
}

}  // namespace

Tensor pad(const Tensor& x, const std::vector<int64_t>& pads, PadMode mode, double value) {
  IRIS_CHECK(x.defined(), "pad: the input is undefined");
  IRIS_CHECK(pads.size() % 2 == 0, "pad: pads come in (before, after) pairs, got ", pads.size(), " values ",
             list_str(pads));
  IRIS_CHECK(pads.size() / 2 <= static_cast<size_t>(x.dim()), "pad: ", pads.size() / 2, " pairs of pads ",
             list_str(pads), " for a tensor of shape ", shape_str(x.shape()), "; give at most one pair per dim");
  if (mode == PadMode::constant) return pad_constant(x, pads, value);
  IRIS_CHECK(value == 0.0, "pad: reflect mode takes no fill value, got ", value);
  return pad_reflect(x, pads);
}

// ---- roll -------------------------------------------------------------------------------------

// Rolls each listed dim by its shift (elements leaving the end come back at the start); a dim
// may appear more than once (its shifts add up). No dims: roll the flattened tensor by one shift.
// Each roll is a cat of two slices, so the gradient rolls back through cat and slice.
Tensor roll(const Tensor& x, const std::vector<int64_t>& shifts, const std::vector<int64_t>& dims) {
  IRIS_CHECK(x.defined(), "roll: the input is undefined");
  if (dims.empty()) {
    IRIS_CHECK(shifts.size() == 1, "roll: without dims, give exactly one shift (the flattened tensor rolls), got ",
               shifts.size(), " shifts ", list_str(shifts));
    return roll(x.reshape({-1}), shifts, {0}).reshape(x.shape());
  }
  IRIS_CHECK(shifts.size() == dims.size(), "roll: got ", shifts.size(), " shifts ", list_str(shifts), " and ",
             dims.size(), " dims ", list_str(dims), "; give one shift per dim");
  if (x.dim() == 0) {
    for (int64_t d : dims) normalize_dim(d, 0, "roll");
    return x.clone();
  }
  Tensor y = x;
  for (size_t i = 0; i < dims.size(); ++i) {
    const int d = normalize_dim(dims[i], x.dim(), "roll");
    const int64_t n = x.shape()[d];
    if (n == 0) continue;
    const int64_t s = ((shifts[i] % n) + n) % n;
    if (s == 0) continue;
    y = cat({y.slice(d, n - s, n), y.slice(d, 0, n - s)}, d);
  }
  return y.shares_storage(x) ? y.clone() : y;
}

}  // namespace iris
