// Smoke tests of the unicl app (apps/unicl) in --quick mode: train (unicl on SHAPES with --export-clip, ce on
// Fashion-MNIST when installed, else on SHAPES), its exact resume (--stop-after-steps, then --resume: the
// same metrics.jsonl and final numbers as the uninterrupted run), zeroshot with class names typed by the user, probe, and
// ablate (files, the final JSON line's arms and keys, every value a percentage). Bad flags, a missing weights
// file, a wrong --data or --mix give a clear error. The binary is found through IRIS_BIN (CTest sets it);
// a small tokenizer is trained here from the caption corpus so no `make tokenizer` is needed.
#include <sstream>

#include "io/file_util.h"
#include "io/safetensors.h"
#include "tests/app_runner.h"

using namespace iris;
using namespace iris::testing;
using Result = AppResult;

namespace {

const std::string kDir = "/tmp/iris_test_unicl_app";

Result run(const std::string& command) { return run_app(command, kDir + "/stderr.txt"); }

// A small tokenizer trained once from the caption corpus; returns " --tokenizer PATH".
std::string tokenizer_flag() { return testing::tokenizer_flag(kDir); }


void check_percent(const json::Value& v, const char* key) {
  INFO(key);
  REQUIRE(v.contains(key));
  CHECK(v[key].as_number() >= 0.0);
  CHECK(v[key].as_number() <= 100.0);
}

}  // namespace

TEST_CASE("unicl: --help and usage errors") {
  make_dirs(kDir);
  Result h = run("unicl --help");
  CHECK(h.status == 0);
  for (const char* word : {"--loss", "--mix", "--data", "--export-clip", "--classes", "--weights", "identity targets",
                           "image-caption", "train", "zeroshot", "probe", "ablate"})
    CHECK_MESSAGE(h.out.find(word) != std::string::npos, "--help lacks " << word);
  Result typo = run("unicl train --los clip");
  CHECK(typo.status == 2);
  CHECK(typo.err.find("--loss") != std::string::npos);
  const std::string tok = tokenizer_flag();
  Result loss = run("unicl train --quick --loss supcon --data shapes --out " + kDir + "/bad" + tok);
  CHECK(loss.status == 1);
  CHECK(loss.err.find("use unicl, clip or ce") != std::string::npos);
  Result data = run("unicl train --quick --data cifar --out " + kDir + "/bad" + tok);
  CHECK(data.status == 1);
  CHECK(data.err.find("use fmnist or shapes") != std::string::npos);
  Result mix = run("unicl train --quick --data fmnist --mix text --out " + kDir + "/bad" + tok);
  CHECK(mix.status == 1);
  CHECK(mix.err.find("--mix label") != std::string::npos);
  Result ce = run("unicl train --quick --data shapes --loss ce --mix both --out " + kDir + "/bad" + tok);
  CHECK(ce.status == 1);
  CHECK(ce.err.find("--mix label") != std::string::npos);
  Result missing = run("unicl zeroshot --weights " + kDir + "/nope.safetensors --out " + kDir + "/bad");
  CHECK(missing.status == 1);
  CHECK(missing.err.find("does not exist") != std::string::npos);
  Result none = run("unicl probe --out " + kDir + "/bad");
  CHECK(none.status == 1);
  CHECK(none.err.find("--weights") != std::string::npos);
  Result notok = run("unicl train --quick --data shapes --tokenizer " + kDir + "/none.model --out " + kDir + "/bad");
  CHECK(notok.status == 1);
  CHECK(notok.err.find("make tokenizer") != std::string::npos);
  Result arms = run("unicl ablate --quick --arms shapes-label,shapes-magic --out " + kDir + "/bad" + tok);
  CHECK(arms.status == 1);
  CHECK(arms.err.find("unknown arm 'shapes-magic'") != std::string::npos);
  Result resume = run("unicl ablate --quick --resume " + kDir + "/x.safetensors --out " + kDir + "/bad" + tok);
  CHECK(resume.status == 1);
  CHECK(resume.err.find("unicl train --resume") != std::string::npos);
  Result stop = run("unicl ablate --quick --stop-after-steps 3 --out " + kDir + "/bad" + tok);
  CHECK(stop.status == 1);
  CHECK(stop.err.find("--stop-after-steps is for unicl train") != std::string::npos);
}

TEST_CASE("unicl: train --quick (unicl on shapes, export-clip) resumes exactly; zeroshot with typed classes, probe") {
  const std::string tok = tokenizer_flag(), out = fresh_dir(kDir + "/train-unicl"),
                    clip = fresh_dir(kDir + "/clip") + "/clip.safetensors";
  Result r = run("unicl train --quick --loss unicl --data shapes --mix both --export-clip --clip-out " + clip +
                 " --out " + out + tok);
  INFO(r.err);
  REQUIRE(r.status == 0);
  json::Value line = last_json_line(r.out);
  CHECK(line["app"].as_string() == "unicl");
  CHECK(line["cmd"].as_string() == "train");
  const json::Value& m = line["metrics"];
  for (const char* k : {"top1", "probe", "zeroshot"}) check_percent(m, k);
  CHECK(m["params"].as_int() > 10000);
  CHECK(std::isfinite(m["train_loss"].as_number()));
  // the contrastive loss fell (issue 27: a finite loss alone let a planted bug in the targets pass)
  CHECK(m["train_loss"].as_number() < m["first_loss"].as_number());
  CHECK_FILES_EXIST(out, {"weights.safetensors", "tokenizer.model", "top5.png", "config.json", "metrics.jsonl",
                          "result.json"});
  CHECK(path_exists(clip));
  CHECK(path_exists(kDir + "/clip/tokenizer.model"));
  CHECK(path_exists(out + "/checkpoints/last.safetensors"));

  // stop after 17 of the 24 steps (inside the second epoch), resume: the same run, bit for bit
  const std::string resumed = fresh_dir(kDir + "/train-unicl-resumed");
  const std::string same = " --quick --loss unicl --data shapes --mix both --out " + resumed + tok;
  Result s1 = run("unicl train --stop-after-steps 17" + same);
  INFO(s1.err);
  REQUIRE(s1.status == 0);
  CHECK(last_json_line(s1.out)["metrics"]["steps"].as_int() == 17);
  CHECK(s1.err.find("resume with --resume") != std::string::npos);
  CHECK_FALSE(path_exists(resumed + "/weights.safetensors"));  // stopped: checkpointed, not evaluated
  Result s2 = run("unicl train --resume " + resumed + "/checkpoints/last.safetensors" + same);
  INFO(s2.err);
  REQUIRE(s2.status == 0);
  const json::Value line2 = last_json_line(s2.out);
  const json::Value& m2 = line2["metrics"];
  for (const char* k : {"top1", "probe", "zeroshot", "train_loss", "steps"}) {
    INFO(std::string(k));
    CHECK(m2[k].as_number() == m[k].as_number());
  }
  std::vector<json::Value> whole = records_without_seconds(out + "/metrics.jsonl"),
                           joined = records_without_seconds(resumed + "/metrics.jsonl");
  CHECK(whole.size() == 24 + 2);  // --quick logs every step, and one line per epoch
  REQUIRE(joined.size() == whole.size());
  for (size_t i = 0; i < whole.size(); ++i) {
    INFO("metrics.jsonl line " << i + 1);
    CHECK(joined[i].dump() == whole[i].dump());  // every loss, lr and logit scale bit for bit
  }

  Result z = run("unicl zeroshot --quick --weights " + clip + " --classes \"red circle, blue star,yellow cross\" --out " +
                 kDir + "/zs");
  INFO(z.err);
  REQUIRE(z.status == 0);
  json::Value zm = last_json_line(z.out)["metrics"];
  CHECK(zm["classes"].as_int() == 3);
  CHECK(zm["matched"].as_int() > 0);  // red circles, blue stars and yellow crosses are among the test pictures
  check_percent(zm, "top1");
  CHECK(zm["predicted"].contains("blue star"));
  CHECK(path_exists(kDir + "/zs/top5.png"));
  // a weights file whose metadata points the tokenizer outside its folder is refused (issue 27)
  {
    SafetensorsFile f = load_safetensors(clip);
    std::map<std::string, std::string> meta = f.metadata;
    meta["tokenizer"] = "../../../etc/passwd";
    const std::string evil = kDir + "/clip/evil.safetensors";
    save_safetensors(evil, f.tensors, meta);
    Result e = run("unicl zeroshot --quick --weights " + evil + " --classes \"red circle, blue star\" --out " + kDir + "/zs-evil");
    CHECK(e.status != 0);
    CHECK(e.err.find("metadata 'tokenizer' is '../../../etc/passwd'; it must be a file name beside the weights") !=
          std::string::npos);
  }

  Result p = run("unicl probe --quick --weights " + out + "/weights.safetensors --out " + kDir + "/probe");
  INFO(p.err);
  REQUIRE(p.status == 0);
  check_percent(last_json_line(p.out)["metrics"], "probe");
}

TEST_CASE("unicl: train --quick with the cross-entropy head") {
  const std::string tok = tokenizer_flag(), out = fresh_dir(kDir + "/train-ce");
  const std::string data = have_fashion_mnist() ? "fmnist" : "shapes";
  Result r = run("unicl train --quick --loss ce --data " + data + " --out " + out + tok);
  INFO(r.err);
  REQUIRE(r.status == 0);
  const json::Value m = last_json_line(r.out)["metrics"];
  check_percent(m, "top1");
  check_percent(m, "probe");
  CHECK(m["train_loss"].as_number() < m["first_loss"].as_number());  // it learns something
  CHECK(path_exists(out + "/weights.safetensors"));
  // a CE model has no text tower: zeroshot refuses it clearly
  Result z = run("unicl zeroshot --quick --weights " + out + "/weights.safetensors --out " + kDir + "/bad");
  CHECK(z.status == 1);
  CHECK(z.err.find("--loss ce") != std::string::npos);
}

TEST_CASE("unicl: ablate --quick") {
  const std::string tok = tokenizer_flag(), out = fresh_dir(kDir + "/ablate");
  std::string arms = have_fashion_mnist() ? "" : " --arms shapes-label,shapes-text,shapes-both";
  Result r = run("unicl ablate --quick --out " + out + arms + tok);
  INFO(r.err);
  REQUIRE(r.status == 0);
  json::Value line = last_json_line(r.out);
  CHECK(line["cmd"].as_string() == "ablate");
  const json::Value& a = line["arms"];
  std::vector<std::string> names = {"shapes-label", "shapes-text", "shapes-both"};
  if (have_fashion_mnist()) names.insert(names.end(), {"fmnist-ce", "fmnist-unicl", "fmnist-clip"});
  for (const std::string& n : names) {
    INFO(n);
    REQUIRE(a.contains(n));
    check_percent(a[n], "top1");
    check_percent(a[n], "probe");
    if (n.rfind("shapes", 0) == 0) check_percent(a[n], "zeroshot");
    else CHECK_FALSE(a[n].contains("zeroshot"));
    CHECK(a[n]["seeds"].as_int() == 1);
  }
  CHECK_FILES_EXIST(out, {"ablation.md", "ablation.png", "result.json", "shapes-both/top5.png"});
  std::string md = read_file(out + "/ablation.md");
  CHECK(md.find("| shapes-text |") != std::string::npos);
}
