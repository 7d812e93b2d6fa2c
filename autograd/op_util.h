// Small helpers shared by the op implementations in autograd/: argument checks, dtype promotion,
// broadcasting views without autograd, and running a kernel into a fresh output.
// Leaves out anything user-facing; ops.h is the public API.
#pragma once

#include <vector>

#include "autograd/ops.h"
#include "tensor/backend.h"

namespace iris::detail {

// Throws naming `op` unless every defined tensor is on the same device.
void check_same_device(const char* op, std::initializer_list<const Tensor*> ts);
// Throws naming `op` unless t is defined and has one of the allowed ranks.
void check_dims(const char* op, const char* what, const Tensor& t, std::initializer_list<int> ranks);
void check_floating(const char* op, const Tensor& t);

// The dtype a binary op computes in (see ops.h: 0-d tensors take the other side's dtype).
DType result_dtype(const Tensor& a, const Tensor& b);
// A 0-d tensor holding v, on t's device, in t's dtype (f32 when t is integral and v is not).
Tensor scalar_like(const Tensor& t, double v);

// Non-differentiable helpers (they build no graph; use on detached tensors or inside backward).
Tensor cast(const Tensor& t, DType dtype);                 // t itself when it already has dtype
Tensor broadcast_to(const Tensor& t, const Shape& shape);  // stride-0 view; throws if impossible
Tensor contiguous_nograd(const Tensor& t);

// Normalises a list of dims (negative allowed, no duplicates) into a bit mask; empty = all dims.
uint32_t dims_mask(const std::vector<int64_t>& dims, int ndim, const char* op);
// The shape after reducing the dims in mask (keepdim keeps them as 1).
Shape reduced_shape(const Shape& s, uint32_t mask, bool keepdim);

}  // namespace iris::detail
