// Type promotion and device parsing (the 16-bit float conversions are inline in tensor/scalar_convert.h).
#include "tensor/dtype.h"

#include <algorithm>

namespace iris {

static int rank_of(DType t) {
  switch (t) {
    case DType::b8: return 0;
    case DType::u8: return 1;
    case DType::i32: return 2;
    case DType::i64: return 3;
    case DType::bf16: case DType::f16: case DType::f32: return 4;
    case DType::f64: return 5;
  }
  return 0;
}

DType promote_types(DType a, DType b) {
  if (a == b && a != DType::bf16 && a != DType::f16) return a;
  int r = std::max(rank_of(a), rank_of(b));
  static const DType by_rank[] = {DType::b8, DType::u8, DType::i32, DType::i64, DType::f32, DType::f64};
  return by_rank[r];
}

Device Device::parse(const std::string& s) {
  if (s == "cpu") return cpu();
  if (s == "cuda") return cuda(0);
  if (s.rfind("cuda:", 0) == 0) {
    std::string idx = s.substr(5);
    bool digits = !idx.empty() && idx.size() < 4;
    for (char c : idx) digits = digits && c >= '0' && c <= '9';
    IRIS_CHECK(digits, "device '", s, "': the index after 'cuda:' must be a number, e.g. cuda:0");
    return cuda(std::stoi(idx));
  }
  throw Error(cat_str("unknown device '", s, "': use cpu, cuda or cuda:N"));
}

}  // namespace iris
