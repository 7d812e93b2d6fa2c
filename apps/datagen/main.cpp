// datagen: look at the synthetic worlds.
//   datagen scenes --n 16 --seed 1 --out DIR    canvases of Fashion-MNIST items with boxes, captions, Q&A
//                  [--size 96] [--shifted] [--held-out sandal,bag,ankle\ boot] [--classes all|seen|novel]
//   datagen video  --n 2 --seed 1 --out DIR     sequences of moving, occluding items with tracks
//                  [--preset outrack|pnl] [--size 64]
//   datagen faces  --n 16 --seed 1 --out DIR    cartoon faces with parsing masks and landmarks
//   datagen shapes --n 16 --seed 1 --out DIR    coloured shapes with masks and captions [--split train|val|test]
//   datagen corpus --out DIR                    the caption corpus of every world and its tokenizer model
// Each writes PNG grids (boxes, masks, captions drawn) and the matching JSON into DIR.
#include "apps/common/run.h"
#include "apps/datagen/datagen.h"
#include "data/idx.h"

using namespace iris;

int main(int argc, char** argv) {
  Flags flags("datagen", "write samples of the synthetic worlds (pictures + JSON)",
              {{"scenes", "canvases with 1-4 Fashion-MNIST items: boxes, captions with grounded phrases, Q&A"},
               {"video", "sequences of moving items that occlude each other, with ground-truth tracks"},
               {"faces", "procedural cartoon faces with parsing masks, landmarks and captions"},
               {"shapes", "one coloured shape per 32x32 picture with captions; 12 colour-shape pairs held out"},
               {"corpus", "the caption corpus of every world, and the sentencepiece tokenizer trained on it"}});
  flags.add_int("n", 16, "how many samples (canvases, videos, faces)");
  flags.add_string("split", "train", "train, val or test (disjoint generator seeds)");
  flags.add_int("size", 0, "image side in pixels (0: the world's default)");
  flags.add_bool("shifted", false, "scenes: the domain-shifted variant (backgrounds, tints, scales)");
  flags.add_string("held-out", "sandal,bag,ankle boot",
                   "scenes: the novel (held-out) classes, by name or index; \"\" for none");
  flags.add_string("classes", "all", "scenes: all, seen (base classes only) or novel (each canvas holds a held-out one)");
  flags.add_string("preset", "outrack",
                   "video: outrack (96x96, 40-60 frames, 3-7 items) or pnl (64x64, 30 frames, 2-4 items, camera styles)");
  flags.set_default("data", data::fashion_mnist_dir());
  return app_main(flags, argc, argv, [](const Flags& f) {
    if (f.command() == "scenes") return datagen::run_scenes(f);
    if (f.command() == "video") return datagen::run_video(f);
    if (f.command() == "faces") return datagen::run_faces(f);
    if (f.command() == "shapes") return datagen::run_shapes(f);
    return datagen::run_corpus(f);
  });
}
