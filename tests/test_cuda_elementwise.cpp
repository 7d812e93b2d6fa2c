// GPU against CPU for the CUDA runtime and elementwise family (cuda/runtime.cu, elementwise.cu,
// random.cu, optim.cu, pinned.cu): copies (strided, converting, host<->device, from and to pinned
// memory), fill, every unary op forward and backward, every binary op with broadcast and strided
// operands, where, the Philox draws, AdamW, the caching allocators' steady state (device and pinned
// host memory, allocation on the device named), and the error paths. Each case names the kernel, dtype and shape
// it was checking when it fails. Leaves out: timing (bench/), multi-GPU (needs two devices).
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "data/loader.h"
#include "tensor/backend.h"
#include "tensor/device_query.h"
#include "tests/cuda_helpers.h"

using namespace iris;
using iris::testing::noncontiguous;
using iris::testing::to_gpu;

namespace {

Backend& gpu() { return backend(Device::cuda()); }
Backend& cpu() { return backend(Device::cpu()); }

const DType kStorageDTypes[] = {DType::f32, DType::f64, DType::i32, DType::i64,
                                DType::u8,  DType::b8,  DType::bf16, DType::f16};
const DType kComputeDTypes[] = {DType::f32, DType::f64, DType::i32, DType::i64, DType::u8, DType::b8};
const DType kFloatDTypes[] = {DType::f32, DType::f64};

struct Tol {
  double atol, rtol;
};
// GPU vs CPU for the same formula: CUDA's libm differs from glibc's by an ulp or two (f32 also
// differs by the CPU's fast erf/exp polynomials in gelu, about 2e-7 absolute).
Tol tol_for(DType dt) { return dt == DType::f64 ? Tol{1e-12, 1e-12} : Tol{3e-6, 3e-6}; }

// Values in [lo, hi) as dtype dt on the CPU, deterministic per seed (integer dtypes truncate).
Tensor values(const Shape& s, double lo, double hi, uint64_t seed, DType dt = DType::f64) {
  Generator g(seed);
  return (rand(s, DType::f64, &g) * (hi - lo) + lo).to(dt);
}
// Integers in [lo, hi] as dtype dt on the CPU.
Tensor int_values(const Shape& s, int64_t lo, int64_t hi, uint64_t seed, DType dt) {
  Generator g(seed);
  return randint(lo, hi + 1, s, DType::i64, &g).to(dt);
}

std::string where_str(const std::string& what, DType dt, const Shape& s) {
  return what + " dtype " + dtype_name(dt) + " shape " + shape_str(s);
}

// Same dtype, same shape, same values (NaN matches NaN).
void check_same(const Tensor& on_gpu, const Tensor& on_cpu, const std::string& what) {
  INFO(what);
  CHECK(on_gpu.dtype() == on_cpu.dtype());
  CHECK_CLOSE(on_gpu, on_cpu, 0.0, 0.0);
}

void check_near(const Tensor& on_gpu, const Tensor& on_cpu, Tol t, const std::string& what) {
  INFO(what);
  CHECK(on_gpu.dtype() == on_cpu.dtype());
  CHECK_CLOSE(on_gpu, on_cpu, t.atol, t.rtol);
}

const char* unary_name(UnaryOp op) {
  static const char* names[] = {"neg",   "abs",      "sign",     "square",     "reciprocal", "exp",      "log",
                                "log1p", "sqrt",     "rsqrt",    "sin",        "cos",        "tanh",     "sigmoid",
                                "relu",  "gelu",     "gelu_tanh", "quick_gelu", "silu",      "erf",      "floor",
                                "ceil",  "round",    "logical_not", "leaky_relu", "softplus", "clamp",   "pow_scalar",
                                "affine"};
  static_assert(sizeof(names) / sizeof(names[0]) == static_cast<int>(UnaryOp::affine) + 1, "one name per UnaryOp");
  return names[static_cast<int>(op)];
}

const char* binary_name(BinaryOp op) {
  static const char* names[] = {"add", "sub", "mul", "div", "pow", "maximum", "minimum", "eq",
                                "ne",  "lt",  "le",  "gt",  "ge",  "logical_and", "logical_or"};
  static_assert(sizeof(names) / sizeof(names[0]) == static_cast<int>(BinaryOp::logical_or) + 1, "one per op");
  return names[static_cast<int>(op)];
}

// Parameters and input range per unary op (away from the domain edges; clamp bounds inside).
struct UnarySetup {
  UnaryParams p;
  double lo, hi;
};
std::vector<UnarySetup> unary_setups(UnaryOp op) {
  switch (op) {
    case UnaryOp::log: case UnaryOp::sqrt: case UnaryOp::rsqrt: case UnaryOp::reciprocal:
      return {{{}, 0.1, 3.0}};
    case UnaryOp::log1p: return {{{}, -0.5, 3.0}};
    case UnaryOp::leaky_relu: return {{{0.2, 0}, -4, 4}};
    case UnaryOp::softplus: return {{{2.0, 5.0}, -4, 4}, {{1.0, 20.0}, -4, 4}};
    case UnaryOp::clamp: return {{{-1.0, 0.5}, -3, 3}, {{-INFINITY, 0.25}, -3, 3}};
    case UnaryOp::pow_scalar: return {{{2.5, 0}, 0.1, 3.0}, {{2.0, 0}, -3, 3}, {{-1.5, 0}, 0.3, 3.0}, {{0.0, 0}, 0.1, 3.0}};
    case UnaryOp::affine: return {{{3.0, -1.0}, -3, 3}};
    default: return {{{}, -4, 4}};
  }
}

}  // namespace

// ---- runtime ------------------------------------------------------------------------------------

TEST_CASE("cuda runtime: device queries, set_device, stream and cuBLAS handle") {
  REQUIRE_GPU();
  CHECK(cuda::available());
  const int n = cuda::device_count();
  CHECK(n >= 1);
  cuda::set_device(0);
  cudaStream_t s = cuda::stream();
  CHECK(s != nullptr);
  CHECK(cuda::stream() == s);  // one stream per device, made once
  cublasHandle_t h = cuda::cublas();
  REQUIRE(h != nullptr);
  CHECK(cuda::cublas() == h);
  cudaStream_t bound = nullptr;
  CHECK(cublasGetStream(h, &bound) == CUBLAS_STATUS_SUCCESS);
  CHECK(bound == s);
  cublasMath_t mode = CUBLAS_TF32_TENSOR_OP_MATH;
  CHECK(cublasGetMathMode(h, &mode) == CUBLAS_STATUS_SUCCESS);
  CHECK(mode == CUBLAS_DEFAULT_MATH);  // no TF32
  CHECK_THROWS_WITH_SUBSTR(cuda::set_device(n), "no such device");
  CHECK_THROWS_WITH_SUBSTR(cuda::set_device(-1), "no such device");
  // the device query apps use (tensor/device_query.h) answers from this runtime
  CHECK(cuda_built());
  CHECK(cuda_device_count() == n);
  CHECK(!cuda_device_name(0).empty());
  CHECK_THROWS_WITH_SUBSTR(cuda_device_name(n), "no such device");
  CHECK_NOTHROW(set_cuda_device(0));
  CHECK_NOTHROW(cuda::register_cuda());  // idempotent
  CHECK_NOTHROW(cuda::synchronize());
}

// ---- copy -----------------------------------------------------------------------------------------

TEST_CASE("cuda copy: host -> device -> host keeps every dtype's values") {
  REQUIRE_GPU();
  for (DType dt : kStorageDTypes) {
    for (const Shape& s : {Shape{0}, Shape{1}, Shape{7}, Shape{3, 33}, Shape{2, 0, 3}}) {
      std::string what = where_str("round trip", dt, s);
      Tensor x = dt == DType::u8 ? values(s, 0, 200, 1, dt) : values(s, -50, 50, 1, dt);
      Tensor g = x.to(Device::cuda());
      CHECK(g.device() == Device::cuda(0));
      CHECK(g.shape() == s);
      check_same(g.to(Device::cpu()), x, what);
    }
  }
  // one element through item()
  Tensor one = full({1, 1}, -2.75, {DType::f32, Device::cuda()});
  CHECK(one.item() == -2.75);
}

TEST_CASE("cuda copy: dtype conversion on the GPU gives the CPU's bits for every pair of dtypes") {
  REQUIRE_GPU();
  const Shape s{5, 13};
  for (DType from : kStorageDTypes) {
    for (DType to : kStorageDTypes) {
      std::string what = where_str(std::string("convert to ") + dtype_name(to) + " from", from, s);
      bool unsigned_side = from == DType::u8 || to == DType::u8;
      Tensor x = unsigned_side ? values(s, 0, 200, 2, DType::f64) : values(s, -100, 100, 2, DType::f64);
      if (is_floating(from)) {  // NaN converts to 0 for integers, true for bool, NaN for floats
        std::vector<double> v = x.to_vector<double>();
        v[0] = NAN;
        v[1] = 0.5;
        v[2] = -0.5;
        v[3] = 2.5;
        if (unsigned_side) v[2] = 1.5;
        x = from_vector(v, s);
      }
      x = x.to(from);
      Tensor xg = to_gpu(x);
      check_same(xg.to(to), x.to(to), what + " (contiguous)");
      // strided source and destination: a transposed view into a transposed view
      Tensor dst_c = zeros({s[1], s[0]}, to).t();
      Tensor dst_g = zeros({s[1], s[0]}, {to, Device::cuda()}).t();
      dst_c.copy_(x.t().contiguous().t());
      dst_g.copy_(to_gpu(x.t().contiguous()).t());
      check_same(dst_g, dst_c, what + " (strided both sides)");
    }
  }
}

TEST_CASE("cuda copy: strided views on both sides, expanded sources, and the cross-device staging paths") {
  REQUIRE_GPU();
  for (DType dt : kFloatDTypes) {
    Tensor x = values({6, 8}, -3, 3, 3, dt);
    Tensor xg = to_gpu(x);
    // device -> device: a strided, transposed source into a strided slice of a bigger tensor
    Tensor base_c = zeros({10, 6}, dt), base_g = zeros({10, 6}, {dt, Device::cuda()});
    base_c.slice(0, 2, 10, 2).copy_(x.slice(1, 1, 8, 2).t());
    base_g.slice(0, 2, 10, 2).copy_(xg.slice(1, 1, 8, 2).t());
    check_same(base_g, base_c, where_str("device strided copy", dt, {4, 6}));
    // expanded (stride 0) source
    Tensor row = values({1, 6}, -1, 1, 4, dt);
    base_c.slice(0, 0, 3).copy_(row.expand({3, 6}));
    base_g.slice(0, 0, 3).copy_(to_gpu(row).expand({3, 6}));
    check_same(base_g, base_c, where_str("device expanded copy", dt, {3, 6}));

    // host -> device: a strided CPU source of another dtype into a strided GPU view
    DType other = dt == DType::f32 ? DType::f64 : DType::f32;
    Tensor src = values({9, 4}, -5, 5, 5, other).t();  // [4, 9], strided
    Tensor hd_c = zeros({9, 8}, dt), hd_g = zeros({9, 8}, {dt, Device::cuda()});
    cpu().copy(src, hd_c.slice(1, 0, 8, 2).t());
    gpu().copy(src, hd_g.slice(1, 0, 8, 2).t());
    check_same(hd_g, hd_c, where_str("host->device strided+converting copy", dt, {4, 9}));
    // host -> device, contiguous source of the same dtype into a strided view
    Tensor src2 = values({4, 9}, -5, 5, 6, dt);
    cpu().copy(src2, hd_c.slice(1, 1, 8, 2).t());
    gpu().copy(src2, hd_g.slice(1, 1, 8, 2).t());
    check_same(hd_g, hd_c, where_str("host->device contiguous into strided copy", dt, {4, 9}));

    // device -> host: a strided GPU source into a strided CPU view of another dtype
    Tensor dh_a = zeros({9, 8}, other), dh_b = zeros({9, 8}, other);
    cpu().copy(hd_c.slice(1, 0, 8, 2).t(), dh_a.slice(1, 1, 8, 2).t());
    gpu().copy(hd_g.slice(1, 0, 8, 2).t(), dh_b.slice(1, 1, 8, 2).t());
    check_same(dh_b, dh_a, where_str("device->host strided+converting copy", dt, {4, 9}));
    // device -> host: a strided GPU source into a contiguous CPU tensor of the same dtype
    Tensor dh_c = empty({4, 9}, dt), dh_d = empty({4, 9}, dt);
    cpu().copy(hd_c.slice(1, 0, 8, 2).t(), dh_c);
    gpu().copy(hd_g.slice(1, 0, 8, 2).t(), dh_d);
    check_same(dh_d, dh_c, where_str("device->host strided into contiguous copy", dt, {4, 9}));

    // Tensor::to(Device) from non-contiguous and permuted CPU tensors
    Tensor nc = noncontiguous(x);
    check_same(nc.to(Device::cuda()).cpu(), x, where_str("to(cuda) of a noncontiguous tensor", dt, x.shape()));
    Tensor cube = values({3, 5, 7}, -2, 2, 7, dt).permute({2, 0, 1});
    Tensor cube_g = cube.to(Device::cuda());
    CHECK(cube_g.is_contiguous());
    check_same(cube_g.cpu(), cube.contiguous(), where_str("to(cuda) of a permuted tensor", dt, cube.shape()));
    check_same(cube_g.permute({1, 2, 0}).cpu(), cube.permute({1, 2, 0}).contiguous(),
               where_str("to(cpu) of a permuted GPU tensor", dt, {5, 7, 3}));
  }
  // empty tensors travel with their shape
  Tensor e = zeros({0, 3}).to(Device::cuda());
  CHECK(e.shape() == Shape{0, 3});
  CHECK(e.cpu().numel() == 0);
}

TEST_CASE("cuda copy: gradients flow back across devices") {
  REQUIRE_GPU();
  Tensor x = values({4, 5}, -1, 1, 8, DType::f64).requires_grad_(true);
  Tensor y = x.to(Device::cuda()) * 3.0;
  Tensor seed = values({4, 5}, -1, 1, 9, DType::f64);
  y.backward(seed.to(Device::cuda()));
  REQUIRE(x.grad().defined());
  CHECK(x.grad().device().is_cpu());
  CHECK_CLOSE(x.grad(), seed * 3.0, 1e-15, 0);
}

// ---- fill ----------------------------------------------------------------------------------------

TEST_CASE("cuda fill: every dtype, contiguous and strided destinations") {
  REQUIRE_GPU();
  for (DType dt : kStorageDTypes) {
    for (double v : {0.0, 1.0, 2.5, -3.0, 1e5}) {
      if (dt == DType::u8 && (v < 0 || v > 255)) continue;  // out of range: undefined in C++
      std::string what = where_str("fill " + std::to_string(v), dt, {5, 9});
      Tensor c = zeros({5, 9}, dt), g = zeros({5, 9}, {dt, Device::cuda()});
      c.slice(1, 1, 9, 3).fill_(v);
      g.slice(1, 1, 9, 3).fill_(v);
      check_same(g, c, what + " (strided)");
      c.t().slice(0, 2, 4).fill_(v);
      g.t().slice(0, 2, 4).fill_(v);
      check_same(g, c, what + " (transposed slice)");
      check_same(full({33}, v, {dt, Device::cuda()}), full({33}, v, dt), what + " (contiguous)");
    }
  }
  check_same(full({3}, NAN, {DType::f32, Device::cuda()}), full({3}, NAN, DType::f32), "fill NaN f32");
  check_same(full({3}, NAN, {DType::i32, Device::cuda()}), full({3}, NAN, DType::i32), "fill NaN i32 (0)");
}

// ---- unary ---------------------------------------------------------------------------------------

TEST_CASE("cuda unary: every UnaryOp forward and backward on f32 and f64 with strided operands") {
  REQUIRE_GPU();
  for (DType dt : kFloatDTypes) {
    for (int k = 0; k <= static_cast<int>(UnaryOp::affine); ++k) {
      const UnaryOp op = static_cast<UnaryOp>(k);
      for (const UnarySetup& u : unary_setups(op)) {
        std::string what = where_str(std::string("unary ") + unary_name(op) + " (a=" + std::to_string(u.p.a) +
                                         ", b=" + std::to_string(u.p.b) + ")",
                                     dt, {33, 7});
        Tensor x = values({7, 33}, u.lo, u.hi, 10 + k, dt).t();  // [33, 7], transposed
        Tensor xg = to_gpu(values({7, 33}, u.lo, u.hi, 10 + k, dt)).t();  // the same view on the GPU
        Tensor y = empty({33, 7}, dt), yg = empty({33, 7}, {dt, Device::cuda()});
        cpu().unary(op, x, y, u.p);
        gpu().unary(op, xg, yg, u.p);
        check_near(yg, y, tol_for(dt), what + " forward");
        // a strided output
        Tensor ys = empty({7, 33}, dt).t(), ysg = empty({7, 33}, {dt, Device::cuda()}).t();
        cpu().unary(op, x, ys, u.p);
        gpu().unary(op, xg, ysg, u.p);
        check_near(ysg, ys, tol_for(dt), what + " forward into a strided output");
        // backward: grad_in = grad_out * f'(x); y passed as the op's own output
        Tensor go = values({33, 7}, -1, 1, 50 + k, dt);
        Tensor gi = empty({33, 7}, dt), gig = empty({33, 7}, {dt, Device::cuda()});
        cpu().unary_backward(op, x, y, go, gi, u.p);
        gpu().unary_backward(op, xg, to_gpu(y), to_gpu(go), gig, u.p);
        check_near(gig, gi, tol_for(dt), what + " backward");
        // backward with x / y undefined (the ops that do not read them)
        Tensor gi2 = empty({33, 7}, {dt, Device::cuda()});
        if (op == UnaryOp::neg || op == UnaryOp::affine) {
          gpu().unary_backward(op, Tensor(), Tensor(), to_gpu(go), gi2, u.p);
          check_near(gi2, gi, tol_for(dt), what + " backward without x and y");
        }
      }
    }
  }
  // odd sizes and a single element
  for (int64_t n : {1, 257, 4097}) {
    Tensor x = values({n}, -3, 3, 77, DType::f32);
    Tensor y = empty({n}, DType::f32), yg = empty({n}, {DType::f32, Device::cuda()});
    cpu().unary(UnaryOp::gelu, x, y, {});
    gpu().unary(UnaryOp::gelu, to_gpu(x), yg, {});
    check_near(yg, y, tol_for(DType::f32), where_str("unary gelu", DType::f32, {n}));
  }
}

TEST_CASE("cuda unary: round goes half to even; integer ops; refused dtypes") {
  REQUIRE_GPU();
  std::vector<double> halves = {-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, 0.49, -0.6, 1e9 + 0.5};
  std::vector<double> expected = {-2, -2, -0.0, 0, 2, 2, 4, 0, -1, 1e9};
  for (DType dt : kFloatDTypes) {
    Tensor x = from_vector(halves, {10}).to(dt);
    Tensor r = round(to_gpu(x));
    check_same(r, round(x), where_str("round", dt, {10}));
    CHECK_CLOSE(r, from_vector(expected, {10}).to(dt), 0, 0);
  }
  const UnaryOp int_ops[] = {UnaryOp::neg, UnaryOp::abs,   UnaryOp::sign,        UnaryOp::square, UnaryOp::relu,
                             UnaryOp::floor, UnaryOp::ceil, UnaryOp::round, UnaryOp::logical_not, UnaryOp::clamp};
  for (DType dt : {DType::i32, DType::i64, DType::u8, DType::b8}) {
    Tensor x = dt == DType::u8 ? int_values({5, 7}, 0, 15, 11, dt) : int_values({5, 7}, -7, 7, 11, dt);
    for (UnaryOp op : int_ops) {
      UnaryParams p{-2.0, 3.5};
      Tensor y = empty({7, 5}, dt), yg = empty({7, 5}, {dt, Device::cuda()});
      cpu().unary(op, x.t(), y, p);
      gpu().unary(op, to_gpu(x).t(), yg, p);
      check_same(yg, y, where_str(std::string("integer unary ") + unary_name(op), dt, {7, 5}));
    }
  }
  Tensor xi = to_gpu(int_values({4}, -3, 3, 12, DType::i32));
  Tensor oi = empty({4}, {DType::i32, Device::cuda()});
  CHECK_THROWS_WITH_SUBSTR(gpu().unary(UnaryOp::exp, xi, oi, {}), "unary op is not defined for integer tensors");
  CHECK_THROWS_WITH_SUBSTR(gpu().unary_backward(UnaryOp::relu, xi, Tensor(), xi, oi, {}),
                           "unary_backward: needs a floating tensor (f32 or f64), got i32");
  Tensor xb = zeros({4}, {DType::bf16, Device::cuda()});
  CHECK_THROWS_WITH_SUBSTR(gpu().unary(UnaryOp::relu, xb, xb, {}), "unary: needs a floating tensor (f32 or f64), got bf16");
  // public ops keep integer dtypes where the CPU does
  Tensor ai = int_values({6}, -4, 4, 13, DType::i64);
  check_same(abs(to_gpu(ai)), abs(ai), "abs i64");
  check_same(clamp(to_gpu(ai), -1.5, 2.5), clamp(ai, -1.5, 2.5), "clamp i64");
  check_same(logical_not(to_gpu(ai)), logical_not(ai), "logical_not i64");
  check_near(exp(to_gpu(ai)), exp(ai), tol_for(DType::f32), "exp i64 (computed in f32)");
}

TEST_CASE("cuda unary ops through autograd: values and gradients on the GPU equal the CPU's") {
  REQUIRE_GPU();
  struct Case {
    const char* name;
    std::function<Tensor(const Tensor&)> op;
    double lo, hi;
    bool grad;
  };
  const std::vector<Case> cases = {
      {"neg", [](const Tensor& x) { return neg(x); }, -3, 3, true},
      {"abs", [](const Tensor& x) { return abs(x); }, -3, 3, true},
      {"square", [](const Tensor& x) { return square(x); }, -3, 3, true},
      {"reciprocal", [](const Tensor& x) { return reciprocal(x); }, 0.5, 3, true},
      {"exp", [](const Tensor& x) { return exp(x); }, -3, 3, true},
      {"log", [](const Tensor& x) { return log(x); }, 0.2, 4, true},
      {"log1p", [](const Tensor& x) { return log1p(x); }, -0.5, 3, true},
      {"sqrt", [](const Tensor& x) { return sqrt(x); }, 0.2, 4, true},
      {"rsqrt", [](const Tensor& x) { return rsqrt(x); }, 0.2, 4, true},
      {"sin", [](const Tensor& x) { return sin(x); }, -3, 3, true},
      {"cos", [](const Tensor& x) { return cos(x); }, -3, 3, true},
      {"tanh", [](const Tensor& x) { return tanh(x); }, -3, 3, true},
      {"sigmoid", [](const Tensor& x) { return sigmoid(x); }, -6, 6, true},
      {"relu", [](const Tensor& x) { return relu(x); }, -3, 3, true},
      {"leaky_relu", [](const Tensor& x) { return leaky_relu(x, 0.2); }, -3, 3, true},
      {"gelu", [](const Tensor& x) { return gelu(x); }, -4, 4, true},
      {"gelu_tanh", [](const Tensor& x) { return gelu(x, GeluApprox::tanh); }, -4, 4, true},
      {"quick_gelu", [](const Tensor& x) { return quick_gelu(x); }, -4, 4, true},
      {"silu", [](const Tensor& x) { return silu(x); }, -4, 4, true},
      {"softplus", [](const Tensor& x) { return softplus(x, 2.0, 5.0); }, -4, 4, true},
      {"erf", [](const Tensor& x) { return erf(x); }, -2, 2, true},
      {"clamp", [](const Tensor& x) { return clamp(x, -1.0, 0.5); }, -3, 3, true},
      {"pow 2.5", [](const Tensor& x) { return pow(x, 2.5); }, 0.2, 3, true},
      {"scalar mul and sub", [](const Tensor& x) { return x * 3.0 - 1.0; }, -3, 3, true},
      {"rdiv", [](const Tensor& x) { return 2.0 / x; }, 0.5, 3, true},
      {"sign", [](const Tensor& x) { return sign(x); }, -3, 3, false},
      {"floor", [](const Tensor& x) { return floor(x); }, -3, 3, false},
      {"ceil", [](const Tensor& x) { return ceil(x); }, -3, 3, false},
      {"round", [](const Tensor& x) { return round(x); }, -3, 3, false},
  };
  for (DType dt : kFloatDTypes) {
    for (const Case& c : cases) {
      for (bool strided : {false, true}) {
        std::string what = where_str(std::string("op ") + c.name + (strided ? " (noncontiguous input)" : ""), dt, {7, 33});
        Tensor x = values({7, 33}, c.lo, c.hi, 20, dt).requires_grad_(c.grad);
        Tensor xg = to_gpu(x);
        if (strided) {
          x = noncontiguous(x);
          xg = noncontiguous(xg);
        }
        Tensor y = c.op(x), yg = c.op(xg);
        CHECK(yg.device().is_cuda());
        check_near(yg, y, tol_for(dt), what + " forward");
        if (!c.grad) continue;
        Tensor seed = values({7, 33}, -1, 1, 21, dt);
        y.backward(seed);
        yg.backward(to_gpu(seed));
        REQUIRE(xg.grad().defined());
        CHECK(xg.grad().device().is_cuda());
        check_near(xg.grad(), x.grad(), tol_for(dt), what + " gradient");
      }
    }
  }
}

// ---- binary --------------------------------------------------------------------------------------

TEST_CASE("cuda binary: every BinaryOp and dtype with broadcast, strided operands and a strided output") {
  REQUIRE_GPU();
  const Shape s{4, 3, 5};
  for (DType dt : kComputeDTypes) {
    for (int k = 0; k <= static_cast<int>(BinaryOp::logical_or); ++k) {
      const BinaryOp op = static_cast<BinaryOp>(k);
      std::string what = where_str(std::string("binary ") + binary_name(op), dt, s);
      INFO(what);
      // a: [4, 1, 5] expanded to s (stride 0); b: [4, 5, 3] transposed to s (strided)
      Tensor a0, b0;
      if (is_floating(dt)) {  // half-integers in [-2, 2]: many ties for the predicates and extrema
        a0 = round(values({4, 1, 5}, -4, 4, 30 + k, DType::f64)) * 0.5;
        b0 = round(values({4, 5, 3}, -4, 4, 60 + k, DType::f64)) * 0.5;
        if (op == BinaryOp::pow) a0 = abs(a0) + 0.25;  // positive bases
        a0 = a0.to(dt);
        b0 = b0.to(dt);
      } else if (dt == DType::u8) {
        a0 = int_values({4, 1, 5}, 0, 6, 30 + k, dt);
        b0 = int_values({4, 5, 3}, op == BinaryOp::pow ? 0 : 1, op == BinaryOp::pow ? 3 : 6, 60 + k, dt);
      } else if (dt == DType::b8) {
        a0 = int_values({4, 1, 5}, 0, 1, 30 + k, dt);
        b0 = int_values({4, 5, 3}, 0, 1, 60 + k, dt);
      } else {  // signed: no zero divisors (the CPU would trap), no negative powers of zero
        a0 = int_values({4, 1, 5}, -3, 3, 30 + k, dt);
        Tensor mag = int_values({4, 5, 3}, 1, 3, 60 + k, DType::i64);
        Tensor sgn = int_values({4, 5, 3}, 0, 1, 90 + k, DType::i64) * 2 - 1;
        b0 = op == BinaryOp::pow ? int_values({4, 5, 3}, 0, 3, 60 + k, dt) : (mag * sgn).to(dt);
      }
      Tensor a = a0.expand(s), b = b0.transpose(1, 2);
      Tensor ag = to_gpu(a0).expand(s), bg = to_gpu(b0).transpose(1, 2);
      const DType out_dt = is_predicate(op) ? DType::b8 : dt;
      Tensor base = zeros({4, 5, 3}, out_dt), base_g = zeros({4, 5, 3}, {out_dt, Device::cuda()});
      if (dt == DType::b8 && (op == BinaryOp::sub || op == BinaryOp::div || op == BinaryOp::pow)) {
        CHECK_THROWS_WITH_SUBSTR(gpu().binary(op, ag, bg, base_g.transpose(1, 2)),
                                 "binary: sub, div and pow are not defined for bool tensors");
        continue;
      }
      cpu().binary(op, a, b, base.transpose(1, 2));
      gpu().binary(op, ag, bg, base_g.transpose(1, 2));
      if (is_floating(out_dt)) check_near(base_g, base, tol_for(dt), what + " (strided output)");
      else check_same(base_g, base, what + " (strided output)");
      // contiguous operands and output, and a scalar (0-d expanded) right operand
      Tensor out = empty(s, out_dt), out_g = empty(s, {out_dt, Device::cuda()});
      Tensor b_scalar = b0.reshape({-1}).slice(0, 1, 2).reshape({}).expand(s);
      Tensor b_scalar_g = to_gpu(b0).reshape({-1}).slice(0, 1, 2).reshape({}).expand(s);
      cpu().binary(op, a.contiguous(), b_scalar, out);
      gpu().binary(op, ag.contiguous(), b_scalar_g, out_g);
      if (is_floating(out_dt)) check_near(out_g, out, tol_for(dt), what + " (scalar right operand)");
      else check_same(out_g, out, what + " (scalar right operand)");
    }
  }
  // odd, larger sizes, contiguous
  for (int64_t n : {1, 257, 5001}) {
    Tensor a = values({n}, -2, 2, 40, DType::f32), b = values({n}, -2, 2, 41, DType::f32);
    check_near(add(to_gpu(a), to_gpu(b)), add(a, b), tol_for(DType::f32), where_str("add", DType::f32, {n}));
    check_same(lt(to_gpu(a), to_gpu(b)), lt(a, b), where_str("lt", DType::f32, {n}));
  }
}

TEST_CASE("cuda binary ops through autograd: broadcasting, views, scalars and gradients") {
  REQUIRE_GPU();
  struct Case {
    const char* name;
    std::function<Tensor(const Tensor&, const Tensor&)> op;
  };
  const std::vector<Case> cases = {
      {"add", [](const Tensor& a, const Tensor& b) { return add(a, b); }},
      {"sub", [](const Tensor& a, const Tensor& b) { return sub(a, b); }},
      {"mul", [](const Tensor& a, const Tensor& b) { return mul(a, b); }},
      {"div", [](const Tensor& a, const Tensor& b) { return div(a, b); }},
      {"pow", [](const Tensor& a, const Tensor& b) { return pow(a, b); }},
      {"maximum", [](const Tensor& a, const Tensor& b) { return maximum(a, b); }},
      {"minimum", [](const Tensor& a, const Tensor& b) { return minimum(a, b); }},
      {"a * 2 - b / 3", [](const Tensor& a, const Tensor& b) { return a * 2.0 - b / 3.0; }},
  };
  for (DType dt : kFloatDTypes) {
    for (const Case& c : cases) {
      std::string what = where_str(std::string("op ") + c.name + " a [3, 1, 5] b [4, 5]^T", dt, {3, 4, 5});
      // a: [3, 1, 5] broadcast over the middle dim; b: the transpose of a [5, 4] tensor (a view)
      Tensor a = values({3, 1, 5}, 0.5, 2.0, 31, dt).requires_grad_(true);
      Tensor bt = values({5, 4}, 0.5, 2.0, 32, dt).requires_grad_(true);
      Tensor ag = to_gpu(a), btg = to_gpu(bt);
      Tensor y = c.op(a, bt.t()), yg = c.op(ag, btg.t());
      check_near(yg, y, tol_for(dt), what + " forward");
      Tensor seed = values(y.shape(), -1, 1, 33, dt);
      y.backward(seed);
      yg.backward(to_gpu(seed));
      check_near(ag.grad(), a.grad(), tol_for(dt), what + " gradient of a");
      check_near(btg.grad(), bt.grad(), tol_for(dt), what + " gradient of b");
    }
  }
  // comparisons and logical ops on broadcast operands through the public API
  Tensor a = round(values({3, 1, 5}, -3, 3, 34)), b = round(values({4, 1}, -3, 3, 35));
  Tensor ag = to_gpu(a), bg = to_gpu(b);
  check_same(eq(ag, bg), eq(a, b), "eq broadcast");
  check_same(ge(ag, 0.0), ge(a, 0.0), "ge scalar");
  check_same(logical_and(gt(ag, 0.0), lt(bg, 1.0)), logical_and(gt(a, 0.0), lt(b, 1.0)), "logical_and");
  check_same(logical_or(ag, bg), logical_or(a, b), "logical_or (f64 operands)");
  check_same(div(to_gpu(int_values({5}, 1, 9, 36, DType::i32)), to_gpu(int_values({5}, 1, 4, 37, DType::i32))),
             div(int_values({5}, 1, 9, 36, DType::i32), int_values({5}, 1, 4, 37, DType::i32)), "true division of i32");
}

TEST_CASE("cuda where: broadcast condition, mixed layouts, dtypes and gradients") {
  REQUIRE_GPU();
  for (DType dt : kFloatDTypes) {
    Tensor cond = gt(values({4, 1, 6}, -1, 1, 40), 0.0);
    Tensor a = values({4, 3, 6}, -2, 2, 41, dt).requires_grad_(true);
    Tensor b = values({6}, -2, 2, 42, dt).requires_grad_(true);
    Tensor ag = to_gpu(a), bg = to_gpu(b);
    Tensor y = where(cond, a, b), yg = where(to_gpu(cond), ag, bg);
    check_same(yg, y, where_str("where", dt, {4, 3, 6}));
    Tensor seed = values({4, 3, 6}, -1, 1, 43, dt);
    y.backward(seed);
    yg.backward(to_gpu(seed));
    check_near(ag.grad(), a.grad(), tol_for(dt), where_str("where gradient of a", dt, {4, 3, 6}));
    check_near(bg.grad(), b.grad(), tol_for(dt), where_str("where gradient of b", dt, {6}));
  }
  for (DType dt : kComputeDTypes) {
    Tensor cond = gt(values({5, 7}, -1, 1, 44), 0.0);
    Tensor a0 = dt == DType::b8 ? int_values({7, 5}, 0, 1, 45, dt) : int_values({7, 5}, 0, 9, 45, dt);
    Tensor b = int_values({5, 1}, 0, 1, 46, dt);
    Tensor out = empty({5, 7}, dt), out_g = empty({5, 7}, {dt, Device::cuda()});
    cpu().where(cond, a0.t(), b.expand({5, 7}), out);
    gpu().where(to_gpu(cond), to_gpu(a0).t(), to_gpu(b).expand({5, 7}), out_g);
    check_same(out_g, out, where_str("where kernel", dt, {5, 7}));
  }
  Tensor x = values({3, 4}, -1, 1, 47, DType::f32);
  check_same(masked_fill(to_gpu(x), to_gpu(gt(x, 0.0)), -9.0), masked_fill(x, gt(x, 0.0), -9.0), "masked_fill");
}

// ---- random --------------------------------------------------------------------------------------

TEST_CASE("cuda random: uniform, normal and randint equal the CPU's for the same seed and offset") {
  REQUIRE_GPU();
  for (int64_t n : {1, 3, 5, 1001, 4099}) {
    for (DType dt : kFloatDTypes) {
      Generator gc(1234), gg(1234);
      const double atol = dt == DType::f64 ? 1e-12 : 1e-6;
      for (int draw = 0; draw < 2; ++draw) {  // the second draw starts at a later offset
        std::string what = where_str("rand draw " + std::to_string(draw), dt, {n});
        Tensor uc = rand({n}, dt, &gc), ug = rand({n}, {dt, Device::cuda()}, &gg);
        CHECK(ug.device().is_cuda());
        check_near(ug, uc, {atol, 0}, what);
        Tensor nc = randn({n}, dt, &gc), ng = randn({n}, {dt, Device::cuda()}, &gg);
        check_near(ng, nc, {atol, atol}, where_str("randn draw " + std::to_string(draw), dt, {n}));
      }
      CHECK(gc.offset() == gg.offset());
      // explicit bounds, mean and stddev, and a start offset
      Tensor c = empty({n}, dt), g = empty({n}, {dt, Device::cuda()});
      cpu().uniform(c, -2.0, 3.0, 99, 17);
      gpu().uniform(g, -2.0, 3.0, 99, 17);
      check_near(g, c, {atol * 5, 0}, where_str("uniform(-2, 3)", dt, {n}));
      cpu().normal(c, 2.0, 3.0, 99, 17);
      gpu().normal(g, 2.0, 3.0, 99, 17);
      check_near(g, c, {atol * 5, atol}, where_str("normal(2, 3)", dt, {n}));
    }
    // integers: exactly the CPU's (this checks the device Philox twin bit for bit)
    for (DType dt : {DType::i64, DType::i32}) {
      struct Range {
        int64_t low, high;
      };
      const Range ranges[] = {{0, dt == DType::i64 ? (int64_t(1) << 62) : 2147483647}, {-5, 17}, {-100, 100}};
      for (const Range& r : ranges) {
        Generator gc(77), gg(77);
        Tensor c = randint(r.low, r.high, {n}, dt, &gc), g = randint(r.low, r.high, {n}, {dt, Device::cuda()}, &gg);
        check_same(g, c, where_str("randint [" + std::to_string(r.low) + ", " + std::to_string(r.high) + ")", dt, {n}));
      }
    }
  }
  Tensor bad = empty({4}, {DType::i32, Device::cuda()});
  CHECK_THROWS_WITH_SUBSTR(gpu().uniform(bad, 0, 1, 1, 0), "uniform: needs f32 or f64, got i32");
  CHECK_THROWS_WITH_SUBSTR(gpu().normal(bad, 0, 1, 1, 0), "normal: needs f32 or f64, got i32");
  Tensor badf = empty({4}, {DType::f32, Device::cuda()});
  CHECK_THROWS_WITH_SUBSTR(gpu().randint(badf, 0, 5, 1, 0), "randint: needs i64 or i32, got f32");
}

// ---- AdamW ---------------------------------------------------------------------------------------

TEST_CASE("cuda adamw: several fused steps equal the CPU's") {
  REQUIRE_GPU();
  for (DType dt : kFloatDTypes) {
    for (const Shape& s : {Shape{1}, Shape{257}, Shape{33, 7}}) {
      std::string what = where_str("adamw", dt, s);
      Tensor p = values(s, -1, 1, 50, dt), m = zeros(s, dt), v = zeros(s, dt);
      Tensor pg = to_gpu(p), mg = to_gpu(m), vg = to_gpu(v);
      for (int step = 1; step <= 5; ++step) {
        AdamWParams h{1e-2, 0.9, 0.999, 1e-8, 0.05, step};
        Tensor g = values(s, -1, 1, 60 + step, dt);
        cpu().adamw_step(p, g, m, v, h);
        gpu().adamw_step(pg, to_gpu(g), mg, vg, h);
      }
      Tol t = dt == DType::f64 ? Tol{1e-12, 1e-12} : Tol{1e-6, 1e-5};
      check_near(pg, p, t, what + " parameter after 5 steps");
      check_near(mg, m, t, what + " first moment");
      check_near(vg, v, t, what + " second moment");
    }
  }
  Tensor p = zeros({3}, Device::cuda()), g = zeros({4}, Device::cuda());
  CHECK_THROWS_WITH_SUBSTR(gpu().adamw_step(p, g, p, p, AdamWParams{1e-3, 0.9, 0.999, 1e-8, 0, 1}),
                           "adamw: gradient shape [4] differs");
  Tensor pi = zeros({3}, {DType::i32, Device::cuda()});
  CHECK_THROWS_WITH_SUBSTR(gpu().adamw_step(pi, pi, pi, pi, AdamWParams{1e-3, 0.9, 0.999, 1e-8, 0, 1}),
                           "adamw: needs a floating tensor");
}

// ---- allocator -----------------------------------------------------------------------------------

TEST_CASE("cuda allocator: a repeated computation stops calling cudaMalloc; stats, empty_cache, out of memory") {
  REQUIRE_GPU();
  if (caching_disabled_by_env()) {
    MESSAGE("IRIS_NO_CACHE=1: the CUDA caching allocator is off; skipping");
    return;
  }
  Tensor x = to_gpu(values({64, 33}, -2, 2, 70, DType::f32)).requires_grad_(true);
  Tensor w = to_gpu(values({64, 33}, -1, 1, 71, DType::f32));
  Tensor seed = to_gpu(values({64, 33}, -1, 1, 72, DType::f32));
  cuda::CudaAllocatorStats after_two, at_end;
  for (int step = 0; step < 10; ++step) {
    x.zero_grad();
    Tensor y = sigmoid(gelu(x * w + w) * w) - x / w;  // equal shapes: the backward needs no reduction
    y.backward(seed);
    if (step == 1) after_two = cuda::allocator_stats();
  }
  x.zero_grad();
  cuda::synchronize();
  at_end = cuda::allocator_stats();
  CHECK(at_end.allocations - after_two.allocations > 40);        // the steps did allocate ...
  CHECK(at_end.device_mallocs == after_two.device_mallocs);      // ... all from the cache
  CHECK(at_end.cache_hits - after_two.cache_hits == at_end.allocations - after_two.allocations);
  CHECK(at_end.bytes_in_use <= after_two.bytes_in_use);          // nothing leaks across steps
  CHECK(at_end.peak_bytes_in_use >= at_end.bytes_in_use);
  CHECK(at_end.bytes_cached > 0);

  cuda::empty_cache();
  CHECK(cuda::allocator_stats().bytes_cached == 0);
  const int64_t mallocs = cuda::allocator_stats().device_mallocs;
  Tensor fresh = zeros({100}, Device::cuda());
  CHECK(cuda::allocator_stats().device_mallocs == mallocs + 1);

  // far more than any GPU has: a clear error naming the size, and the allocator still works after it
  CHECK_THROWS_WITH_SUBSTR(empty({int64_t(1) << 48}, {DType::f32, Device::cuda()}), "CUDA out of memory");
  Tensor after = full({5}, 2.0, Device::cuda());
  CHECK(after.cpu().to_vector<float>() == std::vector<float>(5, 2.0f));
}

TEST_CASE("cuda allocator: memory comes from the device the caller names, whatever the current device") {
  REQUIRE_GPU();
  const int n = cuda::device_count();
  cuda::set_device(0);
  Allocator& a = allocator_for(Device::cuda(0));
  const cuda::CudaAllocatorStats before = cuda::allocator_stats();
  void* p = a.allocate(1000, Device::cuda(0));
  cudaPointerAttributes attr{};
  REQUIRE(cudaPointerGetAttributes(&attr, p) == cudaSuccess);
  CHECK(attr.type == cudaMemoryTypeDevice);
  CHECK(attr.device == 0);
  CHECK(cuda::allocator_stats().allocations == before.allocations + 1);
  a.release(p, 1000);
  CHECK(cuda::allocator_stats().bytes_in_use == before.bytes_in_use);
  // a device that does not exist is refused by the allocator itself, before it counts or allocates
  CHECK_THROWS_WITH_SUBSTR(a.allocate(1000, Device::cuda(n)), "no such device");
  CHECK(cuda::allocator_stats().allocations == before.allocations + 1);
  if (n < 2) {
    MESSAGE("one GPU: allocating on cuda:1 while cuda:0 is current needs a second device; skipped that half");
    return;
  }
  cuda::set_device(0);
  void* q = a.allocate(4096, Device::cuda(1));
  REQUIRE(cudaPointerGetAttributes(&attr, q) == cudaSuccess);
  CHECK(attr.device == 1);
  int current = -1;
  REQUIRE(cudaGetDevice(&current) == cudaSuccess);
  CHECK(current == 0);  // the allocator put the thread's device back
  a.release(q, 4096);
  void* r = a.allocate(4096, Device::cuda(0));  // cuda:1's cached block of this size is not for cuda:0
  REQUIRE(cudaPointerGetAttributes(&attr, r) == cudaSuccess);
  CHECK(attr.device == 0);
  a.release(r, 4096);
  Tensor t = full({256}, 3.0, Device::cuda(1));
  CHECK(t.cpu().to_vector<float>() == std::vector<float>(256, 3.0f));
  cuda::set_device(0);
}

// ---- pinned host memory -----------------------------------------------------------------------------

TEST_CASE("cuda pinned memory: page-locked CPU tensors; host -> device -> host keeps every dtype's values") {
  REQUIRE_GPU();
  REQUIRE(pinned_memory_available());
  const Shape s{37, 41};
  for (DType dt : kStorageDTypes) {
    Tensor x = dt == DType::u8 ? values(s, 0, 200, 12, dt) : values(s, -50, 50, 12, dt);
    Tensor p = pin_memory(x);
    REQUIRE(p.is_pinned());
    CHECK(p.device().is_cpu());
    CHECK_FALSE(p.shares_storage(x));
    cudaPointerAttributes attr{};
    REQUIRE(cudaPointerGetAttributes(&attr, p.raw_data()) == cudaSuccess);
    CHECK(attr.type == cudaMemoryTypeHost);  // page-locked, as the driver sees it
    Tensor g = p.to(Device::cuda());
    check_same(g.cpu(), x, where_str("pinned -> device -> host", dt, s));
    // a strided pinned source (staged through a pinned contiguous copy), into a strided GPU view
    Tensor dst = zeros({s[0], s[1]}, {dt, Device::cuda()}).t();
    gpu().copy(p.t(), dst);
    check_same(dst.cpu(), x.t(), where_str("pinned transposed -> strided device view", dt, {s[1], s[0]}));
    // device -> pinned host
    Tensor back = empty_pinned(s, dt);
    REQUIRE(back.is_pinned());
    gpu().copy(g, back);
    check_same(back, x, where_str("device -> pinned host", dt, s));
  }
  CHECK_THROWS_WITH_SUBSTR(pin_memory(zeros({2}, Device::cuda())), "only CPU tensors can be pinned");
  CHECK_NOTHROW(cuda::synchronize());
}

TEST_CASE("cuda pinned memory: a repeated transfer stops calling cudaHostAlloc; stats, empty_cache") {
  REQUIRE_GPU();
  if (caching_disabled_by_env()) {
    MESSAGE("IRIS_NO_CACHE=1: the pinned cache is off; skipping");
    return;
  }
  cuda::pinned_empty_cache();
  const cuda::PinnedAllocatorStats start = cuda::pinned_allocator_stats();
  CHECK(start.bytes_cached == 0);
  cuda::PinnedAllocatorStats first;
  for (int step = 0; step < 6; ++step) {
    Tensor p = empty_pinned({3, 1000});
    p.fill_(step);
    Tensor back = p.to(Device::cuda()).cpu();  // the GPU -> CPU copy waits for the stream
    CHECK(back.to_vector<float>() == std::vector<float>(3000, float(step)));
    if (step == 0) first = cuda::pinned_allocator_stats();
  }
  const cuda::PinnedAllocatorStats end = cuda::pinned_allocator_stats();
  CHECK(first.host_allocs - start.host_allocs == 1);
  CHECK(end.host_allocs == first.host_allocs);        // steps 1..5 reused step 0's block
  CHECK(end.allocations - first.allocations == 5);
  CHECK(end.cache_hits - first.cache_hits == 5);
  CHECK(end.bytes_in_use == start.bytes_in_use);      // nothing leaks
  CHECK(end.peak_bytes_in_use >= 12000);
  CHECK(end.bytes_cached >= 12000);
  CHECK(end.blocks_waiting == 0);                     // the transfers have run
  cuda::pinned_empty_cache();
  CHECK(cuda::pinned_allocator_stats().bytes_cached == 0);
  Tensor again = empty_pinned({3, 1000});
  CHECK(cuda::pinned_allocator_stats().host_allocs == end.host_allocs + 1);
}

TEST_CASE("cuda pinned memory: a block freed while its transfer is queued is not reused until the transfer ran") {
  REQUIRE_GPU();
  if (caching_disabled_by_env()) {
    MESSAGE("IRIS_NO_CACHE=1: the pinned cache is off; skipping");
    return;
  }
  const Shape s{1024, 1024};
  Tensor x = values(s, -1, 1, 30, DType::f32);
  Tensor p = pin_memory(x);
  const void* block = p.raw_data();
  // Queue a few milliseconds of GPU work so the transfer below waits behind it on the stream.
  Tensor a = full({4096, 4096}, 1e-4, Device::cuda());
  cuda::cublas();  // made now: creating the handle would wait for the GPU
  cuda::synchronize();
  Tensor busy = a;
  for (int i = 0; i < 4; ++i) busy = matmul(busy, a);
  Tensor g = p.to(Device::cuda());  // returns at once: the source is pinned
  p = Tensor();                     // freed while the transfer is (almost surely) still queued
  const cuda::PinnedAllocatorStats waiting = cuda::pinned_allocator_stats();
  Tensor q = empty_pinned(s);
  q.fill_(1e6);  // scribble over whatever block q got
  CHECK(waiting.blocks_waiting == 1);
  CHECK(q.raw_data() != block);  // not the block the queued transfer reads
  CHECK(q.to_vector<float>() == std::vector<float>(size_t(1) << 20, 1e6f));
  check_same(g.cpu(), x, "pinned source freed before its transfer ran");  // cpu() waits
  CHECK(cuda::pinned_allocator_stats().blocks_waiting == 0);
  // the block is free again now: the next request of its size class reuses it
  const int64_t host_allocs = cuda::pinned_allocator_stats().host_allocs;
  Tensor r = empty_pinned(s);
  CHECK(r.raw_data() == block);
  CHECK(cuda::pinned_allocator_stats().host_allocs == host_allocs);
}

TEST_CASE("cuda pinned memory: DataLoader batches with pin_memory are pinned and reach the GPU intact") {
  REQUIRE_GPU();
  Tensor images = values({45, 3, 8, 8}, 0, 1, 40, DType::f32);
  Tensor labels = int_values({45}, 0, 9, 41, DType::i64);
  auto ds = std::make_shared<data::TensorDataset>(images, labels);
  data::LoaderOptions plain;
  plain.batch_size = 16;
  plain.workers = 2;
  plain.seed = 9;
  data::LoaderOptions pinned_opts = plain;
  pinned_opts.pin_memory = true;
  data::DataLoader a(ds, plain), b(ds, pinned_opts);
  for (int64_t epoch : {0, 1}) {
    a.start_epoch(epoch);
    b.start_epoch(epoch);
    data::Batch ba, bb;
    int batches = 0;
    while (a.next(ba)) {
      REQUIRE(b.next(bb));
      CHECK(bb.x.is_pinned());
      CHECK(bb.y.is_pinned());
      CHECK_FALSE(ba.x.is_pinned());
      CHECK(bb.indices == ba.indices);
      Tensor xg = bb.x.to(Device::cuda()), yg = bb.y.to(Device::cuda());
      check_same(xg, ba.x, "pinned batch x on the GPU");
      check_same(yg, ba.y, "pinned batch y on the GPU");
      ++batches;
    }
    CHECK(batches == 3);
  }
  CHECK_NOTHROW(cuda::synchronize());
}

// ---- errors ----------------------------------------------------------------------------------------

TEST_CASE("cuda errors: mixed devices, devices that do not exist, CPU tensors given to GPU kernels") {
  REQUIRE_GPU();
  Tensor c = ones({3}), g = ones({3}, Device::cuda());
  CHECK_THROWS_WITH_SUBSTR(add(c, g), "cpu and cuda:0");
  CHECK_THROWS_WITH_SUBSTR(mul(g, c), "cuda:0 and cpu");
  CHECK_THROWS_WITH_SUBSTR(where(gt(g, 0.0), c, g), "different devices");
  CHECK_THROWS_WITH_SUBSTR(g.copy_(c), "source is on cpu and destination on cuda:0");
  if (cuda::device_count() <= 7) {
    CHECK_THROWS_WITH_SUBSTR(zeros({2}, Device::cuda(7)), "cuda:7: no such device");
    CHECK_THROWS_WITH_SUBSTR(c.to(Device::cuda(7)), "cuda:7: no such device");
    CHECK_THROWS_WITH_SUBSTR(randn({2}, Device::cuda(7)), "cuda:7");
    CHECK_THROWS_WITH_SUBSTR(cuda::set_device(7), "this machine has");
    // cuda:0 still works after the refusals
    CHECK(add(g, g).cpu().to_vector<float>() == std::vector<float>(3, 2.0f));
  }
  Tensor out = empty({3});
  CHECK_THROWS_WITH_SUBSTR(gpu().binary(BinaryOp::add, c, c, out), "binary: expected a CUDA tensor, got one on cpu");
  CHECK_THROWS_WITH_SUBSTR(gpu().unary(UnaryOp::exp, c, out, {}), "unary: expected a CUDA tensor");
  CHECK_THROWS_WITH_SUBSTR(gpu().fill(out, 1.0), "fill: expected a CUDA tensor");
  CHECK_NOTHROW(cuda::synchronize());  // no asynchronous error was left behind
}
