// GPU reductions, softmax / log_softmax and layer norm against their CPU twins on the same inputs:
// every ReduceOp and dtype straight through the kernel interface (any dim subset, strided,
// permuted and expanded inputs, sizes 1 .. 4097, NaN and ties), then the public ops forward and
// backward (sum/mean/amax/max/argmax/prod/any/all, softmax over first/middle/last dims, layer norm
// with and without weight/bias, incl. their gradients), empty reductions and device errors.
// Leaves out: timing (bench/), bf16/f16 (storage-only on the GPU).
#include <functional>
#include <string>

#include "tensor/backend.h"
#include "tests/cuda_helpers.h"

using namespace iris;
using iris::testing::to_gpu;

namespace {

const Device kGpu = Device::cuda();

std::string describe(const Shape& s, DType dt, const std::string& layout) {
  return shape_str(s) + " " + dtype_name(dt) + " " + layout;
}

// Values of `dt` on the CPU: randn for floats, small integers (many ties) otherwise.
Tensor make_values(const Shape& shape, DType dt, uint64_t seed) {
  Generator g(seed);
  if (is_floating(dt)) return randn(shape, dt, &g);
  if (dt == DType::b8) return randint(0, 2, shape, DType::i64, &g).to(DType::b8);
  if (dt == DType::u8) return randint(0, 6, shape, DType::i64, &g).to(DType::u8);
  return randint(-3, 4, shape, DType::i64, &g).to(dt);
}

// A layout: how to get a tensor of `shape` from a base tensor (the same view is applied to the CPU
// base and to its GPU copy, so both sides see the same strides).
struct Layout {
  std::string name;
  std::function<Shape(const Shape&)> base_shape;
  std::function<Tensor(const Tensor&)> view;
};

std::vector<Layout> layouts(const Shape& shape) {
  std::vector<Layout> out;
  out.push_back({"contiguous", [](const Shape& s) { return s; }, [](const Tensor& t) { return t; }});
  if (shape.size() >= 1) {
    out.push_back({"strided (last dim step 2)",
                   [](const Shape& s) {
                     Shape w = s;
                     w.back() *= 2;
                     return w;
                   },
                   [](const Tensor& t) { return t.slice(-1, 0, t.size(-1), 2); }});
  }
  if (shape.size() >= 2) {
    // base holds the dims reversed; permuting them back gives `shape` with reversed strides
    out.push_back({"permuted",
                   [](const Shape& s) {
                     Shape r;
                     for (int i = s.size() - 1; i >= 0; --i) r.push_back(s[i]);
                     return r;
                   },
                   [](const Tensor& t) {
                     Shape p;
                     for (int i = t.dim() - 1; i >= 0; --i) p.push_back(i);
                     return t.permute(p);
                   }});
    // dim 0 broadcast from size 1 (stride 0)
    out.push_back({"expanded dim 0",
                   [](const Shape& s) {
                     Shape w = s;
                     w[0] = 1;
                     return w;
                   },
                   [shape](const Tensor& t) { return t.expand(shape); }});
  }
  return out;
}

uint32_t mask_of(const std::vector<int>& dims) {
  uint32_t m = 0;
  for (int d : dims) m |= 1u << d;
  return m;
}

Shape keepdim_shape(const Shape& s, uint32_t mask) {
  Shape r = s;
  for (int i = 0; i < s.size(); ++i)
    if (mask & (1u << i)) r[i] = 1;
  return r;
}

const char* op_name(ReduceOp op) {
  switch (op) {
    case ReduceOp::sum: return "sum";
    case ReduceOp::prod: return "prod";
    case ReduceOp::max: return "max";
    case ReduceOp::min: return "min";
    case ReduceOp::argmax: return "argmax";
    case ReduceOp::argmin: return "argmin";
    case ReduceOp::any: return "any";
    case ReduceOp::all: return "all";
  }
  return "?";
}

// Runs one reduce kernel on both backends and compares (exactly for indices, bools and integers).
void check_reduce_kernel(ReduceOp op, const Tensor& x_cpu, const Tensor& x_gpu, uint32_t mask, const std::string& what) {
  DType out_dt = op == ReduceOp::argmax || op == ReduceOp::argmin ? DType::i64
                 : op == ReduceOp::any || op == ReduceOp::all     ? DType::b8
                                                                  : x_cpu.dtype();
  Shape os = keepdim_shape(x_cpu.shape(), mask);
  Tensor out_cpu = empty(os, out_dt);
  Tensor out_gpu = empty(os, {out_dt, kGpu});
  backend(Device::cpu()).reduce(op, x_cpu, mask, out_cpu);
  backend(kGpu).reduce(op, x_gpu, mask, out_gpu);
  INFO("reduce kernel ", op_name(op), " mask ", mask, " on ", what);
  REQUIRE(out_gpu.device().is_cuda());
  double atol = 0, rtol = 0;
  if (is_floating(out_dt) && (op == ReduceOp::sum || op == ReduceOp::prod)) {
    atol = out_dt == DType::f64 ? 1e-12 : 1e-5;
    rtol = out_dt == DType::f64 ? 1e-12 : 2e-6;  // both accumulate in double; f32 differs by rounding only
  }
  CHECK_CLOSE(out_gpu, out_cpu, atol, rtol);
}

struct ReduceCase {
  Shape shape;
  std::vector<std::vector<int>> dim_sets;
};

}  // namespace

TEST_CASE("cuda reduce kernel: every op, dtype, dim subset and layout matches the CPU") {
  REQUIRE_GPU();
  const std::vector<ReduceCase> cases = {
      {{1}, {{0}}},
      {{7}, {{0}}},
      {{4097}, {{0}}},
      {{33, 5}, {{0}, {1}, {0, 1}}},
      {{3, 1000}, {{1}, {0}}},
      {{2, 3, 4, 5}, {{0}, {1}, {3}, {0, 2}, {1, 3}, {0, 1, 2, 3}, {}}},
      {{5, 1, 7}, {{1}, {0, 2}}},
  };
  const std::vector<ReduceOp> ops = {ReduceOp::sum, ReduceOp::prod,   ReduceOp::max, ReduceOp::min,
                                     ReduceOp::argmax, ReduceOp::argmin, ReduceOp::any, ReduceOp::all};
  const std::vector<DType> dtypes = {DType::f32, DType::f64, DType::i32, DType::i64, DType::u8, DType::b8};
  uint64_t seed = 100;
  for (const ReduceCase& c : cases)
    for (const Layout& lay : layouts(c.shape))
      for (DType dt : dtypes) {
        Tensor base = make_values(lay.base_shape(c.shape), dt, ++seed);
        if (is_floating(dt)) base = add(mul(base, 0.5), 1.0);  // keep products tame: values near 1
        Tensor x_cpu = lay.view(base), x_gpu = lay.view(to_gpu(base));
        REQUIRE(x_cpu.shape() == c.shape);
        for (const auto& dims : c.dim_sets)
          for (ReduceOp op : ops) {
            // argmax/argmin: the flat index into the reduced sub-space (the kernel allows any dims)
            check_reduce_kernel(op, x_cpu, x_gpu, mask_of(dims), describe(c.shape, dt, lay.name));
          }
      }
}

TEST_CASE("cuda reduce kernel: each launch shape (thread / warp / block per output)") {
  REQUIRE_GPU();
  // (shape, reduced dims): R <= 8 (a thread per output), column sums with many outputs (a thread
  // per output, coalesced), few outputs or long rows (a block), and the rest (a warp).
  const std::vector<ReduceCase> cases = {
      {{20000, 3}, {{1}}},     {{300, 10000}, {{0}}}, {{4097, 3}, {{0}}},
      {{5000, 9}, {{1}}},      {{65, 1000}, {{0}}},   {{1000, 1100}, {{0, 1}}},
      {{3, 4097}, {{1}}},      {{2, 300, 40}, {{0, 2}}},
  };
  uint64_t seed = 900;
  for (const ReduceCase& c : cases)
    for (DType dt : {DType::f32, DType::f64}) {
      Tensor x_cpu = make_values(c.shape, dt, ++seed);
      Tensor x_gpu = to_gpu(x_cpu);
      for (const auto& dims : c.dim_sets)
        for (ReduceOp op : {ReduceOp::sum, ReduceOp::max, ReduceOp::argmin, ReduceOp::any})
          check_reduce_kernel(op, x_cpu, x_gpu, mask_of(dims), describe(c.shape, dt, "contiguous"));
    }
}

TEST_CASE("cuda reduce: NaN wins max/min and argmax/argmin point at the first NaN; ties take the first index") {
  REQUIRE_GPU();
  for (DType dt : {DType::f32, DType::f64}) {
    // [4, 9]: row 0 no NaN with a tied max, row 1 one NaN, row 2 two NaNs, row 3 all equal
    std::vector<double> v = {1, 5, 2, 5, -1, 0, 5, 3, 4,     //
                             1, 2, NAN, 7, 0, 0, 1, 2, 3,    //
                             9, NAN, 1, NAN, 0, 9, 0, 0, 0,  //
                             2, 2, 2, 2, 2, 2, 2, 2, 2};
    Tensor x = from_vector<double>(v, {4, 9}, dt);
    Tensor xg = to_gpu(x);
    for (ReduceOp op : {ReduceOp::max, ReduceOp::min, ReduceOp::argmax, ReduceOp::argmin})
      for (uint32_t mask : {1u, 2u, 3u}) check_reduce_kernel(op, x, xg, mask, describe(x.shape(), dt, "NaN rows"));
    ValuesIndices g = max(xg, 1), c = max(x, 1);
    INFO("max(x, 1) with NaN ", dtype_name(dt));
    CHECK_CLOSE(g.values, c.values, 0, 0);
    CHECK_CLOSE(g.indices, c.indices, 0, 0);
    CHECK(g.indices.to_vector<int64_t>() == std::vector<int64_t>{1, 2, 1, 0});
    CHECK(argmin(xg, 1).to_vector<int64_t>() == std::vector<int64_t>{4, 2, 1, 0});
  }
}

TEST_CASE("cuda reduce ops: sum, mean, amax, amin, max/min with indices, argmax, prod, any, all") {
  REQUIRE_GPU();
  struct Case {
    Shape shape;
    std::vector<int64_t> dims;
  };
  const std::vector<Case> cases = {{{1}, {0}},          {{7}, {}},           {{33, 7}, {1}},
                                   {{33, 7}, {0}},      {{4097}, {-1}},      {{2, 3, 5}, {0, 2}},
                                   {{2, 3, 5}, {1}},    {{1000, 3}, {0}},    {{4, 1, 6}, {-1, 0}}};
  uint64_t seed = 300;
  for (DType dt : {DType::f32, DType::f64}) {
    const double atol = dt == DType::f64 ? 1e-12 : 1e-5, rtol = dt == DType::f64 ? 1e-12 : 2e-6;
    for (const Case& c : cases)
      for (bool strided : {false, true}) {
        Tensor x = make_values(c.shape, dt, ++seed);
        Tensor xg = to_gpu(x);
        if (strided) {
          x = testing::noncontiguous(x);
          xg = testing::noncontiguous(xg);
        }
        INFO("op family on ", describe(c.shape, dt, strided ? "strided" : "contiguous"), " dims ", c.dims.size());
        CHECK_CLOSE(sum(xg, c.dims), sum(x, c.dims), atol, rtol);
        CHECK_CLOSE(sum(xg, c.dims, true), sum(x, c.dims, true), atol, rtol);
        CHECK_CLOSE(mean(xg, c.dims), mean(x, c.dims), atol, rtol);
        CHECK_CLOSE(amax(xg, c.dims), amax(x, c.dims), 0, 0);
        CHECK_CLOSE(amin(xg, c.dims), amin(x, c.dims), 0, 0);
        CHECK_CLOSE(any(gt(xg, 1.5), c.dims), any(gt(x, 1.5), c.dims), 0, 0);
        CHECK_CLOSE(all(gt(xg, -1.5), c.dims), all(gt(x, -1.5), c.dims), 0, 0);
        int64_t d = c.dims.empty() ? 0 : c.dims[0];
        ValuesIndices g = max(xg, d), cc = max(x, d);
        CHECK_CLOSE(g.values, cc.values, 0, 0);
        CHECK_CLOSE(g.indices, cc.indices, 0, 0);
        ValuesIndices gm = min(xg, d, true), cm = min(x, d, true);
        CHECK_CLOSE(gm.values, cm.values, 0, 0);
        CHECK_CLOSE(gm.indices, cm.indices, 0, 0);
        CHECK_CLOSE(argmax(xg, d), argmax(x, d), 0, 0);
        CHECK_CLOSE(argmax(xg), argmax(x), 0, 0);
        CHECK_CLOSE(max(xg), max(x), 0, 0);
        CHECK_CLOSE(min(xg), min(x), 0, 0);
      }
  }
  // integer inputs: sum promotes to i64, amax keeps the dtype
  for (DType dt : {DType::i32, DType::i64, DType::u8}) {
    Tensor x = make_values({33, 9}, dt, ++seed);
    Tensor xg = to_gpu(x);
    INFO("integer reductions ", dtype_name(dt));
    CHECK(sum(xg, {1}).dtype() == DType::i64);
    CHECK_CLOSE(sum(xg, {1}), sum(x, {1}), 0, 0);
    CHECK_CLOSE(sum(xg), sum(x), 0, 0);
    CHECK_CLOSE(amax(xg, {0}), amax(x, {0}), 0, 0);
    CHECK_CLOSE(argmin(xg, 0), argmin(x, 0), 0, 0);
    CHECK_CLOSE(any(xg, {1}), any(x, {1}), 0, 0);
    CHECK_CLOSE(all(xg, {0}), all(x, {0}), 0, 0);
  }
}

TEST_CASE("cuda reduce ops: gradients of sum, mean, amax (ties) and max match the CPU") {
  REQUIRE_GPU();
  for (DType dt : {DType::f32, DType::f64}) {
    const double tol = dt == DType::f64 ? 1e-12 : 1e-6;
    Generator g(7);
    // integer-valued entries so that amax has ties (the gradient is shared between them)
    Tensor x = round(mul(randn({6, 33}, dt, &g), 2.0));
    Tensor w = randn({6}, dt, &g);
    auto loss = [&](const Tensor& in, const Tensor& weights) {
      return add(add(sum(mul(amax(in, {1}), weights)), mean(in)), sum(mul(max(in, 0).values, 0.5)));
    };
    Tensor xc = x.detach().requires_grad_(true);
    Tensor xg = to_gpu(x).requires_grad_(true);
    loss(xc, w).backward();
    loss(xg, to_gpu(w)).backward();
    INFO("reduce gradients ", dtype_name(dt));
    REQUIRE(xg.grad().defined());
    CHECK_CLOSE(xg.grad(), xc.grad(), tol, tol);
  }
}

TEST_CASE("cuda reduce: empty reductions give the identities, as on the CPU") {
  REQUIRE_GPU();
  Tensor x = zeros({0, 3}, DType::f32);
  Tensor xg = to_gpu(x);
  CHECK_CLOSE(sum(xg, {0}), sum(x, {0}), 0, 0);
  CHECK_CLOSE(any(xg, {0}), any(x, {0}), 0, 0);
  CHECK_CLOSE(all(xg, {0}), all(x, {0}), 0, 0);
  Tensor out_gpu = empty({1, 3}, {DType::f32, kGpu}), out_cpu = empty({1, 3}, DType::f32);
  backend(kGpu).reduce(ReduceOp::prod, xg, 1u, out_gpu);
  backend(Device::cpu()).reduce(ReduceOp::prod, x, 1u, out_cpu);
  CHECK_CLOSE(out_gpu, out_cpu, 0, 0);
  CHECK(sum(to_gpu(zeros({4, 0}))).item() == 0.0);
  CHECK(sum(to_gpu(zeros({4, 0})), {1}).shape() == Shape{4});
}

// ---- softmax ------------------------------------------------------------------------------

TEST_CASE("cuda softmax / log_softmax forward and backward over first, middle and last dims") {
  REQUIRE_GPU();
  struct Case {
    Shape shape;
    int64_t dim;
  };
  // rows (dim innermost: a warp per row, or a block when D > 1024) and columns (dim not innermost)
  const std::vector<Case> cases = {{{1}, 0},         {{7}, 0},          {{4, 33}, -1},     {{3, 4097}, 1},
                                   {{5, 7, 9}, 0},   {{5, 7, 9}, 1},    {{5, 7, 9}, 2},    {{2, 1000, 3}, 1},
                                   {{1025, 2}, 0},   {{1, 1}, 1},       {{6, 1100}, -1},   {{3, 1, 4}, 1}};
  uint64_t seed = 500;
  for (DType dt : {DType::f32, DType::f64})
    for (bool log : {false, true})
      for (const Case& c : cases)
        for (bool strided : {false, true}) {
          const double atol = dt == DType::f64 ? 1e-12 : 2e-6, rtol = dt == DType::f64 ? 1e-10 : 2e-5;
          Generator g(++seed);
          Tensor x = mul(randn(c.shape, dt, &g), 3.0);
          Tensor w = randn(c.shape, dt, &g);
          Tensor xc = x.detach(), xg = to_gpu(x);
          if (strided) {
            xc = testing::noncontiguous(xc);
            xg = testing::noncontiguous(xg);
          }
          xc.requires_grad_(true);
          xg.requires_grad_(true);
          auto f = [log, &c](const Tensor& in) { return log ? log_softmax(in, c.dim) : softmax(in, c.dim); };
          Tensor yc = f(xc), yg = f(xg);
          INFO((log ? "log_softmax " : "softmax "), describe(c.shape, dt, strided ? "strided" : "contiguous"), " dim ",
               c.dim);
          REQUIRE(yg.device().is_cuda());
          CHECK_CLOSE(yg, yc, atol, rtol);
          sum(mul(yc, w)).backward();
          sum(mul(yg, to_gpu(w))).backward();
          REQUIRE(xg.grad().defined());
          CHECK_CLOSE(xg.grad(), xc.grad(), atol * 4, rtol * 4);
        }
}

TEST_CASE("cuda softmax: large magnitudes, -inf entries and an all -inf row behave as on the CPU") {
  REQUIRE_GPU();
  for (DType dt : {DType::f32, DType::f64}) {
    std::vector<double> v = {1e4, 1e4 - 1, 1e4 - 30, -1e4,  //
                             0, -INFINITY, 2, -INFINITY,    //
                             -INFINITY, -INFINITY, -INFINITY, -INFINITY};
    Tensor x = from_vector<double>(v, {3, 4}, dt);
    Tensor xg = to_gpu(x);
    INFO("softmax edge values ", dtype_name(dt));
    CHECK_CLOSE(softmax(xg, 1), softmax(x, 1), 1e-6, 1e-5);          // row 2 is NaN on both
    CHECK_CLOSE(log_softmax(xg, 1), log_softmax(x, 1), 1e-6, 1e-5);
    CHECK_CLOSE(softmax(xg, 0), softmax(x, 0), 1e-6, 1e-5);
    CHECK(std::isnan(softmax(xg, 1).to_vector<double>()[8]));
  }
}

// ---- layer norm ---------------------------------------------------------------------------

TEST_CASE("cuda layer_norm forward (y, mean, rstd) and backward (x, weight, bias) with and without affine") {
  REQUIRE_GPU();
  struct Case {
    Shape shape, normalized;
  };
  const std::vector<Case> cases = {{{7, 33}, {33}},    {{3, 4097}, {4097}}, {{2, 3, 5}, {3, 5}}, {{1, 1}, {1}},
                                   {{300, 64}, {64}}, {{2000, 7}, {7}},     {{1, 1025}, {1025}}};
  uint64_t seed = 700;
  for (DType dt : {DType::f32, DType::f64})
    for (const Case& c : cases)
      for (int affine = 0; affine < 4; ++affine) {  // bit 0: weight, bit 1: bias
        const bool has_w = affine & 1, has_b = affine & 2;
        const double atol = dt == DType::f64 ? 1e-11 : 1e-5, rtol = dt == DType::f64 ? 1e-10 : 1e-4;
        Generator g(++seed);
        Tensor x = add(mul(randn(c.shape, dt, &g), 2.0), 3.0);  // |mean| > std
        Tensor wt = has_w ? add(randn(c.normalized, dt, &g), 1.0) : Tensor();
        Tensor bs = has_b ? randn(c.normalized, dt, &g) : Tensor();
        Tensor seed_grad = randn(c.shape, dt, &g);
        auto leaf = [](const Tensor& t, bool gpu) {
          if (!t.defined()) return Tensor();
          Tensor l = gpu ? to_gpu(t) : t.detach().clone();
          return l.requires_grad_(true);
        };
        Tensor xc = leaf(x, false), xg = leaf(x, true);
        Tensor wc = leaf(wt, false), wg = leaf(wt, true);
        Tensor bc = leaf(bs, false), bg = leaf(bs, true);
        Tensor yc = layer_norm(xc, c.normalized, wc, bc, 1e-5);
        Tensor yg = layer_norm(xg, c.normalized, wg, bg, 1e-5);
        INFO("layer_norm ", describe(c.shape, dt, "contiguous"), " weight ", has_w, " bias ", has_b);
        REQUIRE(yg.device().is_cuda());
        CHECK_CLOSE(yg, yc, atol, rtol);
        sum(mul(yc, seed_grad)).backward();
        sum(mul(yg, to_gpu(seed_grad))).backward();
        CHECK_CLOSE(xg.grad(), xc.grad(), atol * 10, rtol * 10);
        if (has_w) CHECK_CLOSE(wg.grad(), wc.grad(), atol * 10, rtol * 10);
        if (has_b) CHECK_CLOSE(bg.grad(), bc.grad(), atol * 10, rtol * 10);
      }
}

TEST_CASE("cuda layer_norm kernel: mean and rstd outputs, and only the weight gradient wanted") {
  REQUIRE_GPU();
  for (DType dt : {DType::f32, DType::f64}) {
    const double tol = dt == DType::f64 ? 1e-11 : 1e-5;
    Generator g(11);
    const int64_t R = 65, D = 1500;
    Tensor x = add(randn({R, D}, dt, &g), 5.0), w = randn({D}, dt, &g), gy = randn({R, D}, dt, &g);
    Tensor xg = to_gpu(x), wg = to_gpu(w), gyg = to_gpu(gy);
    Tensor y_c = empty({R, D}, dt), m_c = empty({R}, dt), r_c = empty({R}, dt);
    Tensor y_g = empty({R, D}, {dt, kGpu}), m_g = empty({R}, {dt, kGpu}), r_g = empty({R}, {dt, kGpu});
    backend(Device::cpu()).layer_norm(x, w, Tensor(), 1e-5, y_c, m_c, r_c);
    backend(kGpu).layer_norm(xg, wg, Tensor(), 1e-5, y_g, m_g, r_g);
    INFO("layer_norm kernel ", dtype_name(dt));
    CHECK_CLOSE(m_g, m_c, tol, tol);
    CHECK_CLOSE(r_g, r_c, tol, tol);
    CHECK_CLOSE(y_g, y_c, tol, tol * 10);
    // grad_x and grad_bias undefined: only grad_weight
    Tensor gw_c = empty({D}, dt), gw_g = empty({D}, {dt, kGpu});
    backend(Device::cpu()).layer_norm_backward(gy, x, w, m_c, r_c, Tensor(), gw_c, Tensor());
    backend(kGpu).layer_norm_backward(gyg, xg, wg, m_g, r_g, Tensor(), gw_g, Tensor());
    CHECK_CLOSE(gw_g, gw_c, tol * 10, tol * 10);
  }
}

TEST_CASE("cuda layer_norm: weight only requires grad (x does not)") {
  REQUIRE_GPU();
  Generator g(3);
  Tensor x = randn({9, 40}, DType::f32, &g), w = randn({40}, DType::f32, &g), b = randn({40}, DType::f32, &g);
  Tensor wc = w.detach().clone().requires_grad_(true), wg = to_gpu(w).requires_grad_(true);
  sum(mul(layer_norm(x, {40}, wc, b), x)).backward();
  sum(mul(layer_norm(to_gpu(x), {40}, wg, to_gpu(b)), to_gpu(x))).backward();
  CHECK_CLOSE(wg.grad(), wc.grad(), 1e-5, 1e-4);
}

TEST_CASE("cuda reduce / softmax / layer_norm: errors name the devices or the dtype") {
  REQUIRE_GPU();
  Tensor xg = to_gpu(randn({4, 8}));
  CHECK_THROWS_WITH_SUBSTR(layer_norm(xg, {8}, ones({8})), "cpu");
  CHECK_THROWS_WITH_SUBSTR(layer_norm(xg, {8}, ones({8})), "cuda:0");
  CHECK_THROWS_WITH_SUBSTR(softmax(to_gpu(ones({3}, DType::i64))), "softmax");
  // the kernel itself refuses a CPU operand instead of reading host memory on the device
  Tensor out = empty({4, 1}, {DType::f32, kGpu});
  CHECK_THROWS_WITH_SUBSTR(backend(kGpu).reduce(ReduceOp::sum, randn({4, 8}), 2u, out), "expected a CUDA tensor");
}
