// iris-eval reid: not built yet (a placeholder so the binary links while the command is written).
#include "apps/iris-eval/eval.h"
#include "tensor/error.h"

namespace iris::eval {

void add_reid_flags(Flags& flags) {}

int run_reid(const Flags& flags) { throw Error("iris-eval reid is not implemented yet"); }

}  // namespace iris::eval
