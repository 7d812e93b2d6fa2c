// Shape arithmetic: numel, strides, broadcasting, dim normalisation, printing.
#include "tensor/shape.h"

#include <ostream>

namespace iris {

int64_t numel_of(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

Strides contiguous_strides(const Shape& s) {
  Strides st(s.size());
  int64_t acc = 1;
  for (int i = s.size() - 1; i >= 0; --i) {
    st[i] = acc;
    acc *= s[i] > 1 ? s[i] : 1;
  }
  return st;
}

std::string shape_str(const Shape& s) {
  std::string out = "[";
  for (int i = 0; i < s.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(s[i]);
  }
  return out + "]";
}

std::ostream& operator<<(std::ostream& os, const Shape& s) { return os << shape_str(s); }

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  int n = a.size() > b.size() ? a.size() : b.size();
  Shape out(n);
  for (int i = 0; i < n; ++i) {
    int ia = a.size() - n + i, ib = b.size() - n + i;
    int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
    IRIS_CHECK(da == db || da == 1 || db == 1, op, ": shapes ", shape_str(a), " and ", shape_str(b),
               " do not broadcast: dim ", i, " has sizes ", da, " and ", db,
               " (each pair of trailing sizes must be equal or 1)");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

int normalize_dim(int64_t dim, int ndim, const char* op) {
  if (ndim == 0 && (dim == 0 || dim == -1)) return 0;  // a 0-d tensor accepts dim 0 or -1, as PyTorch
  int64_t d = dim < 0 ? dim + ndim : dim;
  IRIS_CHECK(d >= 0 && d < (ndim == 0 ? 1 : ndim), op, ": dim ", dim, " is out of range for a tensor with ",
             ndim, " dims (valid: ", -ndim, " to ", ndim - 1, ")");
  return static_cast<int>(d);
}

}  // namespace iris
