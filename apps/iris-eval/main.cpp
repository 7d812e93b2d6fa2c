// iris-eval: the field's standard metrics on the field's standard files, for results made anywhere.
//   iris-eval coco --gt instances.json --dt detections.json     COCO detection AP (as pycocotools)
//   iris-eval mot  --gt gt.txt --ts tracker.txt                 CLEAR-MOT + IDF1 (as py-motmetrics)
//   iris-eval reid ...                                          Market-1501 mAP and CMC
// Each prints a table and, last, one JSON line {"app":"iris-eval","cmd":...,"metrics":{...}}.
// Leaves out: training anything; the metrics are in metrics/, this file only dispatches.
#include "apps/common/run.h"
#include "apps/iris-eval/eval.h"

using namespace iris;

int main(int argc, char** argv) {
  Flags flags("iris-eval", "evaluate detections, tracks or re-ID rankings from standard files",
              {{"coco", "COCO-style detection AP/AR from a COCO ground-truth JSON and a detection results JSON"},
               {"mot", "CLEAR-MOT (MOTA, MOTP, ...) and IDF1 from MOTChallenge text files (files or folders)"},
               {"reid", "re-ID mAP and CMC rank-1/5/10 under the Market-1501 protocol"}});
  flags.add_string("gt", "", "ground truth: COCO instances JSON (coco), gt.txt or a folder of sequences (mot)",
                   "PATH");
  eval::add_coco_flags(flags);
  eval::add_mot_flags(flags);
  eval::add_reid_flags(flags);
  return app_main(flags, argc, argv, [](const Flags& f) {
    if (f.command() == "coco") return eval::run_coco(f);
    if (f.command() == "mot") return eval::run_mot(f);
    return eval::run_reid(f);
  });
}
