// io/npy against files numpy wrote (tests/golden/npy/, made by tests/golden/make_npy.py): every
// dtype, 0-d, empty and version 2.0 arrays read back with the values the script used; save_npy's
// bytes equal numpy's own files; and the malformed files are refused with a message naming them.
#include <cmath>
#include <string>
#include <vector>

#include "io/file_util.h"
#include "io/npy.h"
#include "tests/helpers.h"

using namespace iris;

namespace {

const std::string kDir = "tests/golden/npy/";

std::vector<double> halves(int n) {  // the script's values(n): i * 0.5 - 3
  std::vector<double> v;
  for (int i = 0; i < n; ++i) v.push_back(i * 0.5 - 3.0);
  return v;
}

}  // namespace

TEST_CASE("npy: reads what numpy wrote") {
  struct Case {
    const char* file;
    DType dtype;
    Shape shape;
  };
  for (const Case& c : {Case{"f4_2x3.npy", DType::f32, {2, 3}}, Case{"f8_2x3x2.npy", DType::f64, {2, 3, 2}},
                        Case{"f4_v2.npy", DType::f32, {3, 2}}, Case{"f2_4.npy", DType::f16, {4}},
                        Case{"f8_scalar.npy", DType::f64, {}}, Case{"f4_empty.npy", DType::f32, {0, 3}}}) {
    CAPTURE(c.file);
    Tensor t = load_npy(kDir + c.file);
    CHECK(t.dtype() == c.dtype);
    CHECK(t.shape() == c.shape);
    std::vector<double> got = t.to_vector<double>();
    std::vector<double> want = c.shape.empty() ? std::vector<double>{2.5} : halves(static_cast<int>(t.numel()));
    CHECK(got == want);
  }
  Tensor i4 = load_npy(kDir + "i4_5.npy");
  CHECK(i4.dtype() == DType::i32);
  CHECK(i4.to_vector<int32_t>() == std::vector<int32_t>{-10, -3, 4, 11, 18});
  Tensor i8 = load_npy(kDir + "i8_3x2.npy");
  CHECK(i8.dtype() == DType::i64);
  CHECK(i8.shape() == Shape{3, 2});
  std::vector<int64_t> want8;
  for (int64_t i = 0; i < 6; ++i) want8.push_back(i * 1000000007 - 3);
  CHECK(i8.to_vector<int64_t>() == want8);
  Tensor u1 = load_npy(kDir + "u1_4.npy");
  CHECK(u1.dtype() == DType::u8);
  CHECK(u1.to_vector<int64_t>() == std::vector<int64_t>{0, 1, 128, 255});
  Tensor b1 = load_npy(kDir + "b1_3.npy");
  CHECK(b1.dtype() == DType::b8);
  CHECK(b1.to_vector<int64_t>() == std::vector<int64_t>{1, 0, 1});
}

TEST_CASE("npy: save_npy writes numpy's exact bytes and reads back") {
  for (const char* file : {"f4_2x3.npy", "f8_2x3x2.npy", "i4_5.npy", "i8_3x2.npy", "u1_4.npy", "b1_3.npy",
                           "f2_4.npy", "f8_scalar.npy", "f4_empty.npy"}) {
    CAPTURE(file);
    const std::string numpy_bytes = read_file(kDir + file);
    Tensor t = parse_npy(numpy_bytes, file);
    CHECK(npy_bytes(t) == numpy_bytes);
  }
  // A non-contiguous tensor is written in C order.
  Tensor t = from_vector(halves(6), Shape{2, 3}).t();
  const std::string path = "/tmp/iris_test_npy_roundtrip.npy";
  save_npy(path, t);
  Tensor back = load_npy(path);
  CHECK(back.shape() == Shape{3, 2});
  CHECK(back.to_vector<double>() == t.contiguous().to_vector<double>());
  CHECK_THROWS_WITH(npy_bytes(zeros({2}, DType::bf16)), doctest::Contains("no .npy equivalent"));
}

TEST_CASE("npy: malformed files give clear errors naming the file") {
  struct Bad {
    const char* file;
    const char* message;
  };
  for (const Bad& b : {Bad{"bad_fortran.npy", "Fortran-order"}, Bad{"bad_bigendian.npy", "'>f4' is big-endian"},
                       Bad{"bad_complex.npy", "'<c8' is not supported"},
                       Bad{"bad_truncated.npy",
                           "truncated .npy data: shape [2, 3] of <f4 needs 24 bytes, the file has 19"},
                       Bad{"bad_trailing.npy", "4 bytes after the data"}, Bad{"bad_magic.npy", "not a .npy file"},
                       Bad{"bad_header.npy", "unexpected key 'descx'"}}) {
    CAPTURE(b.file);
    CHECK_THROWS_WITH(load_npy(kDir + b.file), doctest::Contains(b.message));
    CHECK_THROWS_WITH(load_npy(kDir + b.file), doctest::Contains((kDir + b.file).c_str()));
  }
  CHECK_THROWS_WITH(load_npy(kDir + "missing.npy"), doctest::Contains("missing.npy"));
  // Hand-made headers: a short file, an unterminated header, a bad version, an absurd shape.
  const std::string good = read_file(kDir + "f4_2x3.npy");
  CHECK_THROWS_WITH(parse_npy(good.substr(0, 9), "x.npy"), doctest::Contains("x.npy: truncated .npy header"));
  CHECK_THROWS_WITH(parse_npy(good.substr(0, 40), "x.npy"), doctest::Contains("truncated .npy header"));
  std::string v9 = good;
  v9[6] = 9;
  CHECK_THROWS_WITH(parse_npy(v9, "x.npy"), doctest::Contains("version 9.0 is not supported"));
  std::string huge = "\x93NUMPY\x01";
  huge += '\0';
  std::string h = "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999999), }\n";
  huge += static_cast<char>(h.size());
  huge += '\0';
  huge += h;
  CHECK_THROWS_WITH(parse_npy(huge, "x.npy"), doctest::Contains("needs more data than the file's"));
  std::string missing_key = huge.substr(0, 10) + "{'descr': '<f4', 'shape': (2,)}" + std::string(8, '\0');
  missing_key[8] = static_cast<char>(std::string("{'descr': '<f4', 'shape': (2,)}").size());
  CHECK_THROWS_WITH(parse_npy(missing_key, "x.npy"), doctest::Contains("must have the keys"));
}
