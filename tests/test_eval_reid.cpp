// `iris-eval reid` on the files in tests/golden/reid_app/ (written by tests/golden/make_reid.py): the
// final JSON line must carry the NumPy reference's numbers (checked against torchreid by the script)
// for a distance matrix, squared-Euclidean and cosine features, and the junk / official-AP options;
// malformed inputs must fail with a message naming the file and what was expected. Runs the built
// binary, so it goes through ctest (IRIS_BIN).
#include <cmath>
#include <fstream>
#include <string>

#include "io/file_util.h"
#include "tests/app_runner.h"

using namespace iris;
using namespace iris::testing;

namespace {

const std::string kDir = "tests/golden/reid_app/";
const std::string kErr = "/tmp/iris_test_eval_reid_stderr.txt";
const std::string kCsvs = " --query " + kDir + "query.csv --gallery " + kDir + "gallery.csv";

void check_metrics(const AppResult& r, const std::string& expected_key) {
  REQUIRE_MESSAGE(r.status == 0, r.err);
  json::Value line = last_json_line(r.out);
  CHECK(line["app"].as_string() == "iris-eval");
  CHECK(line["cmd"].as_string() == "reid");
  const json::Value want = json::parse(read_file(kDir + "expected.json"))[expected_key];
  for (const char* key : {"map", "rank1", "rank5", "rank10"}) {
    CAPTURE(key);
    CHECK(std::fabs(line["metrics"][key].as_number() - want[key].as_number()) < 1e-9);
  }
}

std::string write_tmp(const std::string& name, const std::string& text) {
  const std::string path = "/tmp/iris_test_eval_reid_" + name;
  std::ofstream(path) << text;
  return path;
}

}  // namespace

TEST_CASE("iris-eval reid: a distance matrix") {
  AppResult r = run_app("iris-eval reid --dist " + kDir + "dist.npy" + kCsvs, kErr);
  check_metrics(r, "dist");
  CHECK(r.out.find("rank-1") != std::string::npos);
  CHECK(r.out.find("mAP") != std::string::npos);
  check_metrics(run_app("iris-eval reid --market-junk --ap market --dist " + kDir + "dist.npy" + kCsvs, kErr),
                "dist_junk_market");
}

TEST_CASE("iris-eval reid: features with Euclidean and cosine distances") {
  const std::string feats =
      " --query-features " + kDir + "query_features.npy --gallery-features " + kDir + "gallery_features.npy";
  check_metrics(run_app("iris-eval reid" + feats + kCsvs, kErr), "euclidean");
  check_metrics(run_app("iris-eval reid --distance cosine" + feats + kCsvs, kErr), "cosine");
}

TEST_CASE("iris-eval reid: malformed inputs give clear errors") {
  auto fails_with = [](const std::string& args, const std::string& message) {
    CAPTURE(args);
    AppResult r = run_app("iris-eval reid " + args, kErr);
    CHECK(r.status != 0);
    CHECK_MESSAGE(r.err.find(message) != std::string::npos, r.err);
  };
  const std::string bad_csv = write_tmp("bad.csv", "id,camera\n1,0\n2,x\n");
  fails_with("--dist " + kDir + "dist.npy --query " + bad_csv + " --gallery " + kDir + "gallery.csv",
             bad_csv + ":3: expected 'id,camera' (two integers), got '2,x'");
  const std::string short_csv = write_tmp("short.csv", "1,0\n2,1\n");
  fails_with("--dist " + kDir + "dist.npy --query " + short_csv + " --gallery " + kDir + "gallery.csv",
             "dist.npy is [12, 40] but " + short_csv + " has 2 rows");
  fails_with("--dist " + kDir + "query.csv" + kCsvs, "query.csv: not a .npy file");
  fails_with("--dist " + kDir + "missing.npy" + kCsvs, "missing.npy");
  fails_with("--dist tests/golden/npy/i4_5.npy" + kCsvs, "expected a 2-D array of distances");
  fails_with("--dist " + kDir + "dist.npy", "--query and --gallery");
  fails_with("--dist " + kDir + "dist.npy --query-features " + kDir + "query_features.npy" + kCsvs,
             "either --dist or --query-features");
  fails_with("--query-features " + kDir + "query_features.npy" + kCsvs, "go together");
  fails_with("--distance l1 --query-features " + kDir + "query_features.npy --gallery-features " + kDir +
                 "query_features.npy" + kCsvs,
             "query_features.npy has 12 rows but");
  fails_with("--ap mean --dist " + kDir + "dist.npy" + kCsvs, "--ap 'mean' is not one of");
  const std::string empty = write_tmp("empty.csv", "id,camera\n");
  fails_with("--dist " + kDir + "dist.npy --query " + empty + " --gallery " + kDir + "gallery.csv",
             "no 'id,camera' rows");
}
