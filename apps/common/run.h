// The run folder every app command writes, and the one JSON line it prints on stdout:
//   runs/<app>-<cmd>-<YYYYmmdd-HHMMSS>/ (or --out DIR)
//     config.json     the app, command, start time and every flag (plus what the app adds)
//     metrics.jsonl   one JSON object per line, appended as training goes (epoch, losses, top1, ...)
//     checkpoints/    .safetensors files (written atomically by nn/)
//     *.png           curves and sample grids
//   stdout: {"app": "minivit", "cmd": "train", "metrics": {"top1": 88.4, "params": 151946, "seconds": 312}}
// Shared metric names: top1, params, ap50, map, rank1, mota, idf1, f1, nme, psnr (dB), seconds.
// Leaves out: locking against two processes writing the same --out folder.
#pragma once

#include <chrono>
#include <ctime>
#include <functional>
#include <string>
#include <vector>

#include "apps/common/flags.h"
#include "io/json.h"

namespace iris {

// The metric names apps share in their final line (DESIGN.md, "Apps").
extern const std::vector<std::string> kSharedMetricNames;

// {"app": ..., "cmd": ..., "metrics": {...}} on one line (metrics must be an object).
std::string final_json_line(const std::string& app, const std::string& cmd, const json::Value& metrics);
// {"app": ..., "cmd": ..., "arms": {"teacher": {...}, ...}} for commands that compare arms.
std::string final_arms_line(const std::string& app, const std::string& cmd, const json::Value& arms);
// "runs/<app>-<cmd>-<YYYYmmdd-HHMMSS>" in local time.
std::string default_run_dir(const std::string& app, const std::string& cmd, std::time_t when);

class Run {
 public:
  // Creates the folder: out_dir when given (an existing folder is reused), else default_run_dir
  // made unique with a -2, -3, ... suffix. Writes config.json with app, cmd and start time.
  Run(const std::string& app, const std::string& cmd, const std::string& out_dir = "");
  // The same from parsed flags (their app, command and --out); config.json gets every flag.
  explicit Run(const Flags& flags);

  const std::string& dir() const { return dir_; }
  const std::string& app() const { return app_; }
  const std::string& cmd() const { return cmd_; }
  std::string path(const std::string& name) const;             // <dir>/<name>
  std::string checkpoint_path(const std::string& name) const;  // <dir>/checkpoints/<name> (folder made)
  double seconds() const;                                      // since the run started

  // Adds (or replaces) a top-level entry of config.json and rewrites it atomically, e.g.
  // set_config("model", {"depth": 12, ...}).
  void set_config(const std::string& key, json::Value value);
  const json::Value& config() const { return config_; }

  // Appends one object to metrics.jsonl ("seconds" since the start is added when missing) and
  // keeps it for plots (records()).
  void log(json::Value record);
  const std::vector<json::Value>& records() const { return records_; }

  // Prints the final line on stdout ("seconds" added when missing) and also writes it to
  // <dir>/result.json. Returns the line. A sub-run of a bigger command (demo's or ablate's parts) passes
  // print = false: stdout's one line is the whole command's.
  std::string finish(json::Value metrics, bool print = true);
  std::string finish_arms(json::Value arms);

 private:
  void write_config() const;

  std::string app_, cmd_, dir_;
  json::Value config_;
  std::vector<json::Value> records_;
  std::chrono::steady_clock::time_point start_;
};

// Throws iris::Error (one line) unless computing on `device` can work here: a CUDA device needs a
// build with the CUDA backend ("rebuild with `make CUDA=1`"), a usable GPU, and cuda:N to exist.
// Selects that GPU for the calling thread.
void require_device(Device device);

// The main() of every app: parses the flags (printing usage for --help), applies --threads and
// --seed, checks --device (require_device), runs `body` (under autocast with --amp), and turns errors into one
// "<app>: error: ..." line on stderr. Returns the exit status: body's result, 2 for a usage
// mistake, 1 for an error while running.
int app_main(Flags& flags, int argc, const char* const* argv, const std::function<int(const Flags&)>& body);

}  // namespace iris
