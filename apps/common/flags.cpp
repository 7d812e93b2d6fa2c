// Flag registration, parsing, usage text and "did you mean" suggestions for the apps.
// Values are parsed strictly (the whole text must be a number; numbers must be finite and within
// the flag's range), so a typo never silently becomes a default.
// Leaves out: anything beyond flags.h (no short options, no positional arguments).
#include "apps/common/flags.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>

namespace iris {

namespace {

std::string format_double(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

bool valid_flag_name(const std::string& name) {
  if (name.empty() || name.front() == '-' || name.size() > 40) return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  return true;
}

std::string placeholder(const std::string& name, Flags::Kind kind, const std::string& value_name) {
  return kind == Flags::Kind::boolean ? "--" + name : "--" + name + " " + value_name;
}

}  // namespace

int edit_distance(const std::string& a, const std::string& b) {
  std::vector<int> previous(b.size() + 1), current(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) previous[j] = static_cast<int>(j);
  for (size_t i = 1; i <= a.size(); ++i) {
    current[0] = static_cast<int>(i);
    for (size_t j = 1; j <= b.size(); ++j) {
      int substitute = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, substitute});
    }
    std::swap(previous, current);
  }
  return previous[b.size()];
}

std::string closest_match(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  int best_distance = 1 << 30;
  for (const std::string& candidate : candidates) {
    int d = edit_distance(word, candidate);
    // A prefix ("--batch" for "--batch-size") counts as close.
    bool prefix = !word.empty() && (candidate.rfind(word, 0) == 0 || word.rfind(candidate, 0) == 0);
    if (prefix) d = std::min(d, 1);
    if (d < best_distance) best_distance = d, best = candidate;
  }
  int allowed = std::max(2, static_cast<int>(word.size()) / 3);
  return best_distance <= allowed ? best : std::string();
}

Flags::Flags(std::string app, std::string summary, std::vector<Subcommand> subcommands)
    : app_(std::move(app)), summary_(std::move(summary)), subcommands_(std::move(subcommands)) {
  IRIS_CHECK(!app_.empty(), "Flags: the app needs a name");
  if (subcommands_.empty())
    subcommands_ = {{"train", "train the model and write curves, samples and checkpoints to the run folder"},
                    {"eval", "evaluate a checkpoint (--resume) on the test split"},
                    {"demo", "a short, visual run: train briefly (or load --resume) and draw predictions"}};
  for (const Subcommand& s : subcommands_)
    IRIS_CHECK(valid_flag_name(s.name), "Flags: command name '", s.name, "' must be lowercase letters, digits or '-'");
  add("device", Kind::text, "where to compute: cpu, cuda or cuda:N", "DEV", true).string_value = "cpu";
  add("epochs", Kind::integer, "passes over the training data", "N", true).int_value = 10;
  add("batch-size", Kind::integer, "examples per optimisation step", "N", true).int_value = 64;
  add("lr", Kind::number, "peak learning rate", "X", true).double_value = 1e-3;
  add("seed", Kind::integer, "seed for initialisation, shuffling and augmentation", "N", true);
  add("threads", Kind::integer, "CPU threads; 0: IRIS_NUM_THREADS, else all cores", "N", true);
  add("data", Kind::text, "folder with the data set", "DIR", true);
  add("out", Kind::text, "run folder (default: runs/<app>-<command>-<date>-<time>)", "DIR", true);
  add("resume", Kind::text, "checkpoint (.safetensors) to start from or to evaluate", "CKPT", true);
  add("quick", Kind::boolean, "a seconds-long smoke run on a tiny slice of the data", "", true);
  add("amp", Kind::boolean, "mixed precision: matmuls and attention read bf16 (f32 weights, sums, rest); for cuda",
      "", true);
  set_default("device", "cpu").set_default("epochs", "10").set_default("batch-size", "64");
  set_default("lr", "0.001").set_default("seed", "0").set_default("threads", "0").set_default("quick", "false");
  set_default("amp", "false");
  set_range("epochs", 0, 1e6).set_range("batch-size", 1, 1 << 24).set_range("lr", 0, 1e6);
  set_range("seed", 0, 9.2e18).set_range("threads", 0, 4096);
}

namespace {

// Ranges of the flags several apps register under the same name, applied wherever one is
// registered so that no app forgets them (an app may narrow one with set_range). Without them,
// --train-subset -5 trained on everything and --log-every -1 wrote no records, silently.
struct KnownRange {
  const char* name;
  double min_value, max_value;
};
constexpr KnownRange kKnownRanges[] = {
    {"train-subset", 0, 1e9}, {"test-subset", 0, 1e9},  {"log-every", 1, 1e9},       {"save-every", 0, 1e9},
    {"eval-every", 0, 1e6},   {"workers", 0, 256},      {"clip-norm", 0, 1e9},       {"weight-decay", 0, 10},
    {"warmup", 0, 1e6},       {"label-smoothing", 0, 0.999}, {"drop-path", 0, 0.999}, {"seeds", 1, 100},
};

}  // namespace

Flags::Flag& Flags::add(const std::string& name, Kind kind, const std::string& help, const std::string& value_name,
                        bool shared) {
  IRIS_CHECK(valid_flag_name(name), "Flags::add: flag name '", name,
             "' must be 1-40 lowercase letters, digits or '-', without the leading --");
  IRIS_CHECK(name != "help", "Flags::add: --help is built in");
  IRIS_CHECK(!flags_.count(name), "Flags::add: --", name, " is already registered",
             shared ? "" : " (shared flags: change their default with set_default)");
  Flag& flag = flags_[name];
  flag.name = name;
  flag.kind = kind;
  flag.help = help;
  flag.value_name = value_name;
  flag.shared = shared;
  order_.push_back(name);
  if (kind == Kind::integer || kind == Kind::number)
    for (const KnownRange& r : kKnownRanges)
      if (name == r.name) {
        flag.has_range = true;
        flag.min_value = r.min_value;
        flag.max_value = r.max_value;
      }
  return flag;
}

Flags& Flags::add_int(const std::string& name, int64_t default_value, const std::string& help,
                      const std::string& value_name) {
  add(name, Kind::integer, help, value_name, false);
  return set_default(name, std::to_string(default_value));
}

Flags& Flags::add_double(const std::string& name, double default_value, const std::string& help,
                         const std::string& value_name) {
  IRIS_CHECK(std::isfinite(default_value), "Flags::add_double: the default of --", name, " must be finite");
  add(name, Kind::number, help, value_name, false);
  return set_default(name, format_double(default_value));
}

Flags& Flags::add_string(const std::string& name, const std::string& default_value, const std::string& help,
                         const std::string& value_name) {
  add(name, Kind::text, help, value_name, false);
  return set_default(name, default_value);
}

Flags& Flags::add_bool(const std::string& name, bool default_value, const std::string& help) {
  add(name, Kind::boolean, help, "", false);
  return set_default(name, default_value ? "true" : "false");
}

Flags& Flags::set_default(const std::string& name, const std::string& value) {
  auto it = flags_.find(name);
  IRIS_CHECK(it != flags_.end(), "Flags::set_default: ", unknown_flag_message(name));
  assign(it->second, value, false);
  it->second.default_text = value;
  if (it->second.kind == Kind::boolean) it->second.default_text = it->second.bool_value ? "on" : "off";
  return *this;
}

Flags& Flags::set_range(const std::string& name, double min_value, double max_value) {
  auto it = flags_.find(name);
  IRIS_CHECK(it != flags_.end(), "Flags::set_range: ", unknown_flag_message(name));
  Flag& flag = it->second;
  IRIS_CHECK(flag.kind == Kind::integer || flag.kind == Kind::number, "Flags::set_range: --", name,
             " is not numeric");
  IRIS_CHECK(min_value <= max_value, "Flags::set_range: empty range [", min_value, ", ", max_value, "] for --", name);
  flag.has_range = true;
  flag.min_value = min_value;
  flag.max_value = max_value;
  return *this;
}

void Flags::assign(Flag& flag, const std::string& text, bool from_command_line) {
  const std::string where = app_ + ": --" + flag.name;
  switch (flag.kind) {
    case Kind::integer: {
      errno = 0;
      char* end = nullptr;
      long long v = text.empty() ? 0 : std::strtoll(text.c_str(), &end, 10);
      IRIS_CHECK(!text.empty() && end && *end == '\0' && errno != ERANGE, where, " expects a whole number, got '", text,
                 "'");
      IRIS_CHECK(!flag.has_range || (v >= flag.min_value && v <= flag.max_value), where, " must be in [",
                 format_double(flag.min_value), ", ", format_double(flag.max_value), "], got ", v);
      flag.int_value = v;
      break;
    }
    case Kind::number: {
      errno = 0;
      char* end = nullptr;
      double v = text.empty() ? 0 : std::strtod(text.c_str(), &end);
      IRIS_CHECK(!text.empty() && end && *end == '\0' && errno != ERANGE && std::isfinite(v), where,
                 " expects a finite number (like 0.001 or 1e-3), got '", text, "'");
      IRIS_CHECK(!flag.has_range || (v >= flag.min_value && v <= flag.max_value), where, " must be in [",
                 format_double(flag.min_value), ", ", format_double(flag.max_value), "], got ", text);
      flag.double_value = v;
      break;
    }
    case Kind::boolean: {
      std::string lower = text;
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (lower == "true" || lower == "1" || lower == "yes" || lower == "on") flag.bool_value = true;
      else if (lower == "false" || lower == "0" || lower == "no" || lower == "off") flag.bool_value = false;
      else throw Error(cat_str(where, " is on or off: write --", flag.name, " or --", flag.name, "=false, got '", text, "'"));
      break;
    }
    case Kind::text:
      if (flag.name == "device" && !text.empty()) {
        try {
          Device::parse(text);
        } catch (const Error& e) {
          throw Error(cat_str(where, ": ", e.what()));
        }
      }
      flag.string_value = text;
      break;
  }
  if (from_command_line) flag.set = true;
}

std::string Flags::unknown_flag_message(const std::string& name) const {
  std::vector<std::string> candidates = order_;
  candidates.push_back("help");
  std::string suggestion = closest_match(name, candidates);
  return cat_str(app_, ": unknown flag --", name,
                 suggestion.empty() ? std::string() : "; did you mean --" + suggestion + "?", " (", app_,
                 " --help lists every flag)");
}

void Flags::parse(int argc, const char* const* argv) {
  IRIS_CHECK(argc >= 0 && (argc == 0 || argv != nullptr), "Flags::parse: bad argc/argv");
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i] ? argv[i] : "");
  parse(args);
}

void Flags::parse(const std::vector<std::string>& args) {
  command_line_ = app_;
  for (const std::string& arg : args) command_line_ += " " + arg;
  for (const std::string& arg : args)
    if (arg == "--help" || arg == "-h") {
      help_requested_ = true;
      return;
    }
  std::vector<std::string> command_names;
  for (const Subcommand& s : subcommands_) command_names.push_back(s.name);
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.size() < 2 || arg.compare(0, 2, "--") != 0) {
      IRIS_CHECK(arg.empty() || arg[0] != '-', app_, ": flags start with two dashes: --", arg.substr(1), " (not ",
                 arg, ")");
      if (command_.empty()) {
        if (arg == "help") {  // `app help` reads as --help
          help_requested_ = true;
          return;
        }
        if (std::find(command_names.begin(), command_names.end(), arg) == command_names.end()) {
          std::string suggestion = closest_match(arg, command_names);
          std::string list;
          for (const std::string& n : command_names) list += (list.empty() ? "" : ", ") + n;
          throw Error(cat_str(app_, ": unknown command '", arg, "'",
                              suggestion.empty() ? std::string() : "; did you mean " + suggestion + "?",
                              " (commands: ", list, ")"));
        }
        command_ = arg;
        continue;
      }
      throw Error(cat_str(app_, ": unexpected argument '", arg, "' after the command ", command_,
                          "; values go with a flag, like --data ", arg));
    }
    std::string name = arg.substr(2), value;
    bool has_value = false;
    size_t eq = name.find('=');
    if (eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    auto it = flags_.find(name);
    if (it == flags_.end() && !has_value && name.rfind("no-", 0) == 0) {
      auto negated = flags_.find(name.substr(3));
      if (negated != flags_.end() && negated->second.kind == Kind::boolean) {
        assign(negated->second, "false", true);
        continue;
      }
    }
    if (it == flags_.end()) throw Error(unknown_flag_message(name));
    Flag& flag = it->second;
    if (!has_value) {
      if (flag.kind == Kind::boolean) {
        value = "true";
      } else {
        IRIS_CHECK(i + 1 < args.size(), app_, ": --", name, " needs a value: ",
                   placeholder(name, flag.kind, flag.value_name));
        value = args[++i];
      }
    }
    assign(flag, value, true);
  }
  std::string list;
  for (const std::string& n : command_names) list += (list.empty() ? "" : ", ") + n;
  IRIS_CHECK(!command_.empty(), app_, ": no command given; use one of ", list, " (", app_, " --help says more)");
}

std::string Flags::usage() const {
  std::ostringstream os;
  os << app_ << ": " << summary_ << "\n\n";
  os << "usage: " << app_ << " <command> [flags]\n\ncommands:\n";
  size_t command_width = 0;
  for (const Subcommand& s : subcommands_) command_width = std::max(command_width, s.name.size());
  for (const Subcommand& s : subcommands_)
    os << "  " << s.name << std::string(command_width - s.name.size() + 3, ' ') << s.help << "\n";
  size_t flag_width = std::string("--help").size();
  for (const std::string& name : order_) {
    const Flag& f = flags_.at(name);
    flag_width = std::max(flag_width, placeholder(f.name, f.kind, f.value_name).size());
  }
  auto line = [&](const Flag& f) {
    std::string left = placeholder(f.name, f.kind, f.value_name);
    os << "  " << left << std::string(flag_width - left.size() + 3, ' ') << f.help;
    if (f.kind == Kind::boolean) os << " (default " << f.default_text << ")";
    else if (!f.default_text.empty()) os << " (default " << f.default_text << ")";
    os << "\n";
  };
  os << "\nshared flags (every iris app):\n";
  for (const std::string& name : order_)
    if (flags_.at(name).shared) line(flags_.at(name));
  os << "  --help" << std::string(flag_width - 6 + 3, ' ') << "print this text and exit\n";
  bool any_own = false;
  for (const std::string& name : order_)
    if (!flags_.at(name).shared) {
      if (!any_own) os << "\n" << app_ << " flags:\n";
      any_own = true;
      line(flags_.at(name));
    }
  os << "\nValues go as --flag value or --flag=value; on/off flags also take --no-flag.\n"
     << "Results: a run folder (config.json, metrics.jsonl, checkpoints, pictures) and one JSON line on stdout.\n";
  return os.str();
}

const Flags::Flag& Flags::lookup(const std::string& name, Kind kind) const {
  auto it = flags_.find(name);
  IRIS_CHECK(it != flags_.end(), unknown_flag_message(name));
  static const char* kind_names[] = {"integer", "number", "string", "bool"};
  IRIS_CHECK(it->second.kind == kind, app_, ": --", name, " is a ", kind_names[int(it->second.kind)],
             " flag, read as ", kind_names[int(kind)]);
  return it->second;
}

int64_t Flags::get_int(const std::string& name) const { return lookup(name, Kind::integer).int_value; }
double Flags::get_double(const std::string& name) const { return lookup(name, Kind::number).double_value; }
const std::string& Flags::get_string(const std::string& name) const { return lookup(name, Kind::text).string_value; }
bool Flags::get_bool(const std::string& name) const { return lookup(name, Kind::boolean).bool_value; }

bool Flags::is_set(const std::string& name) const {
  auto it = flags_.find(name);
  IRIS_CHECK(it != flags_.end(), unknown_flag_message(name));
  return it->second.set;
}

Device Flags::device() const { return Device::parse(get_string("device")); }
int Flags::epochs() const { return static_cast<int>(get_int("epochs")); }
int Flags::batch_size() const { return static_cast<int>(get_int("batch-size")); }
double Flags::lr() const { return get_double("lr"); }
uint64_t Flags::seed() const { return static_cast<uint64_t>(get_int("seed")); }
int Flags::threads() const { return static_cast<int>(get_int("threads")); }

json::Value Flags::to_json() const {
  json::Value out = json::Value::object();
  out["command"] = command_;
  for (const std::string& name : order_) {
    const Flag& f = flags_.at(name);
    switch (f.kind) {
      case Kind::integer: out[name] = f.int_value; break;
      case Kind::number: out[name] = f.double_value; break;
      case Kind::text: out[name] = f.string_value; break;
      case Kind::boolean: out[name] = f.bool_value; break;
    }
  }
  return out;
}

void add_optimizer_flags(Flags& flags, const OptimizerFlagDefaults& d) {
  flags.add_double("weight-decay", d.weight_decay, "AdamW weight decay (not on " + d.no_decay_on + ")");
  flags.add_double("warmup", d.warmup_epochs, d.warmup_help, "EPOCHS");
  if (d.with_label_smoothing) flags.add_double("label-smoothing", d.label_smoothing, d.label_smoothing_help);
  if (d.with_drop_path) flags.add_double("drop-path", d.drop_path, d.drop_path_help);
  flags.add_double("clip-norm", d.clip_norm, d.clip_norm_help);
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

}  // namespace iris
