// Module tree: registration, traversal with de-duplication of shared tensors, modes, device
// moves in place, state dicts with strict checking, and the printed summary.
#include "nn/module.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

#include "tensor/backend.h"

namespace iris::nn {

Tensor Module::forward(const Tensor&) {
  throw Error(cat_str(type_name_, ": this module has no single-input forward(x); call its own forward"));
}

Tensor& Module::register_parameter(const std::string& name, Tensor& slot, Tensor value) {
  IRIS_CHECK(value.defined(), type_name_, ": parameter '", name, "' is undefined");
  IRIS_CHECK(is_floating(value.dtype()), type_name_, ": parameter '", name, "' must be floating, got ",
             dtype_name(value.dtype()));
  if (!value.requires_grad()) value.requires_grad_(true);
  slot = value;
  params_.push_back({name, &slot});
  return slot;
}

Tensor& Module::register_buffer(const std::string& name, Tensor& slot, Tensor value) {
  slot = value;
  buffers_.push_back({name, &slot});
  return slot;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> m) {
  IRIS_CHECK(m != nullptr, type_name_, ": child module '", name, "' is null");
  children_.push_back({name, std::move(m)});
}

void Module::collect(const std::string& prefix, bool params, bool buffers, bool unique, NamedTensors& out,
                     std::vector<const TensorImpl*>& seen) const {
  auto visit = [&](const std::vector<std::pair<std::string, Tensor*>>& list) {
    for (const auto& [name, slot] : list) {
      if (!slot->defined()) continue;  // optional tensors (e.g. a bias turned off)
      if (unique) {
        if (std::find(seen.begin(), seen.end(), slot->impl()) != seen.end()) continue;
        seen.push_back(slot->impl());
      }
      out.push_back({prefix + name, *slot});
    }
  };
  if (params) visit(params_);
  if (buffers) visit(buffers_);
  for (const auto& [name, child] : children_) child->collect(prefix + name + ".", params, buffers, unique, out, seen);
}

NamedTensors Module::named_parameters() const {
  NamedTensors out;
  std::vector<const TensorImpl*> seen;
  collect("", true, false, true, out, seen);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [n, t] : named_parameters()) out.push_back(t);
  return out;
}

NamedTensors Module::named_buffers() const {
  NamedTensors out;
  std::vector<const TensorImpl*> seen;
  collect("", false, true, true, out, seen);
  return out;
}

std::vector<std::pair<std::string, std::shared_ptr<Module>>> Module::named_children() const { return children_; }

std::vector<std::pair<std::string, Module*>> Module::named_modules() {
  std::vector<std::pair<std::string, Module*>> out{{"", this}};
  for (auto& [name, child] : children_)
    for (auto& [sub, m] : child->named_modules()) out.push_back({sub.empty() ? name : name + "." + sub, m});
  return out;
}

int64_t Module::parameter_count() const {
  int64_t n = 0;
  for (auto& [name, t] : named_parameters()) n += t.numel();
  return n;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

void Module::to(Device device) {
  NoGradGuard ng;
  NamedTensors all;
  std::vector<const TensorImpl*> seen;
  collect("", true, true, true, all, seen);
  for (auto& [name, t] : all) {
    if (t.device() == device) continue;
    TensorImpl* impl = t.impl();
    Tensor moved = t.detach().to(device).contiguous();
    impl->storage = moved.impl()->storage;
    impl->strides = moved.strides();
    impl->offset = moved.offset();
    if (impl->grad) impl->grad = Tensor(impl->grad).to(device).impl_ptr();
  }
}

void Module::zero_grad() {
  for (auto& [name, t] : named_parameters()) t.zero_grad();
}

NamedTensors Module::state_dict() const {
  NamedTensors out;
  std::vector<const TensorImpl*> seen;
  collect("", true, true, false, out, seen);
  return out;
}

namespace {

// The first NaN or infinity of a floating tensor (any device): its flat index (-1 when every
// element is finite) and its value.
struct NonFinite {
  int64_t index = -1;
  double value = 0;
};
NonFinite first_non_finite(const Tensor& t) {
  const std::vector<double> v = t.detach().cpu().to(DType::f64).contiguous().flatten().to_vector<double>();
  for (size_t i = 0; i < v.size(); ++i)
    if (!std::isfinite(v[i])) return {static_cast<int64_t>(i), v[i]};
  return {};
}

}  // namespace

std::vector<std::string> Module::load_state_dict(const NamedTensors& state, bool strict) {
  NamedTensors mine = state_dict();
  std::map<std::string, Tensor> given;
  for (auto& [k, v] : state) given[k] = v;
  std::vector<std::string> missing, unexpected, mismatched, skipped;
  std::set<std::string> known;
  for (auto& [k, t] : mine) {
    known.insert(k);
    auto it = given.find(k);
    if (it == given.end()) {
      missing.push_back(k);
    } else if (it->second.shape() != t.shape()) {
      mismatched.push_back(k + " (checkpoint " + shape_str(it->second.shape()) + ", model " + shape_str(t.shape()) + ")");
    } else if (is_floating(it->second.dtype()) != is_floating(t.dtype())) {
      // A float weight stored as an integer (or the reverse) is a broken or relabelled file, not a
      // precision choice: casting it would load garbage silently.
      mismatched.push_back(k + " (checkpoint dtype " + dtype_name(it->second.dtype()) + ", model " +
                           dtype_name(t.dtype()) + ")");
    }
  }
  for (auto& [k, v] : state)
    if (!known.count(k)) unexpected.push_back(k);

  if (strict && (!missing.empty() || !unexpected.empty() || !mismatched.empty())) {
    auto list = [](const std::vector<std::string>& v) {
      std::string s;
      for (size_t i = 0; i < v.size() && i < 12; ++i) s += (i ? ", " : "") + v[i];
      if (v.size() > 12) s += cat_str(", ... (", v.size() - 12, " more)");
      return s;
    };
    std::string msg = type_name_ + ": load_state_dict does not match the model:";
    if (!missing.empty()) msg += cat_str("\n  missing keys (", missing.size(), "): ", list(missing));
    if (!unexpected.empty()) msg += cat_str("\n  unexpected keys (", unexpected.size(), "): ", list(unexpected));
    if (!mismatched.empty()) msg += cat_str("\n  shape mismatches (", mismatched.size(), "): ", list(mismatched));
    msg += "\n  (pass strict=false to load only the matching keys)";
    throw Error(msg);
  }
  // Weights must be finite: a NaN or Inf loaded here would only show up later as a wrong accuracy.
  for (auto& [k, t] : mine) {
    auto it = given.find(k);
    if (it == given.end() || it->second.shape() != t.shape() || !is_floating(it->second.dtype())) continue;
    const NonFinite bad = first_non_finite(it->second);
    IRIS_CHECK(bad.index < 0, type_name_, ": load_state_dict: '", k, "' holds a non-finite value (element ", bad.index,
               " of ", it->second.numel(), " is ", bad.value, "); the file is damaged or the run that wrote it diverged");
  }

  NoGradGuard ng;
  for (auto& [k, t] : mine) {
    auto it = given.find(k);
    if (it == given.end() || it->second.shape() != t.shape()) {
      skipped.push_back(k);
      continue;
    }
    Tensor src = it->second.detach().to(t.device()).to(t.dtype());
    backend(t.device()).copy(src, t);
  }
  for (auto& k : unexpected) skipped.push_back(k);
  return skipped;
}

void Module::summary_lines(const std::string& name, int depth, std::string& out) const {
  std::ostringstream os;
  int64_t own = 0;
  for (auto& [n, slot] : params_)
    if (slot->defined()) own += slot->numel();
  NamedTensors sub;
  std::vector<const TensorImpl*> seen;
  collect("", true, false, true, sub, seen);
  int64_t total = 0;
  for (auto& [n, t] : sub) total += t.numel();
  os << std::string(depth * 2, ' ') << (name.empty() ? "" : name + ": ") << type_name_;
  for (auto& [n, slot] : params_)
    if (slot->defined()) os << " " << n << shape_str(slot->shape());
  os << "  (" << total << " params)\n";
  out += os.str();
  for (auto& [n, child] : children_) child->summary_lines(n, depth + 1, out);
}

std::string Module::summary() const {
  std::string out;
  summary_lines("", 0, out);
  return out;
}

Sequential::Sequential(std::vector<std::shared_ptr<Module>> mods) : Module("Sequential") {
  for (auto& m : mods) push_back(m);
}

void Sequential::push_back(std::shared_ptr<Module> m) {
  add_child(std::to_string(mods_.size()), m);
  mods_.push_back(std::move(m));
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor h = x;
  for (auto& m : mods_) h = m->forward(h);
  return h;
}

}  // namespace iris::nn
