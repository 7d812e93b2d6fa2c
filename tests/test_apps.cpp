// App smoke tests: each app binary in --quick mode (seconds) must exit 0, print one final JSON line,
// lower its loss and write its run folder; bad usage must give exit code 2 with a helpful message.
// The binaries are found through IRIS_BIN (set by CTest to build/bin). Needs Fashion-MNIST; without
// it the tests say so and check only the missing-data message.
#include <sys/wait.h>

#include <cstdio>
#include <fstream>

#include "data/idx.h"
#include "data/json.h"
#include "tests/helpers.h"

using namespace iris;

namespace {

struct Result {
  int status = -1;
  std::string out, err;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

Result run(const std::string& args) {
  const char* bin = std::getenv("IRIS_BIN");
  std::string dir = bin ? bin : "build/bin";
  std::string err_file = "/tmp/iris_test_apps_stderr.txt";
  Result r;
  FILE* p = popen((dir + "/" + args + " 2>" + err_file).c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  r.err = slurp(err_file);
  return r;
}

json::Value last_json_line(const std::string& out) {
  size_t end = out.find_last_not_of('\n');
  REQUIRE(end != std::string::npos);
  size_t start = out.rfind('\n', end);
  return json::parse(out.substr(start == std::string::npos ? 0 : start + 1, end + 1 - (start == std::string::npos ? 0 : start + 1)));
}

bool have_fashion_mnist() {
  std::ifstream probe(data::fashion_mnist_dir() + "/train-images-idx3-ubyte.gz");
  return probe.good();
}

bool exists(const std::string& path) { return std::ifstream(path).good(); }

}  // namespace

TEST_CASE("vit: usage errors and --help") {
  Result h = run("vit --help");
  CHECK(h.status == 0);
  for (const char* flag : {"--epochs", "--batch-size", "--lr", "--device", "--resume", "--quick", "--weights", "--config"})
    CHECK_MESSAGE(h.out.find(flag) != std::string::npos, "--help lacks " << flag);
  Result bad = run("vit train --epoch 3");
  CHECK(bad.status == 2);
  CHECK(bad.err.find("--epochs") != std::string::npos);  // the suggestion
  Result nocmd = run("vit trian");
  CHECK(nocmd.status == 2);
  CHECK(nocmd.err.find("train") != std::string::npos);
  Result nodata = run("vit train --quick --data /nonexistent --out /tmp/iris_test_apps_nodata");
  CHECK(nodata.status == 1);
  CHECK(nodata.err.find("dataset-fashion-mnist") != std::string::npos);
  Result noweights = run("vit eval --data /nonexistent");
  CHECK(noweights.status == 1);
  CHECK(noweights.err.find("--weights") != std::string::npos);
}

TEST_CASE("vit train --quick trains, writes its run folder, and resumes exactly") {
  if (!have_fashion_mnist()) {
    MESSAGE("Fashion-MNIST is not installed (make deps); skipping the training smoke test");
    return;
  }
  std::system("rm -rf /tmp/iris_test_apps_vit /tmp/iris_test_apps_vit_resume");
  Result r = run("vit train --quick --out /tmp/iris_test_apps_vit");
  REQUIRE_MESSAGE(r.status == 0, r.err);
  json::Value line = last_json_line(r.out);
  CHECK(line["app"].as_string() == "vit");
  CHECK(line["cmd"].as_string() == "train");
  const json::Value& m = line["metrics"];
  CHECK(m["params"].as_int() > 100000);
  CHECK(m["train_loss"].as_number() < m["first_loss"].as_number());  // the loss falls
  CHECK(m["top1"].as_number() > 15.0);                               // better than chance (10%)
  for (const char* f : {"config.json", "metrics.jsonl", "curves.png", "predictions.png", "attention.png",
                        "weights.safetensors", "checkpoints/last.safetensors", "result.json"})
    CHECK_MESSAGE(exists(std::string("/tmp/iris_test_apps_vit/") + f), "missing " << f);
  json::Value cfg = json::parse(slurp("/tmp/iris_test_apps_vit/config.json"));
  CHECK(cfg["model"]["embed_dim"].as_int() == 64);

  // eval of the written weights reproduces the reported accuracy
  Result e = run("vit eval --quick --weights /tmp/iris_test_apps_vit/weights.safetensors --out /tmp/iris_test_apps_vit/eval");
  REQUIRE_MESSAGE(e.status == 0, e.err);
  CHECK(last_json_line(e.out)["metrics"]["top1"].as_number() == m["top1"].as_number());

  // stop after 5 steps, resume: the same final numbers as the uninterrupted run
  Result s1 = run("vit train --quick --stop-after-steps 5 --out /tmp/iris_test_apps_vit_resume");
  REQUIRE_MESSAGE(s1.status == 0, s1.err);
  CHECK(s1.err.find("resume with --resume") != std::string::npos);
  Result s2 = run("vit train --quick --resume /tmp/iris_test_apps_vit_resume/checkpoints/last.safetensors "
                  "--out /tmp/iris_test_apps_vit_resume");
  REQUIRE_MESSAGE(s2.status == 0, s2.err);
  json::Value line2 = last_json_line(s2.out);
  const json::Value& m2 = line2["metrics"];
  CHECK(m2["top1"].as_number() == m["top1"].as_number());
  CHECK(m2["train_loss"].as_number() == m["train_loss"].as_number());
}
