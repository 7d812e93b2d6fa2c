// Per-block gradient norm statistics (see grad_stats.h): the layout from names and tensor identity,
// one device-side reduction per sample, running mean / coefficient of variation.
// Leaves out: anything that needs the gradients on the CPU (only one small vector comes back per sample).
#include "apps/minivit/grad_stats.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <set>

#include "tensor/grad_mode.h"

namespace iris {

namespace {

// Union-find over layers: layers that use one tensor belong to one weight group.
int find_root(std::vector<int>& parent, int i) {
  while (parent[i] != i) i = parent[i] = parent[parent[i]];
  return i;
}

json::Value number_array(const std::vector<double>& values) {
  json::Value a = json::Value::array();
  for (double v : values) a.push_back(std::isfinite(v) ? json::Value(v) : json::Value());
  return a;
}

}  // namespace

BlockLayout block_layout(const nn::Module& model, const std::vector<std::string>& layer_prefixes) {
  IRIS_CHECK(!layer_prefixes.empty(), "block_layout: no layer prefixes given");
  std::set<const TensorImpl*> is_parameter;
  for (const Tensor& p : model.parameters()) is_parameter.insert(p.impl());
  const int layers = static_cast<int>(layer_prefixes.size());
  // tensor -> the layers that list it (a shared tensor appears under each of its names in the state dict)
  std::map<const TensorImpl*, std::set<int>> users;
  std::map<const TensorImpl*, Tensor> handle;
  std::vector<std::vector<const TensorImpl*>> layer_tensors(layers);  // in state-dict order, each once
  for (const auto& [name, t] : model.state_dict()) {
    if (!is_parameter.count(t.impl())) continue;  // buffers have no gradient
    for (int l = 0; l < layers; ++l) {
      if (name.rfind(layer_prefixes[l], 0) != 0) continue;
      if (users[t.impl()].insert(l).second) layer_tensors[l].push_back(t.impl());
      handle.emplace(t.impl(), t);
    }
  }
  for (int l = 0; l < layers; ++l)
    IRIS_CHECK(!layer_tensors[l].empty(), "block_layout: no parameter name starts with '", layer_prefixes[l],
               "'; pass the model's block_parameter_prefixes()");
  std::vector<int> parent(layers);
  std::iota(parent.begin(), parent.end(), 0);
  for (const auto& [impl, ls] : users)
    for (int l : ls) parent[find_root(parent, l)] = find_root(parent, *ls.begin());

  BlockLayout out;
  out.layer_prefixes = layer_prefixes;
  out.block_of_layer.assign(layers, -1);
  out.layer_own_params.resize(layers);
  std::map<int, int> block_of_root;  // numbered in layer order
  for (int l = 0; l < layers; ++l) {
    int root = find_root(parent, l);
    auto it = block_of_root.find(root);
    if (it == block_of_root.end()) {
      it = block_of_root.emplace(root, static_cast<int>(out.block_params.size())).first;
      out.block_params.emplace_back();
    }
    out.block_of_layer[l] = it->second;
  }
  std::set<const TensorImpl*> placed;
  for (int l = 0; l < layers; ++l)
    for (const TensorImpl* impl : layer_tensors[l]) {
      if (users[impl].size() == 1) out.layer_own_params[l].push_back(handle.at(impl));
      if (placed.insert(impl).second) out.block_params[out.block_of_layer[l]].push_back(handle.at(impl));
    }
  return out;
}

GradNormTracker::GradNormTracker(BlockLayout layout) : layout_(std::move(layout)) {
  block_sum_.assign(layout_.unique_blocks(), 0.0);
  block_sq_.assign(layout_.unique_blocks(), 0.0);
  own_sum_.assign(layout_.layers(), 0.0);
  own_sq_.assign(layout_.layers(), 0.0);
}

GradNormSample GradNormTracker::measure(int64_t step, double epoch) {
  NoGradGuard no_grad;
  // Squared norms of every group, computed where the gradients live, brought back as one vector.
  std::vector<Tensor> squares;
  std::vector<size_t> defined_slot;  // which group each square belongs to
  const size_t groups = block_sum_.size() + own_sum_.size();
  auto add_group = [&](const std::vector<Tensor>& params, size_t slot) {
    for (const Tensor& p : params) {
      Tensor g = p.grad();
      if (!g.defined()) continue;
      squares.push_back(sum(square(g.to(DType::f32))));
      defined_slot.push_back(slot);
    }
  };
  for (size_t b = 0; b < block_sum_.size(); ++b) add_group(layout_.block_params[b], b);
  for (size_t l = 0; l < own_sum_.size(); ++l) add_group(layout_.layer_own_params[l], block_sum_.size() + l);
  std::vector<double> sq(groups, 0.0);
  if (!squares.empty()) {
    std::vector<double> values = stack(squares).to_vector<double>();
    for (size_t i = 0; i < values.size(); ++i) sq[defined_slot[i]] += values[i];
  }
  GradNormSample s;
  s.step = step;
  s.epoch = epoch;
  for (size_t b = 0; b < block_sum_.size(); ++b) {
    double n = std::sqrt(sq[b]);
    s.block.push_back(n);
    block_sum_[b] += n, block_sq_[b] += n * n;
  }
  for (size_t l = 0; l < own_sum_.size(); ++l) {
    double n = std::sqrt(sq[block_sum_.size() + l]);
    s.layer_own.push_back(n);
    own_sum_[l] += n, own_sq_[l] += n * n;
  }
  ++count_;
  return s;
}

json::Value GradNormTracker::summary() const {
  auto stats = [this](const std::vector<double>& sums, const std::vector<double>& sqs, std::vector<double>& mean,
                      std::vector<double>& cv) {
    for (size_t i = 0; i < sums.size(); ++i) {
      double m = count_ ? sums[i] / count_ : NAN;
      double var = count_ ? std::max(0.0, sqs[i] / count_ - m * m) : NAN;  // population variance over samples
      mean.push_back(m);
      cv.push_back(m > 0 ? std::sqrt(var) / m : NAN);
    }
  };
  std::vector<double> block_mean, block_cv, own_mean, own_cv;
  stats(block_sum_, block_sq_, block_mean, block_cv);
  stats(own_sum_, own_sq_, own_mean, own_cv);
  auto mean_of = [](const std::vector<double>& v) {
    double s = 0;
    int n = 0;
    for (double x : v)
      if (std::isfinite(x)) s += x, ++n;
    return n ? s / n : NAN;
  };
  auto max_of = [](const std::vector<double>& v) {
    double m = NAN;
    for (double x : v)
      if (std::isfinite(x)) m = std::isfinite(m) ? std::max(m, x) : x;
    return m;
  };
  json::Value out = json::Value::object();
  out["samples"] = count_;
  json::Value layer_block = json::Value::array();
  for (int b : layout_.block_of_layer) layer_block.push_back(b);
  out["block_of_layer"] = layer_block;
  out["block_mean"] = number_array(block_mean);
  out["block_cv"] = number_array(block_cv);
  out["layer_own_mean"] = number_array(own_mean);
  out["layer_own_cv"] = number_array(own_cv);
  auto num = [](double v) { return std::isfinite(v) ? json::Value(v) : json::Value(); };
  out["mean_over_blocks"] = num(mean_of(block_mean));
  out["max_over_blocks"] = num(max_of(block_mean));
  out["cv_mean_over_blocks"] = num(mean_of(block_cv));
  out["cv_max_over_blocks"] = num(max_of(block_cv));
  return out;
}

json::Value grad_norm_sample_json(const GradNormSample& s) {
  json::Value v = json::Value::object();
  v["step"] = s.step;
  v["epoch"] = s.epoch;
  v["block"] = number_array(s.block);
  v["layer_own"] = number_array(s.layer_own);
  return v;
}

}  // namespace iris
