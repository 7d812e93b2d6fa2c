// The run folder (config.json, metrics.jsonl, result.json), the final stdout line and app_main.
// Files are written atomically where they are rewritten (config.json, result.json); metrics.jsonl
// is appended line by line and flushed, so a crashed run keeps every finished epoch.
// Leaves out: plotting (image/plot.h draws curves from records()).
#include "apps/common/run.h"

#include <sys/stat.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iostream>

#include "autograd/autocast.h"
#include "io/file_util.h"
#include "tensor/backend.h"
#include "tensor/cpu/isa.h"
#include "tensor/device_query.h"
#include "tensor/tensor.h"

namespace iris {

const std::vector<std::string> kSharedMetricNames = {"top1", "params", "ap50", "map",  "rank1",  "mota",
                                                     "idf1", "f1",     "nme",  "psnr", "seconds"};

namespace {

std::string local_time(std::time_t when, const char* format) {
  std::tm parts{};
  localtime_r(&when, &parts);
  char buf[64];
  size_t n = std::strftime(buf, sizeof buf, format, &parts);
  return std::string(buf, n);
}

double rounded_seconds(double s) { return std::round(s * 10.0) / 10.0; }

void check_name(const std::string& text, const char* what) {
  IRIS_CHECK(!text.empty() && text.find('/') == std::string::npos && text != "." && text != "..", "Run: the ", what,
             " '", text, "' must be a plain name (no '/')");
}

}  // namespace

std::string final_json_line(const std::string& app, const std::string& cmd, const json::Value& metrics) {
  IRIS_CHECK(metrics.is_object(), "final_json_line: metrics must be a JSON object like {\"top1\": 88.4}, got ",
             json::Value::type_name(metrics.type()));
  json::Value line = json::Value::object();
  line["app"] = app;
  line["cmd"] = cmd;
  line["metrics"] = metrics;
  return line.dump();
}

std::string final_arms_line(const std::string& app, const std::string& cmd, const json::Value& arms) {
  IRIS_CHECK(arms.is_object(), "final_arms_line: arms must be a JSON object of objects like {\"teacher\": {...}}");
  for (const auto& [name, arm] : arms.items())
    IRIS_CHECK(arm.is_object(), "final_arms_line: arm '", name, "' must be an object of metrics");
  json::Value line = json::Value::object();
  line["app"] = app;
  line["cmd"] = cmd;
  line["arms"] = arms;
  return line.dump();
}

std::string default_run_dir(const std::string& app, const std::string& cmd, std::time_t when) {
  return "runs/" + app + "-" + cmd + "-" + local_time(when, "%Y%m%d-%H%M%S");
}

Run::Run(const std::string& app, const std::string& cmd, const std::string& out_dir)
    : app_(app), cmd_(cmd), start_(std::chrono::steady_clock::now()) {
  check_name(app, "app name");
  check_name(cmd, "command");
  std::time_t now = std::time(nullptr);
  if (!out_dir.empty()) {
    dir_ = out_dir;
    while (dir_.size() > 1 && dir_.back() == '/') dir_.pop_back();
    make_dirs(dir_);
  } else {
    // mkdir fails with EEXIST when another run took the name: that is how the name stays unique.
    std::string base = default_run_dir(app, cmd, now);
    make_dirs("runs");
    for (int attempt = 1;; ++attempt) {
      IRIS_CHECK(attempt <= 1000, "Run: could not create a fresh folder next to '", base, "'; pass --out DIR");
      std::string candidate = attempt == 1 ? base : base + "-" + std::to_string(attempt);
      if (::mkdir(candidate.c_str(), 0777) == 0) {
        dir_ = candidate;
        break;
      }
      IRIS_CHECK(errno == EEXIST, "Run: cannot create the run folder '", candidate, "': ", std::strerror(errno),
                 "; pass --out DIR");
    }
  }
  config_ = json::Value::object();
  config_["app"] = app_;
  config_["cmd"] = cmd_;
  config_["started"] = local_time(now, "%Y-%m-%dT%H:%M:%S%z");
  write_config();
}

Run::Run(const Flags& flags) : Run(flags.app(), flags.command(), flags.out_dir()) {
  json::Value all = flags.to_json();
  json::Value only_flags = json::Value::object();
  for (const auto& [name, value] : all.items())
    if (name != "command") only_flags[name] = value;
  set_config("flags", only_flags);
}

std::string Run::path(const std::string& name) const {
  IRIS_CHECK(!name.empty(), "Run::path: empty file name");
  return dir_ + "/" + name;
}

std::string Run::checkpoint_path(const std::string& name) const {
  check_name(name, "checkpoint name");
  make_dirs(dir_ + "/checkpoints");
  return dir_ + "/checkpoints/" + name;
}

double Run::seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Run::set_config(const std::string& key, json::Value value) {
  config_[key] = std::move(value);
  write_config();
}

void Run::write_config() const { write_file_atomic(path("config.json"), config_.dump(2) + "\n"); }

void Run::log(json::Value record) {
  IRIS_CHECK(record.is_object(), "Run::log: a metrics record must be a JSON object like {\"epoch\": 1, \"loss\": 0.5}");
  if (!record.contains("seconds")) record["seconds"] = rounded_seconds(seconds());
  std::string line = record.dump() + "\n";
  std::string file = path("metrics.jsonl");
  std::FILE* f = std::fopen(file.c_str(), "ab");
  IRIS_CHECK(f != nullptr, "Run::log: cannot open '", file, "' for appending: ", std::strerror(errno));
  size_t wrote = std::fwrite(line.data(), 1, line.size(), f);
  bool ok = wrote == line.size() && std::fflush(f) == 0;
  int why = errno;
  ok = (std::fclose(f) == 0) && ok;
  IRIS_CHECK(ok, "Run::log: writing '", file, "' failed: ", std::strerror(why));
  records_.push_back(std::move(record));
}

std::string Run::finish(json::Value metrics, bool print) {
  IRIS_CHECK(metrics.is_object(), "Run::finish: metrics must be a JSON object like {\"top1\": 88.4}");
  if (!metrics.contains("seconds")) metrics["seconds"] = rounded_seconds(seconds());
  std::string line = final_json_line(app_, cmd_, metrics);
  write_file_atomic(path("result.json"), line + "\n");
  if (print) std::cout << line << std::endl;
  return line;
}

std::string Run::finish_arms(json::Value arms) {
  std::string line = final_arms_line(app_, cmd_, arms);
  write_file_atomic(path("result.json"), line + "\n");
  std::cout << line << std::endl;
  return line;
}

void require_device(Device device) {
  if (device.is_cpu()) return;
  if (cuda_built()) {
    int count = cuda_device_count();
    IRIS_CHECK(count > 0, "--device ", device.str(), ": no usable CUDA device on this machine (see nvidia-smi); "
               "use --device cpu");
    IRIS_CHECK(device.index >= 0 && device.index < count, "--device ", device.str(), ": this machine has ", count,
               " CUDA device", count == 1 ? "" : "s", " (cuda:0", count > 1 ? cat_str("..cuda:", count - 1) : "", ")");
    set_cuda_device(device.index);
  }
  (void)backend(device);  // a build without CUDA: "rebuild with `make CUDA=1`"
}

int app_main(Flags& flags, int argc, const char* const* argv, const std::function<int(const Flags&)>& body) {
  try {
    flags.parse(argc, argv);
  } catch (const Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  }
  if (flags.help_requested()) {
    std::cout << flags.usage();
    return 0;
  }
  try {
    if (flags.threads() > 0) set_num_threads(flags.threads());
    cpu::kernel_isa();  // a bad IRIS_ISA stops the app now, not at its first matrix product
    manual_seed(flags.seed());
    if (flags.has("device")) require_device(flags.device());
    const bool amp = flags.amp();  // a shared flag: every app has it
    if (amp && !(flags.has("device") && flags.device().is_cuda()))
      std::cerr << flags.app() << ": --amp on the CPU rounds matrix-product operands to bf16 as the GPU would, "
                   "but computes in f32: slower than without it, for checking only\n";
    AutocastGuard autocast(amp);  // every command's matrix products and attention (autograd/autocast.h)
    return body(flags);
  } catch (const std::exception& e) {
    std::cerr << flags.app() << " " << flags.command() << ": error: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace iris
