// datagen: writes samples of iris's synthetic worlds as pictures + JSON so a person can see what
// a model will be trained on. One function per world, each in its own file of this folder.
#pragma once

#include "apps/common/flags.h"

namespace iris::datagen {

int run_scenes(const Flags& flags);  // scenes.cpp
int run_video(const Flags& flags);   // video.cpp
int run_faces(const Flags& flags);   // faces.cpp
int run_shapes(const Flags& flags);  // shapes.cpp
int run_corpus(const Flags& flags);  // corpus.cpp: the caption corpus and the tokenizer model

}  // namespace iris::datagen
