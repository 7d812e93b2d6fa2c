// iris-eval coco: not built yet (a placeholder so the binary links while the command is written).
#include "apps/iris-eval/eval.h"
#include "tensor/error.h"

namespace iris::eval {

void add_coco_flags(Flags& flags) {}

int run_coco(const Flags& flags) { throw Error("iris-eval coco is not implemented yet"); }

}  // namespace iris::eval
