// ImageFolderDataset on folders built in /tmp: classes sorted by name, images sorted by path (nested
// folders included, hidden and non-image files left out), labels, resize and channel conversion of the
// pixels, batches through the DataLoader, corrupt files (an error naming the file, or skipped and listed
// with skip_corrupt), and the errors for missing/empty folders and bad options.
#include <stb_image_write.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "io/file_util.h"
#include "image/image.h"
#include "data/image_folder.h"
#include "tests/helpers.h"

using namespace iris;
using namespace iris::data;

namespace {

// A fresh folder under /tmp, removed when the test ends.
struct TempDir {
  std::string path;
  TempDir() {
    char pattern[] = "/tmp/iris_test_image_folder_XXXXXX";
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

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

Image solid(int height, int width, Color c) { return Image(height, width, 3, c); }

// Fixture PNGs without save_png's fsync (dozens of fsyncs cost seconds on a busy disk).
void write_png(const std::string& path, const Image& image) { write_bytes(path, encode_png(image)); }

// A small folder: two classes (given out of order on disk), nested and odd files.
//   root/zebra/b.png (6x8, blue)  root/zebra/a.png (4x4, red)  root/zebra/more/c.bmp (10x5, green)
//   root/apple/x.PNG (20x20, white)  root/apple/y.png (3x7, black)
//   ignored: root/.hidden/h.png  root/apple/.secret.png  root/apple/notes.txt  root/readme.txt
//            root/zebra/.cache/d.png
struct Fixture {
  TempDir dir;
  std::string root;
  Fixture() {
    root = dir.file("data");
    make_dirs(root + "/zebra/more");
    make_dirs(root + "/zebra/.cache");
    make_dirs(root + "/apple");
    make_dirs(root + "/.hidden");
    write_png(root + "/zebra/b.png", solid(6, 8, colors::blue));
    write_png(root + "/zebra/a.png", solid(4, 4, colors::red));
    Image green = solid(10, 5, colors::green);
    REQUIRE(stbi_write_bmp((root + "/zebra/more/c.bmp").c_str(), 5, 10, 3, green.data()) != 0);
    write_png(root + "/apple/x.PNG", solid(20, 20, colors::white));
    write_png(root + "/apple/y.png", solid(3, 7, colors::black));
    write_png(root + "/.hidden/h.png", solid(4, 4, colors::red));
    write_png(root + "/apple/.secret.png", solid(4, 4, colors::red));
    write_png(root + "/zebra/.cache/d.png", solid(4, 4, colors::red));
    write_bytes(root + "/apple/notes.txt", "not an image");
    write_bytes(root + "/readme.txt", "one folder per class");
  }
};

ImageFolderOptions size_options(int height, int width, int channels = 3) {
  ImageFolderOptions o;
  o.height = height;
  o.width = width;
  o.channels = channels;
  return o;
}

}  // namespace

TEST_CASE("image folder: classes sorted, images sorted by path, labels; hidden and non-image files left out") {
  Fixture f;
  ImageFolderDataset ds(f.root, size_options(4, 4));
  CHECK(ds.classes() == std::vector<std::string>{"apple", "zebra"});
  REQUIRE(ds.size() == 5);
  CHECK(ds.paths() == std::vector<std::string>{f.root + "/apple/x.PNG", f.root + "/apple/y.png",
                                               f.root + "/zebra/a.png", f.root + "/zebra/b.png",
                                               f.root + "/zebra/more/c.bmp"});
  CHECK(ds.labels() == std::vector<int64_t>{0, 0, 1, 1, 1});
  CHECK(ds.skipped().empty());
  CHECK(ds.images().shape() == Shape{5, 3, 4, 4});
  CHECK(ds.images().dtype() == DType::u8);
  // The same folder again: the same tensor.
  ImageFolderDataset again(f.root, size_options(4, 4));
  CHECK(again.images().to_vector<int>() == ds.images().to_vector<int>());
  CHECK(again.paths() == ds.paths());
}

TEST_CASE("image folder: every image is resized and converted; batches are f32 [B, C, H, W] in [0, 1]") {
  Fixture f;
  ImageFolderDataset ds(f.root, size_options(5, 3));
  Generator rng(0);
  Batch b = ds.get_batch({4, 0, 2}, rng);
  REQUIRE(b.x.shape() == Shape{3, 3, 5, 3});
  CHECK(b.x.dtype() == DType::f32);
  CHECK(b.y.dtype() == DType::i64);
  CHECK(b.y.to_vector<int64_t>() == std::vector<int64_t>{1, 0, 1});
  CHECK(b.indices == std::vector<int64_t>{4, 0, 2});
  // Solid images stay solid through resizing: c.bmp green, x.PNG white, a.png red.
  std::vector<Color> expected = {colors::green, colors::white, colors::red};
  std::vector<float> x = b.x.to_vector<float>();
  for (int64_t i = 0; i < 3; ++i)
    for (int c = 0; c < 3; ++c) {
      uint8_t value = c == 0 ? expected[i].r : c == 1 ? expected[i].g : expected[i].b;
      for (int p = 0; p < 15; ++p) CHECK(x[(i * 3 + c) * 15 + p] == doctest::Approx(value / 255.0).epsilon(1e-6));
    }
  // Grey: one channel holding the luma.
  ImageFolderDataset grey(f.root, size_options(2, 2, 1));
  CHECK(grey.images().shape() == Shape{5, 1, 2, 2});
  uint8_t red_luma = convert_channels(solid(1, 1, colors::red), 1).at(0, 0);
  CHECK(grey.images().to_vector<int>()[2 * 4] == red_luma);
}

TEST_CASE("image folder: pixels land in [C, H, W] order; shrinking averages") {
  TempDir dir;
  make_dirs(dir.file("only/one"));
  Image pattern(2, 3, 3);
  for (size_t i = 0; i < pattern.size_bytes(); ++i) pattern.data()[i] = static_cast<uint8_t>(10 * i + 1);
  write_png(dir.file("only/one/p.png"), pattern);
  ImageFolderDataset same(dir.file("only"), size_options(2, 3));
  std::vector<int> chw = same.images().to_vector<int>();
  for (int y = 0; y < 2; ++y)
    for (int x = 0; x < 3; ++x)
      for (int c = 0; c < 3; ++c) CHECK(chw[(c * 2 + y) * 3 + x] == pattern.at(y, x, c));
  // A 64x64 checkerboard of black and white shrinks to an even grey.
  Image checker(64, 64, 1);
  for (int y = 0; y < 64; ++y)
    for (int x = 0; x < 64; ++x) checker.at(y, x) = ((x + y) % 2) ? 255 : 0;
  write_png(dir.file("only/one/p.png"), checker);
  ImageFolderDataset small(dir.file("only"), size_options(4, 4, 1));
  for (int v : small.images().to_vector<int>()) CHECK((v >= 126 && v <= 129));
}

TEST_CASE("image folder: through the DataLoader") {
  Fixture f;
  auto ds = std::make_shared<ImageFolderDataset>(f.root, size_options(4, 4));
  LoaderOptions opts;
  opts.batch_size = 2;
  opts.shuffle = false;
  DataLoader loader(ds, opts);
  loader.start_epoch(0);
  Batch b;
  std::vector<int64_t> labels;
  while (loader.next(b)) {
    CHECK(b.x.shape()[1] == 3);
    for (int64_t y : b.y.to_vector<int64_t>()) labels.push_back(y);
  }
  CHECK(labels == ds->labels());
}

TEST_CASE("image folder: a transform sees each f32 batch") {
  Fixture f;
  ImageFolderOptions o = size_options(4, 4);
  o.transform = [](const Tensor& x, Generator&) { return x * 0.0 + 0.5; };
  ImageFolderDataset ds(f.root, o);
  Generator rng(1);
  for (float v : ds.get_batch({0, 1}, rng).x.to_vector<float>()) CHECK(v == 0.5f);
}

TEST_CASE("image folder: a corrupt file is an error naming it, or skipped and listed") {
  Fixture f;
  std::string good = encode_png(solid(8, 8, colors::orange));
  write_bytes(f.root + "/apple/broken.png", "this is not a png at all");
  write_bytes(f.root + "/zebra/truncated.png", good.substr(0, good.size() / 2));
  write_bytes(f.root + "/zebra/empty.jpg", "");
  CHECK_THROWS_WITH_SUBSTR(ImageFolderDataset(f.root, size_options(4, 4)), f.root + "/apple/broken.png");
  ImageFolderOptions skip = size_options(4, 4);
  skip.skip_corrupt = true;
  ImageFolderDataset ds(f.root, skip);
  CHECK(ds.size() == 5);
  REQUIRE(ds.skipped().size() == 3);
  CHECK(ds.skipped()[0].find(f.root + "/apple/broken.png") != std::string::npos);
  CHECK(ds.skipped()[1].find(f.root + "/zebra/empty.jpg") != std::string::npos);
  CHECK(ds.skipped()[2].find(f.root + "/zebra/truncated.png") != std::string::npos);
  CHECK(ds.labels() == std::vector<int64_t>{0, 0, 1, 1, 1});
  // Only the corrupt file left once the others go: the truncated file alone is still named.
  std::remove((f.root + "/apple/broken.png").c_str());
  std::remove((f.root + "/zebra/empty.jpg").c_str());
  CHECK_THROWS_WITH_SUBSTR(ImageFolderDataset(f.root, size_options(4, 4)), "truncated.png");
}

TEST_CASE("image folder: errors") {
  TempDir dir;
  CHECK_THROWS_WITH_SUBSTR(ImageFolderDataset(dir.file("missing")), dir.file("missing"));
  CHECK_THROWS_WITH_SUBSTR(ImageFolderDataset(dir.file("missing")), "one sub-folder per class");
  write_bytes(dir.file("file.png"), "x");
  CHECK_THROWS_WITH_SUBSTR(ImageFolderDataset(dir.file("file.png")), "is not a folder");
  make_dirs(dir.file("flat"));
  write_png(dir.file("flat/a.png"), solid(4, 4, colors::red));
  CHECK_THROWS_WITH_SUBSTR(ImageFolderDataset(dir.file("flat")), "has no class sub-folders");
  make_dirs(dir.file("two/cat"));
  make_dirs(dir.file("two/dog"));
  write_png(dir.file("two/cat/a.png"), solid(4, 4, colors::red));
  write_bytes(dir.file("two/dog/readme.txt"), "no images here");
  CHECK_THROWS_WITH_SUBSTR(ImageFolderDataset(dir.file("two")), dir.file("two/dog") + " has no images");
  write_bytes(dir.file("two/dog/bad.png"), "corrupt");
  ImageFolderOptions skip;
  skip.skip_corrupt = true;
  CHECK_THROWS_WITH_SUBSTR(ImageFolderDataset(dir.file("two"), skip), "no image of class \"dog\" could be read");
  write_png(dir.file("two/dog/b.png"), solid(4, 4, colors::blue));
  CHECK_THROWS_WITH_SUBSTR(ImageFolderDataset(dir.file("two"), size_options(4, 4, 2)), "channels must be 1");
  CHECK_THROWS_WITH_SUBSTR(ImageFolderDataset(dir.file("two"), size_options(0, 4)), "image size 0x4");
  CHECK_THROWS_WITH_SUBSTR(ImageFolderDataset(dir.file("two"), size_options(100000, 100000)), "at most");
  ImageFolderDataset ds(dir.file("two"), skip);
  CHECK(ds.size() == 2);
  Generator rng(0);
  CHECK_THROWS_WITH_SUBSTR(ds.get_batch({0, 2}, rng), "index 2 is outside [0, 2)");
  CHECK_THROWS_WITH_SUBSTR(ds.get_batch({-1}, rng), "index -1");
}

TEST_CASE("image folder: is_image_file_name") {
  CHECK(is_image_file_name("a.png"));
  CHECK(is_image_file_name("a.JPG"));
  CHECK(is_image_file_name("photo.jpeg"));
  CHECK(is_image_file_name("x.y.Bmp"));
  CHECK(!is_image_file_name(".hidden.png"));
  CHECK(!is_image_file_name("notes.txt"));
  CHECK(!is_image_file_name("png"));
  CHECK(!is_image_file_name("a.gif"));
}
