// IDX files (the MNIST family's format), plain or gzip-compressed (read through zlib), and
// Fashion-MNIST on top of them. The header is validated against the file: magic, element type,
// rank, sizes and the exact data length; anything wrong is an iris::Error naming the file.
// Leaves out: IDX element types other than unsigned bytes (the data sets iris uses have none).
#pragma once

#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace iris::data {

// Reads an IDX file of unsigned bytes into a u8 tensor of its shape.
Tensor read_idx(const std::string& path);

// Fashion-MNIST's pixel statistics (train split, pixels in [0, 1]), for normalisation.
constexpr double kFashionMnistMean = 0.2860, kFashionMnistStd = 0.3530;

struct LabelledImages {
  Tensor images;  // u8 [N, H, W]
  Tensor labels;  // i64 [N]
};

// The folder holding Fashion-MNIST: `flag` if non-empty, else $IRIS_DATA, else Debian's
// /usr/share/datasets/fashion-mnist.
std::string fashion_mnist_dir(const std::string& flag = "");
// Loads the train (60000) or test (10000) split; a missing file raises an error that names the
// Debian package dataset-fashion-mnist and the --data / IRIS_DATA overrides.
LabelledImages load_fashion_mnist(const std::string& dir, bool train);
const std::vector<std::string>& fashion_mnist_classes();  // "T-shirt/top", ..., "ankle boot"

}  // namespace iris::data
