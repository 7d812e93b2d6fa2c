// Type promotion, 16-bit float conversions and device parsing.
#include "tensor/dtype.h"

#include <cmath>

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

float bf16_to_float(bf16_t v) {
  uint32_t bits = static_cast<uint32_t>(v.bits) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

bf16_t float_to_bf16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  if (std::isnan(f)) return {static_cast<uint16_t>((bits >> 16) | 0x40)};
  uint32_t rounding = 0x7fff + ((bits >> 16) & 1);  // round to nearest, ties to even
  return {static_cast<uint16_t>((bits + rounding) >> 16)};
}

float f16_to_float(f16_t v) {
  uint32_t sign = (v.bits & 0x8000u) << 16, exp = (v.bits >> 10) & 0x1f, man = v.bits & 0x3ff;
  uint32_t bits;
  if (exp == 0) {
    if (man == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      int e = -1;
      do {
        ++e;
        man <<= 1;
      } while (!(man & 0x400));
      bits = sign | ((127 - 15 - e) << 23) | ((man & 0x3ff) << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (man << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

f16_t float_to_f16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  uint32_t sign = (bits >> 16) & 0x8000u;
  int32_t exp = static_cast<int32_t>((bits >> 23) & 0xff) - 127 + 15;
  uint32_t man = bits & 0x7fffff;
  if (((bits >> 23) & 0xff) == 0xff) return {static_cast<uint16_t>(sign | 0x7c00 | (man ? 0x200 : 0))};
  if (exp >= 31) return {static_cast<uint16_t>(sign | 0x7c00)};
  if (exp <= 0) {
    if (exp < -10) return {static_cast<uint16_t>(sign)};
    man |= 0x800000;
    uint32_t shift = static_cast<uint32_t>(14 - exp);
    uint32_t half = man >> shift;
    uint32_t rem = man & ((1u << shift) - 1), mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1))) ++half;
    return {static_cast<uint16_t>(sign | half)};
  }
  uint32_t half = sign | (static_cast<uint32_t>(exp) << 10) | (man >> 13);
  uint32_t rem = man & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (half & 1))) ++half;  // may carry into the exponent: correct
  return {static_cast<uint16_t>(half)};
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
