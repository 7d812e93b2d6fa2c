// GPU twins of the pooling, resampling and indexing kernels (cuda/pool.cu, cuda/index.cu) checked
// against the CPU on the same inputs, through the public ops: max/avg/adaptive pooling (stride,
// padding, dilation, ceil_mode, count_include_pad, ties, NaN), interpolate (nearest, bilinear,
// align_corners, by size and by scale), roi_align (aligned, adaptive and fixed sampling), and
// index_select / index_add / gather / scatter_add / embedding with their backward, integer dtypes,
// strided operands, and the out-of-range index error raised before any kernel runs.
// Every case names its op, shapes and dtype on failure. Skips (with a message) without a GPU.
#include <cmath>
#include <string>
#include <vector>

#include "tensor/backend.h"
#include "tests/cuda_helpers.h"

using namespace iris;
using iris::testing::noncontiguous;
using iris::testing::random_tensor;
using iris::testing::to_gpu;

namespace {

Tensor random_index(int64_t high, const Shape& shape, DType dt, uint64_t seed) {
  Generator g(seed);
  return randint(0, high, shape, DType::i64, &g).to(dt);
}

double atol_of(DType dt) { return dt == DType::f64 ? 1e-11 : 1e-5; }
double rtol_of(DType dt) { return dt == DType::f64 ? 1e-11 : 1e-5; }

using OpFn = std::function<Tensor(const std::vector<Tensor>&)>;

// testing::compare_forward_backward with this file's tolerances (layout applies to floating inputs).
void compare_forward_backward(const std::string& op, const OpFn& fn, const std::vector<Tensor>& cpu_inputs, DType dt,
                              const std::function<Tensor(const Tensor&)>& layout = nullptr) {
  testing::compare_forward_backward(op, fn, cpu_inputs, dt, atol_of(dt), rtol_of(dt), layout);
}

Tensor leaf(const Shape& shape, DType dt, uint64_t seed) { return random_tensor(shape, dt, seed).requires_grad_(true); }

const DType kFloatTypes[] = {DType::f32, DType::f64};

struct PoolCase {
  const char* name;
  int64_t N, C, H, W;
  Size2 kernel, stride, padding, dilation;
  bool ceil_mode;
};

const PoolCase kPoolCases[] = {
    {"2x2", 2, 3, 8, 6, 2, 0, 0, 1, false},
    {"3x3 stride 2 pad 1", 2, 2, 9, 7, 3, 2, 1, 1, false},
    {"3x3 stride 2 pad 1 ceil", 1, 3, 10, 8, 3, 2, 1, 1, true},
    {"(3, 2) stride (1, 2) pad (1, 0)", 2, 2, 7, 9, Size2(3, 2), Size2(1, 2), Size2(1, 0), 1, false},
    {"3x3 dilation 2 pad 1 ceil", 1, 2, 11, 10, 3, 2, 1, 2, true},
    {"kernel 1", 1, 2, 5, 3, 1, 1, 0, 1, false},
    {"window = image", 2, 2, 5, 7, Size2(5, 7), 1, 0, 1, false},
};

}  // namespace

// ---- pooling ------------------------------------------------------------------------------------

TEST_CASE("cuda max_pool2d: forward and backward match the CPU") {
  REQUIRE_GPU();
  for (DType dt : kFloatTypes)
    for (const PoolCase& c : kPoolCases) {
      OpFn pool = [c](const std::vector<Tensor>& in) {
        return max_pool2d(in[0], c.kernel, c.stride, c.padding, c.dilation, c.ceil_mode);
      };
      compare_forward_backward(std::string("max_pool2d ") + c.name, pool, {leaf({c.N, c.C, c.H, c.W}, dt, 200)}, dt);
    }
}

TEST_CASE("cuda max_pool2d: ties go to the first maximum, NaN wins, non-contiguous input") {
  REQUIRE_GPU();
  for (DType dt : kFloatTypes) {
    // Values in {0, 1, 2}: most windows hold ties; the gradient must land on the same element.
    Tensor ties = random_index(3, {2, 2, 7, 8}, dt, 210).detach().requires_grad_(true);
    OpFn overlapping = [](const std::vector<Tensor>& in) { return max_pool2d(in[0], 3, 1, 1); };
    compare_forward_backward("max_pool2d ties, overlapping windows", overlapping, {ties}, dt);
    OpFn pool2 = [](const std::vector<Tensor>& in) { return max_pool2d(in[0], 2); };
    compare_forward_backward("max_pool2d ties 2x2", pool2, {ties}, dt);

    std::vector<double> v = random_tensor({1, 1, 4, 4}, DType::f64, 211).to_vector<double>();
    v[5] = NAN;
    v[10] = NAN;
    Tensor with_nan = from_vector(v, {1, 1, 4, 4}, dt).requires_grad_(true);
    compare_forward_backward("max_pool2d with NaN", overlapping, {with_nan}, dt);

    OpFn pool = [](const std::vector<Tensor>& in) { return max_pool2d(in[0], 3, 2, 1); };
    compare_forward_backward("max_pool2d noncontiguous", pool, {leaf({2, 3, 9, 8}, dt, 212)}, dt,
                             [](const Tensor& g) { return noncontiguous(g); });
    OpFn unbatched = [](const std::vector<Tensor>& in) { return max_pool2d(in[0], 2, 1); };
    compare_forward_backward("max_pool2d unbatched", unbatched, {leaf({3, 5, 6}, dt, 213)}, dt);
  }
}

TEST_CASE("cuda avg_pool2d: forward and backward match the CPU (count_include_pad both ways)") {
  REQUIRE_GPU();
  for (DType dt : kFloatTypes)
    for (bool include_pad : {true, false})
      for (const PoolCase& c : kPoolCases) {
        if (c.dilation.h != 1 || c.dilation.w != 1) continue;  // avg_pool2d has no dilation
        OpFn pool = [c, include_pad](const std::vector<Tensor>& in) {
          return avg_pool2d(in[0], c.kernel, c.stride, c.padding, c.ceil_mode, include_pad);
        };
        compare_forward_backward(std::string("avg_pool2d ") + c.name + (include_pad ? " include_pad" : " exclude_pad"),
                                 pool, {leaf({c.N, c.C, c.H, c.W}, dt, 220)}, dt);
      }
  for (DType dt : kFloatTypes) {
    OpFn pool = [](const std::vector<Tensor>& in) { return avg_pool2d(in[0], 3, 2, 1, true, false); };
    compare_forward_backward("avg_pool2d noncontiguous", pool, {leaf({2, 2, 8, 9}, dt, 221)}, dt,
                             [](const Tensor& g) { return noncontiguous(g); });
  }
}

TEST_CASE("cuda adaptive_avg_pool2d: forward and backward match the CPU") {
  REQUIRE_GPU();
  struct Case {
    int64_t H, W;
    Size2 out;
  };
  const Case cases[] = {{7, 9, Size2(3, 4)}, {5, 5, Size2(7, 3)}, {8, 6, Size2(1, 1)}, {1, 1, Size2(2, 3)},
                        {13, 11, Size2(13, 11)}, {10, 7, Size2(4, 7)}};
  for (DType dt : kFloatTypes)
    for (const Case& c : cases) {
      OpFn pool = [c](const std::vector<Tensor>& in) { return adaptive_avg_pool2d(in[0], c.out); };
      compare_forward_backward("adaptive_avg_pool2d to " + std::to_string(c.out.h) + "x" + std::to_string(c.out.w),
                               pool, {leaf({2, 3, c.H, c.W}, dt, 230)}, dt);
    }
  OpFn pool = [](const std::vector<Tensor>& in) { return adaptive_avg_pool2d(in[0], Size2(2, 3)); };
  compare_forward_backward("adaptive_avg_pool2d noncontiguous", pool, {leaf({2, 2, 7, 8}, DType::f32, 231)},
                           DType::f32, [](const Tensor& g) { return noncontiguous(g); });
}

// ---- resampling -----------------------------------------------------------------------------------

TEST_CASE("cuda interpolate: nearest and bilinear (align_corners both ways), by size and by scale") {
  REQUIRE_GPU();
  const Size2 sizes[] = {Size2(11, 13), Size2(3, 2), Size2(14, 10), Size2(7, 5), Size2(1, 1), Size2(20, 1)};
  for (DType dt : kFloatTypes) {
    for (const Size2& s : sizes) {
      const std::string to = std::to_string(s.h) + "x" + std::to_string(s.w);
      OpFn nearest = [s](const std::vector<Tensor>& in) { return interpolate(in[0], s, InterpMode::nearest); };
      compare_forward_backward("interpolate nearest 7x5 to " + to, nearest, {leaf({2, 3, 7, 5}, dt, 240)}, dt);
      for (bool align : {false, true}) {
        OpFn bilinear = [s, align](const std::vector<Tensor>& in) {
          return interpolate(in[0], s, InterpMode::bilinear, align);
        };
        compare_forward_backward("interpolate bilinear 7x5 to " + to + (align ? " align_corners" : ""), bilinear,
                                 {leaf({2, 3, 7, 5}, dt, 241)}, dt);
      }
    }
    for (double scale : {2.0, 1.7, 0.6, 3.0}) {
      const std::string by = std::to_string(scale);
      OpFn nearest = [scale](const std::vector<Tensor>& in) {
        return interpolate_by_scale(in[0], scale, InterpMode::nearest);
      };
      compare_forward_backward("interpolate_by_scale nearest x" + by, nearest, {leaf({1, 2, 6, 9}, dt, 242)}, dt);
      for (bool align : {false, true}) {
        OpFn bilinear = [scale, align](const std::vector<Tensor>& in) {
          return interpolate_by_scale(in[0], scale, InterpMode::bilinear, align);
        };
        compare_forward_backward("interpolate_by_scale bilinear x" + by + (align ? " align_corners" : ""), bilinear,
                                 {leaf({1, 2, 6, 9}, dt, 243)}, dt);
      }
    }
  }
  OpFn bilinear = [](const std::vector<Tensor>& in) { return interpolate(in[0], Size2(9, 4), InterpMode::bilinear); };
  compare_forward_backward("interpolate bilinear noncontiguous", bilinear, {leaf({2, 2, 5, 6}, DType::f32, 244)},
                           DType::f32, [](const Tensor& g) { return noncontiguous(g); });
}

TEST_CASE("cuda roi_align: forward and backward match the CPU (aligned, sampling ratios, scales)") {
  REQUIRE_GPU();
  // Rows (batch index, x1, y1, x2, y2): inside, partly outside, tiny, whole image, overlapping.
  const std::vector<double> rows = {0, 1.3,  2.1,  8.7,  9.4,  1, -2.2, 0.6, 5.1, 14.3, 0, 3.05, 4.15, 3.55, 4.45,
                                    1, 0.0,  0.0,  12.9, 10.9, 0, 2.2,  3.3, 9.8, 7.6};
  struct Case {
    Size2 out;
    double scale;
    int64_t ratio;
    bool aligned;
  };
  const Case cases[] = {{Size2(3, 3), 1.0, -1, false}, {Size2(2, 4), 1.0, 2, true}, {Size2(5, 3), 0.5, -1, true},
                        {Size2(1, 1), 1.0, 1, false},  {Size2(4, 4), 2.0, -1, false}};
  for (DType dt : kFloatTypes) {
    Tensor boxes = from_vector(rows, {5, 5}, dt);
    for (const Case& c : cases) {
      OpFn roi = [c](const std::vector<Tensor>& in) {
        return roi_align(in[0], in[1], c.out, c.scale, c.ratio, c.aligned);
      };
      const std::string name = "roi_align out " + std::to_string(c.out.h) + "x" + std::to_string(c.out.w) + " scale " +
                               std::to_string(c.scale) + " ratio " + std::to_string(c.ratio) +
                               (c.aligned ? " aligned" : "");
      compare_forward_backward(name, roi, {leaf({2, 3, 11, 13}, dt, 250), boxes}, dt);
    }
  }
}

// ---- indexing -------------------------------------------------------------------------------------

TEST_CASE("cuda index_select and embedding: forward and backward (duplicates accumulate)") {
  REQUIRE_GPU();
  for (DType dt : kFloatTypes)
    for (DType it : {DType::i64, DType::i32}) {
      Tensor idx = from_vector<int64_t>({2, 0, 2, 4, 1, 2}, {6}, it);
      for (int64_t dim : {0, 1, 2, -1}) {
        OpFn sel = [dim](const std::vector<Tensor>& in) { return index_select(in[0], dim, in[1]); };
        compare_forward_backward("index_select dim " + std::to_string(dim), sel, {leaf({5, 6, 7}, dt, 260), idx}, dt);
      }
      OpFn scalar = [](const std::vector<Tensor>& in) { return index_select(in[0], 1, in[1]); };
      compare_forward_backward("index_select 0-d index", scalar, {leaf({3, 4}, dt, 261), from_vector<int64_t>({3}, {}, it)},
                               dt);
      OpFn emb = [](const std::vector<Tensor>& in) { return embedding(in[0], in[1]); };
      Tensor tokens = from_vector<int64_t>({1, 4, 1, 0, 9, 4, 4, 1}, {2, 4}, it);
      compare_forward_backward("embedding", emb, {leaf({10, 33}, dt, 262), tokens}, dt);
      OpFn sel = [](const std::vector<Tensor>& in) { return index_select(in[0], 0, in[1]); };
      compare_forward_backward("index_select noncontiguous", sel, {leaf({5, 7}, dt, 263), idx}, dt,
                               [](const Tensor& g) { return noncontiguous(g); });
    }
  // Integer and bool data move as bits.
  for (DType dt : {DType::i64, DType::i32, DType::u8}) {
    Tensor x = random_index(100, {4, 5}, dt, 264);
    OpFn sel = [](const std::vector<Tensor>& in) { return index_select(in[0], 1, in[1]); };
    compare_forward_backward("index_select integer data", sel, {x, from_vector<int64_t>({4, 4, 0, 3})}, dt);
  }
}

TEST_CASE("cuda index_add kernel: every dtype, duplicates accumulate") {
  REQUIRE_GPU();
  Backend& gpu = backend(Device::cuda());
  Backend& cpu = backend(Device::cpu());
  const Tensor idx = from_vector<int64_t>({3, 0, 3, 3, 1, 0, 2});
  for (DType dt : {DType::f32, DType::f64, DType::i32, DType::i64, DType::u8, DType::b8}) {
    for (int dim : {0, 1}) {
      const std::string what = std::string("index_add dtype=") + dtype_name(dt) + " dim=" + std::to_string(dim);
      INFO(what);
      Shape target_shape{5, 6}, src_shape{5, 6};
      src_shape[dim] = 7;
      Tensor target = random_index(120, target_shape, DType::i64, 270);
      Tensor src = random_index(120, src_shape, DType::i64, 271);
      if (dt == DType::b8) {
        target = gt(target, 100.0);
        src = gt(src, 60.0);
      } else if (is_floating(dt)) {
        target = random_tensor(target_shape, dt, 272);
        src = random_tensor(src_shape, dt, 273);
      } else {
        target = target.to(dt);
        src = src.to(dt);
      }
      Tensor target_cpu = target.clone(), target_gpu = to_gpu(target);
      cpu.index_add(target_cpu, dim, idx, src);
      gpu.index_add(target_gpu, dim, to_gpu(idx.to(DType::i32)), to_gpu(src));
      CHECK_CLOSE(target_gpu, target_cpu, 1e-5, 1e-6);
    }
  }
}

TEST_CASE("cuda gather and scatter_add: forward and backward") {
  REQUIRE_GPU();
  for (DType dt : kFloatTypes)
    for (DType it : {DType::i64, DType::i32}) {
      for (int64_t dim : {0, 1, 2}) {
        Shape xs{4, 5, 6}, is{3, 4, 5};
        Tensor index = random_index(xs[dim], is, it, 280 + dim);
        OpFn g = [dim](const std::vector<Tensor>& in) { return gather(in[0], dim, in[1]); };
        compare_forward_backward("gather dim " + std::to_string(dim), g, {leaf(xs, dt, 281), index}, dt);
        // src larger than index in every dim: only its leading block is scattered.
        OpFn s = [dim](const std::vector<Tensor>& in) { return scatter_add(in[0], dim, in[1], in[2]); };
        compare_forward_backward("scatter_add dim " + std::to_string(dim), s,
                                 {leaf(xs, dt, 282), index, leaf({4, 5, 6}, dt, 283)}, dt);
        compare_forward_backward("scatter_add same-shape src dim " + std::to_string(dim), s,
                                 {leaf(xs, dt, 284), index, leaf(is, dt, 285)}, dt);
      }
      OpFn g = [](const std::vector<Tensor>& in) { return gather(in[0], 1, in[1]); };
      compare_forward_backward("gather noncontiguous", g, {leaf({3, 7}, dt, 286), random_index(7, {3, 9}, it, 287)}, dt,
                               [](const Tensor& t) { return noncontiguous(t); });
    }
  // Integer data: exact sums on both devices.
  for (DType dt : {DType::i32, DType::i64, DType::u8}) {
    OpFn s = [](const std::vector<Tensor>& in) { return scatter_add(in[0], 0, in[1], in[2]); };
    compare_forward_backward("scatter_add integer data", s,
                             {random_index(50, {3, 4}, dt, 288), random_index(3, {6, 4}, DType::i64, 289),
                              random_index(200, {6, 4}, dt, 290)},
                             dt);
  }
}

TEST_CASE("cuda gather / scatter_add kernels read strided and expanded operands") {
  REQUIRE_GPU();
  Backend& gpu = backend(Device::cuda());
  Backend& cpu = backend(Device::cpu());
  for (DType dt : kFloatTypes) {
    const std::string what = std::string("strided gather/scatter_add dtype=") + dtype_name(dt);
    INFO(what);
    // x: a transposed [6, 5] view; index: a transposed [4, 5] view of i32; out contiguous [5, 4].
    Tensor x_base = random_tensor({6, 5}, dt, 300);
    Tensor i_base = random_index(6, {4, 5}, DType::i32, 301);
    Tensor out_cpu = empty({5, 4}, dt), out_gpu = empty({5, 4}, {dt, Device::cuda()});
    cpu.gather(x_base.t(), 1, i_base.t(), out_cpu);
    gpu.gather(to_gpu(x_base).t(), 1, to_gpu(i_base).t(), out_gpu);
    CHECK_CLOSE(out_gpu, out_cpu, atol_of(dt), rtol_of(dt));
    // scatter_add into a strided target (every other column) from an expanded src.
    Tensor t_base = random_tensor({5, 12}, dt, 302);
    Tensor src_row = random_tensor({1, 4}, dt, 303);
    Tensor t_cpu = t_base.clone(), t_gpu = to_gpu(t_base);
    Tensor idx = random_index(6, {5, 4}, DType::i64, 304);
    cpu.scatter_add(t_cpu.slice(1, 0, 12, 2), 1, idx, src_row.expand({5, 4}));
    gpu.scatter_add(t_gpu.slice(1, 0, 12, 2), 1, to_gpu(idx), to_gpu(src_row).expand({5, 4}));
    CHECK_CLOSE(t_gpu, t_cpu, atol_of(dt), rtol_of(dt));
  }
}

TEST_CASE("cuda indexing: out-of-range indices are an iris::Error before any kernel runs") {
  REQUIRE_GPU();
  Tensor x = to_gpu(random_tensor({5, 4}, DType::f32, 310));
  Tensor bad = to_gpu(from_vector<int64_t>({1, 9, 2}));
  CHECK_THROWS_WITH_SUBSTR(index_select(x, 0, bad),
                           "index_select: index 9 is out of range for dim 0 of size 5 (valid indices are 0 to 4)");
  CHECK_THROWS_WITH_SUBSTR(index_select(x, 0, to_gpu(from_vector<int32_t>({-1}))),
                           "index_select: index -1 is out of range for dim 0 of size 5");
  CHECK_THROWS_WITH_SUBSTR(embedding(x, to_gpu(from_vector<int64_t>({0, 5}, {1, 2}))),
                           "embedding: index_select: index 5 is out of range for dim 0 of size 5");
  Tensor gidx = to_gpu(from_vector<int64_t>({0, 1, 4, 2}, {2, 2}));
  CHECK_THROWS_WITH_SUBSTR(gather(x, 1, gidx), "gather: index 4 is out of range for dim 1 of size 4");
  CHECK_THROWS_WITH_SUBSTR(scatter_add(x, 1, gidx, to_gpu(random_tensor({2, 2}, DType::f32, 311))),
                           "scatter_add: index 4 is out of range for dim 1 of size 4");
  Tensor target = zeros({5, 4}, {DType::f32, Device::cuda()});
  CHECK_THROWS_WITH_SUBSTR(backend(Device::cuda()).index_add(target, 0, bad, zeros({3, 4}, {DType::f32, Device::cuda()})),
                           "index_add: index 9 is out of range for dim 0 of size 5");
  CHECK_THROWS_WITH_SUBSTR(index_select(x, 0, to_gpu(from_vector<float>({1.0f}))), "indices must be i64 or i32");
  // Nothing reached the device: the stream is healthy and later work runs.
  CHECK_NOTHROW(cuda::synchronize());
  Tensor ok = index_select(x, 0, to_gpu(from_vector<int64_t>({4, 0})));
  CHECK_CLOSE(ok, index_select(x.cpu(), 0, from_vector<int64_t>({4, 0})), 0.0, 0.0);
  // Mixing devices names both.
  CHECK_THROWS_WITH_SUBSTR(index_select(x, 0, from_vector<int64_t>({0})), "cuda:0 and cpu");
}
