// The CPU caching allocator and Storage.
// Blocks are 64-byte aligned (AVX-512 loads) and cached by exact size class (rounded up to 64 bytes),
// which is what a training loop needs: every step asks for the same sizes. The cache is bounded
// (IRIS_CPU_CACHE_MB, default 4096) and turned off under AddressSanitizer or with IRIS_NO_CACHE=1,
// so use-after-free bugs stay visible.
#include "tensor/storage.h"

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

namespace iris {

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

}  // namespace

bool caching_disabled_by_env() {
  const char* off = std::getenv("IRIS_NO_CACHE");
  return off && off[0] == '1';
}

namespace {

class CpuCachingAllocator final : public Allocator {
 public:
  CpuCachingAllocator() {
    caching_ = !kSanitized && !caching_disabled_by_env();
    const char* mb = std::getenv("IRIS_CPU_CACHE_MB");
    limit_ = (mb ? std::atoll(mb) : 4096LL) << 20;
  }
  ~CpuCachingAllocator() override { empty_cache(); }

  void* allocate(size_t nbytes, Device device) override {
    IRIS_ASSERT(device.is_cpu());
    size_t size = round_up(nbytes);
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.allocations;
    stats_.bytes_in_use += static_cast<int64_t>(size);
    if (stats_.bytes_in_use > stats_.peak_bytes_in_use) stats_.peak_bytes_in_use = stats_.bytes_in_use;
    auto it = cache_.find(size);
    if (it != cache_.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      stats_.bytes_cached -= static_cast<int64_t>(size);
      ++stats_.cache_hits;
      return p;
    }
    ++stats_.system_allocs;
    void* p = std::aligned_alloc(64, size);
    if (!p) {  // try once more after giving the cache back
      release_all_locked();
      p = std::aligned_alloc(64, size);
    }
    if (!p) {
      stats_.bytes_in_use -= static_cast<int64_t>(size);
      throw Error(cat_str("out of memory: could not allocate ", nbytes, " bytes on the CPU"));
    }
    return p;
  }

  void release(void* ptr, size_t nbytes) override {
    if (!ptr) return;
    size_t size = round_up(nbytes);
    std::lock_guard<std::mutex> lock(mu_);
    stats_.bytes_in_use -= static_cast<int64_t>(size);
    if (caching_ && stats_.bytes_cached + static_cast<int64_t>(size) <= limit_) {
      cache_[size].push_back(ptr);
      stats_.bytes_cached += static_cast<int64_t>(size);
    } else {
      std::free(ptr);
    }
  }

  AllocatorStats stats() {
    std::lock_guard<std::mutex> lock(mu_);
    AllocatorStats s = stats_;
    s.caching = caching_;
    return s;
  }

  void empty_cache() {
    std::lock_guard<std::mutex> lock(mu_);
    release_all_locked();
  }

 private:
  static size_t round_up(size_t n) { return n == 0 ? 64 : (n + 63) / 64 * 64; }
  void release_all_locked() {
    for (auto& kv : cache_)
      for (void* p : kv.second) std::free(p);
    cache_.clear();
    stats_.bytes_cached = 0;
  }

  std::mutex mu_;
  std::unordered_map<size_t, std::vector<void*>> cache_;
  AllocatorStats stats_;
  bool caching_ = true;
  int64_t limit_ = 0;
};

CpuCachingAllocator& the_cpu_allocator() {
  // Never destroyed: tensors in static objects may be freed after main() returns.
  static CpuCachingAllocator* a = new CpuCachingAllocator();
  return *a;
}

Allocator* g_cuda_allocator = nullptr;
std::atomic<Allocator*> g_pinned_allocator{nullptr};  // set once by the CUDA backend, read by loader threads

}  // namespace

Allocator& cpu_allocator() { return the_cpu_allocator(); }
AllocatorStats cpu_allocator_stats() { return the_cpu_allocator().stats(); }
void cpu_allocator_empty_cache() { the_cpu_allocator().empty_cache(); }

void register_allocator(DeviceType type, Allocator* a) {
  IRIS_ASSERT(type == DeviceType::cuda);
  g_cuda_allocator = a;
}

void register_pinned_allocator(Allocator* a) { g_pinned_allocator.store(a); }

#ifdef IRIS_WITH_CUDA
namespace cuda {
void register_cuda();  // cuda/runtime.cu
bool available();      // cuda/runtime.cu; never throws
}
#endif

Allocator* pinned_allocator() {
  Allocator* a = g_pinned_allocator.load();
#ifdef IRIS_WITH_CUDA
  // Starting the backend registers the pinned allocator; without a usable GPU there is none.
  if (a == nullptr && cuda::available()) {
    cuda::register_cuda();
    a = g_pinned_allocator.load();
  }
#endif
  return a;
}

Allocator& allocator_for(Device d) {
  if (d.is_cpu()) return cpu_allocator();
#ifdef IRIS_WITH_CUDA
  if (g_cuda_allocator == nullptr) cuda::register_cuda();
#endif
  IRIS_CHECK(g_cuda_allocator != nullptr, "device ", d.str(),
             ": this build of iris has no CUDA backend; rebuild with `make CUDA=1` on a machine with nvcc");
  return *g_cuda_allocator;
}

Storage::Storage(size_t nbytes, Device device) : Storage(nbytes, device, allocator_for(device)) {}

Storage::Storage(size_t nbytes, Device device, Allocator& from)
    : allocator_(&from), nbytes_(nbytes), device_(device) {
  data_ = from.allocate(nbytes, device);
}

Storage::Storage(void* external, size_t nbytes, Device device)
    : data_(external), nbytes_(nbytes), device_(device), owned_(false) {}

Storage::~Storage() {
  if (owned_ && data_) allocator_->release(data_, nbytes_);
}

}  // namespace iris
