// GPU twins of the matrix-product and convolution kernels (cuda/gemm.cu, cuda/conv.cu) checked
// against the CPU on the same inputs, through the public ops: matmul (2-D, batched, broadcast and
// stride-0 batches, transposed and permuted operands, sizes 1/7/33/129), linear with its fused bias,
// the gemm kernel's alpha/beta/bias/empty-K paths, conv2d (stride, padding, dilation, groups,
// depthwise with a channel multiplier, 1x1) and conv_transpose2d, forward and backward, f32 and f64;
// matmul and linear under autocast (bf16 operands through cublasGemmEx) against the CPU's autocast.
// Every case names its op, shapes and dtype on failure. Skips (with a message) without a GPU.
#include <string>
#include <vector>

#include "autograd/autocast.h"
#include "tensor/backend.h"
#include "tests/cuda_helpers.h"

using namespace iris;
using iris::testing::noncontiguous;
using iris::testing::random_tensor;
using iris::testing::to_gpu;

namespace {

// Tolerances per dtype: cuBLAS and the CPU sum in different orders (TF32 stays off).
double atol_of(DType dt) { return dt == DType::f64 ? 1e-10 : 2e-4; }
double rtol_of(DType dt) { return dt == DType::f64 ? 1e-10 : 1e-4; }

using OpFn = std::function<Tensor(const std::vector<Tensor>&)>;

// testing::compare_forward_backward with this file's tolerances.
void compare_forward_backward(const std::string& op, const OpFn& fn, const std::vector<Tensor>& cpu_inputs, DType dt,
                              const std::function<Tensor(const Tensor&)>& layout = nullptr) {
  testing::compare_forward_backward(op, fn, cpu_inputs, dt, atol_of(dt), rtol_of(dt), layout);
}

Tensor leaf(const Shape& shape, DType dt, uint64_t seed, bool grad = true) {
  Tensor t = random_tensor(shape, dt, seed);
  if (grad) t.requires_grad_(true);
  return t;
}

const DType kFloatTypes[] = {DType::f32, DType::f64};

}  // namespace

// ---- matmul -------------------------------------------------------------------------------------

TEST_CASE("cuda matmul: 2-D products of odd sizes match the CPU, forward and backward") {
  REQUIRE_GPU();
  struct Mkn {
    int64_t M, K, N;
  };
  const Mkn sizes[] = {{1, 1, 1}, {7, 33, 1}, {1, 129, 7}, {33, 7, 129}, {129, 33, 7}, {7, 1, 33}};
  OpFn mm = [](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); };
  for (DType dt : kFloatTypes)
    for (const Mkn& s : sizes)
      compare_forward_backward("matmul", mm, {leaf({s.M, s.K}, dt, 1), leaf({s.K, s.N}, dt, 2)}, dt);
}

TEST_CASE("cuda matmul: transposed, permuted and non-contiguous operands") {
  REQUIRE_GPU();
  for (DType dt : kFloatTypes) {
    // a^T b, a b^T, a^T b^T: transposes reach the kernel as strides (column-major operands).
    OpFn at_b = [](const std::vector<Tensor>& in) { return matmul(in[0].t(), in[1]); };
    OpFn a_bt = [](const std::vector<Tensor>& in) { return matmul(in[0], in[1].t()); };
    OpFn at_bt = [](const std::vector<Tensor>& in) { return matmul(in[0].t(), in[1].t()); };
    compare_forward_backward("matmul(a.t(), b)", at_b, {leaf({33, 7}, dt, 3), leaf({33, 129}, dt, 4)}, dt);
    compare_forward_backward("matmul(a, b.t())", a_bt, {leaf({7, 33}, dt, 5), leaf({129, 33}, dt, 6)}, dt);
    compare_forward_backward("matmul(a.t(), b.t())", at_bt, {leaf({33, 1}, dt, 7), leaf({7, 33}, dt, 8)}, dt);
    // Size-1 dims with odd strides: a column vector transposed, a row picked from a matrix.
    OpFn row_of = [](const std::vector<Tensor>& in) { return matmul(in[0].slice(0, 2, 3), in[1]); };
    compare_forward_backward("matmul(row slice, b)", row_of, {leaf({5, 33}, dt, 9), leaf({33, 7}, dt, 10)}, dt);
    // Batch dim in the middle of the storage: [M, B, K] permuted to [B, M, K] (batch stride K).
    OpFn permuted = [](const std::vector<Tensor>& in) { return matmul(in[0].permute({1, 0, 2}), in[1]); };
    compare_forward_backward("matmul(permuted batch, b)", permuted, {leaf({7, 3, 33}, dt, 11), leaf({3, 33, 5}, dt, 12)},
                             dt);
    // Stride-2 last dims (copied by matmul before the kernel).
    OpFn mm = [](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); };
    compare_forward_backward("matmul(noncontiguous)", mm, {leaf({7, 33}, dt, 13), leaf({33, 9}, dt, 14)}, dt,
                             [](const Tensor& g) { return noncontiguous(g); });
  }
}

TEST_CASE("cuda matmul: batched, broadcast batches and vectors") {
  REQUIRE_GPU();
  OpFn mm = [](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); };
  OpFn bmm_fn = [](const std::vector<Tensor>& in) { return bmm(in[0], in[1]); };
  for (DType dt : kFloatTypes) {
    compare_forward_backward("bmm", bmm_fn, {leaf({4, 7, 33}, dt, 20), leaf({4, 33, 9}, dt, 21)}, dt);
    // [2, 3, M, K] @ [K, N]: the batch folded into the rows of one product.
    compare_forward_backward("matmul batched @ matrix", mm, {leaf({2, 3, 7, 33}, dt, 22), leaf({33, 5}, dt, 23)}, dt);
    // [M, K] @ [4, K, N]: the left operand broadcast with batch stride 0.
    compare_forward_backward("matmul matrix @ batched", mm, {leaf({7, 33}, dt, 24), leaf({4, 33, 5}, dt, 25)}, dt);
    // [3, M, K] @ [2, 1, K, N]: both broadcast, result [2, 3, M, N].
    compare_forward_backward("matmul broadcast batches", mm, {leaf({3, 7, 9}, dt, 26), leaf({2, 1, 9, 5}, dt, 27)},
                             dt);
    // Vectors: 1-D on either side.
    compare_forward_backward("matmul vector @ matrix", mm, {leaf({33}, dt, 28), leaf({33, 7}, dt, 29)}, dt);
    compare_forward_backward("matmul matrix @ vector", mm, {leaf({7, 33}, dt, 30), leaf({33}, dt, 31)}, dt);
    compare_forward_backward("matmul vector @ vector", mm, {leaf({129}, dt, 32), leaf({129}, dt, 33)}, dt);
  }
}

TEST_CASE("cuda linear: fused bias forward and backward, with and without bias") {
  REQUIRE_GPU();
  OpFn lin = [](const std::vector<Tensor>& in) { return linear(in[0], in[1], in.size() > 2 ? in[2] : Tensor()); };
  for (DType dt : kFloatTypes) {
    compare_forward_backward("linear", lin, {leaf({5, 7, 33}, dt, 40), leaf({17, 33}, dt, 41), leaf({17}, dt, 42)}, dt);
    compare_forward_backward("linear one row", lin, {leaf({1, 33}, dt, 43), leaf({1, 33}, dt, 44), leaf({1}, dt, 45)},
                             dt);
    compare_forward_backward("linear no bias", lin, {leaf({9, 129}, dt, 46), leaf({7, 129}, dt, 47)}, dt);
    compare_forward_backward("linear 1-D input", lin, {leaf({33}, dt, 48), leaf({5, 33}, dt, 49), leaf({5}, dt, 50)},
                             dt);
    compare_forward_backward("linear noncontiguous", lin,
                             {leaf({6, 33}, dt, 51), leaf({7, 33}, dt, 52), leaf({7}, dt, 53)}, dt,
                             [](const Tensor& g) { return noncontiguous(g); });
  }
}

TEST_CASE("cuda matmul and linear under autocast: bf16 operands give the CPU's autocast results") {
  REQUIRE_GPU();
  // both devices under autocast: the same bf16-rounded operands, f32 sums in different orders
  auto amp = [](OpFn fn) {
    return [fn](const std::vector<Tensor>& in) {
      AutocastGuard autocast(true);
      return fn(in);
    };
  };
  OpFn mm = [](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); };
  OpFn a_bt = [](const std::vector<Tensor>& in) { return matmul(in[0], in[1].t()); };
  OpFn lin = [](const std::vector<Tensor>& in) { return linear(in[0], in[1], in[2]); };
  const DType dt = DType::f32;
  compare_forward_backward("autocast matmul", amp(mm), {leaf({33, 129}, dt, 60), leaf({129, 7}, dt, 61)}, dt);
  compare_forward_backward("autocast matmul(a, b.t())", amp(a_bt), {leaf({7, 33}, dt, 62), leaf({129, 33}, dt, 63)}, dt);
  compare_forward_backward("autocast bmm", amp(mm), {leaf({4, 7, 33}, dt, 64), leaf({4, 33, 9}, dt, 65)}, dt);
  compare_forward_backward("autocast broadcast batches", amp(mm), {leaf({3, 7, 9}, dt, 66), leaf({2, 1, 9, 5}, dt, 67)},
                           dt);
  compare_forward_backward("autocast linear", amp(lin), {leaf({5, 7, 33}, dt, 68), leaf({17, 33}, dt, 69),
                                                         leaf({17}, dt, 70)}, dt);
  // the kernel itself: bf16 operands into an f32 product with a bias, against f32 operands holding
  // the same values (bf16 x bf16 products are exact in f32; only the summation order may differ)
  Tensor a = random_tensor({1, 37, 65}, dt, 71).to(DType::bf16), b = random_tensor({1, 65, 19}, dt, 72).to(DType::bf16);
  Tensor bias = random_tensor({19}, dt, 73);
  Tensor c16 = empty({1, 37, 19}, Device::cuda()), c32 = empty({1, 37, 19}, Device::cuda());
  backend(Device::cuda()).gemm(a.to(Device::cuda()), b.to(Device::cuda()), c16, 1.0, 0.0, bias.to(Device::cuda()));
  backend(Device::cuda()).gemm(a.to(DType::f32).to(Device::cuda()), b.to(DType::f32).to(Device::cuda()), c32, 1.0, 0.0,
                               bias.to(Device::cuda()));
  CHECK_CLOSE(c16, c32, 1e-5, 1e-5);
  Tensor c_cpu = empty({1, 37, 19});
  backend(Device::cpu()).gemm(a, b, c_cpu, 1.0, 0.0, bias);
  CHECK_CLOSE(c16, c_cpu, 1e-5, 1e-5);
}

TEST_CASE("cuda gemm kernel: alpha, beta, bias, empty inner dim, refused dtypes") {
  REQUIRE_GPU();
  Backend& gpu = backend(Device::cuda());
  Backend& cpu = backend(Device::cpu());
  for (DType dt : kFloatTypes) {
    const int64_t B = 3, M = 7, K = 33, N = 5;
    struct Variant {
      double alpha, beta;
      bool bias;
      int64_t k;
    };
    const Variant variants[] = {{1.0, 0.0, true, K}, {0.5, 2.0, true, K}, {1.5, 1.0, false, K},
                                {2.0, 0.5, true, 0}, {1.0, 0.0, true, 0}, {1.0, 0.0, false, 0}};
    for (const Variant& v : variants) {
      const std::string what = std::string("gemm dtype=") + dtype_name(dt) + " alpha=" + std::to_string(v.alpha) +
                               " beta=" + std::to_string(v.beta) + " bias=" + (v.bias ? "yes" : "no") +
                               " K=" + std::to_string(v.k);
      INFO(what);
      Tensor a = random_tensor({B, M, v.k}, dt, 60), b = random_tensor({B, v.k, N}, dt, 61);
      Tensor c0 = random_tensor({B, M, N}, dt, 62), bias = v.bias ? random_tensor({N}, dt, 63) : Tensor();
      // b read row-major, then column-major (a transposed view of [B, N, K]) on both devices.
      Tensor b_cols = random_tensor({B, N, v.k}, dt, 64);
      const std::pair<Tensor, Tensor> rhs_pairs[] = {{b, to_gpu(b)},
                                                     {b_cols.transpose(1, 2), to_gpu(b_cols).transpose(1, 2)}};
      for (const auto& [rhs_cpu, rhs_gpu] : rhs_pairs) {
        Tensor c_cpu = c0.clone(), c_gpu = to_gpu(c0);
        cpu.gemm(a, rhs_cpu, c_cpu, v.alpha, v.beta, bias);
        gpu.gemm(to_gpu(a), rhs_gpu, c_gpu, v.alpha, v.beta, bias.defined() ? to_gpu(bias) : Tensor());
        CHECK_CLOSE(c_gpu, c_cpu, atol_of(dt), rtol_of(dt));
      }
    }
  }
  // Integer operands: the same refusal as the CPU's.
  Tensor ai = zeros({1, 2, 2}, DType::i32), ci = zeros({1, 2, 2}, DType::i32);
  CHECK_THROWS_WITH_SUBSTR(cpu.gemm(ai, ai, ci, 1.0, 0.0), "matmul: needs a floating tensor");
  CHECK_THROWS_WITH_SUBSTR(gpu.gemm(to_gpu(ai), to_gpu(ai), to_gpu(ci), 1.0, 0.0), "matmul: needs a floating tensor");
  // An operand that is neither row- nor column-major.
  Tensor base = to_gpu(random_tensor({1, 4, 8}, DType::f32, 65));
  Tensor strided = base.slice(2, 0, 8, 2).slice(1, 0, 4, 2);  // [1, 2, 4], strides (32, 16, 2)
  Tensor rhs = to_gpu(random_tensor({1, 4, 3}, DType::f32, 66));
  CHECK_THROWS_WITH_SUBSTR(gpu.gemm(strided, rhs, empty({1, 2, 3}, {DType::f32, Device::cuda()}), 1.0, 0.0),
                           "neither row- nor column-major");
}

TEST_CASE("cuda matmul: mixing devices names both") {
  REQUIRE_GPU();
  Tensor a = random_tensor({3, 4}, DType::f32, 70), b = random_tensor({4, 2}, DType::f32, 71);
  CHECK_THROWS_WITH_SUBSTR(matmul(to_gpu(a), b), "cuda:0 and cpu");
  CHECK_THROWS_WITH_SUBSTR(linear(a, to_gpu(random_tensor({2, 4}, DType::f32, 72))), "cpu and cuda:0");
}

// ---- convolution ------------------------------------------------------------------------------

namespace {

struct ConvCase {
  const char* name;
  int64_t N, C, H, W, Cout, kh, kw;
  Size2 stride = 1, padding = 0, dilation = 1;
  int64_t groups = 1;
};

const ConvCase kConvCases[] = {
    {"3x3 pad 1", 2, 3, 9, 7, 4, 3, 3, 1, 1, 1, 1},
    {"stride 2, pad (1, 2), dilation 2", 2, 3, 11, 10, 5, 3, 3, 2, Size2(1, 2), 2, 1},
    {"non-square kernel, stride (2, 1)", 1, 2, 8, 9, 3, 2, 3, Size2(2, 1), Size2(0, 1), 1, 1},
    {"groups 2", 2, 4, 7, 7, 6, 3, 3, 1, 1, 1, 2},
    {"depthwise", 2, 5, 9, 8, 5, 3, 3, 1, 1, 1, 5},
    {"depthwise multiplier 2, stride 2, dilation 2", 2, 3, 13, 11, 6, 3, 3, 2, 2, 2, 3},
    {"depthwise 5x5 stride (1, 2) pad 2", 1, 4, 7, 9, 4, 5, 5, Size2(1, 2), 2, 1, 4},
    {"pointwise 1x1", 2, 6, 5, 7, 3, 1, 1, 1, 0, 1, 1},
    {"1x1 stride 2", 2, 3, 7, 7, 4, 1, 1, 2, 0, 1, 1},
    {"size-1 image", 3, 2, 1, 1, 3, 1, 1, 1, 0, 1, 1},
    {"kernel covers padding only at corners", 1, 2, 3, 3, 2, 3, 3, 1, 2, 1, 1},
};

}  // namespace

TEST_CASE("cuda conv2d: forward and backward match the CPU (stride, padding, dilation, groups, depthwise)") {
  REQUIRE_GPU();
  for (DType dt : kFloatTypes)
    for (const ConvCase& c : kConvCases) {
      OpFn conv = [c](const std::vector<Tensor>& in) {
        return conv2d(in[0], in[1], in[2], c.stride, c.padding, c.dilation, c.groups);
      };
      compare_forward_backward(c.name, conv,
                               {leaf({c.N, c.C, c.H, c.W}, dt, 100), leaf({c.Cout, c.C / c.groups, c.kh, c.kw}, dt, 101),
                                leaf({c.Cout}, dt, 102)},
                               dt);
    }
}

TEST_CASE("cuda conv2d: non-contiguous input, no bias, only some gradients") {
  REQUIRE_GPU();
  for (DType dt : kFloatTypes) {
    OpFn conv = [](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], Tensor(), 2, 1, 1, 1); };
    compare_forward_backward("conv2d noncontiguous", conv, {leaf({2, 3, 9, 9}, dt, 110), leaf({4, 3, 3, 3}, dt, 111)},
                             dt, [](const Tensor& g) { return noncontiguous(g); });
    OpFn dw = [](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], Tensor(), 1, 1, 1, 3); };
    // Input gradient only (weight frozen), then weight gradient only (input frozen).
    compare_forward_backward("depthwise grad_x only", dw,
                             {leaf({2, 3, 6, 7}, dt, 112), leaf({6, 1, 3, 3}, dt, 113, false)}, dt);
    compare_forward_backward("depthwise grad_w only", dw,
                             {leaf({2, 3, 6, 7}, dt, 114, false), leaf({6, 1, 3, 3}, dt, 115)}, dt);
    // A permuted (channels-last) input.
    OpFn perm = [](const std::vector<Tensor>& in) {
      return conv2d(in[0].permute({0, 3, 1, 2}), in[1], Tensor(), 1, 1, 1, 1);
    };
    compare_forward_backward("conv2d channels-last view", perm, {leaf({2, 6, 5, 3}, dt, 116), leaf({4, 3, 3, 3}, dt, 117)},
                             dt);
  }
}

TEST_CASE("cuda conv_transpose2d: forward and backward match the CPU") {
  REQUIRE_GPU();
  for (DType dt : kFloatTypes) {
    OpFn deconv = [](const std::vector<Tensor>& in) {
      return conv_transpose2d(in[0], in[1], in[2], 2, 1, 1, 1, 1);
    };
    compare_forward_backward("conv_transpose2d stride 2", deconv,
                             {leaf({2, 4, 5, 6}, dt, 120), leaf({4, 3, 3, 3}, dt, 121), leaf({3}, dt, 122)}, dt);
    OpFn grouped = [](const std::vector<Tensor>& in) {
      return conv_transpose2d(in[0], in[1], Tensor(), 1, 0, 0, 2, 2);
    };
    compare_forward_backward("conv_transpose2d groups 2 dilation 2", grouped,
                             {leaf({1, 4, 4, 5}, dt, 123), leaf({4, 2, 2, 3}, dt, 124)}, dt);
  }
}

TEST_CASE("cuda conv2d: mixing devices names both") {
  REQUIRE_GPU();
  Tensor x = random_tensor({1, 2, 5, 5}, DType::f32, 130), w = random_tensor({3, 2, 3, 3}, DType::f32, 131);
  CHECK_THROWS_WITH_SUBSTR(conv2d(to_gpu(x), w), "cuda:0 and cpu");
}
