// Smoke tests of the davit app (apps/davit) in --quick mode (seconds): train on the corner probe
// (synthetic, always available) and on Fashion-MNIST when installed, eval of the written weights,
// ablate over a few arms; each must exit 0, print one final JSON line with the metrics the issue
// names, and write its run folder and pictures. Bad usage gives a helpful message and exit 1 or 2.
// The binary is found through IRIS_BIN (set by CTest to build/bin).
#include "io/json.h"
#include "tests/app_runner.h"

using namespace iris;
using namespace iris::testing;

namespace {

AppResult run(const std::string& command) { return run_app(command, "/tmp/iris_test_davit_app_stderr.txt"); }

}  // namespace

TEST_CASE("davit: usage errors and --help") {
  AppResult h = run("davit --help");
  CHECK(h.status == 0);
  for (const char* flag : {"--epochs", "--lr", "--quick", "--arm", "--task", "--seeds", "--arms", "--tasks"})
    CHECK_MESSAGE(h.out.find(flag) != std::string::npos, "--help lacks " << flag);
  for (const char* cmd : {"train", "eval", "ablate"}) CHECK(h.out.find(cmd) != std::string::npos);
  AppResult typo = run("davit ablte");
  CHECK(typo.status == 2);
  CHECK(typo.err.find("ablate") != std::string::npos);
  AppResult arm = run("davit train --quick --arm parallel --out /tmp/iris_test_davit_bad");
  CHECK(arm.status == 1);
  CHECK(arm.err.find("unknown DaViT arm") != std::string::npos);
  AppResult task = run("davit train --quick --task cifar --out /tmp/iris_test_davit_bad");
  CHECK(task.status == 1);
  CHECK(task.err.find("use fmnist or probe") != std::string::npos);
  AppResult tasks = run("davit ablate --quick --tasks probe,imagenet --out /tmp/iris_test_davit_bad");
  CHECK(tasks.status == 1);
  CHECK(tasks.err.find("unknown task 'imagenet'") != std::string::npos);
  AppResult weights = run("davit eval --quick --task probe --out /tmp/iris_test_davit_bad");
  CHECK(weights.status == 1);
  CHECK(weights.err.find("--weights") != std::string::npos);
}

TEST_CASE("davit train --quick on the corner probe writes its run folder; eval reproduces the accuracy") {
  fresh_dir("/tmp/iris_test_davit_probe");
  AppResult r = run("davit train --quick --task probe --arm dual-cs --out /tmp/iris_test_davit_probe");
  REQUIRE_MESSAGE(r.status == 0, r.err);
  json::Value line = last_json_line(r.out);
  CHECK(line["app"].as_string() == "davit");
  CHECK(line["cmd"].as_string() == "train");
  const json::Value& m = line["metrics"];
  CHECK(m["params"].as_int() > 300000);
  CHECK(m["flops"].as_int() > 10000000);
  CHECK(m["top1"].as_number() >= 0.0);
  CHECK(m["top1"].as_number() <= 100.0);
  CHECK(m["train_loss"].as_number() < m["first_loss"].as_number());  // it learned (a range check cannot fail)
  CHECK(m["steps"].as_int() == 16);  // 256 images, batch 32, 2 epochs
  CHECK_FILES_EXIST("/tmp/iris_test_davit_probe", {"config.json", "metrics.jsonl", "curves.png", "predictions.png",
                                                   "attention.png", "weights.safetensors",
                                                   "checkpoints/last.safetensors", "result.json"});
  json::Value cfg = json::parse(slurp("/tmp/iris_test_davit_probe/config.json"));
  CHECK(cfg["model"]["arm"].as_string() == "dual-cs");
  CHECK(cfg["task"].as_string() == "probe");

  AppResult e = run("davit eval --quick --weights /tmp/iris_test_davit_probe/weights.safetensors "
                    "--out /tmp/iris_test_davit_probe/eval");
  REQUIRE_MESSAGE(e.status == 0, e.err);
  CHECK(last_json_line(e.out)["metrics"]["top1"].as_number() == m["top1"].as_number());
}

TEST_CASE("davit train --quick on Fashion-MNIST lowers the loss") {
  REQUIRE_FASHION_MNIST("the Fashion-MNIST smoke test");
  fresh_dir("/tmp/iris_test_davit_fmnist");
  AppResult r = run("davit train --quick --out /tmp/iris_test_davit_fmnist");
  REQUIRE_MESSAGE(r.status == 0, r.err);
  const json::Value m = last_json_line(r.out)["metrics"];
  CHECK(m["train_loss"].as_number() < m["first_loss"].as_number());
  CHECK(m["top1"].as_number() > 15.0);  // better than chance (10%)
  CHECK(file_exists("/tmp/iris_test_davit_fmnist/attention.png"));
}

TEST_CASE("davit ablate --quick: every arm and task in the JSON line, a table and a chart") {
  fresh_dir("/tmp/iris_test_davit_ablate");
  std::string tasks = have_fashion_mnist() ? "probe,fmnist" : "probe";
  AppResult r = run("davit ablate --quick --arms dual,channel --tasks " + tasks + " --out /tmp/iris_test_davit_ablate");
  REQUIRE_MESSAGE(r.status == 0, r.err);
  json::Value line = last_json_line(r.out);
  CHECK(line["app"].as_string() == "davit");
  CHECK(line["cmd"].as_string() == "ablate");
  const json::Value& arms = line["arms"];
  std::vector<std::string> names = {"probe-dual", "probe-channel"};
  if (have_fashion_mnist()) names.insert(names.end(), {"dual", "channel"});
  CHECK(arms.size() == names.size());
  for (const std::string& name : names) {
    CAPTURE(name);
    REQUIRE(arms.contains(name));
    const json::Value& a = arms[name];
    CHECK(a["runs"].size() == 2);  // --quick: 2 seeds
    CHECK(a["seeds"].as_int() == 2);
    CHECK_FALSE(a.contains("params_std"));  // the same in every seed: a property of the arm
    double t0 = a["runs"][0].as_number(), t1 = a["runs"][1].as_number();
    CHECK(a["top1"].as_number() == doctest::Approx((t0 + t1) / 2));
    CHECK(a["top1_std"].as_number() == doctest::Approx(std::fabs(t0 - t1) / std::sqrt(2.0)));
    CHECK(a["params"].as_int() > 300000);
    CHECK(a["flops"].as_int() > 10000000);
  }
  CHECK(arms["probe-dual"]["params"].as_int() == arms["probe-channel"]["params"].as_int());
  CHECK_FILES_EXIST("/tmp/iris_test_davit_ablate", {"ablation.md", "ablation.png", "ablation.json", "result.json",
                                                    "probe-dual-seed0/attention.png",
                                                    "probe-channel-seed1/result.json"});
  std::string md = slurp("/tmp/iris_test_davit_ablate/ablation.md");
  CHECK(md.find("| probe | dual |") != std::string::npos);
  CHECK(md.find("davit ablate --quick") != std::string::npos);
}
