// Tensor handle basics: metadata, raw data access, in-place fill/copy, the backend registry and
// the thread count. Factories are in factory.cpp, printing in print.cpp, views in autograd/.
#include "tensor/tensor.h"

#include <cstdlib>
#include <thread>

#include "tensor/backend.h"
#include "tensor/cpu/cpu_backend.h"
#include "tensor/grad_mode.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace iris {

// ---- backend registry -------------------------------------------------------------------

namespace {
Backend* g_cuda_backend = nullptr;
}

#ifdef IRIS_WITH_CUDA
namespace cuda {
void register_cuda();  // cuda/runtime.cu; registers lazily (a static initializer in a static library
                       // would be dropped by the linker)
}
#endif

Backend& backend(Device d) {
  if (d.is_cpu()) {
    static cpu::CpuBackend* cpu_backend = new cpu::CpuBackend();
    return *cpu_backend;
  }
#ifdef IRIS_WITH_CUDA
  if (g_cuda_backend == nullptr) cuda::register_cuda();
#endif
  IRIS_CHECK(g_cuda_backend != nullptr, "device ", d.str(),
             ": this build of iris has no CUDA backend; rebuild with `make CUDA=1` on a machine with nvcc");
  return *g_cuda_backend;
}

void register_backend(DeviceType type, Backend* b) {
  IRIS_ASSERT(type == DeviceType::cuda);
  g_cuda_backend = b;
}

// ---- threads ----------------------------------------------------------------------------

namespace {
int initial_threads() {
  if (const char* env = std::getenv("IRIS_NUM_THREADS")) {
    int n = std::atoi(env);
    if (n > 0) return n;
  }
  unsigned hw = std::thread::hardware_concurrency();
  return hw > 0 ? static_cast<int>(hw) : 1;
}
int g_threads = 0;
}  // namespace

int num_threads() {
  if (g_threads == 0) set_num_threads(initial_threads());
  return g_threads;
}

void set_num_threads(int n) {
  IRIS_CHECK(n >= 1, "set_num_threads: need at least 1 thread, got ", n);
  g_threads = n;
#ifdef _OPENMP
  omp_set_num_threads(n);
#endif
}

// ---- metadata ---------------------------------------------------------------------------

int64_t Tensor::size(int64_t dim) const { return shape()[normalize_dim(dim, this->dim(), "size")]; }
int64_t Tensor::stride(int64_t dim) const { return strides()[normalize_dim(dim, this->dim(), "stride")]; }

bool Tensor::is_contiguous() const {
  if (numel() == 0) return true;  // no elements: any strides describe the same (empty) layout
  const Shape& s = shape();
  const Strides& st = strides();
  int64_t expected = 1;
  for (int i = s.size() - 1; i >= 0; --i) {
    if (s[i] != 1 && st[i] != expected) return false;
    expected *= s[i];
  }
  return true;
}

void* Tensor::raw_data() const {
  TensorImpl* t = checked();
  return static_cast<char*>(t->storage->data()) + t->offset * static_cast<int64_t>(dtype_size(t->dtype));
}

template <class T>
T* Tensor::data() const {
  IRIS_CHECK(dtype() == dtype_of<T>::value, "data<T>(): tensor has dtype ", dtype_name(dtype()),
             " but was read as ", dtype_name(dtype_of<T>::value));
  return static_cast<T*>(raw_data());
}
template float* Tensor::data<float>() const;
template double* Tensor::data<double>() const;
template int32_t* Tensor::data<int32_t>() const;
template int64_t* Tensor::data<int64_t>() const;
template uint8_t* Tensor::data<uint8_t>() const;
template bool* Tensor::data<bool>() const;

double Tensor::item() const {
  IRIS_CHECK(numel() == 1, "item(): needs a tensor with one element, got shape ", shape_str(shape()));
  Tensor c = device().is_cpu() ? *this : detach().to(Device::cpu());
  Tensor f = zeros({}, DType::f64);
  backend(Device::cpu()).copy(make_view(c, Shape{}, Strides{}, c.offset()), f);
  return *f.data<double>();
}

template <class T>
std::vector<T> Tensor::to_vector() const {
  Tensor c = detach().to(Device::cpu());
  Tensor out = empty(shape(), dtype_of<T>::value);
  backend(Device::cpu()).copy(c, out);
  const T* p = out.data<T>();
  return std::vector<T>(p, p + numel());
}
template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;
template std::vector<int32_t> Tensor::to_vector<int32_t>() const;
template std::vector<int64_t> Tensor::to_vector<int64_t>() const;
template std::vector<uint8_t> Tensor::to_vector<uint8_t>() const;

// ---- in place ---------------------------------------------------------------------------

static void check_inplace(const Tensor& t, const char* op) {
  IRIS_CHECK(!(t.requires_grad() && grad_mode_enabled()), op,
             ": in-place change of a tensor that requires grad; wrap it in NoGradGuard or use the "
             "out-of-place op");
}

Tensor& Tensor::fill_(double value) {
  check_inplace(*this, "fill_");
  backend(device()).fill(*this, value);
  return *this;
}

Tensor& Tensor::copy_(const Tensor& src) {
  check_inplace(*this, "copy_");
  IRIS_CHECK(src.device() == device(), "copy_: source is on ", src.device().str(), " and destination on ",
             device().str(), "; move one with .to(device) first");
  Shape bs = broadcast_shapes(src.shape(), shape(), "copy_");
  IRIS_CHECK(bs == shape(), "copy_: source of shape ", shape_str(src.shape()),
             " does not broadcast to the destination shape ", shape_str(shape()));
  Tensor s = src.shape() == shape() ? src : src.detach().expand(shape());
  backend(device()).copy(s, *this);
  return *this;
}

// ---- views without autograd -------------------------------------------------------------

Tensor make_view(const Tensor& base, const Shape& shape, const Strides& strides, int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = base.impl()->storage;
  impl->shape = shape;
  impl->strides = strides;
  impl->offset = offset;
  impl->dtype = base.dtype();
  return Tensor(std::move(impl));
}

}  // namespace iris
