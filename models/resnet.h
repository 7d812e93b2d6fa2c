// ResNet (He et al. 2016) with timm's layout and parameter names, so a timm state dict of the same config
// loads as is: conv1, bn1 -> [maxpool] -> layer1..layer4 (blocks: conv1, bn1, conv2, bn2, [conv3, bn3],
// [downsample.0 (1x1 conv), downsample.1 (bn)]) -> global average pool -> fc.
// Letters: B batch, C channels, H x W map, F = last width * block expansion (the pooled feature).
// Leaves out: ResNet-D/-C stems and average-pool downsampling, SE / attention blocks, grouped (ResNeXt)
// and wide variants, anti-aliasing, drop-block and drop-path.
#pragma once

#include <string>
#include <vector>

#include "nn/layers.h"

namespace iris::models {

enum class ResBlockKind { basic, bottleneck };

struct ResNetConfig {
  ResBlockKind block = ResBlockKind::basic;
  std::vector<int64_t> layers = {2, 2, 2, 2};       // blocks per stage
  std::vector<int64_t> widths = {64, 128, 256, 512};  // base width per stage (x4 at the bottleneck output)
  int64_t in_chans = 3, num_classes = 1000;          // num_classes 0: no fc (forward returns the features)
  int64_t stem_width = 64;
  // ImageNet stem: 7x7 stride-2 conv + 3x3 stride-2 max pool. CIFAR stem (cifar_stem): 3x3 stride-1 conv, no pool.
  bool cifar_stem = false;
  double bn_eps = 1e-5;
  bool zero_init_last = true;  // timm's default: each block's last BN starts with weight 0 (branch = 0)

  int64_t expansion() const { return block == ResBlockKind::bottleneck ? 4 : 1; }
  int64_t num_features() const { return widths.back() * expansion(); }
  // "resnet18", "resnet34", "resnet50" (ImageNet, 1000 classes), "resnet-mini" (CIFAR stem, widths
  // 16/32/64/128, one basic block per stage, for 28x28 / 32x32 inputs), "resnet-mini2" (two blocks per stage).
  static ResNetConfig named(const std::string& name);
  static std::vector<std::string> names();
};

// Two 3x3 convs (the first strided) with BN and ReLU; identity or 1x1-conv shortcut.
class BasicBlock : public nn::Module {
 public:
  BasicBlock(int64_t in, int64_t width, int64_t stride, double bn_eps, Generator* gen = nullptr);
  Tensor forward(const Tensor& x) override;  // [B, in, H, W] -> [B, width, H/stride, W/stride]
  std::shared_ptr<nn::Conv2d> conv1, conv2;
  std::shared_ptr<nn::BatchNorm2d> bn1, bn2;
  std::shared_ptr<nn::Sequential> downsample;  // null for the identity shortcut
};

// 1x1 reduce -> 3x3 (strided, as torchvision/timm "v1.5") -> 1x1 expand (x4), BN and ReLU after each.
class Bottleneck : public nn::Module {
 public:
  Bottleneck(int64_t in, int64_t width, int64_t stride, double bn_eps, Generator* gen = nullptr);
  Tensor forward(const Tensor& x) override;  // [B, in, H, W] -> [B, 4 width, H/stride, W/stride]
  std::shared_ptr<nn::Conv2d> conv1, conv2, conv3;
  std::shared_ptr<nn::BatchNorm2d> bn1, bn2, bn3;
  std::shared_ptr<nn::Sequential> downsample;
};

class ResNet : public nn::Module {
 public:
  explicit ResNet(const ResNetConfig& cfg, Generator* gen = nullptr);
  Tensor forward(const Tensor& images) override;  // [B, Cin, H, W] -> logits [B, classes] (features if no fc)
  Tensor forward_features(const Tensor& images);  // -> pooled [B, F]
  Tensor forward_map(const Tensor& images);       // -> the last stage's map [B, F, H', W']
  int64_t num_features() const { return cfg.num_features(); }

  ResNetConfig cfg;
  std::shared_ptr<nn::Conv2d> conv1;
  std::shared_ptr<nn::BatchNorm2d> bn1;
  std::vector<std::shared_ptr<nn::Sequential>> stages;  // registered as layer1, layer2, ...
  std::shared_ptr<nn::Linear> fc;                       // null when num_classes == 0
};

}  // namespace iris::models
