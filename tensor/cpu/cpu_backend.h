// The CPU backend: our packed sgemm for f32 matrix products (Eigen for f64 and for CPUs without its
// micro-kernel, see gemm.cpp), OpenMP loops for the rest.
// Its kernels are spread over tensor/cpu/*.cpp by family; this header only lists them.
#pragma once

#include "tensor/backend.h"

namespace iris::cpu {

class CpuBackend final : public Backend {
 public:
  bool supports(Kernel k, DType dt) const override;  // gemm.cpp
  void copy(const Tensor& src, const Tensor& dst) override;
  void fill(const Tensor& dst, double value) override;
  void unary(UnaryOp op, const Tensor& x, const Tensor& out, UnaryParams p) override;
  void unary_backward(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& grad_out, const Tensor& grad_in, UnaryParams p) override;
  void binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) override;
  void where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out) override;
  void reduce(ReduceOp op, const Tensor& x, uint32_t dim_mask, const Tensor& out) override;
  void gemm(const Tensor& a, const Tensor& b, const Tensor& c, double alpha, double beta, const Tensor& bias = Tensor()) override;
  bool gemm_row_sums(const Tensor& a, const Tensor& b, const Tensor& c, const Tensor& sums) override;
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
  void depthwise_conv2d_nhwc(const Tensor& x, const Tensor& w, const Tensor& bias, int64_t ph, int64_t pw, const Tensor& out) override;
  void depthwise_conv2d_nhwc_backward(const Tensor& grad_out, const Tensor& x, const Tensor& w, int64_t ph, int64_t pw, const Tensor& grad_x, const Tensor& grad_w, const Tensor& grad_bias) override;
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

// A bf16 operand of a mixed-precision (autocast) kernel as a contiguous f32 tensor of its shape:
// the CPU runs autocast's products in f32 on these, which is exact (every bf16 value is an f32
// value, and so is the product of two), so the result is what a bf16 GEMM with f32 accumulation gives.
Tensor widened_bf16(CpuBackend& be, const Tensor& t);

}  // namespace iris::cpu
