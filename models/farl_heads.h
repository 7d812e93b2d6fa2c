// FaRL's downstream heads (papers/farl.md 4.3, scaled as 4.5): the ViT's tapped block outputs (8 x 8 maps)
// -> FPN adapters to four scales -> a light UperNet -> per-pixel logits. Top-down:
//   maps[0] -> up4: ConvT 2x2 s2 -> GroupNorm -> GELU -> ConvT 2x2 s2   (8 -> 32)
//   maps[1] -> up2: ConvT 2x2 s2                                          (8 -> 16)
//   maps[2] -> identity                                                   (8)
//   maps[3] -> down2: MaxPool 2                                           (8 -> 4)
//   UperNet-lite: PPM on the coarsest map (adaptive avg pools 1, 2, 4 -> 1x1 conv -> bilinear back, concat,
//   3x3 conv); 1x1 lateral convs on the three finer maps; top-down: each level += the coarser one upsampled;
//   3x3 fuse convs; all levels upsampled to the finest and concatenated -> 1x1 bottleneck -> dropout -> 1x1
//   classifier [B, classes, 32, 32]. Every conv but the classifier is conv -> GroupNorm -> ReLU.
// The parser upsamples the logits bilinearly to the image size; the landmark head reads the 32 x 32 maps as
// heatmaps (sigmoid) and takes coordinates by soft-argmax (the normalised expectation, no temperature).
// Leaves out: SyncBN (GroupNorm instead, as the spec allows), the auxiliary FCN head, EMA.
#pragma once

#include <memory>
#include <vector>

#include "models/farl.h"

namespace iris::models {

// conv (no bias) -> GroupNorm(min(8, out) groups) -> ReLU, mmseg's ConvModule with GN.
class ConvGnRelu : public nn::Module {
 public:
  ConvGnRelu(int64_t in, int64_t out, int64_t kernel, Generator* gen = nullptr);
  Tensor forward(const Tensor& x) override;
  std::shared_ptr<nn::Conv2d> conv;
  std::shared_ptr<nn::GroupNorm> gn;
};

// A transposed 2x2 stride-2 convolution (PyTorch's ConvTranspose2d weight [in, out, 2, 2], bias [out]).
class ConvTranspose2x2 : public nn::Module {
 public:
  ConvTranspose2x2(int64_t in, int64_t out, Generator* gen = nullptr);
  Tensor forward(const Tensor& x) override;  // [B, in, h, w] -> [B, out, 2h, 2w]
  Tensor weight, bias;
};

class FpnAdapters : public nn::Module {
 public:
  FpnAdapters(int64_t width, Generator* gen = nullptr);
  std::vector<Tensor> forward_maps(const std::vector<Tensor>& maps);  // 4 x [B, W, g, g] -> 4g, 2g, g, g/2
  std::shared_ptr<ConvTranspose2x2> up4_a, up4_b, up2;
  std::shared_ptr<nn::GroupNorm> up4_gn;
};

class UperHeadLite : public nn::Module {
 public:
  UperHeadLite(int64_t in, int64_t channels, int64_t classes, Generator* gen = nullptr);
  Tensor forward_levels(const std::vector<Tensor>& levels);  // finest first -> [B, classes, finest h, w]
  std::vector<int64_t> pool_scales = {1, 2, 4};
  nn::ModuleList<ConvGnRelu>* ppm = nullptr;
  std::shared_ptr<ConvGnRelu> ppm_bottleneck;
  nn::ModuleList<ConvGnRelu>* lateral = nullptr;   // the three finer levels
  nn::ModuleList<ConvGnRelu>* fpn = nullptr;       // their 3x3 fuse convs
  std::shared_ptr<ConvGnRelu> fpn_bottleneck;
  std::shared_ptr<nn::Dropout> dropout;
  std::shared_ptr<nn::Conv2d> cls;
};

// The backbone (a FarlVisual, possibly pre-trained) with adapters and a head: per-pixel logits.
class FarlDense : public nn::Module {
 public:
  FarlDense(std::shared_ptr<FarlVisual> visual, int64_t channels, int64_t classes, Generator* gen = nullptr);
  Tensor forward(const Tensor& images) override;  // [B, 3, S, S] -> [B, classes, 4g, 4g] (g = S / patch)
  std::shared_ptr<FarlVisual> visual;
  std::shared_ptr<FpnAdapters> adapters;
  std::shared_ptr<UperHeadLite> head;
};

// Soft-argmax: p = sigmoid(logits) [B, L, H, W]; coordinates = sum p * (x, y) / sum p in cells
// (cell centres at integers) -> [B, L, 2] (x, y).
Tensor soft_argmax(const Tensor& heatmap_logits);

}  // namespace iris::models
