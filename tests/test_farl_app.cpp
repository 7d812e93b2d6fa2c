// Smoke tests of the farl app (apps/farl) in --quick mode: pretrain itc+mim (the loss falls, the encoder,
// visual tokens and pictures exist), its exact resume (--stop-after-steps, then --resume: the same
// metrics.jsonl and final numbers as the uninterrupted run), parse and align from that encoder and from
// random init, ablate on two inits and one label fraction (files, the final line's arms and keys), the
// demo, `parse --image` on faces datagen wrote, `pretrain --export` (the encoder with its tokenizer), and the
// bad inputs (a missing or wrong encoder file, --labels 0, an unknown objective, a typo'd flag, an image of
// the wrong size or a corrupt one, a tokenizer name with folders) each give a clear error. A small tokenizer is trained here from the caption corpus, so no `make tokenizer` is needed.
#include <sstream>

#include "image/image.h"
#include "io/file_util.h"
#include "io/safetensors.h"
#include "tests/app_runner.h"

using namespace iris;
using namespace iris::testing;

namespace {

const std::string kDir = "/tmp/iris_test_farl_app";

AppResult run(const std::string& command) { return run_app(command, kDir + "/stderr.txt"); }

std::string tokenizer_flag() { return testing::tokenizer_flag(kDir); }


// Made once: the quick itc+mim encoder the fine-tuning tests start from.
std::string pretrained_encoder() {
  static const std::string path = [] {
    const std::string dir = fresh_dir(kDir + "/pretrain");
    AppResult r = run("farl pretrain --quick --objective itc+mim --out " + dir + tokenizer_flag());
    REQUIRE_MESSAGE(r.status == 0, r.err);
    return dir + "/weights.safetensors";
  }();
  return path;
}

}  // namespace

TEST_CASE("farl: --help and bad input") {
  make_dirs(kDir);
  AppResult h = run("farl --help");
  CHECK(h.status == 0);
  for (const char* word : {"pretrain", "parse", "align", "ablate", "--objective", "--labels", "--init", "itc+mim"})
    CHECK_MESSAGE(h.out.find(word) != std::string::npos, "--help lacks " << word);
  AppResult typo = run("farl pretrain --objectve itc");
  CHECK(typo.status == 2);
  CHECK(typo.err.find("--objective") != std::string::npos);
  AppResult obj = run("farl pretrain --quick --objective mae --out " + kDir + "/bad" + tokenizer_flag());
  CHECK(obj.status == 1);
  CHECK(obj.err.find("use itc, mim or itc+mim") != std::string::npos);
  AppResult zero = run("farl parse --quick --labels 0 --out " + kDir + "/bad");
  CHECK(zero.status == 1);
  CHECK(zero.err.find("--labels 0 is not a percentage") != std::string::npos);
  AppResult missing = run("farl align --quick --init " + kDir + "/nothing.safetensors --out " + kDir + "/bad");
  CHECK(missing.status == 1);
  CHECK(missing.err.find("does not exist; make one with `farl pretrain`") != std::string::npos);
  // a safetensors file that is no encoder (the run's visual vocabulary)
  const std::string enc = pretrained_encoder();
  const std::string tokens = enc.substr(0, enc.rfind('/')) + "/visual_tokens.safetensors";
  AppResult wrong = run("farl parse --quick --init " + tokens + " --out " + kDir + "/bad");
  CHECK(wrong.status == 1);
  CHECK(wrong.err.find("is not a FaRL encoder") != std::string::npos);
  write_file_atomic(kDir + "/corrupt.safetensors", "not a safetensors file at all");
  AppResult corrupt = run("farl parse --quick --init " + kDir + "/corrupt.safetensors --out " + kDir + "/bad");
  CHECK(corrupt.status == 1);
  CHECK(corrupt.err.find("corrupt.safetensors") != std::string::npos);
  CHECK(corrupt.err.find('\n') == corrupt.err.size() - 1);  // one line
  AppResult frac = run("farl ablate --quick --fractions 0.0 --out " + kDir + "/bad" + tokenizer_flag());
  CHECK(frac.status == 1);
  CHECK(frac.err.find("not a percentage") != std::string::npos);
}

TEST_CASE("farl: pretrain --quick writes the encoder and resumes exactly") {
  const std::string enc = pretrained_encoder();
  const std::string dir = enc.substr(0, enc.rfind('/'));
  CHECK_FILES_EXIST(dir, {"weights.safetensors", "visual_tokens.safetensors", "tokens.png", "curves.png",
                          "metrics.jsonl", "result.json", "checkpoints/last.safetensors"});
  json::Value full = json::parse(slurp(dir + "/result.json"));
  const json::Value& m = full["metrics"];
  CHECK(m["train_loss"].as_number() < m["first_loss"].as_number());
  CHECK(m.contains("retrieval_top1"));
  CHECK(m.contains("token_acc"));
  // stop after 3 of the 8 steps, resume: the same run, bit for bit
  const std::string resumed = fresh_dir(kDir + "/pretrain-resumed");
  const std::string same = " --quick --objective itc+mim --out " + resumed + tokenizer_flag();
  AppResult s1 = run("farl pretrain --stop-after-steps 3" + same);
  REQUIRE_MESSAGE(s1.status == 0, s1.err);
  CHECK(!file_exists(resumed + "/weights.safetensors"));
  AppResult s2 = run("farl pretrain --resume " + resumed + "/checkpoints/last.safetensors" + same);
  REQUIRE_MESSAGE(s2.status == 0, s2.err);
  json::Value again = last_json_line(s2.out)["metrics"];
  for (const char* key : {"train_loss", "retrieval_top1", "token_acc", "steps"}) {
    CAPTURE(key);
    CHECK(again[key] == m[key]);
  }
  CHECK(records_without_seconds(resumed + "/metrics.jsonl") == records_without_seconds(dir + "/metrics.jsonl"));
}

TEST_CASE("farl: parse and align --quick from the encoder and from random init") {
  const std::string enc = pretrained_encoder();
  for (const std::string& task : {std::string("parse"), std::string("align")})
    for (const std::string& init : {enc, std::string("random")}) {
      CAPTURE(task);
      CAPTURE(init);
      const std::string dir = fresh_dir(kDir + "/" + task + (init == "random" ? "-random" : "-farl"));
      AppResult r = run("farl " + task + " --quick --labels 50 --init " + init + " --out " + dir);
      REQUIRE_MESSAGE(r.status == 0, r.err);
      json::Value m = last_json_line(r.out)["metrics"];
      CHECK(m["train_loss"].as_number() < m["first_loss"].as_number());
      CHECK(m["train_faces"].as_int() == 96);  // 50% of the 192 quick labelled faces
      if (task == "parse") {
        CHECK(m["f1"].as_number() >= 0.0);
        CHECK(m["f1"].as_number() <= 100.0);
        CHECK(m["miou"].as_number() > 0.0);
        CHECK_FILES_EXIST(dir, {"parsing.png", "curves.png", "metrics.jsonl"});
      } else {
        CHECK(m["nme"].as_number() > 0.0);
        CHECK_FILES_EXIST(dir, {"landmarks.png", "curves.png", "metrics.jsonl"});
      }
    }
}

TEST_CASE("farl: ablate --quick on two inits and one label fraction") {
  const std::string dir = fresh_dir(kDir + "/ablate");
  AppResult r = run("farl ablate --quick --inits random,mim --fractions 10 --seeds 1 --pretrain-epochs 1 --epochs 1"
                    " --out " + dir + tokenizer_flag());
  REQUIRE_MESSAGE(r.status == 0, r.err);
  json::Value line = last_json_line(r.out);
  CHECK(line["cmd"].as_string() == "ablate");
  for (const char* arm : {"random-10", "mim-10"}) {
    CAPTURE(arm);
    REQUIRE(line["arms"].contains(arm));
    for (const char* key : {"f1", "miou", "nme", "seeds"}) CHECK(line["arms"][arm].contains(key));
  }
  CHECK_FILES_EXIST(dir, {"ablation.json", "ablation.md", "ablation.png", "result.json",
                          "pretrain-mim-seed0/result.json", "random-10/result.json", "random-10/align/metrics.jsonl"});
}

TEST_CASE("farl: parse and align --image on the user's own faces, and bad images") {
  const std::string faces = fresh_dir(kDir + "/datagen-faces");
  AppResult d = run("datagen faces --n 2 --split test --out " + faces);
  REQUIRE_MESSAGE(d.status == 0, d.err);
  CHECK_FILES_EXIST(faces, {"face/000.png", "face/001.png"});
  const std::string images = faces + "/face/000.png," + faces + "/face/001.png";
  for (const std::string task : {"parse", "align"}) {
    CAPTURE(task);
    const std::string dir = fresh_dir(kDir + "/image-" + task);
    AppResult r = run("farl " + task + " --quick --epochs 1 --image " + images + " --out " + dir);
    REQUIRE_MESSAGE(r.status == 0, r.err);
    CHECK(file_exists(dir + "/image-" + task + ".png"));
    CHECK(load_image(dir + "/image-" + task + ".png").width() > 96);  // a picture, not an empty file
  }
  save_png(kDir + "/big.png", Image(64, 64, 3, uint8_t{128}));
  AppResult big = run("farl parse --quick --image " + kDir + "/big.png --out " + kDir + "/bad");
  CHECK(big.status == 1);
  CHECK(big.err.find("is 64x64; farl works on 48x48 faces") != std::string::npos);
  write_file_atomic(kDir + "/corrupt.png", "\x89PNG but nothing after");
  AppResult corrupt = run("farl align --quick --image " + kDir + "/corrupt.png --out " + kDir + "/bad");
  CHECK(corrupt.status == 1);
  CHECK(corrupt.err.find("corrupt.png") != std::string::npos);
  CHECK(corrupt.err.find('\n') == corrupt.err.size() - 1);  // one line
  CHECK(!file_exists(kDir + "/bad/checkpoints/last.safetensors"));  // refused before any training
}

TEST_CASE("farl: pretrain --export writes the encoder with its tokenizer; a tokenizer name with folders is refused") {
  const std::string dir = fresh_dir(kDir + "/export");
  const std::string out = dir + "/hairclip/encoder.safetensors";
  AppResult r = run("farl pretrain --quick --objective itc --pretrain-epochs 1 --export --export-out " + out +
                    " --out " + dir + "/run" + tokenizer_flag());
  REQUIRE_MESSAGE(r.status == 0, r.err);
  CHECK_FILES_EXIST(dir, {"hairclip/encoder.safetensors", "hairclip/tokenizer.model", "run/weights.safetensors",
                          "run/tokenizer.model"});
  SafetensorsFile file = load_safetensors(out);
  CHECK(file.metadata.at("kind") == "farl-encoder");
  CHECK(file.metadata.at("objective") == "itc");
  CHECK(file.metadata.at("tokenizer") == "tokenizer.model");
  CHECK(file.metadata_json("mean").size() == 3);
  CHECK(slurp(dir + "/hairclip/tokenizer.model") == slurp(dir + "/run/tokenizer.model"));
  // the exported encoder is a valid --init
  AppResult p = run("farl parse --quick --epochs 1 --init " + out + " --out " + dir + "/parse");
  CHECK_MESSAGE(p.status == 0, p.err);
  // a file whose metadata points its tokenizer outside its folder
  std::vector<std::pair<std::string, Tensor>> tensors(file.tensors.begin(), file.tensors.end());
  std::map<std::string, std::string> meta(file.metadata.begin(), file.metadata.end());
  meta["tokenizer"] = "../../etc/passwd";
  save_safetensors(dir + "/evil.safetensors", tensors, meta);
  AppResult evil = run("farl parse --quick --init " + dir + "/evil.safetensors --out " + kDir + "/bad");
  CHECK(evil.status == 1);
  CHECK(evil.err.find("it must be a file name beside") != std::string::npos);
}

TEST_CASE("farl: demo --quick pre-trains, fine-tunes parsing and prints one line") {
  const std::string dir = fresh_dir(kDir + "/demo");
  AppResult r = run("farl demo --quick --out " + dir + tokenizer_flag());
  REQUIRE_MESSAGE(r.status == 0, r.err);
  CHECK(r.out.find('\n') == r.out.size() - 1);  // one JSON line: the sub-runs keep theirs in result.json
  json::Value m = last_json_line(r.out)["metrics"];
  CHECK(last_json_line(r.out)["cmd"].as_string() == "demo");
  CHECK(m["parse_loss"].as_number() > 0.0);
  CHECK(m["f1"].as_number() >= 0.0);
  CHECK(m.contains("token_acc"));
  CHECK_FILES_EXIST(dir, {"result.json", "pretrain/weights.safetensors", "pretrain/tokens.png", "pretrain/result.json",
                          "parse/parsing.png", "parse/result.json"});
  json::Value parse = json::parse(slurp(dir + "/parse/result.json"))["metrics"];
  CHECK(parse["train_loss"].as_number() < parse["first_loss"].as_number());
}
