// ResNet, top-down: stem (conv, BN, ReLU, [max pool]), four stages of residual blocks (the first block of a
// stage strides and widens, with a 1x1-conv shortcut), global average pool, fc. Initialisation as timm's:
// convs He-normal (fan_out, ReLU), BN 1/0 (the last BN of each block 0 when zero_init_last), fc PyTorch default.
#include "models/resnet.h"

#include "nn/init.h"

namespace iris::models {

// ---- configs ------------------------------------------------------------------------------

ResNetConfig ResNetConfig::named(const std::string& name) {
  ResNetConfig c;
  if (name == "resnet18") return c;  // the defaults
  if (name == "resnet34") {
    c.layers = {3, 4, 6, 3};
    return c;
  }
  if (name == "resnet50") {
    c.block = ResBlockKind::bottleneck;
    c.layers = {3, 4, 6, 3};
    return c;
  }
  if (name == "resnet-mini" || name == "resnet-mini2") {
    c.layers = name == "resnet-mini" ? std::vector<int64_t>{1, 1, 1, 1} : std::vector<int64_t>{2, 2, 2, 2};
    c.widths = {16, 32, 64, 128};
    c.stem_width = 16;
    c.cifar_stem = true;
    c.in_chans = 1;
    c.num_classes = 10;
    return c;
  }
  throw Error("unknown ResNet config '" + name + "': use resnet18, resnet34, resnet50, resnet-mini or resnet-mini2");
}

std::vector<std::string> ResNetConfig::names() { return {"resnet18", "resnet34", "resnet50", "resnet-mini", "resnet-mini2"}; }

namespace {

std::shared_ptr<nn::Conv2d> conv_nobias(int64_t in, int64_t out, int64_t k, int64_t stride, Generator* gen) {
  return std::make_shared<nn::Conv2d>(in, out, k, stride, k / 2, 1, 1, false, gen);
}

// The 1x1-conv + BN shortcut ("downsample.0", "downsample.1"), or null when the identity fits.
std::shared_ptr<nn::Sequential> make_shortcut(int64_t in, int64_t out, int64_t stride, double bn_eps, Generator* gen) {
  if (stride == 1 && in == out) return nullptr;
  return std::make_shared<nn::Sequential>(std::vector<std::shared_ptr<nn::Module>>{
      conv_nobias(in, out, 1, stride, gen), std::make_shared<nn::BatchNorm2d>(out, bn_eps)});
}

}  // namespace

// ---- blocks ---------------------------------------------------------------------------------

BasicBlock::BasicBlock(int64_t in, int64_t width, int64_t stride, double bn_eps, Generator* gen) : Module("BasicBlock") {
  conv1 = register_module("conv1", conv_nobias(in, width, 3, stride, gen));
  bn1 = register_module("bn1", std::make_shared<nn::BatchNorm2d>(width, bn_eps));
  conv2 = register_module("conv2", conv_nobias(width, width, 3, 1, gen));
  bn2 = register_module("bn2", std::make_shared<nn::BatchNorm2d>(width, bn_eps));
  downsample = make_shortcut(in, width, stride, bn_eps, gen);
  if (downsample) register_module("downsample", downsample);
}

Tensor BasicBlock::forward(const Tensor& x) {
  Tensor h = relu(bn1->forward(conv1->forward(x)));
  h = bn2->forward(conv2->forward(h));
  return relu(h + (downsample ? downsample->forward(x) : x));
}

Bottleneck::Bottleneck(int64_t in, int64_t width, int64_t stride, double bn_eps, Generator* gen) : Module("Bottleneck") {
  const int64_t out = width * 4;
  conv1 = register_module("conv1", conv_nobias(in, width, 1, 1, gen));
  bn1 = register_module("bn1", std::make_shared<nn::BatchNorm2d>(width, bn_eps));
  conv2 = register_module("conv2", conv_nobias(width, width, 3, stride, gen));
  bn2 = register_module("bn2", std::make_shared<nn::BatchNorm2d>(width, bn_eps));
  conv3 = register_module("conv3", conv_nobias(width, out, 1, 1, gen));
  bn3 = register_module("bn3", std::make_shared<nn::BatchNorm2d>(out, bn_eps));
  downsample = make_shortcut(in, out, stride, bn_eps, gen);
  if (downsample) register_module("downsample", downsample);
}

Tensor Bottleneck::forward(const Tensor& x) {
  Tensor h = relu(bn1->forward(conv1->forward(x)));
  h = relu(bn2->forward(conv2->forward(h)));
  h = bn3->forward(conv3->forward(h));
  return relu(h + (downsample ? downsample->forward(x) : x));
}

// ---- ResNet ---------------------------------------------------------------------------------

ResNet::ResNet(const ResNetConfig& c, Generator* gen) : Module("ResNet"), cfg(c) {
  IRIS_CHECK(!c.layers.empty() && c.layers.size() == c.widths.size(), "ResNet: layers (", c.layers.size(),
             " stages) and widths (", c.widths.size(), ") must be non-empty and of the same length");
  for (size_t s = 0; s < c.layers.size(); ++s)
    IRIS_CHECK(c.layers[s] >= 1 && c.widths[s] >= 1, "ResNet: stage ", s, " needs at least one block and a positive width");
  IRIS_CHECK(c.in_chans >= 1 && c.stem_width >= 1 && c.num_classes >= 0,
             "ResNet: in_chans and stem_width must be positive and num_classes >= 0");
  if (c.cifar_stem) conv1 = register_module("conv1", conv_nobias(c.in_chans, c.stem_width, 3, 1, gen));
  else conv1 = register_module("conv1", std::make_shared<nn::Conv2d>(c.in_chans, c.stem_width, 7, 2, 3, 1, 1, false, gen));
  bn1 = register_module("bn1", std::make_shared<nn::BatchNorm2d>(c.stem_width, c.bn_eps));

  int64_t in = c.stem_width;
  for (size_t s = 0; s < c.layers.size(); ++s) {
    auto stage = std::make_shared<nn::Sequential>();
    for (int64_t b = 0; b < c.layers[s]; ++b) {
      const int64_t stride = (b == 0 && s > 0) ? 2 : 1;
      if (c.block == ResBlockKind::basic) stage->push_back(std::make_shared<BasicBlock>(in, c.widths[s], stride, c.bn_eps, gen));
      else stage->push_back(std::make_shared<Bottleneck>(in, c.widths[s], stride, c.bn_eps, gen));
      in = c.widths[s] * c.expansion();
    }
    stages.push_back(register_module("layer" + std::to_string(s + 1), stage));
  }
  if (c.num_classes > 0) fc = register_module("fc", std::make_shared<nn::Linear>(in, c.num_classes, true, gen));

  // timm's init: He-normal convs in fan_out mode (std sqrt(2 / fan_out)); BN weight 1, bias 0 (nn defaults).
  for (auto& [name, m] : named_modules()) {
    if (auto* conv = dynamic_cast<nn::Conv2d*>(m))
      nn::init::normal_(conv->weight, 0.0, std::sqrt(2.0 / static_cast<double>(nn::init::fans_of(conv->weight).out)), gen);
  }
  if (c.zero_init_last) {
    for (auto& stage : stages)
      for (size_t b = 0; b < stage->size(); ++b) {
        if (auto* blk = dynamic_cast<BasicBlock*>((*stage)[b].get())) nn::init::zeros_(blk->bn2->weight);
        if (auto* blk = dynamic_cast<Bottleneck*>((*stage)[b].get())) nn::init::zeros_(blk->bn3->weight);
      }
  }
}

Tensor ResNet::forward_map(const Tensor& images) {
  IRIS_CHECK(images.defined() && images.dim() == 4 && images.shape()[1] == cfg.in_chans,
             "ResNet: expects images [B, ", cfg.in_chans, ", H, W], got ",
             images.defined() ? shape_str(images.shape()) : std::string("an undefined tensor"));
  IRIS_CHECK(images.shape()[2] >= 1 && images.shape()[3] >= 1, "ResNet: empty image ", shape_str(images.shape()));
  Tensor x = relu(bn1->forward(conv1->forward(images)));
  if (!cfg.cifar_stem) x = max_pool2d(x, 3, 2, 1);
  for (auto& stage : stages) x = stage->forward(x);
  return x;
}

Tensor ResNet::forward_features(const Tensor& images) {
  return mean(forward_map(images), {2, 3});  // [B, F, H', W'] -> [B, F]
}

Tensor ResNet::forward(const Tensor& images) {
  Tensor f = forward_features(images);
  return fc ? fc->forward(f) : f;
}

}  // namespace iris::models
