// Optimisers, parameter groups, gradient clipping, schedules and EMA. Updates run under no_grad
// and write parameters in place, so every handle to a parameter (shared weights too) sees them.
#include "nn/optim.h"

#include <cmath>
#include <set>

#include "tensor/backend.h"

namespace iris::nn {

namespace {

// dst <- value (same shape), written in place without recording a graph.
void assign(const Tensor& dst, const Tensor& value) { backend(dst.device()).copy(value, dst); }

}  // namespace

// ---- Optimizer ------------------------------------------------------------------------------

Optimizer::Optimizer(std::vector<ParamGroup> groups) : groups_(std::move(groups)) {
  IRIS_CHECK(!groups_.empty(), "optimizer: needs at least one parameter group");
  for (auto& g : groups_) {
    for (auto& p : g.params) {
      IRIS_CHECK(p.defined() && p.requires_grad() && p.is_leaf(),
                 "optimizer: every parameter must be a leaf tensor that requires grad");
    }
    IRIS_CHECK(g.lr >= 0 && std::isfinite(g.lr), "optimizer: learning rate must be finite and >= 0, got ", g.lr);
    IRIS_CHECK(g.weight_decay >= 0, "optimizer: weight decay must be >= 0, got ", g.weight_decay);
    if (g.base_lr != g.lr) g.base_lr = g.lr;
  }
  state_.resize(groups_.size());
  for (size_t i = 0; i < groups_.size(); ++i) state_[i].resize(groups_[i].params.size());
}

void Optimizer::zero_grad() {
  for (auto& g : groups_)
    for (auto& p : g.params) p.zero_grad();
}

void Optimizer::set_lr_factor(double factor) {
  for (auto& g : groups_) g.lr = g.base_lr * factor;
}

Tensor Optimizer::state(size_t g, size_t i, const std::string& slot) {
  auto& slots = state_[g][i];
  for (auto& [name, t] : slots)
    if (name == slot) return t;
  const Tensor& p = groups_[g].params[i];
  slots.push_back({slot, zeros(p.shape(), {p.dtype(), p.device()})});
  return slots.back().second;
}

bool Optimizer::has_state(size_t g, size_t i, const std::string& slot) const {
  for (auto& [name, t] : state_[g][i])
    if (name == slot) return true;
  return false;
}

NamedTensors Optimizer::state_dict() const {
  NamedTensors out;
  out.push_back({"steps", full({}, static_cast<double>(steps_), DType::i64)});
  for (size_t g = 0; g < state_.size(); ++g)
    for (size_t i = 0; i < state_[g].size(); ++i)
      for (auto& [slot, t] : state_[g][i]) out.push_back({cat_str(g, ".", i, ".", slot), t});
  return out;
}

void Optimizer::load_state_dict(const NamedTensors& saved) {
  NoGradGuard ng;
  bool found_steps = false;
  for (auto& [name, t] : saved) {
    if (name == "steps") {
      steps_ = static_cast<int64_t>(t.item());
      found_steps = true;
      continue;
    }
    size_t a = name.find('.'), b = name.find('.', a + 1);
    IRIS_CHECK(a != std::string::npos && b != std::string::npos, "optimizer state: bad key '", name, "'");
    size_t g = std::stoul(name.substr(0, a)), i = std::stoul(name.substr(a + 1, b - a - 1));
    IRIS_CHECK(g < groups_.size() && i < groups_[g].params.size(), "optimizer state: key '", name,
               "' refers to a parameter this optimizer does not have (different model or groups?)");
    Tensor slot = state(g, i, name.substr(b + 1));
    IRIS_CHECK(slot.shape() == t.shape(), "optimizer state: '", name, "' has shape ", shape_str(t.shape()),
               " but the parameter has shape ", shape_str(slot.shape()));
    assign(slot, t.to(slot.dtype()).to(slot.device()));
  }
  IRIS_CHECK(found_steps, "optimizer state: the 'steps' entry is missing");
  IRIS_CHECK(steps_ >= 0, "optimizer state: 'steps' is ", steps_, "; it must be >= 0");
  // Completeness: a parameter may have no state (it never had a gradient), but one that has some
  // must have every slot the others have (AdamW: exp_avg and exp_avg_sq). A file missing one moment
  // once resumed with that moment at zero, and different losses, silently.
  std::set<std::string> slots;
  for (auto& [name, t] : saved)
    if (name != "steps") slots.insert(name.substr(name.find('.', name.find('.') + 1) + 1));
  for (size_t g = 0; g < state_.size(); ++g)
    for (size_t i = 0; i < state_[g].size(); ++i) {
      if (state_[g][i].empty()) continue;
      for (const std::string& slot : slots)
        IRIS_CHECK(has_state(g, i, slot), "optimizer state: parameter ", g, ".", i, " has some state but no '",
                   slot, "' (the file is incomplete)");
    }
}

// ---- SGD ------------------------------------------------------------------------------------

SGD::SGD(std::vector<ParamGroup> groups, double momentum_, bool nesterov_, double dampening_)
    : Optimizer(std::move(groups)), momentum(momentum_), dampening(dampening_), nesterov(nesterov_) {
  IRIS_CHECK(momentum >= 0, "SGD: momentum must be >= 0, got ", momentum);
  IRIS_CHECK(!nesterov || (momentum > 0 && dampening == 0), "SGD: Nesterov needs momentum > 0 and no dampening");
}

SGD::SGD(std::vector<Tensor> params, double lr, double momentum_, double weight_decay, bool nesterov_)
    : SGD({ParamGroup{std::move(params), lr, lr, weight_decay, "all"}}, momentum_, nesterov_) {}

void SGD::step() {
  NoGradGuard ng;
  ++steps_;
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    ParamGroup& group = groups_[gi];
    for (size_t i = 0; i < group.params.size(); ++i) {
      Tensor& p = group.params[i];
      Tensor g = p.grad();
      if (!g.defined()) continue;
      if (group.weight_decay != 0) g = g + p.detach() * group.weight_decay;
      if (momentum != 0) {
        // The buffer starts at the first gradient (as PyTorch).
        bool fresh = !has_state(gi, i, "momentum_buffer");
        Tensor buf = state(gi, i, "momentum_buffer");
        Tensor nb = fresh ? g : buf * momentum + g * (1.0 - dampening);
        assign(buf, nb);
        g = nesterov ? g + buf * momentum : buf;
      }
      assign(p, p.detach() - g * group.lr);
    }
  }
}

// ---- AdamW ----------------------------------------------------------------------------------

AdamW::AdamW(std::vector<ParamGroup> groups, double b1, double b2, double eps_)
    : Optimizer(std::move(groups)), beta1(b1), beta2(b2), eps(eps_) {
  IRIS_CHECK(b1 >= 0 && b1 < 1 && b2 >= 0 && b2 < 1, "AdamW: betas must be in [0, 1), got ", b1, ", ", b2);
  IRIS_CHECK(eps >= 0, "AdamW: eps must be >= 0");
}

AdamW::AdamW(std::vector<Tensor> params, double lr, double weight_decay, double b1, double b2, double eps_)
    : AdamW({ParamGroup{std::move(params), lr, lr, weight_decay, "all"}}, b1, b2, eps_) {}

void AdamW::step() {
  NoGradGuard ng;
  ++steps_;
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    ParamGroup& group = groups_[gi];
    AdamWParams hp{group.lr, beta1, beta2, eps, group.weight_decay, steps_};
    for (size_t i = 0; i < group.params.size(); ++i) {
      Tensor& p = group.params[i];
      Tensor g = p.grad();
      if (!g.defined()) continue;
      IRIS_CHECK(p.is_contiguous(), "AdamW: parameters must be contiguous");
      Tensor m = state(gi, i, "exp_avg");
      Tensor v = state(gi, i, "exp_avg_sq");
      backend(p.device()).adamw_step(p, g.contiguous(), m, v, hp);
    }
  }
}

// ---- groups, clipping, schedules -------------------------------------------------------------

std::vector<ParamGroup> decay_groups(const Module& model, double lr, double weight_decay,
                                     const std::vector<std::string>& no_decay) {
  ParamGroup decay{{}, lr, lr, weight_decay, "decay"}, plain{{}, lr, lr, 0.0, "no_decay"};
  for (auto& [name, p] : model.named_parameters()) {
    bool skip = p.dim() <= 1;
    for (const std::string& n : no_decay) {
      size_t pos = name.rfind(n);
      if (pos != std::string::npos && pos + n.size() == name.size()) skip = true;
    }
    (skip ? plain : decay).params.push_back(p);
  }
  std::vector<ParamGroup> out;
  if (!decay.params.empty()) out.push_back(decay);
  if (!plain.params.empty()) out.push_back(plain);
  return out;
}

double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm) {
  NoGradGuard ng;
  double total = 0;
  for (const Tensor& p : params) {
    Tensor g = p.grad();
    if (!g.defined()) continue;
    double n = norm(g.to(DType::f64)).item();
    total += n * n;
  }
  total = std::sqrt(total);
  double scale = max_norm / (total + 1e-6);
  if (scale < 1.0) {
    for (const Tensor& p : params) {
      Tensor g = p.grad();
      if (g.defined()) assign(g, g * scale);
    }
  }
  return total;
}

double LrSchedule::factor(int64_t step) const {
  switch (kind) {
    case Kind::constant: return 1.0;
    case Kind::step: return std::pow(gamma, static_cast<double>(step / std::max<int64_t>(step_size, 1)));
    case Kind::warmup_cosine: {
      if (step < warmup_steps) return static_cast<double>(step + 1) / static_cast<double>(warmup_steps);
      int64_t span = std::max<int64_t>(total_steps - warmup_steps, 1);
      double t = std::min(1.0, static_cast<double>(step - warmup_steps) / static_cast<double>(span));
      return min_factor + (1.0 - min_factor) * 0.5 * (1.0 + std::cos(M_PI * t));
    }
  }
  return 1.0;
}

LrSchedule LrSchedule::warmup_cosine_schedule(int64_t warmup, int64_t total, double min_factor) {
  IRIS_CHECK(warmup >= 0 && total > 0, "warmup_cosine: need warmup >= 0 and total > 0 steps");
  LrSchedule s;
  s.kind = Kind::warmup_cosine;
  s.warmup_steps = warmup;
  s.total_steps = total;
  s.min_factor = min_factor;
  return s;
}

LrSchedule LrSchedule::step_schedule(int64_t step_size, double gamma) {
  IRIS_CHECK(step_size > 0, "step schedule: step_size must be positive");
  LrSchedule s;
  s.kind = Kind::step;
  s.step_size = step_size;
  s.gamma = gamma;
  return s;
}

// ---- EMA ------------------------------------------------------------------------------------

Ema::Ema(const Module& model, double decay_) : decay(decay_) {
  IRIS_CHECK(decay >= 0 && decay <= 1, "Ema: decay must be in [0, 1], got ", decay);
  NoGradGuard ng;
  for (auto& [name, t] : model.state_dict()) shadow_.push_back({name, t.detach().clone()});
}

void Ema::update(const Module& model) {
  NoGradGuard ng;
  NamedTensors cur = model.state_dict();
  IRIS_CHECK(cur.size() == shadow_.size(), "Ema: the model's state changed shape since the EMA was made");
  for (size_t i = 0; i < cur.size(); ++i) {
    Tensor& s = shadow_[i].second;
    if (!is_floating(s.dtype())) {
      assign(s, cur[i].second);
      continue;
    }
    assign(s, s * decay + cur[i].second.detach() * (1.0 - decay));
  }
}

void Ema::copy_to(Module& model) const { model.load_state_dict(shadow_); }

}  // namespace iris::nn
