// Running a built app binary from a test (the app smoke tests: test_apps, test_davit_app, test_datagen).
//   AppResult r = run_app("vit train --quick --out " + dir, "/tmp/iris_test_x_stderr.txt");
//       runs $IRIS_BIN/vit ... (IRIS_BIN is set by CTest to build/bin; default build/bin), and gives
//       r.status (the exit code, -1 if it did not exit), r.out (all of stdout), r.err (all of stderr,
//       through the given file: use one file per test binary, as CTest runs binaries in parallel)
//   last_json_line(r.out)       the final line of stdout parsed as JSON (every app ends with one)
//   fresh_dir("/tmp/iris_x")    removes that folder (REQUIREs success) and returns its path
//   file_exists(path), slurp(path) (a whole file as a string, "" if missing), have_fashion_mnist()
//   CHECK_FILES_EXIST(dir, {"config.json", ...})  one CHECK per file under dir, naming a missing one
//   tokenizer_flag(dir)                           " --tokenizer DIR/iris.model", trained once per process
//                                                 on the caption corpus (apps that read captions)
//   records_without_seconds(path)                 a metrics.jsonl without wall-clock "seconds": what two
//                                                 runs (e.g. uninterrupted and resumed) must agree on
//   REQUIRE_FASHION_MNIST("what");                at the top of a test case: returns, with a message,
//                                                 when Fashion-MNIST is not installed, and the suite
//                                                 then counts as skipped in CTest (exit code 77)
// Leaves out timeouts (a hung app hangs the test; CTest's timeout stops it) and stdin.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <sstream>
#include <string>

#include "data/idx.h"
#include "data/text/corpus.h"
#include "data/text/tokenizer.h"
#include "io/file_util.h"
#include "io/json.h"
#include "tests/helpers.h"

namespace iris::testing {

struct AppResult {
  int status = -1;
  std::string out, err;
};

inline std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

inline bool file_exists(const std::string& path) { return std::ifstream(path).good(); }

// command: the binary's name under $IRIS_BIN followed by its arguments (passed through the shell).
inline AppResult run_app(const std::string& command, const std::string& stderr_path) {
  const char* bin = std::getenv("IRIS_BIN");
  std::string dir = bin ? bin : "build/bin";
  AppResult r;
  FILE* p = popen((dir + "/" + command + " 2>" + stderr_path).c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  r.err = slurp(stderr_path);
  return r;
}

inline json::Value last_json_line(const std::string& out) {
  size_t end = out.find_last_not_of('\n');
  REQUIRE(end != std::string::npos);
  size_t start = out.rfind('\n', end);
  size_t from = start == std::string::npos ? 0 : start + 1;
  return json::parse(out.substr(from, end + 1 - from));
}

inline std::string fresh_dir(const std::string& dir) {
  REQUIRE(std::system(("rm -rf '" + dir + "'").c_str()) == 0);
  return dir;
}

inline std::string tokenizer_flag(const std::string& dir) {
  static const std::string path = [&] {
    make_dirs(dir);
    const std::string p = dir + "/iris.model";
    int64_t lines = static_cast<int64_t>(text::caption_corpus_coverage_lines().size()) + 2000;
    write_file_atomic(p, text::train_tokenizer_model(text::generate_caption_corpus(1, lines), 600));
    return p;
  }();
  return " --tokenizer " + path;
}

inline std::vector<json::Value> records_without_seconds(const std::string& path) {
  std::vector<json::Value> out;
  std::istringstream lines(slurp(path));
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    json::Value rec = json::parse(line), kept = json::Value::object();
    for (const auto& [key, value] : rec.items())
      if (key != "seconds") kept[key] = value;
    out.push_back(kept);
  }
  return out;
}

extern bool g_skipped_for_missing_data;  // tests/doctest_main.cpp: the suite exits as "skipped"

inline bool have_fashion_mnist() { return file_exists(data::fashion_mnist_dir() + "/train-images-idx3-ubyte.gz"); }

}  // namespace iris::testing

#define CHECK_FILES_EXIST(dir, ...)                                                          \
  do {                                                                                       \
    for (const char* iris_file_ : std::initializer_list<const char*> __VA_ARGS__)            \
      CHECK_MESSAGE(::iris::testing::file_exists(std::string(dir) + "/" + iris_file_),       \
                    "missing " << std::string(iris_file_));                                  \
  } while (0)

#define REQUIRE_FASHION_MNIST(what)                                                          \
  do {                                                                                       \
    if (!::iris::testing::have_fashion_mnist()) {                                            \
      MESSAGE("Fashion-MNIST is not installed (make deps); skipping " << std::string(what)); \
      ::iris::testing::g_skipped_for_missing_data = true;                                    \
      return;                                                                                \
    }                                                                                        \
  } while (0)
