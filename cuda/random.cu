// CUDA random kernels: uniform, normal (Box-Muller) and integer draws from Philox 4x32-10 blocks, the
// same streams as tensor/cpu/random.cpp: element i reads block (start + i / lanes), lane i % lanes,
// so a (seed, offset) pair gives the same tensor on both devices (randint and uniform bit for bit;
// normal to an ulp or two, as CUDA's log/sin/cos round differently from the C library's).
// Leaves out: other bit generators. One thread per Philox block.
#include "cuda/common.cuh"

namespace iris::cuda {

void use_device(Device d);  // runtime.cu

namespace {

constexpr double kTwoPi = 6.283185307179586476925;

// The device twin of tensor/random.h's philox_block(seed, index): counter {index lo, index hi, 0, 0},
// key {seed lo, seed hi}, ten rounds.
__host__ __device__ inline void philox_block_words(uint64_t seed, uint64_t index, uint32_t (&w)[4]) {
  constexpr uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
  constexpr uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;
  uint32_t c0 = static_cast<uint32_t>(index), c1 = static_cast<uint32_t>(index >> 32), c2 = 0u, c3 = 0u;
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    uint64_t p0 = static_cast<uint64_t>(kMul0) * c0;
    uint64_t p1 = static_cast<uint64_t>(kMul1) * c2;
    uint32_t hi0 = static_cast<uint32_t>(p0 >> 32), lo0 = static_cast<uint32_t>(p0);
    uint32_t hi1 = static_cast<uint32_t>(p1 >> 32), lo1 = static_cast<uint32_t>(p1);
    uint32_t n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
    c0 = n0;
    c1 = lo1;
    c2 = n2;
    c3 = lo0;
    k0 += kWeyl0;
    k1 += kWeyl1;
  }
  w[0] = c0;
  w[1] = c1;
  w[2] = c2;
  w[3] = c3;
}

// Twins of uniform_f32 / uniform_f64 in tensor/random.h (both exact: a power-of-two scaling).
__device__ __forceinline__ float uniform_f32_dev(uint32_t x) {
  return __fmul_rn(static_cast<float>(x >> 8), 1.0f / 16777216.0f);
}
__device__ __forceinline__ double uniform_f64_dev(uint32_t hi, uint32_t lo) {
  uint64_t bits = (static_cast<uint64_t>(hi) << 21) ^ (lo >> 11);
  return __dmul_rn(static_cast<double>(bits & ((1ULL << 53) - 1)), 1.0 / 9007199254740992.0);
}

// low + span * u without a fused multiply-add, so the rounding is the CPU's (x86-64 without FMA).
__device__ __forceinline__ double scale_shift(double low, double span, double u) {
  return __dadd_rn(low, __dmul_rn(span, u));
}

// ---- kernels: b runs over Philox blocks; block b fills elements [b * lanes, b * lanes + lanes) ------

__global__ void uniform_f32_kernel(float* out, int64_t n, int64_t blocks, double low, double span, uint64_t seed,
                                   uint64_t start) {
  IRIS_KERNEL_LOOP(b, blocks) {
    uint32_t w[4];
    philox_block_words(seed, start + static_cast<uint64_t>(b), w);
    const int64_t first = b * 4;
    for (int l = 0; l < 4; ++l)
      if (first + l < n) out[first + l] = static_cast<float>(scale_shift(low, span, uniform_f32_dev(w[l])));
  }
}

__global__ void uniform_f64_kernel(double* out, int64_t n, int64_t blocks, double low, double span, uint64_t seed,
                                   uint64_t start) {
  IRIS_KERNEL_LOOP(b, blocks) {
    uint32_t w[4];
    philox_block_words(seed, start + static_cast<uint64_t>(b), w);
    const int64_t first = b * 2;
    for (int l = 0; l < 2; ++l)
      if (first + l < n) out[first + l] = scale_shift(low, span, uniform_f64_dev(w[2 * l], w[2 * l + 1]));
  }
}

// f64: one Box-Muller pair per block (words 0-1 and 2-3 give u1, u2).
__global__ void normal_f64_kernel(double* out, int64_t n, int64_t blocks, double mean, double stddev, uint64_t seed,
                                  uint64_t start) {
  IRIS_KERNEL_LOOP(b, blocks) {
    uint32_t w[4];
    philox_block_words(seed, start + static_cast<uint64_t>(b), w);
    double u1 = __dsub_rn(1.0, uniform_f64_dev(w[0], w[1]));  // (0, 1]
    double u2 = uniform_f64_dev(w[2], w[3]);
    double r = ::sqrt(__dmul_rn(-2.0, ::log(u1)));
    double angle = __dmul_rn(kTwoPi, u2);
    double z[2] = {__dmul_rn(r, ::cos(angle)), __dmul_rn(r, ::sin(angle))};
    const int64_t first = b * 2;
    for (int l = 0; l < 2; ++l)
      if (first + l < n) out[first + l] = scale_shift(mean, stddev, z[l]);
  }
}

// f32: two Box-Muller pairs per block (words 0-1 and 2-3), computed in f32 as the CPU does.
__global__ void normal_f32_kernel(float* out, int64_t n, int64_t blocks, double mean, double stddev, uint64_t seed,
                                  uint64_t start) {
  IRIS_KERNEL_LOOP(b, blocks) {
    uint32_t w[4];
    philox_block_words(seed, start + static_cast<uint64_t>(b), w);
    float z[4];
    for (int pair = 0; pair < 2; ++pair) {
      float u1 = __fsub_rn(1.0f, uniform_f32_dev(w[2 * pair]));  // (0, 1]
      float u2 = uniform_f32_dev(w[2 * pair + 1]);
      float r = ::sqrtf(__fmul_rn(-2.0f, ::logf(u1)));
      float angle = __fmul_rn(static_cast<float>(kTwoPi), u2);
      z[2 * pair] = __fmul_rn(r, ::cosf(angle));
      z[2 * pair + 1] = __fmul_rn(r, ::sinf(angle));
    }
    const int64_t first = b * 4;
    for (int l = 0; l < 4; ++l)
      if (first + l < n) out[first + l] = static_cast<float>(scale_shift(mean, stddev, static_cast<double>(z[l])));
  }
}

__global__ void randint_i64_kernel(int64_t* out, int64_t n, int64_t blocks, int64_t low, uint64_t range, uint64_t seed,
                                   uint64_t start) {
  IRIS_KERNEL_LOOP(b, blocks) {
    uint32_t w[4];
    philox_block_words(seed, start + static_cast<uint64_t>(b), w);
    const int64_t first = b * 2;
    for (int l = 0; l < 2; ++l) {
      if (first + l >= n) break;
      uint64_t r = (static_cast<uint64_t>(w[2 * l]) << 32) | w[2 * l + 1];
      out[first + l] = low + static_cast<int64_t>(r % range);
    }
  }
}

__global__ void randint_i32_kernel(int32_t* out, int64_t n, int64_t blocks, int64_t low, uint64_t range, uint64_t seed,
                                   uint64_t start) {
  IRIS_KERNEL_LOOP(b, blocks) {
    uint32_t w[4];
    philox_block_words(seed, start + static_cast<uint64_t>(b), w);
    const int64_t first = b * 4;
    for (int l = 0; l < 4; ++l)
      if (first + l < n) out[first + l] = static_cast<int32_t>(low + static_cast<int64_t>(w[l] % range));
  }
}

// Philox blocks covering n elements of `lanes` per block.
int64_t blocks_of(int64_t n, int64_t lanes) { return (n + lanes - 1) / lanes; }

void check_out(const char* op, const Tensor& out) {
  check_on_gpu(op, {&out});
  use_device(out.device());
  IRIS_ASSERT(out.is_contiguous());
}

}  // namespace

void CudaBackend::uniform(const Tensor& out, double low, double high, uint64_t seed, uint64_t start) {
  check_out("uniform", out);
  const double span = high - low;
  const int64_t n = out.numel();
  if (out.dtype() == DType::f64) {
    if (n == 0) return;
    const int64_t blocks = blocks_of(n, 2);
    uniform_f64_kernel<<<blocks_for(blocks), kThreads, 0, stream()>>>(out.data<double>(), n, blocks, low, span, seed, start);
    IRIS_CUDA_LAUNCHED();
    return;
  }
  IRIS_CHECK(out.dtype() == DType::f32, "uniform: needs f32 or f64, got ", dtype_name(out.dtype()));
  if (n == 0) return;
  const int64_t blocks = blocks_of(n, 4);
  uniform_f32_kernel<<<blocks_for(blocks), kThreads, 0, stream()>>>(out.data<float>(), n, blocks, low, span, seed, start);
  IRIS_CUDA_LAUNCHED();
}

void CudaBackend::normal(const Tensor& out, double mean, double stddev, uint64_t seed, uint64_t start) {
  check_out("normal", out);
  const int64_t n = out.numel();
  if (out.dtype() == DType::f64) {
    if (n == 0) return;
    const int64_t blocks = blocks_of(n, 2);
    normal_f64_kernel<<<blocks_for(blocks), kThreads, 0, stream()>>>(out.data<double>(), n, blocks, mean, stddev, seed, start);
    IRIS_CUDA_LAUNCHED();
    return;
  }
  IRIS_CHECK(out.dtype() == DType::f32, "normal: needs f32 or f64, got ", dtype_name(out.dtype()));
  if (n == 0) return;
  const int64_t blocks = blocks_of(n, 4);
  normal_f32_kernel<<<blocks_for(blocks), kThreads, 0, stream()>>>(out.data<float>(), n, blocks, mean, stddev, seed, start);
  IRIS_CUDA_LAUNCHED();
}

void CudaBackend::randint(const Tensor& out, int64_t low, int64_t high, uint64_t seed, uint64_t start) {
  check_out("randint", out);
  IRIS_CHECK(high > low, "randint: high (", high, ") must be greater than low (", low, ")");
  const uint64_t range = static_cast<uint64_t>(high - low);
  const int64_t n = out.numel();
  if (out.dtype() == DType::i64) {
    if (n == 0) return;
    const int64_t blocks = blocks_of(n, 2);
    randint_i64_kernel<<<blocks_for(blocks), kThreads, 0, stream()>>>(out.data<int64_t>(), n, blocks, low, range, seed, start);
    IRIS_CUDA_LAUNCHED();
    return;
  }
  IRIS_CHECK(out.dtype() == DType::i32, "randint: needs i64 or i32, got ", dtype_name(out.dtype()));
  if (n == 0) return;
  const int64_t blocks = blocks_of(n, 4);
  randint_i32_kernel<<<blocks_for(blocks), kThreads, 0, stream()>>>(out.data<int32_t>(), n, blocks, low, range, seed, start);
  IRIS_CUDA_LAUNCHED();
}

}  // namespace iris::cuda
