// Module: a named tree of parameters, buffers and child modules, with PyTorch/timm-style
// hierarchical names ("blocks.3.attn.qkv.weight"), train/eval, device moves, state dicts.
// A tensor registered in several places (MiniViT's shared weights) is one parameter: it is counted,
// returned and optimised once. Modules are held by shared_ptr and never copied.
// Leaves out: hooks, buffers that are not tensors, and a generic forward signature (each module
// declares its own forward; Module::forward(x) is the single-input form Sequential uses).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "autograd/ops.h"

namespace iris::nn {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

class Module : public std::enable_shared_from_this<Module> {
 public:
  explicit Module(std::string type_name = "Module") : type_name_(std::move(type_name)) {}
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // The single-input forward (Sequential, generic tools). Modules with other signatures add their own.
  virtual Tensor forward(const Tensor& x);
  Tensor operator()(const Tensor& x) { return forward(x); }

  // ---- traversal ---------------------------------------------------------------------------
  // Unique parameters (a shared tensor appears once, under the first name met) in registration order.
  NamedTensors named_parameters() const;
  std::vector<Tensor> parameters() const;
  NamedTensors named_buffers() const;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_children() const;
  // Every module of the tree with its dotted prefix ("" for this one), depth first.
  std::vector<std::pair<std::string, Module*>> named_modules();
  int64_t parameter_count() const;  // elements of the unique parameters
  const std::string& type_name() const { return type_name_; }

  // ---- modes and devices -------------------------------------------------------------------
  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }
  // Moves every parameter and buffer (and grad) in place: handles held elsewhere (an optimiser,
  // a shared weight) see the move.
  void to(Device device);
  void zero_grad();

  // ---- state ---------------------------------------------------------------------------------
  // Parameters and buffers under every name they are registered at (a shared tensor appears under
  // each of its names, as PyTorch's state_dict does). Tensors are the live ones, not copies.
  NamedTensors state_dict() const;
  // Copies values in place. strict: every key must match; errors list the missing, unexpected and
  // mis-shaped keys. Not strict: loads what matches and returns the keys it skipped.
  std::vector<std::string> load_state_dict(const NamedTensors& state, bool strict = true);

  // Human-readable tree with shapes and parameter counts.
  std::string summary() const;

 protected:
  // Registration, called from constructors. The member tensor is tracked by address: keep it alive.
  Tensor& register_parameter(const std::string& name, Tensor& slot, Tensor value);
  Tensor& register_buffer(const std::string& name, Tensor& slot, Tensor value);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
    add_child(name, m);
    return m;
  }
  void add_child(const std::string& name, std::shared_ptr<Module> m);

 private:
  void collect(const std::string& prefix, bool params, bool buffers, bool unique, NamedTensors& out,
               std::vector<const TensorImpl*>& seen) const;
  void summary_lines(const std::string& name, int depth, std::string& out) const;

  std::string type_name_;
  bool training_ = true;
  std::vector<std::pair<std::string, Tensor*>> params_;
  std::vector<std::pair<std::string, Tensor*>> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
};

// The modules in order; forward chains them.
class Sequential : public Module {
 public:
  Sequential() : Module("Sequential") {}
  explicit Sequential(std::vector<std::shared_ptr<Module>> mods);
  void push_back(std::shared_ptr<Module> m);
  Tensor forward(const Tensor& x) override;
  size_t size() const { return mods_.size(); }
  const std::shared_ptr<Module>& operator[](size_t i) const { return mods_.at(i); }

 private:
  std::vector<std::shared_ptr<Module>> mods_;
};

// A list of modules named 0, 1, 2, ... (no forward of its own).
template <class M = Module>
class ModuleList : public Module {
 public:
  ModuleList() : Module("ModuleList") {}
  void push_back(std::shared_ptr<M> m) {
    add_child(std::to_string(mods_.size()), m);
    mods_.push_back(std::move(m));
  }
  size_t size() const { return mods_.size(); }
  const std::shared_ptr<M>& operator[](size_t i) const { return mods_.at(i); }
  typename std::vector<std::shared_ptr<M>>::const_iterator begin() const { return mods_.begin(); }
  typename std::vector<std::shared_ptr<M>>::const_iterator end() const { return mods_.end(); }

 private:
  std::vector<std::shared_ptr<M>> mods_;
};

}  // namespace iris::nn
