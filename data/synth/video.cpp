// The synthetic video world of video.h: configs, sprite preparation, and generate_video in three
// steps: simulate (motion with bounces and scripted occlusions), render (depth-ordered, far to near)
// and visibility (counted on the drawn pixels); the ground truth as MOT boxes. The re-ID crops cut
// from the videos are video_reid.cpp's. Leaves out: threading (callers generate videos in parallel).
#include "data/synth/video.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <utility>

#include "io/file_util.h"

namespace iris::synth {

namespace {

// ---- random streams --------------------------------------------------------------------------------
// Every random draw of a video comes from SynthRandom(config.seed, stream) with the stream naming
// its purpose, the split and the video (or camera) index, so videos are independent of each other
// and of the order they are made in.
enum StreamPurpose : uint64_t { kLayoutStream = 1, kItemNoiseStream = 2, kCameraStream = 3, kCameraNoiseStream = 4 };
constexpr int64_t kMaxVideoIndex = (int64_t(1) << 40) - 1;

uint64_t stream_id(StreamPurpose purpose, VideoSplit split, int64_t index) {
  return (static_cast<uint64_t>(purpose) << 56) | (static_cast<uint64_t>(split) << 48) |
         static_cast<uint64_t>(index);
}

// Per-pixel noise: word `i` of the stream, a pure function of (seed, stream, i); consecutive
// words share one Philox block, which is cached.
class NoiseField {
 public:
  NoiseField(uint64_t seed, uint64_t stream) : seed_(seed), stream_(stream) {}
  // Approximately N(0, 1): the sum of the word's four bytes (Irwin-Hall, mean 510, std 147.8)
  // standardised. Pixel noise needs no tails, and one Philox block gives four of them.
  float normal(uint64_t i) {
    uint64_t block = i >> 2;
    if (block != cached_) {
      words_ = philox4x32_10({static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32),
                              static_cast<uint32_t>(stream_), static_cast<uint32_t>(stream_ >> 32)},
                             {static_cast<uint32_t>(seed_), static_cast<uint32_t>(seed_ >> 32)});
      cached_ = block;
    }
    uint32_t w = words_[i & 3];
    int sum = static_cast<int>(w & 255u) + static_cast<int>((w >> 8) & 255u) + static_cast<int>((w >> 16) & 255u) +
              static_cast<int>(w >> 24);
    return (static_cast<float>(sum) - 510.0f) * (1.0f / 147.8f);
  }

 private:
  uint64_t seed_, stream_;
  uint64_t cached_ = UINT64_MAX;
  std::array<uint32_t, 4> words_{};
};

// Poisson(lambda) by Knuth's product of uniforms (lambda is small here).
int poisson(SynthRandom& rng, double lambda) {
  if (lambda <= 0) return 0;
  double limit = std::exp(-lambda), product = 1.0;
  int k = 0;
  for (;;) {
    product *= rng.uniform();
    if (product <= limit || k >= 1000) return k;
    ++k;
  }
}

// A smooth random walk in [-1, 1] (AR(1), clamped), one value per frame.
std::vector<double> jitter_walk(SynthRandom& rng, int frames) {
  std::vector<double> walk(frames);
  double e = rng.uniform(-1.0, 1.0);
  for (int t = 0; t < frames; ++t) {
    walk[t] = e;
    e = std::clamp(0.8 * e + 0.35 * rng.normal(), -1.0, 1.0);
  }
  return walk;
}

struct Vec2 {
  double x = 0, y = 0;
};

// Mirrors p into [lo, hi] (a bounce) and points v back inside.
void reflect(double& p, double& v, double lo, double hi) {
  if (hi <= lo) {
    p = 0.5 * (lo + hi);
    v = 0;
    return;
  }
  for (int i = 0; i < 4 && (p < lo || p > hi); ++i) {
    if (p < lo) {
      p = 2 * lo - p;
      v = std::fabs(v);
    }
    if (p > hi) {
      p = 2 * hi - p;
      v = -std::fabs(v);
    }
  }
  p = std::clamp(p, lo, hi);
}

// Constant velocity plus Gaussian velocity noise, bouncing inside [lo, hi]^2; positions[0] = start.
std::vector<Vec2> simulate(Vec2 start, Vec2 velocity, int frames, Vec2 lo, Vec2 hi, double noise, double max_speed,
                           SynthRandom& rng) {
  std::vector<Vec2> positions(frames);
  Vec2 p = start, v = velocity;
  p.x = std::clamp(p.x, lo.x, std::max(lo.x, hi.x));
  p.y = std::clamp(p.y, lo.y, std::max(lo.y, hi.y));
  for (int t = 0; t < frames; ++t) {
    positions[t] = p;
    v.x += noise * rng.normal();
    v.y += noise * rng.normal();
    double speed = std::hypot(v.x, v.y);
    if (speed > max_speed) {
      v.x *= max_speed / speed;
      v.y *= max_speed / speed;
    }
    p.x += v.x;
    p.y += v.y;
    reflect(p.x, v.x, lo.x, hi.x);
    reflect(p.y, v.y, lo.y, hi.y);
  }
  return positions;
}

Vec2 random_velocity(SynthRandom& rng, double min_speed, double max_speed) {
  double speed = rng.uniform(min_speed, max_speed), angle = rng.uniform(0.0, 6.283185307179586);
  return {speed * std::cos(angle), speed * std::sin(angle)};
}

// A velocity that differs from `base` (the occluder's) by U[min_rel, max_rel] pixels per frame in
// a random direction, with a speed of at most max_speed.
Vec2 relative_velocity(SynthRandom& rng, Vec2 base, double min_rel, double max_rel, double max_speed) {
  Vec2 v = base;
  for (int tries = 0; tries < 16; ++tries) {
    Vec2 rel = random_velocity(rng, min_rel, max_rel);
    v = {base.x + rel.x, base.y + rel.y};
    double speed = std::hypot(v.x, v.y);
    if (speed > max_speed) {
      v.x *= max_speed / speed;
      v.y *= max_speed / speed;
    }
    if (std::hypot(v.x - base.x, v.y - base.y) >= 0.8 * min_rel) break;
  }
  return v;
}

// A camera's look: out = offset + gain * item_value + noise, and a view affine shared by all items.
struct CameraStyle {
  double offset = 0, gain = 1, noise = 0;
  double aspect_x = 1, aspect_y = 1, shear = 0;
};

CameraStyle camera_style_of(const VideoConfig& config, int camera) {
  SynthRandom rng(config.seed, stream_id(kCameraStream, config.split, camera));
  double s = config.camera_style;
  CameraStyle style;
  style.offset = s * rng.uniform(0.0, 70.0);
  style.gain = 1.0 - s * rng.uniform(0.0, 0.4);
  style.noise = s * rng.uniform(1.0, 8.0);
  style.aspect_x = 1.0 + s * 0.1 * rng.uniform(-1.0, 1.0);
  style.aspect_y = 1.0 + s * 0.1 * rng.uniform(-1.0, 1.0);
  style.shear = s * 0.1 * rng.uniform(-1.0, 1.0);
  return style;
}

// Where an item is drawn in one frame: its box centre lands on (x, y); the sprite's offsets from
// its box centre are mapped by [[a11, a12], [0, a22]] (scale, aspect, shear; no rotation).
struct Pose {
  double x = 0, y = 0;
  double a11 = 1, a12 = 0, a22 = 1;
  double brightness = 1;
};

// Samples a sprite at sprite coordinates (u, v) (pixel i covers [i, i + 1)). The silhouette is
// nearest-neighbour (crisp, so a rectangle stays a rectangle): false outside it. Inside, the
// intensity is bilinear over the silhouette's pixels only (no dark rim from the background).
bool sample_sprite(const VideoWorld::Sprite& s, const std::vector<float>& premultiplied, double u, double v,
                   float& value) {
  double flu = std::floor(u), flv = std::floor(v);
  if (flu < 0 || flv < 0 || flu >= s.width || flv >= s.height) return false;
  if (!s.solid[static_cast<int>(flv) * s.width + static_cast<int>(flu)]) return false;
  double fx = u - 0.5, fy = v - 0.5;
  double flx = std::floor(fx), fly = std::floor(fy);
  int ix = static_cast<int>(flx), iy = static_cast<int>(fly);
  double wx = fx - flx, wy = fy - fly;
  double alpha = 0, sum = 0;
  for (int dy = 0; dy < 2; ++dy) {
    int y = iy + dy;
    if (y < 0 || y >= s.height) continue;
    double w_row = dy ? wy : 1 - wy;
    for (int dx = 0; dx < 2; ++dx) {
      int x = ix + dx;
      if (x < 0 || x >= s.width) continue;
      double w = w_row * (dx ? wx : 1 - wx);
      int i = y * s.width + x;
      alpha += w * s.solid[i];
      sum += w * premultiplied[i];
    }
  }
  value = static_cast<float>(sum / alpha);  // alpha >= 1/4: the pixel under (u, v) is solid
  return true;
}

// The half extents of a sprite's box under pose matrix (a11, a12, a22), plus a pixel of margin.
Vec2 half_extent(const VideoWorld::Sprite& s, double a11, double a12, double a22) {
  double hw = 0.5 * (s.x1 - s.x0) + 1.0, hh = 0.5 * (s.y1 - s.y0) + 1.0;
  return {std::fabs(a11) * hw + std::fabs(a12) * hh, std::fabs(a22) * hh};
}

// Does the sprite `inner` scaled by r, centred on `outer`'s silhouette centroid moved by (du, dv),
// fall entirely on `outer`'s silhouette eroded by one pixel? (Checked on the corners of inner's
// silhouette pixels, in outer's grid.)
bool covered_by(const VideoWorld::Sprite& outer, const VideoWorld::Sprite& inner, double r, double du = 0,
                double dv = 0) {
  double icx = 0.5 * (inner.x0 + inner.x1), icy = 0.5 * (inner.y0 + inner.y1);
  auto solid_at = [&](int x, int y) {
    return x >= 0 && y >= 0 && x < outer.width && y < outer.height && outer.solid[y * outer.width + x];
  };
  for (int y = inner.y0; y < inner.y1; ++y) {
    for (int x = inner.x0; x < inner.x1; ++x) {
      if (!inner.solid[y * inner.width + x]) continue;
      // The four corners of this pixel, mapped into outer's grid.
      for (int corner = 0; corner < 4; ++corner) {
        double u = outer.center_x + du + r * (x + (corner & 1) - icx);
        double v = outer.center_y + dv + r * (y + (corner >> 1) - icy);
        int ox = static_cast<int>(std::floor(u)), oy = static_cast<int>(std::floor(v));
        for (int dy = -1; dy <= 1; ++dy)
          for (int dx = -1; dx <= 1; ++dx)
            if (!solid_at(ox + dx, oy + dy)) return false;
      }
    }
  }
  return true;
}

// How many frames (up to `limit`) `inner` stays covered while it moves by `step` frame pixels per
// frame relative to `outer`, starting from the hiding spot; outer's pose gives the pixel scale.
int frames_covered(const VideoWorld::Sprite& outer, const VideoWorld::Sprite& inner, double r, const Pose& pose,
                   Vec2 step, int limit) {
  double du = (step.x - pose.a12 * step.y / pose.a22) / pose.a11, dv = step.y / pose.a22;
  int n = 0;
  while (n < limit && covered_by(outer, inner, r, du * (n + 1), dv * (n + 1))) ++n;
  return n;
}

}  // namespace

// ---- configuration --------------------------------------------------------------------------------

const char* video_split_name(VideoSplit split) {
  switch (split) {
    case VideoSplit::train: return "train";
    case VideoSplit::val: return "val";
    case VideoSplit::test: return "test";
  }
  return "?";
}

VideoSplit parse_video_split(const std::string& name) {
  if (name == "train") return VideoSplit::train;
  if (name == "val") return VideoSplit::val;
  if (name == "test") return VideoSplit::test;
  throw Error(cat_str("video split '", name, "' is unknown; use train, val or test"));
}

VideoConfig outrack_video_config(VideoSplit split, uint64_t seed) {
  VideoConfig c;
  c.split = split;
  c.seed = seed;
  return c;
}

VideoConfig pnl_video_config(VideoSplit split, uint64_t seed) {
  VideoConfig c;
  c.split = split;
  c.seed = seed;
  c.size = 64;
  c.min_frames = c.max_frames = 30;
  c.min_items = 2;
  c.max_items = 4;
  c.identities = split == VideoSplit::train ? 600 : 200;
  c.deformation = 0.1;
  c.camera_style = 1.0;
  c.occlusion_rate = 0.5;
  return c;
}

void check_video_config(const VideoConfig& c) {
  const char* op = "VideoConfig: ";
  IRIS_CHECK(c.size >= 16 && c.size <= 1024, op, "size ", c.size, " must be in [16, 1024]");
  IRIS_CHECK(c.min_frames >= 1 && c.min_frames <= c.max_frames && c.max_frames <= 100000, op, "frames [",
             c.min_frames, ", ", c.max_frames, "] must satisfy 1 <= min_frames <= max_frames <= 100000");
  IRIS_CHECK(c.min_items >= 1 && c.min_items <= c.max_items && c.max_items <= 64, op, "items [", c.min_items, ", ",
             c.max_items, "] must satisfy 1 <= min_items <= max_items <= 64");
  IRIS_CHECK(c.identities == -1 || c.identities >= 1, op, "identities ", c.identities, " must be -1 (all) or >= 1");
  IRIS_CHECK(std::isfinite(c.item_min) && std::isfinite(c.item_max) && c.item_min > 0 && c.item_min <= c.item_max &&
                 c.item_max <= 0.8,
             op, "item size [", c.item_min, ", ", c.item_max, "] must satisfy 0 < item_min <= item_max <= 0.8");
  IRIS_CHECK(std::isfinite(c.min_speed) && std::isfinite(c.max_speed) && c.min_speed >= 0 &&
                 c.min_speed <= c.max_speed && c.max_speed <= 20,
             op, "speed [", c.min_speed, ", ", c.max_speed, "] must satisfy 0 <= min_speed <= max_speed <= 20");
  IRIS_CHECK(std::isfinite(c.acceleration_noise) && c.acceleration_noise >= 0 && c.acceleration_noise <= 5, op,
             "acceleration_noise ", c.acceleration_noise, " must be in [0, 5]");
  IRIS_CHECK(std::isfinite(c.appearance_jitter) && c.appearance_jitter >= 0 && c.appearance_jitter <= 0.5, op,
             "appearance_jitter ", c.appearance_jitter, " must be in [0, 0.5]");
  IRIS_CHECK(std::isfinite(c.deformation) && c.deformation >= 0 && c.deformation <= 0.5, op, "deformation ",
             c.deformation, " must be in [0, 0.5]");
  IRIS_CHECK(std::isfinite(c.occlusion_rate) && c.occlusion_rate >= 0 && c.occlusion_rate <= 20, op,
             "occlusion_rate ", c.occlusion_rate, " must be in [0, 20]");
  IRIS_CHECK(c.min_hidden_frames >= 1 && c.min_hidden_frames <= c.max_hidden_frames, op, "hidden frames [",
             c.min_hidden_frames, ", ", c.max_hidden_frames, "] must satisfy 1 <= min <= max");
  IRIS_CHECK(std::isfinite(c.camera_style) && c.camera_style >= 0 && c.camera_style <= 1, op, "camera_style ",
             c.camera_style, " must be in [0, 1]");
  IRIS_CHECK(c.cameras >= 0, op, "cameras ", c.cameras, " must be >= 0 (0: one camera per video)");
}

// ---- the world ------------------------------------------------------------------------------------

namespace {

constexpr int kInk = 8;  // pixels above this are the item; the rest is the data set's background

// The sprite of an h x w u8 image: its silhouette is the ink with holes (background not reachable
// from the border) filled, so an item hides what is behind it everywhere inside its outline.
VideoWorld::Sprite prepare_sprite(const uint8_t* pixels, int h, int w, int64_t identity, int label) {
  VideoWorld::Sprite s;
  s.height = h;
  s.width = w;
  s.identity = identity;
  s.label = label;
  s.value.assign(pixels, pixels + h * w);
  std::vector<uint8_t> outside(h * w, 0);
  std::vector<int> stack;
  auto push = [&](int x, int y) {
    int i = y * w + x;
    if (outside[i] || pixels[i] > kInk) return;
    outside[i] = 1;
    stack.push_back(i);
  };
  for (int x = 0; x < w; ++x) {
    push(x, 0);
    push(x, h - 1);
  }
  for (int y = 0; y < h; ++y) {
    push(0, y);
    push(w - 1, y);
  }
  while (!stack.empty()) {
    int i = stack.back();
    stack.pop_back();
    int x = i % w, y = i / w;
    if (x > 0) push(x - 1, y);
    if (x + 1 < w) push(x + 1, y);
    if (y > 0) push(x, y - 1);
    if (y + 1 < h) push(x, y + 1);
  }
  s.solid.assign(h * w, 0);
  s.x0 = w;
  s.y0 = h;
  double area = 0, sum_x = 0, sum_y = 0;
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      if (outside[y * w + x]) continue;
      s.solid[y * w + x] = 1;
      s.x0 = std::min(s.x0, x);
      s.y0 = std::min(s.y0, y);
      s.x1 = std::max(s.x1, x + 1);
      s.y1 = std::max(s.y1, y + 1);
      area += 1;
      sum_x += x + 0.5;
      sum_y += y + 0.5;
    }
  }
  IRIS_ASSERT(area > 0);  // the worlds admit only items with ink
  s.center_x = sum_x / area;
  s.center_y = sum_y / area;
  s.fill = area / (static_cast<double>(s.x1 - s.x0) * (s.y1 - s.y0));
  return s;
}

bool has_ink(const uint8_t* pixels, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    if (pixels[i] > kInk) return true;
  return false;
}

}  // namespace

VideoWorld::VideoWorld(const ItemBank& bank, const VideoConfig& config) : config_(config), bank_(bank) {
  check_video_config(config_);
  IRIS_CHECK(!bank.empty(), "VideoWorld: the item bank is empty; load it with ItemBank::load(dir, train)");
  for (int64_t i :
       bank.identity_subset(config_.identity_seed, config_.identities, static_cast<int>(config_.split), 3)) {
    if (!has_ink(bank.pixels(i), int64_t(kItemSide) * kItemSide)) continue;
    ids_.push_back(i);
    labels_.push_back(bank.label(i));
  }
  IRIS_CHECK(num_identities() >= config_.max_items, "VideoWorld: the ", video_split_name(config_.split),
             " split has ", num_identities(), " identities, too few for videos of up to max_items = ",
             config_.max_items, " distinct items; ask for more identities or fewer items");
}

VideoWorld::VideoWorld(std::vector<Item> identities, const VideoConfig& config)
    : config_(config), items_(std::move(identities)) {
  check_video_config(config_);
  IRIS_CHECK(static_cast<int64_t>(items_.size()) >= config_.max_items, "VideoWorld: ", items_.size(),
             " identities cannot fill a video of up to max_items = ", config_.max_items,
             " distinct items; ask for more identities or fewer items");
  std::set<int64_t> seen;
  for (size_t n = 0; n < items_.size(); ++n) {
    Item& item = items_[n];
    IRIS_CHECK(item.image.defined() && item.image.dim() == 2 && item.image.dtype() == DType::u8, "VideoWorld: item ",
               n, " needs a u8 [h, w] image, got ",
               item.image.defined() ? shape_str(item.image.shape()) + " " + dtype_name(item.image.dtype())
                                    : std::string("an undefined tensor"));
    IRIS_CHECK(item.image.size(0) >= 1 && item.image.size(1) >= 1 && item.image.size(0) <= 512 &&
                   item.image.size(1) <= 512,
               "VideoWorld: item ", n, " image ", shape_str(item.image.shape()), " must be 1..512 pixels a side");
    IRIS_CHECK(seen.insert(item.index).second, "VideoWorld: identity ", item.index,
               " appears twice; identities (Item::index) must be distinct");
    item.image = item.image.contiguous().clone();  // our own copy: the caller may write into theirs
    IRIS_CHECK(has_ink(item.image.data<uint8_t>(), item.image.numel()), "VideoWorld: item ", n, " (identity ",
               item.index, ") has no pixel above ", kInk, "; blank images cannot be drawn");
    ids_.push_back(item.index);
    labels_.push_back(item.label);
  }
}

int64_t VideoWorld::identity_id(int64_t i) const {
  IRIS_CHECK(i >= 0 && i < num_identities(), "VideoWorld: identity ", i, " is out of range [0, ", num_identities(),
             ")");
  return ids_[i];
}

int VideoWorld::identity_label(int64_t i) const {
  IRIS_CHECK(i >= 0 && i < num_identities(), "VideoWorld: identity ", i, " is out of range [0, ", num_identities(),
             ")");
  return labels_[i];
}

VideoWorld::Sprite VideoWorld::sprite(int64_t i) const {
  IRIS_CHECK(i >= 0 && i < num_identities(), "VideoWorld: identity ", i, " is out of range [0, ", num_identities(),
             ")");
  if (items_.empty()) return prepare_sprite(bank_.pixels(ids_[i]), kItemSide, kItemSide, ids_[i], labels_[i]);
  const Tensor& image = items_[i].image;
  return prepare_sprite(image.data<uint8_t>(), static_cast<int>(image.size(0)), static_cast<int>(image.size(1)),
                        ids_[i], labels_[i]);
}

// ---- generation -----------------------------------------------------------------------------------

Image Video::frame(int t) const {
  IRIS_CHECK(t >= 0 && t < num_frames(), "Video::frame: frame ", t, " is out of range [0, ", num_frames(), ")");
  Image image(height, width, 1);
  Tensor f = frames.select(0, t).contiguous();
  std::memcpy(image.data(), f.data<uint8_t>(), static_cast<size_t>(height) * width);
  return image;
}

namespace {

// What the simulation decides and the renderer draws: per item its sprite, depth and per-frame pose
// (the pose's x, y are the trajectory).
struct VideoScript {
  int frames = 0, items = 0;                 // T, K
  CameraStyle camera;
  std::vector<VideoWorld::Sprite> sprite;    // [K]
  std::vector<int> depth;                    // [K], a permutation, 0 nearest
  std::vector<std::vector<Pose>> pose;       // [K][T]
  std::vector<std::vector<Vec2>> path;       // [K][T], the centres (also in pose)
};

// The layout stream's draws, in order: length and item count, identities, depth order, scales,
// appearance walks, scripted occlusions (appended to video.events), poses and trajectories.
VideoScript simulate_video(const VideoWorld& world, SynthRandom& rng, Video& video) {
  const VideoConfig& cfg = world.config();
  const int size = cfg.size;
  const int T = static_cast<int>(rng.range(cfg.min_frames, cfg.max_frames));
  const int K = static_cast<int>(rng.range(cfg.min_items, cfg.max_items));
  const double unit = size / 96.0;  // speeds are given at size 96
  const double jit = cfg.appearance_jitter, deform = cfg.deformation;
  const CameraStyle camera = camera_style_of(cfg, video.camera);

  // Identities (distinct), depth order (a permutation, 0 nearest) and base scales.
  std::vector<int64_t> who;
  while (static_cast<int>(who.size()) < K) {
    int64_t i = rng.below(world.num_identities());
    if (std::find(who.begin(), who.end(), i) == who.end()) who.push_back(i);
  }
  std::vector<VideoWorld::Sprite> sprite(K);
  for (int k = 0; k < K; ++k) sprite[k] = world.sprite(who[k]);
  std::vector<int> depth(K);
  for (int k = 0; k < K; ++k) depth[k] = k;
  rng.shuffle(depth);
  std::vector<double> scale(K);
  for (int k = 0; k < K; ++k) {
    const VideoWorld::Sprite& s = sprite[k];
    double side = rng.uniform(cfg.item_min, cfg.item_max) * size;
    scale[k] = side / std::max(s.width, s.height);
  }
  // The centre range that keeps item k inside the frame at its largest (pose jitter, deformation,
  // camera view included); items that could not fit are shrunk.
  std::vector<Vec2> lo(K), hi(K);
  auto fit = [&](int k) {
    const VideoWorld::Sprite& s = sprite[k];
    for (int shrink = 0; shrink < 200; ++shrink) {
      double g = scale[k] * (1 + jit);
      Vec2 h = half_extent(s, g * (1 + deform) * camera.aspect_x, g * (0.5 * deform + std::fabs(camera.shear)),
                           g * (1 + deform) * camera.aspect_y);
      lo[k] = {h.x + 1, h.y + 1};
      hi[k] = {size - h.x - 1, size - h.y - 1};
      if (lo[k].x <= hi[k].x && lo[k].y <= hi[k].y) return;
      scale[k] *= 0.95;
    }
  };
  for (int k = 0; k < K; ++k) fit(k);
  // Per-frame appearance walks: scale, brightness, aspect x, aspect y, shear.
  std::vector<std::array<std::vector<double>, 5>> walk(K);
  for (int k = 0; k < K; ++k)
    for (int j = 0; j < 5; ++j) walk[k][j] = jitter_walk(rng, T);

  // Scripted occlusions: a smaller item hides behind a well-filled one for a few frames.
  std::vector<char> in_event(K, 0);
  std::vector<int> occluder_of(K, -1);
  int wanted = std::min(poisson(rng, cfg.occlusion_rate), K / 2);
  constexpr int kLead = 10;  // frames of approach before and departure after a hidden stretch
  for (int e = 0; e < wanted; ++e) {
    std::vector<int> free_items;
    for (int k = 0; k < K; ++k)
      if (!in_event[k]) free_items.push_back(k);
    if (free_items.size() < 2) break;
    int a = rng.pick(free_items);
    int b = a;
    while (b == a) b = rng.pick(free_items);
    if (sprite[b].fill > sprite[a].fill) std::swap(a, b);
    int hidden = static_cast<int>(rng.range(cfg.min_hidden_frames, cfg.max_hidden_frames));
    int first = kLead;
    bool fits = T >= hidden + 2 * kLead;
    if (fits) first = static_cast<int>(rng.range(kLead, T - hidden - kLead));
    const VideoWorld::Sprite& sa = sprite[a];
    const VideoWorld::Sprite& sb = sprite[b];
    double r = std::min(0.7, 0.7 * scale[b] / scale[a] + 0.3);
    bool covered = false;
    for (int tries = 0; tries < 12 && fits; ++tries, r *= 0.88) {
      if (r * scale[a] * std::max(sb.x1 - sb.x0, sb.y1 - sb.y0) < 6.0) break;  // too small to be an item
      if (covered_by(sa, sb, r)) {
        covered = true;
        break;
      }
    }
    if (!covered) continue;
    in_event[a] = in_event[b] = 1;
    occluder_of[b] = a;
    scale[b] = r * scale[a];
    if (depth[a] > depth[b]) std::swap(depth[a], depth[b]);
    video.events.push_back(OcclusionEvent{a + 1, b + 1, first, first + hidden - 1});
    // While hidden, the occludee keeps the occluder's shape changes so it stays covered.
    for (int t = first; t < first + hidden; ++t)
      for (int j : {0, 2, 3, 4}) walk[b][j][t] = walk[a][j][t];
  }

  // Poses: the affine part first (it decides how far from the border each item must stay).
  std::vector<std::vector<Pose>> pose(K, std::vector<Pose>(T));
  for (int k = 0; k < K; ++k) {
    if (occluder_of[k] >= 0) fit(k);  // its scale shrank: a wider range
    for (int t = 0; t < T; ++t) {
      double g = scale[k] * (1 + jit * walk[k][0][t]);
      Pose& p = pose[k][t];
      p.a11 = g * (1 + deform * walk[k][2][t]) * camera.aspect_x;
      p.a22 = g * (1 + deform * walk[k][3][t]) * camera.aspect_y;
      p.a12 = g * (0.5 * deform * walk[k][4][t] + camera.shear);
      p.brightness = 1 + jit * walk[k][1][t];
    }
  }
  // Trajectories: free items first, then the occludees, which follow their occluder while hidden.
  const double noise = cfg.acceleration_noise * unit, max_speed = 1.25 * cfg.max_speed * unit;
  std::vector<std::vector<Vec2>> path(K);
  for (int k = 0; k < K; ++k) {
    if (occluder_of[k] >= 0) continue;
    Vec2 start{rng.uniform(lo[k].x, hi[k].x), rng.uniform(lo[k].y, hi[k].y)};
    path[k] = simulate(start, random_velocity(rng, cfg.min_speed * unit, cfg.max_speed * unit), T, lo[k], hi[k], noise,
                       max_speed, rng);
  }
  // An event planned over frames [first, last]: the occludee locks onto its occluder for the middle
  // of it, and its approach and departure (at a clear relative speed) cover the rest, so it is
  // fully hidden for about last - first + 1 frames. The event keeps the locked frames.
  // The coverage estimate is conservative (it erodes the occluder by a pixel): about kSlack more
  // frames are hidden on each side than it says.
  constexpr int kSlack = 2;
  for (OcclusionEvent& ev : video.events) {
    int a = ev.occluder - 1, b = ev.occludee - 1;
    const VideoWorld::Sprite& sa = sprite[a];
    const VideoWorld::Sprite& sb = sprite[b];
    double r = scale[b] / scale[a];
    int hidden = ev.last_frame - ev.first_frame + 1;
    auto occluder_velocity = [&](int t) {
      int t1 = std::min(t + 1, T - 1), t0 = t1 - 1;
      return Vec2{path[a][t1].x - path[a][t0].x, path[a][t1].y - path[a][t0].y};
    };
    Vec2 va_in = occluder_velocity(ev.first_frame), va_out = occluder_velocity(ev.last_frame);
    // Faster relative motion where a slow crossing alone would outlast the planned stretch.
    Vec2 v_in, v_out;
    int covered_in = 0, covered_out = 0;
    for (double boost : {1.0, 1.5, 2.0, 3.0}) {
      v_in = relative_velocity(rng, va_in, boost * unit, 2 * boost * unit, max_speed);
      v_out = relative_velocity(rng, va_out, boost * unit, 2 * boost * unit, max_speed);
      covered_in = frames_covered(sa, sb, r, pose[a][ev.first_frame], {va_in.x - v_in.x, va_in.y - v_in.y}, T);
      covered_out = frames_covered(sa, sb, r, pose[a][ev.last_frame], {v_out.x - va_out.x, v_out.y - va_out.y}, T);
      if (covered_in + covered_out + 2 * kSlack <= hidden - 1) break;
    }
    int lock_first = ev.first_frame + std::min(covered_in + kSlack, hidden - 1);
    int lock_last = std::max(lock_first, ev.last_frame - covered_out - kSlack);
    ev.first_frame = lock_first;
    ev.last_frame = lock_last;

    double ox = sa.center_x - 0.5 * (sa.x0 + sa.x1), oy = sa.center_y - 0.5 * (sa.y0 + sa.y1);
    path[b].resize(T);
    for (int t = lock_first; t <= lock_last; ++t) {
      const Pose& pa = pose[a][t];
      path[b][t] = {path[a][t].x + pa.a11 * ox + pa.a12 * oy, path[a][t].y + pa.a22 * oy};
    }
    // Approach: a bouncing path run backwards in time from where it hides.
    std::vector<Vec2> back =
        simulate(path[b][lock_first], {-v_in.x, -v_in.y}, lock_first + 1, lo[b], hi[b], noise, max_speed, rng);
    for (int i = 1; i <= lock_first; ++i) path[b][lock_first - i] = back[i];
    // Departure in a new direction.
    std::vector<Vec2> forth = simulate(path[b][lock_last], v_out, T - lock_last, lo[b], hi[b], noise, max_speed, rng);
    for (int i = 1; i < T - lock_last; ++i) path[b][lock_last + i] = forth[i];
  }
  for (int k = 0; k < K; ++k)
    for (int t = 0; t < T; ++t) {
      pose[k][t].x = path[k][t].x;
      pose[k][t].y = path[k][t].y;
    }

  VideoScript script;
  script.frames = T;
  script.items = K;
  script.camera = camera;
  script.sprite = std::move(sprite);
  script.depth = std::move(depth);
  script.pose = std::move(pose);
  script.path = std::move(path);
  return script;
}

// Draws frame t's items far to near into canvas [size * size] (values before the camera) and owner
// [size * size] (1 + the nearest item's index, 0 background), and fills each object's amodal box and
// total silhouette pixels (every silhouette pixel counts, also outside the frame).
void render_items(const VideoScript& script, const std::vector<int>& far_to_near,
                  const std::vector<std::vector<float>>& premultiplied, int t, int size, NoiseField& item_noise,
                  float item_sigma, std::vector<float>& canvas, uint8_t* owner, std::vector<VideoObject>& objects) {
  const int K = script.items;
  const int64_t HW = static_cast<int64_t>(size) * size;
  const std::vector<VideoWorld::Sprite>& sprite = script.sprite;
  const std::vector<int>& depth = script.depth;
  for (int k : far_to_near) {
    const VideoWorld::Sprite& s = sprite[k];
    const Pose& p = script.pose[k][t];
    double cx = 0.5 * (s.x0 + s.x1), cy = 0.5 * (s.y0 + s.y1);
    Vec2 h = half_extent(s, p.a11, p.a12, p.a22);
    int X0 = static_cast<int>(std::floor(p.x - h.x)) - 1, X1 = static_cast<int>(std::ceil(p.x + h.x)) + 1;
    int Y0 = static_cast<int>(std::floor(p.y - h.y)) - 1, Y1 = static_cast<int>(std::ceil(p.y + h.y)) + 1;
    double inv11 = 1.0 / p.a11, inv22 = 1.0 / p.a22, inv12 = -p.a12 / (p.a11 * p.a22);
    VideoObject& o = objects[k];
    o.track_id = k + 1;
    o.identity = s.identity;
    o.label = s.label;
    o.depth = depth[k];
    int bx0 = INT32_MAX, by0 = INT32_MAX, bx1 = INT32_MIN, by1 = INT32_MIN, total = 0;
    uint64_t noise_base = static_cast<uint64_t>(t * K + k) * static_cast<uint64_t>(HW);
    for (int Y = Y0; Y <= Y1; ++Y) {
      double dy = Y + 0.5 - p.y;
      for (int X = X0; X <= X1; ++X) {
        double dx = X + 0.5 - p.x;
        float value;
        if (!sample_sprite(s, premultiplied[k], cx + inv11 * dx + inv12 * dy, cy + inv22 * dy, value)) continue;
        ++total;
        bx0 = std::min(bx0, X);
        by0 = std::min(by0, Y);
        bx1 = std::max(bx1, X + 1);
        by1 = std::max(by1, Y + 1);
        if (X < 0 || Y < 0 || X >= size || Y >= size) continue;
        int64_t i = static_cast<int64_t>(Y) * size + X;
        float v = static_cast<float>(p.brightness) * value;
        if (item_sigma > 0) v += item_sigma * item_noise.normal(noise_base + i);
        canvas[i] = std::clamp(v, 0.0f, 255.0f);
        owner[i] = static_cast<uint8_t>(k + 1);
      }
    }
    if (total == 0) {  // too small to cover a pixel centre: a one-pixel box at its position
      bx0 = static_cast<int>(std::floor(p.x));
      by0 = static_cast<int>(std::floor(p.y));
      bx1 = bx0 + 1;
      by1 = by0 + 1;
    }
    o.x0 = bx0;
    o.y0 = by0;
    o.x1 = bx1;
    o.y1 = by1;
    o.total_pixels = total;
    o.center_x = static_cast<float>(p.x);
    o.center_y = static_cast<float>(p.y);
  }
}

// Visibility from the final ownership of every pixel: visible / total silhouette pixels.
void count_visibility(const uint8_t* owner, int64_t pixels, std::vector<VideoObject>& objects) {
  std::vector<int> visible(objects.size() + 1, 0);
  for (int64_t i = 0; i < pixels; ++i) ++visible[owner[i]];
  for (size_t k = 0; k < objects.size(); ++k) {
    VideoObject& o = objects[k];
    o.visible_pixels = visible[k + 1];
    o.visibility = o.total_pixels > 0 ? static_cast<float>(o.visible_pixels) / o.total_pixels : 0.0f;
  }
}

// The camera: offset + gain * value + noise, rounded to u8 (frame t's noise).
void expose(const std::vector<float>& canvas, const CameraStyle& camera, NoiseField& camera_noise, int t,
            uint8_t* out) {
  const int64_t HW = static_cast<int64_t>(canvas.size());
  const float offset = static_cast<float>(camera.offset), gain = static_cast<float>(camera.gain);
  const float cam_sigma = static_cast<float>(camera.noise);
  uint64_t cam_base = static_cast<uint64_t>(t) * static_cast<uint64_t>(HW);
  for (int64_t i = 0; i < HW; ++i) {
    float v = offset + gain * canvas[i];
    if (cam_sigma > 0) v += cam_sigma * camera_noise.normal(cam_base + i);
    out[i] = static_cast<uint8_t>(std::lround(std::clamp(v, 0.0f, 255.0f)));
  }
}

}  // namespace

Video generate_video(const VideoWorld& world, int64_t index) {
  const VideoConfig& cfg = world.config();
  IRIS_CHECK(index >= 0 && index <= kMaxVideoIndex, "generate_video: index ", index, " must be in [0, 2^40)");
  SynthRandom rng(cfg.seed, stream_id(kLayoutStream, cfg.split, index));

  Video video;
  video.index = index;
  video.split = cfg.split;
  video.camera = cfg.cameras > 0 ? static_cast<int>(index % cfg.cameras) : static_cast<int>(index);
  video.height = video.width = cfg.size;
  const VideoScript script = simulate_video(world, rng, video);
  const int T = script.frames, K = script.items, size = cfg.size;

  // Tracks.
  for (int k = 0; k < K; ++k) {
    const VideoWorld::Sprite& s = script.sprite[k];
    video.tracks.push_back(VideoTrack{k + 1, s.identity, s.label, script.depth[k]});
  }
  std::vector<int> far_to_near(K);
  for (int k = 0; k < K; ++k) far_to_near[k] = k;
  std::sort(far_to_near.begin(), far_to_near.end(), [&](int p, int q) { return script.depth[p] > script.depth[q]; });
  std::vector<std::vector<float>> premultiplied(K);
  for (int k = 0; k < K; ++k) {
    const VideoWorld::Sprite& s = script.sprite[k];
    premultiplied[k].resize(s.value.size());
    for (size_t i = 0; i < s.value.size(); ++i) premultiplied[k][i] = s.value[i] * s.solid[i];
  }

  // Rendering, visibility and the camera, frame by frame.
  const int64_t HW = static_cast<int64_t>(size) * size;
  video.frames = empty({T, size, size}, DType::u8);
  video.owners = empty({T, size, size}, DType::u8);
  uint8_t* frames_out = video.frames.data<uint8_t>();
  uint8_t* owners_out = video.owners.data<uint8_t>();
  NoiseField item_noise(cfg.seed, stream_id(kItemNoiseStream, cfg.split, index));
  NoiseField camera_noise(cfg.seed, stream_id(kCameraNoiseStream, cfg.split, index));
  const float item_sigma = static_cast<float>(cfg.appearance_jitter * 128.0);
  std::vector<float> canvas(HW);
  video.objects.assign(T, std::vector<VideoObject>(K));
  for (int t = 0; t < T; ++t) {
    std::fill(canvas.begin(), canvas.end(), 0.0f);
    uint8_t* owner = owners_out + t * HW;
    std::memset(owner, 0, HW);
    render_items(script, far_to_near, premultiplied, t, size, item_noise, item_sigma, canvas, owner, video.objects[t]);
    count_visibility(owner, HW, video.objects[t]);
    expose(canvas, script.camera, camera_noise, t, frames_out + t * HW);
  }
  for (int t = 0; t < T; ++t)
    for (int k = 0; k < K; ++k) {
      int u = t + 1 < T ? t + 1 : t, w = t + 1 < T ? t : t - 1;
      if (w < 0) continue;
      video.objects[t][k].velocity_x = static_cast<float>(script.path[k][u].x - script.path[k][w].x);
      video.objects[t][k].velocity_y = static_cast<float>(script.path[k][u].y - script.path[k][w].y);
    }
  return video;
}

// ---- MOT files (the format itself is data/mot_format.cpp) -----------------------------------------

std::vector<MotBox> mot_ground_truth(const Video& video) {
  std::vector<MotBox> boxes;
  for (int t = 0; t < video.num_frames(); ++t)
    for (const VideoObject& o : video.objects[t]) {
      MotBox b;
      b.frame = t;
      b.id = o.track_id;
      b.left = o.x0;
      b.top = o.y0;
      b.width = o.x1 - o.x0;
      b.height = o.y1 - o.y0;
      b.conf = 1;
      b.cls = o.label + 1;
      b.visibility = std::round(o.visibility * 1e6) / 1e6;  // six decimals: "0.735160", not float noise
      boxes.push_back(b);
    }
  return boxes;
}

void write_mot(const std::string& path, const Video& video) { write_mot(path, mot_ground_truth(video)); }

}  // namespace iris::synth
