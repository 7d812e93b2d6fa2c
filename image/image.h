// Image: 8-bit pixels, H x W x channels (1 grey, 3 RGB, 4 RGBA), row-major and interleaved (HWC),
// plus PNG/JPEG/BMP loading (stb_image), PNG saving (stb_image_write, written atomically),
// conversions to and from tensors, channel conversion and bilinear resizing.
// Leaves out: 16-bit and HDR pixels (stb converts them to 8 bits), colour management, EXIF rotation.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace iris {

struct Color {
  uint8_t r = 0, g = 0, b = 0, a = 255;
  constexpr Color() = default;
  constexpr Color(uint8_t red, uint8_t green, uint8_t blue, uint8_t alpha = 255)
      : r(red), g(green), b(blue), a(alpha) {}
  bool operator==(const Color& o) const { return r == o.r && g == o.g && b == o.b && a == o.a; }
  bool operator!=(const Color& o) const { return !(*this == o); }
};

namespace colors {
constexpr Color black{0, 0, 0}, white{255, 255, 255}, gray{128, 128, 128}, light_gray{220, 220, 220};
constexpr Color red{214, 39, 40}, green{44, 160, 44}, blue{31, 119, 180}, orange{255, 127, 14};
constexpr Color purple{148, 103, 189}, brown{140, 86, 75}, pink{227, 119, 194}, olive{188, 189, 34};
constexpr Color cyan{23, 190, 207};
// Ten well-separated colours for series, classes and boxes; palette(i) cycles through them.
Color palette(int i);
}  // namespace colors

// The largest image load_image decodes and Image allocates (width * height), 64 Mpixels.
constexpr int64_t kMaxImagePixels = int64_t(1) << 26;

class Image {
 public:
  Image() = default;
  // A height x width image with `channels` (1, 3 or 4) channels, every byte set to `fill`.
  Image(int height, int width, int channels, uint8_t fill = 0);
  // A height x width image filled with `color` (grey images take the colour's luma; 4 channels keep alpha).
  Image(int height, int width, int channels, Color fill);

  int height() const { return height_; }
  int width() const { return width_; }
  int channels() const { return channels_; }
  bool empty() const { return pixels_.empty(); }
  size_t size_bytes() const { return pixels_.size(); }
  uint8_t* data() { return pixels_.data(); }
  const uint8_t* data() const { return pixels_.data(); }

  // Byte of channel c at row y, column x; bounds are checked (throws iris::Error).
  uint8_t& at(int y, int x, int c = 0);
  uint8_t at(int y, int x, int c = 0) const;
  bool contains(int y, int x) const { return y >= 0 && y < height_ && x >= 0 && x < width_; }

  // The pixel at (y, x) as a colour (grey replicates; no alpha channel reads as 255).
  Color pixel(int y, int x) const;

 private:
  int height_ = 0, width_ = 0, channels_ = 0;
  std::vector<uint8_t> pixels_;  // [H, W, channels]
};

// ---- files --------------------------------------------------------------------------------
// Loads a PNG, JPEG or BMP (other formats are refused). channels = 0 keeps the file's channels
// (grey+alpha becomes RGBA); 1, 3 or 4 converts. A missing, corrupt or truncated file, or one
// over kMaxImagePixels, throws iris::Error naming the file and the reason.
Image load_image(const std::string& path, int channels = 0);
// The same from bytes in memory; `name` is used in error messages.
Image decode_image(const std::string& bytes, const std::string& name, int channels = 0);
// Writes a PNG atomically (a temporary file renamed into place).
void save_png(const std::string& path, const Image& image);
std::string encode_png(const Image& image);

// ---- tensors ------------------------------------------------------------------------------
// u8 [H, W, C] -> f32 [C, H, W] with values in [0, 1].
Tensor image_to_tensor(const Image& image);
// u8 [H, W, C] -> u8 [C, H, W].
Tensor image_to_tensor_u8(const Image& image);
// [C, H, W] (C = 1, 3 or 4) or [H, W] (grey) on any device -> Image. Floating tensors are read
// as [0, 1] (clamped, rounded to nearest); u8 tensors are copied; other dtypes are refused.
Image tensor_to_image(const Tensor& chw);

// ---- pixels -------------------------------------------------------------------------------
// Converts between 1 (luma, ITU-R BT.601 weights), 3 and 4 channels (alpha 255 added or dropped).
Image convert_channels(const Image& image, int channels);
// Bilinear resize to height x width (pixel centres aligned, as PyTorch's align_corners=False,
// without antialiasing).
Image resize(const Image& image, int height, int width);

}  // namespace iris
