// Smoke tests of the minivit app (apps/minivit) in --quick mode (seconds per arm): train a teacher, train a
// distilled student from it, evaluate written weights, and ablate every arm; each must exit 0, print one
// final JSON line with the metrics the issue names, and write its run folder, gradient norms and pictures.
// Bad usage must fail with a clear message. Needs Fashion-MNIST (skipped with a message when missing);
// the binary is found through IRIS_BIN (set by CTest to build/bin).
#include <cmath>
#include <fstream>

#include "io/json.h"
#include "tests/app_runner.h"

using namespace iris;
using namespace iris::testing;

namespace {

AppResult run(const std::string& command) { return run_app(command, "/tmp/iris_test_minivit_app_stderr.txt"); }

size_t count_lines(const std::string& path) {
  std::ifstream in(path);
  size_t n = 0;
  for (std::string line; std::getline(in, line);) n += !line.empty();
  return n;
}

// The first line of a .jsonl file, parsed.
json::Value first_record(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  REQUIRE_MESSAGE(std::getline(in, line), path << " is empty");
  return json::parse(line);
}

void check_top1(const json::Value& m) {
  CHECK(m["top1"].as_number() >= 0.0);
  CHECK(m["top1"].as_number() <= 100.0);
}

}  // namespace

TEST_CASE("minivit: --help explains the arms; bad usage fails with a clear message") {
  AppResult h = run("minivit --help");
  CHECK(h.status == 0);
  for (const char* word : {"train", "eval", "ablate", "--arm", "--share", "--teacher", "--mlp-transform",
                           "--transform-bias", "--train-subset", "--epochs", "--device", "--quick", "shared-ln",
                           "logit-kd", "single-layer", "no label CE"})
    CHECK_MESSAGE(h.out.find(word) != std::string::npos, "--help lacks " << word);

  AppResult typo = run("minivit ablat");
  CHECK(typo.status == 2);
  CHECK(typo.err.find("ablate") != std::string::npos);
  AppResult flag = run("minivit train --quick --shares 2");
  CHECK(flag.status == 2);
  CHECK(flag.err.find("--share") != std::string::npos);
  AppResult arm = run("minivit train --quick --arm shared-only --out /tmp/iris_test_minivit_bad");
  CHECK(arm.status == 1);
  CHECK(arm.err.find("unknown arm 'shared-only'") != std::string::npos);
  AppResult arms = run("minivit ablate --quick --arms teacher,minivt --out /tmp/iris_test_minivit_bad");
  CHECK(arms.status == 1);
  CHECK(arms.err.find("unknown arm 'minivt'") != std::string::npos);
  AppResult share = run("minivit train --quick --arm shared --share 4 --out /tmp/iris_test_minivit_bad");
  CHECK(share.status == 1);
  CHECK(share.err.find("does not divide the depth 6") != std::string::npos);
  AppResult mlp = run("minivit train --quick --arm transform --mlp-transform conv --out /tmp/iris_test_minivit_bad");
  CHECK(mlp.status == 1);
  CHECK(mlp.err.find("use dwconv, relpos or none") != std::string::npos);
  AppResult weights = run("minivit eval --quick --out /tmp/iris_test_minivit_bad");
  CHECK(weights.status == 1);
  CHECK(weights.err.find("--weights") != std::string::npos);
  AppResult teacher = run("minivit train --quick --arm minivit --teacher /tmp/iris_test_minivit_no_such_file.safetensors "
                           "--out /tmp/iris_test_minivit_bad");
  CHECK(teacher.status == 1);
  CHECK(teacher.err.find("no_such_file") != std::string::npos);
}

TEST_CASE("minivit train --quick: a teacher, then a student distilled from it; eval reproduces top-1") {
  REQUIRE_FASHION_MNIST("the minivit train smoke test");
  const std::string t_dir = "/tmp/iris_test_minivit_teacher", s_dir = "/tmp/iris_test_minivit_student";
  fresh_dir(t_dir), fresh_dir(s_dir);
  AppResult t = run("minivit train --quick --arm teacher --out " + t_dir);
  REQUIRE_MESSAGE(t.status == 0, t.err);
  json::Value tl = last_json_line(t.out);
  CHECK(tl["app"].as_string() == "minivit");
  CHECK(tl["cmd"].as_string() == "train");
  const json::Value& tm = tl["metrics"];
  check_top1(tm);
  CHECK(tm["share"].as_int() == 1);
  CHECK(tm["steps"].as_int() == 10);  // --quick: 320 images, batch 32, 1 epoch
  CHECK(tm["train_loss"].as_number() < tm["first_loss"].as_number());
  CHECK(tm["grad_norm_samples"].as_int() == 10);  // --quick samples every step
  CHECK(tm["grad_norm_mean"].as_number() > 0.0);
  CHECK(tm["grad_norm_max"].as_number() >= tm["grad_norm_mean"].as_number());
  CHECK_FILES_EXIST(t_dir, {"config.json", "metrics.jsonl", "grad_norms.jsonl", "grad_norms.png", "curves.png",
                            "predictions.png", "weights.safetensors", "checkpoints/last.safetensors", "result.json"});
  CHECK(count_lines(t_dir + "/grad_norms.jsonl") == 10);
  json::Value sample = first_record(t_dir + "/grad_norms.jsonl");
  CHECK(sample["block"].size() == 6);      // unshared: one block per layer
  CHECK(sample["layer_own"].size() == 6);
  json::Value cfg = json::parse(slurp(t_dir + "/config.json"));
  CHECK(cfg["arm"].as_string() == "teacher");
  CHECK(cfg["model"]["share"].as_int() == 1);
  CHECK(cfg["model"]["attn_transform"].as_bool() == false);

  AppResult s = run("minivit train --quick --arm minivit --teacher " + t_dir + "/weights.safetensors --out " + s_dir);
  REQUIRE_MESSAGE(s.status == 0, s.err);
  const json::Value sm = last_json_line(s.out)["metrics"];
  check_top1(sm);
  CHECK(sm["train_loss"].as_number() < sm["first_loss"].as_number());  // the distilled student learned
  CHECK(sm["share"].as_int() == 2);
  CHECK(sm["params"].as_int() < tm["params"].as_int());  // shared weights count once
  CHECK(sm["params"].as_int() > tm["params"].as_int() / 3);
  CHECK(sm["teacher_top1"].as_number() == tm["top1"].as_number());  // the same weights on the same test images
  CHECK(std::isfinite(sm["grad_norm_cv_mean"].as_number()));
  CHECK(!file_exists(s_dir + "/teacher/weights.safetensors"));  // the given teacher was used, none trained
  std::string metrics = slurp(s_dir + "/metrics.jsonl");
  for (const char* key : {"\"logit_loss\"", "\"attn_loss\"", "\"hidden_loss\""})
    CHECK_MESSAGE(metrics.find(key) != std::string::npos, "metrics.jsonl lacks " << key);
  json::Value first = first_record(s_dir + "/grad_norms.jsonl");
  CHECK(first["block"].size() == 3);      // 6 layers sharing in pairs
  CHECK(first["layer_own"].size() == 6);  // per-layer norms and transforms
  for (size_t l = 0; l < 6; ++l) CHECK(first["layer_own"][l].as_number() > 0.0);

  AppResult e = run("minivit eval --quick --weights " + s_dir + "/weights.safetensors --out " + s_dir + "/eval");
  REQUIRE_MESSAGE(e.status == 0, e.err);
  const json::Value em = last_json_line(e.out)["metrics"];
  CHECK(em["top1"].as_number() == sm["top1"].as_number());
  CHECK(em["params"].as_int() == sm["params"].as_int());
}

TEST_CASE("minivit ablate --quick: every arm in the JSON line, table, chart and gradient norms") {
  REQUIRE_FASHION_MNIST("the minivit ablate smoke test");
  const std::string dir = "/tmp/iris_test_minivit_ablate";
  fresh_dir(dir);
  AppResult r = run("minivit ablate --quick --out " + dir);
  REQUIRE_MESSAGE(r.status == 0, r.err);
  json::Value line = last_json_line(r.out);
  CHECK(line["app"].as_string() == "minivit");
  CHECK(line["cmd"].as_string() == "ablate");
  const json::Value& arms = line["arms"];
  const std::vector<std::string> names = {"teacher", "shared", "shared-ln", "transform", "minivit", "logit-kd",
                                          "single-layer"};
  CHECK(arms.size() == names.size());
  for (const std::string& name : names) {
    CAPTURE(name);
    REQUIRE(arms.contains(name));
    check_top1(arms[name]);
    CHECK(arms[name]["params"].as_int() > 0);
    CHECK(arms[name]["seeds"].as_int() == 1);  // one seed by default: its std is 0
    CHECK(arms[name]["top1_std"].as_number() == 0.0);
    CHECK(arms[name]["runs"][0].as_number() == arms[name]["top1"].as_number());
  }
  auto params = [&](const char* arm) { return arms[arm]["params"].as_int(); };
  CHECK(params("shared") < params("teacher"));
  CHECK(params("shared") < params("shared-ln"));        // per-layer norms add parameters
  CHECK(params("shared-ln") < params("transform"));     // so do the transforms
  CHECK(params("transform") == params("minivit"));      // distillation adds none
  CHECK(params("minivit") == params("logit-kd"));
  CHECK(params("single-layer") < params("minivit"));
  CHECK_FILES_EXIST(dir, {"ablation.md", "ablation.json", "ablation.png", "grad_norms.png", "result.json",
                          "teacher/weights.safetensors", "shared/grad_norms.jsonl", "minivit/curves.png",
                          "single-layer/result.json"});
  json::Value table = json::parse(slurp(dir + "/ablation.json"));
  CHECK(table["teacher"]["grad_norms"]["block_mean"].size() == 6);
  CHECK(table["shared"]["grad_norms"]["block_mean"].size() == 3);
  CHECK(table["single-layer"]["grad_norms"]["block_mean"].size() == 1);
  CHECK(table["single-layer"]["share"].as_int() == 6);
  CHECK(table["transform"]["grad_norms"]["layer_own_mean"].size() == 6);
  CHECK(table["shared"]["grad_norm_max"].as_number() >= table["shared"]["grad_norm_mean"].as_number());
  std::string md = slurp(dir + "/ablation.md");
  CHECK(md.find("| minivit | 2 |") != std::string::npos);
  CHECK(md.find("| single-layer | 6 |") != std::string::npos);
  CHECK(md.find("minivit ablate --quick") != std::string::npos);
  CHECK(json::parse(slurp(dir + "/result.json"))["arms"]["shared"]["top1"].as_number() ==
        arms["shared"]["top1"].as_number());  // the final line is in the run folder too
}

TEST_CASE("minivit ablate --quick --seeds 2: a teacher per seed, the mean and std over seeds") {
  REQUIRE_FASHION_MNIST("the minivit ablate seeds test");
  const std::string dir = "/tmp/iris_test_minivit_ablate_seeds";
  fresh_dir(dir);
  AppResult r = run("minivit ablate --quick --arms teacher,logit-kd --seeds 2 --seed 3 --out " + dir);
  REQUIRE_MESSAGE(r.status == 0, r.err);
  const json::Value line = last_json_line(r.out);
  for (const char* name : {"teacher", "logit-kd"}) {
    CAPTURE(name);
    const json::Value& a = line["arms"][name];
    REQUIRE(a["runs"].size() == 2);
    double t0 = a["runs"][0].as_number(), t1 = a["runs"][1].as_number();
    CHECK(a["seeds"].as_int() == 2);
    CHECK(a["top1"].as_number() == doctest::Approx((t0 + t1) / 2));
    CHECK(a["top1_std"].as_number() == doctest::Approx(std::fabs(t0 - t1) / std::sqrt(2.0)));
  }
  // the student of each seed learnt from that seed's teacher
  CHECK_FILES_EXIST(dir, {"teacher-seed3/weights.safetensors", "teacher-seed4/weights.safetensors",
                          "logit-kd-seed3/result.json", "logit-kd-seed4/result.json"});
  CHECK(slurp(dir + "/logit-kd-seed4/config.json").find("teacher-seed4/weights.safetensors") != std::string::npos);
}
