// A node of the autograd graph: the backward of one op.
// Each differentiable op builds its result through the kernels and, when any input needs a
// gradient, attaches a Node whose closure maps the output's gradient to one gradient per input,
// capturing only what it needs (micrograd's _backward, flashlight's GradFunc).
// `next[i]` is the node that receives input i's gradient: that input's own grad_fn, or for a leaf
// its accumulator (a Node with `leaf` set, which adds into leaf->grad). Null: no gradient wanted.
#pragma once

#include <functional>
#include <initializer_list>
#include <memory>
#include <vector>

#include "tensor/tensor.h"

namespace iris {

using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_out)>;

struct Node {
  const char* name = "";
  BackwardFn backward;                       // empty after release()
  std::vector<std::shared_ptr<Node>> next;   // one per input
  std::vector<Shape> input_shapes;           // to check what backward returns
  std::vector<DType> input_dtypes;
  std::weak_ptr<TensorImpl> output;          // for retain_grad()
  std::shared_ptr<TensorImpl> leaf;          // set for gradient accumulators only
  bool released = false;

  void release() {
    backward = nullptr;
    next.clear();
    released = true;
  }
};

// True when grad mode is on and some input requires grad: the op must record a node.
bool needs_grad(std::initializer_list<const Tensor*> inputs);
bool needs_grad(const std::vector<Tensor>& inputs);

// Attaches a node named `name` to `out` with the given inputs and backward closure, when
// needs_grad(inputs). Returns `out` (now requiring grad) for chaining.
Tensor record(const char* name, Tensor out, const std::vector<Tensor>& inputs, BackwardFn backward);

}  // namespace iris
