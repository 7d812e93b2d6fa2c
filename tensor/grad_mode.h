// Grad mode: whether ops record graph nodes. Thread-local, so a data-loading thread never records.
// NoGradGuard turns recording off for a scope (evaluation, optimiser steps, backward itself).
// It lives in tensor/ because Tensor's in-place ops check it; recording itself is autograd's.
#pragma once

namespace iris {

bool grad_mode_enabled();
void set_grad_mode(bool enabled);

class NoGradGuard {
 public:
  NoGradGuard() : prev_(grad_mode_enabled()) { set_grad_mode(false); }
  ~NoGradGuard() { set_grad_mode(prev_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool prev_;
};

}  // namespace iris
