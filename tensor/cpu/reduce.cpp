// CPU reductions: sum, prod, max, min, argmax, argmin, any, all over any set of dims.
// Kept dims index the outputs; the reduced dims (merged where contiguous) are walked for each
// output. Two layouts get their own loops: reducing the innermost contiguous block (row sums)
// and reducing the outermost dims of a contiguous tensor (column sums, e.g. bias gradients).
// Floating sums and products accumulate in double.
#include <cmath>
#include <limits>

#include "tensor/cpu/cpu_backend.h"
#include "tensor/cpu/loops.h"

namespace iris::cpu {

namespace {

struct Geometry {
  int nk = 0, nr = 0;  // kept / reduced dims after merging
  int64_t ksize[kMaxDims], kstride[kMaxDims];
  int64_t rsize[kMaxDims], rstride[kMaxDims];
  int64_t K = 1, R = 1;
};

Geometry make_geometry(const Tensor& x, uint32_t mask) {
  Geometry g;
  for (int d = 0; d < x.dim(); ++d) {
    int64_t s = x.shape()[d], st = x.strides()[d];
    bool reduced = mask & (1u << d);
    if (s == 1) continue;
    int64_t* sizes = reduced ? g.rsize : g.ksize;
    int64_t* strides = reduced ? g.rstride : g.kstride;
    int& n = reduced ? g.nr : g.nk;
    if (n > 0 && strides[n - 1] == st * s) {  // merge with the previous dim of the same kind
      sizes[n - 1] *= s;
      strides[n - 1] = st;
    } else {
      sizes[n] = s;
      strides[n] = st;
      ++n;
    }
  }
  for (int i = 0; i < g.nk; ++i) g.K *= g.ksize[i];
  for (int i = 0; i < g.nr; ++i) g.R *= g.rsize[i];
  return g;
}

// Offset of output number k (row-major over the kept dims).
inline int64_t kept_offset(const Geometry& g, int64_t k) {
  int64_t off = 0;
  for (int d = g.nk - 1; d >= 0; --d) {
    off += (k % g.ksize[d]) * g.kstride[d];
    k /= g.ksize[d];
  }
  return off;
}

// Calls f(offset, n, stride) for runs of the reduced sub-space along its innermost dim; the
// runs come in row-major order of the reduced dims (so argmax's flat index is run-major).
template <class F>
inline void for_each_run(const Geometry& g, int64_t base, F&& f) {
  if (g.nr == 0) {
    f(base, int64_t(1), int64_t(0));
    return;
  }
  int last = g.nr - 1;
  int64_t outer = g.R / g.rsize[last];
  int64_t idx[kMaxDims] = {};
  int64_t off = base;
  for (int64_t o = 0; o < outer; ++o) {
    f(off, g.rsize[last], g.rstride[last]);
    for (int d = last - 1; d >= 0; --d) {
      off += g.rstride[d];
      if (++idx[d] < g.rsize[d]) break;
      off -= g.rsize[d] * g.rstride[d];
      idx[d] = 0;
    }
  }
}

template <class T>
using Acc = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;

template <class T>
inline bool is_nan(T v) {
  if constexpr (std::is_floating_point_v<T>) return std::isnan(v);
  else return false;
}

template <class T>
void reduce_typed(ReduceOp op, const Tensor& x, uint32_t mask, const Tensor& out) {
  Geometry g = make_geometry(x, mask);
  const T* xp = x.data<T>();
  const int64_t K = g.K, R = g.R;

  // Column sums of a contiguous tensor: out[k] = sum_r x[r * K + k].
  bool outer_block = x.is_contiguous() && op == ReduceOp::sum && g.nr == 1 && g.nk == 1 && g.kstride[0] == 1 &&
                     g.rstride[0] == K;
  if (outer_block) {
    T* op_ = out.data<T>();
    parallel_for(K, R, [&](int64_t k0, int64_t k1) {
      std::vector<Acc<T>> acc(static_cast<size_t>(k1 - k0), Acc<T>(0));
      for (int64_t r = 0; r < R; ++r) {
        const T* row = xp + r * K;
        Acc<T>* a = acc.data() - k0;
#pragma omp simd  // (not vectorised without it at -O2: the widening add needs the hint)
        for (int64_t k = k0; k < k1; ++k) a[k] += row[k];
      }
      for (int64_t k = k0; k < k1; ++k) op_[k] = static_cast<T>(acc[k - k0]);
    });
    return;
  }

  parallel_for(K, R, [&](int64_t k0, int64_t k1) {
    for (int64_t k = k0; k < k1; ++k) {
      int64_t base = kept_offset(g, k);
      switch (op) {
        case ReduceOp::sum: case ReduceOp::prod: {
          bool is_sum = op == ReduceOp::sum;
          Acc<T> acc = is_sum ? Acc<T>(0) : Acc<T>(1);
          for_each_run(g, base, [&](int64_t off, int64_t n, int64_t st) {
            const T* p = xp + off;
            if (is_sum) {
              if (st == 1) for (int64_t i = 0; i < n; ++i) acc += p[i];
              else for (int64_t i = 0; i < n; ++i) acc += p[i * st];
            } else {
              for (int64_t i = 0; i < n; ++i) acc *= p[i * st];
            }
          });
          out.data<T>()[k] = static_cast<T>(acc);
          break;
        }
        case ReduceOp::max: case ReduceOp::min: case ReduceOp::argmax: case ReduceOp::argmin: {
          bool want_max = op == ReduceOp::max || op == ReduceOp::argmax;
          T best = xp[base];
          int64_t best_i = 0, i0 = 0;
          bool found_nan = false;
          for_each_run(g, base, [&](int64_t off, int64_t n, int64_t st) {
            for (int64_t i = 0; i < n && !found_nan; ++i) {
              T v = xp[off + i * st];
              if (is_nan(v)) {  // NaN wins, as in PyTorch
                best = v;
                best_i = i0 + i;
                found_nan = true;
              } else if (want_max ? v > best : v < best) {
                best = v;
                best_i = i0 + i;
              }
            }
            i0 += n;
          });
          if (op == ReduceOp::max || op == ReduceOp::min) out.data<T>()[k] = best;
          else out.data<int64_t>()[k] = best_i;
          break;
        }
        case ReduceOp::any: case ReduceOp::all: {
          bool is_any = op == ReduceOp::any, r = !is_any;
          for_each_run(g, base, [&](int64_t off, int64_t n, int64_t st) {
            for (int64_t i = 0; i < n; ++i) {
              bool nz = xp[off + i * st] != T(0);
              if (is_any) r = r || nz;
              else r = r && nz;
            }
          });
          out.data<bool>()[k] = r;
          break;
        }
      }
    }
  });
}

}  // namespace

void CpuBackend::reduce(ReduceOp op, const Tensor& x, uint32_t dim_mask, const Tensor& out) {
  IRIS_ASSERT(out.is_contiguous());
  if (x.numel() == 0) {  // empty reductions: identities (max/min of nothing is an error upstream)
    double v = op == ReduceOp::prod || op == ReduceOp::all ? 1.0 : 0.0;
    fill(out, v);
    return;
  }
  dispatch_all(x.dtype(), "reduce", [&](auto z) { reduce_typed<decltype(z)>(op, x, dim_mask, out); });
}

}  // namespace iris::cpu
