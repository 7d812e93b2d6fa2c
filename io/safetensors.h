// safetensors checkpoints: save named tensors (+ string metadata) atomically, load them back with every
// field of the untrusted file checked. Format: u64 little-endian header length N, N bytes of JSON
// {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}}, then the data.
// Leaves out: memory mapping and lazy loading (a load reads every tensor), and dtypes iris lacks (I8, U16, F8...).
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "io/json.h"
#include "tensor/tensor.h"

namespace iris {

// Writes the tensors in the given order (any device or layout: each is copied to a contiguous CPU
// tensor first). dtypes: f32 F32, f64 F64, i32 I32, i64 I64, u8 U8, bool BOOL, bf16 BF16, f16 F16.
// Names must be non-empty, unique and not "__metadata__". The file is replaced atomically.
void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

struct SafetensorsFile {
  std::vector<std::pair<std::string, Tensor>> tensors;  // in the header's order; CPU, contiguous
  std::map<std::string, std::string> metadata;           // the "__metadata__" entries (empty when none)
  std::string path;                                      // where it was loaded from (for messages)

  const Tensor& get(const std::string& name) const;  // throws listing a few of the available names
  bool contains(const std::string& name) const;
  // The "__metadata__" entry `key` parsed as JSON; a missing key or malformed JSON throws naming the
  // file and the key (not a bare "json: ..." message).
  json::Value metadata_json(const std::string& key) const;
};

// Reads and validates the whole file; any problem is an iris::Error naming the file and the problem.
SafetensorsFile load_safetensors(const std::string& path);

// The safetensors dtype name of an iris dtype ("F32", ...), and back (throws for names iris lacks).
const char* safetensors_dtype_name(DType dtype);

}  // namespace iris
