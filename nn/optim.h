// Optimisers (SGD with momentum/Nesterov, AdamW with decoupled weight decay), parameter groups
// (timm's rule: no weight decay for biases, norms and tokens), gradient clipping by global norm,
// learning-rate schedules (linear warmup + cosine, step) and an exponential moving average of
// weights. Optimiser state is exposed as named tensors so checkpoints can hold it.
// Leaves out: other optimisers, per-parameter learning rates beyond groups.
#pragma once

#include <string>
#include <vector>

#include "nn/module.h"

namespace iris::nn {

struct ParamGroup {
  std::vector<Tensor> params;
  double lr = 1e-3;          // current learning rate (schedules set it)
  double base_lr = 1e-3;     // the rate schedules scale
  double weight_decay = 0.0;
  std::string name;
};

class Optimizer {
 public:
  explicit Optimizer(std::vector<ParamGroup> groups);
  virtual ~Optimizer() = default;
  virtual void step() = 0;
  void zero_grad();
  std::vector<ParamGroup>& param_groups() { return groups_; }
  // Sets every group's lr to base_lr * factor.
  void set_lr_factor(double factor);
  double lr() const { return groups_.empty() ? 0.0 : groups_[0].lr; }
  int64_t steps() const { return steps_; }
  // "steps" plus the per-parameter state as "<group>.<index>.<slot>".
  virtual NamedTensors state_dict() const;
  virtual void load_state_dict(const NamedTensors& saved);

 protected:
  // State slot `slot` of parameter (g, i), created as zeros like the parameter on first use.
  Tensor state(size_t g, size_t i, const std::string& slot);
  bool has_state(size_t g, size_t i, const std::string& slot) const;
  std::vector<ParamGroup> groups_;
  std::vector<std::vector<std::vector<std::pair<std::string, Tensor>>>> state_;  // [group][param][slot]
  int64_t steps_ = 0;
};

class SGD : public Optimizer {
 public:
  SGD(std::vector<ParamGroup> groups, double momentum = 0.0, bool nesterov = false, double dampening = 0.0);
  SGD(std::vector<Tensor> params, double lr, double momentum = 0.0, double weight_decay = 0.0, bool nesterov = false);
  void step() override;
  double momentum, dampening;
  bool nesterov;
};

class AdamW : public Optimizer {
 public:
  AdamW(std::vector<ParamGroup> groups, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8);
  AdamW(std::vector<Tensor> params, double lr, double weight_decay = 0.01, double beta1 = 0.9, double beta2 = 0.999,
        double eps = 1e-8);
  void step() override;
  double beta1, beta2, eps;
};

// Two groups as timm builds them: weights with decay; biases, norm weights (1-D tensors) and the
// names in `no_decay` (e.g. pos_embed, cls_token) without.
std::vector<ParamGroup> decay_groups(const Module& model, double lr, double weight_decay,
                                     const std::vector<std::string>& no_decay = {"pos_embed", "cls_token"});

// Scales all gradients so their global L2 norm is at most max_norm; returns the norm before.
double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm);

// Learning-rate factor per step (multiplies base_lr).
struct LrSchedule {
  enum class Kind { constant, warmup_cosine, step } kind = Kind::constant;
  int64_t warmup_steps = 0, total_steps = 1;  // warmup_cosine
  double min_factor = 0.0;                    // warmup_cosine: floor of the cosine
  int64_t step_size = 1;                      // step: decay every step_size steps
  double gamma = 0.1;                         // step: by this factor
  double factor(int64_t step) const;
  static LrSchedule warmup_cosine_schedule(int64_t warmup, int64_t total, double min_factor = 0.0);
  static LrSchedule step_schedule(int64_t step_size, double gamma);
};

// Exponential moving average of a model's parameters and buffers.
class Ema {
 public:
  Ema(const Module& model, double decay);
  void update(const Module& model);  // shadow = decay * shadow + (1 - decay) * current
  void copy_to(Module& model) const;
  const NamedTensors& shadow() const { return shadow_; }
  double decay;

 private:
  NamedTensors shadow_;
};

}  // namespace iris::nn
