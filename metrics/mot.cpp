// CLEAR-MOT and IDF1 (mot.h): motmetrics' MOTAccumulator.update frame by frame, then its metrics
// from the event counts and the per-object histories.
#include "metrics/mot.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <utility>

#include "tensor/error.h"
#include "track/hungarian.h"

namespace iris::metrics {

MotCounts& MotCounts::operator+=(const MotCounts& o) {
  frames += o.frames;
  objects += o.objects;
  predictions += o.predictions;
  unique_objects += o.unique_objects;
  matches += o.matches;
  switches += o.switches;
  false_positives += o.false_positives;
  misses += o.misses;
  fragmentations += o.fragmentations;
  transfers += o.transfers;
  ascends += o.ascends;
  migrates += o.migrates;
  mostly_tracked += o.mostly_tracked;
  partially_tracked += o.partially_tracked;
  mostly_lost += o.mostly_lost;
  distance_sum += o.distance_sum;
  idtp += o.idtp;
  idfp += o.idfp;
  idfn += o.idfn;
  return *this;
}

namespace {

// Boxes of each frame, in input order.
std::map<int, std::vector<const TrackBox*>> by_frame(const std::vector<TrackBox>& boxes, const char* side) {
  std::map<int, std::vector<const TrackBox*>> frames;
  std::set<std::pair<int, int>> seen;
  for (const TrackBox& b : boxes) {
    IRIS_CHECK(seen.insert({b.frame, b.id}).second, "mot_counts: ", side, " id ", b.id, " appears twice in frame ",
               b.frame);
    frames[b.frame].push_back(&b);
  }
  return frames;
}

}  // namespace

MotCounts mot_counts(const std::vector<TrackBox>& gt, const std::vector<TrackBox>& hyp, double max_distance) {
  const auto gt_frames = by_frame(gt, "ground truth"), hyp_frames = by_frame(hyp, "hypothesis");
  std::set<int> frames;
  for (const auto& f : gt_frames) frames.insert(f.first);
  for (const auto& f : hyp_frames) frames.insert(f.first);

  MotCounts c;
  c.frames = static_cast<int64_t>(frames.size());
  std::map<int, int> last_hyp_of;           // object -> hypothesis of its latest match (motmetrics' m)
  std::map<int, int> last_object_of;        // hypothesis -> object of its latest Hungarian match (res_m)
  std::set<int> objects_matched, hyps_matched;  // ever matched (last_match, hypHistory)
  std::map<int, std::vector<char>> history;  // object -> tracked (1) / missed (0), frame by frame
  std::map<int, int64_t> object_frames, hyp_frames_count;  // frames each id appears in
  std::map<std::pair<int, int>, int64_t> overlaps;        // (object, hypothesis) -> frames within reach
  const std::vector<const TrackBox*> none;

  for (int f : frames) {
    auto gi = gt_frames.find(f), hi = hyp_frames.find(f);
    const auto& objs = gi == gt_frames.end() ? none : gi->second;
    const auto& hyps = hi == hyp_frames.end() ? none : hi->second;
    const int no = static_cast<int>(objs.size()), nh = static_cast<int>(hyps.size());
    const double nan = std::nan("");
    std::vector<double> d(static_cast<size_t>(no) * nh);
    for (int i = 0; i < no; ++i) {
      ++object_frames[objs[i]->id];
      for (int j = 0; j < nh; ++j) {
        const double dist = 1 - iou(objs[i]->box, hyps[j]->box);
        d[static_cast<size_t>(i) * nh + j] = dist > max_distance ? nan : dist;
        if (!(dist > max_distance)) ++overlaps[{objs[i]->id, hyps[j]->id}];
      }
    }
    for (int j = 0; j < nh; ++j) ++hyp_frames_count[hyps[j]->id];

    std::vector<char> obj_done(no, 0), hyp_done(nh, 0);
    auto record = [&](int i, int j, bool is_switch) {
      obj_done[i] = hyp_done[j] = 1;
      c.distance_sum += d[static_cast<size_t>(i) * nh + j];
      ++(is_switch ? c.switches : c.matches);
      history[objs[i]->id].push_back(1);
    };
    if (no > 0 && nh > 0) {
      // 1. Correspondences from earlier frames that are still allowed are kept.
      for (int i = 0; i < no; ++i) {
        auto prev = last_hyp_of.find(objs[i]->id);
        if (prev == last_hyp_of.end()) continue;
        for (int j = 0; j < nh; ++j) {
          if (hyp_done[j] || hyps[j]->id != prev->second) continue;
          if (std::isfinite(d[static_cast<size_t>(i) * nh + j])) {
            record(i, j, false);
            objects_matched.insert(objs[i]->id);
            hyps_matched.insert(hyps[j]->id);
          }
          break;
        }
      }
      // 2. The rest by minimum total distance.
      std::vector<double> rest = d;
      for (int i = 0; i < no; ++i)
        for (int j = 0; j < nh; ++j)
          if (obj_done[i] || hyp_done[j]) rest[static_cast<size_t>(i) * nh + j] = nan;
      const track::Assignment a = track::linear_assignment(rest, no, nh);
      for (auto [i, j] : a.pairs) {
        const int o = objs[i]->id, h = hyps[j]->id;
        auto prev = last_hyp_of.find(o);
        const bool is_switch = prev != last_hyp_of.end() && prev->second != h;
        if (is_switch && !hyps_matched.count(h)) ++c.ascends;
        auto owner = last_object_of.find(h);
        if (owner != last_object_of.end() && owner->second != o) {
          if (!objects_matched.count(o)) ++c.migrates;
          ++c.transfers;
        }
        hyps_matched.insert(h);
        objects_matched.insert(o);
        record(i, j, is_switch);
        last_hyp_of[o] = h;
        last_object_of[h] = o;
      }
    }
    // 3. and 4. Whatever is left.
    for (int i = 0; i < no; ++i)
      if (!obj_done[i]) {
        ++c.misses;
        history[objs[i]->id].push_back(0);
      }
    for (int j = 0; j < nh; ++j)
      if (!hyp_done[j]) ++c.false_positives;
  }

  if (c.matches + c.switches == 0) c.distance_sum = std::nan("");
  c.objects = static_cast<int64_t>(gt.size());
  c.predictions = static_cast<int64_t>(hyp.size());
  c.unique_objects = static_cast<int64_t>(history.size());
  for (const auto& [id, h] : history) {
    const int64_t tracked = std::count(h.begin(), h.end(), 1);
    const double ratio = static_cast<double>(tracked) / static_cast<double>(h.size());
    if (ratio >= 0.8)
      ++c.mostly_tracked;
    else if (ratio >= 0.2)
      ++c.partially_tracked;
    else
      ++c.mostly_lost;
    // Tracked -> missed transitions between the first and the last tracked frame.
    auto first = std::find(h.begin(), h.end(), 1);
    if (first == h.end()) continue;
    auto last = std::find(h.rbegin(), h.rend(), 1).base();  // one past the last tracked frame
    for (auto it = first + 1; it < last; ++it)
      if (*it == 0 && *(it - 1) == 1) ++c.fragmentations;
  }

  // IDF1: the object <-> hypothesis pairing with the most frames in reach (maximum weight matching).
  std::map<int, int> orow, hcol;
  for (const auto& [id, n] : object_frames) orow.emplace(id, static_cast<int>(orow.size()));
  for (const auto& [id, n] : hyp_frames_count) hcol.emplace(id, static_cast<int>(hcol.size()));
  const int rows = static_cast<int>(orow.size()), cols = static_cast<int>(hcol.size());
  std::vector<double> cost(static_cast<size_t>(rows) * cols, 0.0);
  for (const auto& [pair, n] : overlaps)
    cost[static_cast<size_t>(orow[pair.first]) * cols + hcol[pair.second]] = -static_cast<double>(n);
  const track::Assignment a = track::linear_assignment(cost, rows, cols);
  c.idtp = static_cast<int64_t>(std::llround(-a.cost));
  c.idfn = c.objects - c.idtp;
  c.idfp = c.predictions - c.idtp;
  return c;
}

MotSummary mot_summary(const MotCounts& c) {
  MotSummary s;
  s.counts = c;
  const double objects = static_cast<double>(c.objects);
  const double detections = static_cast<double>(c.matches + c.switches);
  const double idtp = static_cast<double>(c.idtp);
  s.mota = 1.0 - static_cast<double>(c.misses + c.switches + c.false_positives) / objects;
  s.motp = c.distance_sum / detections;
  s.precision = detections / (static_cast<double>(c.false_positives) + detections);
  s.recall = detections / objects;
  s.idp = idtp / (idtp + static_cast<double>(c.idfp));
  s.idr = idtp / (idtp + static_cast<double>(c.idfn));
  s.idf1 = 2 * idtp / (objects + static_cast<double>(c.predictions));
  return s;
}

}  // namespace iris::metrics
