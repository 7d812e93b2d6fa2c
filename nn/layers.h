// The standard layers, with PyTorch's parameter names and default initialisation:
// Linear, Conv2d, LayerNorm, BatchNorm2d, GroupNorm, Embedding, Dropout, DropPath, activations,
// Identity, Mlp (timm: fc1, act, fc2) and MultiheadAttention (PyTorch: in_proj_weight,
// in_proj_bias, out_proj; batch first). Each forward is a few calls to autograd/ops.h.
// Leaves out: recurrent layers, transposed-conv modules, pooling modules (use the ops directly).
#pragma once

#include "nn/module.h"

namespace iris::nn {

class Linear : public Module {
 public:
  // weight [out, in] and bias [out] ~ U(-1/sqrt(in), 1/sqrt(in)), as PyTorch.
  Linear(int64_t in_features, int64_t out_features, bool bias = true, Generator* gen = nullptr);
  Tensor forward(const Tensor& x) override;  // [..., in] -> [..., out]
  Tensor weight, bias;
  int64_t in_features, out_features;
};

class Conv2d : public Module {
 public:
  Conv2d(int64_t in_channels, int64_t out_channels, Size2 kernel, Size2 stride = 1, Size2 padding = 0,
         Size2 dilation = 1, int64_t groups = 1, bool bias = true, Generator* gen = nullptr);
  Tensor forward(const Tensor& x) override;  // [N, C, H, W] -> [N, out, Ho, Wo]
  Tensor weight, bias;                       // [out, in/groups, kh, kw], [out]
  Size2 stride, padding, dilation;
  int64_t groups;
};

class LayerNorm : public Module {
 public:
  explicit LayerNorm(Shape normalized_shape, double eps = 1e-5, bool affine = true);
  explicit LayerNorm(int64_t dim, double eps = 1e-5, bool affine = true) : LayerNorm(Shape{dim}, eps, affine) {}
  Tensor forward(const Tensor& x) override;
  Tensor weight, bias;
  Shape normalized_shape;
  double eps;
};

class BatchNorm2d : public Module {
 public:
  explicit BatchNorm2d(int64_t channels, double eps = 1e-5, double momentum = 0.1, bool affine = true);
  Tensor forward(const Tensor& x) override;  // [N, C, H, W]
  Tensor weight, bias, running_mean, running_var, num_batches_tracked;
  double eps, momentum;
};

class GroupNorm : public Module {
 public:
  GroupNorm(int64_t groups, int64_t channels, double eps = 1e-5, bool affine = true);
  Tensor forward(const Tensor& x) override;
  Tensor weight, bias;
  int64_t groups;
  double eps;
};

class Embedding : public Module {
 public:
  Embedding(int64_t num_embeddings, int64_t dim, Generator* gen = nullptr);  // weight ~ N(0, 1)
  Tensor forward(const Tensor& indices) override;                            // [...] -> [..., dim]
  Tensor weight;
};

class Dropout : public Module {
 public:
  explicit Dropout(double p = 0.5, Generator* gen = nullptr);
  Tensor forward(const Tensor& x) override;  // identity in eval mode
  double p;
  Generator* gen;
};

// Stochastic depth: drops a whole residual branch per sample with probability p (training only),
// scaling the kept ones by 1/(1-p).
class DropPath : public Module {
 public:
  explicit DropPath(double p = 0.0, Generator* gen = nullptr);
  Tensor forward(const Tensor& x) override;  // x [B, ...]
  double p;
  Generator* gen;
};

enum class Activation { gelu, gelu_tanh, quick_gelu, relu, silu, tanh, sigmoid, identity };
Activation activation_from_name(const std::string& name);  // "gelu", "relu", ...
Tensor apply_activation(Activation a, const Tensor& x);

class Act : public Module {
 public:
  explicit Act(Activation a) : Module("Act"), kind(a) {}
  Tensor forward(const Tensor& x) override { return apply_activation(kind, x); }
  Activation kind;
};

class Identity : public Module {
 public:
  Identity() : Module("Identity") {}
  Tensor forward(const Tensor& x) override { return x; }
};

// timm's Mlp: fc1 -> act -> drop -> fc2 -> drop.
class Mlp : public Module {
 public:
  Mlp(int64_t in, int64_t hidden, int64_t out = -1, Activation act = Activation::gelu, double drop = 0.0,
      Generator* gen = nullptr);
  Tensor forward(const Tensor& x) override;  // [..., in] -> [..., out]
  std::shared_ptr<Linear> fc1, fc2;
  Activation act;
  std::shared_ptr<Dropout> drop;
};

// PyTorch's nn.MultiheadAttention with batch_first=True.
// query [B, L, E], key/value [B, S, E] -> [B, L, E].
// key_padding_mask: bool [B, S], true = ignore that key (PyTorch's convention).
// attn_mask: bool [L, S] or [B*H, L, S], true = not allowed (PyTorch's convention), or a float
// additive mask of those shapes.
class MultiheadAttention : public Module {
 public:
  MultiheadAttention(int64_t embed_dim, int64_t num_heads, bool bias = true, double dropout = 0.0,
                     Generator* gen = nullptr);
  Tensor forward(const Tensor& x) override { return forward(x, x, x); }
  Tensor forward(const Tensor& query, const Tensor& key, const Tensor& value,
                 const Tensor& key_padding_mask = Tensor(), const Tensor& attn_mask = Tensor());
  Tensor in_proj_weight, in_proj_bias;  // [3E, E], [3E]
  std::shared_ptr<Linear> out_proj;
  int64_t embed_dim, num_heads;
  double dropout;
  Generator* gen;
};

// timm's init of a whole model: every Linear under `root` ~ trunc_normal(std, bounds ±2) with zero
// bias, in module order; a Linear registered under several names (shared weights) is drawn once.
// Other layers keep the init they were built with.
void init_linears_trunc_normal(Module& root, double std = 0.02, Generator* gen = nullptr);

}  // namespace iris::nn
