// The compiler and flags this build uses, checked on the patterns that have broken before.
// GCC 12.2 with AVX-512 (-march=native on an AVX-512 host) stored 32- and 64-byte constants whose
// explicit elements are equal and whose tail is zeros as a broadcast of the first element, so
// from_vector<int64_t>({2, 2, 2, 0}) held {2, 2, 2, 2} and gather's backward test failed. The fix is
// in CMakeLists.txt (a configure-time probe, then -mmove-max=128 -mstore-max=128 where it fails);
// this suite is compiled with the same flags as every other, so it fails if that fix is lost.
// Leaves out: the kernels themselves (their own suites).
#include "tests/helpers.h"

using namespace iris;

namespace {

template <class T>
std::vector<T> round_trip(const std::vector<T>& v) {
  return from_vector<T>(v, Shape{int64_t(v.size())}).template to_vector<T>();
}

}  // namespace

TEST_CASE("wide constants with a zero tail survive compilation (GCC 12.2 + AVX-512 broadcast bug)") {
  // 32 bytes of int64: three equal values, then zero.
  CHECK(round_trip<int64_t>({2, 2, 2, 0}) == std::vector<int64_t>{2, 2, 2, 0});
  CHECK(round_trip<int64_t>({2, 2, 0, 0}) == std::vector<int64_t>{2, 2, 0, 0});
  // 64 bytes of int64.
  CHECK(round_trip<int64_t>({7, 7, 7, 7, 7, 7, 7, 0}) == std::vector<int64_t>{7, 7, 7, 7, 7, 7, 7, 0});
  CHECK(round_trip<int64_t>({3, 3, 3, 3, 0, 0, 0, 0}) == std::vector<int64_t>{3, 3, 3, 3, 0, 0, 0, 0});
  // float and int32 of 32 bytes, int16 of 32 bytes.
  CHECK(round_trip<float>({2, 2, 2, 2, 2, 2, 0, 0}) == std::vector<float>{2, 2, 2, 2, 2, 2, 0, 0});
  CHECK(round_trip<int32_t>({5, 5, 5, 5, 5, 5, 5, 0}) == std::vector<int32_t>{5, 5, 5, 5, 5, 5, 5, 0});
  std::vector<int16_t> shorts = {3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 0, 0, 0, 0};
  CHECK(shorts[12] == 0);
  CHECK(shorts[15] == 0);
}

TEST_CASE("gather backward over the index {2, 2, 2, 0}: the case that exposed the bug") {
  Tensor w = zeros({3}, DType::f64).requires_grad_();
  sum(gather(w, 0, from_vector<int64_t>({2, 2, 2, 0}, Shape{4}))).backward();
  CHECK(w.grad().to_vector<double>() == std::vector<double>{1, 0, 3});
}
