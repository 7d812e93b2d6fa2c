// Internal to the scenes world: what scenes.cpp (layout and pixels) hands to scenes_language.cpp
// (relations, captions, referring expressions, questions). Not part of the public API.
// Leaves out: everything a caller of scenes.h needs.
#pragma once

#include "data/synth/scenes.h"

namespace iris::synth::detail {

// Fills scene.relations, caption, referring and qa from scene.objects, drawing choices from rng.
void describe_scene(Scene& scene, const SceneConfig& config, SynthRandom& rng);

}  // namespace iris::synth::detail
