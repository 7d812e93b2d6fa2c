// minivit: the teacher of the distilled arms (minivit, logit-kd, single-layer): the weights given with
// --teacher (evaluated once), the teacher a resumed run trained before, or a fresh one trained with the
// students' budget (arm "teacher") in its own folder. Leaves out: teachers of other architectures.
#include <fstream>
#include <iostream>

#include "apps/minivit/minivit_app.h"
#include "io/file_util.h"

namespace iris::minivit_app {

Teacher get_teacher(const Flags& flags, const Data& d, const std::string& dir, bool ablate, uint64_t seed) {
  Teacher t;
  const std::string& given = flags.get_string("teacher");
  if (!given.empty()) {
    t.model = load_model(given, "--teacher");
    t.path = given;
    t.model->to(flags.device());
    EvalResult ev = evaluate_classifier(*t.model, d.test, flags.batch_size(), flags.device(), false);
    t.top1 = ev.top1;
    std::cerr << "minivit: teacher " << given << ": " << t.model->parameter_count() << " parameters, test top-1 "
              << ev.top1 << "%\n";
    return t;
  }
  const std::string earlier = dir + "/weights.safetensors";
  if (!flags.resume().empty() && std::ifstream(earlier).good()) {  // a resumed run keeps its teacher
    t.model = load_model(earlier, "teacher");
    t.model->to(flags.device());
    t.top1 = evaluate_classifier(*t.model, d.test, flags.batch_size(), flags.device(), false).top1;
    t.path = earlier;
    std::cerr << "minivit: resuming with the teacher trained before, " << earlier << "\n";
    return t;
  }
  std::cerr << "minivit: no --teacher given: training one first (arm teacher) in " << dir << "\n";
  Run sub("minivit", "train", dir);
  t.trained = train_arm(flags, "teacher", d, nullptr, sub, ablate, seed);
  write_file_atomic(sub.path("result.json"), final_json_line("minivit", "train", arm_metrics(t.trained)) + "\n");
  t.was_trained = true;
  t.top1 = t.trained.t.r.top1;
  t.path = sub.path("weights.safetensors");
  t.model = load_model(t.path, "teacher");
  return t;
}

void check_teacher_file(const Flags& flags) {
  const std::string& path = flags.get_string("teacher");
  IRIS_CHECK(path.empty() || std::ifstream(path).good(), "minivit: cannot read --teacher ", path,
             ": give the weights.safetensors of minivit train --arm teacher (or leave --teacher out to train one)");
}

}  // namespace iris::minivit_app
