// Printing in PyTorch's style: nested brackets, one number format for the whole tensor (fixed with
// 4 decimals, integer-looking, or scientific when the range calls for it), and "..." for long
// tensors (more than 1000 elements: 3 items kept at each end of every dim).
#include <cmath>
#include <cstdio>
#include <ostream>

#include "tensor/tensor.h"

namespace iris {

namespace {

constexpr int64_t kSummarizeAbove = 1000;
constexpr int64_t kEdgeItems = 3;

struct Formatter {
  bool floating = false, integer_valued = true, scientific = false;
  int width = 1;

  std::string format(double v) const {
    char buf[64];
    if (!floating) std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v));
    else if (std::isnan(v)) std::snprintf(buf, sizeof buf, "nan");
    else if (std::isinf(v)) std::snprintf(buf, sizeof buf, v > 0 ? "inf" : "-inf");
    else if (scientific) std::snprintf(buf, sizeof buf, "%.4e", v);
    else if (integer_valued) std::snprintf(buf, sizeof buf, "%.0f.", v);
    else std::snprintf(buf, sizeof buf, "%.4f", v);
    return buf;
  }
};

void print_dim(std::ostream& os, const std::vector<double>& v, const Shape& shape, const Strides& st, int d,
               int64_t off, bool summarize, const Formatter& f, int indent) {
  if (shape.size() == 0) {
    std::string s = f.format(v[off]);
    os << std::string(f.width - static_cast<int>(s.size()), ' ') << s;
    return;
  }
  os << "[";
  int64_t n = shape[d];
  bool cut = summarize && n > 2 * kEdgeItems;
  for (int64_t i = 0; i < n; ++i) {
    if (cut && i == kEdgeItems) {
      os << (d + 1 == shape.size() ? "..., " : "...,\n" + std::string(indent + 1, ' '));
      i = n - kEdgeItems;
    }
    if (d + 1 == shape.size()) {
      std::string s = f.format(v[off + i * st[d]]);
      os << std::string(f.width - static_cast<int>(s.size()), ' ') << s;
    } else {
      print_dim(os, v, shape, st, d + 1, off + i * st[d], summarize, f, indent + 1);
    }
    if (i + 1 < n) {
      if (d + 1 == shape.size()) os << ", ";
      else os << "," << std::string(shape.size() - d - 1, '\n') << std::string(indent + 1, ' ');
    }
  }
  os << "]";
}

}  // namespace

std::string Tensor::str() const {
  if (!defined()) return "tensor(undefined)";
  std::vector<double> v = detach().to_vector<double>();
  const Shape& s = shape();
  bool summarize = numel() > kSummarizeAbove;

  Formatter f;
  f.floating = is_floating(dtype());
  double max_abs = 0, min_abs = INFINITY;
  for (double x : v) {
    if (!std::isfinite(x)) continue;
    if (x != std::floor(x)) f.integer_valued = false;
    double a = std::fabs(x);
    max_abs = std::max(max_abs, a);
    if (a > 0) min_abs = std::min(min_abs, a);
  }
  f.scientific = f.floating && (max_abs >= 1e8 || (!f.integer_valued && min_abs < 1e-4) ||
                                (max_abs / min_abs > 1e5 && !f.integer_valued));
  for (double x : v) f.width = std::max(f.width, static_cast<int>(f.format(x).size()));

  std::ostringstream os;
  os << "tensor(";
  print_dim(os, v, s, contiguous_strides(s), 0, 0, summarize, f, 7);
  os << ", shape=" << shape_str(s) << ", dtype=" << dtype_name(dtype());
  if (!device().is_cpu()) os << ", device=" << device().str();
  if (requires_grad()) os << (grad_fn() ? ", grad_fn" : ", requires_grad=true");
  os << ")";
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << t.str(); }

}  // namespace iris
