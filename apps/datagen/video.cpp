// STUB until the video world lands: datagen video reports that it is not built yet.
#include "apps/datagen/datagen.h"

namespace iris::datagen {

int run_video(const Flags&) { throw Error("datagen video: not implemented yet"); }

}  // namespace iris::datagen
