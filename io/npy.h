// NumPy .npy files (format versions 1.0, 2.0 and 3.0) to and from iris Tensors:
//   "\x93NUMPY", major, minor, header length (u16 LE for 1.0, u32 LE for 2.0/3.0), then a Python dict
//   literal {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), } padded with spaces and '\n'
//   to a multiple of 64 bytes, then the data in C order.
// dtypes read and written: '<f4' f32, '<f8' f64, '<i4' i32, '<i8' i64, '|u1' u8, '|b1' bool.
// Every field of the file is checked: a bad magic or header, Fortran order, big-endian or other
// dtypes, and data shorter or longer than the shape says throw iris::Error naming the file.
// Leaves out: .npz archives, memory mapping, object arrays and structured (record) dtypes.
#pragma once

#include <string>

#include "tensor/tensor.h"

namespace iris {

// The array as a CPU contiguous tensor of the file's dtype (a 0-d array gives a 0-d tensor).
Tensor load_npy(const std::string& path);
// The same from the file's bytes; `name` is used in messages.
Tensor parse_npy(const std::string& bytes, const std::string& name);
// Writes any tensor (copied to a contiguous CPU tensor first) as a version 1.0 file (2.0 when the
// header does not fit 1.0), atomically. Throws for dtypes without a .npy equivalent here (bf16, f16).
void save_npy(const std::string& path, const Tensor& tensor);
std::string npy_bytes(const Tensor& tensor);

}  // namespace iris
