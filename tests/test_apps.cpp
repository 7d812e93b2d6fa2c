// App smoke tests: each app binary in --quick mode (seconds) must exit 0, print one final JSON line,
// lower its loss and write its run folder; bad usage must give exit code 2 with a helpful message.
// The binaries are found through IRIS_BIN (set by CTest to build/bin). Needs Fashion-MNIST; without
// it the tests say so and check only the missing-data message.
#include "io/json.h"
#include "tests/app_runner.h"

using namespace iris;
using namespace iris::testing;

namespace {

AppResult run(const std::string& command) { return run_app(command, "/tmp/iris_test_apps_stderr.txt"); }

}  // namespace

TEST_CASE("vit: usage errors and --help") {
  AppResult h = run("vit --help");
  CHECK(h.status == 0);
  for (const char* flag : {"--epochs", "--batch-size", "--lr", "--device", "--resume", "--quick", "--weights", "--config"})
    CHECK_MESSAGE(h.out.find(flag) != std::string::npos, "--help lacks " << flag);
  AppResult bad = run("vit train --epoch 3");
  CHECK(bad.status == 2);
  CHECK(bad.err.find("--epochs") != std::string::npos);  // the suggestion
  AppResult nocmd = run("vit trian");
  CHECK(nocmd.status == 2);
  CHECK(nocmd.err.find("train") != std::string::npos);
  AppResult nodata = run("vit train --quick --data /nonexistent --out /tmp/iris_test_apps_nodata");
  CHECK(nodata.status == 1);
  CHECK(nodata.err.find("dataset-fashion-mnist") != std::string::npos);
  AppResult noweights = run("vit eval --data /nonexistent");
  CHECK(noweights.status == 1);
  CHECK(noweights.err.find("--weights") != std::string::npos);
}

TEST_CASE("vit train --quick trains, writes its run folder, and resumes exactly") {
  REQUIRE_FASHION_MNIST("the training smoke test");
  fresh_dir("/tmp/iris_test_apps_vit");
  fresh_dir("/tmp/iris_test_apps_vit_resume");
  AppResult r = run("vit train --quick --out /tmp/iris_test_apps_vit");
  REQUIRE_MESSAGE(r.status == 0, r.err);
  json::Value line = last_json_line(r.out);
  CHECK(line["app"].as_string() == "vit");
  CHECK(line["cmd"].as_string() == "train");
  const json::Value& m = line["metrics"];
  CHECK(m["params"].as_int() > 100000);
  CHECK(m["train_loss"].as_number() < m["first_loss"].as_number());  // the loss falls
  CHECK(m["top1"].as_number() > 15.0);                               // better than chance (10%)
  CHECK_FILES_EXIST("/tmp/iris_test_apps_vit", {"config.json", "metrics.jsonl", "curves.png", "predictions.png",
                                                 "attention.png", "weights.safetensors", "checkpoints/last.safetensors",
                                                 "result.json"});
  json::Value cfg = json::parse(slurp("/tmp/iris_test_apps_vit/config.json"));
  CHECK(cfg["model"]["embed_dim"].as_int() == 64);

  // eval of the written weights reproduces the reported accuracy
  AppResult e = run("vit eval --quick --weights /tmp/iris_test_apps_vit/weights.safetensors "
                    "--out /tmp/iris_test_apps_vit/eval");
  REQUIRE_MESSAGE(e.status == 0, e.err);
  CHECK(last_json_line(e.out)["metrics"]["top1"].as_number() == m["top1"].as_number());

  // stop after 5 steps, resume: the same final numbers as the uninterrupted run
  AppResult s1 = run("vit train --quick --stop-after-steps 5 --out /tmp/iris_test_apps_vit_resume");
  REQUIRE_MESSAGE(s1.status == 0, s1.err);
  CHECK(s1.err.find("resume with --resume") != std::string::npos);
  AppResult s2 = run("vit train --quick --resume /tmp/iris_test_apps_vit_resume/checkpoints/last.safetensors "
                     "--out /tmp/iris_test_apps_vit_resume");
  REQUIRE_MESSAGE(s2.status == 0, s2.err);
  json::Value line2 = last_json_line(s2.out);
  const json::Value& m2 = line2["metrics"];
  CHECK(m2["top1"].as_number() == m["top1"].as_number());
  CHECK(m2["train_loss"].as_number() == m["train_loss"].as_number());
}
