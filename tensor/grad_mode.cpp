// Grad mode's thread-local flag (see grad_mode.h). The autocast flag beside it is autograd's
// (autograd/autocast.h, in autograd/engine.cpp): only autograd's ops read it.
#include "tensor/grad_mode.h"

namespace iris {

namespace {
thread_local bool t_grad_mode = true;
}
bool grad_mode_enabled() { return t_grad_mode; }
void set_grad_mode(bool enabled) { t_grad_mode = enabled; }

}  // namespace iris
