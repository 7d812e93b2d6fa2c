// iris::json: the Value accessors, the printer (shortest round-trip numbers via std::to_chars) and a
// recursive-descent parser that tracks byte positions, validates UTF-8 and bounds the nesting depth.
// Leaves out: comments, trailing commas, NaN/Infinity, and a BOM (all rejected with a clear error).
#include "io/json.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <unordered_set>

#include "tensor/error.h"

namespace iris::json {

// ---- construction and access ------------------------------------------------------------

Value::Value() = default;
Value::Value(std::nullptr_t) {}
Value::Value(bool v) : data_(v) {}
Value::Value(int v) : data_(static_cast<int64_t>(v)) {}
Value::Value(int64_t v) : data_(v) {}
Value::Value(double v) : data_(v) {}
Value::Value(const char* v) {
  IRIS_CHECK(v != nullptr, "json::Value: constructed from a null const char*; use nullptr for a JSON null");
  data_ = std::string(v);
}
Value::Value(std::string v) : data_(std::move(v)) {}

Value Value::array() {
  Value v;
  v.data_ = Array();
  return v;
}

Value Value::object() {
  Value v;
  v.data_ = Object();
  return v;
}

Value::Type Value::type() const {
  switch (data_.index()) {
    case 0: return Type::null;
    case 1: return Type::boolean;
    case 2: case 3: return Type::number;
    case 4: return Type::string;
    case 5: return Type::array;
    default: return Type::object;
  }
}

const char* Value::type_name(Type t) {
  switch (t) {
    case Type::null: return "null";
    case Type::boolean: return "bool";
    case Type::number: return "number";
    case Type::string: return "string";
    case Type::array: return "array";
    case Type::object: return "object";
  }
  return "?";
}

static const char* with_article(Value::Type t) {
  switch (t) {
    case Value::Type::null: return "null";
    case Value::Type::boolean: return "a bool";
    case Value::Type::number: return "a number";
    case Value::Type::string: return "a string";
    case Value::Type::array: return "an array";
    case Value::Type::object: return "an object";
  }
  return "?";
}

static void expect_type(const Value& v, Value::Type want, const char* what) {
  IRIS_CHECK(v.type() == want, "json: ", what, " needs ", with_article(want), ", but the value is ", with_article(v.type()));
}

bool Value::as_bool() const {
  expect_type(*this, Type::boolean, "as_bool()");
  return std::get<bool>(data_);
}

double Value::as_number() const {
  expect_type(*this, Type::number, "as_number()");
  if (const int64_t* i = std::get_if<int64_t>(&data_)) return static_cast<double>(*i);
  return std::get<double>(data_);
}

int64_t Value::as_int() const {
  expect_type(*this, Type::number, "as_int()");
  if (const int64_t* i = std::get_if<int64_t>(&data_)) return *i;
  double d = std::get<double>(data_);
  // 2^63 is exactly representable; every integral double of smaller magnitude fits in int64.
  IRIS_CHECK(std::isfinite(d) && std::trunc(d) == d && d >= -9223372036854775808.0 && d < 9223372036854775808.0,
             "json: as_int() needs an integer that fits in 64 bits, but the number is ", d);
  return static_cast<int64_t>(d);
}

const std::string& Value::as_string() const {
  expect_type(*this, Type::string, "as_string()");
  return std::get<std::string>(data_);
}

size_t Value::size() const {
  if (const Array* a = std::get_if<Array>(&data_)) return a->size();
  if (const Object* o = std::get_if<Object>(&data_)) return o->size();
  throw Error(cat_str("json: size() needs an array or an object, but the value is ", with_article(type())));
}

const Value& Value::operator[](size_t i) const {
  const Array& a = elements();
  IRIS_CHECK(i < a.size(), "json: index ", i, " is out of range for an array of ", a.size(), " elements");
  return a[i];
}

Value& Value::operator[](size_t i) {
  expect_type(*this, Type::array, "operator[](index)");
  Array& a = std::get<Array>(data_);
  IRIS_CHECK(i < a.size(), "json: index ", i, " is out of range for an array of ", a.size(), " elements");
  return a[i];
}

void Value::push_back(Value v) {
  if (is_null()) data_ = Array();
  expect_type(*this, Type::array, "push_back()");
  std::get<Array>(data_).push_back(std::move(v));
}

const Value* Value::find(const std::string& key) const {
  for (const auto& kv : items())
    if (kv.first == key) return &kv.second;
  return nullptr;
}

bool Value::contains(const std::string& key) const { return find(key) != nullptr; }

const Value& Value::operator[](const std::string& key) const {
  const Value* v = find(key);
  if (v == nullptr) {
    std::string avail;
    size_t shown = 0;
    for (const auto& kv : items()) {
      if (shown == 8) {
        avail += ", ...";
        break;
      }
      avail += (shown++ ? ", \"" : "\"") + kv.first + "\"";
    }
    throw Error(cat_str("json: missing key \"", key, "\" (the object has ", avail.empty() ? "no keys" : avail, ")"));
  }
  return *v;
}

Value& Value::operator[](const std::string& key) {
  if (is_null()) data_ = Object();
  expect_type(*this, Type::object, "operator[](key)");
  Object& o = std::get<Object>(data_);
  for (auto& kv : o)
    if (kv.first == key) return kv.second;
  o.emplace_back(key, Value());
  return o.back().second;
}

const std::vector<std::pair<std::string, Value>>& Value::items() const {
  expect_type(*this, Type::object, "items()");
  return std::get<Object>(data_);
}

const std::vector<Value>& Value::elements() const {
  expect_type(*this, Type::array, "elements()");
  return std::get<Array>(data_);
}

bool Value::operator==(const Value& o) const {
  if (type() != o.type()) return false;
  if (is_number()) {
    if (is_integer() && o.is_integer()) return std::get<int64_t>(data_) == std::get<int64_t>(o.data_);
    return as_number() == o.as_number();
  }
  return data_ == o.data_;
}

// ---- UTF-8 ------------------------------------------------------------------------------

// The length (2-4) of the well-formed UTF-8 sequence starting at s[pos] (a byte >= 0x80), or 0 when it is
// malformed: a bad lead byte, a missing continuation byte, an overlong form, a surrogate, or > U+10FFFF.
static size_t utf8_sequence_length(const std::string& s, size_t pos) {
  unsigned char c0 = static_cast<unsigned char>(s[pos]);
  size_t extra;
  uint32_t cp;
  if (c0 >= 0xC2 && c0 <= 0xDF) { extra = 1; cp = c0 & 0x1F; }
  else if (c0 >= 0xE0 && c0 <= 0xEF) { extra = 2; cp = c0 & 0x0F; }
  else if (c0 >= 0xF0 && c0 <= 0xF4) { extra = 3; cp = c0 & 0x07; }
  else return 0;
  for (size_t i = 1; i <= extra; ++i) {
    if (pos + i >= s.size()) return 0;
    unsigned char c = static_cast<unsigned char>(s[pos + i]);
    if ((c & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (c & 0x3F);
  }
  bool overlong = (extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000);
  if (overlong || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return 0;
  return extra + 1;
}

// ---- printing ---------------------------------------------------------------------------

static void dump_string(std::string& out, const std::string& s) {
  static const char* hex = "0123456789abcdef";
  out += '"';
  for (size_t i = 0; i < s.size(); ++i) {
    char ch = s[i];
    unsigned char c = static_cast<unsigned char>(ch);
    if (c >= 0x80) {
      size_t n = utf8_sequence_length(s, i);
      IRIS_CHECK(n > 0, "json: cannot write a string that is not valid UTF-8 (byte 0x", hex[c >> 4], hex[c & 15],
                 " at position ", i, "); JSON text must be UTF-8");
      out.append(s, i, n);
      i += n - 1;
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 15];
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

static void dump_double(std::string& out, double d) {
  IRIS_CHECK(std::isfinite(d), "json: cannot write the non-finite number ", d,
             " (JSON has no NaN or Infinity); check the value or store it as a string");
  if (d == 0.0 && std::signbit(d)) {
    out += "-0.0";
    return;
  }
  // Integral doubles below 2^53 print as integers; everything else as the shortest round-trip form.
  if (std::trunc(d) == d && std::fabs(d) < 9007199254740992.0) {
    out += std::to_string(static_cast<int64_t>(d));
    return;
  }
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), d);
  IRIS_ASSERT(res.ec == std::errc());
  out.append(buf, res.ptr);
}

static void newline(std::string& out, int indent, int level) {
  out += '\n';
  out.append(static_cast<size_t>(indent) * static_cast<size_t>(level), ' ');
}

void Value::dump_to(std::string& out, int indent, int level) const {
  switch (type()) {
    case Type::null: out += "null"; return;
    case Type::boolean: out += std::get<bool>(data_) ? "true" : "false"; return;
    case Type::number:
      if (is_integer()) out += std::to_string(std::get<int64_t>(data_));
      else dump_double(out, std::get<double>(data_));
      return;
    case Type::string: dump_string(out, std::get<std::string>(data_)); return;
    case Type::array: {
      const Array& a = std::get<Array>(data_);
      if (a.empty()) {
        out += "[]";
        return;
      }
      out += '[';
      for (size_t i = 0; i < a.size(); ++i) {
        if (i) out += ',';
        if (indent >= 0) newline(out, indent, level + 1);
        a[i].dump_to(out, indent, level + 1);
      }
      if (indent >= 0) newline(out, indent, level);
      out += ']';
      return;
    }
    case Type::object: {
      const Object& o = std::get<Object>(data_);
      if (o.empty()) {
        out += "{}";
        return;
      }
      out += '{';
      for (size_t i = 0; i < o.size(); ++i) {
        if (i) out += ',';
        if (indent >= 0) newline(out, indent, level + 1);
        dump_string(out, o[i].first);
        out += indent >= 0 ? ": " : ":";
        o[i].second.dump_to(out, indent, level + 1);
      }
      if (indent >= 0) newline(out, indent, level);
      out += '}';
      return;
    }
  }
}

std::string Value::dump(int indent) const {
  std::string out;
  dump_to(out, indent, 0);
  return out;
}

// ---- parsing ----------------------------------------------------------------------------

// Recursive descent over the text; a friend of Value so objects are built without a linear key search.
class Parser {
 public:
  Parser(const std::string& text, const ParseLimits& limits) : s_(text), limits_(limits) {}

  Value parse_document() {
    skip_space();
    Value v = parse_value(0);
    skip_space();
    if (pos_ < s_.size()) fail("the end of the text after the top-level value");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& expected) const { fail_at(pos_, expected); }

  [[noreturn]] void fail_at(size_t at, const std::string& expected) const {
    size_t line = 1, column = 1;
    for (size_t i = 0; i < at && i < s_.size(); ++i) {
      if (s_[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    std::string got;
    if (at >= s_.size()) {
      got = "the end of the text";
    } else {
      unsigned char c = static_cast<unsigned char>(s_[at]);
      if (c >= 0x20 && c < 0x7f) {
        got = cat_str("'", static_cast<char>(c), "'");
      } else {
        static const char* hex = "0123456789abcdef";
        got = std::string("byte 0x") + hex[c >> 4] + hex[c & 15];
      }
    }
    throw Error(cat_str("json: parse error at byte ", at, " (line ", line, ", column ", column, "): expected ",
                        expected, ", got ", got));
  }

  void skip_space() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }

  bool at_end() const { return pos_ >= s_.size(); }
  char peek() const { return s_[pos_]; }

  void expect_literal(const char* word) {
    size_t n = std::strlen(word);
    for (size_t i = 0; i < n; ++i) {
      if (pos_ + i >= s_.size() || s_[pos_ + i] != word[i]) fail_at(pos_ + i, cat_str("the literal '", word, "'"));
    }
    pos_ += n;
  }

  Value parse_value(int depth) {
    if (++values_ > limits_.max_values)
      throw Error(cat_str("json: parse error at byte ", pos_, ": the text holds more than the limit of ",
                          limits_.max_values, " values"));
    if (at_end()) fail("a value (null, true, false, a number, a string, '[' or '{')");
    char c = peek();
    switch (c) {
      case 'n': expect_literal("null"); return Value();
      case 't': expect_literal("true"); return Value(true);
      case 'f': expect_literal("false"); return Value(false);
      case '"': return Value(parse_string());
      case '[': return parse_array(depth + 1);
      case '{': return parse_object(depth + 1);
      default:
        if (c == '-' || (c >= '0' && c <= '9')) return parse_number();
        fail("a value (null, true, false, a number, a string, '[' or '{')");
    }
  }

  void check_depth(int depth) const {
    if (depth > limits_.max_depth)
      throw Error(cat_str("json: parse error at byte ", pos_, ": arrays/objects nest deeper than the limit of ",
                          limits_.max_depth, " levels"));
  }

  Value parse_array(int depth) {
    check_depth(depth);
    ++pos_;  // '['
    Value arr = Value::array();
    skip_space();
    if (!at_end() && peek() == ']') {
      ++pos_;
      return arr;
    }
    for (;;) {
      skip_space();
      arr.push_back(parse_value(depth));
      skip_space();
      if (at_end()) fail("',' or ']' in an array");
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == ']') {
        ++pos_;
        return arr;
      }
      fail("',' or ']' in an array");
    }
  }

  Value parse_object(int depth) {
    check_depth(depth);
    ++pos_;  // '{'
    Value obj = Value::object();
    Value::Object& members = std::get<Value::Object>(obj.data_);
    std::unordered_set<std::string> keys;
    skip_space();
    if (!at_end() && peek() == '}') {
      ++pos_;
      return obj;
    }
    for (;;) {
      skip_space();
      if (at_end() || peek() != '"') fail("a string key in an object");
      size_t key_pos = pos_;
      std::string key = parse_string();
      if (!keys.insert(key).second) {
        throw Error(cat_str("json: parse error at byte ", key_pos, ": duplicate key \"", key, "\" in an object"));
      }
      skip_space();
      if (at_end() || peek() != ':') fail("':' after an object key");
      ++pos_;
      skip_space();
      members.emplace_back(std::move(key), parse_value(depth));
      skip_space();
      if (at_end()) fail("',' or '}' in an object");
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == '}') {
        ++pos_;
        return obj;
      }
      fail("',' or '}' in an object");
    }
  }

  static void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  uint32_t parse_hex4() {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      if (at_end()) fail("4 hex digits after \\u");
      char c = peek();
      uint32_t d;
      if (c >= '0' && c <= '9') d = c - '0';
      else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
      else fail("4 hex digits after \\u");
      v = v * 16 + d;
      ++pos_;
    }
    return v;
  }

  // Copies one UTF-8 encoded code point (first byte >= 0x80) after checking it is well formed.
  void copy_utf8(std::string& out) {
    size_t n = utf8_sequence_length(s_, pos_);
    if (n == 0) fail("valid UTF-8 in a string");
    out.append(s_, pos_, n);
    pos_ += n;
  }

  std::string parse_string() {
    ++pos_;  // opening quote
    std::string out;
    for (;;) {
      if (at_end()) fail("a closing '\"' of a string");
      unsigned char c = static_cast<unsigned char>(peek());
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (c < 0x20) fail("an escaped control character (raw control characters are not allowed in strings)");
      if (c >= 0x80) {
        copy_utf8(out);
        continue;
      }
      if (c != '\\') {
        out += static_cast<char>(c);
        ++pos_;
        continue;
      }
      ++pos_;  // backslash
      if (at_end()) fail("an escape character after '\\'");
      char e = peek();
      ++pos_;
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          size_t esc_pos = pos_ - 2;
          uint32_t cp = parse_hex4();
          if (cp >= 0xDC00 && cp <= 0xDFFF) fail_at(esc_pos, "a high surrogate before a low surrogate");
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (pos_ + 1 >= s_.size() || s_[pos_] != '\\' || s_[pos_ + 1] != 'u')
              fail("a \\u low surrogate after a high surrogate");
            pos_ += 2;
            uint32_t lo = parse_hex4();
            if (lo < 0xDC00 || lo > 0xDFFF) fail_at(pos_ - 6, "a low surrogate (\\uDC00-\\uDFFF)");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          append_utf8(out, cp);
          break;
        }
        default:
          fail_at(pos_ - 1, "one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u");
      }
    }
  }

  static bool is_digit(char c) { return c >= '0' && c <= '9'; }

  // The power of ten of the first non-zero digit of a well-formed JSON number with a non-zero mantissa
  // ("123" -> 2, "0.05" -> -2, "1e-400" -> -400), saturating far outside the double range.
  static int64_t decimal_order(const char* first, const char* last) {
    const char* p = first;
    if (*p == '-') ++p;
    int64_t order = 0;
    bool found = false;
    for (; p < last && is_digit(*p); ++p) {
      if (!found && *p != '0') {
        found = true;
        order = 0;
      } else if (found) {
        ++order;
      }
    }
    if (p < last && *p == '.') {
      ++p;
      int64_t k = 0;
      for (; p < last && is_digit(*p); ++p) {
        ++k;
        if (!found && *p != '0') {
          found = true;
          order = -k;
        }
      }
    }
    int64_t exponent = 0;
    if (p < last && (*p == 'e' || *p == 'E')) {
      ++p;
      bool exp_negative = false;
      if (*p == '+' || *p == '-') exp_negative = *p++ == '-';
      for (; p < last; ++p) exponent = std::min<int64_t>(exponent * 10 + (*p - '0'), 1000000000);
      if (exp_negative) exponent = -exponent;
    }
    return order + exponent;
  }

  Value parse_number() {
    size_t start = pos_;
    bool negative = false;
    if (peek() == '-') {
      negative = true;
      ++pos_;
    }
    if (at_end() || !is_digit(peek())) fail("a digit in a number");
    if (peek() == '0') {
      ++pos_;
      if (!at_end() && is_digit(peek())) fail("'.', 'e' or the end of the number (no leading zeros)");
    } else {
      while (!at_end() && is_digit(peek())) ++pos_;
    }
    bool integral = true;
    if (!at_end() && peek() == '.') {
      integral = false;
      ++pos_;
      if (at_end() || !is_digit(peek())) fail("a digit after the decimal point");
      while (!at_end() && is_digit(peek())) ++pos_;
    }
    if (!at_end() && (peek() == 'e' || peek() == 'E')) {
      integral = false;
      ++pos_;
      if (!at_end() && (peek() == '+' || peek() == '-')) ++pos_;
      if (at_end() || !is_digit(peek())) fail("a digit in the exponent");
      while (!at_end() && is_digit(peek())) ++pos_;
    }
    const char* first = s_.data() + start;
    const char* last = s_.data() + pos_;
    if (integral) {
      int64_t v = 0;
      auto res = std::from_chars(first, last, v);
      if (res.ec == std::errc() && res.ptr == last) return Value(v);
      // Too large for int64: fall through to a double.
    }
    double d = 0;
    auto res = std::from_chars(first, last, d);
    if (res.ec == std::errc::result_out_of_range) {
      // from_chars reports underflow as out of range too: tiny numbers become 0, huge ones are refused.
      if (decimal_order(first, last) < 0) return Value(negative ? -0.0 : 0.0);
      throw Error(cat_str("json: parse error at byte ", start, ": the number ", std::string(first, last),
                          " is too large for a double"));
    }
    IRIS_ASSERT(res.ec == std::errc() && res.ptr == last);
    return Value(d);
  }

  const std::string& s_;
  size_t pos_ = 0;
  ParseLimits limits_;
  int64_t values_ = 0;
};

Value parse(const std::string& text, const ParseLimits& limits) { return Parser(text, limits).parse_document(); }

Value parse(const std::string& text, int max_depth) {
  ParseLimits limits;
  limits.max_depth = max_depth;
  return parse(text, limits);
}

}  // namespace iris::json
