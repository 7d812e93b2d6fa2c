// ImageFolderDataset: the folder scan (std::filesystem, every failure named), the decode of all images
// in parallel (OpenMP; each image writes only its own slot and its own error, so the result and the
// first error reported do not depend on the number of threads), and the resize.
// Leaves out: caching decoded images on disk, and following symbolic links to folders inside a class.
#include "data/image_folder.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>

#include "image/image.h"

namespace iris::data {

namespace fs = std::filesystem;

namespace {

constexpr int64_t kMaxImageFolderBytes = int64_t(4) << 30;

bool is_hidden(const std::string& name) { return !name.empty() && name[0] == '.'; }

// Shrinks by halving while the image is at least twice the target (each halving averages 2x2 pixels),
// then resizes bilinearly: a cheap stand-in for an antialiasing filter when photos become thumbnails.
Image fit_to_size(Image image, int height, int width) {
  while (image.height() >= 2 * height || image.width() >= 2 * width) {
    int h = image.height() >= 2 * height ? image.height() / 2 : image.height();
    int w = image.width() >= 2 * width ? image.width() / 2 : image.width();
    image = resize(image, h, w);
  }
  if (image.height() != height || image.width() != width) image = resize(image, height, width);
  return image;
}

// The image files under one class folder (recursively; hidden files and folders are left out), sorted.
std::vector<std::string> list_class_images(const fs::path& folder) {
  std::vector<std::string> files;
  std::error_code ec;
  fs::recursive_directory_iterator it(folder, fs::directory_options::none, ec), end;
  IRIS_CHECK(!ec, "ImageFolderDataset: cannot list ", folder.string(), ": ", ec.message());
  for (; it != end; it.increment(ec)) {
    IRIS_CHECK(!ec, "ImageFolderDataset: cannot list ", folder.string(), ": ", ec.message());
    std::string name = it->path().filename().string();
    std::error_code type_ec;
    if (it->is_directory(type_ec)) {
      if (is_hidden(name)) it.disable_recursion_pending();
      continue;
    }
    if (is_image_file_name(name) && it->is_regular_file(type_ec)) files.push_back(it->path().string());
  }
  IRIS_CHECK(!ec, "ImageFolderDataset: cannot list ", folder.string(), ": ", ec.message());
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

bool is_image_file_name(const std::string& file_name) {
  if (is_hidden(file_name)) return false;
  size_t dot = file_name.find_last_of('.');
  if (dot == std::string::npos) return false;
  std::string ext = file_name.substr(dot + 1);
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext == "png" || ext == "jpg" || ext == "jpeg" || ext == "bmp";
}

struct ImageFolderDataset::Scanned {
  std::vector<std::string> classes, paths, skipped;
  std::vector<int64_t> labels;
  Tensor images;        // u8 [N, C, H, W]
  Tensor label_tensor;  // i64 [N]
};

ImageFolderDataset::Scanned ImageFolderDataset::scan(const std::string& root, const ImageFolderOptions& options) {
  const char* op = "ImageFolderDataset";
  IRIS_CHECK(options.channels == 1 || options.channels == 3 || options.channels == 4, op,
             ": channels must be 1 (grey), 3 (RGB) or 4 (RGBA), got ", options.channels);
  IRIS_CHECK(options.height >= 1 && options.width >= 1 &&
                 int64_t(options.height) * options.width <= kMaxImagePixels,
             op, ": image size ", options.height, "x", options.width, " must be at least 1x1 and at most ",
             kMaxImagePixels, " pixels");
  std::error_code ec;
  fs::file_status root_status = fs::status(root, ec);
  IRIS_CHECK(fs::exists(root_status), op, ": no folder at ", root, ec ? " (" + ec.message() + ")" : "",
             "; expected one sub-folder per class: ", root, "/<class>/<image>.png");
  IRIS_CHECK(fs::is_directory(root_status), op, ": ", root, " is not a folder; expected one sub-folder per class: ",
             root, "/<class>/<image>.png");

  Scanned s;
  fs::directory_iterator it(root, ec), end;
  IRIS_CHECK(!ec, op, ": cannot list ", root, ": ", ec.message());
  for (; it != end; it.increment(ec)) {
    IRIS_CHECK(!ec, op, ": cannot list ", root, ": ", ec.message());
    std::error_code type_ec;
    std::string name = it->path().filename().string();
    if (!is_hidden(name) && it->is_directory(type_ec)) s.classes.push_back(name);
  }
  IRIS_CHECK(!ec, op, ": cannot list ", root, ": ", ec.message());
  std::sort(s.classes.begin(), s.classes.end());
  IRIS_CHECK(!s.classes.empty(), op, ": ", root, " has no class sub-folders; expected ", root,
             "/<class>/<image>.png (one folder per class)");

  std::vector<std::string> files;
  std::vector<int64_t> file_labels;
  for (size_t c = 0; c < s.classes.size(); ++c) {
    fs::path folder = fs::path(root) / s.classes[c];
    std::vector<std::string> found = list_class_images(folder);
    IRIS_CHECK(!found.empty(), op, ": the class folder ", folder.string(),
               " has no images (.png, .jpg, .jpeg or .bmp); remove it or add images");
    files.insert(files.end(), found.begin(), found.end());
    file_labels.insert(file_labels.end(), found.size(), static_cast<int64_t>(c));
  }

  const int64_t n = static_cast<int64_t>(files.size());
  const int64_t image_bytes = int64_t(options.channels) * options.height * options.width;
  IRIS_CHECK(n * image_bytes <= kMaxImageFolderBytes, op, ": ", n, " images of ", options.channels, "x",
             options.height, "x", options.width, " need ", n * image_bytes, " bytes, over the limit of ",
             kMaxImageFolderBytes, "; use a smaller size or fewer images");

  // Decode all images, each into its own slot [C, H, W] of `pixels`.
  std::vector<uint8_t> pixels(static_cast<size_t>(n * image_bytes));
  std::vector<std::string> errors(static_cast<size_t>(n));
#pragma omp parallel for schedule(dynamic, 4)
  for (int64_t i = 0; i < n; ++i) {
    try {
      Image image = fit_to_size(load_image(files[i], options.channels), options.height, options.width);
      uint8_t* dst = pixels.data() + i * image_bytes;
      const int64_t plane = int64_t(options.height) * options.width;
      for (int64_t p = 0; p < plane; ++p)
        for (int c = 0; c < options.channels; ++c) dst[c * plane + p] = image.data()[p * options.channels + c];
    } catch (const std::exception& e) {
      errors[i] = e.what();
      if (errors[i].empty()) errors[i] = "unknown error";
    }
  }

  // Keep the good ones (or stop at the first bad one), in path order.
  std::vector<int64_t> kept;
  for (int64_t i = 0; i < n; ++i) {
    if (errors[i].empty()) {
      kept.push_back(i);
      continue;
    }
    // load_image's messages name the file; prefix the path when one does not.
    std::string message = errors[i].find(files[i]) == std::string::npos ? files[i] + ": " + errors[i] : errors[i];
    IRIS_CHECK(options.skip_corrupt, op, ": cannot read an image: ", message,
               " (remove or replace the file, or set skip_corrupt to leave bad files out)");
    s.skipped.push_back(message);
  }
  std::vector<bool> has_class(s.classes.size(), false);
  for (int64_t i : kept) has_class[file_labels[i]] = true;
  for (size_t c = 0; c < s.classes.size(); ++c) {
    if (has_class[c]) continue;
    auto first = std::find(file_labels.begin(), file_labels.end(), static_cast<int64_t>(c)) - file_labels.begin();
    IRIS_CHECK(false, op, ": no image of class \"", s.classes[c], "\" could be read; the first: ", errors[first]);
  }

  const int64_t m = static_cast<int64_t>(kept.size());
  s.images = empty({m, options.channels, options.height, options.width}, DType::u8);
  uint8_t* out = s.images.data<uint8_t>();
  for (int64_t k = 0; k < m; ++k) {
    std::memcpy(out + k * image_bytes, pixels.data() + kept[k] * image_bytes, static_cast<size_t>(image_bytes));
    s.paths.push_back(files[kept[k]]);
    s.labels.push_back(file_labels[kept[k]]);
  }
  s.label_tensor = from_vector(s.labels, Shape{m});
  return s;
}

ImageFolderDataset::ImageFolderDataset(const std::string& root, ImageFolderOptions options)
    : ImageFolderDataset(scan(root, options), options.transform) {}

ImageFolderDataset::ImageFolderDataset(Scanned scanned, TensorDataset::Transform transform)
    : classes_(std::move(scanned.classes)),
      paths_(std::move(scanned.paths)),
      skipped_(std::move(scanned.skipped)),
      labels_(std::move(scanned.labels)),
      dataset_(std::move(scanned.images), std::move(scanned.label_tensor), std::move(transform)) {}

Batch ImageFolderDataset::get_batch(const std::vector<int64_t>& indices, Generator& rng) const {
  for (int64_t i : indices)
    IRIS_CHECK(i >= 0 && i < size(), "ImageFolderDataset: index ", i, " is outside [0, ", size(), ")");
  return dataset_.get_batch(indices, rng);
}

}  // namespace iris::data
