// CUDA reductions (CudaBackend::reduce): sum, prod, max, min, argmax, argmin, any, all over any set
// of dims of a strided input; the twin of tensor/cpu/reduce.cpp, with the same dtypes, NaN rule
// (NaN wins max/min, the first NaN's index for argmax/argmin), ties (the first index) and
// accumulation (floating sums and products in double, integers in i64).
// Layout: the kept dims index the outputs, the reduced dims (merged where contiguous) are walked
// for each output by a group of 1, 32 or 256 threads that combine their partials in a fixed tree
// (deterministic). Leaves out: bf16/f16 (storage-only), multi-pass reductions for huge single
// outputs (one block walks the whole reduced space).
#include <cmath>
#include <type_traits>

#include "cuda/common.cuh"

namespace iris::cuda {

namespace {

// A set of dims walked in row-major order: size-1 dims dropped, contiguous neighbours merged.
struct DimWalk {
  int nd = 0;
  int64_t size[kMaxDims];
  int64_t stride[kMaxDims];
  int64_t count = 1;

  // Element offset of the i-th position (row-major over the dims).
  __device__ inline int64_t offset(int64_t i) const {
    int64_t off = 0;
    for (int d = nd - 1; d >= 0; --d) {
      off += (i % size[d]) * stride[d];
      i /= size[d];
    }
    return off;
  }
};

// Splits x's dims into kept (index the outputs) and reduced ones, as the CPU's make_geometry.
void split_dims(const Tensor& x, uint32_t mask, DimWalk& kept, DimWalk& reduced) {
  for (int d = 0; d < x.dim(); ++d) {
    int64_t s = x.shape()[d], st = x.strides()[d];
    if (s == 1) continue;
    DimWalk& w = (mask & (1u << d)) ? reduced : kept;
    if (w.nd > 0 && w.stride[w.nd - 1] == st * s) {  // merge with the previous dim of the same kind
      w.size[w.nd - 1] *= s;
      w.stride[w.nd - 1] = st;
    } else {
      w.size[w.nd] = s;
      w.stride[w.nd] = st;
      ++w.nd;
    }
    w.count *= s;
  }
}

template <class T>
__device__ inline bool is_nan_value(T v) {
  if constexpr (std::is_floating_point_v<T>) return isnan(v);
  else return false;
}

// Each reducer: a trivially constructible State (it lives in shared memory), identity(),
// load(value, position), combine(a, b) (associative; a holds the lower positions when it matters)
// and store(out, k, state).
template <class T>
using SumAcc = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;

template <class T, bool kIsSum>
struct SumProd {
  using State = SumAcc<T>;
  __device__ static State identity() { return kIsSum ? State(0) : State(1); }
  __device__ static State load(T v, int64_t) { return static_cast<State>(v); }
  __device__ static State combine(State a, State b) { return kIsSum ? a + b : a * b; }
  __device__ static void store(void* out, int64_t k, State s) { static_cast<T*>(out)[k] = static_cast<T>(s); }
};

// max/min and argmax/argmin: the best value and its flat position in the reduced sub-space;
// pos < 0 marks the identity (nothing seen yet).
template <class T>
struct Best {
  T value;
  int64_t pos;
};

template <class T, bool kWantMax, bool kWantIndex>
struct Extreme {
  using State = Best<T>;
  __device__ static State identity() { return State{T(0), -1}; }
  __device__ static State load(T v, int64_t pos) { return State{v, pos}; }
  __device__ static State combine(State a, State b) {
    if (a.pos < 0) return b;
    if (b.pos < 0) return a;
    bool a_nan = is_nan_value(a.value), b_nan = is_nan_value(b.value);
    if (a_nan || b_nan) {  // NaN wins; between two NaNs the first
      if (a_nan && b_nan) return a.pos < b.pos ? a : b;
      return a_nan ? a : b;
    }
    bool b_better = kWantMax ? b.value > a.value : b.value < a.value;
    bool a_better = kWantMax ? a.value > b.value : a.value < b.value;
    if (b_better) return b;
    if (a_better) return a;
    return a.pos <= b.pos ? a : b;  // ties: the first position
  }
  __device__ static void store(void* out, int64_t k, State s) {
    if constexpr (kWantIndex) static_cast<int64_t*>(out)[k] = s.pos < 0 ? 0 : s.pos;
    else static_cast<T*>(out)[k] = s.value;
  }
};

template <class T, bool kIsAny>
struct AnyAll {
  using State = bool;
  __device__ static State identity() { return !kIsAny; }
  __device__ static State load(T v, int64_t) { return v != T(0); }
  __device__ static State combine(State a, State b) { return kIsAny ? (a || b) : (a && b); }
  __device__ static void store(void* out, int64_t k, State s) { static_cast<bool*>(out)[k] = s; }
};

// One group of kGroup consecutive threads per output; kGroup divides blockDim.x (kThreads). The
// loop over outputs is uniform across the block, so every thread reaches every __syncthreads.
// x: base pointer (offset applied); out: contiguous, one value per output.
template <class T, class Reducer, int kGroup>
__global__ void reduce_kernel(const T* x, DimWalk kept, DimWalk reduced, void* out) {
  using State = typename Reducer::State;
  __shared__ State partial[kThreads];
  const int groups_per_block = blockDim.x / kGroup;
  const int group = threadIdx.x / kGroup, lane = threadIdx.x % kGroup;
  const int64_t K = kept.count, R = reduced.count;
  for (int64_t first = static_cast<int64_t>(blockIdx.x) * groups_per_block; first < K;
       first += static_cast<int64_t>(gridDim.x) * groups_per_block) {
    const int64_t k = first + group;
    State acc = Reducer::identity();
    if (k < K) {
      const T* base = x + kept.offset(k);
      if (reduced.nd == 1) {  // the common case: one (merged) reduced dim
        const int64_t st = reduced.stride[0];
        for (int64_t r = lane; r < R; r += kGroup) acc = Reducer::combine(acc, Reducer::load(base[r * st], r));
      } else {
        for (int64_t r = lane; r < R; r += kGroup)
          acc = Reducer::combine(acc, Reducer::load(base[reduced.offset(r)], r));
      }
    }
    if constexpr (kGroup > 1) {
      partial[threadIdx.x] = acc;
      __syncthreads();
      for (int s = kGroup / 2; s > 0; s >>= 1) {
        if (lane < s) partial[threadIdx.x] = Reducer::combine(partial[threadIdx.x], partial[threadIdx.x + s]);
        __syncthreads();
      }
      acc = partial[threadIdx.x];  // lane 0 holds the group's result
      __syncthreads();             // before the next round overwrites partial
    }
    if (lane == 0 && k < K) Reducer::store(out, k, acc);
  }
}

template <class T, class Reducer>
void launch_reduce(const Tensor& x, const DimWalk& kept, const DimWalk& reduced, const Tensor& out) {
  const int64_t K = kept.count, R = reduced.count;
  const T* xp = x.data<T>();
  void* op = out.raw_data();
  // Threads per output: one when each output reads few values or the outputs are adjacent in
  // memory and plentiful (column sums read coalesced); a block when outputs are few or long.
  const bool kept_inner_unit = kept.nd > 0 && kept.stride[kept.nd - 1] == 1;
  auto grid = [&](int group) {
    int64_t groups_per_block = kThreads / group;
    int64_t blocks = (K + groups_per_block - 1) / groups_per_block;
    return static_cast<unsigned>(std::min<int64_t>(std::max<int64_t>(blocks, 1), 65535 * 8));
  };
  if (R <= 8 || (kept_inner_unit && K >= 8192 && R <= 4096)) {
    reduce_kernel<T, Reducer, 1><<<grid(1), kThreads, 0, stream()>>>(xp, kept, reduced, op);
  } else if (R >= 4096 || K <= 256) {
    reduce_kernel<T, Reducer, kThreads><<<grid(kThreads), kThreads, 0, stream()>>>(xp, kept, reduced, op);
  } else {
    reduce_kernel<T, Reducer, 32><<<grid(32), kThreads, 0, stream()>>>(xp, kept, reduced, op);
  }
  IRIS_CUDA_LAUNCHED();
}

template <class T>
void reduce_typed(ReduceOp op, const Tensor& x, const DimWalk& kept, const DimWalk& reduced, const Tensor& out) {
  switch (op) {
    case ReduceOp::sum: launch_reduce<T, SumProd<T, true>>(x, kept, reduced, out); return;
    case ReduceOp::prod: launch_reduce<T, SumProd<T, false>>(x, kept, reduced, out); return;
    case ReduceOp::max: launch_reduce<T, Extreme<T, true, false>>(x, kept, reduced, out); return;
    case ReduceOp::min: launch_reduce<T, Extreme<T, false, false>>(x, kept, reduced, out); return;
    case ReduceOp::argmax: launch_reduce<T, Extreme<T, true, true>>(x, kept, reduced, out); return;
    case ReduceOp::argmin: launch_reduce<T, Extreme<T, false, true>>(x, kept, reduced, out); return;
    case ReduceOp::any: launch_reduce<T, AnyAll<T, true>>(x, kept, reduced, out); return;
    case ReduceOp::all: launch_reduce<T, AnyAll<T, false>>(x, kept, reduced, out); return;
  }
  IRIS_ASSERT(false);
}

}  // namespace

void CudaBackend::reduce(ReduceOp op, const Tensor& x, uint32_t dim_mask, const Tensor& out) {
  check_on_gpu("reduce", {&x, &out});
  IRIS_ASSERT(out.is_contiguous());
  if (x.numel() == 0) {  // empty reductions: identities (max/min of nothing is an error upstream)
    double v = op == ReduceOp::prod || op == ReduceOp::all ? 1.0 : 0.0;
    fill(out, v);
    return;
  }
  DType want = op == ReduceOp::argmax || op == ReduceOp::argmin ? DType::i64
               : op == ReduceOp::any || op == ReduceOp::all   ? DType::b8
                                                               : x.dtype();
  IRIS_CHECK(out.dtype() == want, "reduce: the output must be ", dtype_name(want), ", got ", dtype_name(out.dtype()));
  DimWalk kept, reduced;
  split_dims(x, dim_mask, kept, reduced);
  IRIS_ASSERT(out.numel() == kept.count);
  cuda_dispatch_all(x.dtype(), "reduce", [&](auto z) { reduce_typed<decltype(z)>(op, x, kept, reduced, out); });
}

}  // namespace iris::cuda
