// iris-eval mot: not built yet (a placeholder so the binary links while the command is written).
#include "apps/iris-eval/eval.h"
#include "tensor/error.h"

namespace iris::eval {

void add_mot_flags(Flags& flags) {}

int run_mot(const Flags& flags) { throw Error("iris-eval mot is not implemented yet"); }

}  // namespace iris::eval
