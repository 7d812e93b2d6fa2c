// safetensors checkpoints and the file helpers: round trips of every dtype and layout, the file written
// by the Python package (exact values), atomic replacement, and a corruption suite + fuzz loop that must
// only ever produce iris::Error. Leaves out: GPU tensors (saving copies them to the CPU; covered by CUDA tests).
#include <sys/wait.h>
#include <dirent.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "io/file_util.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "tests/helpers.h"

using namespace iris;
using iris::testing::noncontiguous;

namespace {

const char* kPythonFixture = "tests/golden/safetensors_from_python.safetensors";

// A fresh folder under the system temp folder, removed with everything in it at the end of the test.
struct TempDir {
  std::string path;
  TempDir() {
    static int counter = 0;
    path = (std::filesystem::temp_directory_path() /
            ("iris_test_safetensors_" + std::to_string(::getpid()) + "_" + std::to_string(counter++)))
               .string();
    std::filesystem::remove_all(path);
    make_dirs(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return path + "/" + name; }
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(path)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }
};

// Plain write (no fsync): the corruption and fuzz loops write thousands of files. The old file is
// removed first: truncating a file in place makes ext4 flush it on close (auto_da_alloc), which is slow.
void write_bytes(const std::string& path, const std::string& bytes) {
  std::remove(path.c_str());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

// The tensor's elements in row-major order as raw bytes.
std::string raw_bytes(const Tensor& t) {
  Tensor c = t.detach().contiguous();
  return std::string(static_cast<const char*>(c.raw_data()), c.nbytes());
}

// u64 little-endian length + header (padded with spaces to 8 bytes unless pad is false) + data.
std::string make_file(const std::string& header, const std::string& data, bool pad = true) {
  std::string h = header;
  if (pad) h.append((8 - h.size() % 8) % 8, ' ');
  std::string out(8, '\0');
  uint64_t n = h.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(n >> (8 * i));
  return out + h + data;
}

void set_header_length(std::string& file, uint64_t n) {
  for (int i = 0; i < 8; ++i) file[i] = static_cast<char>(n >> (8 * i));
}

// Loads `bytes` from a file and returns the iris::Error message ("" when it loaded). Any other
// exception fails the test.
std::string load_error(const std::string& path, const std::string& bytes) {
  write_bytes(path, bytes);
  try {
    load_safetensors(path);
    return "";
  } catch (const Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    FAIL_CHECK("a non-iris exception escaped load_safetensors: " << e.what());
    return "non-iris exception";
  }
}

#define CHECK_LOAD_FAILS(dir, bytes, substr)                                     \
  do {                                                                           \
    std::string path_ = (dir).file("bad.safetensors");                           \
    std::string msg_ = load_error(path_, bytes);                                 \
    CHECK_MESSAGE(!msg_.empty(), "expected an error containing: " << (substr));  \
    CHECK_MESSAGE(msg_.find(substr) != std::string::npos, msg_);                 \
    CHECK_MESSAGE(msg_.find(path_) != std::string::npos, msg_);                  \
  } while (0)

Tensor bool_tensor(const std::vector<uint8_t>& v, const Shape& shape) {
  return from_vector<uint8_t>(v, shape).to(DType::b8);
}

}  // namespace

// ---- file helpers -----------------------------------------------------------------------

TEST_CASE("read_file, write_file_atomic and make_dirs") {
  TempDir dir;
  std::string p = dir.file("note.txt");
  write_file_atomic(p, "the first, longer version of the file");
  CHECK(read_file(p) == "the first, longer version of the file");
  write_file_atomic(p, "v2");  // the old file is replaced whole, not overwritten in place
  CHECK(read_file(p) == "v2");
  CHECK(std::filesystem::file_size(p) == 2);
  write_file_atomic(p, std::string("bin\0ary", 7));
  CHECK(read_file(p) == std::string("bin\0ary", 7));
  write_file_atomic(p, "");
  CHECK(read_file(p).empty());
  CHECK(dir.entries() == std::vector<std::string>{"note.txt"});  // no temporary file left behind

  // A writer that fails: the old file survives untouched and the temporary file is removed.
  write_file_atomic(p, "keep me");
  CHECK_THROWS_WITH_SUBSTR(write_file_atomic(p, [](std::FILE* f) {
                             std::fputs("partial", f);
                             throw Error("disk on fire");
                           }),
                           "disk on fire");
  CHECK_THROWS_WITH_SUBSTR(write_file_atomic(p, [](std::FILE*) { throw Error("x"); }), p);
  CHECK(read_file(p) == "keep me");
  CHECK(dir.entries() == std::vector<std::string>{"note.txt"});

  // Missing folder, a folder as the target, an empty path.
  CHECK_THROWS_WITH_SUBSTR(write_file_atomic(dir.file("no/such/folder/x.bin"), "x"), "no/such/folder/x.bin");
  CHECK_THROWS_WITH_SUBSTR(write_file_atomic(dir.file("no/such/folder/x.bin"), "x"), "No such file or directory");
  make_dirs(dir.file("sub"));
  CHECK_THROWS_WITH_SUBSTR(write_file_atomic(dir.file("sub"), "x"), "renaming");
  CHECK_THROWS_WITH_SUBSTR(write_file_atomic(dir.file("sub/"), "x"), "names a folder");
  CHECK_THROWS_WITH_SUBSTR(write_file_atomic("", "x"), "empty");
  CHECK(dir.entries() == std::vector<std::string>{"note.txt", "sub"});

  // read_file errors name the file.
  CHECK_THROWS_WITH_SUBSTR(read_file(dir.file("missing.txt")), dir.file("missing.txt"));
  CHECK_THROWS_WITH_SUBSTR(read_file(dir.file("missing.txt")), "No such file or directory");
  CHECK_THROWS_WITH_SUBSTR(read_file(dir.file("sub")), "is a folder");
  CHECK_THROWS_WITH_SUBSTR(read_file(""), "empty");

  // make_dirs is mkdir -p and idempotent; a file in the way is an error.
  make_dirs(dir.file("a/b/c"));
  make_dirs(dir.file("a/b/c"));
  CHECK(std::filesystem::is_directory(dir.file("a/b/c")));
  CHECK(path_exists(dir.file("a/b")));
  CHECK_FALSE(path_exists(dir.file("a/x")));
  CHECK_THROWS_WITH_SUBSTR(make_dirs(p), "exists but is not a folder");
  CHECK_THROWS_WITH_SUBSTR(make_dirs(p + "/below"), p);
}

// ---- round trips ------------------------------------------------------------------------

TEST_CASE("safetensors: every dtype and layout round-trips bit for bit") {
  TempDir dir;
  Generator gen(7);
  Tensor wide = randn({4, 6}, DType::f32, &gen);
  std::vector<std::pair<std::string, Tensor>> tensors = {
      {"f32", randn({3, 4}, DType::f32, &gen)},
      {"f64", randn({2, 3, 2}, DType::f64, &gen)},
      {"i32", from_vector<int32_t>({-1, 0, 2147483647, -2147483647 - 1, 5}, {5})},
      {"i64", from_vector<int64_t>({INT64_MIN, -1, 0, INT64_MAX}, {2, 2})},
      {"u8", from_vector<uint8_t>({0, 1, 128, 255}, {4})},
      {"bool", bool_tensor({1, 0, 0, 1, 1, 0}, {2, 3})},
      {"bf16", randn({5}, DType::f32, &gen).to(DType::bf16)},
      {"f16", randn({2, 2}, DType::f32, &gen).to(DType::f16)},
      {"scalar", scalar_tensor(2.5, DType::f64)},
      {"empty", zeros({0, 4})},
      {"empty.i64", zeros({3, 0}, DType::i64)},
      // Non-contiguous inputs: saved as their values in row-major order.
      {"transposed", wide.t()},
      {"strided", noncontiguous(randn({3, 5}, DType::f64, &gen))},
      {"sliced", wide.slice(0, 1, 4, 2)},
      {"expanded", from_vector<float>({1, 2, 3}, {3, 1}).expand({3, 4})},
      {"bf16.transposed", randn({3, 2}, DType::f32, &gen).to(DType::bf16).t()},
      {"with.grad", randn({2}, DType::f32, &gen).requires_grad_(true)},
  };
  std::map<std::string, std::string> metadata = {{"epoch", "3"}, {"note", "caf\xc3\xa9 \"q\"\n"}, {"", "empty key"}};
  std::string path = dir.file("all.safetensors");
  save_safetensors(path, tensors, metadata);
  CHECK(dir.entries() == std::vector<std::string>{"all.safetensors"});

  SafetensorsFile loaded = load_safetensors(path);
  CHECK(loaded.metadata == metadata);
  REQUIRE(loaded.tensors.size() == tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& [name, want] = tensors[i];
    INFO("tensor " << name);
    CHECK(loaded.tensors[i].first == name);  // the order is kept
    const Tensor& got = loaded.get(name);
    CHECK(got.dtype() == want.dtype());
    CHECK(got.shape() == want.shape());
    CHECK((got.numel() == 0 || got.is_contiguous()));  // is_contiguous() says false for [3, 0]: see report
    CHECK(got.device().is_cpu());
    CHECK_FALSE(got.requires_grad());
    CHECK(raw_bytes(got) == raw_bytes(want));
  }
  CHECK(loaded.get("expanded").to_vector<float>() == std::vector<float>{1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3});
  CHECK(loaded.get("transposed").to_vector<float>() == wide.t().contiguous().to_vector<float>());
  CHECK(loaded.get("scalar").item() == 2.5);

  // The layout on disk: an 8-aligned header whose offsets tile the data in the order given.
  std::string bytes = read_file(path);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[i]);
  CHECK(n % 8 == 0);
  json::Value header = json::parse(bytes.substr(8, n));
  CHECK(header.items()[0].first == "__metadata__");
  CHECK(header["__metadata__"]["epoch"].as_string() == "3");
  CHECK(header["f32"]["dtype"].as_string() == "F32");
  CHECK(header["bool"]["dtype"].as_string() == "BOOL");
  CHECK(header["bf16"]["dtype"].as_string() == "BF16");
  CHECK(header["f16"]["dtype"].as_string() == "F16");
  CHECK(header["scalar"]["shape"].size() == 0);
  int64_t cursor = 0;
  for (const auto& [name, t] : tensors) {
    const json::Value& offsets = header[name]["data_offsets"];
    CHECK(offsets[0].as_int() == cursor);
    cursor += static_cast<int64_t>(t.nbytes());
    CHECK(offsets[1].as_int() == cursor);
  }
  CHECK(static_cast<int64_t>(bytes.size()) == 8 + static_cast<int64_t>(n) + cursor);

  // Saving again replaces the file whole; no metadata means no "__metadata__" entry.
  save_safetensors(path, {{"only", ones({2})}});
  SafetensorsFile again = load_safetensors(path);
  CHECK(again.tensors.size() == 1);
  CHECK(again.metadata.empty());
  CHECK(read_file(path).find("__metadata__") == std::string::npos);
  save_safetensors(path, {});
  CHECK(load_safetensors(path).tensors.empty());
  CHECK(dir.entries() == std::vector<std::string>{"all.safetensors"});
}

TEST_CASE("safetensors: save and get errors") {
  TempDir dir;
  std::string path = dir.file("e.safetensors");
  CHECK_THROWS_WITH_SUBSTR(save_safetensors(path, {{"a", ones({1})}, {"a", ones({2})}}), "\"a\" appears twice");
  CHECK_THROWS_WITH_SUBSTR(save_safetensors(path, {{"__metadata__", ones({1})}}), "reserved");
  CHECK_THROWS_WITH_SUBSTR(save_safetensors(path, {{"", ones({1})}}), "empty name");
  CHECK_THROWS_WITH_SUBSTR(save_safetensors(path, {{"u", Tensor()}}), "\"u\" is undefined");
  CHECK_THROWS_WITH_SUBSTR(save_safetensors(path, {{"bad\xff", ones({1})}}), "valid UTF-8");
  CHECK_THROWS_WITH_SUBSTR(save_safetensors(path, {{"a", ones({1})}}, {{"k", "\xc3"}}), "valid UTF-8");
  CHECK_THROWS_WITH_SUBSTR(save_safetensors(dir.file("missing/e.safetensors"), {{"a", ones({1})}}), "missing/e.safetensors");
  CHECK(dir.entries().empty());  // nothing was written by any failed save

  save_safetensors(path, {{"weight", ones({1})}, {"bias", zeros({1})}});
  SafetensorsFile f = load_safetensors(path);
  CHECK(f.contains("weight"));
  CHECK_FALSE(f.contains("Weight"));
  CHECK_THROWS_WITH_SUBSTR(f.get("Weight"), "no tensor \"Weight\"; it has \"weight\", \"bias\"");
  CHECK_THROWS_WITH_SUBSTR(f.get("Weight"), path);
}

// ---- the file written by the Python package -----------------------------------------------

TEST_CASE("safetensors: loads the file written by the Python package with exact values") {
  // Written by tests/golden/make_safetensors_fixture.py (safetensors 0.8.0, torch 2.15); the values
  // below are the literals of expected_tensors() there.
  SafetensorsFile f = load_safetensors(kPythonFixture);
  CHECK(f.tensors.size() == 12);
  CHECK(f.metadata == std::map<std::string, std::string>{
                          {"format", "pt"}, {"producer", "make_safetensors_fixture.py"}, {"note", "caf\xc3\xa9 \"quoted\""}});

  const Tensor& m = f.get("f32.matrix");
  CHECK(m.dtype() == DType::f32);
  CHECK(m.shape() == Shape{2, 3});
  std::vector<float> mv = m.to_vector<float>();
  CHECK(mv == std::vector<float>{0.5f, -1.25f, 3.0f, 1e-3f, -0.0f, 65536.0f});
  CHECK(std::signbit(mv[4]));

  const Tensor& d = f.get("f64.vector");
  CHECK(d.dtype() == DType::f64);
  CHECK(d.to_vector<double>() == std::vector<double>{0.1, -2.5, 1e-300, 12345678.875});

  CHECK(f.get("i32.vector").dtype() == DType::i32);
  CHECK(f.get("i32.vector").to_vector<int32_t>() == std::vector<int32_t>{-1, 2147483647, -2147483647 - 1});
  CHECK(f.get("i64.matrix").shape() == Shape{2, 2});
  CHECK(f.get("i64.matrix").to_vector<int64_t>() == std::vector<int64_t>{INT64_MIN, 42, INT64_MAX, -7});
  CHECK(f.get("u8.vector").to_vector<uint8_t>() == std::vector<uint8_t>{0, 255, 7, 128});
  CHECK(f.get("bool.vector").dtype() == DType::b8);
  CHECK(raw_bytes(f.get("bool.vector")) == std::string("\1\0\1\1\0", 5));

  // 16-bit floats compared by their bit patterns (torch: t.view(torch.int16) & 0xffff).
  const Tensor& bf = f.get("bf16.vector");
  CHECK(bf.dtype() == DType::bf16);
  std::vector<uint16_t> bf_bits(4);
  std::memcpy(bf_bits.data(), bf.raw_data(), 8);
  CHECK(bf_bits == std::vector<uint16_t>{0x3f80, 0xc020, 0x3e20, 0x7f62});
  CHECK(bf.to_vector<float>() == std::vector<float>{1.0f, -2.5f, 0.15625f, 3.00405527047391e38f});
  const Tensor& hf = f.get("f16.vector");
  CHECK(hf.dtype() == DType::f16);
  std::vector<uint16_t> hf_bits(5);
  std::memcpy(hf_bits.data(), hf.raw_data(), 10);
  CHECK(hf_bits == std::vector<uint16_t>{0x3c00, 0xb800, 0x7bff, 0x0400, 0x0001});

  const Tensor& s = f.get("f32.scalar");
  CHECK(s.dim() == 0);
  CHECK(s.item() == 3.5);
  CHECK(f.get("f32.empty").shape() == Shape{0, 3});
  CHECK(f.get("f32.empty").dtype() == DType::f32);
  CHECK(f.get("i64.empty").shape() == Shape{0});
  CHECK(f.get("i64.empty").dtype() == DType::i64);
  const Tensor& r3 = f.get("f32.rank3");
  CHECK(r3.shape() == Shape{2, 3, 4});
  std::vector<float> r3v = r3.to_vector<float>();
  for (int i = 0; i < 24; ++i) CHECK(r3v[i] == static_cast<float>(i) / 4.0f);
}

TEST_CASE("safetensors: re-saving the Python file keeps every byte of every tensor") {
  // Set IRIS_SAFETENSORS_KEEP=out.safetensors to keep the file for
  // `python3 tests/golden/make_safetensors_fixture.py --check out.safetensors`.
  TempDir dir;
  SafetensorsFile f = load_safetensors(kPythonFixture);
  std::vector<std::pair<std::string, Tensor>> tensors = f.tensors;
  tensors.emplace_back("extra.transposed", from_vector<float>({0, 1, 2, 3, 4, 5}, {2, 3}).t());
  std::string path = dir.file("resaved.safetensors");
  save_safetensors(path, tensors, f.metadata);
  if (const char* keep = std::getenv("IRIS_SAFETENSORS_KEEP")) save_safetensors(keep, tensors, f.metadata);
  SafetensorsFile g = load_safetensors(path);
  CHECK(g.metadata == f.metadata);
  REQUIRE(g.tensors.size() == 13);
  for (const auto& [name, t] : f.tensors) {
    INFO("tensor " << name);
    CHECK(g.get(name).dtype() == t.dtype());
    CHECK(g.get(name).shape() == t.shape());
    CHECK(raw_bytes(g.get(name)) == raw_bytes(t));
  }
  CHECK(g.get("extra.transposed").to_vector<float>() == std::vector<float>{0, 3, 1, 4, 2, 5});
}

// ---- untrusted files --------------------------------------------------------------------

TEST_CASE("safetensors: every truncation and corrupted header is an iris::Error") {
  TempDir dir;
  std::string good_path = dir.file("good.safetensors");
  save_safetensors(good_path,
                   {{"a", from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3})},
                    {"b", from_vector<int64_t>({7, 8}, {2})},
                    {"c", bool_tensor({1, 0, 1}, {3})}},
                   {{"k", "v"}});
  const std::string good = read_file(good_path);
  REQUIRE(load_error(dir.file("check.safetensors"), good).empty());
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | static_cast<unsigned char>(good[i]);

  // Truncated at every length: always an error (the tensors must cover the data exactly).
  for (size_t len = 0; len < good.size(); ++len) {
    std::string msg = load_error(dir.file("t.safetensors"), good.substr(0, len));
    CHECK_MESSAGE(!msg.empty(), "truncated to " << len << " bytes loaded without error");
  }
  CHECK_LOAD_FAILS(dir, good.substr(0, 5), "fewer than the 8-byte header length");
  CHECK_LOAD_FAILS(dir, good.substr(0, 40), "truncated");
  CHECK_LOAD_FAILS(dir, good.substr(0, good.size() - 1), "run past the end");
  CHECK_LOAD_FAILS(dir, good + "extra", "after the last tensor are unused");

  // Every header byte flipped in three ways: loads or throws iris::Error, nothing else.
  for (size_t i = 0; i < 8 + header_len; ++i) {
    for (unsigned char mask : {0x01, 0x20, 0xff}) {
      std::string bad = good;
      bad[i] = static_cast<char>(bad[i] ^ mask);
      load_error(dir.file("flip.safetensors"), bad);
    }
  }

  // The header length field.
  std::string bad = good;
  set_header_length(bad, UINT64_MAX);
  CHECK_LOAD_FAILS(dir, bad, "over the limit");
  set_header_length(bad, uint64_t(1) << 63);
  CHECK_LOAD_FAILS(dir, bad, "over the limit");
  set_header_length(bad, 100000001);
  CHECK_LOAD_FAILS(dir, bad, "over the limit");
  set_header_length(bad, good.size() - 7);
  CHECK_LOAD_FAILS(dir, bad, "truncated: the header length");
  set_header_length(bad, 0);
  CHECK_LOAD_FAILS(dir, bad, "too small");
  set_header_length(bad, header_len - 8);
  CHECK_LOAD_FAILS(dir, bad, "not valid JSON");
  set_header_length(bad, header_len + 1);
  CHECK_LOAD_FAILS(dir, bad, "not valid JSON");

  const std::string f32x2 = R"("dtype":"F32","shape":[2])";
  const std::string eight(8, '\0'), twelve(12, '\0');
  // Offsets: overlap, gap, past the end, reversed, unused tail.
  CHECK_LOAD_FAILS(dir, make_file(R"({"a":{)" + f32x2 + R"(,"data_offsets":[0,8]},"b":{)" + f32x2 + R"(,"data_offsets":[4,12]}})", twelve), "overlap tensor \"a\"");
  CHECK_LOAD_FAILS(dir, make_file(R"({"a":{)" + f32x2 + R"(,"data_offsets":[0,8]},"b":{)" + f32x2 + R"(,"data_offsets":[12,20]}})", std::string(20, '\0')), "leave bytes [8, 12) unused");
  CHECK_LOAD_FAILS(dir, make_file(R"({"a":{)" + f32x2 + R"(,"data_offsets":[8,16]}})", std::string(16, '\0')), "leave bytes [0, 8) unused");
  CHECK_LOAD_FAILS(dir, make_file(R"({"a":{)" + f32x2 + R"(,"data_offsets":[0,8]}})", twelve), "4 bytes after the last tensor are unused");
  CHECK_LOAD_FAILS(dir, make_file(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", eight), "run past the end of the 8-byte data");
  CHECK_LOAD_FAILS(dir, make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", eight), "end before they begin");
  CHECK_LOAD_FAILS(dir, make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", eight), "\"data_offsets\" must be [begin, end]");
  CHECK_LOAD_FAILS(dir, make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8,8]}})", eight), "data_offsets");
  CHECK_LOAD_FAILS(dir, make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}})", eight), "data_offsets");
  CHECK_LOAD_FAILS(dir, make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8.0]}})", eight), "data_offsets");
  CHECK_LOAD_FAILS(dir, make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":"0,8"}})", eight), "data_offsets");
  CHECK_LOAD_FAILS(dir, make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[18446744073709551608,18446744073709551616]}})", eight), "data_offsets");
  CHECK_LOAD_FAILS(dir, make_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[9223372036854775800,9223372036854775807]}})", eight), "hold 7");
  // dtypes.
  CHECK_LOAD_FAILS(dir, make_file(R"({"a":{"dtype":"f32","shape":[2],"data_offsets":[0,8]}})", eight), "unknown dtype \"f32\"");
  CHECK_LOAD_FAILS(dir, make_file(R"({"a":{"dtype":"","shape":[2],"data_offsets":[0,8]}})", eight), "unknown dtype");
  CHECK_LOAD_FAILS(dir, make_file(R"({"a":{"dtype":"I8","shape":[8],"data_offsets":[0,8]}})", eight), "I8 is valid safetensors but iris has no such dtype");
  CHECK_LOAD_FAILS(dir, make_file(R"({"a":{"dtype":4,"shape":[2],"data_offsets":[0,8]}})", eight), "\"dtype\" must be a string");
  // Shapes: mismatch, negative, non-integer, overflow, too many dims.
  CHECK_LOAD_FAILS(dir, make_file(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", eight), "needs 3 x 4 bytes, but data_offsets [0, 8] hold 8");
  CHECK_LOAD_FAILS(dir, make_file(R"({"a":{"dtype":"F64","shape":[2],"data_offsets":[0,8]}})", eight), "needs 2 x 8 bytes");
  CHECK_LOAD_FAILS(dir, make_file(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", eight), "shape entry 0 must be a non-negative integer, got -2");
  CHECK_LOAD_FAILS(dir, make_file(R"({"a":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})", eight), "non-negative integer");
  CHECK_LOAD_FAILS(dir, make_file(R"({"a":{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}})", eight), "non-negative integer");
  CHECK_LOAD_FAILS(dir, make_file(R"({"a":{"dtype":"F32","shape":2,"data_offsets":[0,8]}})", eight), "\"shape\" must be an array");
  CHECK_LOAD_FAILS(dir, make_file(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}})", ""), "too many elements");
  CHECK_LOAD_FAILS(dir, make_file(R"({"a":{"dtype":"F32","shape":[0,4611686018427387904,4611686018427387904],"data_offsets":[0,0]}})", ""), "too many elements");
  CHECK_LOAD_FAILS(dir, make_file(R"({"a":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,0]}})", ""), "needs 4611686018427387904 x 8 bytes");
  CHECK_LOAD_FAILS(dir, make_file(R"({"a":{"dtype":"F32","shape":[99999999999999999999],"data_offsets":[0,0]}})", ""), "non-negative integer");
  CHECK_LOAD_FAILS(dir, make_file(R"({"a":{"dtype":"F32","shape":[1,1,1,1,1,1,1,1,1],"data_offsets":[0,4]}})", std::string(4, '\0')), "9 dims; iris tensors have at most 8");
  // The header as a whole.
  CHECK_LOAD_FAILS(dir, make_file(R"({"a": )", ""), "not valid JSON");
  CHECK_LOAD_FAILS(dir, make_file("not json at all", ""), "not valid JSON");
  CHECK_LOAD_FAILS(dir, make_file("[]", ""), "must be a JSON object, got an array");
  CHECK_LOAD_FAILS(dir, make_file("null", ""), "must be a JSON object, got a null");
  CHECK_LOAD_FAILS(dir, make_file(std::string(1000, '[') + std::string(1000, ']'), ""), "nest deeper");
  CHECK_LOAD_FAILS(dir, make_file(R"({"a":{)" + f32x2 + R"(,"data_offsets":[0,8]},"a":{)" + f32x2 + R"(,"data_offsets":[0,8]}})", eight), "duplicate key \"a\"");
  CHECK_LOAD_FAILS(dir, make_file(R"({"a":5})", ""), "tensor \"a\": its entry must be an object");
  CHECK_LOAD_FAILS(dir, make_file(R"({"a":{"dtype":"F32","data_offsets":[0,8]}})", eight), "missing field \"shape\"");
  CHECK_LOAD_FAILS(dir, make_file(R"({"a":{"dtype":"F32","shape":[2]}})", eight), "missing field \"data_offsets\"");
  CHECK_LOAD_FAILS(dir, make_file(R"({"__metadata__":{"k":1}})", ""), "metadata entry \"k\" must be a string");
  CHECK_LOAD_FAILS(dir, make_file(R"({"__metadata__":["k"]})", ""), "\"__metadata__\" must be an object of strings");
  CHECK_LOAD_FAILS(dir, make_file("{\"a\xff\":{}}", ""), "not valid JSON");
  // Data: BOOL bytes other than 0/1.
  CHECK_LOAD_FAILS(dir, make_file(R"({"c":{"dtype":"BOOL","shape":[3],"data_offsets":[0,3]}})", std::string("\1\2\0", 3)), "element 1 is the byte 2");
  // Not a file.
  std::string msg = load_error(dir.file("x"), "");
  CHECK(msg.find("fewer than the 8-byte") != std::string::npos);
  CHECK_THROWS_WITH_SUBSTR(load_safetensors(dir.file("missing.safetensors")), "cannot open");
  CHECK_THROWS_WITH_SUBSTR(load_safetensors(dir.path), "is a folder");
  CHECK_THROWS_WITH_SUBSTR(load_safetensors(""), "path is empty");

  // What the Python package accepts, we accept too: no padding, whitespace around the JSON, empty
  // tensors sharing an offset, a header out of offset order, null metadata, extra fields.
  auto loads = [&](const std::string& bytes) { return load_error(dir.file("ok.safetensors"), bytes); };
  CHECK(loads(make_file(R"({"a":{)" + f32x2 + R"(,"data_offsets":[0,8]}})", eight, false)) == "");
  CHECK(loads(make_file(" \n{\"a\":{" + f32x2 + ",\"data_offsets\":[0,8]}}\n\t", eight, false)) == "");
  CHECK(loads(make_file("{}", "")) == "");
  CHECK(loads(make_file(R"({"e":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"f":{"dtype":"I64","shape":[2,0],"data_offsets":[0,0]}})", "")) == "");
  CHECK(loads(make_file(R"({"b":{)" + f32x2 + R"(,"data_offsets":[8,16]},"e":{"dtype":"F32","shape":[0],"data_offsets":[8,8]},"a":{)" + f32x2 + R"(,"data_offsets":[0,8]}})", std::string(16, '\0'))) == "");
  CHECK(loads(make_file(R"({"__metadata__":null,"a":{)" + f32x2 + R"(,"data_offsets":[0,8],"extra":[1,2]}})", eight)) == "");
  SafetensorsFile unsorted = load_safetensors(dir.file("ok.safetensors"));
  REQUIRE(unsorted.tensors.size() == 1);
  write_bytes(dir.file("ok.safetensors"),
              make_file(R"({"b":{"dtype":"I32","shape":[1],"data_offsets":[4,8]},"a":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}})",
                        std::string("\1\0\0\0\2\0\0\0", 8)));
  SafetensorsFile order = load_safetensors(dir.file("ok.safetensors"));
  CHECK(order.tensors[0].first == "b");  // the header's order
  CHECK(order.get("a").item() == 1);
  CHECK(order.get("b").item() == 2);
}

TEST_CASE("safetensors: fuzzed files only ever raise iris::Error") {
  TempDir dir;
  std::string src = dir.file("src.safetensors");
  Generator gen(3);
  save_safetensors(src,
                   {{"w", randn({3, 2}, DType::f32, &gen)},
                    {"idx", from_vector<int64_t>({1, 2, 3}, {3})},
                    {"mask", bool_tensor({1, 0}, {2})},
                    {"h", randn({2}, DType::f32, &gen).to(DType::bf16)},
                    {"s", scalar_tensor(1.0, DType::f64)},
                    {"e", zeros({0, 2})}},
                   {{"step", "10"}});
  const std::string good = read_file(src);
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | static_cast<unsigned char>(good[i]);
  const std::string path = dir.file("fuzz.safetensors");
  const std::string interesting = "0123456789[]{},:\"-.e \xff";
  std::mt19937_64 rng(0x5afe7e45);
  int loaded = 0, rejected = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    std::string bytes = good;
    int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      // Most edits land in the header, where the parsing is.
      size_t limit = (rng() % 4 == 0) ? bytes.size() : std::min<size_t>(bytes.size(), 8 + header_len);
      if (limit == 0) break;
      size_t pos = rng() % limit;
      switch (rng() % 6) {
        case 0: bytes[pos] = static_cast<char>(bytes[pos] ^ (1u << (rng() % 8))); break;
        case 1: bytes[pos] = interesting[rng() % interesting.size()]; break;
        case 2: bytes.erase(pos, 1 + rng() % 4); break;
        case 3: bytes.insert(pos, 1, interesting[rng() % interesting.size()]); break;
        case 4: bytes.resize(pos); break;
        default: {
          std::string hl = bytes.substr(0, std::min<size_t>(8, bytes.size()));
          hl.resize(8, '\0');
          uint64_t n = 0;
          for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(hl[i]);
          int64_t delta = static_cast<int64_t>(rng() % 33) - 16;
          if (bytes.size() >= 8) set_header_length(bytes, n + static_cast<uint64_t>(delta));
        }
      }
    }
    write_bytes(path, bytes);
    try {
      SafetensorsFile f = load_safetensors(path);
      ++loaded;
      for (const auto& kv : f.tensors) CHECK(kv.second.is_contiguous());
    } catch (const Error&) {
      ++rejected;
    } catch (const std::exception& e) {
      FAIL("a non-iris exception escaped load_safetensors: " << e.what());
    }
  }
  CHECK(loaded > 0);
  CHECK(rejected > 2000);
}

TEST_CASE("metadata JSON errors name the file and the key (issue 27)") {
  const std::string path = "/tmp/iris_test_metadata_json.safetensors";
  save_safetensors(path, {{"w", zeros({2})}}, {{"config", "{\"depth\": 3"}, {"extra", "{\"a\": 1}"}});
  SafetensorsFile f = load_safetensors(path);
  CHECK(f.metadata_json("extra")["a"].as_int() == 1);
  CHECK_THROWS_WITH_SUBSTR(f.metadata_json("config"), path + ": metadata 'config' is not valid JSON");
  CHECK_THROWS_WITH_SUBSTR(f.metadata_json("format"), path + ": the metadata has no 'format' entry");
}

TEST_CASE("write_file_atomic removes temporary files that killed writers left behind (issue 27)") {
  const std::string dir = "/tmp/iris_test_stale_temps";
  std::system(("rm -rf " + dir + " && mkdir -p " + dir).c_str());
  const pid_t child = fork();  // a pid that is certainly not running once reaped
  if (child == 0) _exit(0);
  REQUIRE(child > 0);
  waitpid(child, nullptr, 0);
  const std::string stale = dir + "/.last.safetensors.tmp-" + std::to_string(child) + "-0";
  const std::string live = dir + "/.last.safetensors.tmp-" + std::to_string(getppid()) + "-0";  // a running process
  const std::string other = dir + "/.other.tmp-" + std::to_string(child) + "-0";                // another file's
  for (const std::string& p : {stale, live, other}) write_file_atomic(p, "x");
  write_file_atomic(dir + "/last.safetensors", "new");
  CHECK_FALSE(std::filesystem::exists(stale));
  CHECK(std::filesystem::exists(live));
  CHECK(std::filesystem::exists(other));
  CHECK(read_file(dir + "/last.safetensors") == "new");
}
