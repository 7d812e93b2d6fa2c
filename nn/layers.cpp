// The standard layers: constructors register parameters under PyTorch's names and initialise them
// as PyTorch does; forwards are a few op calls.
#include "nn/layers.h"

#include <algorithm>
#include <cmath>

#include "nn/init.h"

namespace iris::nn {

// ---- Linear, Conv2d -----------------------------------------------------------------------

Linear::Linear(int64_t in, int64_t out, bool use_bias, Generator* gen)
    : Module("Linear"), in_features(in), out_features(out) {
  IRIS_CHECK(in > 0 && out > 0, "Linear: in_features and out_features must be positive, got ", in, " and ", out);
  double bound = 1.0 / std::sqrt(static_cast<double>(in));
  register_parameter("weight", weight, empty({out, in}));
  init::uniform_(weight, -bound, bound, gen);
  if (use_bias) {
    register_parameter("bias", bias, empty({out}));
    init::uniform_(bias, -bound, bound, gen);
  }
}

Tensor Linear::forward(const Tensor& x) { return linear(x, weight, bias); }

Conv2d::Conv2d(int64_t in, int64_t out, Size2 kernel, Size2 stride_, Size2 padding_, Size2 dilation_,
               int64_t groups_, bool use_bias, Generator* gen)
    : Module("Conv2d"), stride(stride_), padding(padding_), dilation(dilation_), groups(groups_) {
  IRIS_CHECK(in > 0 && out > 0 && groups > 0 && in % groups == 0 && out % groups == 0,
             "Conv2d: channels (", in, " in, ", out, " out) must be positive and divisible by groups (", groups, ")");
  IRIS_CHECK(kernel.h > 0 && kernel.w > 0, "Conv2d: kernel size must be positive");
  register_parameter("weight", weight, empty({out, in / groups, kernel.h, kernel.w}));
  double bound = 1.0 / std::sqrt(static_cast<double>(in / groups * kernel.h * kernel.w));
  init::uniform_(weight, -bound, bound, gen);
  if (use_bias) {
    register_parameter("bias", bias, empty({out}));
    init::uniform_(bias, -bound, bound, gen);
  }
}

Tensor Conv2d::forward(const Tensor& x) { return conv2d(x, weight, bias, stride, padding, dilation, groups); }

// ---- normalisation ------------------------------------------------------------------------

LayerNorm::LayerNorm(Shape shape, double eps_, bool affine)
    : Module("LayerNorm"), normalized_shape(shape), eps(eps_) {
  if (affine) {
    register_parameter("weight", weight, ones(shape));
    register_parameter("bias", bias, zeros(shape));
  }
}

Tensor LayerNorm::forward(const Tensor& x) { return layer_norm(x, normalized_shape, weight, bias, eps); }

BatchNorm2d::BatchNorm2d(int64_t channels, double eps_, double momentum_, bool affine)
    : Module("BatchNorm2d"), eps(eps_), momentum(momentum_) {
  if (affine) {
    register_parameter("weight", weight, ones({channels}));
    register_parameter("bias", bias, zeros({channels}));
  }
  register_buffer("running_mean", running_mean, zeros({channels}));
  register_buffer("running_var", running_var, ones({channels}));
  register_buffer("num_batches_tracked", num_batches_tracked, zeros({}, DType::i64));
}

Tensor BatchNorm2d::forward(const Tensor& x) {
  if (is_training()) {
    NoGradGuard ng;
    num_batches_tracked.fill_(num_batches_tracked.item() + 1);
  }
  return batch_norm(x, running_mean, running_var, weight, bias, is_training(), momentum, eps);
}

GroupNorm::GroupNorm(int64_t groups_, int64_t channels, double eps_, bool affine)
    : Module("GroupNorm"), groups(groups_), eps(eps_) {
  IRIS_CHECK(groups > 0 && channels % groups == 0, "GroupNorm: ", channels, " channels do not split into ", groups,
             " groups");
  if (affine) {
    register_parameter("weight", weight, ones({channels}));
    register_parameter("bias", bias, zeros({channels}));
  }
}

Tensor GroupNorm::forward(const Tensor& x) { return group_norm(x, groups, weight, bias, eps); }

// ---- embedding, dropout, drop path ----------------------------------------------------------

Embedding::Embedding(int64_t n, int64_t dim, Generator* gen) : Module("Embedding") {
  IRIS_CHECK(n > 0 && dim > 0, "Embedding: sizes must be positive, got ", n, " x ", dim);
  register_parameter("weight", weight, empty({n, dim}));
  init::normal_(weight, 0.0, 1.0, gen);
}

Tensor Embedding::forward(const Tensor& indices) { return embedding(weight, indices); }

Dropout::Dropout(double p_, Generator* gen_) : Module("Dropout"), p(p_), gen(gen_) {
  IRIS_CHECK(p >= 0 && p <= 1, "Dropout: p must be in [0, 1], got ", p);
}

Tensor Dropout::forward(const Tensor& x) { return p > 0 ? dropout(x, p, is_training(), gen) : x; }

DropPath::DropPath(double p_, Generator* gen_) : Module("DropPath"), p(p_), gen(gen_) {
  IRIS_CHECK(p >= 0 && p < 1, "DropPath: p must be in [0, 1), got ", p);
}

Tensor DropPath::forward(const Tensor& x) {
  if (p == 0.0 || !is_training()) return x;
  Shape s(x.dim(), 1);
  s[0] = x.shape()[0];
  Tensor keep = lt(rand(s, {x.dtype(), x.device()}, gen), 1.0 - p).to(x.dtype());
  return x * (keep / (1.0 - p));
}

// ---- activations --------------------------------------------------------------------------

Activation activation_from_name(const std::string& name) {
  if (name == "gelu") return Activation::gelu;
  if (name == "gelu_tanh") return Activation::gelu_tanh;
  if (name == "quick_gelu") return Activation::quick_gelu;
  if (name == "relu") return Activation::relu;
  if (name == "silu") return Activation::silu;
  if (name == "tanh") return Activation::tanh;
  if (name == "sigmoid") return Activation::sigmoid;
  if (name == "identity") return Activation::identity;
  throw Error("unknown activation '" + name +
              "': use gelu, gelu_tanh, quick_gelu, relu, silu, tanh, sigmoid or identity");
}

Tensor apply_activation(Activation a, const Tensor& x) {
  switch (a) {
    case Activation::gelu: return gelu(x);
    case Activation::gelu_tanh: return gelu(x, GeluApprox::tanh);
    case Activation::quick_gelu: return quick_gelu(x);
    case Activation::relu: return relu(x);
    case Activation::silu: return silu(x);
    case Activation::tanh: return tanh(x);
    case Activation::sigmoid: return sigmoid(x);
    case Activation::identity: return x;
  }
  return x;
}

// ---- Mlp ------------------------------------------------------------------------------------

Mlp::Mlp(int64_t in, int64_t hidden, int64_t out, Activation act_, double drop_p, Generator* gen)
    : Module("Mlp"), act(act_) {
  if (out < 0) out = in;
  fc1 = register_module("fc1", std::make_shared<Linear>(in, hidden, true, gen));
  fc2 = register_module("fc2", std::make_shared<Linear>(hidden, out, true, gen));
  drop = std::make_shared<Dropout>(drop_p, gen);
  add_child("drop", drop);
}

Tensor Mlp::forward(const Tensor& x) {
  Tensor h = drop->forward(apply_activation(act, fc1->forward(x)));
  return drop->forward(fc2->forward(h));
}

// ---- MultiheadAttention ---------------------------------------------------------------------

MultiheadAttention::MultiheadAttention(int64_t e, int64_t h, bool use_bias, double dropout_p, Generator* gen_)
    : Module("MultiheadAttention"), embed_dim(e), num_heads(h), dropout(dropout_p), gen(gen_) {
  IRIS_CHECK(e > 0 && h > 0 && e % h == 0, "MultiheadAttention: embed_dim ", e, " must be divisible by num_heads ", h);
  register_parameter("in_proj_weight", in_proj_weight, empty({3 * e, e}));
  init::xavier_uniform_(in_proj_weight, 1.0, gen);
  if (use_bias) register_parameter("in_proj_bias", in_proj_bias, zeros({3 * e}));
  out_proj = register_module("out_proj", std::make_shared<Linear>(e, e, use_bias, gen));
  if (use_bias) init::zeros_(out_proj->bias);
}

Tensor MultiheadAttention::forward(const Tensor& query, const Tensor& key, const Tensor& value,
                                   const Tensor& key_padding_mask, const Tensor& attn_mask) {
  IRIS_CHECK(query.dim() == 3 && key.dim() == 3 && value.dim() == 3, "MultiheadAttention: expects [B, L, E] inputs, got ",
             shape_str(query.shape()), ", ", shape_str(key.shape()), ", ", shape_str(value.shape()));
  const int64_t B = query.shape()[0], L = query.shape()[1], S = key.shape()[1], E = embed_dim, H = num_heads;
  IRIS_CHECK(query.shape()[2] == E && key.shape()[2] == E && value.shape()[2] == E, "MultiheadAttention: inputs must end in embed_dim ", E);
  IRIS_CHECK(key.shape()[0] == B && value.shape()[0] == B && value.shape()[1] == S,
             "MultiheadAttention: key and value must be [B, S, E] with the query's B");
  auto proj = [&](const Tensor& x, int part) {
    Tensor w = in_proj_weight.slice(0, part * E, (part + 1) * E);
    Tensor b = in_proj_bias.defined() ? in_proj_bias.slice(0, part * E, (part + 1) * E) : Tensor();
    return linear(x, w, b);
  };
  Tensor q, k, v;
  if (query.impl() == key.impl() && key.impl() == value.impl()) {  // self-attention: one product
    Tensor qkv = linear(query, in_proj_weight, in_proj_bias);       // [B, L, 3E]
    q = qkv.slice(2, 0, E), k = qkv.slice(2, E, 2 * E), v = qkv.slice(2, 2 * E, 3 * E);
  } else {
    q = proj(query, 0), k = proj(key, 1), v = proj(value, 2);
  }

  AttentionOptions opts;
  opts.dropout_p = is_training() ? dropout : 0.0;
  opts.generator = gen;
  Tensor allowed;
  if (key_padding_mask.defined()) {
    IRIS_CHECK((key_padding_mask.dtype() == DType::b8 && key_padding_mask.shape() == Shape{B, S}),
               "MultiheadAttention: key_padding_mask must be bool [B, S] = ", shape_str({B, S}));
    allowed = logical_not(key_padding_mask).reshape({B, 1, 1, S});
  }
  if (attn_mask.defined()) {
    Tensor m = attn_mask;
    if (m.dim() == 3) {
      IRIS_CHECK((m.shape() == Shape{B * H, L, S}), "MultiheadAttention: a 3-D attn_mask must be [B*H, L, S] = ",
                 shape_str({B * H, L, S}));
      m = m.reshape({B, H, L, S});
    } else {
      IRIS_CHECK((m.shape() == Shape{L, S}), "MultiheadAttention: attn_mask must be [L, S] = ", shape_str({L, S}),
                 " or [B*H, L, S]");
    }
    if (m.dtype() == DType::b8) {
      Tensor a = logical_not(m);
      allowed = allowed.defined() ? logical_and(allowed, a) : a;
    } else {
      opts.bias = m;
    }
  }
  opts.mask = allowed;
  Tensor o = scaled_dot_product_attention(split_heads(q, H), split_heads(k, H), split_heads(v, H), opts);  // [B, H, L, D]
  return out_proj->forward(merge_heads(o));
}

void init_linears_trunc_normal(Module& root, double std, Generator* gen) {
  std::vector<const Linear*> done;
  for (auto& [name, m] : root.named_modules()) {
    auto* lin = dynamic_cast<Linear*>(m);
    if (!lin || std::find(done.begin(), done.end(), lin) != done.end()) continue;
    done.push_back(lin);
    init::trunc_normal_(lin->weight, std, 0.0, -2.0, 2.0, gen);
    if (lin->bias.defined()) init::zeros_(lin->bias);
  }
}

}  // namespace iris::nn
