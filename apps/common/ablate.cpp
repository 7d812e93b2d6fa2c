// The ablation protocol (see ablate.h): the loop over arms and seeds, the summary over seeds, the
// table, the chart (image/plot.h's bar chart) and the files. Seeds run inside each arm, arms in
// the order given, one at a time. Leaves out: anything an app measures (run_one does that).
#include "apps/common/ablate.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "image/plot.h"
#include "io/file_util.h"

namespace iris {

namespace {

const json::Value* metric_of(const json::Value& summary, const std::string& key) {
  const json::Value* v = summary.find(key);
  return v && v->is_number() ? v : nullptr;
}

std::string fixed(double value, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return buf;
}

std::string cell(const AblationColumn& c, const json::Value& summary, int seeds) {
  const json::Value* v = metric_of(summary, c.metric);
  if (!v) return "–";
  std::string text = fixed(v->as_number() * c.scale, c.decimals) + c.suffix;
  const json::Value* sd = metric_of(summary, c.metric + "_std");
  if (c.with_std && seeds > 1 && sd) text += " ± " + fixed(sd->as_number() * c.scale, c.decimals) + c.suffix;
  return text;
}

// The bar chart of the chart columns: groups = (chart column, arm group), bars = the arms' bar labels.
BarChart ablation_chart(const AblationSpec& spec, const std::vector<AblationResult>& results) {
  std::vector<const AblationColumn*> columns;
  for (const AblationColumn& c : spec.columns)
    if (c.chart) columns.push_back(&c);
  std::vector<std::string> groups, bars;
  auto index_of = [](std::vector<std::string>& list, const std::string& item) {
    for (size_t i = 0; i < list.size(); ++i)
      if (list[i] == item) return i;
    list.push_back(item);
    return list.size() - 1;
  };
  for (const AblationResult& r : results) {
    index_of(groups, r.arm.group);
    index_of(bars, r.arm.bar.empty() ? r.arm.name : r.arm.bar);
  }
  const json::Value* reference_arm = nullptr;
  for (const AblationResult& r : results)
    if (!spec.reference_arm.empty() && r.arm.name == spec.reference_arm) reference_arm = &r.summary;

  BarChart chart;
  chart.title = spec.chart_title;
  if (spec.seeds > 1) chart.title += " (mean +- std over " + std::to_string(spec.seeds) + " seeds)";
  chart.y_label = !spec.chart_y_label.empty() ? spec.chart_y_label : columns.size() == 1 ? columns[0]->header : "";
  chart.bars = bars;
  chart.reference_label = spec.reference_label;
  chart.from_zero = spec.chart_from_zero;
  chart.axis_max = spec.chart_axis_max;
  if (!columns.empty()) chart.value_decimals = columns[0]->decimals;  // as in the table
  for (const AblationColumn* c : columns)
    for (const std::string& group : groups) {
      std::string label = columns.size() == 1 ? group : group.empty() ? c->header : group + " " + c->header;
      chart.groups.push_back(label);
      chart.values.emplace_back(bars.size(), NAN);
      chart.errors.emplace_back(bars.size(), 0.0);
      for (const AblationResult& r : results) {
        if (r.arm.group != group) continue;
        size_t b = index_of(bars, r.arm.bar.empty() ? r.arm.name : r.arm.bar);
        if (const json::Value* v = metric_of(r.summary, c->metric)) chart.values.back()[b] = v->as_number();
        if (const json::Value* sd = metric_of(r.summary, c->metric + "_std")) chart.errors.back()[b] = sd->as_number();
      }
      double reference = NAN;
      auto given = spec.reference_by_group.find(group);
      if (given != spec.reference_by_group.end()) reference = given->second;
      if (reference_arm)
        if (const json::Value* v = metric_of(*reference_arm, c->metric)) reference = v->as_number();
      chart.reference.push_back(reference);
    }
  return chart;
}

}  // namespace

std::string ablation_subdir(const std::string& arm, uint64_t seed, int seeds) {
  return seeds == 1 ? arm : arm + "-seed" + std::to_string(seed);
}

json::Value summarize_runs(const std::vector<json::Value>& runs, const std::string& runs_metric) {
  IRIS_CHECK(!runs.empty(), "summarize_runs: no runs to summarise");
  std::vector<std::string> keys;  // first-seen order
  for (const json::Value& r : runs) {
    IRIS_CHECK(r.is_object(), "summarize_runs: each run's metrics must be a JSON object, got ",
               json::Value::type_name(r.type()));
    for (const auto& [key, value] : r.items())
      if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(key);
  }
  json::Value summary = json::Value::object();
  for (const std::string& key : keys) {
    std::vector<const json::Value*> values;
    for (const json::Value& r : runs)
      if (const json::Value* v = r.find(key)) values.push_back(v);
    bool numbers = true, integers = true, agree = true;
    for (const json::Value* v : values) {
      numbers &= v->is_number();
      integers &= v->is_integer();
      agree &= *v == *values.front();
    }
    if (numbers && !(integers && agree)) {
      const double n = static_cast<double>(values.size());
      double mean = 0, squares = 0;
      for (const json::Value* v : values) mean += v->as_number() / n;
      for (const json::Value* v : values) squares += (v->as_number() - mean) * (v->as_number() - mean);
      summary[key] = mean;
      summary[key + "_std"] = values.size() > 1 ? std::sqrt(squares / (n - 1)) : 0.0;  // sample std
    } else if (agree) {
      summary[key] = *values.front();
    } else {
      json::Value each = json::Value::array();
      for (const json::Value* v : values) each.push_back(*v);
      summary[key] = each;
    }
  }
  summary["seeds"] = static_cast<int64_t>(runs.size());
  if (!runs_metric.empty()) {
    json::Value each = json::Value::array();
    for (const json::Value& r : runs)
      if (const json::Value* v = metric_of(r, runs_metric)) each.push_back(*v);
    if (each.size() > 0) summary["runs"] = each;
  }
  return summary;
}

std::string ablation_table(const AblationSpec& spec, const std::vector<AblationResult>& results) {
  std::ostringstream table;
  size_t width = spec.label_headers.size() + spec.columns.size();
  table << "|";
  for (const std::string& h : spec.label_headers) table << " " << h << " |";
  for (const AblationColumn& c : spec.columns) table << " " << c.header << " |";
  table << "\n|";
  for (size_t i = 0; i < width; ++i) table << "---|";
  table << "\n";
  for (const AblationResult& r : results) {
    std::vector<std::string> cells = r.arm.cells.empty() ? std::vector<std::string>{r.arm.name} : r.arm.cells;
    IRIS_CHECK(cells.size() == spec.label_headers.size(), "ablation_table: arm '", r.arm.name, "' has ",
               cells.size(), " leading cells for ", spec.label_headers.size(), " label headers");
    table << "|";
    for (const std::string& c : cells) table << " " << c << " |";
    for (const AblationColumn& c : spec.columns) table << " " << cell(c, r.summary, spec.seeds) << " |";
    table << "\n";
  }
  return table.str();
}

std::vector<AblationResult> run_ablation(const Flags& flags, Run& run, const AblationSpec& spec,
                                         const std::function<void(const std::vector<AblationResult>&)>& after_runs) {
  const std::string& app = run.app();
  IRIS_CHECK(flags.resume().empty(), app, " ablate has no --resume (an ablation starts every run afresh); resume one "
             "run with ", app, " train --resume");
  IRIS_CHECK(!spec.arms.empty(), app, " ablate: no arms to run; name at least one with --arms");
  IRIS_CHECK(spec.seeds >= 1, app, " ablate: --seeds must be at least 1, got ", spec.seeds);
  IRIS_CHECK(static_cast<bool>(spec.run_one), app, " ablate: the spec has no run_one");
  for (size_t i = 0; i < spec.arms.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      IRIS_CHECK(spec.arms[i].name != spec.arms[j].name, app, " ablate: arm '", spec.arms[i].name,
                 "' is listed twice; name each arm once");

  std::vector<AblationResult> results;
  for (const AblationArm& arm : spec.arms) {
    AblationResult r;
    r.arm = arm;
    for (int s = 0; s < spec.seeds; ++s) {
      uint64_t seed = spec.first_seed + static_cast<uint64_t>(s);
      std::string dir = run.path(ablation_subdir(arm.name, seed, spec.seeds));
      make_dirs(dir);
      json::Value metrics = spec.run_one(arm, seed, dir);
      IRIS_CHECK(metrics.is_object(), app, " ablate: run_one of arm '", arm.name, "' must return a JSON object");
      // the run's own result.json, without a line on stdout (that is for the ablation's line)
      write_file_atomic(dir + "/result.json", final_json_line(app, "train", metrics) + "\n");
      r.runs.push_back(metrics);
    }
    r.summary = summarize_runs(r.runs, spec.runs_metric);
    std::cerr << app << " ablate: " << arm.name << ":";
    for (const AblationColumn& c : spec.columns)
      if (c.with_std) std::cerr << " " << c.metric << " " << cell(c, r.summary, spec.seeds);
    std::cerr << "\n";
    results.push_back(std::move(r));
  }

  const std::string table = ablation_table(spec, results);
  std::ostringstream md;
  md << "# " << spec.title << "\n\n`" << flags.command_line() << "`\n\n" << table << "\n";
  if (spec.notes) md << spec.notes() << " ";
  md << (spec.seeds > 1 ? "Mean ± std (sample) over seeds " + std::to_string(spec.first_seed) + ".." +
                              std::to_string(spec.first_seed + spec.seeds - 1)
                        : "Seed " + std::to_string(spec.first_seed))
     << ". Wall time " << std::lround(run.seconds()) << " s.\n";
  write_file_atomic(run.path("ablation.md"), md.str());
  json::Value table_json = json::Value::object();
  for (const AblationResult& r : results) table_json[r.arm.name] = r.summary;
  write_file_atomic(run.path("ablation.json"), table_json.dump(2) + "\n");
  std::cerr << table;
  save_bar_chart(run.path("ablation.png"), ablation_chart(spec, results));
  if (after_runs) after_runs(results);

  json::Value line = json::Value::object();
  for (const AblationResult& r : results) {
    if (spec.line_metrics.empty()) {
      line[r.arm.name] = r.summary;
      continue;
    }
    json::Value a = json::Value::object();
    for (const std::string& key : spec.line_metrics)
      for (const std::string& k : {key, key + "_std"})
        if (const json::Value* v = r.summary.find(k)) a[k] = *v;
    for (const char* k : {"seeds", "runs"})
      if (const json::Value* v = r.summary.find(k)) a[k] = *v;
    line[r.arm.name] = a;
  }
  run.finish_arms(line);
  return results;
}

}  // namespace iris
