// The synthetic video world (OUTrack-mini and PNL-mini): short grey videos of Fashion-MNIST item
// instances that move with constant velocity plus noise, bounce off the borders and occlude each
// other in a fixed random depth order, sometimes fully for several frames. Ground truth per frame:
// amodal boxes, track id, identity (the item instance), visibility measured on the rendered pixels.
// Also: the ground truth as MOTChallenge boxes (the format is data/mot_format.h) and a crop
// extractor that turns tracks into a re-identification set with a Market-1501-style query/gallery split.
// Leaves out: colour, items entering or leaving the frame, camera motion, and any tracker (the
// crop extractor takes tracks from the ground truth or from a tracker's MOT file).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "image/image.h"
#include "data/mot_format.h"
#include "data/synth/items.h"
#include "tensor/tensor.h"

namespace iris::synth {

// ---- configuration -------------------------------------------------------------------------------
// Each split draws its identities from its own block of the item bank (ItemBank::identity_subset
// with 3 parts: train, val, test), so no instance is in two splits.
enum class VideoSplit { train = 0, val = 1, test = 2 };
const char* video_split_name(VideoSplit split);            // "train", "val", "test"
VideoSplit parse_video_split(const std::string& name);     // throws naming the valid names

struct VideoConfig {
  int size = 96;                          // frames are size x size pixels
  int min_frames = 40, max_frames = 60;   // frames per video, uniform in [min, max]
  int min_items = 3, max_items = 7;       // items per video (distinct identities), uniform in [min, max]
  uint64_t seed = 0;                      // everything a video draws: identities, motion, pixels
  VideoSplit split = VideoSplit::train;
  // Identities of this split: the first `identities` instances of the split's block (-1: the whole
  // block). Blocks are cut by identity_seed, which train/val/test worlds must share to stay disjoint.
  int64_t identities = -1;
  uint64_t identity_seed = 0;

  // Items: the 28 x 28 patch is drawn with a side of U[item_min, item_max] * size pixels.
  double item_min = 0.24, item_max = 0.36;
  // Motion, in pixels per frame at size 96 (scaled by size / 96): initial speed U[min, max] in a
  // uniform direction, then Gaussian velocity noise (std acceleration_noise) every frame.
  double min_speed = 0.5, max_speed = 1.8;
  double acceleration_noise = 0.05;
  // Per-frame appearance changes, drawn as a smooth random walk in [-1, 1] per item:
  //   scale 1 +- appearance_jitter, brightness 1 +- appearance_jitter, and pixel noise of std
  //   appearance_jitter * 128 on the item's pixels.
  double appearance_jitter = 0.05;
  // Per-frame affine deformation (aspect ratio and shear), +- deformation (PNL-mini: 0.1).
  double deformation = 0.0;
  // Scripted full occlusions: each video gets Poisson(occlusion_rate) events (at most one per pair
  // of items) in which a smaller item walks behind a larger one and stays hidden for
  // U[min_hidden_frames, max_hidden_frames] frames before it leaves in a new direction. Crossings
  // of the other items give partial (and occasionally full) occlusions on their own.
  double occlusion_rate = 1.0;
  int min_hidden_frames = 3, max_hidden_frames = 10;
  // Camera styles: video i is filmed by camera i (cameras = 0) or i % cameras. A camera has a
  // background level, a gain, pixel noise and a fixed view affine (aspect, shear), all scaled by
  // camera_style (0: black background, no noise, no view change; 1: strong, PNL-mini's styles).
  double camera_style = 0.0;
  int cameras = 0;
};

// OUTrack-mini (papers/outrack.md 5.5): 96 x 96, 40-60 frames, 3-7 items, +-5% appearance jitter.
VideoConfig outrack_video_config(VideoSplit split, uint64_t seed);
// PNL-mini (papers/pnl.md 4.6): 64 x 64, 30 frames, 2-4 items, affine +-10%, per-camera styles;
// 600 training identities and 200 held-out (test) ones, so identities recur across videos.
VideoConfig pnl_video_config(VideoSplit split, uint64_t seed);

// Throws iris::Error naming the first inconsistent field (sizes, ranges, rates).
void check_video_config(const VideoConfig& config);

// ---- the world -----------------------------------------------------------------------------------
// The identities a config draws from. Each video prepares the few it shows (silhouettes with their
// holes filled) when it is made, so a world over thousands of identities is cheap to build.
// Generating videos only reads the world, so one world may serve several threads.
class VideoWorld {
 public:
  // The split's identities from `bank` (see VideoConfig::identities); items without ink are skipped.
  VideoWorld(const ItemBank& bank, const VideoConfig& config);
  // Explicit identities (tests, custom item sets); identity ids are the items' `index` fields and
  // must be distinct. Images must be u8 [h, w] (1..512 a side) with ink (a pixel above 8).
  VideoWorld(std::vector<Item> identities, const VideoConfig& config);

  const VideoConfig& config() const { return config_; }
  int64_t num_identities() const { return static_cast<int64_t>(ids_.size()); }
  int64_t identity_id(int64_t i) const;  // the item instance (bank index) of identity i
  int identity_label(int64_t i) const;   // its Fashion-MNIST class

  // One identity ready to draw: intensities and an opaque silhouette on the item's own grid.
  struct Sprite {
    int height = 0, width = 0;
    std::vector<float> value;       // [height * width], 0..255
    std::vector<uint8_t> solid;     // [height * width], 1 inside the silhouette (holes filled)
    int x0 = 0, y0 = 0, x1 = 0, y1 = 0;  // tight box of the silhouette (x1/y1 exclusive)
    double center_x = 0, center_y = 0;   // centroid of the silhouette
    double fill = 0;                     // silhouette area / box area
    int64_t identity = 0;
    int label = 0;
  };
  Sprite sprite(int64_t i) const;  // prepared on each call

 private:
  VideoConfig config_;
  ItemBank bank_;               // identities drawn from a bank: identity i is bank item ids_[i]
  std::vector<Item> items_;     // explicit identities (then bank_ is empty)
  std::vector<int64_t> ids_;    // identity ids
  std::vector<int> labels_;
};

// ---- a video -------------------------------------------------------------------------------------
// One item in one frame. Boxes are amodal (the whole item, also where it is hidden) and tight
// around the item's rendered silhouette, in 0-based pixels: columns [x0, x1), rows [y0, y1).
struct VideoObject {
  int track_id = 0;          // 1-based, unique within the video (as in MOT files)
  int64_t identity = 0;      // the item instance; the same in every video it appears in
  int label = 0;             // Fashion-MNIST class
  int x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  int depth = 0;             // 0 is nearest to the camera
  int total_pixels = 0;      // silhouette pixels when drawn alone
  int visible_pixels = 0;    // of those, the ones no nearer item covers (and inside the frame)
  float visibility = 0;      // visible_pixels / total_pixels
  float center_x = 0, center_y = 0;      // the trajectory point (centre of the item's box, sub-pixel)
  float velocity_x = 0, velocity_y = 0;  // pixels per frame from this frame to the next
  Box box() const { return {double(x0), double(y0), double(x1), double(y1)}; }
};

struct VideoTrack {
  int track_id = 0;
  int64_t identity = 0;
  int label = 0;
  int depth = 0;
};

// A scripted full occlusion: `occludee` moves with `occluder`, entirely behind it, in frames
// [first, last] (0-based, both included) by construction. Its approach and departure behind the
// occluder add a few hidden frames on either side, so that it is hidden for about
// U[min_hidden_frames, max_hidden_frames] frames in all; the visibility ground truth says exactly.
struct OcclusionEvent {
  int occluder = 0, occludee = 0;  // track ids
  int first_frame = 0, last_frame = 0;
};

struct Video {
  int64_t index = 0;
  VideoSplit split = VideoSplit::train;
  int camera = 0;
  int height = 0, width = 0;
  Tensor frames;                                // u8 [T, H, W]
  Tensor owners;                                // u8 [T, H, W]: track id seen at each pixel, 0 = background
  std::vector<VideoTrack> tracks;               // by track id (tracks[i].track_id == i + 1)
  std::vector<std::vector<VideoObject>> objects;  // [T][tracks], each frame's objects by track id
  std::vector<OcclusionEvent> events;

  int num_frames() const { return static_cast<int>(objects.size()); }
  Image frame(int t) const;  // frame t as a grey image (a copy)
};

// Video `index` of the world's config: a pure function of (config, index), the same bytes every
// time and on every thread. index >= 0.
Video generate_video(const VideoWorld& world, int64_t index);

// ---- MOTChallenge text files ---------------------------------------------------------------------
// The format (MotBox, format_mot, write_mot, parse_mot, read_mot) is data/mot_format.h; these are
// the video's ground truth in it.
using data::format_mot;
using data::MotBox;
using data::parse_mot;
using data::read_mot;
using data::write_mot;

// The ground truth of a video as MOT boxes: every object of every frame (also fully hidden ones),
// conf 1, class label + 1, visibility rounded to six decimals.
std::vector<MotBox> mot_ground_truth(const Video& video);
void write_mot(const std::string& path, const Video& video);

// ---- re-identification crops ---------------------------------------------------------------------
struct ReidCropOptions {
  int height = 32, width = 32;   // crop size in pixels
  float min_visibility = 0.5f;   // boxes less visible than this are skipped
  int frame_step = 1;            // keep every frame_step-th frame of a track (PNL-mini: 2)
  int min_track_length = 1;      // tracks with fewer kept crops are dropped (PNL-mini: 8)
  int max_per_track = 0;         // > 0: at most this many crops per track, evenly spaced in time
  // The box is grown to the crop's aspect ratio (around its centre) and by `context` of its size
  // on each side, then resized; pixels outside the frame read as the frame's background (0).
  float context = 0.1f;
};

// A set of crops with everything a re-ID evaluation or a noisy-label pre-training needs.
struct ReidSet {
  Tensor images;                    // u8 [N, 1, height, width]
  std::vector<int64_t> identities;  // true item instance; -1 for a tracker box matching no object
  std::vector<int64_t> tracklets;   // one label per (video, track): 0, 1, ... in order of appearance
  std::vector<int> cameras;         // the video's camera
  std::vector<int> videos;          // position of the video in the input list
  std::vector<int> frames;          // 0-based frame index
  std::vector<float> visibilities;  // of the matched ground-truth object (0 when none)
  int64_t size() const { return static_cast<int64_t>(identities.size()); }
};

// Crops of the ground-truth tracks of `videos`.
ReidSet extract_reid_crops(const std::vector<Video>& videos, const ReidCropOptions& options = {});
// Crops of the given tracks (e.g. a tracker's output from read_mot), one box list per video. A
// box's identity and visibility come from the ground-truth object it overlaps most (IoU >= 0.5),
// else -1 and 0; min_visibility then applies to that visibility.
ReidSet extract_reid_crops(const std::vector<Video>& videos, const std::vector<std::vector<MotBox>>& tracks,
                           const ReidCropOptions& options = {});

// Rows `rows` of `set`, in that order.
ReidSet reid_subset(const ReidSet& set, const std::vector<int64_t>& rows);

// Market-1501's protocol: for every identity seen by two or more cameras, `queries_per_camera`
// crops per (identity, camera) become queries (picked by `seed`); every other crop is gallery. So
// each query has a true match in the gallery from another camera. Identities seen by one camera
// (and identity -1) stay in the gallery as distractors. Evaluation ignores gallery crops of the
// query's own identity and camera, as Market-1501's does.
struct ReidSplit {
  ReidSet query, gallery;
};
ReidSplit split_query_gallery(const ReidSet& set, int queries_per_camera = 1, uint64_t seed = 0);

}  // namespace iris::synth
