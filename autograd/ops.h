// Every differentiable op of iris, by family. Each is implemented in autograd/<family>.cpp with
// its forward (through the kernels of tensor/backend.h) and its backward side by side.
// Conventions: dims may be negative; binary ops broadcast as NumPy does and promote dtypes
// (bool < u8 < i32 < i64 < f32 < f64; a 0-d tensor or a double takes the other side's dtype);
// errors are iris::Error naming the op, the shapes and a fix.
// Shape letters: N batch, C channels, H/W spatial, L query tokens, S key tokens, E embedding.
#pragma once

#include <array>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "autograd/node.h"
#include "tensor/grad_mode.h"
#include "tensor/tensor.h"

namespace iris {

// ---- elementwise (autograd/elementwise.cpp) -----------------------------------------------
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, const Tensor& b);  // gradient w.r.t. b needs a > 0
Tensor maximum(const Tensor& a, const Tensor& b);  // ties send the gradient half to each side
Tensor minimum(const Tensor& a, const Tensor& b);
Tensor add(const Tensor& a, double b);
Tensor sub(const Tensor& a, double b);
Tensor mul(const Tensor& a, double b);
Tensor div(const Tensor& a, double b);
Tensor pow(const Tensor& a, double exponent);
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);  // cond: bool, broadcasts
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value);  // x where !mask, else value
Tensor clamp(const Tensor& x, double min = -INFINITY, double max = INFINITY);

Tensor neg(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor square(const Tensor& x);
Tensor reciprocal(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor log1p(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor rsqrt(const Tensor& x);
Tensor sin(const Tensor& x);
Tensor cos(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor relu(const Tensor& x);
Tensor leaky_relu(const Tensor& x, double negative_slope = 0.01);
enum class GeluApprox { none, tanh };
Tensor gelu(const Tensor& x, GeluApprox approximate = GeluApprox::none);
Tensor quick_gelu(const Tensor& x);  // x * sigmoid(1.702 x), as in CLIP
Tensor silu(const Tensor& x);
Tensor softplus(const Tensor& x, double beta = 1.0, double threshold = 20.0);
Tensor erf(const Tensor& x);
// Not differentiable (zero gradient is meaningless or undefined): results never require grad.
Tensor sign(const Tensor& x);
Tensor floor(const Tensor& x);
Tensor ceil(const Tensor& x);
Tensor round(const Tensor& x);

// Comparisons and logic: bool results, no gradient.
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor eq(const Tensor& a, double b);
Tensor ne(const Tensor& a, double b);
Tensor lt(const Tensor& a, double b);
Tensor le(const Tensor& a, double b);
Tensor gt(const Tensor& a, double b);
Tensor ge(const Tensor& a, double b);
Tensor logical_and(const Tensor& a, const Tensor& b);
Tensor logical_or(const Tensor& a, const Tensor& b);
Tensor logical_not(const Tensor& x);

Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator+(const Tensor& a, double b);
Tensor operator-(const Tensor& a, double b);
Tensor operator*(const Tensor& a, double b);
Tensor operator/(const Tensor& a, double b);
Tensor operator+(double a, const Tensor& b);
Tensor operator-(double a, const Tensor& b);
Tensor operator*(double a, const Tensor& b);
Tensor operator/(double a, const Tensor& b);
Tensor operator-(const Tensor& x);

// Sums `grad` over broadcast dims so it has `shape` (the backward of broadcasting).
Tensor sum_to(const Tensor& grad, const Shape& shape);

// ---- reductions (autograd/reduce.cpp) ------------------------------------------------------
// An empty `dims` list reduces over every dim.
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor var(const Tensor& x, const std::vector<int64_t>& dims = {}, bool unbiased = true, bool keepdim = false);
// Named stddev, not std: a function called std would clash with namespace std under `using namespace iris`.
Tensor stddev(const Tensor& x, const std::vector<int64_t>& dims = {}, bool unbiased = true, bool keepdim = false);
Tensor amax(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);  // ties share
Tensor amin(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor logsumexp(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim = false);
Tensor norm(const Tensor& x, double p = 2.0, const std::vector<int64_t>& dims = {}, bool keepdim = false);
struct ValuesIndices {
  Tensor values, indices;  // indices: i64
};
ValuesIndices max(const Tensor& x, int64_t dim, bool keepdim = false);  // gradient to the argmax
ValuesIndices min(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor max(const Tensor& x);  // over all elements
Tensor min(const Tensor& x);
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor argmin(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor argmax(const Tensor& x);  // index into the flattened tensor
Tensor any(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor all(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);

// ---- linear algebra (autograd/linalg.cpp) --------------------------------------------------
// NumPy matmul: 1-D operands are promoted and the added dim removed; batch dims broadcast.
Tensor matmul(const Tensor& a, const Tensor& b);
Tensor bmm(const Tensor& a, const Tensor& b);  // [B, M, K] x [B, K, N]
// x: [..., in], weight: [out, in], bias: [out] or undefined -> [..., out]
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

// ---- shape (autograd/views.cpp, autograd/shape.cpp) ----------------------------------------
Tensor cat(const std::vector<Tensor>& xs, int64_t dim = 0);
Tensor stack(const std::vector<Tensor>& xs, int64_t dim = 0);
std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim = 0);
std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim = 0);
std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim = 0);
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);
// x with src added at index along dim (out of place; x itself is unchanged).
Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);
// weight: [V, E], indices: any shape of i64/i32 -> [..., E]
Tensor embedding(const Tensor& weight, const Tensor& indices);
Tensor repeat(const Tensor& x, const Shape& repeats);
Tensor flip(const Tensor& x, const std::vector<int64_t>& dims);
enum class PadMode { constant, reflect };
// pads: (before, after) pairs starting from the LAST dim, as torch.nn.functional.pad.
Tensor pad(const Tensor& x, const std::vector<int64_t>& pads, PadMode mode = PadMode::constant, double value = 0.0);
Tensor roll(const Tensor& x, const std::vector<int64_t>& shifts, const std::vector<int64_t>& dims);

// ---- neural-network ops --------------------------------------------------------------------
// A pair of sizes that also accepts one number: Size2(3) == Size2(3, 3).
struct Size2 {
  int64_t h, w;
  Size2(int64_t v) : h(v), w(v) {}  // NOLINT
  Size2(int64_t a, int64_t b) : h(a), w(b) {}
};

// autograd/softmax.cpp
Tensor softmax(const Tensor& x, int64_t dim = -1);
Tensor log_softmax(const Tensor& x, int64_t dim = -1);

// autograd/norm.cpp. weight/bias may be undefined.
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight = Tensor(),
                  const Tensor& bias = Tensor(), double eps = 1e-5);
// x: [N, C, ...]. In training, batch statistics are used and running_mean/var (if defined) are
// updated in place with `momentum` (unbiased variance, as PyTorch); in eval, the running ones.
Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight, const Tensor& bias, bool training, double momentum = 0.1,
                  double eps = 1e-5);
Tensor group_norm(const Tensor& x, int64_t groups, const Tensor& weight = Tensor(), const Tensor& bias = Tensor(),
                  double eps = 1e-5);
// Zeroes each element with probability p and scales the rest by 1/(1-p); identity when !training.
Tensor dropout(const Tensor& x, double p, bool training = true, Generator* gen = nullptr);

// autograd/conv.cpp. x: [N, C, H, W]; weight: [Cout, C/groups, kh, kw]; bias: [Cout] or undefined.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(), Size2 stride = 1,
              Size2 padding = 0, Size2 dilation = 1, int64_t groups = 1);
// weight: [C, Cout/groups, kh, kw] (PyTorch's layout for transposed convolution).
Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(), Size2 stride = 1,
                        Size2 padding = 0, Size2 output_padding = 0, int64_t groups = 1, Size2 dilation = 1);
// autograd/depthwise_nhwc.cpp. Channels-last depthwise conv, stride 1: x [N, H, W, C], weight
// [C, 1, kh, kw] (an nn::Conv2d's with groups = C), bias [C] or undefined -> [N, Ho, Wo, C].
// Equals conv2d(x.permute({0, 3, 1, 2}), weight, bias, 1, padding, 1, C).permute({0, 2, 3, 1})
// without the permute copies (one fused kernel where the backend has it).
Tensor depthwise_conv2d_nhwc(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(), Size2 padding = 0);

// autograd/pool.cpp. stride defaults to the kernel size (pass 0).
Tensor max_pool2d(const Tensor& x, Size2 kernel, Size2 stride = 0, Size2 padding = 0, Size2 dilation = 1,
                  bool ceil_mode = false);
Tensor avg_pool2d(const Tensor& x, Size2 kernel, Size2 stride = 0, Size2 padding = 0, bool ceil_mode = false,
                  bool count_include_pad = true);
Tensor adaptive_avg_pool2d(const Tensor& x, Size2 output_size);

// autograd/resample.cpp. To an output size (h, w > 0), or by a scale factor (> 0) with PyTorch's
// scale_factor semantics; two names, so interpolate(x, 2) cannot silently mean a scale.
enum class InterpMode { nearest, bilinear };
Tensor interpolate(const Tensor& x, Size2 size, InterpMode mode = InterpMode::nearest, bool align_corners = false);
Tensor interpolate_by_scale(const Tensor& x, double scale_factor, InterpMode mode = InterpMode::nearest,
                            bool align_corners = false);
// As torchvision.ops.roi_align. boxes: [K, 5] (batch index, x1, y1, x2, y2) -> [K, C, oh, ow].
// Differentiable w.r.t. x only.
Tensor roi_align(const Tensor& x, const Tensor& boxes, Size2 output_size, double spatial_scale = 1.0,
                 int64_t sampling_ratio = -1, bool aligned = false);

// autograd/attention.cpp. q: [..., L, E], k: [..., S, E], v: [..., S, Ev] -> [..., L, Ev].
// mask: bool, broadcastable to [..., L, S], true = may attend. bias: additive, broadcastable.
// scale defaults to 1/sqrt(E).
struct AttentionOptions {
  Tensor mask;
  Tensor bias;
  bool causal = false;
  double dropout_p = 0.0;
  Generator* generator = nullptr;
  double scale = 0.0;  // 0: 1/sqrt(E)
};
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const AttentionOptions& opts = {});
// Multi-head self-attention straight from a fused QKV projection, as timm's ViT lays it out:
// qkv [B, N, 3 * D] read as [B, N, 3, heads, D / heads] -> out [B, N, D] with the heads merged
// ([B, N, heads, D / heads]), ready for the output projection. Equal to splitting, permuting,
// calling scaled_dot_product_attention and merging, which it does itself where the backend cannot
// take strided views or opts has a mask, bias or dropout; otherwise one fused node reads q, k, v
// in place and its backward writes the gradient of qkv directly (no permute copies, no zeros).
Tensor packed_qkv_attention(const Tensor& qkv, int64_t heads, const AttentionOptions& opts = {});
// Channel (transposed) attention from a fused projection, as DaViT's channel block computes it:
// qkv [B, N, 3C] read as [B, N, 3, groups, C / groups]; in each group the C / groups channels are
// the tokens and the N positions their features: with Q, K, V the parts parts[0], parts[1],
// parts[2] of the last dim, each as [B, groups, Cg, N], out = attention(Q, K, V) [B, G, Cg, N]
// returned as [B, N, C]. Equal to that composition (which it runs where the backend cannot take
// views, or with a mask, bias or dropout); otherwise one node: qkv is transposed once to
// [B, 3C, N], where every group's operands are unit-stride views, and the backward writes the qkv
// gradient in one buffer (the composed form zero-fills three full-size buffers and adds them).
Tensor packed_qkv_channel_attention(const Tensor& qkv, int64_t groups, const AttentionOptions& opts = {},
                                    std::array<int, 3> parts = {0, 1, 2});
// The multi-head layout, written once for every attention (views where the strides allow, as
// reshape does): split_heads [B, N, H * D] -> [B, H, N, D]; merge_heads [B, H, N, D] -> [B, N, H * D];
// split_packed_qkv: a fused QKV projection [B, N, 3 * H * D] (timm's layout, [B, N, 3, H, D]) ->
// {q, k, v}, each [B, H, N, D].
Tensor split_heads(const Tensor& x, int64_t heads);
Tensor merge_heads(const Tensor& x);
std::array<Tensor, 3> split_packed_qkv(const Tensor& qkv, int64_t heads);

// ---- losses as ops (autograd/losses.cpp) ---------------------------------------------------
enum class Reduction { none, mean, sum };
struct CrossEntropyOptions {
  Reduction reduction = Reduction::mean;
  int64_t ignore_index = -100;   // class-index targets equal to this are skipped
  double label_smoothing = 0.0;
  Tensor weight;                 // [C] per-class weights, optional
};
// logits: [N, C] or [N, C, d1, ...]; target: class indices [N, ...] (i64/i32) or probabilities of
// logits' shape (soft targets).
Tensor cross_entropy(const Tensor& logits, const Tensor& target, const CrossEntropyOptions& opts = {});
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target,
                                        const Tensor& pos_weight = Tensor(), Reduction reduction = Reduction::mean);
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::mean);
Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::mean);
Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, double beta = 1.0,
                      Reduction reduction = Reduction::mean);
// input: log-probabilities; target: probabilities, or log-probabilities when log_target.
// Reduction::mean averages over all elements, as PyTorch's 'mean'; use batchmean by dividing a sum.
Tensor kl_div(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::mean,
              bool log_target = false);
Tensor cosine_similarity(const Tensor& a, const Tensor& b, int64_t dim = 1, double eps = 1e-8);
// x / max(||x||_p, eps) along dim.
Tensor normalize(const Tensor& x, double p = 2.0, int64_t dim = -1, double eps = 1e-12);

}  // namespace iris
