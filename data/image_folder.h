// ImageFolderDataset: a user's own images as a data::Dataset, laid out one sub-folder per class
// (root/<class>/<image>.png|jpg|jpeg|bmp, nested folders inside a class folder included). Classes are the
// sub-folders sorted by name (label = index); images are sorted by path, decoded once (image/image.h),
// converted to the asked channels and resized to height x width, and kept in memory as u8.
// Leaves out: lazy loading (every image is decoded up front, so a bad file is found before training),
// aspect-preserving crops (images are stretched to the size), and formats other than PNG/JPEG/BMP.
#pragma once

#include <string>
#include <vector>

#include "data/loader.h"

namespace iris::data {

struct ImageFolderOptions {
  int height = 32, width = 32;  // every image is resized to this (bilinear, area-averaged when shrinking)
  int channels = 3;             // 1 (grey), 3 (RGB) or 4 (RGBA)
  // A file that does not decode (corrupt, truncated, not really an image): false (default) throws an
  // iris::Error naming the file; true leaves it out and lists it in skipped().
  bool skip_corrupt = false;
  TensorDataset::Transform transform = nullptr;  // optional, on each f32 batch [B, C, H, W]
};

class ImageFolderDataset : public Dataset {
 public:
  // Scans and decodes the folder. Throws iris::Error when root is missing or not a folder, has no class
  // sub-folders, a class has no images (after skipping), a file is corrupt (unless skip_corrupt), or the
  // decoded images would not fit in memory (over 4 GiB).
  explicit ImageFolderDataset(const std::string& root, ImageFolderOptions options = {});

  int64_t size() const override { return static_cast<int64_t>(paths_.size()); }
  // x: f32 [B, C, H, W] in [0, 1] (then the transform), y: i64 [B] class indices.
  Batch get_batch(const std::vector<int64_t>& indices, Generator& rng) const override;

  const std::vector<std::string>& classes() const { return classes_; }  // sorted sub-folder names
  const std::vector<std::string>& paths() const { return paths_; }      // per sample, in dataset order
  const std::vector<int64_t>& labels() const { return labels_; }        // per sample
  // Files left out with skip_corrupt, each as "path: reason", in path order.
  const std::vector<std::string>& skipped() const { return skipped_; }
  const Tensor& images() const { return dataset_.images(); }  // u8 [N, C, H, W]

 private:
  struct Scanned;  // what the folder scan and decode produce
  static Scanned scan(const std::string& root, const ImageFolderOptions& options);
  ImageFolderDataset(Scanned scanned, TensorDataset::Transform transform);

  std::vector<std::string> classes_, paths_, skipped_;
  std::vector<int64_t> labels_;
  TensorDataset dataset_;
};

// True for the file names ImageFolderDataset reads (.png, .jpg, .jpeg, .bmp in any case, not hidden).
bool is_image_file_name(const std::string& file_name);

}  // namespace iris::data
