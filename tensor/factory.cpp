// Tensor factories: empty/zeros/ones/full, ranges, eye, random draws, and tensors from host data.
// Random draws reserve Philox blocks from a Generator, so they are reproducible on every device.
#include <cmath>
#include <cstdio>
#include <mutex>

#include "tensor/backend.h"
#include "tensor/tensor.h"

namespace iris {

Generator& default_generator() {
  static Generator* g = new Generator(0x1234abcdULL);
  return *g;
}

void manual_seed(uint64_t seed) { default_generator().manual_seed(seed); }

static void check_shape(const Shape& shape, const char* op) {
  for (int i = 0; i < shape.size(); ++i)
    IRIS_CHECK(shape[i] >= 0, op, ": negative size ", shape[i], " in shape ", shape_str(shape));
}

static size_t nbytes_of(const Shape& shape, DType dtype) {
  return static_cast<size_t>(numel_of(shape)) * dtype_size(dtype);
}

// A contiguous tensor of `shape` over the whole of `storage` (empty, empty_pinned, from_blob).
static Tensor contiguous_on(std::shared_ptr<Storage> storage, const Shape& shape, DType dtype) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::move(storage);
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

Tensor empty(const Shape& shape, TensorOptions opts) {
  check_shape(shape, "empty");
  IRIS_CHECK(!opts.requires_grad || is_floating(opts.dtype), "requires_grad needs a floating dtype, got ",
             dtype_name(opts.dtype));
  Tensor t = contiguous_on(std::make_shared<Storage>(nbytes_of(shape, opts.dtype), opts.device), shape, opts.dtype);
  t.impl()->requires_grad = opts.requires_grad;
  return t;
}

Tensor full(const Shape& shape, double value, TensorOptions opts) {
  bool rg = opts.requires_grad;
  opts.requires_grad = false;
  Tensor t = empty(shape, opts);
  backend(opts.device).fill(t, value);
  t.requires_grad_(rg);
  return t;
}

Tensor zeros(const Shape& shape, TensorOptions opts) { return full(shape, 0.0, opts); }
Tensor ones(const Shape& shape, TensorOptions opts) { return full(shape, 1.0, opts); }
Tensor scalar_tensor(double value, TensorOptions opts) { return full(Shape{}, value, opts); }

Tensor arange(double end, TensorOptions opts) { return arange(0, end, 1, opts); }

// Values are computed on the host in double, then converted once.
static Tensor from_doubles(const std::vector<double>& v, const Shape& shape, TensorOptions opts) {
  Tensor host = from_buffer(v.data(), shape, DType::f64);
  Tensor out = empty(shape, opts);
  Tensor staged = opts.device.is_cpu() ? host : host.to(opts.device);
  backend(opts.device).copy(staged, out);
  return out;
}

Tensor arange(double start, double end, double step, TensorOptions opts) {
  IRIS_CHECK(step != 0, "arange: step must be non-zero");
  IRIS_CHECK(std::isfinite(start) && std::isfinite(end) && std::isfinite(step), "arange: bounds must be finite");
  double count = std::ceil((end - start) / step);
  IRIS_CHECK(count < 1e10, "arange: ", count, " elements is too many");
  int64_t n = count > 0 ? static_cast<int64_t>(count) : 0;
  std::vector<double> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = start + static_cast<double>(i) * step;
  return from_doubles(v, {n}, opts);
}

Tensor linspace(double start, double end, int64_t steps, TensorOptions opts) {
  IRIS_CHECK(steps >= 0, "linspace: steps must be >= 0, got ", steps);
  std::vector<double> v(steps);
  double h = steps > 1 ? (end - start) / static_cast<double>(steps - 1) : 0;
  // Fill from both ends so the last value is exactly `end`, as PyTorch does.
  for (int64_t i = 0; i < steps; ++i)
    v[i] = i < steps / 2 ? start + h * static_cast<double>(i) : end - h * static_cast<double>(steps - 1 - i);
  return from_doubles(v, {steps}, opts);
}

Tensor eye(int64_t n, int64_t m, TensorOptions opts) {
  if (m < 0) m = n;
  IRIS_CHECK(n >= 0, "eye: n must be >= 0, got ", n);
  std::vector<double> v(static_cast<size_t>(n * m), 0.0);
  for (int64_t i = 0; i < std::min(n, m); ++i) v[i * m + i] = 1.0;
  return from_doubles(v, {n, m}, opts);
}

static Tensor random_tensor(const Shape& shape, TensorOptions opts, Generator* gen, int kind, double a,
                            double b) {
  bool rg = opts.requires_grad;
  opts.requires_grad = false;
  Tensor t = empty(shape, opts);
  Generator& g = gen ? *gen : default_generator();
  uint64_t lanes = philox_lanes(opts.dtype);
  uint64_t blocks = (static_cast<uint64_t>(t.numel()) + lanes - 1) / lanes;
  uint64_t start = g.reserve(blocks);
  Backend& be = backend(opts.device);
  if (kind == 0) be.uniform(t, a, b, g.seed(), start);
  else if (kind == 1) be.normal(t, a, b, g.seed(), start);
  else be.randint(t, static_cast<int64_t>(a), static_cast<int64_t>(b), g.seed(), start);
  t.requires_grad_(rg);
  return t;
}

Tensor rand(const Shape& shape, TensorOptions opts, Generator* gen) {
  return random_tensor(shape, opts, gen, 0, 0.0, 1.0);
}
Tensor randn(const Shape& shape, TensorOptions opts, Generator* gen) {
  return random_tensor(shape, opts, gen, 1, 0.0, 1.0);
}
Tensor randint(int64_t low, int64_t high, const Shape& shape, TensorOptions opts, Generator* gen) {
  IRIS_CHECK(high > low, "randint: high (", high, ") must be greater than low (", low, ")");
  IRIS_CHECK(opts.dtype == DType::i64 || opts.dtype == DType::i32, "randint: dtype must be i64 or i32");
  return random_tensor(shape, opts, gen, 2, static_cast<double>(low), static_cast<double>(high));
}

Tensor randperm(int64_t n, Generator* gen) {
  IRIS_CHECK(n >= 0, "randperm: n must be >= 0, got ", n);
  // Fisher-Yates on the host with Philox-drawn integers: deterministic for a seed.
  std::vector<int64_t> perm(n);
  for (int64_t i = 0; i < n; ++i) perm[i] = i;
  if (n > 1) {
    Tensor r = randint(0, int64_t(1) << 62, {n}, DType::i64, gen);
    const int64_t* rv = r.data<int64_t>();
    for (int64_t i = n - 1; i > 0; --i) std::swap(perm[i], perm[rv[i] % (i + 1)]);
  }
  return from_vector(perm, {n});
}

template <class T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape, TensorOptions opts) {
  IRIS_CHECK(static_cast<int64_t>(values.size()) == numel_of(shape), "from_vector: ", values.size(),
             " values do not fill shape ", shape_str(shape), " (", numel_of(shape), " elements)");
  Tensor host = from_buffer(values.data(), shape, dtype_of<T>::value);
  Tensor out = empty(shape, opts);
  Tensor staged = opts.device.is_cpu() ? host : host.to(opts.device);
  backend(opts.device).copy(staged, out);
  return out;
}
template Tensor from_vector<float>(const std::vector<float>&, const Shape&, TensorOptions);
template Tensor from_vector<double>(const std::vector<double>&, const Shape&, TensorOptions);
template Tensor from_vector<int32_t>(const std::vector<int32_t>&, const Shape&, TensorOptions);
template Tensor from_vector<int64_t>(const std::vector<int64_t>&, const Shape&, TensorOptions);
template Tensor from_vector<uint8_t>(const std::vector<uint8_t>&, const Shape&, TensorOptions);

Tensor from_buffer(const void* data, const Shape& shape, DType dtype, TensorOptions opts_device) {
  Tensor t = empty(shape, dtype);
  if (t.nbytes() > 0) std::memcpy(t.raw_data(), data, t.nbytes());
  return opts_device.device.is_cpu() ? t : t.to(opts_device.device);
}

Tensor from_blob(void* data, const Shape& shape, DType dtype, Device device) {
  check_shape(shape, "from_blob");
  return contiguous_on(std::make_shared<Storage>(data, nbytes_of(shape, dtype), device), shape, dtype);
}

// ---- pinned host memory ---------------------------------------------------------------------

bool pinned_memory_available() { return pinned_allocator() != nullptr; }

Tensor empty_pinned(const Shape& shape, DType dtype) {
  Allocator* pinned = pinned_allocator();
  if (pinned == nullptr) return empty(shape, dtype);
  check_shape(shape, "empty_pinned");
  std::shared_ptr<Storage> storage;
  try {
    storage = std::make_shared<Storage>(nbytes_of(shape, dtype), Device::cpu(), *pinned);
  } catch (const Error& e) {
    // Page-locked memory is a speed-up, never a requirement: fall back to ordinary memory (once told).
    static std::once_flag told;
    std::call_once(told, [&] { std::fprintf(stderr, "iris: %s; using ordinary (pageable) host memory\n", e.what()); });
    return empty(shape, dtype);
  }
  return contiguous_on(std::move(storage), shape, dtype);
}

Tensor pin_memory(const Tensor& t) {
  IRIS_CHECK(t.device().is_cpu(), "pin_memory: the tensor is on ", t.device().str(),
             "; only CPU tensors can be pinned");
  IRIS_CHECK(!t.requires_grad(), "pin_memory: not differentiable, and the tensor requires grad; pin t.detach()");
  if (t.is_pinned() || !pinned_memory_available()) return t;
  Tensor out = empty_pinned(t.shape(), t.dtype());
  if (out.numel() > 0) backend(Device::cpu()).copy(t, out);
  return out;
}

Tensor empty_like(const Tensor& t) { return empty(t.shape(), {t.dtype(), t.device()}); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), {t.dtype(), t.device()}); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), {t.dtype(), t.device()}); }
Tensor full_like(const Tensor& t, double value) { return full(t.shape(), value, {t.dtype(), t.device()}); }
Tensor rand_like(const Tensor& t, Generator* gen) { return rand(t.shape(), {t.dtype(), t.device()}, gen); }
Tensor randn_like(const Tensor& t, Generator* gen) { return randn(t.shape(), {t.dtype(), t.device()}, gen); }

}  // namespace iris
