// iris-eval's commands, one file each: coco.cpp (COCO detection AP from COCO JSON files), mot.cpp
// (CLEAR-MOT and IDF1 from MOTChallenge text files), reid.cpp (Market-1501 mAP and CMC). Each adds
// the flags only it uses; main.cpp registers the shared --gt and dispatches.
// Leaves out: the metrics themselves, which live in metrics/ (the apps of the papers call them too).
#pragma once

#include "apps/common/flags.h"

namespace iris::eval {

void add_coco_flags(Flags& flags);
int run_coco(const Flags& flags);

void add_mot_flags(Flags& flags);
int run_mot(const Flags& flags);

void add_reid_flags(Flags& flags);
int run_reid(const Flags& flags);

}  // namespace iris::eval
