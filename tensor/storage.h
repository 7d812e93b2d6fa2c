// Storage: one reference-counted block of device memory that tensors view, and the CPU caching
// allocator behind it (freed blocks are kept by exact size and handed out again, so a training loop
// that repeats the same shapes stops calling malloc after its first steps).
// The CUDA allocators live in cuda/ (device memory, and page-locked "pinned" host memory that a GPU
// copies from without staging); Storage only calls through the Allocator interface, and remembers
// the allocator that made its block so the block goes back to it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "tensor/dtype.h"

namespace iris {

// IRIS_NO_CACHE=1: every caching allocator (CPU, CUDA device, pinned host) frees each block at once.
bool caching_disabled_by_env();

struct Allocator {
  virtual ~Allocator() = default;
  // A block of at least nbytes on `device` (its index is honoured: cuda:1 memory comes from cuda:1
  // whatever the calling thread's current device). Throws iris::Error when out of memory.
  virtual void* allocate(size_t nbytes, Device device) = 0;
  virtual void release(void* ptr, size_t nbytes) = 0;  // must not throw (runs in ~Storage)
  // True for page-locked host memory: CPU storage a GPU transfer may read asynchronously.
  virtual bool pinned() const { return false; }
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

// Page-locked host memory. The CUDA backend registers its caching pinned allocator when it starts;
// pinned_allocator() starts it where a GPU is usable and returns null otherwise (a CPU-only build or
// a machine without a GPU), where callers fall back to ordinary CPU memory.
void register_pinned_allocator(Allocator* a);
Allocator* pinned_allocator();

class Storage {
 public:
  Storage(size_t nbytes, Device device);                     // owns memory from allocator_for(device)
  Storage(size_t nbytes, Device device, Allocator& from);    // owns memory from `from` (pinned host memory)
  Storage(void* external, size_t nbytes, Device device);     // borrows: never frees
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }
  bool pinned() const { return allocator_ != nullptr && allocator_->pinned(); }

 private:
  Allocator* allocator_ = nullptr;  // null when borrowed
  void* data_ = nullptr;
  size_t nbytes_ = 0;
  Device device_;
  bool owned_ = true;
};

}  // namespace iris
