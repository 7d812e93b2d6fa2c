// The strided N-d loop behind every CPU elementwise kernel: K operands share one index space, each
// with its own strides (stride 0 = broadcast). Dims of size 1 are dropped and adjacent dims that are
// contiguous for every operand are merged, so most calls become one long inner loop. Work is split
// by linear element index across OpenMP threads above kParallelGrain elements.
// The body sees runs: body(n, offsets, inner_strides) for n consecutive elements of the last dim.
// Leaves out reductions (each output reads many inputs): see reduce.cpp.
#pragma once

#include <algorithm>
#include <array>

#include "tensor/tensor.h"

namespace iris::cpu {

constexpr int64_t kParallelGrain = 32768;

template <int K>
using Offsets = std::array<int64_t, K>;

// A shape and the strides of K operands with size-1 dims dropped and adjacent dims merged where
// they are contiguous for every operand: [B, G, Cg, N] read from a [B, N, G*Cg] buffer is [B, C, N].
template <int K>
struct MergedDims {
  int nd = 0;
  bool empty = false;  // some dim has size 0
  int64_t size[kMaxDims];
  int64_t st[K][kMaxDims];
};
template <int K>
MergedDims<K> merge_dims(const Shape& shape, const std::array<Strides, K>& strides) {
  MergedDims<K> m;
  for (int d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    if (shape[d] == 0) {
      m.empty = true;
      return m;
    }
    bool merge = m.nd > 0;
    for (int k = 0; k < K && merge; ++k) merge = m.st[k][m.nd - 1] == strides[k][d] * shape[d];
    if (merge) {
      m.size[m.nd - 1] *= shape[d];
      for (int k = 0; k < K; ++k) m.st[k][m.nd - 1] = strides[k][d];
    } else {
      m.size[m.nd] = shape[d];
      for (int k = 0; k < K; ++k) m.st[k][m.nd] = strides[k][d];
      ++m.nd;
    }
  }
  return m;
}

template <int K, class Body>
void strided_loop(const Shape& shape, const std::array<Strides, K>& strides, Body&& body,
                  int64_t grain = kParallelGrain) {
  // 1. Drop size-1 dims and merge dims that are contiguous for every operand.
  const MergedDims<K> m = merge_dims<K>(shape, strides);
  if (m.empty) return;
  const int nd = m.nd;
  const auto& size = m.size;
  const auto& st = m.st;
  Offsets<K> inner{};
  if (nd == 0) {  // a single element
    Offsets<K> zero{};
    body(int64_t(1), zero, inner);
    return;
  }
  const int last = nd - 1;
  for (int k = 0; k < K; ++k) inner[k] = st[k][last];
  int64_t total = 1;
  for (int d = 0; d < nd; ++d) total *= size[d];

  // 2. Walk the linear range [begin, end) in runs along the last dim.
  auto run_range = [&](int64_t begin, int64_t end) {
    int64_t idx[kMaxDims];
    Offsets<K> off{};
    int64_t rem = begin;
    for (int d = last; d >= 0; --d) {
      idx[d] = rem % size[d];
      rem /= size[d];
      for (int k = 0; k < K; ++k) off[k] += idx[d] * st[k][d];
    }
    for (int64_t pos = begin; pos < end;) {
      int64_t n = std::min(size[last] - idx[last], end - pos);
      body(n, off, inner);
      pos += n;
      idx[last] += n;
      for (int k = 0; k < K; ++k) off[k] += n * st[k][last];
      for (int d = last; d > 0 && idx[d] == size[d]; --d) {
        idx[d] = 0;
        ++idx[d - 1];
        for (int k = 0; k < K; ++k) off[k] += st[k][d - 1] - size[d] * st[k][d];
      }
    }
  };

  int threads = total >= grain ? std::min<int64_t>(num_threads(), total / (grain / 4) + 1) : 1;
  if (threads <= 1) {
    run_range(0, total);
    return;
  }
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int t = 0; t < threads; ++t) run_range(total * t / threads, total * (t + 1) / threads);
}

// Threads for n items of cost_per_item each: all of them (at most n) once the work passes the grain.
inline int team_size(int64_t n, int64_t cost_per_item) {
  return n * cost_per_item >= kParallelGrain ? static_cast<int>(std::min<int64_t>(num_threads(), n)) : 1;
}

// Runs f(begin, end) over [0, n) split across threads when n * cost_per_item is large enough.
template <class F>
void parallel_for(int64_t n, int64_t cost_per_item, F&& f) {
  const int threads = team_size(n, cost_per_item);
  if (threads <= 1) {
    if (n > 0) f(int64_t(0), n);
    return;
  }
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int t = 0; t < threads; ++t) {
    int64_t b = n * t / threads, e = n * (t + 1) / threads;
    if (b < e) f(b, e);
  }
}

// parallel_for for loops of many equal items that run long enough for the two threads of a shared
// VM to drift apart (attention over B*H slices): the range is cut into up to 8 chunks per thread,
// handed out first come first served, so the thread that finishes early takes the next chunk
// instead of waiting at the barrier.
template <class F>
void parallel_for_dynamic(int64_t n, int64_t cost_per_item, F&& f) {
  const int threads = team_size(n, cost_per_item);
  if (threads <= 1) {
    if (n > 0) f(int64_t(0), n);
    return;
  }
  const int64_t chunks = std::min<int64_t>(n, 8 * threads);
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
  for (int64_t c = 0; c < chunks; ++c) {
    int64_t b = n * c / chunks, e = n * (c + 1) / chunks;
    if (b < e) f(b, e);
  }
}

}  // namespace iris::cpu
