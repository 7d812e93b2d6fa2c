// The one translation unit that compiles stb_image and stb_image_write (single-header libraries:
// the implementation is instantiated where these macros are defined). Everything else includes
// the headers for declarations only. Leaves out: stb's stdio helpers are compiled but unused here
// (image/image.cpp reads and writes files itself so errors and atomic writes are ours).
// PNG compression goes through zlib (already linked for the IDX files): several times faster than
// stb's built-in deflate, and smaller files.
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_WRITE_IMPLEMENTATION
// Only the decoders iris reads: less code facing untrusted files (stb's GIF, PSD, TGA, HDR, PIC and
// PNM readers are left out, and with them their known memory-safety bugs).
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP

#include <cstdlib>
#include <zlib.h>

namespace {
// stb_image_write's STBIW_ZLIB_COMPRESS hook: a zlib stream of `data` in a malloc'd buffer (stb frees
// it), or null on failure (stb then reports the write as failed). stb's quality 8 maps to zlib level 6.
unsigned char* iris_png_deflate(unsigned char* data, int data_len, int* out_len, int quality) {
  uLongf size = compressBound(static_cast<uLong>(data_len));
  auto* out = static_cast<unsigned char*>(std::malloc(size));
  if (!out) return nullptr;
  int level = quality >= 8 ? 6 : quality < 1 ? 1 : quality;
  if (compress2(out, &size, data, static_cast<uLong>(data_len), level) != Z_OK) {
    std::free(out);
    return nullptr;
  }
  *out_len = static_cast<int>(size);
  return out;
}
}  // namespace
#define STBIW_ZLIB_COMPRESS iris_png_deflate

#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wall"
#pragma GCC diagnostic ignored "-Wextra"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-function"
#endif
#include <stb_image.h>
#include <stb_image_write.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
