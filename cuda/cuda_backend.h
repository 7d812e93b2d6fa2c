// The CUDA backend: the same kernel interface as tensor/cpu/, implemented with CUDA kernels and
// cuBLAS. One .cu file per kernel family implements a slice of the class below:
//   runtime.cu     device memory (caching allocator), stream, cuBLAS handle, registration, copy, fill
//   pinned.cu      page-locked host memory (caching allocator) for asynchronous host -> device copies
//   elementwise.cu unary (+ backward), binary, where
//   reduce.cu      reductions
//   softmax_norm.cu softmax, layer norm (forward and backward)
//   attention.cu   fused (flash-style) attention forward and backward
//   gemm.cu        matrix products through cuBLAS (row-major convention written there once)
//   conv.cu        im2col / col2im, depthwise convolution
//   pool.cu        max / avg / adaptive pooling, upsampling, roi_align
//   index.cu       index_select / index_add / gather / scatter_add
//   random.cu      Philox uniform / normal / randint (the same streams as the CPU)
//   optim.cu       fused AdamW
// Every kernel has a CPU twin and a test against it (tests/test_cuda_*.cpp).
// Apps and tools ask for devices through tensor/device_query.h, which forwards to the runtime below.
// Leaves out: f16 compute (bf16 computes only in gemm and attention, under autocast; elsewhere
// bf16/f16 are storage), multi-GPU training (one device per thread: cuda:N), CUDA graphs.
#pragma once

#include "tensor/backend.h"

#include <string>

#include <cuda_runtime.h>
#include <cublas_v2.h>

namespace iris::cuda {

class CudaBackend final : public Backend {
 public:
  void copy(const Tensor& src, const Tensor& dst) override;
  void fill(const Tensor& dst, double value) override;
  void unary(UnaryOp op, const Tensor& x, const Tensor& out, UnaryParams p) override;
  void unary_backward(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& grad_out, const Tensor& grad_in, UnaryParams p) override;
  void binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) override;
  void where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out) override;
  void reduce(ReduceOp op, const Tensor& x, uint32_t dim_mask, const Tensor& out) override;
  void gemm(const Tensor& a, const Tensor& b, const Tensor& c, double alpha, double beta, const Tensor& bias = Tensor()) override;
  void softmax(const Tensor& x, int dim, bool log, const Tensor& out) override;
  void softmax_backward(const Tensor& y, const Tensor& grad_out, int dim, bool log, const Tensor& grad_in) override;
  void layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, const Tensor& y, const Tensor& mean, const Tensor& rstd) override;
  void layer_norm_backward(const Tensor& grad_y, const Tensor& x, const Tensor& weight, const Tensor& mean, const Tensor& rstd, const Tensor& grad_x, const Tensor& grad_weight, const Tensor& grad_bias) override;
  void attention(const Tensor& q, const Tensor& k, const Tensor& v, double scale, bool causal, const Tensor& out, const Tensor& lse) override;
  void attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out, const Tensor& lse, const Tensor& grad_out, double scale, bool causal, const Tensor& grad_q, const Tensor& grad_k, const Tensor& grad_v) override;
  void im2col(const Tensor& x, const Conv2dGeometry& g, const Tensor& cols) override;
  void col2im(const Tensor& cols, const Conv2dGeometry& g, const Tensor& grad_x) override;
  void depthwise_conv2d(const Tensor& x, const Tensor& w, const Conv2dGeometry& g, const Tensor& out) override;
  void depthwise_conv2d_backward(const Tensor& grad_out, const Tensor& x, const Tensor& w, const Conv2dGeometry& g, const Tensor& grad_x, const Tensor& grad_w) override;
  void max_pool2d(const Tensor& x, const Pool2dGeometry& g, const Tensor& out, const Tensor& indices) override;
  void max_pool2d_backward(const Tensor& grad_out, const Tensor& indices, const Pool2dGeometry& g, const Tensor& grad_x) override;
  void avg_pool2d(const Tensor& x, const Pool2dGeometry& g, bool count_include_pad, const Tensor& out) override;
  void avg_pool2d_backward(const Tensor& grad_out, const Pool2dGeometry& g, bool count_include_pad, const Tensor& grad_x) override;
  void adaptive_avg_pool2d(const Tensor& x, const Tensor& out) override;
  void adaptive_avg_pool2d_backward(const Tensor& grad_out, const Tensor& grad_x) override;
  void upsample2d(const Tensor& x, int mode, bool align_corners, double scale_h, double scale_w, const Tensor& out) override;
  void upsample2d_backward(const Tensor& grad_out, int mode, bool align_corners, double scale_h, double scale_w, const Tensor& grad_x) override;
  void roi_align(const Tensor& x, const Tensor& boxes, const RoiAlignParams& p, const Tensor& out) override;
  void roi_align_backward(const Tensor& grad_out, const Tensor& boxes, const RoiAlignParams& p, const Tensor& grad_x) override;
  void index_select(const Tensor& x, int dim, const Tensor& index, const Tensor& out) override;
  void index_add(const Tensor& target, int dim, const Tensor& index, const Tensor& src) override;
  void gather(const Tensor& x, int dim, const Tensor& index, const Tensor& out) override;
  void scatter_add(const Tensor& target, int dim, const Tensor& index, const Tensor& src) override;
  void uniform(const Tensor& out, double low, double high, uint64_t seed, uint64_t start) override;
  void normal(const Tensor& out, double mean, double stddev, uint64_t seed, uint64_t start) override;
  void randint(const Tensor& out, int64_t low, int64_t high, uint64_t seed, uint64_t start) override;
  void adamw_step(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq, const AdamWParams& p) override;
};

// ---- runtime (runtime.cu) --------------------------------------------------------------------
bool available();                 // a CUDA device is present and usable
int device_count();               // never throws (0 without a driver or a device)
std::string device_name(int index);  // the driver's name for cuda:index; throws as set_device does
void set_device(int index);       // selects the device for the calling thread (cuda:N)
cudaStream_t stream();            // the stream every kernel of the current device runs on
cublasHandle_t cublas();          // bound to stream()
void synchronize();               // waits for stream(); rethrows asynchronous kernel errors
// Registers the backend and allocator with the engine; called once, lazily, by tensor/ when a
// CUDA device is first used (static registration would be dropped by the static-library linker).
void register_cuda();

// Device memory statistics of the caching allocator (tests and benchmarks).
struct CudaAllocatorStats {
  int64_t allocations = 0, cache_hits = 0, device_mallocs = 0, bytes_in_use = 0, peak_bytes_in_use = 0,
          bytes_cached = 0;
};
CudaAllocatorStats allocator_stats();
void empty_cache();

// ---- pinned host memory (pinned.cu) ----------------------------------------------------------
// A caching allocator of page-locked host blocks (cudaHostAlloc, portable to every device), cached
// by size class like device memory; register_cuda registers it with the engine, which hands it out
// through empty_pinned / pin_memory (tensor/tensor.h).
Allocator& pinned_host_allocator();
// After enqueueing a transfer on `stream` that reads the pinned block starting at `block` (a
// Storage's data()): the block is not handed out again until the transfer has run. False when
// `block` is not a live pinned block (or the event failed): the caller must then wait itself.
bool record_pinned_read(const void* block, cudaStream_t stream);
struct PinnedAllocatorStats {
  int64_t allocations = 0, cache_hits = 0, host_allocs = 0,  // host_allocs: calls to cudaHostAlloc
          bytes_in_use = 0, peak_bytes_in_use = 0,
          bytes_cached = 0,      // freed blocks, including those still read by a transfer
          blocks_waiting = 0;    // freed blocks a transfer may still read (not reusable yet)
};
PinnedAllocatorStats pinned_allocator_stats();
void pinned_empty_cache();  // frees every cached block (first waits for transfers still reading one)

}  // namespace iris::cuda
