// iris::json: a small JSON value (null, bool, number, string, array, object), a strict parser with a
// bounded nesting depth and exact byte positions in its errors, and a printer whose numbers round-trip.
// Leaves out: comments, NaN/Infinity literals, streaming, and JSON pointer/patch; objects keep insertion order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace iris::json {

class Value {
 public:
  enum class Type { null, boolean, number, string, array, object };

  Value();  // null
  Value(std::nullptr_t);  // NOLINT: implicit on purpose, as are the ones below
  Value(bool v);
  Value(int v);
  Value(int64_t v);
  Value(double v);
  Value(const char* v);  // a null pointer throws
  Value(std::string v);
  // Any other integer type (size_t, unsigned, long long, ...), so Value(vec.size()) is not ambiguous.
  // Unsigned values above INT64_MAX are stored as doubles.
  template <class T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool> &&
                                          !std::is_same_v<T, int> && !std::is_same_v<T, int64_t>,
                                      int> = 0>
  Value(T v) {  // NOLINT
    if constexpr (std::is_unsigned_v<T>) {
      if (static_cast<uint64_t>(v) > static_cast<uint64_t>(INT64_MAX)) {
        *this = Value(static_cast<double>(v));
        return;
      }
    }
    *this = Value(static_cast<int64_t>(v));
  }
  static Value array();
  static Value object();

  Type type() const;
  bool is_null() const { return type() == Type::null; }
  bool is_bool() const { return type() == Type::boolean; }
  bool is_number() const { return type() == Type::number; }
  bool is_string() const { return type() == Type::string; }
  bool is_array() const { return type() == Type::array; }
  bool is_object() const { return type() == Type::object; }
  // True for numbers stored exactly as a 64-bit integer (parsed without '.'/exponent, or built from one).
  bool is_integer() const { return std::holds_alternative<int64_t>(data_); }

  // Each as_* throws iris::Error naming the expected and the actual type.
  bool as_bool() const;
  double as_number() const;
  int64_t as_int() const;  // the number must be integral and fit in int64
  const std::string& as_string() const;

  size_t size() const;  // array or object
  const Value& operator[](size_t i) const;  // array; throws when out of range
  Value& operator[](size_t i);              // array; throws when out of range
  void push_back(Value v);                  // array (a null value becomes an empty array first)
  bool contains(const std::string& key) const;  // object
  const Value& operator[](const std::string& key) const;  // object; throws naming the missing key
  // Object; inserts null when missing (keeps insertion order). A null value becomes an empty object first.
  Value& operator[](const std::string& key);
  const Value* find(const std::string& key) const;  // object; nullptr when missing
  const std::vector<std::pair<std::string, Value>>& items() const;  // object entries, in insertion order
  const std::vector<Value>& elements() const;                      // array elements

  // Compact when indent < 0, else one member per line indented by `indent` spaces per level.
  // Numbers round-trip: integers print without a decimal point; non-finite numbers throw.
  std::string dump(int indent = -1) const;

  // Deep equality; numbers compare by value (1 == 1.0); object member order matters.
  bool operator==(const Value& o) const;
  bool operator!=(const Value& o) const { return !(*this == o); }

  static const char* type_name(Type t);

 private:
  friend class Parser;
  using Array = std::vector<Value>;
  using Object = std::vector<std::pair<std::string, Value>>;
  void dump_to(std::string& out, int indent, int level) const;

  // One alternative per kind of value; numbers are int64_t when exact integers, else double.
  std::variant<std::monostate, bool, int64_t, double, std::string, Array, Object> data_;
};

// Parses UTF-8 JSON text; throws iris::Error with the byte position and what was expected. Arrays and
// objects may nest at most max_depth deep, so hostile input cannot overflow the stack. Strings must be
// valid UTF-8; duplicate object keys are rejected (their meaning would otherwise be ambiguous).
Value parse(const std::string& text, int max_depth = 64);

// The same with a cap on the number of values (scalars, arrays and objects) the text may hold, for
// untrusted input where memory matters: each value costs about 40 bytes however short its text.
struct ParseLimits {
  int max_depth = 64;
  int64_t max_values = INT64_MAX;
};
Value parse(const std::string& text, const ParseLimits& limits);

}  // namespace iris::json
