// The kernel interface: every computation the engine runs goes through one of these methods.
// Each kernel is declared once here and implemented twice, in tensor/cpu/ and in cuda/; ops pick
// the implementation with backend(device), the one place that dispatches on the device.
// Kernels know nothing of autograd. They receive outputs already allocated by the op; unless a
// comment says otherwise an output is contiguous and inputs may have any strides.
// Letters in shape comments: N batch, C channels, H/W height/width, R rows, D normalised size.
#pragma once

#include <cstdint>

#include "tensor/tensor.h"

namespace iris {

enum class UnaryOp {
  neg, abs, sign, square, reciprocal, exp, log, log1p, sqrt, rsqrt, sin, cos, tanh, sigmoid, relu,
  gelu,        // x * Phi(x), the erf form
  gelu_tanh,   // the tanh approximation
  quick_gelu,  // x * sigmoid(1.702 x) (CLIP)
  silu, erf, floor, ceil, round, logical_not,
  leaky_relu,  // a = negative slope
  softplus,    // a = beta, b = threshold
  clamp,       // a = min, b = max (use +-inf for a missing bound)
  pow_scalar,  // a = exponent
  affine,      // x * a + b
};
struct UnaryParams {
  double a = 0, b = 0;
};

enum class BinaryOp {
  add, sub, mul, div, pow, maximum, minimum,          // arithmetic: out has the inputs' dtype
  eq, ne, lt, le, gt, ge, logical_and, logical_or,    // predicates: out is bool
};
inline bool is_predicate(BinaryOp op) { return op >= BinaryOp::eq; }

enum class ReduceOp { sum, prod, max, min, argmax, argmin, any, all };

struct Conv2dGeometry {
  int64_t N, C, H, W;       // input
  int64_t kh, kw;           // kernel
  int64_t sh, sw, ph, pw, dh, dw;
  int64_t Ho, Wo;           // output
};

struct Pool2dGeometry {
  int64_t N, C, H, W, kh, kw, sh, sw, ph, pw, dh, dw, Ho, Wo;
};

struct RoiAlignParams {
  int64_t out_h, out_w;
  double spatial_scale;
  int64_t sampling_ratio;  // <= 0: adaptive, ceil(roi size / output size)
  bool aligned;            // shift box corners by -0.5 pixel (torchvision aligned=True)
};

struct AdamWParams {
  double lr, beta1, beta2, eps, weight_decay;
  int64_t step;  // 1-based, for bias correction
};

// The optional kernels: a backend may lack them (or lack them for a dtype); ops ask
// Backend::supports first and otherwise compose the same result from required kernels.
enum class Kernel {
  gemm_row_sums,          // gemm_row_sums: a product and its row sums in one pass (linear's backward)
  attention_views,        // attention / attention_backward read strided [B, H, rows, cols] views
  depthwise_conv2d_nhwc,  // depthwise_conv2d_nhwc (+ backward): channels-last depthwise convolution
};

class Backend {
 public:
  virtual ~Backend() = default;

  // Whether this backend has optional kernel k for operands of dtype dt (the one capability
  // query; the comments at each kernel say what the composed fallback is). The default: none.
  virtual bool supports(Kernel /*k*/, DType /*dt*/) const { return false; }

  // ---- memory and elementwise --------------------------------------------------------------
  // dst <- src (same shape; any strides on both sides; converts dtype).
  virtual void copy(const Tensor& src, const Tensor& dst) = 0;
  virtual void fill(const Tensor& dst, double value) = 0;  // dst may be strided
  virtual void unary(UnaryOp op, const Tensor& x, const Tensor& out, UnaryParams p) = 0;
  // grad_in = grad_out * f'(x); y = f(x) is passed for ops whose derivative reuses it.
  virtual void unary_backward(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& grad_out,
                              const Tensor& grad_in, UnaryParams p) = 0;
  // a, b already expanded to out's shape (stride 0 where broadcast) and of one dtype.
  // out may be strided (in-place ops write through views).
  virtual void binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) = 0;
  virtual void where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out) = 0;

  // ---- reductions --------------------------------------------------------------------------
  // out has x's shape with the dims in dim_mask (bit d = dim d) set to 1. argmax/argmin write
  // i64 indices into the flattened reduced sub-space and need exactly one reduced dim.
  virtual void reduce(ReduceOp op, const Tensor& x, uint32_t dim_mask, const Tensor& out) = 0;

  // ---- matrix products ---------------------------------------------------------------------
  // c[i] = alpha * a[i] @ b[i] + beta * c[i] (+ bias added to every row) for each batch index i.
  // a: [B, M, K], b: [B, K, N], c: [B, M, N], bias: [N] or undefined (fused into the product's
  // write-back: the linear layer's forward is one pass). Each matrix of a and b has a unit stride
  // in one of its two dims (row- or column-major; transposes arrive as strides, never as copies);
  // batch strides may be 0 (broadcast). c and bias are contiguous. a, b and c share c's dtype,
  // except under autocast (autograd/autocast.h): a and b bf16, c and bias f32, f32 accumulation.
  virtual void gemm(const Tensor& a, const Tensor& b, const Tensor& c, double alpha, double beta,
                    const Tensor& bias = Tensor()) = 0;
  // One product c = a @ b (batch 1, shapes as gemm) that also writes sums [M] = a summed over K,
  // in the same pass over a: a linear layer's weight and bias gradients (a = dY^T) without a second
  // trip through dY. Optional (Kernel::gemm_row_sums; supports() says whether a dtype has it at all,
  // so a caller can skip making its outputs). Returns false, touching nothing, when this backend has
  // no such form for these operands; the caller then runs gemm and a sum.
  virtual bool gemm_row_sums(const Tensor& a, const Tensor& b, const Tensor& c, const Tensor& sums) {
    return false;
  }

  // ---- normalisation and softmax (contiguous inputs) ---------------------------------------
  // x viewed as [outer, D, inner], softmax over D. log selects log_softmax.
  virtual void softmax(const Tensor& x, int dim, bool log, const Tensor& out) = 0;
  virtual void softmax_backward(const Tensor& y, const Tensor& grad_out, int dim, bool log,
                                const Tensor& grad_in) = 0;
  // x: [R, D]; weight/bias: [D] or undefined; mean/rstd: [R] f32/f64 like x.
  virtual void layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps,
                          const Tensor& y, const Tensor& mean, const Tensor& rstd) = 0;
  // grad_weight / grad_bias may be undefined (not wanted).
  virtual void layer_norm_backward(const Tensor& grad_y, const Tensor& x, const Tensor& weight,
                                   const Tensor& mean, const Tensor& rstd, const Tensor& grad_x,
                                   const Tensor& grad_weight, const Tensor& grad_bias) = 0;

  // ---- fused attention (no mask, bias or dropout) -------------------------------------------
  // out = softmax(scale q k^T [causal]) v per batch index, without materialising the [L, S] scores:
  // q [B, L, E], k [B, S, E], v [B, S, Ev] -> out [B, L, Ev]; lse [B, L] (contiguous) receives each
  // score row's logsumexp, from which the backward recomputes the probabilities. causal: key j <=
  // query i. Operands are contiguous, unless supports(Kernel::attention_views, q's dtype): then q, k,
  // v, out and the gradients may also be [B, H, rows, cols] (lse [B, H, L]) views with unit stride in
  // the last dim and any other strides, so heads are read from and written to their packed layouts
  // in place. Under autocast q, k and v are bf16 and everything else (out, lse, gradients) f32.
  virtual void attention(const Tensor& q, const Tensor& k, const Tensor& v, double scale, bool causal,
                         const Tensor& out, const Tensor& lse) = 0;
  // Writes (overwrites) grad_q, grad_k, grad_v.
  virtual void attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                                  const Tensor& lse, const Tensor& grad_out, double scale, bool causal,
                                  const Tensor& grad_q, const Tensor& grad_k, const Tensor& grad_v) = 0;

  // ---- convolution (contiguous NCHW) -------------------------------------------------------
  // cols: [N, C*kh*kw, Ho*Wo] from x: [N, C, H, W] (zero padding).
  virtual void im2col(const Tensor& x, const Conv2dGeometry& g, const Tensor& cols) = 0;
  // grad_x (zeroed by the caller) += the scatter of cols back into image positions.
  virtual void col2im(const Tensor& cols, const Conv2dGeometry& g, const Tensor& grad_x) = 0;
  // Depthwise: x [N, C, H, W], w [C*m, 1, kh, kw] (m = channel multiplier), out [N, C*m, Ho, Wo].
  virtual void depthwise_conv2d(const Tensor& x, const Tensor& w, const Conv2dGeometry& g,
                                const Tensor& out) = 0;
  // grad_x / grad_w may be undefined; both are overwritten.
  virtual void depthwise_conv2d_backward(const Tensor& grad_out, const Tensor& x, const Tensor& w,
                                         const Conv2dGeometry& g, const Tensor& grad_x,
                                         const Tensor& grad_w) = 0;
  // Channels-last depthwise (groups == C), stride 1, dilation 1, zero padding (ph, pw); contiguous
  // x [N, H, W, C], w [C, 1, kh, kw], bias [C] or undefined, out [N, Ho, Wo, C]. Optional
  // (Kernel::depthwise_conv2d_nhwc): without it the op permutes to NCHW and calls conv2d instead.
  virtual void depthwise_conv2d_nhwc(const Tensor& /*x*/, const Tensor& /*w*/, const Tensor& /*bias*/,
                                     int64_t /*ph*/, int64_t /*pw*/, const Tensor& /*out*/) {
    throw Error("depthwise_conv2d_nhwc: this backend has no channels-last depthwise kernel");
  }
  // grad_out [N, Ho, Wo, C] -> grad_x [N, H, W, C], grad_w [C, 1, kh, kw], grad_bias [C]; each may be
  // undefined (not wanted); the defined ones are overwritten. x's values are read for grad_w only.
  virtual void depthwise_conv2d_nhwc_backward(const Tensor& /*grad_out*/, const Tensor& /*x*/, const Tensor& /*w*/,
                                              int64_t /*ph*/, int64_t /*pw*/, const Tensor& /*grad_x*/,
                                              const Tensor& /*grad_w*/, const Tensor& /*grad_bias*/) {
    throw Error("depthwise_conv2d_nhwc_backward: this backend has no channels-last depthwise kernel");
  }

  // ---- pooling and resampling (contiguous NCHW) --------------------------------------------
  // indices: i64 [N, C, Ho, Wo], flat position h*W+w of the max inside its channel plane.
  virtual void max_pool2d(const Tensor& x, const Pool2dGeometry& g, const Tensor& out,
                          const Tensor& indices) = 0;
  virtual void max_pool2d_backward(const Tensor& grad_out, const Tensor& indices, const Pool2dGeometry& g,
                                   const Tensor& grad_x) = 0;
  virtual void avg_pool2d(const Tensor& x, const Pool2dGeometry& g, bool count_include_pad,
                          const Tensor& out) = 0;
  virtual void avg_pool2d_backward(const Tensor& grad_out, const Pool2dGeometry& g, bool count_include_pad,
                                   const Tensor& grad_x) = 0;
  // PyTorch's adaptive windows: start = floor(i*H/Ho), end = ceil((i+1)*H/Ho).
  virtual void adaptive_avg_pool2d(const Tensor& x, const Tensor& out) = 0;
  virtual void adaptive_avg_pool2d_backward(const Tensor& grad_out, const Tensor& grad_x) = 0;
  // mode 0 nearest (PyTorch 'nearest': src = floor(dst * in/out)), 1 bilinear.
  // scale_h/scale_w > 0 override in/out in the coordinate map (PyTorch's scale_factor path).
  virtual void upsample2d(const Tensor& x, int mode, bool align_corners, double scale_h, double scale_w,
                          const Tensor& out) = 0;
  virtual void upsample2d_backward(const Tensor& grad_out, int mode, bool align_corners, double scale_h,
                                   double scale_w, const Tensor& grad_x) = 0;
  // x: [N, C, H, W]; boxes: [K, 5] rows (batch index, x1, y1, x2, y2); out: [K, C, out_h, out_w].
  virtual void roi_align(const Tensor& x, const Tensor& boxes, const RoiAlignParams& p, const Tensor& out) = 0;
  virtual void roi_align_backward(const Tensor& grad_out, const Tensor& boxes, const RoiAlignParams& p,
                                  const Tensor& grad_x) = 0;

  // ---- indexing (contiguous x/out; index i32/i64) ------------------------------------------
  // out = x.index_select(dim, index); out has x's shape with size(dim) = index.numel().
  virtual void index_select(const Tensor& x, int dim, const Tensor& index, const Tensor& out) = 0;
  // target.index_select(dim, index) += src (duplicates accumulate).
  virtual void index_add(const Tensor& target, int dim, const Tensor& index, const Tensor& src) = 0;
  // out[i][j][k] = x[i][index[i][j][k]][k] (dim = 1 shown); index has out's shape.
  virtual void gather(const Tensor& x, int dim, const Tensor& index, const Tensor& out) = 0;
  // target[i][index[i][j][k]][k] += src[i][j][k] (dim = 1 shown).
  virtual void scatter_add(const Tensor& target, int dim, const Tensor& index, const Tensor& src) = 0;

  // ---- randomness (Philox; element i uses block start + i / lanes) -------------------------
  virtual void uniform(const Tensor& out, double low, double high, uint64_t seed, uint64_t start) = 0;
  virtual void normal(const Tensor& out, double mean, double stddev, uint64_t seed, uint64_t start) = 0;
  virtual void randint(const Tensor& out, int64_t low, int64_t high, uint64_t seed, uint64_t start) = 0;

  // ---- optimisers --------------------------------------------------------------------------
  // One fused AdamW step over contiguous tensors of one size (decoupled weight decay).
  virtual void adamw_step(const Tensor& param, const Tensor& grad, const Tensor& exp_avg,
                          const Tensor& exp_avg_sq, const AdamWParams& p) = 0;
};

// The backend for a device; throws when the device has none in this build.
Backend& backend(Device d);
void register_backend(DeviceType type, Backend* b);  // the CUDA backend registers itself

// How many elements one 128-bit Philox block serves: 2 for 8-byte dtypes, else 4.
inline uint64_t philox_lanes(DType dt) { return dtype_size(dt) == 8 ? 2 : 4; }

}  // namespace iris
