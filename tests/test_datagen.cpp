// datagen smoke tests: each world's command writes the promised pictures (PNGs that decode) and JSON
// (parsed and checked against the flags), the video's MOT files read back, and bad flags fail with a
// message that says what to use. The binary is found through IRIS_BIN (set by CTest to build/bin).
// Needs Fashion-MNIST for scenes and video; without it those cases say so and stop.
// Leaves out: the corpus command (it trains a full-size tokenizer; test_tokenizer covers training).
#include "image/image.h"
#include "io/json.h"
#include "data/synth/video.h"
#include "tests/app_runner.h"

using namespace iris;
using namespace iris::testing;

namespace {

const std::string kRoot = "/tmp/iris_test_datagen";

AppResult run(const std::string& args) { return run_app("datagen " + args, kRoot + "_stderr.txt"); }

// A fresh output folder for one case.
std::string fresh(const std::string& name) { return fresh_dir(kRoot + "/" + name); }

// The PNG decodes and is at least min_side pixels on each side.
void check_png(const std::string& path, int min_side) {
  CAPTURE(path);
  Image image = load_image(path);
  CHECK(image.height() >= min_side);
  CHECK(image.width() >= min_side);
}

}  // namespace

TEST_CASE("datagen: --help lists every world and the scene flags; bad flags fail helpfully") {
  AppResult h = run("--help");
  CHECK(h.status == 0);
  for (const char* word : {"scenes", "video", "faces", "corpus", "--n", "--seed", "--out", "--held-out", "--classes",
                           "--shifted", "--size", "--preset"})
    CHECK_MESSAGE(h.out.find(word) != std::string::npos, "--help lacks " << word);
  AppResult typo = run("scenes --nn 3");
  CHECK(typo.status == 2);
  CHECK(typo.err.find("--n") != std::string::npos);
  AppResult world = run("scenez");
  CHECK(world.status == 2);
  CHECK(world.err.find("scenes") != std::string::npos);
  AppResult held = run("scenes --held-out sandle --out " + fresh("bad"));
  CHECK(held.status == 1);
  CHECK(held.err.find("did you mean \"sandal\"") != std::string::npos);
  AppResult classes = run("scenes --classes newish --out " + fresh("bad"));
  CHECK(classes.status == 1);
  CHECK(classes.err.find("all, seen or novel") != std::string::npos);
  AppResult preset = run("video --preset mot17 --out " + fresh("bad"));
  CHECK(preset.status == 1);
  CHECK(preset.err.find("use outrack or pnl") != std::string::npos);
}

TEST_CASE("datagen scenes: grids and JSON, held-out classes and the seen-only set by flag") {
  REQUIRE_FASHION_MNIST("datagen scenes");
  std::string dir = fresh("scenes");
  AppResult r = run("scenes --n 3 --seed 1 --size 96 --held-out bag,coat --classes seen --out " + dir);
  REQUIRE_MESSAGE(r.status == 0, r.err);
  check_png(dir + "/scenes.png", 96);
  check_png(dir + "/scenes_color.png", 96);
  for (const char* file : {"/scenes.json", "/scenes_color.json"}) {
    CAPTURE(file);
    json::Value doc = json::parse(slurp(dir + file));
    CHECK(doc["config"]["size"].as_int() == 96);
    CHECK(doc["config"]["classes"].as_string() == "seen");
    REQUIRE(doc["config"]["held_out"].size() == 2);
    CHECK(doc["config"]["held_out"][0].as_string() == "coat");  // sorted by class index
    CHECK(doc["config"]["held_out"][1].as_string() == "bag");
    REQUIRE(doc["scenes"].size() == 3);
    for (size_t i = 0; i < doc["scenes"].size(); ++i) {
      const json::Value& scene = doc["scenes"][i];
      CHECK(!scene["caption"]["text"].as_string().empty());
      REQUIRE(scene["objects"].size() >= 1);
      for (size_t k = 0; k < scene["objects"].size(); ++k) {
        std::string name = scene["objects"][k]["name"].as_string();
        CHECK(name != "bag");
        CHECK(name != "coat");
      }
    }
  }
}

TEST_CASE("datagen video: frame grids, strips, visibility charts, MOT files, re-ID crops, JSON") {
  REQUIRE_FASHION_MNIST("datagen video");
  std::string dir = fresh("video");
  // PNL-mini's preset: the smallest videos (64 x 64, 30 frames, 2-4 items).
  AppResult r = run("video --n 1 --seed 1 --preset pnl --out " + dir);
  REQUIRE_MESSAGE(r.status == 0, r.err);
  check_png(dir + "/strips.png", 64);
  check_png(dir + "/reid_crops.png", 32);
  for (const char* file : {"/frames.png", "/strip.png", "/visibility.png"}) check_png(dir + "/video_0" + file, 32);
  json::Value doc = json::parse(slurp(dir + "/videos.json"));
  CHECK(doc["config"]["preset"].as_string() == "pnl");
  CHECK(doc["config"]["size"].as_int() == 64);
  REQUIRE(doc["videos"].size() == 1);
  const json::Value& video = doc["videos"][0];
  int64_t frames = video["frames"].as_int();
  CHECK(frames == 30);
  size_t tracks = video["tracks"].size();
  CHECK(tracks >= 2);
  CHECK(tracks <= 4);
  // Every object of every frame is in the MOT ground truth, numbered from 1.
  std::vector<synth::MotBox> boxes = synth::read_mot(dir + "/video_0/gt.txt");
  CHECK(boxes.size() == static_cast<size_t>(frames) * tracks);
  for (const synth::MotBox& b : boxes) {
    CHECK(b.frame >= 0);
    CHECK(b.frame < frames);
    CHECK(b.id >= 1);
    CHECK(b.id <= static_cast<int>(tracks));
  }
}

TEST_CASE("datagen faces: faces, masks with landmarks, hair re-renders, JSON") {
  std::string dir = fresh("faces");
  AppResult r = run("faces --n 2 --seed 1 --out " + dir);
  REQUIRE_MESSAGE(r.status == 0, r.err);
  for (const char* file : {"/faces.png", "/faces_masks.png", "/faces_hair.png"}) check_png(dir + file, 48);
  json::Value doc = json::parse(slurp(dir + "/faces.json"));
  REQUIRE(doc["faces"].size() == 2);
  CHECK(!doc["faces"][0]["caption"].as_string().empty());
}
