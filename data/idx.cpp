// IDX reader (gzip through zlib) and Fashion-MNIST loading.
#include "data/idx.h"

#include "autograd/ops.h"

#include <zlib.h>

#include <cstdlib>
#include <cstring>
#include <fstream>

namespace iris::data {

namespace {

constexpr int64_t kMaxIdxBytes = int64_t(1) << 31;  // 2 GiB of pixels is far beyond any IDX data set

// Reads up to `n` bytes; returns how many were read. Throws on a zlib error.
size_t gz_read(gzFile f, void* buf, size_t n, const std::string& path) {
  size_t total = 0;
  char* p = static_cast<char*>(buf);
  while (total < n) {
    unsigned chunk = static_cast<unsigned>(std::min<size_t>(n - total, 1u << 30));
    int got = gzread(f, p + total, chunk);
    if (got < 0) {
      int err = 0;
      const char* msg = gzerror(f, &err);
      throw Error(cat_str(path, ": cannot decompress (", msg ? msg : "zlib error", "); the file is corrupt"));
    }
    if (got == 0) break;
    total += static_cast<size_t>(got);
  }
  return total;
}

struct GzCloser {
  void operator()(gzFile f) const {
    if (f) gzclose(f);
  }
};

}  // namespace

Tensor read_idx(const std::string& path) {
  std::unique_ptr<gzFile_s, GzCloser> f(gzopen(path.c_str(), "rb"));
  IRIS_CHECK(f != nullptr, path, ": cannot open (", std::strerror(errno), ")");
  unsigned char magic[4];
  IRIS_CHECK(gz_read(f.get(), magic, 4, path) == 4, path, ": too short for an IDX header");
  IRIS_CHECK(magic[0] == 0 && magic[1] == 0, path, ": not an IDX file (the magic number must start with two zero bytes)");
  IRIS_CHECK(magic[2] == 0x08, path, ": IDX element type 0x", std::hex, int(magic[2]),
             " is not supported (only unsigned bytes, 0x08)");
  int rank = magic[3];
  IRIS_CHECK(rank >= 1 && rank <= 4, path, ": IDX rank ", rank, " is outside 1..4");
  Shape shape;
  int64_t count = 1;
  for (int i = 0; i < rank; ++i) {
    unsigned char b[4];
    IRIS_CHECK(gz_read(f.get(), b, 4, path) == 4, path, ": truncated IDX header");
    int64_t d = (int64_t(b[0]) << 24) | (int64_t(b[1]) << 16) | (int64_t(b[2]) << 8) | int64_t(b[3]);
    IRIS_CHECK(d > 0 && d <= kMaxIdxBytes, path, ": IDX dim ", i, " has an invalid size ", d);
    count *= d;
    IRIS_CHECK(count <= kMaxIdxBytes, path, ": IDX data of ", count, "+ bytes is too large");
    shape.push_back(d);
  }
  Tensor t = empty(shape, DType::u8);
  size_t got = gz_read(f.get(), t.raw_data(), static_cast<size_t>(count), path);
  IRIS_CHECK(static_cast<int64_t>(got) == count, path, ": truncated: the header promises ", count,
             " bytes of data, the file has ", got);
  char extra;
  IRIS_CHECK(gz_read(f.get(), &extra, 1, path) == 0, path, ": has data after the ", count,
             " bytes its header describes; the file is corrupt");
  return t;
}

std::string fashion_mnist_dir(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("IRIS_DATA"); env && *env) return env;
  return "/usr/share/datasets/fashion-mnist";
}

LabelledImages load_fashion_mnist(const std::string& dir, bool train) {
  std::string prefix = train ? "train" : "t10k";
  std::string images = dir + "/" + prefix + "-images-idx3-ubyte.gz";
  std::string labels = dir + "/" + prefix + "-labels-idx1-ubyte.gz";
  for (const std::string& p : {images, labels}) {
    std::ifstream probe(p);
    IRIS_CHECK(probe.good(), "Fashion-MNIST not found: ", p,
               " is missing. Install Debian's package with `sudo apt-get install dataset-fashion-mnist` "
               "(or `make deps`), or point --data or IRIS_DATA at a folder holding the four "
               "*-idx?-ubyte.gz files.");
  }
  LabelledImages out;
  out.images = read_idx(images);
  Tensor y = read_idx(labels);
  IRIS_CHECK(out.images.dim() == 3, images, ": expected [N, H, W] images, got shape ", shape_str(out.images.shape()));
  IRIS_CHECK(y.dim() == 1, labels, ": expected labels of shape [N], got ", shape_str(y.shape()));
  IRIS_CHECK(y.shape()[0] == out.images.shape()[0], labels, ": ", y.numel(), " labels for ",
             out.images.shape()[0], " images (", images, ")");
  out.labels = y.to(DType::i64);
  IRIS_CHECK(max(out.labels).item() < 10, labels, ": labels must be 0..9");
  return out;
}

const std::vector<std::string>& fashion_mnist_classes() {
  static const std::vector<std::string> names = {"T-shirt/top", "trouser", "pullover", "dress", "coat",
                                                 "sandal",      "shirt",   "sneaker",  "bag",   "ankle boot"};
  return names;
}

}  // namespace iris::data
