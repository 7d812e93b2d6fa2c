// CLEAR-MOT and the identity metrics of multi-object tracking, computed as py-motmetrics 1.4
// computes them with IoU distance (motmetrics.utils.compare_to_groundtruth(gt, ts, 'iou',
// distth=0.5) then metrics.compute_many(..., generate_overall=True), as its eval_motchallenge does).
//
// Per frame (frames: every frame of either side, ascending; boxes in input order within a frame):
// distance d = 1 - IoU (geometry/box.h iou(), which is motmetrics' boxiou on x, y, w, h: no +1),
// pairs with d > max_distance are not matched. An object still seen with the hypothesis it was last
// matched to, at an allowed distance, keeps it (MATCH); the rest are matched by minimum total
// distance (track/hungarian, the most pairs first); a match whose object was last matched to a
// different hypothesis is a SWITCH; objects left over are MISSes, hypotheses left over FPs.
//   MOTA  = 1 - (misses + switches + FP) / objects      MOTP = sum of d over matches and switches /
//   (their count), i.e. the mean 1 - IoU (lower is better: motmetrics' "motp" for IoU)
//   fragmentations: per object, the runs of misses between its first and last tracked frame
//   MT / PT / ML: objects tracked (matched or switched) in >= 80% / [20%, 80%) / < 20% of their frames
//   transfer / ascend / migrate: motmetrics' extra switch kinds (IDt, IDa, IDm of its table)
//   IDF1: the one-to-one object <-> hypothesis pairing maximising the frames where the pair is within
//   max_distance (IDTP); IDFN = objects - IDTP, IDFP = predictions - IDTP,
//   IDP = IDTP / (IDTP + IDFP), IDR = IDTP / (IDTP + IDFN), IDF1 = 2 IDTP / (objects + predictions).
// Ratios divide as IEEE doubles do, as motmetrics' quiet_divide: 0/0 is NaN (e.g. MOTP with no match).
// Sequences combine by summing the counts (motmetrics' OVERALL row).
// Leaves out: max_switch_time (infinite here, motmetrics' default), distances other than IoU, and
// reading files (data/mot_format.h).
#pragma once

#include <cstdint>
#include <vector>

#include "geometry/box.h"

namespace iris::metrics {

struct TrackBox {
  int frame = 0;  // any integer order; only equality and order matter
  int id = 0;     // unique within a frame (checked)
  Box box;
};

struct MotCounts {
  int64_t frames = 0;             // frames with a box on either side
  int64_t objects = 0;            // ground-truth boxes
  int64_t predictions = 0;        // hypothesis boxes
  int64_t unique_objects = 0;     // ground-truth ids
  int64_t matches = 0;            // MATCH events (switches not included)
  int64_t switches = 0;           // ID switches
  int64_t false_positives = 0;
  int64_t misses = 0;
  int64_t fragmentations = 0;
  int64_t transfers = 0, ascends = 0, migrates = 0;
  int64_t mostly_tracked = 0, partially_tracked = 0, mostly_lost = 0;
  // Sum of d over matches and switches; NaN for a sequence with none, so that the sum over sequences
  // is NaN too, as motmetrics' OVERALL MOTP (sum of motp_i * n_i) is when one motp_i is 0/0.
  double distance_sum = 0;
  int64_t idtp = 0, idfp = 0, idfn = 0;
  MotCounts& operator+=(const MotCounts& o);
};

struct MotSummary {
  MotCounts counts;
  double mota = 0, motp = 0;       // fractions (motp: mean 1 - IoU)
  double precision = 0, recall = 0;
  double idf1 = 0, idp = 0, idr = 0;
};

// One sequence. Throws iris::Error when an id appears twice in one frame of gt or hyp.
MotCounts mot_counts(const std::vector<TrackBox>& gt, const std::vector<TrackBox>& hyp, double max_distance = 0.5);
MotSummary mot_summary(const MotCounts& counts);

}  // namespace iris::metrics
