// gradcheck: finite differences against backward(), in f64. See gradcheck.h.
#include "autograd/gradcheck.h"

#include <cmath>
#include <sstream>

#include "autograd/ops.h"

namespace iris {

namespace {

// Storage offset (in elements) of the i-th element in row-major order.
int64_t element_offset(const Tensor& t, int64_t i) {
  int64_t off = t.offset();
  for (int d = t.dim() - 1; d >= 0; --d) {
    off += (i % t.shape()[d]) * t.strides()[d];
    i /= t.shape()[d];
  }
  return off;
}

double projected(const TensorFn& f, const std::vector<Tensor>& inputs, const Tensor& r) {
  NoGradGuard ng;
  Tensor y = f(inputs);
  return sum(mul(y.to(DType::f64), r)).item();
}

}  // namespace

GradcheckResult gradcheck(const TensorFn& f, const std::vector<Tensor>& inputs, const GradcheckOptions& opts) {
  GradcheckResult res;
  for (const Tensor& x : inputs) {
    if (!x.defined() || !x.requires_grad()) continue;
    IRIS_CHECK(x.dtype() == DType::f64, "gradcheck: inputs that require grad must be f64, got ",
               dtype_name(x.dtype()));
    IRIS_CHECK(x.is_leaf(), "gradcheck: inputs must be leaves (call detach().requires_grad_())");
    IRIS_CHECK(x.device().is_cpu(), "gradcheck: runs on the CPU");
    x.zero_grad();
  }

  // Analytic: d/dx sum(f(x) * r).
  Tensor y = f(inputs);
  Generator gen(opts.seed);
  Tensor r = randn(y.shape(), DType::f64, &gen);
  Tensor loss = sum(mul(y.to(DType::f64), r));
  IRIS_CHECK(loss.requires_grad(), "gradcheck: the function's output does not depend on any input that requires grad");
  loss.backward();

  std::ostringstream report;
  double worst_excess = 0;
  for (size_t k = 0; k < inputs.size(); ++k) {
    const Tensor& x = inputs[k];
    if (!x.defined() || !x.requires_grad()) continue;
    Tensor g = x.grad();
    std::vector<double> analytic = g.defined() ? g.to_vector<double>() : std::vector<double>(x.numel(), 0.0);
    int64_t n = x.numel();
    int64_t count = std::min(n, opts.max_elements);
    double* base = static_cast<double*>(x.impl()->storage->data());
    for (int64_t c = 0; c < count; ++c) {
      int64_t i = count == n ? c : c * n / count;
      double* p = base + element_offset(x, i);
      double saved = *p;
      *p = saved + opts.eps;
      double up = projected(f, inputs, r);
      *p = saved - opts.eps;
      double down = projected(f, inputs, r);
      *p = saved;
      double numeric = (up - down) / (2 * opts.eps);
      double err = std::fabs(numeric - analytic[i]);
      double allowed = opts.atol + opts.rtol * std::fabs(numeric);
      ++res.checked;
      res.max_abs_error = std::max(res.max_abs_error, err);
      if (!(err <= allowed)) {  // also catches NaN
        if (res.ok || err - allowed > worst_excess) {
          worst_excess = err - allowed;
          report.str("");
          report << "gradcheck: input " << k << " (shape " << shape_str(x.shape()) << ") element " << i
                 << ": numeric " << numeric << " vs analytic " << analytic[i] << " (error " << err
                 << ", allowed " << allowed << ")";
        }
        res.ok = false;
      }
    }
  }
  res.message = res.ok ? "ok" : report.str();
  return res;
}

}  // namespace iris
