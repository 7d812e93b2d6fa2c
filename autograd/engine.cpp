// The backward engine: the autocast flag, recording nodes, and Tensor::backward (grad mode's flag is
// in tensor/grad_mode.cpp, since Tensor's in-place ops read it too).
// backward() sorts the graph topologically once (iterative DFS, so deep graphs cannot overflow the
// stack), then walks it from the output, summing the gradients that reach each node before running
// it, so a tensor used several times (shared weights) gets the sum of all its uses. Nodes drop
// their closures (and the tensors they saved) as soon as they have run, unless retain_graph.
// Leaves out: higher-order gradients (backward runs with grad mode off) and multi-threading.
#include <unordered_map>
#include <unordered_set>

#include "autograd/autocast.h"
#include "autograd/node.h"
#include "autograd/ops.h"
#include "tensor/backend.h"

namespace iris {

// ---- autocast ---------------------------------------------------------------------------

namespace {
thread_local bool t_autocast = false;
}
bool autocast_enabled() { return t_autocast; }
void set_autocast(bool enabled) { t_autocast = enabled; }

// ---- recording --------------------------------------------------------------------------

bool needs_grad(std::initializer_list<const Tensor*> inputs) {
  if (!grad_mode_enabled()) return false;
  for (const Tensor* t : inputs)
    if (t->requires_grad()) return true;
  return false;
}

bool needs_grad(const std::vector<Tensor>& inputs) {
  if (!grad_mode_enabled()) return false;
  for (const Tensor& t : inputs)
    if (t.requires_grad()) return true;
  return false;
}

// The node that receives `t`'s gradient: its grad_fn, or its (shared) leaf accumulator.
static std::shared_ptr<Node> gradient_edge(const Tensor& t) {
  if (!t.requires_grad()) return nullptr;
  TensorImpl* impl = t.impl();
  if (impl->grad_fn) return impl->grad_fn;
  std::shared_ptr<Node> acc = impl->grad_accumulator.lock();
  if (!acc) {
    acc = std::make_shared<Node>();
    acc->name = "AccumulateGrad";
    acc->leaf = t.impl_ptr();
    impl->grad_accumulator = acc;
  }
  return acc;
}

Tensor record(const char* name, Tensor out, const std::vector<Tensor>& inputs, BackwardFn backward) {
  if (!needs_grad(inputs)) return out;
  IRIS_ASSERT(out.impl()->grad_fn == nullptr && !out.impl()->requires_grad);
  auto node = std::make_shared<Node>();
  node->name = name;
  node->backward = std::move(backward);
  node->next.reserve(inputs.size());
  for (const Tensor& in : inputs) {
    node->next.push_back(in.defined() ? gradient_edge(in) : nullptr);
    node->input_shapes.push_back(in.defined() ? in.shape() : Shape{});
    node->input_dtypes.push_back(in.defined() ? in.dtype() : DType::f32);
  }
  node->output = out.impl_ptr();
  out.impl()->grad_fn = std::move(node);
  out.impl()->requires_grad = true;
  return out;
}

// ---- accumulation -----------------------------------------------------------------------

// slot <- slot + g, where slot owns its memory (first use: a private copy of g).
static void accumulate_into(std::shared_ptr<TensorImpl>& slot, const Tensor& g) {
  if (!slot) {
    slot = g.clone().impl_ptr();  // never alias: g may be shared with other branches
  } else {
    Tensor s(slot);
    backend(s.device()).binary(BinaryOp::add, s, g.contiguous(), s);
  }
}

// ---- backward ---------------------------------------------------------------------------

// Nodes from the output towards the leaves, each before everything it feeds. The order holds
// owning pointers: releasing a node's edges during the walk must not free nodes still to come.
static std::vector<std::shared_ptr<Node>> topological_order(const std::shared_ptr<Node>& root) {
  std::vector<std::shared_ptr<Node>> order;  // post-order; reversed at the end
  std::unordered_set<Node*> seen;
  std::vector<std::pair<std::shared_ptr<Node>, size_t>> stack{{root, 0}};
  seen.insert(root.get());
  while (!stack.empty()) {
    auto& [node, child] = stack.back();
    if (child < node->next.size()) {
      const std::shared_ptr<Node>& n = node->next[child++];
      if (n && seen.insert(n.get()).second) stack.push_back({n, 0});
    } else {
      order.push_back(node);
      stack.pop_back();
    }
  }
  return std::vector<std::shared_ptr<Node>>(order.rbegin(), order.rend());
}

static void run_backward(const std::shared_ptr<Node>& root, const Tensor& seed, bool retain_graph) {
  NoGradGuard no_grad;
  std::vector<std::shared_ptr<Node>> order = topological_order(root);
  std::unordered_map<Node*, Tensor> pending;
  pending[root.get()] = seed;

  for (const std::shared_ptr<Node>& node_ptr : order) {
    Node* node = node_ptr.get();
    auto it = pending.find(node);
    if (it == pending.end()) continue;  // no gradient flowed here
    Tensor g = std::move(it->second);
    pending.erase(it);

    if (node->leaf) {
      accumulate_into(node->leaf->grad, g);
      continue;
    }
    if (auto out = node->output.lock(); out && out->retains_grad) accumulate_into(out->grad, g);

    IRIS_CHECK(!node->released, "backward: the graph through ", node->name,
               " was already freed by an earlier backward(); pass retain_graph=true to the first call "
               "to run backward twice");
    std::vector<Tensor> grads = node->backward(g);
    IRIS_CHECK(grads.size() == node->next.size(), "internal error: ", node->name, " returned ",
               grads.size(), " gradients for ", node->next.size(), " inputs");
    for (size_t i = 0; i < grads.size(); ++i) {
      Node* target = node->next[i].get();
      if (!target || !grads[i].defined()) continue;
      Tensor gi = grads[i];
      IRIS_CHECK(gi.shape() == node->input_shapes[i], "internal error: ", node->name,
                 " returned a gradient of shape ", shape_str(gi.shape()), " for input ", i, " of shape ",
                 shape_str(node->input_shapes[i]));
      if (gi.dtype() != node->input_dtypes[i]) gi = gi.to(node->input_dtypes[i]);
      auto slot = pending.find(target);
      if (slot == pending.end() || !slot->second.defined()) pending[target] = gi;
      else slot->second = add(slot->second, gi);
    }
    if (!retain_graph) node->release();
  }
}

void Tensor::backward(const Tensor& seed, bool retain_graph) const {
  IRIS_CHECK(requires_grad(), "backward: this tensor does not require grad (no parameter that requires "
                              "grad was used to compute it, or it was computed under NoGradGuard)");
  Tensor g = seed;
  if (!g.defined()) {
    IRIS_CHECK(numel() == 1, "backward: the output has shape ", shape_str(shape()),
               "; backward() without a seed needs a single value (reduce with sum() or mean(), or pass "
               "a gradient of the same shape, e.g. ones_like(y))");
    g = ones_like(*this);
  } else {
    IRIS_CHECK(g.shape() == shape(), "backward: seed gradient has shape ", shape_str(g.shape()),
               " but the output has shape ", shape_str(shape()));
    IRIS_CHECK(g.device() == device(), "backward: seed gradient is on ", g.device().str(),
               " but the output is on ", device().str());
    if (g.dtype() != dtype()) g = g.detach().to(dtype());
  }
  run_backward(gradient_edge(*this), g.detach(), retain_graph);
}

// ---- autograd state on the handle -------------------------------------------------------

Tensor& Tensor::requires_grad_(bool on) {
  TensorImpl* t = checked();
  IRIS_CHECK(t->grad_fn == nullptr || on, "requires_grad_(false) on a tensor computed from others; "
                                         "use detach() to cut it from the graph");
  IRIS_CHECK(!on || is_floating(t->dtype), "requires_grad_: only floating tensors can require grad, this one is ",
             dtype_name(t->dtype));
  t->requires_grad = on;
  return *this;
}

Tensor Tensor::grad() const { return Tensor(checked()->grad); }

void Tensor::set_grad(const Tensor& g) const {
  if (!g.defined()) {
    checked()->grad.reset();
    return;
  }
  IRIS_CHECK(g.shape() == shape() && g.dtype() == dtype(), "set_grad: gradient of shape ", shape_str(g.shape()),
             " and dtype ", dtype_name(g.dtype()), " for a tensor of shape ", shape_str(shape()), " and dtype ",
             dtype_name(dtype()));
  checked()->grad = g.impl_ptr();
}

void Tensor::zero_grad() const { checked()->grad.reset(); }

Tensor Tensor::detach() const {
  const TensorImpl* t = checked();
  return make_view(*this, t->shape, t->strides, t->offset);
}

void Tensor::retain_grad() const {
  TensorImpl* t = checked();
  IRIS_CHECK(t->requires_grad, "retain_grad: the tensor does not require grad");
  if (t->grad_fn) t->retains_grad = true;
}

}  // namespace iris
