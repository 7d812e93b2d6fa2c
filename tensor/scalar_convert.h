// The 16-bit float storage types (bf16_t, f16_t) and every scalar conversion between storage dtypes,
// written once for the CPU (tensor/cpu/copy.cpp) and the CUDA copy kernels (cuda/runtime.cu), so both
// give the same bits: bf16/f16 <-> float rounding to nearest even, and any dtype -> double -> any dtype.
// Leaves out arithmetic in 16 bits (bf16/f16 only store; they compute as f32) and the dtype enum (dtype.h).
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "tensor/host_device.h"

namespace iris {

// bfloat16 and float16 as plain 16-bit storage with conversions (round to nearest even).
struct bf16_t {
  uint16_t bits;
};
struct f16_t {
  uint16_t bits;
};

// A float's IEEE bits and back (memcpy on the host, the intrinsics on the device).
IRIS_HOST_DEVICE inline float float_from_bits(uint32_t b) {
#ifdef __CUDA_ARCH__
  return __uint_as_float(b);
#else
  float f;
  std::memcpy(&f, &b, 4);
  return f;
#endif
}
IRIS_HOST_DEVICE inline uint32_t bits_from_float(float f) {
#ifdef __CUDA_ARCH__
  return __float_as_uint(f);
#else
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
#endif
}

IRIS_HOST_DEVICE inline float bf16_to_float(bf16_t v) { return float_from_bits(static_cast<uint32_t>(v.bits) << 16); }
IRIS_HOST_DEVICE inline bf16_t float_to_bf16(float f) {
  uint32_t bits = bits_from_float(f);
  if (f != f) return {static_cast<uint16_t>((bits >> 16) | 0x40)};  // NaN stays a (quiet) NaN
  uint32_t rounding = 0x7fff + ((bits >> 16) & 1);                   // round to nearest, ties to even
  return {static_cast<uint16_t>((bits + rounding) >> 16)};
}

IRIS_HOST_DEVICE inline float f16_to_float(f16_t v) {
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
      bits = sign | (static_cast<uint32_t>(127 - 15 - e) << 23) | ((man & 0x3ff) << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (man << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
  }
  return float_from_bits(bits);
}

IRIS_HOST_DEVICE inline f16_t float_to_f16(float f) {
  uint32_t bits = bits_from_float(f);
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

// ---- the copy kernels' rule: every conversion goes through double --------------------------------
template <class T>
IRIS_HOST_DEVICE inline double load_as_double(T v) { return static_cast<double>(v); }
template <>
IRIS_HOST_DEVICE inline double load_as_double(bf16_t v) { return bf16_to_float(v); }
template <>
IRIS_HOST_DEVICE inline double load_as_double(f16_t v) { return f16_to_float(v); }

// bool is v != 0; integers take NaN to 0 and otherwise truncate (C++'s cast); 16-bit floats round.
template <class T>
IRIS_HOST_DEVICE inline T store_from(double v) {
  if constexpr (std::is_same_v<T, bool>) return v != 0.0;
  else if constexpr (std::is_same_v<T, bf16_t>) return float_to_bf16(static_cast<float>(v));
  else if constexpr (std::is_same_v<T, f16_t>) return float_to_f16(static_cast<float>(v));
  else if constexpr (std::is_integral_v<T>) return v != v ? T(0) : static_cast<T>(v);
  else return static_cast<T>(v);
}

}  // namespace iris
