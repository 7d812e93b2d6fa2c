// Storage: one reference-counted block of device memory that tensors view, and the CPU caching
// allocator behind it (freed blocks are kept by exact size and handed out again, so a training loop
// that repeats the same shapes stops calling malloc after its first steps).
// The CUDA allocator lives in cuda/; Storage only calls through the Allocator interface.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "tensor/dtype.h"

namespace iris {

struct Allocator {
  virtual ~Allocator() = default;
  virtual void* allocate(size_t nbytes) = 0;
  virtual void release(void* ptr, size_t nbytes) = 0;
};

// Counters for tests and benchmarks (CPU allocator).
struct AllocatorStats {
  int64_t allocations = 0;     // calls to allocate()
  int64_t cache_hits = 0;      // served from the cache
  int64_t system_allocs = 0;   // went to the system allocator
  int64_t bytes_in_use = 0;
  int64_t peak_bytes_in_use = 0;
  int64_t bytes_cached = 0;
  bool caching = true;         // false under AddressSanitizer or IRIS_NO_CACHE=1 (every block is malloc'd)
};

Allocator& cpu_allocator();
AllocatorStats cpu_allocator_stats();
void cpu_allocator_empty_cache();  // returns every cached block to the system

// Registers the allocator used for a device type (the CUDA backend registers itself).
void register_allocator(DeviceType type, Allocator* a);
Allocator& allocator_for(Device d);

class Storage {
 public:
  Storage(size_t nbytes, Device device);                     // owns the memory
  Storage(void* external, size_t nbytes, Device device);     // borrows: never frees
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }

 private:
  void* data_ = nullptr;
  size_t nbytes_ = 0;
  Device device_;
  bool owned_ = true;
};

}  // namespace iris
