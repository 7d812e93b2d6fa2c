// The ablation protocol every app's `ablate` shares: arms x seeds -> one sub-run per pair in its own
// sub-folder of the run folder (with its result.json), then per arm the mean over seeds of every
// numeric metric with NAME_std beside it, `seeds` (the count) and `runs` (one metric per seed);
// ablation.json, a markdown table (ablation.md), the grouped bar chart (ablation.png) and the final
// line {"app": ..., "cmd": "ablate", "arms": {...}} on stdout and in <run>/result.json.
// An app describes its ablation as an arm list and a column list, and trains one (arm, seed) in run_one.
// Leaves out: running sub-runs in parallel, resuming an interrupted ablation, significance tests.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "apps/common/flags.h"
#include "apps/common/run.h"
#include "io/json.h"

namespace iris {

struct AblationArm {
  std::string name;                // its key in the JSON line and its sub-folder ("probe-dual")
  std::vector<std::string> cells;  // its leading cells in the table ({"probe", "dual"}); empty: {name}
  std::string group;               // chart: the group its bars join (the task); "" when there is one group
  std::string bar;                 // chart: its bar and legend label; "": the name
};

struct AblationColumn {
  std::string header;     // "top-1 %"
  std::string metric;     // "top1": the key in each run's metrics
  int decimals = 2;
  double scale = 1;       // the cell shows value * scale with the suffix ("21.4M": scale 1e-6, suffix "M")
  std::string suffix;
  bool with_std = true;   // "mean ± std" when there are several seeds
  bool chart = false;     // a group of bars in ablation.png (several chart columns: one group each)

  // A measured metric (top-1, a loss): "mean ± std" over the seeds; `chart`: also drawn.
  static AblationColumn measured(std::string header, std::string metric, int decimals = 2, bool chart = false) {
    return AblationColumn{std::move(header), std::move(metric), decimals, 1.0, "", true, chart};
  }
  // A property or a cost of the arm (params, FLOPs, seconds, share): the mean alone.
  static AblationColumn plain(std::string header, std::string metric, int decimals = 0, double scale = 1,
                              std::string suffix = "") {
    return AblationColumn{std::move(header), std::move(metric), decimals, scale, std::move(suffix), false, false};
  }
};

struct AblationSpec {
  std::string title;                               // heading of ablation.md
  std::vector<std::string> label_headers = {"arm"};  // headers of the arms' leading cells
  std::vector<AblationArm> arms;                   // run in this order, each over every seed
  std::vector<AblationColumn> columns;
  int seeds = 1;
  uint64_t first_seed = 0;                         // seeds first_seed, first_seed + 1, ...
  std::vector<std::string> line_metrics;           // the final line keeps these (with _std); empty: all
  std::string runs_metric = "top1";                // listed per seed as "runs" ("": no list)

  // The chart: the arms' bars of each chart column, grouped by AblationArm::group.
  std::string chart_title;
  std::string chart_y_label;                       // "": the header of the one chart column
  std::map<std::string, double> reference_by_group;  // a dashed line per group (chance), by group name
  std::string reference_arm;                       // or: the value of this arm, across every group
  std::string reference_label = "chance";
  bool chart_from_zero = true;                     // false: the axis starts near the bars, its break marked
  double chart_axis_max = 100;                     // NaN when the values are not percentages

  // Trains (or evaluates) one arm with one seed; `dir` is its sub-folder (made already; the run's
  // own Run lives there). Returns its metrics, e.g. {"top1": 77.0, "params": 574154, "seconds": 61}.
  std::function<json::Value(const AblationArm& arm, uint64_t seed, const std::string& dir)> run_one;
  // The text under the table in ablation.md (the budget), asked for after every run.
  std::function<std::string()> notes;
};

struct AblationResult {
  AblationArm arm;
  std::vector<json::Value> runs;  // what run_one returned, one per seed
  json::Value summary;            // the means, NAME_std, seeds, runs and the rest (ablation.json)
};

// The sub-folder name of (arm, seed): the arm's name with one seed, "<arm>-seed<seed>" with several.
std::string ablation_subdir(const std::string& arm, uint64_t seed, int seeds);

// Mean over the runs of each numeric metric (sum of value / n, in run order) with NAME_std beside it
// (the sample std; 0 for one run). An integer every run agrees on (params, flops, share) is a
// property of the arm and is kept as it is, without _std; other values are kept when every run
// agrees, else listed per run. Adds "seeds" (the count) and, when runs_metric is given, "runs".
json::Value summarize_runs(const std::vector<json::Value>& runs, const std::string& runs_metric = "top1");

// The markdown table: label headers + column headers, one row per arm ("–" for a missing metric).
std::string ablation_table(const AblationSpec& spec, const std::vector<AblationResult>& results);

// Runs the whole protocol in `run` (whose command is ablate; --resume is refused) and prints the
// final line. `after_runs` (optional) writes the app's own extra pictures before that line.
std::vector<AblationResult> run_ablation(const Flags& flags, Run& run, const AblationSpec& spec,
                                         const std::function<void(const std::vector<AblationResult>&)>& after_runs = {});

}  // namespace iris
