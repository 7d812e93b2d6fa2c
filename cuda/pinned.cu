// The pinned host allocator: page-locked CPU blocks (cudaHostAlloc, portable to every device) that
// back CPU tensors made by empty_pinned / pin_memory, so a host -> device copy reads them by DMA,
// asynchronously (runtime.cu, host_to_device). Cached by size class like device memory (512 B
// multiples below 1 MiB, 2 MiB multiples above), so a DataLoader that repeats batch shapes stops
// calling cudaHostAlloc (slow: it locks pages) after its first batches.
// Reuse: a transfer still reading a block when its tensor is freed must finish before the block is
// handed out again. Each transfer records an event on its stream against the block
// (record_pinned_read); a freed block with events waits aside and joins the free list once they have
// completed (polled, never waited for, on the next allocation). Nothing blocks except empty_cache and
// IRIS_NO_CACHE=1 (every block is freed at once), which wait for a block's events before cudaFreeHost.
// Leaves out: a bound on the cache (it holds what the loader's prefetch depth needs), pinned memory
// for GPU -> host copies of our own (device_to_host waits anyway).
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "cuda/common.cuh"

namespace iris::cuda {

namespace {

// An event recorded after a transfer that reads a block; one per (device, stream) a block was sent
// on (a later transfer on the same stream re-records it: stream order makes the last one enough).
struct ReadEvent {
  cudaEvent_t event;
  int device;
  cudaStream_t stream;
};

struct Block {
  size_t size = 0;
  std::vector<ReadEvent> reads;
};

class PinnedCachingAllocator final : public Allocator {
 public:
  bool pinned() const override { return true; }

  void* allocate(size_t nbytes, Device device) override {
    IRIS_ASSERT(device.is_cpu());
    const size_t size = size_class(nbytes);
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.allocations;
    collect_finished_locked();
    void* p = nullptr;
    auto it = free_.find(size);
    if (it != free_.end() && !it->second.empty()) {
      p = it->second.back();
      it->second.pop_back();
      stats_.bytes_cached -= static_cast<int64_t>(size);
      ++stats_.cache_hits;
    } else {
      cudaError_t err = cudaHostAlloc(&p, size, cudaHostAllocPortable);
      if (err != cudaSuccess) {  // give the free blocks back and try once more
        (void)cudaGetLastError();
        free_all_free_locked();
        err = cudaHostAlloc(&p, size, cudaHostAllocPortable);
      }
      if (err != cudaSuccess) {
        (void)cudaGetLastError();
        throw Error(cat_str("could not allocate ", nbytes, " bytes of pinned host memory (",
                            cudaGetErrorString(err), "); iris holds ", stats_.bytes_in_use, " pinned bytes in use and ",
                            stats_.bytes_cached, " cached"));
      }
      ++stats_.host_allocs;
    }
    stats_.bytes_in_use += static_cast<int64_t>(size);
    if (stats_.bytes_in_use > stats_.peak_bytes_in_use) stats_.peak_bytes_in_use = stats_.bytes_in_use;
    live_[p].size = size;
    return p;
  }

  // Runs in ~Storage: must not throw (errors are reported on stderr).
  void release(void* ptr, size_t) override {
    if (!ptr) return;
    std::lock_guard<std::mutex> lock(mu_);
    auto it = live_.find(ptr);
    if (it == live_.end()) {
      std::fprintf(stderr, "iris: pinned allocator asked to free %p, which it did not hand out\n", ptr);
      return;
    }
    Block b = std::move(it->second);
    live_.erase(it);
    stats_.bytes_in_use -= static_cast<int64_t>(b.size);
    if (!caching_) {
      wait_and_recycle_events_locked(b.reads);
      free_host(ptr);
      return;
    }
    stats_.bytes_cached += static_cast<int64_t>(b.size);
    if (b.reads.empty()) {
      free_[b.size].push_back(ptr);
    } else {
      waiting_.push_back({ptr, std::move(b)});
    }
  }

  bool record_read(const void* block, cudaStream_t stream) {
    int device = 0;
    if (cudaGetDevice(&device) != cudaSuccess) {
      (void)cudaGetLastError();
      return false;
    }
    std::lock_guard<std::mutex> lock(mu_);
    auto it = live_.find(const_cast<void*>(block));
    if (it == live_.end()) return false;
    std::vector<ReadEvent>& reads = it->second.reads;
    for (ReadEvent& r : reads) {
      if (r.device == device && r.stream == stream) return record(r.event, stream);
    }
    cudaEvent_t e = take_event_locked(device);
    if (e == nullptr) return false;
    if (!record(e, stream)) {
      event_pool_[device].push_back(e);
      return false;
    }
    reads.push_back({e, device, stream});
    return true;
  }

  PinnedAllocatorStats stats() {
    std::lock_guard<std::mutex> lock(mu_);
    collect_finished_locked();
    PinnedAllocatorStats s = stats_;
    s.blocks_waiting = static_cast<int64_t>(waiting_.size());
    return s;
  }

  void empty_cache() {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& w : waiting_) {
      wait_and_recycle_events_locked(w.second.reads);
      free_host(w.first);
      stats_.bytes_cached -= static_cast<int64_t>(w.second.size);
    }
    waiting_.clear();
    free_all_free_locked();
  }

 private:
  static bool record(cudaEvent_t e, cudaStream_t stream) {
    if (cudaEventRecord(e, stream) == cudaSuccess) return true;
    (void)cudaGetLastError();
    return false;
  }

  // An event of the current device (events are recorded on a stream of the device they were made on);
  // from the pool, so the steady state creates none.
  cudaEvent_t take_event_locked(int device) {
    std::vector<cudaEvent_t>& pool = event_pool_[device];
    if (!pool.empty()) {
      cudaEvent_t e = pool.back();
      pool.pop_back();
      return e;
    }
    cudaEvent_t e = nullptr;
    if (cudaEventCreateWithFlags(&e, cudaEventDisableTiming) != cudaSuccess) {
      (void)cudaGetLastError();
      return nullptr;
    }
    return e;
  }

  // Moves every waiting block whose transfers have all completed to the free list. A failed query
  // (a broken context) counts as completed: no transfer will run any more.
  void collect_finished_locked() {
    for (size_t i = 0; i < waiting_.size();) {
      Block& b = waiting_[i].second;
      bool done = true;
      for (const ReadEvent& r : b.reads) {
        cudaError_t q = cudaEventQuery(r.event);
        if (q == cudaErrorNotReady) {
          done = false;
          break;
        }
        if (q != cudaSuccess) (void)cudaGetLastError();
      }
      if (!done) {
        ++i;
        continue;
      }
      for (const ReadEvent& r : b.reads) event_pool_[r.device].push_back(r.event);
      free_[b.size].push_back(waiting_[i].first);
      if (i + 1 != waiting_.size()) waiting_[i] = std::move(waiting_.back());
      waiting_.pop_back();
    }
  }

  void wait_and_recycle_events_locked(std::vector<ReadEvent>& reads) {
    for (const ReadEvent& r : reads) {
      if (cudaEventSynchronize(r.event) != cudaSuccess) (void)cudaGetLastError();
      event_pool_[r.device].push_back(r.event);
    }
    reads.clear();
  }

  void free_all_free_locked() {
    for (auto& kv : free_) {
      for (void* p : kv.second) {
        free_host(p);
        stats_.bytes_cached -= static_cast<int64_t>(kv.first);
      }
    }
    free_.clear();
  }

  // Never throws (runs from destructors, maybe at exit).
  static void free_host(void* p) {
    cudaError_t err = cudaFreeHost(p);
    if (err != cudaSuccess && err != cudaErrorCudartUnloading)
      std::fprintf(stderr, "iris: cudaFreeHost failed: %s\n", cudaGetErrorString(err));
    (void)cudaGetLastError();
  }

  std::mutex mu_;
  std::unordered_map<size_t, std::vector<void*>> free_;    // reusable blocks by size class
  std::vector<std::pair<void*, Block>> waiting_;           // freed, a transfer may still read them
  std::unordered_map<void*, Block> live_;                  // handed-out block -> size, transfers
  std::unordered_map<int, std::vector<cudaEvent_t>> event_pool_;  // spare events by device
  PinnedAllocatorStats stats_;
  const bool caching_ = !caching_disabled_by_env();
};

PinnedCachingAllocator& the_pinned_allocator() {
  // Never destroyed: pinned tensors in static objects may be freed after main() returns.
  static PinnedCachingAllocator* a = new PinnedCachingAllocator();
  return *a;
}

}  // namespace

Allocator& pinned_host_allocator() { return the_pinned_allocator(); }
bool record_pinned_read(const void* block, cudaStream_t stream) { return the_pinned_allocator().record_read(block, stream); }
PinnedAllocatorStats pinned_allocator_stats() { return the_pinned_allocator().stats(); }
void pinned_empty_cache() { the_pinned_allocator().empty_cache(); }

}  // namespace iris::cuda
