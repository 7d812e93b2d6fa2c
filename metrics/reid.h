// Person re-identification metrics under the Market-1501 protocol: mean average precision (mAP) and
// the CMC curve (rank-k accuracy) from a query x gallery distance matrix, as torchreid's
// eval_market1501 (torchreid/metrics/rank.py) computes them:
//   for each query, the gallery is sorted by ascending distance; entries with the query's id AND
//   camera are removed (same view: too easy); a query with no gallery entry of its id left is skipped
//   (counted in `skipped_queries`); AP = (1/R) sum over the R matches at 1-based positions p of
//   (matches within the first p) / p; CMC(k) = fraction of valid queries with a match in the first k.
// Ties in distance go to the lower gallery index (a stable sort: np.argsort(kind="stable")). torchreid
// calls np.argsort's default quicksort, which is stable for rows under 17 entries and otherwise may
// order equal distances either way, so on tied distances it can differ from us (and from itself
// across NumPy builds).
// Options (off by default, so the default is torchreid's numbers):
//   junk_id:  the official Market-1501 evaluation (Zheng et al., evaluation.m) also removes, for every
//             query, the gallery images labelled -1 ("junk": bad detections); set junk_id = -1 for
//             that. (Id 0 "distractors" stay as negatives, as in the official code.)
//   ap:       ReidAp::market_official gives the official code's AP (compute_AP.m: precision averaged
//             between consecutive recall steps, the trapezoid rule) instead of torchreid's.
// Leaves out: CUHK03's single-shot repeats, re-ranking, and the mINP of torchreid's newer versions.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace iris::metrics {

enum class ReidAp {
  torchreid,        // sum of precision at each match / matches (torchreid, most re-ID code)
  market_official,  // compute_AP.m's trapezoid: sum (r_i - r_{i-1}) (p_{i-1} + p_i) / 2, p_0 = 1
};

struct ReidOptions {
  int64_t max_rank = 50;  // length of the CMC curve
  // A gallery id removed from every ranking (-1: Market's junk); the default matches no id.
  int64_t junk_id = std::numeric_limits<int64_t>::min();
  ReidAp ap = ReidAp::torchreid;
};

struct ReidResult {
  double map = 0;            // mean AP over the valid queries, 0..1
  std::vector<double> cmc;   // cmc[k - 1]: fraction of valid queries matched within the first k, k = 1..max_rank
  std::vector<double> ap;    // per query, NaN for a skipped one
  int64_t valid_queries = 0;
  int64_t skipped_queries = 0;  // no gallery entry of the query's id left after the removals
  double rank(int64_t k) const;  // cmc[k - 1]; throws when k is outside [1, max_rank]
};

// distances: [Q, G] (f32 or f64, any device; smaller = more similar). Ids and cameras: Q and G long.
// A rank k past the number of kept gallery entries counts as matched (every valid query has a match
// somewhere): torchreid instead shortens the curve to the gallery size. Throws naming the sizes when
// they disagree, when a distance is NaN, or when no query is valid (torchreid's assertion).
ReidResult evaluate_reid(const Tensor& distances, const std::vector<int64_t>& query_ids,
                         const std::vector<int64_t>& query_cameras, const std::vector<int64_t>& gallery_ids,
                         const std::vector<int64_t>& gallery_cameras, const ReidOptions& options = {});

enum class ReidDistance { euclidean, cosine };
// [Q, G] f64 distances between query [Q, D] and gallery [G, D] features, as torchreid's
// compute_distance_matrix: euclidean = squared Euclidean distance; cosine = 1 - cos(q, g) (a zero
// vector has cosine 0, distance 1). Throws when the feature sizes differ.
Tensor reid_distances(const Tensor& query, const Tensor& gallery, ReidDistance metric);
ReidDistance reid_distance_from_name(const std::string& name);  // "euclidean" | "cosine"; throws otherwise

}  // namespace iris::metrics
