// safetensors save/load. The loader treats the file as hostile: the header length is bounded, every
// integer is range-checked before any arithmetic (no overflow), and tensors must tile the data buffer
// exactly, in offset order, with no gaps, overlaps or trailing bytes (what the Python package enforces).
// Leaves out: big-endian hosts (the format is little-endian; we refuse to build there) and mmap.
#include "io/safetensors.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <set>

#include "io/file_util.h"
#include "io/json.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.cpp writes host memory as little-endian data; port the byte swapping first"
#endif

namespace iris {

namespace {

constexpr uint64_t kMaxHeaderBytes = 100000000;  // the Python package's limit too
constexpr int64_t kMaxHeaderValues = 4000000;   // ~300k tensors; caps the parsed header near 200 MB
constexpr const char* kMetadataKey = "__metadata__";

struct DTypeName {
  DType dtype;
  const char* name;
};
constexpr DTypeName kDTypeNames[] = {
    {DType::f32, "F32"}, {DType::f64, "F64"}, {DType::i32, "I32"},   {DType::i64, "I64"},
    {DType::u8, "U8"},   {DType::b8, "BOOL"}, {DType::bf16, "BF16"}, {DType::f16, "F16"},
};
// Valid in the format, but iris has no such dtype.
constexpr const char* kForeignDTypes[] = {"I8",      "I16",     "U16",     "U32",         "U64",
                                          "C64",     "F4",      "F6_E2M3", "F6_E3M2",     "F8_E5M2",
                                          "F8_E4M3", "F8_E8M0", "F8_E4M3FNUZ", "F8_E5M2FNUZ"};

bool dtype_from_name(const std::string& name, DType& out) {
  for (const auto& d : kDTypeNames) {
    if (name == d.name) {
      out = d.dtype;
      return true;
    }
  }
  return false;
}

// A short, printable excerpt of an untrusted string for error messages.
std::string excerpt(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < 40; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
  }
  if (s.size() > 40) out += "...";
  return out;
}

struct Entry {
  std::string name;
  DType dtype;
  Shape shape;
  uint64_t begin = 0, end = 0;
  size_t header_index = 0;
};

class Loader {
 public:
  explicit Loader(const std::string& path) : path_(path) {}
  ~Loader() {
    if (f_ != nullptr) std::fclose(f_);
  }

  SafetensorsFile load() {
    open();
    json::Value header = read_header();
    SafetensorsFile out;
    out.path = path_;
    std::vector<Entry> entries = parse_entries(header, out.metadata);
    check_layout(entries);
    read_data(entries, out);
    return out;
  }

 private:
  template <class... Args>
  [[noreturn]] void fail(const Args&... args) const {
    throw Error(cat_str("load_safetensors: '", path_, "': ", args...));
  }

  void open() {
    IRIS_CHECK(!path_.empty(), "load_safetensors: the path is empty");
    f_ = std::fopen(path_.c_str(), "rb");
    if (f_ == nullptr) fail("cannot open: ", std::strerror(errno));
    struct stat st;
    if (::fstat(::fileno(f_), &st) != 0) fail("cannot stat: ", std::strerror(errno));
    if (!S_ISREG(st.st_mode)) fail(S_ISDIR(st.st_mode) ? "is a folder" : "is not a regular file", "; give a .safetensors file");
    file_size_ = static_cast<uint64_t>(st.st_size);
  }

  void read_exact(void* dst, uint64_t n, const char* what) {
    if (n == 0) return;
    size_t got = std::fread(dst, 1, static_cast<size_t>(n), f_);
    if (got != n) fail("truncated: could not read ", what, " (", n, " bytes, got ", got, ")");
  }

  json::Value read_header() {
    if (file_size_ < 8)
      fail("truncated: the file has ", file_size_, " bytes, fewer than the 8-byte header length");
    unsigned char len_bytes[8];
    read_exact(len_bytes, 8, "the header length");
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | len_bytes[i];
    if (n > kMaxHeaderBytes)
      fail("the header length ", n, " is over the limit of ", kMaxHeaderBytes, " bytes; this is not a safetensors file or it is corrupt");
    if (n > file_size_ - 8)
      fail("truncated: the header length ", n, " is more than the ", file_size_ - 8, " bytes after the length field");
    if (n < 2) fail("the header length ", n, " is too small to hold a JSON object");
    header_bytes_ = n;
    std::string text(static_cast<size_t>(n), '\0');
    read_exact(&text[0], n, "the header");
    json::Value header;
    try {
      // A real header nests 3 deep and holds ~10 values per tensor; the caps keep hostile headers cheap.
      json::ParseLimits limits;
      limits.max_depth = 8;
      limits.max_values = kMaxHeaderValues;
      header = json::parse(text, limits);
    } catch (const Error& e) {
      fail("the header is not valid JSON (", e.what(), ")");
    }
    if (!header.is_object())
      fail("the header must be a JSON object, got a", header.is_array() ? "n " : " ", json::Value::type_name(header.type()));
    return header;
  }

  static bool non_negative_integer(const json::Value& v) { return v.is_integer() && v.as_int() >= 0; }

  std::vector<Entry> parse_entries(const json::Value& header, std::map<std::string, std::string>& metadata) {
    std::vector<Entry> entries;
    for (const auto& kv : header.items()) {
      const std::string& name = kv.first;
      const json::Value& info = kv.second;
      if (name == kMetadataKey) {
        if (info.is_null()) continue;
        if (!info.is_object()) fail("\"__metadata__\" must be an object of strings, got a ", json::Value::type_name(info.type()));
        for (const auto& m : info.items()) {
          if (!m.second.is_string())
            fail("metadata entry \"", excerpt(m.first), "\" must be a string, got a ", json::Value::type_name(m.second.type()));
          metadata[m.first] = m.second.as_string();
        }
        continue;
      }
      Entry e;
      e.name = name;
      e.header_index = entries.size();
      std::string where = cat_str("tensor \"", excerpt(name), "\"");
      if (!info.is_object()) fail(where, ": its entry must be an object with dtype, shape and data_offsets");
      for (const char* field : {"dtype", "shape", "data_offsets"})
        if (!info.contains(field)) fail(where, ": missing field \"", field, "\"");

      const json::Value& dtype = info["dtype"];
      if (!dtype.is_string()) fail(where, ": \"dtype\" must be a string");
      if (!dtype_from_name(dtype.as_string(), e.dtype)) {
        bool foreign = std::any_of(std::begin(kForeignDTypes), std::end(kForeignDTypes),
                                   [&](const char* d) { return dtype.as_string() == d; });
        if (foreign)
          fail(where, ": dtype ", dtype.as_string(), " is valid safetensors but iris has no such dtype; convert it ",
               "(e.g. to F32) before saving");
        fail(where, ": unknown dtype \"", excerpt(dtype.as_string()), "\" (expected one of F32, F64, I32, I64, U8, BOOL, BF16, F16)");
      }

      const json::Value& shape = info["shape"];
      if (!shape.is_array()) fail(where, ": \"shape\" must be an array of non-negative integers");
      if (shape.size() > static_cast<size_t>(kMaxDims))
        fail(where, ": ", shape.size(), " dims; iris tensors have at most ", kMaxDims);
      // numel, and the product of the non-zero sizes (bounds every stride), both without overflow.
      uint64_t numel = 1, span = 1;
      for (size_t i = 0; i < shape.size(); ++i) {
        if (!non_negative_integer(shape[i])) fail(where, ": shape entry ", i, " must be a non-negative integer, got ", shape[i].dump());
        uint64_t d = static_cast<uint64_t>(shape[i].as_int());
        if (__builtin_mul_overflow(span, std::max<uint64_t>(d, 1), &span) || span > (uint64_t(1) << 62))
          fail(where, ": shape ", shape.dump(), " has too many elements");
        numel *= d;  // <= span unless a size is 0, so no overflow
        e.shape.push_back(static_cast<int64_t>(d));
      }

      const json::Value& offsets = info["data_offsets"];
      if (!offsets.is_array() || offsets.size() != 2 || !non_negative_integer(offsets[0]) || !non_negative_integer(offsets[1]))
        fail(where, ": \"data_offsets\" must be [begin, end] with non-negative integers, got ", offsets.dump());
      e.begin = static_cast<uint64_t>(offsets[0].as_int());
      e.end = static_cast<uint64_t>(offsets[1].as_int());
      if (e.end < e.begin) fail(where, ": data_offsets [", e.begin, ", ", e.end, "] end before they begin");
      uint64_t nbytes;
      if (__builtin_mul_overflow(numel, static_cast<uint64_t>(dtype_size(e.dtype)), &nbytes) || nbytes != e.end - e.begin)
        fail(where, ": shape ", shape_str(e.shape), " of ", dtype.as_string(), " needs ", numel, " x ", dtype_size(e.dtype),
             " bytes, but data_offsets [", e.begin, ", ", e.end, "] hold ", e.end - e.begin);
      entries.push_back(std::move(e));
    }
    return entries;
  }

  // Sorted by offsets, the tensors must tile [0, buffer size) exactly.
  void check_layout(std::vector<Entry>& entries) {
    uint64_t buffer = file_size_ - 8 - header_bytes_;
    std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
      return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
    });
    uint64_t cursor = 0;
    const Entry* previous = nullptr;
    for (const Entry& e : entries) {
      std::string where = cat_str("tensor \"", excerpt(e.name), "\"");
      if (e.end > buffer)
        fail(where, ": data_offsets [", e.begin, ", ", e.end, "] run past the end of the ", buffer, "-byte data (truncated file?)");
      if (e.begin < cursor)
        fail(where, ": data_offsets [", e.begin, ", ", e.end, "] overlap tensor \"", excerpt(previous->name), "\", which ends at ", cursor);
      if (e.begin > cursor)
        fail(where, ": data_offsets [", e.begin, ", ", e.end, "] leave bytes [", cursor, ", ", e.begin,
             ") unused; tensors must cover the data contiguously");
      cursor = e.end;
      previous = &e;
    }
    if (cursor != buffer)
      fail("the tensors cover ", cursor, " bytes of data but the file holds ", buffer, " (", buffer - cursor,
           " bytes after the last tensor are unused)");
  }

  void read_data(std::vector<Entry>& entries, SafetensorsFile& out) {
    // Entries are in offset order and tile the buffer, so one sequential pass reads everything.
    std::vector<Tensor> tensors(entries.size());
    for (const Entry& e : entries) {
      Tensor t = empty(e.shape, e.dtype);
      read_exact(t.raw_data(), e.end - e.begin, cat_str("the data of tensor \"", excerpt(e.name), "\"").c_str());
      if (e.dtype == DType::b8) {
        const unsigned char* p = static_cast<const unsigned char*>(t.raw_data());
        for (uint64_t i = 0; i < e.end - e.begin; ++i)
          if (p[i] > 1)
            fail("tensor \"", excerpt(e.name), "\" is BOOL but element ", i, " is the byte ", static_cast<int>(p[i]),
                 "; BOOL elements must be 0 or 1");
      }
      tensors[e.header_index] = t;
    }
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.header_index < b.header_index; });
    for (const Entry& e : entries) out.tensors.emplace_back(e.name, tensors[e.header_index]);
  }

  std::string path_;
  std::FILE* f_ = nullptr;
  uint64_t file_size_ = 0;
  uint64_t header_bytes_ = 0;
};

}  // namespace

const char* safetensors_dtype_name(DType dtype) {
  for (const auto& d : kDTypeNames)
    if (d.dtype == dtype) return d.name;
  throw Error(cat_str("safetensors: no safetensors name for dtype ", dtype_name(dtype)));
}

void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  json::Value header = json::Value::object();
  if (!metadata.empty()) {
    json::Value& m = header[kMetadataKey];
    m = json::Value::object();
    for (const auto& kv : metadata) m[kv.first] = kv.second;
  }
  int64_t offset = 0;
  std::set<std::string> names;
  for (const auto& [name, t] : tensors) {
    IRIS_CHECK(!name.empty(), "save_safetensors: '", path, "': a tensor has an empty name; give every tensor a name");
    IRIS_CHECK(name != kMetadataKey, "save_safetensors: '", path, "': \"__metadata__\" is reserved for the metadata; rename the tensor");
    IRIS_CHECK(names.insert(name).second, "save_safetensors: '", path, "': the name \"", name, "\" appears twice; names must be unique");
    IRIS_CHECK(t.defined(), "save_safetensors: '", path, "': tensor \"", name, "\" is undefined (default-constructed)");
    json::Value info = json::Value::object();
    info["dtype"] = safetensors_dtype_name(t.dtype());
    json::Value shape = json::Value::array();
    for (int64_t d : t.shape()) shape.push_back(d);
    info["shape"] = std::move(shape);
    int64_t nbytes = static_cast<int64_t>(t.nbytes());
    json::Value offsets = json::Value::array();
    offsets.push_back(offset);
    offsets.push_back(offset + nbytes);
    info["data_offsets"] = std::move(offsets);
    header[name] = std::move(info);
    offset += nbytes;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const Error& e) {
    throw Error(cat_str("save_safetensors: '", path, "': names and metadata must be valid UTF-8 (", e.what(), ")"));
  }
  text.append((8 - text.size() % 8) % 8, ' ');  // the data starts 8-byte aligned
  IRIS_CHECK(text.size() <= kMaxHeaderBytes, "save_safetensors: '", path, "': the header would be ", text.size(),
             " bytes, over the format's limit of ", kMaxHeaderBytes, "; save fewer tensors or less metadata per file");

  write_file_atomic(path, [&](std::FILE* f) {
    unsigned char len_bytes[8];
    uint64_t n = text.size();
    for (int i = 0; i < 8; ++i) len_bytes[i] = static_cast<unsigned char>(n >> (8 * i));
    write_all(f, len_bytes, 8, path);
    write_all(f, text.data(), text.size(), path);
    for (const auto& kv : tensors) {
      Tensor c = kv.second.detach().to(Device::cpu()).contiguous();
      write_all(f, c.raw_data(), c.nbytes(), path);
    }
  });
}

SafetensorsFile load_safetensors(const std::string& path) { return Loader(path).load(); }

const Tensor& SafetensorsFile::get(const std::string& name) const {
  for (const auto& kv : tensors)
    if (kv.first == name) return kv.second;
  std::string some;
  for (size_t i = 0; i < tensors.size() && i < 8; ++i) some += (i ? ", \"" : "\"") + tensors[i].first + "\"";
  if (tensors.size() > 8) some += cat_str(", ... (", tensors.size(), " in all)");
  throw Error(cat_str("safetensors: '", path, "' has no tensor \"", name, "\"; it has ",
                      tensors.empty() ? "no tensors" : some));
}

json::Value SafetensorsFile::metadata_json(const std::string& key) const {
  auto it = metadata.find(key);
  IRIS_CHECK(it != metadata.end(), path, ": the metadata has no '", key, "' entry");
  try {
    return json::parse(it->second);
  } catch (const Error& e) {
    throw Error(cat_str(path, ": metadata '", key, "' is not valid JSON: ", e.what()));
  }
}

bool SafetensorsFile::contains(const std::string& name) const {
  for (const auto& kv : tensors)
    if (kv.first == name) return true;
  return false;
}

}  // namespace iris
