// iris-eval mot, the binary, on the TUD sample sequences py-motmetrics ships (tests/golden/mot/) and
// on malformed input: the table must be motmetrics' eval_motchallenge table character for character
// (stored in tests/golden/mot.json by make_mot.py), the final JSON line its OVERALL numbers (to 1e-9),
// and every mistake a one-line error naming the file, the line or the flag.
#include <doctest/doctest.h>

#include <string>

#include "io/file_util.h"
#include "io/json.h"
#include "tests/app_runner.h"

using namespace iris;
using namespace iris::testing;

namespace {

const char* kErr = "/tmp/iris_test_eval_mot_stderr.txt";

AppResult eval_mot(const std::string& args) { return run_app("iris-eval mot " + args, kErr); }

void check_final_line(const json::Value& line, const json::Value& m) {
  CHECK(line["app"].as_string() == "iris-eval");
  CHECK(line["cmd"].as_string() == "mot");
  const json::Value& got = line["metrics"];
  CHECK(got["mota"].as_number() == doctest::Approx(100 * m["mota"].as_number()).epsilon(1e-9));
  CHECK(got["motp_iou_distance"].as_number() == doctest::Approx(m["motp"].as_number()).epsilon(1e-9));
  CHECK(got["idf1"].as_number() == doctest::Approx(100 * m["idf1"].as_number()).epsilon(1e-9));
  CHECK(got["idp"].as_number() == doctest::Approx(100 * m["idp"].as_number()).epsilon(1e-9));
  CHECK(got["idr"].as_number() == doctest::Approx(100 * m["idr"].as_number()).epsilon(1e-9));
  CHECK(got["ids"].as_number() == m["num_switches"].as_number());
  CHECK(got["fp"].as_number() == m["num_false_positives"].as_number());
  CHECK(got["fn"].as_number() == m["num_misses"].as_number());
  CHECK(got["frag"].as_number() == m["num_fragmentations"].as_number());
  CHECK(got["mt"].as_number() == m["mostly_tracked"].as_number());
  CHECK(got["ml"].as_number() == m["mostly_lost"].as_number());
  CHECK(got["ids"].is_number());
  CHECK(got["ids"].as_int() == got["ids"].as_number());  // an integer
}

}  // namespace

TEST_CASE("iris-eval mot: the TUD folders give motmetrics' table and OVERALL numbers") {
  json::Value golden = json::parse(read_file("tests/golden/mot.json"));
  AppResult r = eval_mot("--gt tests/golden/mot/gt --ts tests/golden/mot/ts");
  INFO(r.err);
  REQUIRE(r.status == 0);
  const std::string table = r.out.substr(0, r.out.rfind('\n', r.out.size() - 2) + 1);
  CHECK(table == golden["tud_table"].as_string() + "\n");
  check_final_line(last_json_line(r.out), golden["tud"]["OVERALL"]);
}

TEST_CASE("iris-eval mot: one pair of files, and a tracker folder with extra and missing sequences") {
  json::Value golden = json::parse(read_file("tests/golden/mot.json"));
  AppResult r = eval_mot("--gt tests/golden/mot/gt/TUD-Stadtmitte/gt/gt.txt --ts tests/golden/mot/ts/TUD-Stadtmitte.txt");
  INFO(r.err);
  REQUIRE(r.status == 0);
  CHECK(r.out.rfind("                IDF1", 0) == 0);  // header indented by the name "TUD-Stadtmitte"
  CHECK(r.out.find("\nTUD-Stadtmitte 64.5% 82.0% 53.1%") != std::string::npos);
  check_final_line(last_json_line(r.out), golden["tud"]["TUD-Stadtmitte"]);

  // A tracker folder with only TUD-Campus, an unmatched sequence and an eval* file: warnings, and
  // the numbers of TUD-Campus alone.
  const std::string dir = fresh_dir("/tmp/iris_test_eval_mot_ts");
  REQUIRE(std::system(("mkdir -p " + dir + " && cp tests/golden/mot/ts/TUD-Campus.txt " + dir + "/ && echo 1,1,1,1,1,1 > " +
                       dir + "/Other.txt && echo junk > " + dir + "/eval_summary.txt")
                          .c_str()) == 0);
  r = eval_mot("--gt tests/golden/mot/gt --ts " + dir);
  REQUIRE(r.status == 0);
  CHECK(r.err.find("no ground truth") != std::string::npos);
  CHECK(r.err.find("Other") != std::string::npos);
  CHECK(r.err.find("no tracker file") != std::string::npos);
  CHECK(r.err.find("TUD-Stadtmitte") != std::string::npos);
  check_final_line(last_json_line(r.out), golden["tud"]["TUD-Campus"]);
}

TEST_CASE("iris-eval mot: malformed files and flags give one clear error line") {
  const std::string dir = fresh_dir("/tmp/iris_test_eval_mot_bad");
  REQUIRE(std::system(("mkdir -p " + dir + "/empty").c_str()) == 0);
  write_file_atomic(dir + "/gt.txt", "1,1,10,10,20,40,1,-1,-1,-1\n2,1,12,10,20,40,1,-1,-1,-1\n");
  write_file_atomic(dir + "/short.txt", "1,1,10,10,20,40,1\n2,1,12,10\n");
  write_file_atomic(dir + "/word.txt", "1,1,10,10,20,40,1\n2,1,12,ten,20,40,1\n");
  write_file_atomic(dir + "/twice.txt", "1,5,10,10,20,40,1\n1,5,12,10,20,40,1\n");
  write_file_atomic(dir + "/frame0.txt", "0,5,10,10,20,40,1\n");
  write_file_atomic(dir + "/good.txt", "1,5,10,10,20,40,0.9\n2,5,12,10,20,40,0.8\n");
  struct Bad {
    std::string args, message;
  };
  const std::vector<Bad> cases = {
      {"--gt " + dir + "/gt.txt --ts " + dir + "/short.txt", dir + "/short.txt line 2: 4 values"},
      {"--gt " + dir + "/gt.txt --ts " + dir + "/word.txt", dir + "/word.txt line 2: value 4 'ten' is not a finite number"},
      {"--gt " + dir + "/gt.txt --ts " + dir + "/twice.txt", "twice.txt line 2: id 5 appears twice in frame 1"},
      {"--gt " + dir + "/gt.txt --ts " + dir + "/frame0.txt", "frame0.txt line 1: frame 0 must be >= 1"},
      {"--gt " + dir + "/short.txt --ts " + dir + "/good.txt", "short.txt line 2"},
      {"--gt " + dir + "/gt.txt --ts " + dir + "/missing.txt", "--ts '" + dir + "/missing.txt' does not exist"},
      {"--gt " + dir + " --ts " + dir + "/good.txt", "must both be files or both be folders"},
      {"--gt " + dir + "/empty --ts " + dir + "/empty", "no sequence to evaluate"},
      {"--ts " + dir + "/good.txt", "give --gt"},
  };
  for (const Bad& b : cases) {
    CAPTURE(b.args);
    AppResult r = eval_mot(b.args);
    CHECK(r.status == 1);
    CHECK(r.out.find("\"metrics\"") == std::string::npos);
    CHECK_MESSAGE(r.err.find(b.message) != std::string::npos, "stderr: " << r.err);
    CHECK(r.err.rfind("iris-eval mot: error: ", 0) == 0);  // one line, app_main's prefix
    CHECK(r.err.find('\n') >= r.err.size() - 1);
  }
  // The good file evaluates: both frames matched, IoU 1.
  AppResult r = eval_mot("--gt " + dir + "/gt.txt --ts " + dir + "/good.txt");
  REQUIRE(r.status == 0);
  json::Value m = last_json_line(r.out)["metrics"];
  CHECK(m["mota"].as_number() == 100.0);
  CHECK(m["motp_iou_distance"].as_number() == 0.0);
  CHECK(m["idf1"].as_number() == 100.0);
}
