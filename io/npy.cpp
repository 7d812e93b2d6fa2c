// .npy reading and writing (see npy.h). The reader treats the file as untrusted: the header is parsed
// by a small recursive-descent reader of the three keys NumPy writes (no eval), every dimension is
// range-checked before the element count is formed, and the data must be exactly the shape's size.
// Leaves out: big-endian hosts (we refuse to build there, as safetensors.cpp does).
#include "io/npy.h"

#include <cctype>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "io/file_util.h"
#include "tensor/error.h"
#include "tensor/shape.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "npy.cpp reads little-endian data into host memory; port the byte swapping first"
#endif

namespace iris {

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;

struct NpyDType {
  DType dtype;
  const char* descr;
};
constexpr NpyDType kDTypes[] = {{DType::f32, "<f4"}, {DType::f64, "<f8"}, {DType::i32, "<i4"}, {DType::i64, "<i8"},
                                {DType::u8, "|u1"},  {DType::b8, "|b1"},  {DType::f16, "<f2"}};

// Reads the header dict: {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& name) : s_(text), name_(name) {}

  void parse(std::string& descr, bool& fortran, Shape& shape) {
    bool have_descr = false, have_fortran = false, have_shape = false;
    expect('{');
    while (true) {
      skip_space();
      if (peek() == '}') break;
      const std::string key = string_literal();
      expect(':');
      if (key == "descr") {
        skip_space();
        IRIS_CHECK(peek() == '\'' || peek() == '"', name_,
                   ": .npy header: 'descr' must be a dtype string such as '<f4' (structured dtypes are not ",
                   "supported), header: ", s_);
        descr = string_literal();
        have_descr = true;
      } else if (key == "fortran_order") {
        fortran = boolean();
        have_fortran = true;
      } else if (key == "shape") {
        shape = tuple();
        have_shape = true;
      } else {
        fail(cat_str("unexpected key '", key, "'"));
      }
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      skip_space();
      IRIS_CHECK(peek() == '}', name_, ": .npy header: expected ',' or '}' at byte ", pos_, ", header: ", s_);
      break;
    }
    expect('}');
    skip_space();
    IRIS_CHECK(pos_ == s_.size(), name_, ": .npy header: text after the dict at byte ", pos_, ", header: ", s_);
    IRIS_CHECK(have_descr && have_fortran && have_shape, name_,
               ": .npy header must have the keys 'descr', 'fortran_order' and 'shape', header: ", s_);
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(cat_str(name_, ": .npy header: ", what, " at byte ", pos_, ", header: ", s_));
  }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void skip_space() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  void expect(char c) {
    skip_space();
    if (peek() != c) fail(cat_str("expected '", c, "'"));
    ++pos_;
  }
  std::string string_literal() {
    skip_space();
    const char quote = peek();
    if (quote != '\'' && quote != '"') fail("expected a quoted string");
    const size_t start = ++pos_;
    while (pos_ < s_.size() && s_[pos_] != quote) ++pos_;
    if (pos_ >= s_.size()) fail("unterminated string");
    return s_.substr(start, pos_++ - start);
  }
  bool boolean() {
    skip_space();
    if (s_.compare(pos_, 4, "True") == 0) {
      pos_ += 4;
      return true;
    }
    if (s_.compare(pos_, 5, "False") == 0) {
      pos_ += 5;
      return false;
    }
    fail("expected True or False");
  }
  Shape tuple() {
    expect('(');
    Shape shape;
    while (true) {
      skip_space();
      if (peek() == ')') break;
      if (!std::isdigit(static_cast<unsigned char>(peek()))) fail("expected a dimension (a non-negative integer)");
      int64_t v = 0;
      while (std::isdigit(static_cast<unsigned char>(peek()))) {
        if (v > (std::numeric_limits<int64_t>::max() - 9) / 10) fail("dimension too large");
        v = v * 10 + (s_[pos_++] - '0');
      }
      if (peek() == 'L') ++pos_;  // Python 2 long literals
      shape.push_back(v);
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() != ')') fail("expected ',' or ')' in the shape");
    }
    ++pos_;
    return shape;
  }

  const std::string& s_;
  const std::string& name_;
  size_t pos_ = 0;
};

uint32_t read_le(const std::string& b, size_t at, int bytes) {
  uint32_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= static_cast<uint32_t>(static_cast<unsigned char>(b[at + i])) << (8 * i);
  return v;
}

}  // namespace

Tensor parse_npy(const std::string& bytes, const std::string& name) {
  IRIS_CHECK(bytes.size() >= kMagicLen + 2 && std::memcmp(bytes.data(), kMagic, kMagicLen) == 0, name,
             ": not a .npy file (it does not start with \\x93NUMPY)");
  const int major = static_cast<unsigned char>(bytes[6]), minor = static_cast<unsigned char>(bytes[7]);
  IRIS_CHECK((major == 1 || major == 2 || major == 3) && minor == 0, name, ": .npy format version ", major, ".",
             minor, " is not supported (1.0, 2.0, 3.0 are)");
  const int len_bytes = major == 1 ? 2 : 4;
  IRIS_CHECK(bytes.size() >= kMagicLen + 2 + len_bytes, name, ": truncated .npy header (", bytes.size(), " bytes)");
  const size_t header_len = read_le(bytes, kMagicLen + 2, len_bytes);
  const size_t data_start = kMagicLen + 2 + len_bytes + header_len;
  IRIS_CHECK(data_start <= bytes.size(), name, ": truncated .npy header: it says ", header_len,
             " bytes but the file has ", bytes.size() - (kMagicLen + 2 + len_bytes), " after the length");
  const std::string header = bytes.substr(kMagicLen + 2 + len_bytes, header_len);

  std::string descr;
  bool fortran = false;
  Shape shape;
  HeaderParser(header, name).parse(descr, fortran, shape);
  IRIS_CHECK(!fortran, name, ": Fortran-order (column-major) .npy arrays are not supported; save with ",
             "np.save(path, np.ascontiguousarray(a))");
  DType dtype = DType::f32;
  bool known = false;
  // '=' is native order (little-endian here); a one-byte type may carry any order mark.
  std::string normal = descr;
  if (normal.size() == 3 && normal[0] == '=') normal[0] = '<';
  if (normal.size() == 3 && normal[2] == '1' && (normal[0] == '<' || normal[0] == '>')) normal[0] = '|';
  for (const auto& d : kDTypes) {
    if (normal == d.descr) {
      dtype = d.dtype;
      known = true;
    }
  }
  if (!known && !descr.empty() && descr[0] == '>')
    throw Error(cat_str(name, ": .npy dtype '", descr, "' is big-endian; save a little-endian array (a.astype('<",
                        descr.substr(1), "'))"));
  IRIS_CHECK(known, name, ": .npy dtype '", descr, "' is not supported (<f4, <f8, <i4, <i8, |u1, |b1, <f2 are)");

  int64_t count = 1;
  const size_t elem = dtype_size(dtype);
  const int64_t limit = static_cast<int64_t>(bytes.size() / elem) + 1;
  for (int64_t dim : shape) {
    // Dimensions are non-negative by parsing; stop multiplying before overflow (a 0 anywhere wins).
    if (dim == 0) {
      count = 0;
      break;
    }
    IRIS_CHECK(count <= limit / dim, name, ": .npy shape ", shape_str(shape), " needs more data than the file's ",
               bytes.size(), " bytes");
    count *= dim;
  }
  const size_t want = static_cast<size_t>(count) * elem, have = bytes.size() - data_start;
  IRIS_CHECK(have >= want, name, ": truncated .npy data: shape ", shape_str(shape), " of ", descr, " needs ", want,
             " bytes, the file has ", have);
  IRIS_CHECK(have == want, name, ": .npy file has ", have - want, " bytes after the data of shape ", shape_str(shape));
  const char* data = bytes.data() + data_start;
  if (dtype == DType::b8) {
    for (size_t i = 0; i < want; ++i)
      IRIS_CHECK(data[i] == 0 || data[i] == 1, name, ": .npy bool element ", i, " is ", int(data[i]), ", not 0 or 1");
  }
  return from_buffer(data, shape, dtype);
}

Tensor load_npy(const std::string& path) { return parse_npy(read_file(path), path); }

std::string npy_bytes(const Tensor& tensor) {
  const char* descr = nullptr;
  for (const auto& d : kDTypes)
    if (d.dtype == tensor.dtype()) descr = d.descr;
  IRIS_CHECK(descr != nullptr, "save_npy: dtype ", dtype_name(tensor.dtype()), " has no .npy equivalent here");
  // Python's tuple repr: (), (3,), (3, 4).
  const Shape& dims = tensor.shape();
  std::string shape = "(";
  for (size_t i = 0; i < dims.size(); ++i) shape += cat_str(i == 0 ? "" : ", ", dims[i]);
  shape += dims.size() == 1 ? ",)" : ")";
  std::string header = cat_str("{'descr': '", descr, "', 'fortran_order': False, 'shape': ", shape, ", }");
  int major = 1;
  size_t prefix = kMagicLen + 2 + 2;
  if ((prefix + header.size() + 1 + 63) / 64 * 64 - prefix > 65535) {
    major = 2;
    prefix = kMagicLen + 2 + 4;
  }
  const size_t total = (prefix + header.size() + 1 + 63) / 64 * 64;
  header.append(total - prefix - header.size() - 1, ' ');
  header += '\n';
  std::string out(kMagic, kMagicLen);
  out += static_cast<char>(major);
  out += '\0';
  const uint32_t len = static_cast<uint32_t>(header.size());
  for (int i = 0; i < (major == 1 ? 2 : 4); ++i) out += static_cast<char>((len >> (8 * i)) & 0xff);
  out += header;
  Tensor c = tensor.cpu().contiguous();
  out.append(static_cast<const char*>(c.raw_data()), c.nbytes());
  return out;
}

void save_npy(const std::string& path, const Tensor& tensor) { write_file_atomic(path, npy_bytes(tensor)); }

}  // namespace iris
