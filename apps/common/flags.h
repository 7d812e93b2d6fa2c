// Command-line flags shared by every app (`<app> <command> [--flag value | --flag=value]...`):
// the shared flags of DESIGN.md (--device, --epochs, --batch-size, --lr, --seed, --threads, --data,
// --out, --resume, --quick, --amp, --help) plus app-specific ones registered with a name, a default and a
// help line. Mistakes throw iris::Error with the closest valid name suggested.
// Leaves out: short options (other than -h), per-command flag sets, positional arguments, and
// reading flags from files or the environment.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "io/json.h"
#include "tensor/dtype.h"

namespace iris {

struct Subcommand {
  std::string name;
  std::string help;  // one line
};

class Flags {
 public:
  enum class Kind { integer, number, text, boolean };

  // `app` is the binary's name (used in usage and errors); `summary` one line about it. With no
  // subcommands given, train/eval/demo are registered with generic help lines.
  Flags(std::string app, std::string summary, std::vector<Subcommand> subcommands = {});

  // App-specific flags (names: lowercase letters, digits and '-', e.g. "depth", "mask-ratio").
  // `value_name` is the placeholder in usage (--depth N).
  Flags& add_int(const std::string& name, int64_t default_value, const std::string& help,
                 const std::string& value_name = "N");
  Flags& add_double(const std::string& name, double default_value, const std::string& help,
                    const std::string& value_name = "X");
  Flags& add_string(const std::string& name, const std::string& default_value, const std::string& help,
                    const std::string& value_name = "STR");
  Flags& add_bool(const std::string& name, bool default_value, const std::string& help);
  // Changes the default of any registered flag (an app's own --epochs, --lr, --data, ...); the
  // text is parsed as the flag's type would be on the command line.
  Flags& set_default(const std::string& name, const std::string& value);
  // Allowed range of a numeric flag, checked when parsing (bounds included).
  Flags& set_range(const std::string& name, double min_value, double max_value);

  // Parses argv[1..argc): the first word that is not a flag is the command. Throws iris::Error on
  // an unknown flag or command (suggesting the closest), a missing or malformed value, a value out
  // of range, or no command. After --help / -h nothing else is checked: see help_requested().
  void parse(int argc, const char* const* argv);
  void parse(const std::vector<std::string>& args);  // args without the program name

  bool help_requested() const { return help_requested_; }
  // The app's name and the arguments as parse() got them ("davit ablate --epochs 3"), for reports.
  const std::string& command_line() const { return command_line_; }
  const std::string& command() const { return command_; }
  const std::string& app() const { return app_; }
  // The --help text: the commands and every flag with its value, default and help line.
  std::string usage() const;

  // Values by name (the type must match the registration; throws otherwise).
  int64_t get_int(const std::string& name) const;
  double get_double(const std::string& name) const;
  const std::string& get_string(const std::string& name) const;
  bool get_bool(const std::string& name) const;
  bool has(const std::string& name) const { return flags_.count(name) != 0; }
  bool is_set(const std::string& name) const;  // given on the command line (not a default)

  // The shared flags, typed.
  Device device() const;        // --device cpu | cuda | cuda:N
  int epochs() const;           // --epochs (>= 0)
  int batch_size() const;       // --batch-size (>= 1)
  double lr() const;            // --lr (>= 0)
  uint64_t seed() const;        // --seed (>= 0)
  int threads() const;          // --threads (0: IRIS_NUM_THREADS or all cores)
  const std::string& data_dir() const { return get_string("data"); }
  const std::string& out_dir() const { return get_string("out"); }  // empty: runs/<app>-<cmd>-<time>
  const std::string& resume() const { return get_string("resume"); }
  bool quick() const { return get_bool("quick"); }
  bool amp() const { return get_bool("amp"); }  // autocast (autograd/autocast.h); app_main applies it

  // Every flag by name with its typed value, in registration order, plus "command" first.
  json::Value to_json() const;

 private:
  struct Flag {
    std::string name;
    Kind kind = Kind::text;
    std::string help;
    std::string value_name;
    bool shared = false;
    bool set = false;
    bool has_range = false;
    double min_value = 0, max_value = 0;
    // The value in its parsed form (exactly one is meaningful, by kind).
    int64_t int_value = 0;
    double double_value = 0;
    std::string string_value;
    bool bool_value = false;
    std::string default_text;  // as shown in usage
  };

  Flag& add(const std::string& name, Kind kind, const std::string& help, const std::string& value_name, bool shared);
  void assign(Flag& flag, const std::string& text, bool from_command_line);
  const Flag& lookup(const std::string& name, Kind kind) const;
  std::string unknown_flag_message(const std::string& name) const;

  std::string app_, summary_;
  std::vector<Subcommand> subcommands_;
  std::vector<std::string> order_;     // registration order
  std::map<std::string, Flag> flags_;
  std::string command_, command_line_;
  bool help_requested_ = false;
};

// The optimiser flags the training apps share, registered in this order: --weight-decay, --warmup
// (epochs of linear warmup), --label-smoothing, --drop-path, --clip-norm. Each app passes its own
// defaults and the words of the help lines that differ (which parameters skip decay, what the
// smoothing applies to); an app without label smoothing or stochastic depth leaves those flags out.
struct OptimizerFlagDefaults {
  double weight_decay = 0.05, warmup_epochs = 1.0, label_smoothing = 0.0, drop_path = 0.0, clip_norm = 1.0;
  bool with_label_smoothing = true, with_drop_path = true;  // false: the flag is not registered
  std::string no_decay_on = "biases and norms";              // "AdamW weight decay (not on ...)"
  std::string warmup_help = "linear warmup, in epochs";
  std::string label_smoothing_help = "label smoothing of the cross-entropy loss";
  std::string drop_path_help = "stochastic depth rate of the last block";
  std::string clip_norm_help = "clip gradients to this global norm (0: off)";
};
void add_optimizer_flags(Flags& flags, const OptimizerFlagDefaults& defaults = {});

// The items of a comma-separated list ("a,b,,c" -> {"a", "b", "c"}: empty items are dropped).
std::vector<std::string> split_list(const std::string& text);

// Levenshtein edit distance (insertions, deletions, substitutions), for "did you mean" hints.
int edit_distance(const std::string& a, const std::string& b);
// The candidate closest to `word` when it is close enough to be a likely typo, else "".
std::string closest_match(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace iris
