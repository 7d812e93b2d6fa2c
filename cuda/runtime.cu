// The CUDA runtime: a caching device allocator (per-device pools; a block comes from the device the
// caller names, whatever the thread's current device), one stream and one cuBLAS handle per device
// (made lazily), device selection, registration with the engine, and the copy / fill kernels
// (host<->device transfers included: from pinned memory they are asynchronous, see host_to_device;
// the pinned host allocator is in pinned.cu). Leaves out: copies between two GPUs.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "cuda/common.cuh"

namespace iris::cuda {

// Validates d's index and makes it the calling thread's current device (elementwise.cu etc. call it
// at the top of every kernel method, so cuda:7 on a one-GPU machine is a clear error).
void use_device(Device d);

namespace {

constexpr int kMaxDevices = 64;

// ---- devices ---------------------------------------------------------------------------------

struct DeviceProbe {
  int count = 0;
  cudaError_t error = cudaSuccess;  // why count is 0, when a call failed
};

// Asks the driver once per process; never throws (no driver, no device: count 0 and the error).
DeviceProbe probe_devices() {
  static const DeviceProbe probe = [] {
    DeviceProbe p;
    int n = 0;
    p.error = cudaGetDeviceCount(&n);
    if (p.error != cudaSuccess) {
      (void)cudaGetLastError();
      return p;
    }
    if (n > 0) {
      p.error = cudaFree(nullptr);  // creates the context on device 0: the device is usable
      if (p.error != cudaSuccess) {
        (void)cudaGetLastError();
        return p;
      }
    }
    p.count = n;
    return p;
  }();
  return probe;
}

int current_device() {
  int d = 0;
  IRIS_CUDA_CHECK(cudaGetDevice(&d));
  return d;
}

void check_device_index(int index) {
  DeviceProbe p = probe_devices();
  IRIS_CHECK(p.count > 0, "cuda:", index, ": no CUDA device is available on this machine (",
             p.error == cudaSuccess ? "the driver reports 0 devices" : cudaGetErrorString(p.error), ")");
  IRIS_CHECK(index >= 0 && index < p.count, "cuda:", index, ": no such device; this machine has ", p.count,
             " CUDA device", p.count == 1 ? "" : "s", " (cuda:0",
             p.count > 1 ? cat_str(" to cuda:", p.count - 1) : std::string(), ")");
  IRIS_CHECK(index < kMaxDevices, "cuda:", index, ": iris supports at most ", kMaxDevices, " devices");
}

// Per-device stream and cuBLAS handle, each made on first use (cuBLAS only when a GEMM needs it).
struct PerDevice {
  std::once_flag stream_once, blas_once;
  cudaStream_t stream = nullptr;
  cublasHandle_t blas = nullptr;
};
PerDevice g_devices[kMaxDevices];

PerDevice& this_device() {
  int d = current_device();
  IRIS_ASSERT(d >= 0 && d < kMaxDevices);
  return g_devices[d];
}

// Makes `device` the calling thread's current device for its lifetime and restores the previous
// one; never throws (used where cudaMalloc / cudaFree must run on a block's own device).
class ScopedDevice {
 public:
  explicit ScopedDevice(int device) {
    if (cudaGetDevice(&previous_) != cudaSuccess) {
      (void)cudaGetLastError();
      return;
    }
    switched_ = previous_ != device && cudaSetDevice(device) == cudaSuccess;
    (void)cudaGetLastError();
  }
  ~ScopedDevice() {
    if (switched_) (void)cudaSetDevice(previous_);
  }
  ScopedDevice(const ScopedDevice&) = delete;
  ScopedDevice& operator=(const ScopedDevice&) = delete;

 private:
  int previous_ = 0;
  bool switched_ = false;
};

// ---- the caching allocator -----------------------------------------------------------------
// Blocks are rounded to a size class (512 B multiples below 1 MiB, 2 MiB multiples above) and freed
// blocks wait in a list per (device, size class) for the next request of that class: one pool per
// device, and a block is made (cudaMalloc, under ScopedDevice) on the device the caller names, so
// cuda:1 memory never comes from cuda:0 because of the thread's current device. Reuse needs no
// synchronisation: every kernel runs on the device's one stream, so work enqueued after a free runs
// after the work that used the block before it. cudaFree (empty_cache, IRIS_NO_CACHE) synchronises
// the device itself.

// Size classes are multiples of 512, so the device index fits in the low bits of the key.
uint64_t cache_key(int device, size_t size) { return static_cast<uint64_t>(size) | static_cast<uint64_t>(device); }
int key_device(uint64_t key) { return static_cast<int>(key & (kSmallQuantum - 1)); }
size_t key_size(uint64_t key) { return static_cast<size_t>(key & ~static_cast<uint64_t>(kSmallQuantum - 1)); }

class CudaCachingAllocator final : public Allocator {
 public:
  void* allocate(size_t nbytes, Device d) override {
    IRIS_ASSERT(d.is_cuda());
    check_device_index(d.index);  // cuda:7 on a one-GPU machine: a clear error before any CUDA call
    const size_t size = size_class(nbytes);
    const int device = d.index;
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.allocations;
    void* p = nullptr;
    auto it = cache_.find(cache_key(device, size));
    if (it != cache_.end() && !it->second.empty()) {
      p = it->second.back();
      it->second.pop_back();
      stats_.bytes_cached -= static_cast<int64_t>(size);
      ++stats_.cache_hits;
    } else {
      ScopedDevice on(device);  // cudaMalloc and cudaMemGetInfo act on the current device
      cudaError_t err = cudaMalloc(&p, size);
      if (err != cudaSuccess) {  // give this device's cached blocks back and try once more
        (void)cudaGetLastError();
        free_cached_locked(device);
        err = cudaMalloc(&p, size);
      }
      if (err != cudaSuccess) {
        (void)cudaGetLastError();
        size_t free_bytes = 0, total_bytes = 0;
        if (cudaMemGetInfo(&free_bytes, &total_bytes) != cudaSuccess) (void)cudaGetLastError();
        throw Error(cat_str("CUDA out of memory: could not allocate ", nbytes, " bytes (size class ", size,
                            ") on cuda:", device, " (", cudaGetErrorString(err), "); iris holds ",
                            stats_.bytes_in_use, " bytes in use and ", stats_.bytes_cached,
                            " cached; the device has ", free_bytes, " of ", total_bytes,
                            " bytes free; use a smaller batch size or model"));
      }
      ++stats_.device_mallocs;
    }
    stats_.bytes_in_use += static_cast<int64_t>(size);
    if (stats_.bytes_in_use > stats_.peak_bytes_in_use) stats_.peak_bytes_in_use = stats_.bytes_in_use;
    live_[p] = device;
    return p;
  }

  // Runs in ~Storage: must not throw (errors are reported on stderr).
  void release(void* ptr, size_t nbytes) override {
    if (!ptr) return;
    const size_t size = size_class(nbytes);
    std::lock_guard<std::mutex> lock(mu_);
    auto it = live_.find(ptr);
    if (it == live_.end()) {
      std::fprintf(stderr, "iris: CUDA allocator asked to free %p, which it did not hand out\n", ptr);
      return;
    }
    const int device = it->second;
    live_.erase(it);
    stats_.bytes_in_use -= static_cast<int64_t>(size);
    if (caching_) {
      cache_[cache_key(device, size)].push_back(ptr);
      stats_.bytes_cached += static_cast<int64_t>(size);
    } else {
      free_on_device(ptr, device);
    }
  }

  CudaAllocatorStats stats() {
    std::lock_guard<std::mutex> lock(mu_);
    return stats_;
  }

  void empty_cache() {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& kv : cache_)
      for (void* p : kv.second) free_on_device(p, key_device(kv.first));
    cache_.clear();
    stats_.bytes_cached = 0;
  }

 private:
  void free_cached_locked(int device) {
    for (auto& kv : cache_) {
      if (key_device(kv.first) != device) continue;
      for (void* p : kv.second) {
        free_on_device(p, device);
        stats_.bytes_cached -= static_cast<int64_t>(key_size(kv.first));
      }
      kv.second.clear();
    }
  }

  // cudaFree on the block's own device; never throws (runs from destructors, maybe at exit).
  static void free_on_device(void* p, int device) {
    cudaError_t err;
    {
      ScopedDevice on(device);
      err = cudaFree(p);
    }
    if (err != cudaSuccess && err != cudaErrorCudartUnloading)
      std::fprintf(stderr, "iris: cudaFree failed: %s\n", cudaGetErrorString(err));
    (void)cudaGetLastError();
  }

  std::mutex mu_;
  std::unordered_map<uint64_t, std::vector<void*>> cache_;  // free blocks by (device, size class)
  std::unordered_map<void*, int> live_;                      // handed-out block -> its device
  CudaAllocatorStats stats_;
  const bool caching_ = !caching_disabled_by_env();
};

CudaCachingAllocator& the_allocator() {
  // Never destroyed: tensors in static objects may be freed after main() returns.
  static CudaCachingAllocator* a = new CudaCachingAllocator();
  return *a;
}

}  // namespace

// ---- runtime API (cuda_backend.h) -------------------------------------------------------------

int device_count() { return probe_devices().count; }
bool available() { return device_count() > 0; }

std::string device_name(int index) {
  check_device_index(index);
  cudaDeviceProp prop;
  IRIS_CUDA_CHECK(cudaGetDeviceProperties(&prop, index));
  return prop.name;
}

void set_device(int index) {
  check_device_index(index);
  IRIS_CUDA_CHECK(cudaSetDevice(index));
}

void use_device(Device d) {
  IRIS_ASSERT(d.is_cuda());
  int current = -1;
  if (cudaGetDevice(&current) != cudaSuccess) (void)cudaGetLastError();
  if (current != d.index) set_device(d.index);
}

cudaStream_t stream() {
  PerDevice& s = this_device();
  std::call_once(s.stream_once, [&] { IRIS_CUDA_CHECK(cudaStreamCreateWithFlags(&s.stream, cudaStreamNonBlocking)); });
  return s.stream;
}

cublasHandle_t cublas() {
  cudaStream_t st = stream();
  PerDevice& s = this_device();
  std::call_once(s.blas_once, [&] {
    cublasHandle_t h = nullptr;
    IRIS_CUBLAS_CHECK(cublasCreate(&h));
    IRIS_CUBLAS_CHECK(cublasSetStream(h, st));
    // Full f32 precision: no TF32 tensor-core rounding (results stay comparable with the CPU's).
    IRIS_CUBLAS_CHECK(cublasSetMathMode(h, CUBLAS_DEFAULT_MATH));
    s.blas = h;
  });
  return s.blas;
}

void synchronize() {
  IRIS_CUDA_CHECK(cudaStreamSynchronize(stream()));
  IRIS_CUDA_CHECK(cudaGetLastError());
}

void register_cuda() {
  static std::once_flag once;
  // A throw leaves the flag unset, so every later use of a CUDA device reports the same error.
  std::call_once(once, [] {
    DeviceProbe p = probe_devices();
    IRIS_CHECK(p.count > 0, "no CUDA device is available (",
               p.error == cudaSuccess ? std::string("the driver reports 0 devices")
                                      : cat_str(cudaGetErrorName(p.error), ": ", cudaGetErrorString(p.error)),
               "); run on the CPU (--device cpu) or check the driver with nvidia-smi");
    static CudaBackend* backend = new CudaBackend();
    register_allocator(DeviceType::cuda, &the_allocator());
    register_pinned_allocator(&pinned_host_allocator());
    register_backend(DeviceType::cuda, backend);
  });
}

CudaAllocatorStats allocator_stats() { return the_allocator().stats(); }
void empty_cache() { the_allocator().empty_cache(); }

// ---- copy and fill ------------------------------------------------------------------------------

namespace {

// Offsets of element i for each operand; one dim (contiguous, or a scalar broadcast) skips the
// division chain of StridedIndex::offsets.
template <int K>
__device__ __forceinline__ void element_offsets(const StridedIndex<K>& ix, int64_t i, int64_t (&off)[K]) {
  if (ix.nd == 1) {
    for (int k = 0; k < K; ++k) off[k] = i * ix.stride[k][0];
  } else {
    ix.offsets(i, off);
  }
}

// Scalar conversion (load_as_double, store_from: every conversion goes through double, as on the
// CPU, so both give the same bits) and dispatch_storage come from tensor/scalar_convert.h and
// tensor/dtype.h, shared with the CPU.

// ---- kernels ------------------------------------------------------------------------------------

// dst[i] = src[i] moving raw element bits (same dtype). ix: {dst, src}.
template <class Bits>
__global__ void copy_bits_kernel(StridedIndex<2> ix, const Bits* src, Bits* dst) {
  IRIS_KERNEL_LOOP(i, ix.numel) {
    int64_t off[2];
    element_offsets(ix, i, off);
    dst[off[0]] = src[off[1]];
  }
}

// dst[i] = convert(src[i]) through double, as the CPU does. ix: {dst, src}.
template <class S, class D>
__global__ void convert_kernel(StridedIndex<2> ix, const S* src, D* dst) {
  IRIS_KERNEL_LOOP(i, ix.numel) {
    int64_t off[2];
    element_offsets(ix, i, off);
    dst[off[0]] = store_from<D>(load_as_double(src[off[1]]));
  }
}

template <class T>
__global__ void fill_kernel(StridedIndex<1> ix, T* dst, T value) {
  IRIS_KERNEL_LOOP(i, ix.numel) {
    int64_t off[1];
    element_offsets(ix, i, off);
    dst[off[0]] = value;
  }
}

// dst <- src, both on the current device (same shape, any strides, any storage dtypes).
void device_copy(const Tensor& src, const Tensor& dst) {
  const int64_t n = dst.numel();
  if (n == 0) return;
  if (src.dtype() == dst.dtype() && src.is_contiguous() && dst.is_contiguous()) {
    IRIS_CUDA_CHECK(cudaMemcpyAsync(dst.raw_data(), src.raw_data(), dst.nbytes(), cudaMemcpyDeviceToDevice, stream()));
    return;
  }
  auto ix = make_strided_index<2>(dst.shape(), {dst.strides(), src.strides()});
  if (src.dtype() == dst.dtype()) {
    auto launch = [&](auto bits) {
      using Bits = decltype(bits);
      copy_bits_kernel<Bits><<<blocks_for(n), kThreads, 0, stream()>>>(ix, static_cast<const Bits*>(src.raw_data()),
                                                                        static_cast<Bits*>(dst.raw_data()));
      IRIS_CUDA_LAUNCHED();
    };
    switch (dtype_size(src.dtype())) {
      case 1: launch(uint8_t{}); return;
      case 2: launch(uint16_t{}); return;
      case 4: launch(uint32_t{}); return;
      default: launch(uint64_t{}); return;
    }
  }
  dispatch_storage(src.dtype(), [&](auto s0) {
    using S = decltype(s0);
    dispatch_storage(dst.dtype(), [&](auto d0) {
      using D = decltype(d0);
      convert_kernel<S, D><<<blocks_for(n), kThreads, 0, stream()>>>(ix, static_cast<const S*>(src.raw_data()),
                                                                      static_cast<D*>(dst.raw_data()));
      IRIS_CUDA_LAUNCHED();
    });
  });
}

// CPU src -> CUDA dst: make the host side contiguous (a CPU copy into pinned memory), one transfer,
// then a device gather/convert into dst when dst is strided or of another dtype.
// When the host side is a pinned block (the source itself, e.g. a DataLoader batch made with
// pin_memory, or our contiguous copy) the transfer is truly asynchronous and we return without
// waiting. The block must not be handed out again while the transfer reads it: record_pinned_read
// attaches an event on this stream to the block, and the pinned cache keeps a freed block aside
// until its events have completed (pinned.cu). We chose an event per block over synchronising when a
// block is freed because a batch is freed on the training thread, which must not stall on the GPU.
// What the event cannot guard is a host write into a pinned source the caller still holds: that is
// the caller's side of the contract, written at pin_memory in tensor/tensor.h (as PyTorch's
// non_blocking copies). Pageable host memory: wait, so the caller may change or free the source at once.
void host_to_device(const Tensor& src, const Tensor& dst) {
  Tensor host = src;
  if (!src.is_contiguous()) {
    host = empty_pinned(src.shape(), src.dtype());  // ordinary memory if pinning fails
    backend(Device::cpu()).copy(src, host);
  }
  const bool direct = dst.is_contiguous() && dst.dtype() == src.dtype();
  Tensor staged = direct ? dst : empty(src.shape(), TensorOptions(src.dtype(), dst.device()));
  IRIS_CUDA_CHECK(cudaMemcpyAsync(staged.raw_data(), host.raw_data(), host.nbytes(), cudaMemcpyHostToDevice, stream()));
  const bool async = host.is_pinned() && record_pinned_read(host.impl()->storage->data(), stream());
  if (!async) IRIS_CUDA_CHECK(cudaStreamSynchronize(stream()));
  if (!direct) device_copy(staged, dst);
}

// CUDA src -> CPU dst: gather/convert on the device into a contiguous buffer of dst's dtype, one
// transfer, wait (the host reads next), then a CPU copy when dst is strided.
void device_to_host(const Tensor& src, const Tensor& dst) {
  Tensor dev = src;
  if (!(src.is_contiguous() && src.dtype() == dst.dtype())) {
    dev = empty(src.shape(), TensorOptions(dst.dtype(), src.device()));
    device_copy(src, dev);
  }
  Tensor host = dst.is_contiguous() ? dst : empty(dst.shape(), dst.dtype());
  IRIS_CUDA_CHECK(cudaMemcpyAsync(host.raw_data(), dev.raw_data(), dev.nbytes(), cudaMemcpyDeviceToHost, stream()));
  IRIS_CUDA_CHECK(cudaStreamSynchronize(stream()));
  if (!dst.is_contiguous()) backend(Device::cpu()).copy(host, dst);
}

}  // namespace

void CudaBackend::copy(const Tensor& src, const Tensor& dst) {
  IRIS_ASSERT(src.shape() == dst.shape());
  const bool src_gpu = src.device().is_cuda(), dst_gpu = dst.device().is_cuda();
  if (!src_gpu && !dst_gpu) {
    backend(Device::cpu()).copy(src, dst);
    return;
  }
  if (src_gpu && dst_gpu) {
    IRIS_CHECK(src.device() == dst.device(), "copy: from ", src.device().str(), " to ", dst.device().str(),
               ": copies between two GPUs are not supported; go through the CPU with .cpu()");
    use_device(dst.device());
    device_copy(src, dst);
    return;
  }
  use_device(src_gpu ? src.device() : dst.device());
  if (dst.numel() == 0) return;
  if (dst_gpu) host_to_device(src, dst);
  else device_to_host(src, dst);
}

void CudaBackend::fill(const Tensor& dst, double value) {
  check_on_gpu("fill", {&dst});
  use_device(dst.device());
  const int64_t n = dst.numel();
  if (n == 0) return;
  dispatch_storage(dst.dtype(), [&](auto z) {
    using T = decltype(z);
    const T v = store_from<T>(value);
    unsigned char bytes[sizeof(T)];
    std::memcpy(bytes, &v, sizeof(T));
    bool one_byte_pattern = true;
    for (size_t k = 1; k < sizeof(T); ++k) one_byte_pattern = one_byte_pattern && bytes[k] == bytes[0];
    if (dst.is_contiguous() && one_byte_pattern) {  // zeros, and every 1-byte dtype
      IRIS_CUDA_CHECK(cudaMemsetAsync(dst.raw_data(), bytes[0], dst.nbytes(), stream()));
      return;
    }
    auto ix = make_strided_index<1>(dst.shape(), {dst.strides()});
    fill_kernel<T><<<blocks_for(n), kThreads, 0, stream()>>>(ix, static_cast<T*>(dst.raw_data()), v);
    IRIS_CUDA_LAUNCHED();
  });
}

}  // namespace iris::cuda
