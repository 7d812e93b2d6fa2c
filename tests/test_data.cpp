// Data pipeline: the IDX reader (plain and gzip, corrupt and truncated files), Fashion-MNIST's
// missing-data message, the DataLoader (coverage, determinism across worker counts, resume,
// errors from workers) and the augmentations.
#include <zlib.h>

#include <cstdio>
#include <fstream>
#include <set>

#include "data/augment.h"
#include "data/idx.h"
#include "data/loader.h"
#include "tests/helpers.h"

using namespace iris;
using namespace iris::data;

namespace {

std::string tmp_path(const std::string& name) { return "/tmp/iris_test_data_" + name; }

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

void write_gz(const std::string& path, const std::string& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
}

// An IDX file of unsigned bytes with the given dims and data.
std::string idx_bytes(const std::vector<uint32_t>& dims, const std::string& data) {
  std::string s = {0, 0, 0x08, static_cast<char>(dims.size())};
  for (uint32_t d : dims) {
    s += static_cast<char>(d >> 24);
    s += static_cast<char>(d >> 16);
    s += static_cast<char>(d >> 8);
    s += static_cast<char>(d);
  }
  return s + data;
}

}  // namespace

TEST_CASE("IDX files read back, plain and gzip") {
  std::string data;
  for (int i = 0; i < 24; ++i) data += static_cast<char>(i * 10);
  std::string bytes = idx_bytes({2, 3, 4}, data);
  write_bytes(tmp_path("plain.idx"), bytes);
  write_gz(tmp_path("packed.idx.gz"), bytes);
  for (const std::string& p : {tmp_path("plain.idx"), tmp_path("packed.idx.gz")}) {
    Tensor t = read_idx(p);
    CHECK(t.shape() == Shape{2, 3, 4});
    CHECK(t.dtype() == DType::u8);
    CHECK(t.to_vector<uint8_t>()[23] == 230);
  }
}

TEST_CASE("corrupt IDX files are errors naming the file") {
  std::string good = idx_bytes({2, 3}, std::string(6, '\x01'));
  struct Case {
    std::string name, bytes, expect;
  };
  std::vector<Case> cases = {
      {"magic", std::string("\x01\x00\x08\x02", 4) + good.substr(4), "not an IDX file"},
      {"type", std::string("\x00\x00\x0d\x02", 4) + good.substr(4), "is not supported"},
      {"rank0", std::string("\x00\x00\x08\x00", 4), "rank 0"},
      {"rank9", std::string("\x00\x00\x08\x09", 4), "rank 9"},
      {"short", std::string("\x00\x00", 2), "too short"},
      {"header", good.substr(0, 9), "truncated IDX header"},
      {"data", good.substr(0, good.size() - 1), "truncated"},
      {"extra", good + "xx", "has data after"},
      {"zero", idx_bytes({0, 3}, ""), "invalid size"},
      {"huge", idx_bytes({0x7fffffff, 0x7fffffff}, ""), "too large"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    write_bytes(tmp_path(c.name), c.bytes);
    CHECK_THROWS_WITH_SUBSTR(read_idx(tmp_path(c.name)), c.expect);
    CHECK_THROWS_WITH_SUBSTR(read_idx(tmp_path(c.name)), tmp_path(c.name));
  }
  // a gzip stream cut in the middle
  write_gz(tmp_path("cut.gz"), idx_bytes({100, 100}, std::string(10000, '\x07')));
  std::ifstream in(tmp_path("cut.gz"), std::ios::binary);
  std::string gz((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  write_bytes(tmp_path("cut2.gz"), gz.substr(0, gz.size() / 2));
  CHECK_THROWS_AS(read_idx(tmp_path("cut2.gz")), Error);
  CHECK_THROWS_WITH_SUBSTR(read_idx(tmp_path("does-not-exist")), "cannot open");
}

TEST_CASE("missing Fashion-MNIST names the Debian package and the overrides") {
  CHECK_THROWS_WITH_SUBSTR(load_fashion_mnist("/nonexistent-dir", true), "dataset-fashion-mnist");
  CHECK_THROWS_WITH_SUBSTR(load_fashion_mnist("/nonexistent-dir", false), "IRIS_DATA");
  CHECK(fashion_mnist_dir("/x") == "/x");
  CHECK(fashion_mnist_classes().size() == 10);
  CHECK(fashion_mnist_classes()[9] == "ankle boot");
}

TEST_CASE("a label file of the wrong shape says its shape (issue 27)") {
  const std::string dir = tmp_path("fmnist_shape");
  std::system(("rm -rf " + dir + " && mkdir -p " + dir).c_str());
  write_gz(dir + "/train-images-idx3-ubyte.gz", idx_bytes({6, 2, 2}, std::string(24, '\x01')));
  write_gz(dir + "/train-labels-idx1-ubyte.gz", idx_bytes({3, 2}, std::string(6, '\x01')));  // [3, 2], 6 values
  CHECK_THROWS_WITH_SUBSTR(load_fashion_mnist(dir, true), "expected labels of shape [N], got [3, 2]");
  write_gz(dir + "/train-labels-idx1-ubyte.gz", idx_bytes({5}, std::string(5, '\x01')));
  CHECK_THROWS_WITH_SUBSTR(load_fashion_mnist(dir, true), "5 labels for 6 images");
}

TEST_CASE("Fashion-MNIST loads when installed") {
  std::string dir = fashion_mnist_dir();
  std::ifstream probe(dir + "/t10k-labels-idx1-ubyte.gz");
  if (!probe.good()) {
    MESSAGE("Fashion-MNIST not installed at " << dir << "; skipping (make deps installs it)");
    return;
  }
  LabelledImages test = load_fashion_mnist(dir, false);
  CHECK(test.images.shape() == Shape{10000, 28, 28});
  CHECK(test.labels.shape() == Shape{10000});
  // the test split is balanced: 1000 of each class
  std::vector<int64_t> counts(10, 0);
  for (int64_t y : test.labels.to_vector<int64_t>()) counts[y]++;
  for (int64_t c : counts) CHECK(c == 1000);
}

namespace {

std::shared_ptr<TensorDataset> counting_dataset(int64_t n, TensorDataset::Transform t = nullptr) {
  Tensor images = arange(0, static_cast<double>(n), 1, DType::f32).reshape({n, 1, 1, 1});
  Tensor labels = arange(n);
  return std::make_shared<TensorDataset>(images, labels, t);
}

std::vector<std::vector<int64_t>> epoch_batches(DataLoader& loader, int64_t epoch, int64_t skip = 0) {
  loader.start_epoch(epoch, skip);
  std::vector<std::vector<int64_t>> out;
  Batch b;
  while (loader.next(b)) out.push_back(b.y.to_vector<int64_t>());
  return out;
}

}  // namespace

TEST_CASE("the loader covers the data once per epoch, shuffled by seed") {
  auto ds = counting_dataset(103);
  LoaderOptions o;
  o.batch_size = 10;
  o.seed = 4;
  DataLoader loader(ds, o);
  CHECK(loader.num_batches() == 11);
  auto e0 = epoch_batches(loader, 0);
  CHECK(e0.size() == 11);
  CHECK(e0.back().size() == 3);
  std::set<int64_t> seen;
  for (auto& b : e0) seen.insert(b.begin(), b.end());
  CHECK(seen.size() == 103);
  auto e1 = epoch_batches(loader, 1);
  CHECK(e0 != e1);                        // a new order each epoch
  CHECK(epoch_batches(loader, 0) == e0);  // but the same order for the same epoch
  o.drop_last = true;
  DataLoader dl(ds, o);
  CHECK(dl.num_batches() == 10);
  CHECK(epoch_batches(dl, 0).size() == 10);
  o.shuffle = false;
  DataLoader plain(ds, o);
  CHECK(epoch_batches(plain, 3)[0] == std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
}

TEST_CASE("batches do not depend on the number of workers, and resume mid-epoch") {
  // A transform that uses the batch's rng: any dependence on thread timing would show.
  auto noisy = [](const Tensor& x, Generator& rng) { return x + rand(x.shape(), DType::f32, &rng); };
  auto ds = counting_dataset(64, noisy);
  std::vector<std::vector<float>> reference;
  for (int workers : {0, 1, 3}) {
    LoaderOptions o;
    o.batch_size = 8;
    o.seed = 11;
    o.workers = workers;
    o.prefetch = 2;
    DataLoader loader(ds, o);
    loader.start_epoch(2);
    std::vector<std::vector<float>> got;
    Batch b;
    while (loader.next(b)) got.push_back(b.x.to_vector<float>());
    if (reference.empty()) reference = got;
    else CHECK(got == reference);
  }
  LoaderOptions o;
  o.batch_size = 8;
  o.seed = 11;
  DataLoader loader(ds, o);
  loader.start_epoch(2, 5);
  Batch b;
  REQUIRE(loader.next(b));
  CHECK(b.x.to_vector<float>() == reference[5]);
  // abandoning an epoch half way and starting another is fine
  loader.start_epoch(3);
  REQUIRE(loader.next(b));
}

TEST_CASE("a worker's error reaches the caller") {
  auto failing = [](const Tensor& x, Generator&) -> Tensor {
    if (x.shape()[0] > 0) throw Error("transform exploded");
    return x;
  };
  LoaderOptions o;
  o.workers = 2;
  DataLoader loader(counting_dataset(20, failing), o);
  loader.start_epoch(0);
  Batch b;
  CHECK_THROWS_WITH_SUBSTR(loader.next(b), "transform exploded");
  CHECK_THROWS_WITH_SUBSTR(DataLoader(counting_dataset(5), LoaderOptions{0}), "batch_size must be positive");
  CHECK_THROWS_WITH_SUBSTR(TensorDataset(zeros({3, 2, 2}), zeros({4})), "3 images but 4 labels");
}

TEST_CASE("augmentations") {
  Generator g(3);
  Tensor x = arange(0, 2 * 1 * 4 * 4, 1, DType::f32).reshape({2, 1, 4, 4});
  // random_crop with padding 0 is the identity; with padding, values move but stay from the image
  CHECK(random_crop(x, 0, g).to_vector<float>() == x.to_vector<float>());
  Tensor c = random_crop(x, 1, g);
  CHECK(c.shape() == x.shape());
  for (float v : c.to_vector<float>()) CHECK((v == 0.0f || (v >= 0.0f && v < 32.0f)));
  // flips: p=1 mirrors every row, p=0 nothing
  Tensor f = random_horizontal_flip(x, g, 1.0);
  CHECK(f.to_vector<float>()[0] == 3.0f);
  CHECK(f.to_vector<float>()[3] == 0.0f);
  CHECK(random_horizontal_flip(x, g, 0.0).to_vector<float>() == x.to_vector<float>());
  // normalize
  Tensor n = normalize_channels(x, {1.0}, {2.0});
  CHECK(n.to_vector<float>()[5] == 2.0f);
  CHECK_THROWS_WITH_SUBSTR(normalize_channels(x, {1.0, 2.0}, {1.0, 1.0}), "need 1 or C=1");
  // erasing with p=1 zeroes a rectangle of the allowed area in every sample
  Tensor ones_img = ones({4, 3, 16, 16});
  Tensor e = random_erasing(ones_img, g, 1.0, 0.1, 0.2);
  std::vector<float> ev = e.to_vector<float>();
  for (int b = 0; b < 4; ++b) {
    int zeros_in_plane = 0;
    for (int i = 0; i < 256; ++i) zeros_in_plane += ev[(b * 3) * 256 + i] == 0.0f;
    CHECK(zeros_in_plane >= 15);  // at least ~0.1 * 256 minus rounding
    CHECK(zeros_in_plane <= 70);
  }
  CHECK_THROWS_WITH_SUBSTR(random_crop(zeros({2, 4, 4}), 1, g), "expects f32 CPU images");
}
