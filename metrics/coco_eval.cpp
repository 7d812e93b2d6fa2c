// COCO box evaluation (see coco_eval.h): per image and category matching, then per category, area
// range and maxDets accumulation, then the 12 summaries. Written from pycocotools' cocoeval.py and
// maskApi.c's bbIou as the statement of the facts; the loops are our own.
#include "metrics/coco_eval.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>
#include <unordered_map>
#include <unordered_set>

#include "tensor/error.h"

// No fused multiply-adds: IoU and precision must round as pycocotools' C and numpy code do, so that
// values on a threshold (IoU exactly 0.5, ...) compare the same way.
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

namespace iris::metrics {

const std::array<const char*, kCocoStats> kCocoStatNames = {
    "ap", "ap50", "ap75", "ap_small", "ap_medium", "ap_large",
    "ar1", "ar10", "ar100", "ar_small", "ar_medium", "ar_large"};

namespace {

constexpr int T = CocoEvalResult::T, R = CocoEvalResult::R, A = CocoEvalResult::A, M = CocoEvalResult::M;
constexpr int kMaxDets[M] = {1, 10, 100};
// pycocotools: [0**2, 1e5**2], [0**2, 32**2], [32**2, 96**2], [96**2, 1e5**2], bounds included.
constexpr double kAreaLo[A] = {0, 0, 1024, 9216};
constexpr double kAreaHi[A] = {1e10, 1024, 9216, 1e10};
constexpr const char* kAreaNames[A] = {"all", "small", "medium", "large"};
constexpr double kEps = std::numeric_limits<double>::epsilon();  // np.spacing(1)

// numpy.linspace(start, stop, num): start + i * ((stop - start) / (num - 1)), the last one exactly stop.
template <int N>
std::array<double, N> linspace(double start, double stop) {
  std::array<double, N> v{};
  double step = (stop - start) / (N - 1);
  for (int i = 0; i < N; ++i) v[i] = i * step + start;
  v[N - 1] = stop;
  return v;
}

bool out_of_range(double area, int a) { return area < kAreaLo[a] || area > kAreaHi[a]; }

// Indices grouped by (category index, image index) key, each group in input order (CSR layout).
struct Groups {
  std::vector<int64_t> start;  // [keys + 1]
  std::vector<int64_t> items;
  int64_t size(int64_t key) const { return start[key + 1] - start[key]; }
  const int64_t* begin(int64_t key) const { return items.data() + start[key]; }
};

Groups group(const std::vector<int64_t>& keys, int64_t n_keys) {
  Groups g;
  g.start.assign(n_keys + 1, 0);
  for (int64_t k : keys)
    if (k >= 0) ++g.start[k + 1];
  for (int64_t k = 0; k < n_keys; ++k) g.start[k + 1] += g.start[k];
  g.items.resize(g.start[n_keys]);
  std::vector<int64_t> fill(g.start.begin(), g.start.end() - 1);
  for (int64_t i = 0; i < static_cast<int64_t>(keys.size()); ++i)
    if (keys[i] >= 0) g.items[fill[keys[i]]++] = i;
  return g;
}

// One kept detection of one image after matching, for one category and area range.
struct Scored {
  double score;
  int rank;                   // position within its image after sorting (for maxDets)
  std::array<bool, T> tp{};   // matched (to a ground truth id != 0) and not ignored
  std::array<bool, T> fp{};   // unmatched and not ignored
};

double mean_defined(const std::vector<double>& values) {
  double sum = 0;
  int64_t n = 0;
  for (double v : values)
    if (v > -1) sum += v, ++n;
  return n == 0 ? -1 : sum / static_cast<double>(n);
}

}  // namespace

std::array<double, CocoEvalResult::T> coco_iou_thresholds() { return linspace<T>(0.5, 0.95); }
std::array<double, CocoEvalResult::R> coco_recall_thresholds() { return linspace<R>(0.0, 1.0); }

double coco_box_iou(const std::array<double, 4>& d, const std::array<double, 4>& g, bool crowd) {
  // The same operations in the same order as bbIou, so thresholds compare bit for bit.
  double ga = g[2] * g[3], da = d[2] * d[3];
  double w = std::fmin(d[2] + d[0], g[2] + g[0]) - std::fmax(d[0], g[0]);
  if (w <= 0) return 0;
  double h = std::fmin(d[3] + d[1], g[3] + g[1]) - std::fmax(d[1], g[1]);
  if (h <= 0) return 0;
  double i = w * h;
  double u = crowd ? da : da + ga - i;
  return i / u;
}

double CocoEvalResult::precision_at(int t, int r, int k, int a, int m) const {
  int64_t K = static_cast<int64_t>(category_ids.size());
  return precision[(((static_cast<int64_t>(t) * R + r) * K + k) * A + a) * M + m];
}

double CocoEvalResult::recall_at(int t, int k, int a, int m) const {
  int64_t K = static_cast<int64_t>(category_ids.size());
  return recall[((static_cast<int64_t>(t) * K + k) * A + a) * M + m];
}

CocoEvalResult coco_evaluate(const std::vector<int64_t>& image_ids, const std::vector<CocoCategory>& categories,
                             const std::vector<CocoGt>& gt, const std::vector<CocoDet>& detections,
                             const CocoEvalOptions& options) {
  // Images and categories in ascending id order (pycocotools sorts both).
  std::vector<int64_t> images = image_ids;
  std::sort(images.begin(), images.end());
  for (size_t i = 1; i < images.size(); ++i)
    IRIS_CHECK(images[i] != images[i - 1], "coco_evaluate: image id ", images[i], " is listed twice");
  std::vector<CocoCategory> cats = categories;
  std::stable_sort(cats.begin(), cats.end(), [](const CocoCategory& a, const CocoCategory& b) { return a.id < b.id; });
  for (size_t i = 1; i < cats.size(); ++i)
    IRIS_CHECK(cats[i].id != cats[i - 1].id, "coco_evaluate: category id ", cats[i].id, " is listed twice");
  const int64_t I = static_cast<int64_t>(images.size()), K = static_cast<int64_t>(cats.size());

  std::unordered_map<int64_t, int64_t> image_index, cat_index;
  for (int64_t i = 0; i < I; ++i) image_index[images[i]] = i;
  for (int64_t k = 0; k < K; ++k) cat_index[cats[k].id] = k;

  auto check_box = [](const std::array<double, 4>& b, const char* what, size_t n) {
    IRIS_CHECK(std::isfinite(b[0]) && std::isfinite(b[1]) && std::isfinite(b[2]) && std::isfinite(b[3]),
               "coco_evaluate: ", what, "[", n, "] has a non-finite box");
    IRIS_CHECK(b[2] >= 0 && b[3] >= 0, "coco_evaluate: ", what, "[", n, "] has a negative box size ", b[2], " x ",
               b[3]);
  };

  // Group keys k * I + i; -1 drops a detection of an unknown category.
  std::vector<int64_t> gt_keys(gt.size()), dt_keys(detections.size());
  std::unordered_set<int64_t> gt_ids;
  for (size_t n = 0; n < gt.size(); ++n) {
    const CocoGt& g = gt[n];
    IRIS_CHECK(gt_ids.insert(g.id).second, "coco_evaluate: annotation id ", g.id, " appears twice");
    auto ii = image_index.find(g.image_id);
    IRIS_CHECK(ii != image_index.end(), "coco_evaluate: annotation ", g.id, " refers to image ", g.image_id,
               ", which is not in the image list");
    auto kk = cat_index.find(g.category_id);
    IRIS_CHECK(kk != cat_index.end(), "coco_evaluate: annotation ", g.id, " has category ", g.category_id,
               ", which is not in the category list");
    check_box(g.bbox, "gt", n);
    gt_keys[n] = kk->second * I + ii->second;
  }
  CocoEvalResult result;
  for (size_t n = 0; n < detections.size(); ++n) {
    const CocoDet& d = detections[n];
    auto ii = image_index.find(d.image_id);
    IRIS_CHECK(ii != image_index.end(), "coco_evaluate: detection ", n, " refers to image ", d.image_id,
               ", which is not in the ground truth's image list");
    check_box(d.bbox, "detections", n);
    IRIS_CHECK(std::isfinite(d.score), "coco_evaluate: detection ", n, " has a non-finite score");
    auto kk = cat_index.find(d.category_id);
    if (kk == cat_index.end()) {
      dt_keys[n] = -1;
      ++result.ignored_detections;
    } else {
      dt_keys[n] = kk->second * I + ii->second;
    }
  }
  const Groups gt_groups = group(gt_keys, K * I), dt_groups = group(dt_keys, K * I);

  const auto iou_thr = coco_iou_thresholds();
  const auto rec_thr = coco_recall_thresholds();
  result.precision.assign(static_cast<size_t>(T * R * K * A * M), -1.0);
  result.recall.assign(static_cast<size_t>(T * K * A * M), -1.0);

  std::vector<int64_t> dt_order, gt_order;
  std::vector<double> ious;  // [D][G] in the original ground-truth order
  std::vector<int> gt_ignore;
  std::vector<char> gt_taken;
  std::vector<Scored> pooled[A];
  int64_t regular[A];
  for (int64_t k = 0; k < K; ++k) {
    for (int a = 0; a < A; ++a) pooled[a].clear(), regular[a] = 0;
    for (int64_t i = 0; i < I; ++i) {
      const int64_t key = k * I + i;
      const int64_t G = gt_groups.size(key);
      // Detections by descending score, ties in input order, at most 100.
      dt_order.assign(dt_groups.begin(key), dt_groups.begin(key) + dt_groups.size(key));
      std::stable_sort(dt_order.begin(), dt_order.end(),
                       [&](int64_t x, int64_t y) { return detections[x].score > detections[y].score; });
      if (dt_order.size() > static_cast<size_t>(kMaxDets[M - 1])) dt_order.resize(kMaxDets[M - 1]);
      const int64_t D = static_cast<int64_t>(dt_order.size());
      if (G == 0 && D == 0) continue;
      const int64_t* g_idx = gt_groups.begin(key);
      ious.assign(static_cast<size_t>(D * G), 0.0);
      for (int64_t d = 0; d < D; ++d)
        for (int64_t g = 0; g < G; ++g)
          ious[d * G + g] = coco_box_iou(detections[dt_order[d]].bbox, gt[g_idx[g]].bbox, gt[g_idx[g]].iscrowd);

      for (int a = 0; a < A; ++a) {
        // Ground truth: regular first, ignored last, each in input order.
        gt_order.resize(G);
        gt_ignore.assign(G, 0);
        for (int64_t g = 0; g < G; ++g) {
          const CocoGt& o = gt[g_idx[g]];
          bool ignored = o.iscrowd || (options.use_ignore_flag && o.ignore) || out_of_range(o.area, a);
          gt_ignore[g] = ignored ? 1 : 0;
          if (!ignored) ++regular[a];
        }
        std::iota(gt_order.begin(), gt_order.end(), 0);
        std::stable_partition(gt_order.begin(), gt_order.end(), [&](int64_t g) { return gt_ignore[g] == 0; });

        const size_t first = pooled[a].size();
        for (int64_t d = 0; d < D; ++d) {
          Scored s;
          s.score = detections[dt_order[d]].score;
          s.rank = static_cast<int>(d);
          pooled[a].push_back(s);
        }
        for (int t = 0; t < T; ++t) {
          gt_taken.assign(G, 0);
          for (int64_t d = 0; d < D; ++d) {
            double best = std::min(iou_thr[t], 1 - 1e-10);
            int64_t m = -1;  // position in gt_order
            if (G > 0) {
              for (int64_t p = 0; p < G; ++p) {
                int64_t g = gt_order[p];
                if (gt_taken[g] && !gt[g_idx[g]].iscrowd) continue;
                if (m > -1 && gt_ignore[gt_order[m]] == 0 && gt_ignore[g] == 1) break;
                double v = ious[d * G + g];
                if (v < best) continue;
                best = v;
                m = p;
              }
            }
            bool ignored = false, matched = false;
            if (m > -1) {
              int64_t g = gt_order[m];
              gt_taken[g] = 1;
              ignored = gt_ignore[g] != 0;
              matched = gt[g_idx[g]].id != 0;  // pycocotools tests the stored id against 0
            }
            const auto& b = detections[dt_order[d]].bbox;
            if (!matched && out_of_range(b[2] * b[3], a)) ignored = true;
            Scored& s = pooled[a][first + d];
            s.tp[t] = matched && !ignored;
            s.fp[t] = !matched && !ignored;
          }
        }
      }
    }

    // Accumulate this category over all images, per area range and maxDets.
    std::vector<const Scored*> kept;
    std::vector<double> pr;
    for (int a = 0; a < A; ++a) {
      if (regular[a] == 0) continue;  // precision and recall stay -1
      const double npig = static_cast<double>(regular[a]);
      for (int mi = 0; mi < M; ++mi) {
        kept.clear();
        for (const Scored& s : pooled[a])
          if (s.rank < kMaxDets[mi]) kept.push_back(&s);
        std::stable_sort(kept.begin(), kept.end(), [](const Scored* x, const Scored* y) { return x->score > y->score; });
        const int64_t nd = static_cast<int64_t>(kept.size());
        pr.resize(nd);
        std::vector<double> rc(nd);
        for (int t = 0; t < T; ++t) {
          double tp = 0, fp = 0;
          for (int64_t j = 0; j < nd; ++j) {
            tp += kept[j]->tp[t];
            fp += kept[j]->fp[t];
            rc[j] = tp / npig;
            pr[j] = tp / (fp + tp + kEps);
          }
          result.recall[((t * K + k) * A + a) * M + mi] = nd ? rc[nd - 1] : 0.0;
          for (int64_t j = nd - 1; j > 0; --j)
            if (pr[j] > pr[j - 1]) pr[j - 1] = pr[j];
          int64_t j = 0;
          for (int r = 0; r < R; ++r) {
            while (j < nd && rc[j] < rec_thr[r]) ++j;  // searchsorted(rc, thr, side='left')
            result.precision[(((static_cast<int64_t>(t) * R + r) * K + k) * A + a) * M + mi] = j < nd ? pr[j] : 0.0;
          }
        }
      }
    }
  }

  // Summaries: AP over t (or one t), r, k at (a, maxDets); AR over t (or one t), k.
  auto ap = [&](int t_only, int a, int mi) {
    std::vector<double> v;
    for (int t = 0; t < T; ++t) {
      if (t_only >= 0 && t != t_only) continue;
      for (int r = 0; r < R; ++r)
        for (int64_t k = 0; k < K; ++k) v.push_back(result.precision_at(t, r, static_cast<int>(k), a, mi));
    }
    return mean_defined(v);
  };
  auto ar = [&](int a, int mi) {
    std::vector<double> v;
    for (int t = 0; t < T; ++t)
      for (int64_t k = 0; k < K; ++k) v.push_back(result.recall_at(t, static_cast<int>(k), a, mi));
    return mean_defined(v);
  };
  result.category_ids.clear();
  for (const CocoCategory& c : cats) result.category_ids.push_back(c.id), result.category_names.push_back(c.name);
  result.stats = {ap(-1, 0, 2), ap(0, 0, 2), ap(5, 0, 2), ap(-1, 1, 2), ap(-1, 2, 2), ap(-1, 3, 2),
                  ar(0, 0),     ar(0, 1),    ar(0, 2),    ar(1, 2),     ar(2, 2),     ar(3, 2)};
  for (int64_t k = 0; k < K; ++k) {
    std::vector<double> v;
    for (int t = 0; t < T; ++t)
      for (int r = 0; r < R; ++r) v.push_back(result.precision_at(t, r, static_cast<int>(k), 0, 2));
    result.class_ap.push_back(mean_defined(v));
  }
  return result;
}

std::string coco_summary_line(int i, double value) {
  IRIS_CHECK(i >= 0 && i < kCocoStats, "coco_summary_line: index ", i, " is not in [0, ", kCocoStats, ")");
  static const char* iou[kCocoStats] = {"0.50:0.95", "0.50", "0.75", "0.50:0.95", "0.50:0.95", "0.50:0.95",
                                        "0.50:0.95", "0.50:0.95", "0.50:0.95", "0.50:0.95", "0.50:0.95", "0.50:0.95"};
  static const int area[kCocoStats] = {0, 0, 0, 1, 2, 3, 0, 0, 0, 1, 2, 3};
  static const int dets[kCocoStats] = {100, 100, 100, 100, 100, 100, 1, 10, 100, 100, 100, 100};
  bool is_ap = i < 6;
  char buf[160];
  std::snprintf(buf, sizeof buf, " %-18s %s @[ IoU=%-9s | area=%6s | maxDets=%3d ] = %0.3f",
                is_ap ? "Average Precision" : "Average Recall", is_ap ? "(AP)" : "(AR)", iou[i], kAreaNames[area[i]],
                dets[i], value);
  return buf;
}

}  // namespace iris::metrics
