// iris-eval mot: CLEAR-MOT and IDF1 (metrics/mot.h, equal to py-motmetrics) from MOTChallenge text
// files (data/mot_format.h), read as py-motmetrics' eval_motchallenge reads them:
//   iris-eval mot --gt gt.txt --ts tracker.txt     one sequence (named after the tracker file)
//   iris-eval mot --gt GT --ts TS                  GT/<seq>/gt/gt.txt against TS/<seq>.txt, every
//                                                  TS/*.txt (but eval*) with a ground truth
// Ground-truth rows with conf < 1 are not evaluated (min_confidence=1), tracker rows with conf < -1
// neither (loadtxt's default); IoU matching with distance 1 - IoU <= 0.5.
// Prints motmetrics' summary table (a row per sequence and OVERALL, its column names and formats),
// then the final JSON line: mota, idf1, idp, idr in percent, motp_iou_distance as motmetrics' MOTP
// (mean 1 - IoU of the matches), counts as integers, summed over the sequences.
// Leaves out: motmetrics' other formats (vatic, DETRAC), --exclude_id, and a run folder (nothing is
// trained or written).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "apps/common/run.h"
#include "apps/iris-eval/eval.h"
#include "data/mot_format.h"
#include "metrics/mot.h"
#include "tensor/error.h"

namespace iris::eval {

namespace fs = std::filesystem;

void add_mot_flags(Flags& flags) {
  flags.add_string("ts", "", "mot: tracker results, tracker.txt or a folder of <seq>.txt files", "PATH");
}

namespace {

struct Sequence {
  std::string name, gt_path, ts_path;
};

std::vector<metrics::TrackBox> track_boxes(const std::vector<data::MotBox>& rows) {
  std::vector<metrics::TrackBox> out;
  out.reserve(rows.size());
  for (const data::MotBox& b : rows) out.push_back({b.frame, b.id, b.box()});
  return out;
}

// The sequences to evaluate: one pair of files, or the MOTChallenge folder layout.
std::vector<Sequence> find_sequences(const std::string& gt, const std::string& ts) {
  IRIS_CHECK(!gt.empty() && !ts.empty(), "give --gt (gt.txt or a folder) and --ts (tracker.txt or a folder)");
  std::error_code ec;
  IRIS_CHECK(fs::exists(gt, ec), "--gt '", gt, "' does not exist");
  IRIS_CHECK(fs::exists(ts, ec), "--ts '", ts, "' does not exist");
  const bool gt_dir = fs::is_directory(gt, ec), ts_dir = fs::is_directory(ts, ec);
  IRIS_CHECK(gt_dir == ts_dir, "--gt and --ts must both be files or both be folders (--gt '", gt,
             "' is a ", gt_dir ? "folder" : "file", ", --ts '", ts, "' a ", ts_dir ? "folder" : "file", ")");
  if (!gt_dir) return {{fs::path(ts).stem().string(), gt, ts}};
  std::vector<Sequence> seqs;
  std::vector<std::string> names;
  for (const fs::directory_entry& e : fs::directory_iterator(ts)) {
    const fs::path p = e.path();
    if (!e.is_regular_file() || p.extension() != ".txt" || p.filename().string().rfind("eval", 0) == 0) continue;
    names.push_back(p.stem().string());
  }
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    const fs::path g = fs::path(gt) / name / "gt" / "gt.txt";
    if (!fs::is_regular_file(g, ec)) {
      std::cerr << "iris-eval mot: no ground truth " << g.string() << " for " << name << ", skipped\n";
      continue;
    }
    seqs.push_back({name, g.string(), (fs::path(ts) / (name + ".txt")).string()});
  }
  for (const fs::directory_entry& e : fs::directory_iterator(gt)) {
    const std::string name = e.path().filename().string();
    if (e.is_directory() && fs::is_regular_file(e.path() / "gt" / "gt.txt", ec) &&
        !std::binary_search(names.begin(), names.end(), name))
      std::cerr << "iris-eval mot: no tracker file " << (fs::path(ts) / (name + ".txt")).string() << " for " << name
                << ", skipped\n";
  }
  IRIS_CHECK(!seqs.empty(), "no sequence to evaluate: expected --gt '", gt,
             "' to hold <seq>/gt/gt.txt and --ts '", ts, "' <seq>.txt for the same <seq>");
  return seqs;
}

std::string percent(double v) {
  char buf[32];
  if (std::isnan(v)) return "nan%";
  std::snprintf(buf, sizeof buf, "%.1f%%", 100 * v);
  return buf;
}

std::string fixed3(double v) {
  char buf[32];
  if (std::isnan(v)) return "nan";
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

// motmetrics' render_summary with its MOTChallenge names: right-aligned columns one space apart.
// FM has no formatter there, so pandas prints it as a plain integer column, with a sign space.
std::string summary_table(const std::vector<std::string>& names, const std::vector<metrics::MotSummary>& rows) {
  const std::vector<std::string> header = {"IDF1", "IDP", "IDR", "Rcll", "Prcn", "GT", "MT", "PT", "ML",
                                           "FP",   "FN",  "IDs", "FM",   "MOTA", "MOTP", "IDt", "IDa", "IDm"};
  std::vector<std::vector<std::string>> cells;
  for (const metrics::MotSummary& s : rows) {
    const metrics::MotCounts& c = s.counts;
    auto n = [](int64_t v) { return std::to_string(v); };
    cells.push_back({percent(s.idf1), percent(s.idp), percent(s.idr), percent(s.recall), percent(s.precision),
                     n(c.unique_objects), n(c.mostly_tracked), n(c.partially_tracked), n(c.mostly_lost),
                     n(c.false_positives), n(c.misses), n(c.switches), " " + n(c.fragmentations), percent(s.mota),
                     fixed3(s.motp), n(c.transfers), n(c.ascends), n(c.migrates)});
  }
  size_t name_width = 0;
  for (const std::string& name : names) name_width = std::max(name_width, name.size());
  std::vector<size_t> width(header.size());
  for (size_t k = 0; k < header.size(); ++k) {
    width[k] = header[k].size();
    for (const auto& row : cells) width[k] = std::max(width[k], row[k].size());
  }
  auto pad_left = [](const std::string& s, size_t w) { return std::string(w - std::min(w, s.size()), ' ') + s; };
  std::string out = std::string(name_width, ' ');
  for (size_t k = 0; k < header.size(); ++k) out += " " + pad_left(header[k], width[k]);
  out += "\n";
  for (size_t r = 0; r < cells.size(); ++r) {
    out += names[r] + std::string(name_width - names[r].size(), ' ');
    for (size_t k = 0; k < header.size(); ++k) out += " " + pad_left(cells[r][k], width[k]);
    out += "\n";
  }
  return out;
}

json::Value number_or_null(double v) { return std::isfinite(v) ? json::Value(v) : json::Value(); }

}  // namespace

int run_mot(const Flags& flags) {
  const std::vector<Sequence> seqs = find_sequences(flags.get_string("gt"), flags.get_string("ts"));
  std::vector<std::string> names;
  std::vector<metrics::MotSummary> rows;
  metrics::MotCounts overall;
  for (const Sequence& seq : seqs) {
    const auto gt = data::keep_confident(data::read_mot(seq.gt_path), 1);
    const auto ts = data::keep_confident(data::read_mot(seq.ts_path), -1);
    const metrics::MotCounts c = metrics::mot_counts(track_boxes(gt), track_boxes(ts));
    names.push_back(seq.name);
    rows.push_back(metrics::mot_summary(c));
    overall += c;
  }
  const metrics::MotSummary all = metrics::mot_summary(overall);
  names.push_back("OVERALL");
  rows.push_back(all);
  std::cout << summary_table(names, rows);

  json::Value m = json::Value::object();
  m["mota"] = number_or_null(100 * all.mota);
  m["motp_iou_distance"] = number_or_null(all.motp);
  m["idf1"] = number_or_null(100 * all.idf1);
  m["idp"] = number_or_null(100 * all.idp);
  m["idr"] = number_or_null(100 * all.idr);
  m["ids"] = overall.switches;
  m["fp"] = overall.false_positives;
  m["fn"] = overall.misses;
  m["frag"] = overall.fragmentations;
  m["mt"] = overall.mostly_tracked;
  m["ml"] = overall.mostly_lost;
  std::cout << final_json_line("iris-eval", "mot", m) << std::endl;
  return 0;
}

}  // namespace iris::eval
