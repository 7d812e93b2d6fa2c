// The one translation unit that compiles stb_image and stb_image_write (single-header libraries:
// the implementation is instantiated where these macros are defined). Everything else includes
// the headers for declarations only. Leaves out: stb's stdio helpers are compiled but unused here
// (data/image.cpp reads and writes files itself so errors and atomic writes are ours).
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_WRITE_IMPLEMENTATION
// Only the decoders iris reads: less code facing untrusted files (stb's GIF, PSD, TGA, HDR, PIC and
// PNM readers are left out, and with them their known memory-safety bugs).
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP

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
