// Market-1501 mAP / CMC (see reid.h for the protocol, the ties and the options) and the feature
// distances torchreid evaluates with.
// Leaves out: a GPU path (the sort per query runs on the CPU, O(Q G log G)).
#include "metrics/reid.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "tensor/error.h"
#include "tensor/shape.h"

namespace iris::metrics {

double ReidResult::rank(int64_t k) const {
  IRIS_CHECK(k >= 1 && k <= static_cast<int64_t>(cmc.size()), "ReidResult::rank: k = ", k, " is outside [1, ",
             cmc.size(), "] (ReidOptions::max_rank)");
  return cmc[k - 1];
}

namespace {

// AP of one ranking given as 0-based positions of its matches (ascending) in the kept list.
double average_precision(const std::vector<int64_t>& match_positions, ReidAp style) {
  const double matches = static_cast<double>(match_positions.size());
  double sum = 0;
  for (size_t i = 0; i < match_positions.size(); ++i) {
    const double pos = static_cast<double>(match_positions[i]);
    const double precision = static_cast<double>(i + 1) / (pos + 1);
    if (style == ReidAp::torchreid) {
      sum += precision;
    } else {
      // compute_AP.m: the precision one position earlier (i matches in pos entries), 1 at the top.
      const double before = match_positions[i] == 0 ? 1.0 : static_cast<double>(i) / pos;
      sum += (before + precision) / 2;
    }
  }
  return sum / matches;
}

}  // namespace

ReidResult evaluate_reid(const Tensor& distances, const std::vector<int64_t>& query_ids,
                         const std::vector<int64_t>& query_cameras, const std::vector<int64_t>& gallery_ids,
                         const std::vector<int64_t>& gallery_cameras, const ReidOptions& options) {
  IRIS_CHECK(distances.dim() == 2, "evaluate_reid: distances must be [queries, gallery], got ",
             shape_str(distances.shape()));
  const int64_t nq = distances.shape()[0], ng = distances.shape()[1];
  IRIS_CHECK(static_cast<int64_t>(query_ids.size()) == nq && static_cast<int64_t>(query_cameras.size()) == nq,
             "evaluate_reid: ", nq, " query rows in the distances but ", query_ids.size(), " query ids and ",
             query_cameras.size(), " query cameras");
  IRIS_CHECK(static_cast<int64_t>(gallery_ids.size()) == ng && static_cast<int64_t>(gallery_cameras.size()) == ng,
             "evaluate_reid: ", ng, " gallery columns in the distances but ", gallery_ids.size(),
             " gallery ids and ", gallery_cameras.size(), " gallery cameras");
  IRIS_CHECK(options.max_rank >= 1, "evaluate_reid: max_rank = ", options.max_rank, " must be at least 1");
  const std::vector<double> d = distances.cpu().to(DType::f64).contiguous().to_vector<double>();

  ReidResult result;
  result.cmc.assign(options.max_rank, 0.0);
  result.ap.assign(nq, std::nan(""));
  std::vector<int64_t> order(ng);
  std::vector<int64_t> match_positions;
  double ap_sum = 0;
  for (int64_t q = 0; q < nq; ++q) {
    const double* row = d.data() + q * ng;
    for (int64_t g = 0; g < ng; ++g)
      IRIS_CHECK(!std::isnan(row[g]), "evaluate_reid: distance [", q, ", ", g, "] is NaN");
    std::iota(order.begin(), order.end(), int64_t{0});
    std::stable_sort(order.begin(), order.end(), [row](int64_t a, int64_t b) { return row[a] < row[b]; });
    match_positions.clear();
    int64_t kept = 0;
    for (int64_t g : order) {
      const bool same_view = gallery_ids[g] == query_ids[q] && gallery_cameras[g] == query_cameras[q];
      if (same_view || gallery_ids[g] == options.junk_id) continue;
      if (gallery_ids[g] == query_ids[q]) match_positions.push_back(kept);
      ++kept;
    }
    if (match_positions.empty()) {
      ++result.skipped_queries;
      continue;
    }
    ++result.valid_queries;
    for (int64_t k = match_positions[0]; k < options.max_rank; ++k) result.cmc[k] += 1;
    result.ap[q] = average_precision(match_positions, options.ap);
    ap_sum += result.ap[q];
  }
  IRIS_CHECK(result.valid_queries > 0, "evaluate_reid: none of the ", nq,
             " queries has a gallery entry of its id (from another camera): nothing to evaluate");
  const double valid = static_cast<double>(result.valid_queries);
  for (double& c : result.cmc) c /= valid;
  result.map = ap_sum / valid;
  return result;
}

Tensor reid_distances(const Tensor& query, const Tensor& gallery, ReidDistance metric) {
  IRIS_CHECK(query.dim() == 2 && gallery.dim() == 2 && query.shape()[1] == gallery.shape()[1],
             "reid_distances: query [Q, D] and gallery [G, D] features must share D, got ", shape_str(query.shape()),
             " and ", shape_str(gallery.shape()));
  const int64_t nq = query.shape()[0], ng = gallery.shape()[0], dim = query.shape()[1];
  std::vector<double> q = query.cpu().to(DType::f64).contiguous().to_vector<double>();
  std::vector<double> g = gallery.cpu().to(DType::f64).contiguous().to_vector<double>();
  if (metric == ReidDistance::cosine) {
    // F.normalize: x / max(|x|, 1e-12).
    for (std::vector<double>* m : {&q, &g}) {
      for (size_t r = 0; r * dim < m->size(); ++r) {
        double norm = 0;
        for (int64_t i = 0; i < dim; ++i) norm += (*m)[r * dim + i] * (*m)[r * dim + i];
        norm = std::max(std::sqrt(norm), 1e-12);
        for (int64_t i = 0; i < dim; ++i) (*m)[r * dim + i] /= norm;
      }
    }
  }
  // Blocks of queries against each gallery row, so a gallery row is read once per block (Market-1501's
  // 15913 x 2048 gallery does not fit a cache); four partial sums per dot product.
  constexpr int64_t kBlock = 32;
  std::vector<double> out(static_cast<size_t>(nq * ng));
  for (int64_t i0 = 0; i0 < nq; i0 += kBlock) {
    const int64_t i1 = std::min(nq, i0 + kBlock);
    for (int64_t j = 0; j < ng; ++j) {
      const double* b = g.data() + j * dim;
      for (int64_t i = i0; i < i1; ++i) {
        const double* a = q.data() + i * dim;
        double acc[4] = {0, 0, 0, 0};
        int64_t k = 0;
        if (metric == ReidDistance::euclidean) {
          for (; k + 4 <= dim; k += 4)
            for (int u = 0; u < 4; ++u) acc[u] += (a[k + u] - b[k + u]) * (a[k + u] - b[k + u]);
          for (; k < dim; ++k) acc[0] += (a[k] - b[k]) * (a[k] - b[k]);
        } else {
          for (; k + 4 <= dim; k += 4)
            for (int u = 0; u < 4; ++u) acc[u] += a[k + u] * b[k + u];
          for (; k < dim; ++k) acc[0] += a[k] * b[k];
        }
        const double sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
        out[i * ng + j] = metric == ReidDistance::euclidean ? sum : 1.0 - sum;
      }
    }
  }
  return from_vector(out, Shape{nq, ng});
}

ReidDistance reid_distance_from_name(const std::string& name) {
  if (name == "euclidean") return ReidDistance::euclidean;
  if (name == "cosine") return ReidDistance::cosine;
  throw Error(cat_str("reid distance '", name, "' is not one of: euclidean, cosine"));
}

}  // namespace iris::metrics
