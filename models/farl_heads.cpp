// FaRL's dense heads: FPN adapters, UperNet-lite, soft-argmax (farl_heads.h).
#include "models/farl_heads.h"

#include "nn/init.h"

namespace iris::models {

ConvGnRelu::ConvGnRelu(int64_t in, int64_t out, int64_t k, Generator* gen) : Module("ConvGnRelu") {
  conv = register_module("conv", std::make_shared<nn::Conv2d>(in, out, k, 1, k / 2, 1, 1, false, gen));
  gn = register_module("gn", std::make_shared<nn::GroupNorm>(std::min<int64_t>(8, out), out));
}
Tensor ConvGnRelu::forward(const Tensor& x) { return relu(gn->forward(conv->forward(x))); }

ConvTranspose2x2::ConvTranspose2x2(int64_t in, int64_t out, Generator* gen) : Module("ConvTranspose2x2") {
  // PyTorch's default init: U(-b, b), b = 1 / sqrt(fan_in), fan_in = out * 2 * 2 for a transposed weight
  const double b = 1.0 / std::sqrt(static_cast<double>(out * 4));
  register_parameter("weight", weight, zeros({in, out, 2, 2}));
  nn::init::uniform_(weight, -b, b, gen);
  register_parameter("bias", bias, zeros({out}));
  nn::init::uniform_(bias, -b, b, gen);
}
Tensor ConvTranspose2x2::forward(const Tensor& x) { return conv_transpose2d(x, weight, bias, 2); }

FpnAdapters::FpnAdapters(int64_t W, Generator* gen) : Module("FpnAdapters") {
  up4_a = register_module("up4_a", std::make_shared<ConvTranspose2x2>(W, W, gen));
  up4_gn = register_module("up4_gn", std::make_shared<nn::GroupNorm>(std::min<int64_t>(8, W), W));
  up4_b = register_module("up4_b", std::make_shared<ConvTranspose2x2>(W, W, gen));
  up2 = register_module("up2", std::make_shared<ConvTranspose2x2>(W, W, gen));
}

std::vector<Tensor> FpnAdapters::forward_maps(const std::vector<Tensor>& m) {
  IRIS_CHECK(m.size() == 4, "FpnAdapters: expects 4 feature maps, got ", m.size());
  return {up4_b->forward(gelu(up4_gn->forward(up4_a->forward(m[0])))), up2->forward(m[1]), m[2],
          max_pool2d(m[3], 2)};
}

UperHeadLite::UperHeadLite(int64_t in, int64_t C, int64_t classes, Generator* gen) : Module("UperHeadLite") {
  auto p = std::make_shared<nn::ModuleList<ConvGnRelu>>();
  for (size_t i = 0; i < pool_scales.size(); ++i) p->push_back(std::make_shared<ConvGnRelu>(in, C, 1, gen));
  ppm = p.get();
  add_child("ppm", p);
  ppm_bottleneck = register_module(
      "ppm_bottleneck", std::make_shared<ConvGnRelu>(in + C * static_cast<int64_t>(pool_scales.size()), C, 3, gen));
  auto lat = std::make_shared<nn::ModuleList<ConvGnRelu>>(), f = std::make_shared<nn::ModuleList<ConvGnRelu>>();
  for (int i = 0; i < 3; ++i) {
    lat->push_back(std::make_shared<ConvGnRelu>(in, C, 1, gen));
    f->push_back(std::make_shared<ConvGnRelu>(C, C, 3, gen));
  }
  lateral = lat.get(), fpn = f.get();
  add_child("lateral", lat);
  add_child("fpn", f);
  fpn_bottleneck = register_module("fpn_bottleneck", std::make_shared<ConvGnRelu>(4 * C, C, 1, gen));
  dropout = std::make_shared<nn::Dropout>(0.1, gen);
  add_child("dropout", dropout);
  cls = register_module("cls", std::make_shared<nn::Conv2d>(C, classes, 1, 1, 0, 1, 1, true, gen));
}

Tensor UperHeadLite::forward_levels(const std::vector<Tensor>& lv) {
  IRIS_CHECK(lv.size() == 4, "UperHeadLite: expects 4 levels, got ", lv.size());
  auto up_to = [](const Tensor& x, const Tensor& like) {
    return interpolate(x, Size2(like.shape()[2], like.shape()[3]), InterpMode::bilinear, false);
  };
  // PPM on the coarsest level
  const Tensor& top = lv[3];
  std::vector<Tensor> pooled = {top};
  for (size_t i = 0; i < pool_scales.size(); ++i)
    pooled.push_back(up_to((*ppm)[i]->forward(adaptive_avg_pool2d(top, pool_scales[i])), top));
  std::vector<Tensor> lat = {(*lateral)[0]->forward(lv[0]), (*lateral)[1]->forward(lv[1]),
                             (*lateral)[2]->forward(lv[2]), ppm_bottleneck->forward(cat(pooled, 1))};
  for (int i = 2; i >= 0; --i) lat[i] = lat[i] + up_to(lat[i + 1], lat[i]);  // top-down
  std::vector<Tensor> outs;
  for (int i = 0; i < 3; ++i) outs.push_back((*fpn)[i]->forward(lat[i]));
  outs.push_back(lat[3]);
  for (int i = 1; i < 4; ++i) outs[i] = up_to(outs[i], outs[0]);
  return cls->forward(dropout->forward(fpn_bottleneck->forward(cat(outs, 1))));
}

FarlDense::FarlDense(std::shared_ptr<FarlVisual> v, int64_t C, int64_t classes, Generator* gen)
    : Module("FarlDense"), visual(std::move(v)) {
  IRIS_CHECK(visual->cfg.feature_blocks.size() == 4, "FarlDense: the backbone must tap 4 blocks, it taps ",
             visual->cfg.feature_blocks.size());
  register_module("visual", visual);
  adapters = register_module("adapters", std::make_shared<FpnAdapters>(visual->cfg.width, gen));
  head = register_module("head", std::make_shared<UperHeadLite>(visual->cfg.width, C, classes, gen));
}

Tensor FarlDense::forward(const Tensor& images) {
  return head->forward_levels(adapters->forward_maps(visual->feature_maps(images)));
}

Tensor soft_argmax(const Tensor& logits) {
  IRIS_CHECK(logits.dim() == 4, "soft_argmax: expects heatmaps [B, L, H, W], got ", shape_str(logits.shape()));
  const int64_t B = logits.shape()[0], L = logits.shape()[1], H = logits.shape()[2], W = logits.shape()[3];
  Tensor p = sigmoid(logits).reshape({B, L, H * W});
  Tensor w = p / sum(p, {2}, true);
  TensorOptions o(logits.dtype(), logits.device());
  Tensor gx = arange(0, static_cast<double>(W), 1.0, o).reshape({1, W}).expand({H, W}).reshape({1, 1, H * W});
  Tensor gy = arange(0, static_cast<double>(H), 1.0, o).reshape({H, 1}).expand({H, W}).reshape({1, 1, H * W});
  return stack({sum(w * gx, {2}), sum(w * gy, {2})}, 2);  // [B, L, 2]
}

}  // namespace iris::models
