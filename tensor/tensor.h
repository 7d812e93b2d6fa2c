// Tensor: a cheap handle (shared pointer) to {storage, shape, strides, offset, dtype} plus the
// autograd state {requires_grad, grad, grad_fn}. Row-major; strides count elements, not bytes.
// This header declares the handle, the factories (zeros, randn, arange, ...) and the view methods.
// The differentiable ops (add, matmul, conv2d, ...) are declared in autograd/ops.h; the methods
// here that build graph nodes (reshape, permute, ...) are implemented in autograd/ too.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tensor/dtype.h"
#include "tensor/random.h"
#include "tensor/shape.h"
#include "tensor/storage.h"

namespace iris {

struct Node;
class Tensor;

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  Strides strides;
  int64_t offset = 0;  // in elements
  DType dtype = DType::f32;

  // autograd state
  bool requires_grad = false;
  bool retains_grad = false;             // non-leaf that keeps its .grad (retain_grad())
  std::shared_ptr<TensorImpl> grad;      // accumulated gradient (leaves and retained non-leaves)
  std::shared_ptr<Node> grad_fn;         // the node that made this tensor; null for leaves
  std::weak_ptr<Node> grad_accumulator;  // leaves: the node that adds into .grad, shared by all uses
};

// Options for factories; converts implicitly from a DType or a Device: zeros({2, 3}, DType::f64).
struct TensorOptions {
  DType dtype = DType::f32;
  Device device = Device::cpu();
  bool requires_grad = false;
  TensorOptions() = default;
  TensorOptions(DType d) : dtype(d) {}       // NOLINT
  TensorOptions(Device d) : device(d) {}     // NOLINT
  TensorOptions(DType t, Device d, bool rg = false) : dtype(t), device(d), requires_grad(rg) {}
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // ---- metadata --------------------------------------------------------------------------
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return checked()->shape; }
  const Strides& strides() const { return checked()->strides; }
  int64_t size(int64_t dim) const;
  int64_t stride(int64_t dim) const;
  int dim() const { return shape().size(); }
  int64_t numel() const { return numel_of(shape()); }
  int64_t offset() const { return checked()->offset; }
  DType dtype() const { return checked()->dtype; }
  Device device() const { return checked()->storage->device(); }
  // CPU storage in page-locked memory (empty_pinned, pin_memory); otherwise an ordinary CPU tensor.
  bool is_pinned() const { return checked()->storage->pinned(); }
  bool is_contiguous() const;
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype()); }

  // ---- data ------------------------------------------------------------------------------
  // Pointer to the first element (offset applied). The dtype must match T.
  template <class T>
  T* data() const;
  void* raw_data() const;
  // The single value of a one-element tensor, converted to double (CPU or GPU).
  double item() const;
  template <class T>
  T item() const { return static_cast<T>(item()); }
  // All values in row-major order, converted to T (copies from any layout or device).
  template <class T>
  std::vector<T> to_vector() const;

  // ---- autograd --------------------------------------------------------------------------
  bool requires_grad() const { return defined() && impl_->requires_grad; }
  Tensor& requires_grad_(bool on = true);
  Tensor grad() const;           // undefined until a backward pass reaches this tensor
  void set_grad(const Tensor& g) const;
  void zero_grad() const;        // drops .grad (set to none, as PyTorch's default)
  bool is_leaf() const { return !impl_ || impl_->grad_fn == nullptr; }
  const std::shared_ptr<Node>& grad_fn() const { return checked()->grad_fn; }
  // Runs reverse-mode autodiff from this tensor. A non-scalar needs a seed gradient of its shape.
  // The graph is freed afterwards unless retain_graph is true.
  void backward(const Tensor& seed = Tensor(), bool retain_graph = false) const;
  Tensor detach() const;         // same storage, no history
  void retain_grad() const;      // keep .grad on a non-leaf

  // ---- views (share storage; differentiable) ---------------------------------------------
  Tensor reshape(const Shape& shape) const;  // a view when the strides allow it, else a copy
  Tensor view(const Shape& shape) const;     // a view or an error
  Tensor permute(const Shape& dims) const;
  Tensor transpose(int64_t d0, int64_t d1) const;
  Tensor t() const;                          // transpose of a 2-D tensor
  Tensor slice(int64_t dim, int64_t start, int64_t end, int64_t step = 1) const;
  Tensor narrow(int64_t dim, int64_t start, int64_t length) const;
  Tensor select(int64_t dim, int64_t index) const;
  Tensor expand(const Shape& shape) const;   // -1 keeps a size
  Tensor expand_as(const Tensor& other) const { return expand(other.shape()); }
  Tensor squeeze() const;
  Tensor squeeze(int64_t dim) const;
  Tensor unsqueeze(int64_t dim) const;
  Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1) const;
  Tensor contiguous() const;                 // itself when already contiguous
  Tensor clone() const;                      // always a fresh contiguous copy
  Tensor operator[](int64_t i) const { return select(0, i); }

  // ---- conversion (differentiable for floating dtypes) -----------------------------------
  Tensor to(DType dtype) const;
  Tensor to(Device device) const;
  Tensor cpu() const { return to(Device::cpu()); }

  // ---- in place (not differentiable; refused on tensors that require grad in grad mode) ----
  Tensor& fill_(double value);
  Tensor& zero_() { return fill_(0.0); }
  Tensor& copy_(const Tensor& src);  // src broadcasts to this shape; dtype converts

  // ---- misc ------------------------------------------------------------------------------
  std::string str() const;  // PyTorch-style printing, truncated when long
  bool shares_storage(const Tensor& o) const { return defined() && o.defined() && impl_->storage == o.impl_->storage; }
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

 private:
  TensorImpl* checked() const {
    IRIS_CHECK(impl_ != nullptr, "use of an undefined tensor (default-constructed Tensor)");
    return impl_.get();
  }
  std::shared_ptr<TensorImpl> impl_;
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);

// ---- factories --------------------------------------------------------------------------
Tensor empty(const Shape& shape, TensorOptions opts = {});
Tensor zeros(const Shape& shape, TensorOptions opts = {});
Tensor ones(const Shape& shape, TensorOptions opts = {});
Tensor full(const Shape& shape, double value, TensorOptions opts = {});
Tensor scalar_tensor(double value, TensorOptions opts = {});  // 0-d
Tensor arange(double end, TensorOptions opts = DType::i64);
Tensor arange(double start, double end, double step = 1.0, TensorOptions opts = DType::i64);
Tensor linspace(double start, double end, int64_t steps, TensorOptions opts = {});
Tensor eye(int64_t n, int64_t m = -1, TensorOptions opts = {});
Tensor rand(const Shape& shape, TensorOptions opts = {}, Generator* gen = nullptr);   // U[0, 1)
Tensor randn(const Shape& shape, TensorOptions opts = {}, Generator* gen = nullptr);  // N(0, 1)
Tensor randint(int64_t low, int64_t high, const Shape& shape, TensorOptions opts = DType::i64,
               Generator* gen = nullptr);                                            // [low, high)
Tensor randperm(int64_t n, Generator* gen = nullptr);                                // i64
// Copies values (converted to opts.dtype) into a new tensor of the given shape.
template <class T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape, TensorOptions opts = dtype_of<T>::value);
template <class T>
Tensor from_vector(const std::vector<T>& values) { return from_vector(values, Shape{int64_t(values.size())}); }
// Copies `shape`-many elements of `dtype` from a raw host buffer.
Tensor from_buffer(const void* data, const Shape& shape, DType dtype, TensorOptions opts_device = {});
// Wraps an external buffer without copying; the caller keeps it alive.
Tensor from_blob(void* data, const Shape& shape, DType dtype, Device device = Device::cpu());

// ---- pinned (page-locked) host memory ---------------------------------------------------
// A pinned tensor is a CPU tensor in every respect; a GPU copies it without staging, and
// t.to(Device::cuda()) then returns without waiting for the transfer (the block is not reused until
// the transfer ends). So, as with PyTorch's non_blocking copies: do not write into a pinned tensor on
// the host right after sending it to a GPU; cuda::synchronize() (or any GPU -> CPU copy) first.
// Without a usable GPU (a CPU-only build, or no device) these give ordinary CPU tensors, so code
// that asks for pinned memory runs everywhere.
bool pinned_memory_available();  // false: empty_pinned / pin_memory give ordinary CPU memory
Tensor empty_pinned(const Shape& shape, DType dtype = DType::f32);
// t itself when already pinned, or when pinned memory is unavailable; else a contiguous pinned copy.
// Not differentiable: refuses a tensor that requires grad. t must be on the CPU.
Tensor pin_memory(const Tensor& t);

Tensor empty_like(const Tensor& t);
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
Tensor full_like(const Tensor& t, double value);
Tensor rand_like(const Tensor& t, Generator* gen = nullptr);
Tensor randn_like(const Tensor& t, Generator* gen = nullptr);

// Builds a view of `base`'s storage with the given geometry (no autograd; used by view ops).
Tensor make_view(const Tensor& base, const Shape& shape, const Strides& strides, int64_t offset);

// ---- threads ----------------------------------------------------------------------------
// Threads used by CPU kernels: IRIS_NUM_THREADS, else all cores. set_num_threads overrides.
int num_threads();
void set_num_threads(int n);

}  // namespace iris
