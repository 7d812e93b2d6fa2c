// Image storage, stb-based decoding and PNG encoding, tensor conversions, channel conversion and
// bilinear resizing. Decoding checks the header (stbi_info) before allocating, so a hostile file
// cannot ask for gigabytes, and every failure names the file and stb's reason.
// Leaves out: writing JPEG/BMP (PNG is lossless and all the apps need).
#include "image/image.h"

#include <stb_image.h>
#include <stb_image_write.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>

#include "io/file_util.h"

namespace iris {

namespace {

void check_channels(int channels, const char* op) {
  IRIS_CHECK(channels == 1 || channels == 3 || channels == 4, op, ": channels must be 1 (grey), 3 (RGB) or 4 (RGBA), got ",
             channels);
}

void check_size(int64_t height, int64_t width, const char* op) {
  IRIS_CHECK(height >= 1 && width >= 1, op, ": height and width must be >= 1, got ", height, "x", width);
  IRIS_CHECK(height * width <= kMaxImagePixels, op, ": ", height, "x", width, " is ", height * width,
             " pixels, over the limit of ", kMaxImagePixels, " (kMaxImagePixels)");
}

uint8_t luma(int r, int g, int b) { return static_cast<uint8_t>((299 * r + 587 * g + 114 * b + 500) / 1000); }

// The format by signature, for error messages.
const char* sniff_format(const std::string& bytes) {
  auto starts = [&](const char* sig, size_t n) { return bytes.size() >= n && std::memcmp(bytes.data(), sig, n) == 0; };
  if (starts("\x89PNG\r\n\x1a\n", 8)) return "PNG";
  if (starts("\xFF\xD8", 2)) return "JPEG";
  if (starts("BM", 2)) return "BMP";
  if (starts("GIF8", 4)) return "GIF";
  return nullptr;
}

// stb_image 2.27 trusts a JPEG's Huffman table sizes: a DHT segment whose 16 code counts add up to
// more than 256 makes it write past its tables. So before stb sees a JPEG, walk its segments (and
// skip over scan data) and refuse any Huffman table that is oversized or overruns its segment.
// Returns "" when the tables are sane, else the reason.
std::string check_jpeg_huffman_tables(const std::string& bytes) {
  const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t size = bytes.size();
  size_t pos = 2;  // after SOI
  while (pos + 1 < size) {
    if (b[pos] != 0xFF) {
      ++pos;  // entropy-coded data or padding: look for the next marker
      continue;
    }
    unsigned char marker = b[pos + 1];
    if (marker == 0xFF || marker == 0x00 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) {
      pos += marker == 0xFF ? 1 : 2;  // fill byte, stuffed FF 00, restart marker, TEM
      continue;
    }
    if (marker == 0xD9) return "";  // EOI
    if (pos + 4 > size) return "";  // cut short: the end-marker check reports it
    size_t length = (size_t(b[pos + 2]) << 8) | b[pos + 3];
    if (length < 2) return cat_str("segment FF", std::hex, int(marker), " has length ", std::dec, length);
    size_t end = pos + 2 + length;
    if (marker == 0xC4) {
      // A segment cut short by the end of the file is still read by stb (as zeros past the end),
      // so its tables are checked up to the end of the file.
      for (size_t table = pos + 4; table < std::min(end, size);) {
        if (table + 17 > end) return "a Huffman table (DHT) runs past its segment";
        size_t codes = 0;
        for (size_t i = table + 1; i <= table + 16 && i < size; ++i) codes += b[i];
        if (codes > 256) return cat_str("a Huffman table (DHT) declares ", codes, " codes (at most 256)");
        table += 17 + codes;
        if (table > end) return "a Huffman table (DHT) runs past its segment";
      }
    }
    if (end > size) return "";  // cut short: the end-marker check reports it
    pos = end;
  }
  return "";
}

// stb_image decodes a JPEG cut short without complaint (missing data reads as zeros), so a JPEG
// must hold an end-of-image marker (FF D9) after its last start-of-scan (FF DA). Inside entropy-
// coded data an FF byte is always followed by 00 or a restart marker, so neither pair can occur
// by accident there.
bool jpeg_has_end_marker(const std::string& bytes) {
  size_t last_scan = bytes.rfind("\xFF\xDA", std::string::npos, 2);
  if (last_scan == std::string::npos) return false;
  return bytes.find("\xFF\xD9", last_scan + 2, 2) != std::string::npos;
}

struct StbPixels {
  unsigned char* data = nullptr;
  ~StbPixels() { stbi_image_free(data); }
};

}  // namespace

namespace colors {
Color palette(int i) {
  static constexpr Color kPalette[10] = {blue, orange, green, red, purple, brown, pink, gray, olive, cyan};
  int n = 10;
  return kPalette[((i % n) + n) % n];
}
}  // namespace colors

// ---- Image --------------------------------------------------------------------------------

Image::Image(int height, int width, int channels, uint8_t fill) {
  check_channels(channels, "Image");
  check_size(height, width, "Image");
  height_ = height, width_ = width, channels_ = channels;
  pixels_.assign(static_cast<size_t>(height) * width * channels, fill);
}

Image::Image(int height, int width, int channels, Color fill) : Image(height, width, channels, uint8_t(0)) {
  const uint8_t value[4] = {fill.r, fill.g, fill.b, fill.a};
  const uint8_t grey = luma(fill.r, fill.g, fill.b);
  for (size_t i = 0; i < pixels_.size(); i += channels_) {
    if (channels_ == 1) pixels_[i] = grey;
    else std::memcpy(&pixels_[i], value, channels_);
  }
}

uint8_t& Image::at(int y, int x, int c) {
  IRIS_CHECK(contains(y, x) && c >= 0 && c < channels_, "Image::at: (y ", y, ", x ", x, ", channel ", c,
             ") is outside the ", height_, "x", width_, "x", channels_, " image");
  return pixels_[(static_cast<size_t>(y) * width_ + x) * channels_ + c];
}

uint8_t Image::at(int y, int x, int c) const { return const_cast<Image*>(this)->at(y, x, c); }

Color Image::pixel(int y, int x) const {
  const uint8_t* p = &const_cast<Image*>(this)->at(y, x, 0);  // bounds-checked
  if (channels_ == 1) return Color(p[0], p[0], p[0]);
  return Color(p[0], p[1], p[2], channels_ == 4 ? p[3] : 255);
}

// ---- files --------------------------------------------------------------------------------

Image decode_image(const std::string& bytes, const std::string& name, int channels) {
  IRIS_CHECK(channels == 0 || channels == 1 || channels == 3 || channels == 4, "load_image: channels must be 0 (as stored), ",
             "1, 3 or 4, got ", channels);
  IRIS_CHECK(!bytes.empty(), "load_image: '", name, "' is empty (0 bytes); expected a PNG, JPEG or BMP image");
  IRIS_CHECK(bytes.size() <= static_cast<size_t>(INT_MAX), "load_image: '", name, "' is ", bytes.size(),
             " bytes, too large to decode (limit 2 GiB)");
  const char* format = sniff_format(bytes);
  IRIS_CHECK(format != nullptr && std::strcmp(format, "GIF") != 0, "load_image: '", name,
             "' is not a PNG, JPEG or BMP file (", format ? format : "unknown signature",
             "); convert it to PNG first");
  const std::string what = std::string(format) + " image '" + name + "'";
  // Before stb reads any of it (stbi_info already parses tables that precede the frame header).
  if (std::strcmp(format, "JPEG") == 0) {
    std::string problem = check_jpeg_huffman_tables(bytes);
    IRIS_CHECK(problem.empty(), "load_image: cannot decode ", what, ": corrupt JPEG: ", problem);
    IRIS_CHECK(jpeg_has_end_marker(bytes), "load_image: cannot decode ", what,
               ": truncated JPEG (no end-of-image marker after the last scan)");
  }
  // A PNG's size is in its IHDR chunk (bytes 16-23, big-endian); read it first, since stb's
  // message for a 0x0 or oversized PNG is "unknown image type" (its last probe's, BMP's).
  if (std::strcmp(format, "PNG") == 0 && bytes.size() >= 24) {
    auto be32 = [&](size_t at) {
      const auto* b = reinterpret_cast<const unsigned char*>(bytes.data()) + at;
      return (uint64_t(b[0]) << 24) | (uint64_t(b[1]) << 16) | (uint64_t(b[2]) << 8) | uint64_t(b[3]);
    };
    const uint64_t w = be32(16), h = be32(20);
    IRIS_CHECK(w > 0 && h > 0, "load_image: cannot decode ", what, ": its header says ", w, "x", h,
               " pixels (an image needs at least one)");
    IRIS_CHECK(w * h <= uint64_t(kMaxImagePixels), "load_image: ", what, " is ", w, "x", h,
               " pixels, over the limit of ", kMaxImagePixels, " pixels (kMaxImagePixels)");
  }
  const auto* buffer = reinterpret_cast<const stbi_uc*>(bytes.data());
  const int length = static_cast<int>(bytes.size());
  int width = 0, height = 0, stored_channels = 0;
  if (!stbi_info_from_memory(buffer, length, &width, &height, &stored_channels)) {
    const char* reason = stbi_failure_reason();
    throw Error(cat_str("load_image: cannot decode ", what, ": ", reason ? reason : "unknown reason"));
  }
  IRIS_CHECK(int64_t(width) * height <= kMaxImagePixels, "load_image: ", what, " is ", width, "x", height,
             " pixels, over the limit of ", kMaxImagePixels, " pixels (kMaxImagePixels)");
  int wanted = channels != 0 ? channels : (stored_channels == 2 ? 4 : stored_channels);
  if (wanted != 1 && wanted != 3 && wanted != 4) wanted = 4;
  StbPixels pixels;
  int got_channels = 0;
  pixels.data = stbi_load_from_memory(buffer, length, &width, &height, &got_channels, wanted);
  if (!pixels.data) {
    const char* reason = stbi_failure_reason();
    throw Error(cat_str("load_image: cannot decode ", what, ": ", reason ? reason : "unknown reason"));
  }
  Image image(height, width, wanted);
  std::memcpy(image.data(), pixels.data, image.size_bytes());
  return image;
}

Image load_image(const std::string& path, int channels) {
  std::string bytes;
  try {
    bytes = read_file(path);
  } catch (const Error& e) {
    std::string why = e.what();
    if (why.rfind("read_file: ", 0) == 0) why = why.substr(11);
    throw Error(cat_str("load_image: ", why));
  }
  return decode_image(bytes, path, channels);
}

std::string encode_png(const Image& image) {
  IRIS_CHECK(!image.empty(), "save_png: the image is empty; nothing to write");
  std::string png;
  auto append = [](void* context, void* data, int size) {
    static_cast<std::string*>(context)->append(static_cast<const char*>(data), static_cast<size_t>(size));
  };
  int ok = stbi_write_png_to_func(append, &png, image.width(), image.height(), image.channels(), image.data(),
                                  image.width() * image.channels());
  IRIS_CHECK(ok && !png.empty(), "save_png: encoding a ", image.height(), "x", image.width(), "x", image.channels(),
             " image failed (out of memory?)");
  return png;
}

void save_png(const std::string& path, const Image& image) {
  IRIS_CHECK(!path.empty(), "save_png: empty path; pass a file name ending in .png");
  write_file_atomic(path, encode_png(image));
}

// ---- tensors ------------------------------------------------------------------------------

Tensor image_to_tensor(const Image& image) {
  IRIS_CHECK(!image.empty(), "image_to_tensor: the image is empty");
  const int64_t h = image.height(), w = image.width(), c = image.channels();
  std::vector<float> chw(static_cast<size_t>(c * h * w));
  const uint8_t* src = image.data();
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x)
      for (int64_t k = 0; k < c; ++k) chw[(k * h + y) * w + x] = src[(y * w + x) * c + k] * (1.0f / 255.0f);
  return from_vector(chw, {c, h, w});
}

Tensor image_to_tensor_u8(const Image& image) {
  IRIS_CHECK(!image.empty(), "image_to_tensor_u8: the image is empty");
  const int64_t h = image.height(), w = image.width(), c = image.channels();
  std::vector<uint8_t> chw(static_cast<size_t>(c * h * w));
  const uint8_t* src = image.data();
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x)
      for (int64_t k = 0; k < c; ++k) chw[(k * h + y) * w + x] = src[(y * w + x) * c + k];
  return from_vector(chw, {c, h, w});
}

Image tensor_to_image(const Tensor& chw) {
  IRIS_CHECK(chw.defined(), "tensor_to_image: the tensor is undefined");
  IRIS_CHECK(chw.dim() == 2 || chw.dim() == 3, "tensor_to_image: expected [C, H, W] or [H, W], got ",
             shape_str(chw.shape()), "; select one image of a batch with t[i]");
  const int64_t c = chw.dim() == 3 ? chw.size(0) : 1;
  const int64_t h = chw.size(-2), w = chw.size(-1);
  IRIS_CHECK(c == 1 || c == 3 || c == 4, "tensor_to_image: expected 1, 3 or 4 channels in [C, H, W], got ",
             shape_str(chw.shape()), "; for [H, W, C] data permute({2, 0, 1}) first");
  check_size(h, w, "tensor_to_image");
  const DType dt = chw.dtype();
  IRIS_CHECK(is_floating(dt) || dt == DType::u8, "tensor_to_image: expects a floating tensor in [0, 1] or u8, got ",
             dtype_name(dt), "; convert with .to(DType::f32) and scale to [0, 1]");
  Image image(static_cast<int>(h), static_cast<int>(w), static_cast<int>(c));
  uint8_t* dst = image.data();
  if (dt == DType::u8) {
    std::vector<uint8_t> values = chw.detach().to_vector<uint8_t>();
    for (int64_t k = 0; k < c; ++k)
      for (int64_t i = 0; i < h * w; ++i) dst[i * c + k] = values[k * h * w + i];
  } else {
    std::vector<float> values = chw.detach().to_vector<float>();
    for (int64_t k = 0; k < c; ++k)
      for (int64_t i = 0; i < h * w; ++i) {
        float v = values[k * h * w + i];
        v = std::isnan(v) ? 0.0f : std::clamp(v, 0.0f, 1.0f);
        dst[i * c + k] = static_cast<uint8_t>(v * 255.0f + 0.5f);
      }
  }
  return image;
}

// ---- pixels -------------------------------------------------------------------------------

Image convert_channels(const Image& image, int channels) {
  check_channels(channels, "convert_channels");
  IRIS_CHECK(!image.empty(), "convert_channels: the image is empty");
  if (channels == image.channels()) return image;
  Image out(image.height(), image.width(), channels);
  const int from = image.channels();
  const size_t pixels = static_cast<size_t>(image.height()) * image.width();
  const uint8_t* src = image.data();
  uint8_t* dst = out.data();
  for (size_t i = 0; i < pixels; ++i, src += from, dst += channels) {
    if (channels == 1) {
      dst[0] = luma(src[0], src[1], src[2]);  // from 3 or 4: alpha dropped
    } else {
      for (int k = 0; k < 3; ++k) dst[k] = from == 1 ? src[0] : src[k];
      if (channels == 4) dst[3] = from == 4 ? src[3] : 255;
    }
  }
  return out;
}

Image resize(const Image& image, int height, int width) {
  IRIS_CHECK(!image.empty(), "resize: the image is empty");
  check_size(height, width, "resize");
  if (height == image.height() && width == image.width()) return image;
  Image out(height, width, image.channels());
  const int c = image.channels(), in_h = image.height(), in_w = image.width();
  // Source coordinate of output pixel centre: (dst + 0.5) * in / out - 0.5, clamped at 0.
  auto source = [](int dst, int in, int out_size, int& lo, int& hi, float& frac) {
    double s = std::max(0.0, (dst + 0.5) * double(in) / out_size - 0.5);
    lo = std::min(static_cast<int>(s), in - 1);
    hi = std::min(lo + 1, in - 1);
    frac = static_cast<float>(s - lo);
  };
  std::vector<int> x_lo(width), x_hi(width);
  std::vector<float> x_frac(width);
  for (int x = 0; x < width; ++x) source(x, in_w, width, x_lo[x], x_hi[x], x_frac[x]);
  const uint8_t* src = image.data();
  uint8_t* dst = out.data();
  for (int y = 0; y < height; ++y) {
    int y_lo, y_hi;
    float fy;
    source(y, in_h, height, y_lo, y_hi, fy);
    const uint8_t* row_lo = src + static_cast<size_t>(y_lo) * in_w * c;
    const uint8_t* row_hi = src + static_cast<size_t>(y_hi) * in_w * c;
    for (int x = 0; x < width; ++x) {
      float fx = x_frac[x];
      for (int k = 0; k < c; ++k) {
        float top = row_lo[x_lo[x] * c + k] * (1 - fx) + row_lo[x_hi[x] * c + k] * fx;
        float bottom = row_hi[x_lo[x] * c + k] * (1 - fx) + row_hi[x_hi[x] * c + k] * fx;
        float v = top * (1 - fy) + bottom * fy;
        dst[(static_cast<size_t>(y) * width + x) * c + k] = static_cast<uint8_t>(std::min(255.0f, v + 0.5f));
      }
    }
  }
  return out;
}

}  // namespace iris
