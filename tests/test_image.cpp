// Images, the built-in font and the canvas: PNG round trips (exact pixels), loading corrupt,
// truncated, oversized and missing files (errors name the file), tensor conversions, channel
// conversion, bilinear resize against PyTorch, glyph pixels, lines, rectangles, pasting, grids, boxes.
#include <stb_image_write.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "image/draw.h"
#include "io/file_util.h"
#include "image/font.h"
#include "image/image.h"
#include "tests/helpers.h"

using namespace iris;

namespace {

// A fresh folder under /tmp, removed (files first) when the test ends.
struct TempDir {
  std::string path;
  TempDir() {
    char pattern[] = "/tmp/iris_test_image_XXXXXX";
    char* made = mkdtemp(pattern);
    REQUIRE(made != nullptr);
    path = made;
  }
  ~TempDir() {
    std::string cmd = "rm -rf '" + path + "'";
    if (std::system(cmd.c_str()) != 0) std::fprintf(stderr, "could not remove %s\n", path.c_str());
  }
  std::string file(const std::string& name) const { return path + "/" + name; }
};

Image patterned_image(int height, int width, int channels, int seed) {
  Image image(height, width, channels);
  for (size_t i = 0; i < image.size_bytes(); ++i) image.data()[i] = static_cast<uint8_t>((i * 37 + seed * 101) % 256);
  return image;
}

bool same_pixels(const Image& a, const Image& b) {
  return a.height() == b.height() && a.width() == b.width() && a.channels() == b.channels() &&
         std::equal(a.data(), a.data() + a.size_bytes(), b.data());
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A 16x16 baseline JPEG (4:4:4): the left 8 columns (200, 100, 50), the right 8 (30, 60, 220).
// Made with Pillow (stb_image_write's JPEG encoder trips UBSan, so the test does not encode one):
//   im = Image.new("RGB", (16, 16), (200, 100, 50)); im.paste((30, 60, 220), (8, 0, 16, 16))
//   im.save(buf, format="JPEG", quality=90, subsampling=0)
const std::string kTwoColourJpeg(
    "\xff\xd8\xff\xe0\x00\x10\x4a\x46\x49\x46\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xdb\x00\x43\x00\x03\x02\x02"
    "\x03\x02\x02\x03\x03\x03\x03\x04\x03\x03\x04\x05\x08\x05\x05\x04\x04\x05\x0a\x07\x07\x06\x08\x0c\x0a\x0c\x0c\x0b"
    "\x0a\x0b\x0b\x0d\x0e\x12\x10\x0d\x0e\x11\x0e\x0b\x0b\x10\x16\x10\x11\x13\x14\x15\x15\x15\x0c\x0f\x17\x18\x16\x14"
    "\x18\x12\x14\x15\x14\xff\xdb\x00\x43\x01\x03\x04\x04\x05\x04\x05\x09\x05\x05\x09\x14\x0d\x0b\x0d\x14\x14\x14\x14"
    "\x14\x14\x14\x14\x14\x14\x14\x14\x14\x14\x14\x14\x14\x14\x14\x14\x14\x14\x14\x14\x14\x14\x14\x14\x14\x14\x14\x14"
    "\x14\x14\x14\x14\x14\x14\x14\x14\x14\x14\x14\x14\x14\x14\x14\x14\x14\x14\xff\xc0\x00\x11\x08\x00\x10\x00\x10\x03"
    "\x01\x11\x00\x02\x11\x01\x03\x11\x01\xff\xc4\x00\x1f\x00\x00\x01\x05\x01\x01\x01\x01\x01\x01\x00\x00\x00\x00\x00"
    "\x00\x00\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\xff\xc4\x00\xb5\x10\x00\x02\x01\x03\x03\x02\x04\x03\x05"
    "\x05\x04\x04\x00\x00\x01\x7d\x01\x02\x03\x00\x04\x11\x05\x12\x21\x31\x41\x06\x13\x51\x61\x07\x22\x71\x14\x32\x81"
    "\x91\xa1\x08\x23\x42\xb1\xc1\x15\x52\xd1\xf0\x24\x33\x62\x72\x82\x09\x0a\x16\x17\x18\x19\x1a\x25\x26\x27\x28\x29"
    "\x2a\x34\x35\x36\x37\x38\x39\x3a\x43\x44\x45\x46\x47\x48\x49\x4a\x53\x54\x55\x56\x57\x58\x59\x5a\x63\x64\x65\x66"
    "\x67\x68\x69\x6a\x73\x74\x75\x76\x77\x78\x79\x7a\x83\x84\x85\x86\x87\x88\x89\x8a\x92\x93\x94\x95\x96\x97\x98\x99"
    "\x9a\xa2\xa3\xa4\xa5\xa6\xa7\xa8\xa9\xaa\xb2\xb3\xb4\xb5\xb6\xb7\xb8\xb9\xba\xc2\xc3\xc4\xc5\xc6\xc7\xc8\xc9\xca"
    "\xd2\xd3\xd4\xd5\xd6\xd7\xd8\xd9\xda\xe1\xe2\xe3\xe4\xe5\xe6\xe7\xe8\xe9\xea\xf1\xf2\xf3\xf4\xf5\xf6\xf7\xf8\xf9"
    "\xfa\xff\xc4\x00\x1f\x01\x00\x03\x01\x01\x01\x01\x01\x01\x01\x01\x01\x00\x00\x00\x00\x00\x00\x01\x02\x03\x04\x05"
    "\x06\x07\x08\x09\x0a\x0b\xff\xc4\x00\xb5\x11\x00\x02\x01\x02\x04\x04\x03\x04\x07\x05\x04\x04\x00\x01\x02\x77\x00"
    "\x01\x02\x03\x11\x04\x05\x21\x31\x06\x12\x41\x51\x07\x61\x71\x13\x22\x32\x81\x08\x14\x42\x91\xa1\xb1\xc1\x09\x23"
    "\x33\x52\xf0\x15\x62\x72\xd1\x0a\x16\x24\x34\xe1\x25\xf1\x17\x18\x19\x1a\x26\x27\x28\x29\x2a\x35\x36\x37\x38\x39"
    "\x3a\x43\x44\x45\x46\x47\x48\x49\x4a\x53\x54\x55\x56\x57\x58\x59\x5a\x63\x64\x65\x66\x67\x68\x69\x6a\x73\x74\x75"
    "\x76\x77\x78\x79\x7a\x82\x83\x84\x85\x86\x87\x88\x89\x8a\x92\x93\x94\x95\x96\x97\x98\x99\x9a\xa2\xa3\xa4\xa5\xa6"
    "\xa7\xa8\xa9\xaa\xb2\xb3\xb4\xb5\xb6\xb7\xb8\xb9\xba\xc2\xc3\xc4\xc5\xc6\xc7\xc8\xc9\xca\xd2\xd3\xd4\xd5\xd6\xd7"
    "\xd8\xd9\xda\xe2\xe3\xe4\xe5\xe6\xe7\xe8\xe9\xea\xf2\xf3\xf4\xf5\xf6\xf7\xf8\xf9\xfa\xff\xda\x00\x0c\x03\x01\x00"
    "\x02\x11\x03\x11\x00\x3f\x00\xa9\x5f\x87\x9f\xd2\x07\xcd\xb5\xfe\xa9\x9f\xc4\x87\xd2\x55\xfe\x56\x1f\xdb\x67\xcd"
    "\xb5\xfe\xa9\x9f\xc4\x87\xff\xd9",
    652);

int count_color(const Image& image, Color color) {
  int n = 0;
  for (int y = 0; y < image.height(); ++y)
    for (int x = 0; x < image.width(); ++x) n += image.pixel(y, x) == color;
  return n;
}

}  // namespace

TEST_CASE("Image basics and errors") {
  Image image(2, 3, 3, Color(10, 20, 30));
  CHECK(image.height() == 2);
  CHECK(image.width() == 3);
  CHECK(image.channels() == 3);
  CHECK(image.size_bytes() == 18);
  CHECK(image.pixel(1, 2) == Color(10, 20, 30));
  image.at(1, 2, 1) = 99;
  CHECK(image.pixel(1, 2) == Color(10, 99, 30));
  Image grey(1, 1, 1, Color(255, 0, 0));
  CHECK(grey.at(0, 0) == 76);  // BT.601 luma of pure red: 0.299 * 255
  Image rgba(1, 1, 4, Color(1, 2, 3, 4));
  CHECK(rgba.pixel(0, 0) == Color(1, 2, 3, 4));
  CHECK(Image().empty());
  CHECK_THROWS_WITH_SUBSTR(image.at(2, 0), "outside the 2x3x3 image");
  CHECK_THROWS_WITH_SUBSTR(image.at(0, 0, 3), "outside");
  CHECK_THROWS_WITH_SUBSTR(Image(2, 2, 2), "channels must be 1 (grey), 3 (RGB) or 4 (RGBA)");
  CHECK_THROWS_WITH_SUBSTR(Image(0, 2, 3), "height and width must be >= 1");
  CHECK_THROWS_WITH_SUBSTR(Image(100000, 100000, 1), "over the limit");
}

TEST_CASE("PNG round trip keeps every pixel exactly") {
  TempDir tmp;
  for (int channels : {1, 3, 4}) {
    Image original = patterned_image(7, 13, channels, channels);
    std::string path = tmp.file("round_" + std::to_string(channels) + ".png");
    save_png(path, original);
    Image loaded = load_image(path);
    CHECK(same_pixels(original, loaded));
    CHECK(same_pixels(original, decode_image(encode_png(original), "memory")));
  }
  // Conversions on load.
  Image rgb = patterned_image(4, 5, 3, 7);
  save_png(tmp.file("rgb.png"), rgb);
  Image as_rgba = load_image(tmp.file("rgb.png"), 4);
  CHECK(as_rgba.channels() == 4);
  CHECK(as_rgba.pixel(3, 4) == rgb.pixel(3, 4));
  CHECK(as_rgba.at(2, 2, 3) == 255);
  Image as_grey = load_image(tmp.file("rgb.png"), 1);
  CHECK(as_grey.channels() == 1);
  CHECK_THROWS_WITH_SUBSTR(load_image(tmp.file("rgb.png"), 2), "channels must be 0 (as stored)");
  CHECK_THROWS_WITH_SUBSTR(save_png(tmp.file("x.png"), Image()), "the image is empty");
  // Saving over an existing file replaces it; no temporary files stay behind.
  save_png(tmp.file("rgb.png"), patterned_image(2, 2, 1, 1));
  CHECK(load_image(tmp.file("rgb.png")).channels() == 1);
}

TEST_CASE("JPEG and BMP load") {
  TempDir tmp;
  REQUIRE(kTwoColourJpeg.size() == 652);
  write_bytes(tmp.file("two.jpg"), kTwoColourJpeg);
  Image loaded = load_image(tmp.file("two.jpg"));
  REQUIRE(loaded.channels() == 3);
  CHECK(loaded.height() == 16);
  CHECK(loaded.width() == 16);
  auto near = [](Color a, Color b) { return std::abs(a.r - b.r) <= 4 && std::abs(a.g - b.g) <= 4 && std::abs(a.b - b.b) <= 4; };
  CHECK(near(loaded.pixel(8, 3), Color(200, 100, 50)));
  CHECK(near(loaded.pixel(8, 12), Color(30, 60, 220)));
  CHECK(near(loaded.pixel(0, 0), Color(200, 100, 50)));
  CHECK(near(loaded.pixel(15, 15), Color(30, 60, 220)));
  CHECK(load_image(tmp.file("two.jpg"), 1).channels() == 1);
  Image small = patterned_image(3, 4, 3, 2);
  REQUIRE(stbi_write_bmp(tmp.file("small.bmp").c_str(), 4, 3, 3, small.data()));
  CHECK(same_pixels(small, load_image(tmp.file("small.bmp"))));
}

TEST_CASE("corrupt, truncated, empty, missing and oversized files are errors naming the file") {
  TempDir tmp;
  std::string png = encode_png(patterned_image(32, 32, 3, 5));
  const std::string& jpeg = kTwoColourJpeg;

  write_bytes(tmp.file("half.png"), png.substr(0, png.size() / 2));
  CHECK_THROWS_WITH_SUBSTR(load_image(tmp.file("half.png")), tmp.file("half.png"));
  write_bytes(tmp.file("header_only.png"), png.substr(0, 40));
  CHECK_THROWS_WITH_SUBSTR(load_image(tmp.file("header_only.png")), "header_only.png");

  // The image data (after the 8-byte signature and the 25-byte IHDR chunk) overwritten with noise.
  std::string corrupt = png;
  for (size_t i = 45; i < corrupt.size() - 12; ++i) corrupt[i] = static_cast<char>((i * 131) & 0xFF);
  write_bytes(tmp.file("corrupt.png"), corrupt);
  CHECK_THROWS_WITH_SUBSTR(load_image(tmp.file("corrupt.png")), "corrupt.png");

  write_bytes(tmp.file("half.jpg"), jpeg.substr(0, jpeg.size() / 2));
  CHECK_THROWS_WITH_SUBSTR(load_image(tmp.file("half.jpg")), "half.jpg");
  CHECK_THROWS_WITH_SUBSTR(load_image(tmp.file("half.jpg")), "truncated JPEG");
  write_bytes(tmp.file("cut.jpg"), jpeg.substr(0, jpeg.size() - 10));  // inside the scan data
  CHECK_THROWS_WITH_SUBSTR(load_image(tmp.file("cut.jpg")), "cut.jpg': truncated JPEG");
  // A Huffman table declaring 16 x 255 codes (stb_image 2.27 would write past its tables).
  std::string oversized_table = jpeg;
  size_t dht = oversized_table.find("\xFF\xC4");
  REQUIRE(dht != std::string::npos);
  for (int i = 0; i < 16; ++i) oversized_table[dht + 5 + i] = '\xFF';
  write_bytes(tmp.file("dht.jpg"), oversized_table);
  CHECK_THROWS_WITH_SUBSTR(load_image(tmp.file("dht.jpg")), "corrupt JPEG: a Huffman table (DHT) declares 4080 codes");
  CHECK_THROWS_WITH_SUBSTR(decode_image("GIF89a" + std::string(40, '\0'), "anim.gif"),
                           "'anim.gif' is not a PNG, JPEG or BMP file (GIF)");
  write_bytes(tmp.file("stub.jpg"), jpeg.substr(0, 20));
  CHECK_THROWS_WITH_SUBSTR(load_image(tmp.file("stub.jpg")), "stub.jpg");

  write_bytes(tmp.file("noise.png"), std::string(300, '\x5a'));
  CHECK_THROWS_WITH_SUBSTR(load_image(tmp.file("noise.png")), "noise.png");
  write_bytes(tmp.file("empty.png"), "");
  CHECK_THROWS_WITH_SUBSTR(load_image(tmp.file("empty.png")), "empty.png' is empty");
  CHECK_THROWS_WITH_SUBSTR(load_image(tmp.file("missing.png")), "missing.png");
  CHECK_THROWS_WITH_SUBSTR(load_image(tmp.path), "load_image");

  // A header claiming 10000 x 10000 grey pixels (1e8 > kMaxImagePixels) is refused before decoding.
  std::string huge = png.substr(0, 33);
  auto put32 = [&](size_t at, uint32_t v) {
    for (int k = 0; k < 4; ++k) huge[at + k] = static_cast<char>((v >> (24 - 8 * k)) & 0xFF);
  };
  put32(16, 10000);  // IHDR width
  put32(20, 10000);  // IHDR height
  huge[24] = 8;      // bit depth
  huge[25] = 0;      // colour type: grey
  huge += png.substr(33);
  write_bytes(tmp.file("huge.png"), huge);
  CHECK_THROWS_WITH_SUBSTR(load_image(tmp.file("huge.png")), "over the limit");
  CHECK_THROWS_WITH_SUBSTR(load_image(tmp.file("huge.png")), "huge.png");
  // 100000 x 100000 and 0 x 0 once said "unknown image type" (stb's last probe's message)
  put32(16, 100000);
  put32(20, 100000);
  write_bytes(tmp.file("vast.png"), huge);
  CHECK_THROWS_WITH_SUBSTR(load_image(tmp.file("vast.png")), "is 100000x100000 pixels, over the limit");
  put32(16, 0);
  put32(20, 0);
  write_bytes(tmp.file("zero.png"), huge);
  CHECK_THROWS_WITH_SUBSTR(load_image(tmp.file("zero.png")), "its header says 0x0 pixels");
}

TEST_CASE("Image <-> Tensor") {
  Image image = patterned_image(3, 4, 3, 9);
  Tensor chw = image_to_tensor(image);
  REQUIRE(chw.shape() == Shape{3, 3, 4});
  CHECK(chw.dtype() == DType::f32);
  std::vector<float> values = chw.to_vector<float>();
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < 3; ++y)
      for (int x = 0; x < 4; ++x) CHECK(values[(c * 3 + y) * 4 + x] == doctest::Approx(image.at(y, x, c) / 255.0));
  CHECK(same_pixels(tensor_to_image(chw), image));
  Tensor u8 = image_to_tensor_u8(image);
  CHECK(u8.dtype() == DType::u8);
  CHECK(u8.shape() == Shape{3, 3, 4});
  CHECK(u8.to_vector<uint8_t>()[1 * 12 + 2 * 4 + 3] == image.at(2, 3, 1));
  CHECK(same_pixels(tensor_to_image(u8), image));
  // Non-contiguous and f64 input, clamping and NaN.
  CHECK(same_pixels(tensor_to_image(iris::testing::noncontiguous(chw.to(DType::f64))), image));
  Tensor wild = from_vector<float>({-1.0f, 2.0f, NAN, 0.5f}, {2, 2});
  Image grey = tensor_to_image(wild);
  CHECK(grey.channels() == 1);
  CHECK(grey.at(0, 0) == 0);
  CHECK(grey.at(0, 1) == 255);
  CHECK(grey.at(1, 0) == 0);
  CHECK(grey.at(1, 1) == 128);
  CHECK_THROWS_WITH_SUBSTR(tensor_to_image(zeros({2, 3, 4})), "expected 1, 3 or 4 channels");
  CHECK_THROWS_WITH_SUBSTR(tensor_to_image(zeros({1, 3, 4, 4})), "expected [C, H, W] or [H, W]");
  CHECK_THROWS_WITH_SUBSTR(tensor_to_image(zeros({3, 4, 4}, DType::i64)), "expects a floating tensor");
  CHECK_THROWS_WITH_SUBSTR(tensor_to_image(zeros({3, 0, 4})), "must be >= 1");
  CHECK_THROWS_WITH_SUBSTR(tensor_to_image(Tensor()), "undefined");
}

TEST_CASE("convert_channels and bilinear resize") {
  Image rgb(1, 2, 3, Color(255, 0, 0));
  rgb.at(0, 1, 0) = 0, rgb.at(0, 1, 2) = 255;  // second pixel blue
  Image grey = convert_channels(rgb, 1);
  CHECK(grey.at(0, 0) == 76);
  CHECK(grey.at(0, 1) == 29);
  Image back = convert_channels(grey, 3);
  CHECK(back.pixel(0, 1) == Color(29, 29, 29));
  Image rgba = convert_channels(rgb, 4);
  CHECK(rgba.pixel(0, 1) == Color(0, 0, 255, 255));
  CHECK(convert_channels(rgba, 3).pixel(0, 1) == Color(0, 0, 255));

  // Reference: torch.nn.functional.interpolate(x, size=(4, 4), mode="bilinear", align_corners=False)
  // with x = torch.tensor([[[[0., 100.], [200., 255.]]]]), then .round().
  Image two(2, 2, 1);
  two.at(0, 0) = 0, two.at(0, 1) = 100, two.at(1, 0) = 200, two.at(1, 1) = 255;
  const int expected[4][4] = {{0, 25, 75, 100}, {50, 72, 117, 139}, {150, 167, 200, 216}, {200, 214, 241, 255}};
  Image four = resize(two, 4, 4);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4; ++x) CHECK_MESSAGE(four.at(y, x) == expected[y][x], "y ", y, " x ", x);
  // Downsampling 3x5 -> 2x3 (antialias=False); PyTorch gives fractional values, we round to nearest.
  //   x = torch.tensor([[[[10.,20.,30.,40.,50.],[60.,70.,80.,90.,100.],[0,0,0,0,0]]]])
  //   F.interpolate(x, size=(2, 3), mode="bilinear", align_corners=False, antialias=False)
  const double down[2][3] = {{25.833332, 42.5, 59.166668}, {15.833333, 20.0, 24.166666}};
  Image wide(3, 5, 1);
  const int rows[3][5] = {{10, 20, 30, 40, 50}, {60, 70, 80, 90, 100}, {0, 0, 0, 0, 0}};
  for (int y = 0; y < 3; ++y)
    for (int x = 0; x < 5; ++x) wide.at(y, x) = static_cast<uint8_t>(rows[y][x]);
  Image small = resize(wide, 2, 3);
  for (int y = 0; y < 2; ++y)
    for (int x = 0; x < 3; ++x) CHECK(std::fabs(small.at(y, x) - down[y][x]) <= 0.5 + 1e-6);
  // A flat colour stays flat at any size; the same size is a copy.
  Image flat(5, 7, 3, Color(9, 99, 199));
  Image big = resize(flat, 11, 3);
  CHECK(count_color(big, Color(9, 99, 199)) == 33);
  CHECK(same_pixels(resize(wide, 3, 5), wide));
  CHECK_THROWS_WITH_SUBSTR(resize(flat, 0, 4), "must be >= 1");
  CHECK_THROWS_WITH_SUBSTR(resize(Image(), 4, 4), "empty");
  CHECK_THROWS_WITH_SUBSTR(convert_channels(flat, 2), "channels must be");
}

TEST_CASE("font: glyph pixels, measurement, drawing") {
  // 'A' is ".###." over "#...#": the apex row has its middle three pixels, the bar row is full.
  for (int x = 0; x < 5; ++x) CHECK(font::glyph_pixel('A', x, 0) == (x >= 1 && x <= 3));
  for (int x = 0; x < 5; ++x) CHECK(font::glyph_pixel('A', x, 3));
  CHECK(font::glyph_pixel('A', 0, 6));
  CHECK_FALSE(font::glyph_pixel('A', 2, 6));
  CHECK_FALSE(font::glyph_pixel('A', 2, 8));  // no descender
  CHECK(font::glyph_pixel('g', 1, 8));        // descender
  CHECK(font::glyph_pixel('|', 2, 7));
  for (int y = 0; y < font::kGlyphHeight; ++y)
    for (int x = 0; x < font::kGlyphWidth; ++x) CHECK_FALSE(font::glyph_pixel(' ', x, y));
  CHECK_FALSE(font::glyph_pixel('A', 5, 0));
  CHECK_FALSE(font::glyph_pixel('A', -1, 0));
  // Every printable character but space has ink; outside ASCII reads as '?'.
  for (int c = 33; c < 127; ++c) {
    int ink = 0;
    for (int y = 0; y < font::kGlyphHeight; ++y)
      for (int x = 0; x < font::kGlyphWidth; ++x) ink += font::glyph_pixel(static_cast<char>(c), x, y);
    CHECK_MESSAGE(ink > 0, "glyph ", c);
  }
  for (int y = 0; y < font::kGlyphHeight; ++y)
    for (int x = 0; x < font::kGlyphWidth; ++x)
      CHECK(font::glyph_pixel('\x01', x, y) == font::glyph_pixel('?', x, y));

  CHECK(font::text_width("") == 0);
  CHECK(font::text_width("A") == 5);
  CHECK(font::text_width("AB") == 11);
  CHECK(font::text_width("AB", 3) == 33);
  CHECK(font::text_width("ABC\nA") == 17);
  CHECK(font::text_width("\xC2\xB5m") == 11);  // "µm": one '?' for the two-byte code point
  CHECK(font::text_height("x") == 9);
  CHECK(font::text_height("x\ny", 2) == (11 + 9) * 2);
  CHECK_THROWS_WITH_SUBSTR(font::text_width("a", 0), "scale must be in [1, 64]");

  Image image(24, 30, 3, colors::white);
  draw_text(image, 2, 3, "A", colors::black, 2);
  // Scale 2: glyph pixel (gx, gy) covers image pixels (2 + 2gx .. +1, 3 + 2gy .. +1).
  for (int gy = 0; gy < 9; ++gy)
    for (int gx = 0; gx < 5; ++gx) {
      Color expected = font::glyph_pixel('A', gx, gy) ? colors::black : colors::white;
      CHECK(image.pixel(3 + 2 * gy, 2 + 2 * gx) == expected);
      CHECK(image.pixel(4 + 2 * gy, 3 + 2 * gx) == expected);
    }
  CHECK(count_color(image, colors::black) == 4 * 18);  // 'A' has 18 ink pixels
  draw_text(image, 25, -5, "WWW", colors::black, 3);    // clipped, no crash
  Image grey(10, 10, 1, uint8_t(255));
  draw_text(grey, 0, 0, "I", colors::black);
  CHECK(grey.at(0, 1) == 0);
}

TEST_CASE("lines at any angle, rectangles, pixels") {
  Image image(20, 20, 3, colors::white);
  set_pixel(image, -1, 5, colors::red);  // outside: nothing
  set_pixel(image, 20, 5, colors::red);
  CHECK(count_color(image, colors::white) == 400);
  set_pixel(image, 3, 4, colors::red);
  CHECK(image.pixel(4, 3) == colors::red);

  image = Image(20, 20, 3, colors::white);
  draw_line(image, 2, 5, 12, 5, colors::black);  // horizontal, both ends included
  for (int x = 2; x <= 12; ++x) CHECK(image.pixel(5, x) == colors::black);
  CHECK(count_color(image, colors::black) == 11);
  image = Image(20, 20, 3, colors::white);
  draw_line(image, 7, 15, 7, 3, colors::black);  // vertical, drawn upwards
  for (int y = 3; y <= 15; ++y) CHECK(image.pixel(y, 7) == colors::black);
  CHECK(count_color(image, colors::black) == 13);
  image = Image(20, 20, 3, colors::white);
  draw_line(image, 1, 1, 10, 10, colors::black);  // diagonal
  for (int i = 1; i <= 10; ++i) CHECK(image.pixel(i, i) == colors::black);
  CHECK(count_color(image, colors::black) == 10);
  // A steep line: one pixel per row, each within half a pixel of the true line.
  image = Image(20, 20, 3, colors::white);
  draw_line(image, 3, 0, 8, 17, colors::black);
  CHECK(count_color(image, colors::black) == 18);
  for (int y = 0; y <= 17; ++y) {
    int hits = 0;
    for (int x = 0; x < 20; ++x)
      if (image.pixel(y, x) == colors::black) {
        ++hits;
        CHECK(std::fabs(x - (3 + 5.0 * y / 17)) <= 0.5 + 1e-9);
      }
    CHECK(hits == 1);
  }
  // Far-away endpoints are clipped (no hang) and the visible part is still drawn.
  image = Image(20, 20, 3, colors::white);
  draw_line(image, -2000000000, 10, 2000000000, 10, colors::black);
  CHECK(count_color(image, colors::black) == 20);
  draw_line(image, -50, -50, -10, -90, colors::black);  // entirely outside
  CHECK(count_color(image, colors::black) == 20);
  // Thickness 3: a 3-pixel band.
  image = Image(20, 20, 3, colors::white);
  draw_line(image, 5, 10, 14, 10, colors::black, 3);
  CHECK(count_color(image, colors::black) == 3 * 12);
  CHECK_THROWS_WITH_SUBSTR(draw_line(image, 0, 0, 1, 1, colors::black, 0), "thickness must be in");

  // Outline: the border pixels only.
  image = Image(20, 20, 3, colors::white);
  draw_rect(image, 2, 3, 10, 6, colors::blue);
  for (int x = 2; x < 12; ++x) {
    CHECK(image.pixel(3, x) == colors::blue);
    CHECK(image.pixel(8, x) == colors::blue);
  }
  for (int y = 3; y < 9; ++y) {
    CHECK(image.pixel(y, 2) == colors::blue);
    CHECK(image.pixel(y, 11) == colors::blue);
  }
  CHECK(image.pixel(5, 5) == colors::white);
  CHECK(count_color(image, colors::blue) == 2 * 10 + 2 * 4);
  image = Image(20, 20, 3, colors::white);
  draw_rect(image, 2, 3, 10, 6, colors::blue, 2);
  CHECK(count_color(image, colors::blue) == 10 * 6 - 6 * 2);
  fill_rect(image, -5, -5, 8, 9, colors::green);  // clipped to 3 x 4
  CHECK(count_color(image, colors::green) == 12);
  fill_rect(image, 5, 5, 0, 3, colors::red);
  CHECK(count_color(image, colors::red) == 0);
  // Half-transparent colour blends.
  Image blend(1, 1, 3, colors::white);
  set_pixel(blend, 0, 0, Color(0, 0, 0, 128));
  CHECK(std::abs(blend.at(0, 0, 0) - 127) <= 1);
  Image no_pixels;
  CHECK_THROWS_WITH_SUBSTR(draw_rect(no_pixels, 0, 0, 1, 1, colors::red), "empty");
}

TEST_CASE("paste_image scales and converts") {
  Image canvas(10, 10, 3, colors::white);
  Image dot(2, 2, 1, uint8_t(0));
  dot.at(0, 1) = 255;
  paste_image(canvas, dot, 1, 1, 4, 4);  // a whole factor: nearest neighbour
  CHECK(canvas.pixel(1, 1) == colors::black);
  CHECK(canvas.pixel(2, 2) == colors::black);
  CHECK(canvas.pixel(1, 3) == colors::white);
  CHECK(canvas.pixel(4, 4) == colors::black);
  paste_image(canvas, dot, 8, 8);  // partly outside: clipped
  CHECK(canvas.pixel(8, 8) == colors::black);
  paste_image(canvas, dot, -100, -100, 3, 3);
  // Transparent source pixels leave the target alone.
  Image clear(2, 2, 4, Color(255, 0, 0, 0));
  Image target(2, 2, 3, colors::blue);
  paste_image(target, clear, 0, 0);
  CHECK(count_color(target, colors::blue) == 4);
  Image non_whole = Image(3, 3, 3, colors::white);
  paste_image(non_whole, Image(2, 2, 3, colors::red), 0, 0, 3, 3);  // bilinear of a flat colour
  CHECK(count_color(non_whole, colors::red) == 9);
  CHECK_THROWS_WITH_SUBSTR(paste_image(canvas, dot, 0, 0, -2, 3), "width must be -1");
}

TEST_CASE("image grid with coloured captions") {
  std::vector<GridCell> cells;
  for (int i = 0; i < 5; ++i) {
    Image digit(28, 28, 1, uint8_t(40 * i));
    cells.push_back(prediction_cell(digit, i % 2 ? "bag" : "shirt", "shirt"));
  }
  CHECK(cells[0].caption == "shirt / shirt");
  CHECK(cells[0].caption_color == colors::green);
  CHECK(cells[1].caption_color == colors::red);
  GridOptions options;
  options.columns = 3;
  Image grid = make_image_grid(cells, options);
  // 28 px images enlarge 3x to 84; captions fit in 84 px; 3 columns, 2 rows with padding 6.
  CHECK(grid.width() == 6 + 3 * (84 + 6));
  int caption_height = 3 + 9;
  CHECK(grid.height() == 6 + 2 * (84 + caption_height + 6));
  CHECK(count_color(grid, colors::green) > 20);
  CHECK(count_color(grid, colors::red) > 20);
  // Cell 4 (row 1, column 1) shows grey 160 across its image area.
  CHECK(grid.pixel(6 + 84 + caption_height + 6 + 40, 6 + 90 + 40) == Color(160, 160, 160));
  GridOptions titled;
  titled.title = "predicted / true";
  Image with_title = make_image_grid(cells, titled);
  CHECK(with_title.height() > grid.height() - 100);
  CHECK_THROWS_WITH_SUBSTR(make_image_grid({}), "no cells");
  cells[2].image = Image();
  CHECK_THROWS_WITH_SUBSTR(make_image_grid(cells), "cell 2 has an empty image");
}

TEST_CASE("boxes with labels: outlines inside [x0, x1) x [y0, y1)") {
  Image image(60, 80, 3, colors::white);
  draw_boxes(image, {{Box{10.2, 20.0, 50.0, 55.0}, "cat 0.9", colors::red}, {Box{70, 50, 60, 40}, "", colors::blue}}, 1);
  CHECK(image.pixel(20, 10) == colors::red);   // the top-left corner pixel
  CHECK(image.pixel(54, 49) == colors::red);   // the last row and column inside the box
  CHECK(image.pixel(55, 49) == colors::white); // x1/y1 are exclusive: nothing drawn on row 55
  CHECK(image.pixel(54, 50) == colors::white);
  CHECK(image.pixel(30, 10) == colors::red);
  CHECK(image.pixel(30, 30) == colors::white);
  CHECK(image.pixel(40, 60) == colors::blue);  // swapped corners still draw
  // The label sits above the box on the box colour, with white text.
  CHECK(image.pixel(19, 10) == colors::red);
  CHECK(count_color(image, colors::white) > 0);
  CHECK_THROWS_WITH_SUBSTR(draw_boxes(image, {{Box{NAN, 0, 1, 1}, "", colors::red}}), "non-finite corner");
  Image tiny(8, 8, 3, colors::white);
  draw_boxes(tiny, {{Box{3.2, 3.1, 3.3, 3.4}, "", colors::red}});  // under a pixel: a one-pixel mark
  CHECK(tiny.pixel(3, 3) == colors::red);
  draw_boxes(image, {{Box{-1e30, -1e30, 1e30, 1e30}, "everything", colors::green}});  // clamped, no crash
}
