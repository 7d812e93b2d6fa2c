// Re-identification crops cut from the synthetic videos (video.h): the ground-truth (or a tracker's)
// boxes grown by some context to the crop's aspect ratio and resampled, filtered by visibility and
// size, subsets, and the query/gallery split with every query keeping a match in another camera.
// Leaves out: the videos themselves (video.cpp) and the re-ID metrics (metrics/).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <set>
#include <utility>

#include "data/synth/video.h"

namespace iris::synth {

// ---- re-identification crops ----------------------------------------------------------------------

namespace {

// One candidate crop before filtering.
struct CropRequest {
  int video = 0, frame = 0;
  int64_t track_key = 0;  // (video, track id), unique across videos
  double left = 0, top = 0, width = 0, height = 0;
  int64_t identity = -1;
  float visibility = 0;
};

// The box grown by `context` and to the crop's aspect ratio, resampled bilinearly (border pixels
// repeat outside the frame) into out[height * width].
void crop_box(const Video& video, const CropRequest& r, const ReidCropOptions& opt, uint8_t* out) {
  double w = std::max(r.width, 1.0) * (1 + 2 * opt.context), h = std::max(r.height, 1.0) * (1 + 2 * opt.context);
  double aspect = static_cast<double>(opt.height) / opt.width;
  if (h / w < aspect)
    h = w * aspect;
  else
    w = h / aspect;
  double cx = r.left + 0.5 * r.width, cy = r.top + 0.5 * r.height;
  double x0 = cx - 0.5 * w, y0 = cy - 0.5 * h;
  const int H = video.height, W = video.width;
  Tensor frame = video.frames.select(0, r.frame).contiguous();
  const uint8_t* src = frame.data<uint8_t>();
  for (int i = 0; i < opt.height; ++i) {
    double sy = y0 + (i + 0.5) * h / opt.height - 0.5;
    double fy = std::floor(sy), wy = sy - fy;
    int ya = std::clamp(static_cast<int>(fy), 0, H - 1), yb = std::clamp(static_cast<int>(fy) + 1, 0, H - 1);
    for (int j = 0; j < opt.width; ++j) {
      double sx = x0 + (j + 0.5) * w / opt.width - 0.5;
      double fx = std::floor(sx), wx = sx - fx;
      int xa = std::clamp(static_cast<int>(fx), 0, W - 1), xb = std::clamp(static_cast<int>(fx) + 1, 0, W - 1);
      double v = (1 - wy) * ((1 - wx) * src[ya * W + xa] + wx * src[ya * W + xb]) +
                 wy * ((1 - wx) * src[yb * W + xa] + wx * src[yb * W + xb]);
      out[i * opt.width + j] = static_cast<uint8_t>(std::lround(std::clamp(v, 0.0, 255.0)));
    }
  }
}

void check_crop_options(const ReidCropOptions& o) {
  IRIS_CHECK(o.height >= 1 && o.width >= 1 && o.height <= 1024 && o.width <= 1024,
             "extract_reid_crops: crop size ", o.height, " x ", o.width, " must be 1..1024 a side");
  IRIS_CHECK(std::isfinite(o.min_visibility) && o.min_visibility <= 1, "extract_reid_crops: min_visibility ",
             o.min_visibility, " must be <= 1");
  IRIS_CHECK(o.frame_step >= 1, "extract_reid_crops: frame_step ", o.frame_step, " must be >= 1");
  IRIS_CHECK(o.min_track_length >= 1, "extract_reid_crops: min_track_length ", o.min_track_length, " must be >= 1");
  IRIS_CHECK(o.max_per_track >= 0, "extract_reid_crops: max_per_track ", o.max_per_track, " must be >= 0 (0: all)");
  IRIS_CHECK(std::isfinite(o.context) && o.context >= 0 && o.context <= 2, "extract_reid_crops: context ", o.context,
             " must be in [0, 2]");
}

void check_videos(const std::vector<Video>& videos) {
  for (size_t v = 0; v < videos.size(); ++v) {
    const Video& video = videos[v];
    IRIS_CHECK(video.frames.defined() && video.frames.dim() == 3 && video.frames.dtype() == DType::u8 &&
                   video.frames.size(0) == video.num_frames() && video.frames.size(1) == video.height &&
                   video.frames.size(2) == video.width && video.height >= 1 && video.width >= 1,
               "extract_reid_crops: video ", v, " is not a generated video (frames u8 [T, H, W] matching its ",
               video.num_frames(), " frames of ground truth)");
  }
}

// Filters each track's requests (visibility, frame step, length, count) and crops the survivors.
ReidSet crop_requests(const std::vector<Video>& videos, const std::vector<CropRequest>& requests,
                      const ReidCropOptions& opt) {
  // Group by track in order of first appearance; keep the frame order within a track.
  std::vector<int64_t> order_of_tracks;
  std::map<int64_t, std::vector<const CropRequest*>> by_track;
  for (const CropRequest& r : requests) {
    if (r.visibility < opt.min_visibility || r.frame % opt.frame_step != 0) continue;
    auto it = by_track.find(r.track_key);
    if (it == by_track.end()) {
      order_of_tracks.push_back(r.track_key);
      it = by_track.emplace(r.track_key, std::vector<const CropRequest*>{}).first;
    }
    it->second.push_back(&r);
  }
  std::vector<const CropRequest*> kept;
  std::vector<int64_t> tracklet_of_kept;
  int64_t next_tracklet = 0;
  for (int64_t key : order_of_tracks) {
    std::vector<const CropRequest*>& list = by_track[key];
    std::stable_sort(list.begin(), list.end(), [](const CropRequest* a, const CropRequest* b) { return a->frame < b->frame; });
    if (static_cast<int>(list.size()) < opt.min_track_length) continue;
    int n = static_cast<int>(list.size());
    int take = opt.max_per_track > 0 ? std::min(n, opt.max_per_track) : n;
    for (int j = 0; j < take; ++j) {
      int pick = take == n ? j : static_cast<int>((static_cast<int64_t>(j) * (n - 1)) / std::max(1, take - 1));
      if (take == 1) pick = n / 2;
      kept.push_back(list[pick]);
      tracklet_of_kept.push_back(next_tracklet);
    }
    ++next_tracklet;
  }
  ReidSet set;
  int64_t N = static_cast<int64_t>(kept.size());
  set.images = empty({N, 1, opt.height, opt.width}, DType::u8);
  uint8_t* out = N > 0 ? set.images.data<uint8_t>() : nullptr;
  for (int64_t n = 0; n < N; ++n) {
    const CropRequest& r = *kept[n];
    crop_box(videos[r.video], r, opt, out + n * opt.height * opt.width);
    set.identities.push_back(r.identity);
    set.tracklets.push_back(tracklet_of_kept[n]);
    set.cameras.push_back(videos[r.video].camera);
    set.videos.push_back(r.video);
    set.frames.push_back(r.frame);
    set.visibilities.push_back(r.visibility);
  }
  return set;
}

}  // namespace

ReidSet extract_reid_crops(const std::vector<Video>& videos, const ReidCropOptions& options) {
  check_crop_options(options);
  check_videos(videos);
  std::vector<CropRequest> requests;
  for (size_t v = 0; v < videos.size(); ++v) {
    const Video& video = videos[v];
    // Track-major order so tracklets are numbered video by video, track by track.
    int K = video.num_frames() > 0 ? static_cast<int>(video.objects[0].size()) : 0;
    for (int k = 0; k < K; ++k)
      for (int t = 0; t < video.num_frames(); ++t) {
        const VideoObject& o = video.objects[t][k];
        CropRequest r;
        r.video = static_cast<int>(v);
        r.frame = t;
        r.track_key = static_cast<int64_t>(v) * (int64_t(1) << 31) + o.track_id;
        r.left = o.x0;
        r.top = o.y0;
        r.width = o.x1 - o.x0;
        r.height = o.y1 - o.y0;
        r.identity = o.identity;
        r.visibility = o.visibility;
        requests.push_back(r);
      }
  }
  return crop_requests(videos, requests, options);
}

ReidSet extract_reid_crops(const std::vector<Video>& videos, const std::vector<std::vector<MotBox>>& tracks,
                           const ReidCropOptions& options) {
  check_crop_options(options);
  check_videos(videos);
  IRIS_CHECK(tracks.size() == videos.size(), "extract_reid_crops: ", tracks.size(), " track lists for ", videos.size(),
             " videos; pass one list of boxes per video");
  std::vector<CropRequest> requests;
  for (size_t v = 0; v < videos.size(); ++v) {
    const Video& video = videos[v];
    // Track-major order (by id, then frame), as for the ground truth.
    std::vector<MotBox> boxes = tracks[v];
    std::stable_sort(boxes.begin(), boxes.end(),
                     [](const MotBox& a, const MotBox& b) { return a.id != b.id ? a.id < b.id : a.frame < b.frame; });
    for (const MotBox& b : boxes) {
      IRIS_CHECK(b.id >= 0, "extract_reid_crops: video ", v, " frame ", b.frame, " has a box with id ", b.id,
                 "; crops need tracks (ids >= 0), not raw detections");
      IRIS_CHECK(b.frame >= 0 && b.frame < video.num_frames(), "extract_reid_crops: video ", v, " track ", b.id,
                 " has frame ", b.frame, " outside [0, ", video.num_frames(), ")");
      IRIS_CHECK(std::isfinite(b.left) && std::isfinite(b.top) && std::isfinite(b.width) && std::isfinite(b.height) &&
                     b.width > 0 && b.height > 0 && b.width < 1e6 && b.height < 1e6 && std::fabs(b.left) < 1e6 &&
                     std::fabs(b.top) < 1e6,
                 "extract_reid_crops: video ", v, " track ", b.id, " frame ", b.frame, " has a bad box (", b.left, ", ",
                 b.top, ", ", b.width, ", ", b.height, ")");
      CropRequest r;
      r.video = static_cast<int>(v);
      r.frame = b.frame;
      r.track_key = static_cast<int64_t>(v) * (int64_t(1) << 31) + b.id;
      r.left = b.left;
      r.top = b.top;
      r.width = b.width;
      r.height = b.height;
      double best = 0.5;
      for (const VideoObject& o : video.objects[b.frame]) {
        double overlap = iou(b.box(), o.box());
        if (overlap >= best) {
          best = overlap;
          r.identity = o.identity;
          r.visibility = o.visibility;
        }
      }
      requests.push_back(r);
    }
  }
  return crop_requests(videos, requests, options);
}

ReidSet reid_subset(const ReidSet& set, const std::vector<int64_t>& rows) {
  IRIS_CHECK(set.images.defined() && set.images.dim() == 4 && set.images.size(0) == set.size() &&
                 set.tracklets.size() == set.identities.size() && set.cameras.size() == set.identities.size() &&
                 set.videos.size() == set.identities.size() && set.frames.size() == set.identities.size() &&
                 set.visibilities.size() == set.identities.size(),
             "reid_subset: the set's fields disagree in length (images ",
             set.images.defined() ? shape_str(set.images.shape()) : std::string("undefined"), ", ", set.size(),
             " identities)");
  ReidSet out;
  int64_t N = static_cast<int64_t>(rows.size());
  Shape shape = set.images.shape();
  shape[0] = N;
  out.images = empty(shape, DType::u8);
  int64_t per = shape[1] * shape[2] * shape[3];
  Tensor src = set.images.contiguous();
  for (int64_t n = 0; n < N; ++n) {
    int64_t r = rows[n];
    IRIS_CHECK(r >= 0 && r < set.size(), "reid_subset: row ", r, " is out of range [0, ", set.size(), ")");
    std::memcpy(out.images.data<uint8_t>() + n * per, src.data<uint8_t>() + r * per, per);
    out.identities.push_back(set.identities[r]);
    out.tracklets.push_back(set.tracklets[r]);
    out.cameras.push_back(set.cameras[r]);
    out.videos.push_back(set.videos[r]);
    out.frames.push_back(set.frames[r]);
    out.visibilities.push_back(set.visibilities[r]);
  }
  return out;
}

ReidSplit split_query_gallery(const ReidSet& set, int queries_per_camera, uint64_t seed) {
  IRIS_CHECK(queries_per_camera >= 1, "split_query_gallery: queries_per_camera ", queries_per_camera,
             " must be >= 1");
  // identity -> camera -> rows (maps keep the order deterministic).
  std::map<int64_t, std::map<int, std::vector<int64_t>>> rows_of;
  for (int64_t n = 0; n < set.size(); ++n) rows_of[set.identities[n]][set.cameras[n]].push_back(n);
  std::vector<char> is_query(set.size(), 0);
  SynthRandom rng(seed, 0);
  for (auto& [identity, cameras] : rows_of) {
    if (identity < 0 || cameras.size() < 2) continue;
    for (auto& [camera, rows] : cameras) {
      // Leave at least one crop of every camera in the gallery, so every query keeps a match
      // from another camera.
      std::vector<int64_t> shuffled = rows;
      rng.shuffle(shuffled);
      int take = std::min(queries_per_camera, static_cast<int>(rows.size()) - 1);
      for (int j = 0; j < take; ++j) is_query[shuffled[j]] = 1;
    }
  }
  std::vector<int64_t> query, gallery;
  for (int64_t n = 0; n < set.size(); ++n) (is_query[n] ? query : gallery).push_back(n);
  return ReidSplit{reid_subset(set, query), reid_subset(set, gallery)};
}

}  // namespace iris::synth
