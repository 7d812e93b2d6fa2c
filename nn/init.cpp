// Parameter initialisation, in place. Draws are made in f64 on the host from the Generator, then
// converted and copied, so the numbers do not depend on the tensor's device or dtype.
#include "nn/init.h"

#include <cmath>

#include "autograd/ops.h"
#include "tensor/backend.h"

namespace iris::nn::init {

namespace {

thread_local bool t_skip_init = false;

void assign(const Tensor& t, const Tensor& values) {
  NoGradGuard ng;
  Tensor v = values.to(t.dtype()).to(t.device());
  backend(t.device()).copy(v, t);
}

}  // namespace

SkipInitGuard::SkipInitGuard() : prev_(t_skip_init) { t_skip_init = true; }
SkipInitGuard::~SkipInitGuard() { t_skip_init = prev_; }
bool init_skipped() { return t_skip_init; }

Fans fans_of(const Tensor& t) {
  IRIS_CHECK(t.dim() >= 2, "init: fan in/out needs a tensor with at least 2 dims, got shape ", shape_str(t.shape()));
  int64_t receptive = 1;
  for (int i = 2; i < t.dim(); ++i) receptive *= t.shape()[i];
  return {t.shape()[1] * receptive, t.shape()[0] * receptive};
}

void constant_(const Tensor& t, double value) {
  if (t_skip_init) return;
  NoGradGuard ng;
  backend(t.device()).fill(t, value);
}
void zeros_(const Tensor& t) { constant_(t, 0.0); }
void ones_(const Tensor& t) { constant_(t, 1.0); }

void uniform_(const Tensor& t, double low, double high, Generator* gen) {
  if (t_skip_init) return;
  IRIS_CHECK(low <= high, "uniform_: low (", low, ") must not exceed high (", high, ")");
  assign(t, rand(t.shape(), DType::f64, gen) * (high - low) + low);
}

void normal_(const Tensor& t, double mean, double std, Generator* gen) {
  if (t_skip_init) return;
  IRIS_CHECK(std >= 0, "normal_: std must be >= 0, got ", std);
  assign(t, randn(t.shape(), DType::f64, gen) * std + mean);
}

void trunc_normal_(const Tensor& t, double std, double mean, double a, double b, Generator* gen) {
  if (t_skip_init) return;
  IRIS_CHECK(a < b, "trunc_normal_: need a < b, got a=", a, " b=", b);
  IRIS_CHECK(std > 0, "trunc_normal_: std must be > 0, got ", std);
  // Rejection: redraw the values that fall outside [a, b] until none do.
  int64_t n = t.numel();
  std::vector<double> v = (randn({n}, DType::f64, gen) * std + mean).to_vector<double>();
  for (int round = 0; round < 1000; ++round) {
    std::vector<int64_t> bad;
    for (int64_t i = 0; i < n; ++i)
      if (v[i] < a || v[i] > b) bad.push_back(i);
    if (bad.empty()) break;
    std::vector<double> fresh =
        (randn({static_cast<int64_t>(bad.size())}, DType::f64, gen) * std + mean).to_vector<double>();
    for (size_t j = 0; j < bad.size(); ++j) v[bad[j]] = fresh[j];
    IRIS_CHECK(round < 999, "trunc_normal_: [a, b] = [", a, ", ", b, "] holds almost no mass of N(", mean, ", ",
               std, ")");
  }
  assign(t, from_vector(v, t.shape()));
}

void xavier_uniform_(const Tensor& t, double gain, Generator* gen) {
  Fans f = fans_of(t);
  double bound = gain * std::sqrt(6.0 / static_cast<double>(f.in + f.out));
  uniform_(t, -bound, bound, gen);
}

void xavier_normal_(const Tensor& t, double gain, Generator* gen) {
  Fans f = fans_of(t);
  normal_(t, 0.0, gain * std::sqrt(2.0 / static_cast<double>(f.in + f.out)), gen);
}

void kaiming_uniform_(const Tensor& t, double a, Generator* gen) {
  Fans f = fans_of(t);
  double gain = std::sqrt(2.0 / (1.0 + a * a));
  double bound = gain * std::sqrt(3.0 / static_cast<double>(f.in));
  uniform_(t, -bound, bound, gen);
}

void kaiming_normal_(const Tensor& t, double a, Generator* gen) {
  Fans f = fans_of(t);
  normal_(t, 0.0, std::sqrt(2.0 / (1.0 + a * a)) / std::sqrt(static_cast<double>(f.in)), gen);
}

}  // namespace iris::nn::init
