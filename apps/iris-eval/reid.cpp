// iris-eval reid: Market-1501 mAP and CMC (metrics/reid.h, torchreid's eval_market1501) from files:
//   iris-eval reid --dist dist.npy --query query.csv --gallery gallery.csv
//   iris-eval reid --query-features q.npy --gallery-features g.npy --query query.csv --gallery gallery.csv
//                  [--distance euclidean|cosine]
// dist.npy: [Q, G] f32/f64 distances (smaller = closer); q.npy / g.npy: [Q, D] and [G, D] features.
// query.csv / gallery.csv: one "id,camera" row per query / gallery entry, in the order of the rows /
// columns (integers; an optional first line "id,camera"; Market's junk id is -1, distractors 0).
// --market-junk removes gallery id -1 as the official Market-1501 code does; --ap market uses its
// trapezoid AP. Prints the mAP and a CMC table, then
//   {"app":"iris-eval","cmd":"reid","metrics":{"map":..,"rank1":..,"rank5":..,"rank10":..}} (percent).
// Leaves out: feature files in other formats than .npy, CUHK03's protocol, re-ranking.
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "apps/common/run.h"
#include "apps/iris-eval/eval.h"
#include "io/file_util.h"
#include "io/npy.h"
#include "metrics/reid.h"
#include "tensor/error.h"
#include "tensor/shape.h"

namespace iris::eval {

namespace {

struct IdCameras {
  std::vector<int64_t> ids, cameras;
};

std::string trim(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t\r");
  if (a == std::string::npos) return "";
  return s.substr(a, s.find_last_not_of(" \t\r") - a + 1);
}

bool parse_int(const std::string& text, int64_t& out) {
  const std::string t = trim(text);
  if (t.empty()) return false;
  size_t used = 0;
  try {
    out = std::stoll(t, &used);
  } catch (const std::exception&) {
    return false;
  }
  return used == t.size();
}

IdCameras read_id_camera_csv(const std::string& path) {
  std::istringstream in(read_file(path));
  IdCameras out;
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    const std::string t = trim(line);
    if (t.empty()) continue;
    if (number == 1 && t == "id,camera") continue;
    const size_t comma = t.find(',');
    int64_t id = 0, camera = 0;
    const bool ok = comma != std::string::npos && t.find(',', comma + 1) == std::string::npos &&
                    parse_int(t.substr(0, comma), id) && parse_int(t.substr(comma + 1), camera);
    IRIS_CHECK(ok, path, ":", number, ": expected 'id,camera' (two integers), got '", t.substr(0, 60), "'");
    out.ids.push_back(id);
    out.cameras.push_back(camera);
  }
  IRIS_CHECK(!out.ids.empty(), path, ": no 'id,camera' rows");
  return out;
}

Tensor load_matrix(const std::string& path, const char* what) {
  Tensor t = load_npy(path);
  IRIS_CHECK(t.dim() == 2, path, ": expected a 2-D array of ", what, ", got shape ", shape_str(t.shape()));
  IRIS_CHECK(t.dtype() == DType::f32 || t.dtype() == DType::f64, path, ": expected float32 or float64 ", what,
             ", got ", dtype_name(t.dtype()));
  return t;
}

}  // namespace

void add_reid_flags(Flags& flags) {
  flags.add_string("dist", "", "reid: [queries, gallery] distance matrix (.npy, f32/f64)", "PATH");
  flags.add_string("query", "", "reid: query ids and cameras, one 'id,camera' row per query (CSV)", "PATH");
  flags.add_string("gallery", "", "reid: gallery ids and cameras, one 'id,camera' row per entry (CSV)", "PATH");
  flags.add_string("query-features", "", "reid: [queries, D] features (.npy), instead of --dist", "PATH");
  flags.add_string("gallery-features", "", "reid: [gallery, D] features (.npy), instead of --dist", "PATH");
  flags.add_string("distance", "euclidean", "reid: feature distance, euclidean (squared) or cosine", "NAME");
  flags.add_bool("market-junk", false, "reid: drop gallery id -1 (Market-1501 junk) as the official code does");
  flags.add_string("ap", "torchreid", "reid: AP formula, torchreid or market (official compute_AP.m)", "NAME");
}

int run_reid(const Flags& flags) {
  const std::string dist_path = flags.get_string("dist"), qf_path = flags.get_string("query-features"),
                    gf_path = flags.get_string("gallery-features");
  const std::string q_path = flags.get_string("query"), g_path = flags.get_string("gallery");
  IRIS_CHECK(!q_path.empty() && !g_path.empty(), "reid: --query and --gallery (id,camera CSV files) are required");
  const bool features = !qf_path.empty() || !gf_path.empty();
  IRIS_CHECK(dist_path.empty() != !features, "reid: give either --dist or --query-features with --gallery-features");
  IRIS_CHECK(!features || (!qf_path.empty() && !gf_path.empty()),
             "reid: --query-features and --gallery-features go together");
  const std::string ap = flags.get_string("ap");
  IRIS_CHECK(ap == "torchreid" || ap == "market", "reid: --ap '", ap, "' is not one of: torchreid, market");

  const IdCameras query = read_id_camera_csv(q_path), gallery = read_id_camera_csv(g_path);
  Tensor dist;
  std::string source;
  if (features) {
    Tensor qf = load_matrix(qf_path, "query features"), gf = load_matrix(gf_path, "gallery features");
    IRIS_CHECK(qf.shape()[1] == gf.shape()[1], "reid: ", qf_path, " has ", qf.shape()[1], "-d features but ",
               gf_path, " has ", gf.shape()[1]);
    IRIS_CHECK(qf.shape()[0] == static_cast<int64_t>(query.ids.size()), "reid: ", qf_path, " has ", qf.shape()[0],
               " rows but ", q_path, " has ", query.ids.size());
    IRIS_CHECK(gf.shape()[0] == static_cast<int64_t>(gallery.ids.size()), "reid: ", gf_path, " has ", gf.shape()[0],
               " rows but ", g_path, " has ", gallery.ids.size());
    dist = metrics::reid_distances(qf, gf, metrics::reid_distance_from_name(flags.get_string("distance")));
    source = flags.get_string("distance") + " distance of " + qf_path + " and " + gf_path;
  } else {
    dist = load_matrix(dist_path, "distances");
    IRIS_CHECK(dist.shape()[0] == static_cast<int64_t>(query.ids.size()) &&
                   dist.shape()[1] == static_cast<int64_t>(gallery.ids.size()),
               "reid: ", dist_path, " is ", shape_str(dist.shape()), " but ", q_path, " has ", query.ids.size(),
               " rows and ", g_path, " has ", gallery.ids.size(), " (expected [queries, gallery])");
    source = dist_path;
  }

  metrics::ReidOptions options;
  options.max_rank = 20;
  if (flags.get_bool("market-junk")) options.junk_id = -1;
  options.ap = ap == "market" ? metrics::ReidAp::market_official : metrics::ReidAp::torchreid;
  const metrics::ReidResult r =
      metrics::evaluate_reid(dist, query.ids, query.cameras, gallery.ids, gallery.cameras, options);

  std::printf("re-ID (Market-1501 protocol%s, %s AP) on %s\n", options.junk_id == -1 ? " with junk -1" : "",
              ap.c_str(), source.c_str());
  std::printf("  queries %zu (valid %lld, skipped without a match %lld), gallery %zu\n", query.ids.size(),
              static_cast<long long>(r.valid_queries), static_cast<long long>(r.skipped_queries), gallery.ids.size());
  std::printf("  mAP      %7.2f%%\n", 100 * r.map);
  for (int k : {1, 5, 10, 20}) std::printf("  rank-%-3d %7.2f%%\n", k, 100 * r.rank(k));
  json::Value m = json::Value::object();
  m["map"] = 100 * r.map;
  m["rank1"] = 100 * r.rank(1);
  m["rank5"] = 100 * r.rank(5);
  m["rank10"] = 100 * r.rank(10);
  std::printf("%s\n", final_json_line("iris-eval", "reid", m).c_str());
  return 0;
}

}  // namespace iris::eval
