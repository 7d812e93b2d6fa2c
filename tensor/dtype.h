// DType (element types), Device (where storage lives) and the dtype dispatch helpers kernels use.
// bf16/f16 are storage types for GPU mixed precision: on the CPU they only convert (copy/cast).
// Leaves out: type promotion rules beyond `promote_types`.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

#include "tensor/error.h"
#include "tensor/scalar_convert.h"

namespace iris {

enum class DType : uint8_t { f32, f64, i32, i64, u8, b8, bf16, f16 };

constexpr int kNumDTypes = 8;

inline size_t dtype_size(DType t) {
  switch (t) {
    case DType::f32: case DType::i32: return 4;
    case DType::f64: case DType::i64: return 8;
    case DType::u8: case DType::b8: return 1;
    case DType::bf16: case DType::f16: return 2;
  }
  return 0;
}

inline const char* dtype_name(DType t) {
  switch (t) {
    case DType::f32: return "f32";
    case DType::f64: return "f64";
    case DType::i32: return "i32";
    case DType::i64: return "i64";
    case DType::u8: return "u8";
    case DType::b8: return "bool";
    case DType::bf16: return "bf16";
    case DType::f16: return "f16";
  }
  return "?";
}

inline bool is_floating(DType t) {
  return t == DType::f32 || t == DType::f64 || t == DType::bf16 || t == DType::f16;
}
inline bool is_integral(DType t) { return !is_floating(t); }  // bool counts as integral

// The dtype two operands compute in: bool < u8 < i32 < i64 < f32 < f64 (bf16/f16 promote to f32).
DType promote_types(DType a, DType b);

// bf16_t / f16_t and their conversions (bf16_to_float, float_to_f16, ...) are in tensor/scalar_convert.h.

template <class T>
struct dtype_of;
template <> struct dtype_of<float> { static constexpr DType value = DType::f32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::f64; };
template <> struct dtype_of<int32_t> { static constexpr DType value = DType::i32; };
template <> struct dtype_of<int64_t> { static constexpr DType value = DType::i64; };
template <> struct dtype_of<uint8_t> { static constexpr DType value = DType::u8; };
template <> struct dtype_of<bool> { static constexpr DType value = DType::b8; };

// ---- device -------------------------------------------------------------------------------
enum class DeviceType : uint8_t { cpu, cuda };

struct Device {
  DeviceType type = DeviceType::cpu;
  int index = 0;
  static Device cpu() { return {DeviceType::cpu, 0}; }
  static Device cuda(int i = 0) { return {DeviceType::cuda, i}; }
  bool is_cpu() const { return type == DeviceType::cpu; }
  bool is_cuda() const { return type == DeviceType::cuda; }
  bool operator==(const Device& o) const { return type == o.type && index == o.index; }
  bool operator!=(const Device& o) const { return !(*this == o); }
  std::string str() const { return is_cpu() ? "cpu" : "cuda:" + std::to_string(index); }
  // Parses "cpu", "cuda", "cuda:1"; throws with the accepted forms otherwise.
  static Device parse(const std::string& s);
};

// ---- dispatch -----------------------------------------------------------------------------
// dispatch_float(dt, "op", [&](auto zero) { using T = decltype(zero); ... });
template <class F>
void dispatch_float(DType dt, const char* op, F&& f) {
  switch (dt) {
    case DType::f32: f(float{}); return;
    case DType::f64: f(double{}); return;
    default:
      throw Error(cat_str(op, ": needs a floating tensor (f32 or f64), got ", dtype_name(dt),
                          "; convert with .to(DType::f32)"));
  }
}

// All CPU-computable dtypes: f32, f64, i32, i64, u8, bool.
template <class F>
void dispatch_all(DType dt, const char* op, F&& f) {
  switch (dt) {
    case DType::f32: f(float{}); return;
    case DType::f64: f(double{}); return;
    case DType::i32: f(int32_t{}); return;
    case DType::i64: f(int64_t{}); return;
    case DType::u8: f(uint8_t{}); return;
    case DType::b8: f(bool{}); return;
    default:
      throw Error(cat_str(op, ": dtype ", dtype_name(dt),
                          " is a storage type only on the CPU; convert with .to(DType::f32)"));
  }
}

// Every storage dtype: those of dispatch_all plus bf16 and f16 (which only copy, convert and fill).
template <class F>
void dispatch_storage(DType dt, F&& f) {
  if (dt == DType::bf16) return f(bf16_t{});
  if (dt == DType::f16) return f(f16_t{});
  dispatch_all(dt, "copy", f);
}

// Index tensors: i32 or i64.
template <class F>
void dispatch_index(DType dt, const char* op, F&& f) {
  switch (dt) {
    case DType::i32: f(int32_t{}); return;
    case DType::i64: f(int64_t{}); return;
    default:
      throw Error(cat_str(op, ": indices must be i64 or i32, got ", dtype_name(dt)));
  }
}

}  // namespace iris
