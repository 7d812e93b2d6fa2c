// The synthetic video world: determinism, visibility against the rendered pixels, full occlusions,
// boxes inside the frame, constant velocity and bounces, MOT files (round trip, 1-based fields,
// malformed lines), re-ID crops and the query/gallery camera rule, config errors.
// Most tests use drawn sprites (rectangles, ellipses) so they need no data set; the ones that need
// Fashion-MNIST (identity splits of the bank, occlusions of real items) skip when it is missing.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>

#include "io/file_util.h"
#include "data/idx.h"
#include "data/synth/video.h"
#include "tests/helpers.h"

using namespace iris;
using namespace iris::synth;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char pattern[] = "/tmp/iris_test_video_XXXXXX";
    char* made = mkdtemp(pattern);
    REQUIRE(made != nullptr);
    path = made;
  }
  ~TempDir() {
    std::string cmd = "rm -rf '" + path + "'";
    if (std::system(cmd.c_str()) != 0) std::fprintf(stderr, "could not remove %s\n", path.c_str());
  }
  std::string file(const std::string& name) const { return path + "/" + name; }
};

// A 28 x 28 item: a filled axis-aligned rectangle of one intensity (edges exact after resampling).
Item rectangle_item(int64_t identity, int width, int height, uint8_t intensity) {
  std::vector<uint8_t> pixels(28 * 28, 0);
  int x0 = (28 - width) / 2, y0 = (28 - height) / 2;
  for (int y = y0; y < y0 + height; ++y)
    for (int x = x0; x < x0 + width; ++x) pixels[y * 28 + x] = intensity;
  Item item;
  item.image = from_vector(pixels, {28, 28});
  item.label = static_cast<int>(identity % 10);
  item.index = identity;
  item.x0 = x0;
  item.y0 = y0;
  item.x1 = x0 + width;
  item.y1 = y0 + height;
  return item;
}

// A textured ellipse, like an item of clothing in size and fill.
Item ellipse_item(int64_t identity, double rx, double ry) {
  std::vector<uint8_t> pixels(28 * 28, 0);
  for (int y = 0; y < 28; ++y)
    for (int x = 0; x < 28; ++x) {
      double dx = (x + 0.5 - 14) / rx, dy = (y + 0.5 - 14) / ry;
      if (dx * dx + dy * dy <= 1) pixels[y * 28 + x] = static_cast<uint8_t>(90 + (x * 7 + y * 13 + identity * 29) % 160);
    }
  Item item;
  item.image = from_vector(pixels, {28, 28});
  item.label = static_cast<int>(identity % 10);
  item.index = identity;
  item.x1 = item.y1 = 28;
  return item;
}

std::vector<Item> ellipse_items(int count) {
  std::vector<Item> items;
  for (int i = 0; i < count; ++i) items.push_back(ellipse_item(1000 + i, 6 + (i * 5) % 8, 6 + (i * 3) % 8));
  return items;
}

// Distinct intensities, so a pixel's value says which item it shows.
std::vector<Item> rectangle_items(int count) {
  std::vector<Item> items;
  for (int i = 0; i < count; ++i)
    items.push_back(rectangle_item(i, 8 + (i * 5) % 14, 8 + (i * 7) % 14, static_cast<uint8_t>(40 + 20 * i)));
  return items;
}

// A world whose pixels are exact: no jitter, noise, deformation or camera style.
VideoConfig exact_config(uint64_t seed) {
  VideoConfig c;
  c.seed = seed;
  c.min_frames = 20;
  c.max_frames = 30;
  c.appearance_jitter = 0;
  c.acceleration_noise = 0;
  return c;
}

bool fashion_mnist_available() {
  std::string dir = data::fashion_mnist_dir();
  return path_exists(dir + "/train-images-idx3-ubyte.gz") || path_exists(dir + "/train-images-idx3-ubyte");
}

int count_owner(const Video& v, int t, int track) {
  Tensor o = v.owners.select(0, t).contiguous();
  const uint8_t* p = o.data<uint8_t>();
  int n = 0;
  for (int i = 0; i < v.height * v.width; ++i) n += p[i] == track;
  return n;
}

// Longest run of frames in which the track's visibility is exactly 0.
int longest_hidden_run(const Video& v, int track) {
  int best = 0, run = 0;
  for (int t = 0; t < v.num_frames(); ++t) {
    run = v.objects[t][track - 1].visibility == 0.0f ? run + 1 : 0;
    best = std::max(best, run);
  }
  return best;
}

bool same_video(const Video& a, const Video& b) {
  if (a.num_frames() != b.num_frames() || a.camera != b.camera || a.tracks.size() != b.tracks.size()) return false;
  if (a.frames.to_vector<uint8_t>() != b.frames.to_vector<uint8_t>()) return false;
  if (a.owners.to_vector<uint8_t>() != b.owners.to_vector<uint8_t>()) return false;
  for (int t = 0; t < a.num_frames(); ++t)
    for (size_t k = 0; k < a.objects[t].size(); ++k) {
      const VideoObject &p = a.objects[t][k], &q = b.objects[t][k];
      if (p.identity != q.identity || p.x0 != q.x0 || p.y0 != q.y0 || p.x1 != q.x1 || p.y1 != q.y1 ||
          p.visibility != q.visibility || p.center_x != q.center_x || p.center_y != q.center_y)
        return false;
    }
  return true;
}

}  // namespace

TEST_CASE("same seed and index give the same bytes; other seeds and indices differ") {
  VideoConfig config = outrack_video_config(VideoSplit::train, 7);
  config.camera_style = 0.5;  // exercise the camera noise too
  VideoWorld world(ellipse_items(12), config);
  Video a = generate_video(world, 3);
  Video other = generate_video(world, 4);  // made in between: videos are independent
  VideoWorld world_again(ellipse_items(12), config);
  Video b = generate_video(world_again, 3);
  CHECK(same_video(a, b));
  CHECK_FALSE(same_video(a, other));
  config.seed = 8;
  CHECK_FALSE(same_video(a, generate_video(VideoWorld(ellipse_items(12), config), 3)));
  CHECK(format_mot(mot_ground_truth(a)) == format_mot(mot_ground_truth(b)));
}

TEST_CASE("videos follow the config: frames, items, distinct identities, track ids, shapes") {
  VideoConfig config = outrack_video_config(VideoSplit::train, 1);
  VideoWorld world(ellipse_items(10), config);
  std::set<int> lengths, counts;
  for (int i = 0; i < 12; ++i) {
    Video v = generate_video(world, i);
    CHECK(v.index == i);
    CHECK(v.camera == i);  // cameras = 0: one camera per video
    CHECK(v.num_frames() >= 40);
    CHECK(v.num_frames() <= 60);
    CHECK(v.tracks.size() >= 3);
    CHECK(v.tracks.size() <= 7);
    lengths.insert(v.num_frames());
    counts.insert(static_cast<int>(v.tracks.size()));
    CHECK(v.frames.shape() == Shape{v.num_frames(), 96, 96});
    CHECK(v.owners.shape() == Shape{v.num_frames(), 96, 96});
    std::set<int64_t> ids;
    std::set<int> depths;
    for (size_t k = 0; k < v.tracks.size(); ++k) {
      CHECK(v.tracks[k].track_id == static_cast<int>(k) + 1);
      ids.insert(v.tracks[k].identity);
      depths.insert(v.tracks[k].depth);
    }
    CHECK(ids.size() == v.tracks.size());
    CHECK(depths.size() == v.tracks.size());
    for (const auto& frame : v.objects) {
      REQUIRE(frame.size() == v.tracks.size());
      for (size_t k = 0; k < frame.size(); ++k) {
        CHECK(frame[k].track_id == static_cast<int>(k) + 1);
        CHECK(frame[k].identity == v.tracks[k].identity);
      }
    }
  }
  CHECK(lengths.size() > 3);  // lengths and counts vary
  CHECK(counts.size() > 2);
  config.cameras = 3;
  CHECK(generate_video(VideoWorld(ellipse_items(10), config), 7).camera == 1);
}

TEST_CASE("visibility and boxes match the rendered pixels") {
  // Rectangles of distinct intensities and no noise: a pixel's value names the item it shows, so
  // the frame itself says who is visible where, independently of the owner map.
  std::vector<Item> items = rectangle_items(8);
  VideoWorld world(items, exact_config(3));
  std::map<int64_t, int> intensity;
  for (const Item& it : items) intensity[it.index] = it.image.to_vector<uint8_t>()[14 * 28 + 14];
  int partly = 0, checked = 0, mismatches = 0;
  for (int i = 0; i < 4; ++i) {
    Video v = generate_video(world, i);
    std::vector<uint8_t> frames = v.frames.to_vector<uint8_t>(), owners = v.owners.to_vector<uint8_t>();
    const int HW = v.height * v.width;
    for (int t = 0; t < v.num_frames(); ++t) {
      std::map<int, int> value_to_track;
      for (const VideoTrack& tr : v.tracks) value_to_track[intensity[tr.identity]] = tr.track_id;
      std::map<int, int> seen;  // track -> pixels showing its intensity
      std::map<int, std::array<int, 4>> tight;
      for (int i2 = 0; i2 < HW; ++i2) {
        int value = frames[t * HW + i2], owner = owners[t * HW + i2];
        int track = value == 0 ? 0 : (value_to_track.count(value) ? value_to_track[value] : -1);
        mismatches += track != owner;  // every pixel is background or exactly one item's intensity
        if (track > 0) {
          ++seen[track];
          auto& b = tight.try_emplace(track, std::array<int, 4>{1 << 30, 1 << 30, -1, -1}).first->second;
          int x = i2 % v.width, y = i2 / v.width;
          b = {std::min(b[0], x), std::min(b[1], y), std::max(b[2], x + 1), std::max(b[3], y + 1)};
        }
      }
      for (const VideoObject& o : v.objects[t]) {
        ++checked;
        // A rectangle's silhouette fills its box, so the total is the box area.
        CHECK(o.total_pixels == (o.x1 - o.x0) * (o.y1 - o.y0));
        CHECK(o.visible_pixels == seen[o.track_id]);
        CHECK(o.visibility == doctest::Approx(double(seen[o.track_id]) / o.total_pixels).epsilon(1e-6));
        if (o.visibility == 1.0f) {
          CHECK(tight[o.track_id] == std::array<int, 4>{o.x0, o.y0, o.x1, o.y1});
        } else if (o.visible_pixels > 0) {
          ++partly;
          auto b = tight[o.track_id];  // what shows lies inside the amodal box
          CHECK(b[0] >= o.x0);
          CHECK(b[1] >= o.y0);
          CHECK(b[2] <= o.x1);
          CHECK(b[3] <= o.y1);
        }
      }
    }
  }
  CHECK(mismatches == 0);
  CHECK(checked > 300);
  CHECK(partly > 0);  // partial occlusions were exercised
}

TEST_CASE("visibility counts owners and amodal boxes hold the silhouettes under jitter and camera styles") {
  VideoConfig config = pnl_video_config(VideoSplit::train, 5);
  config.identities = -1;
  VideoWorld world(ellipse_items(10), config);
  for (int i = 0; i < 4; ++i) {
    Video v = generate_video(world, i);
    CHECK(v.height == 64);
    CHECK(v.num_frames() == 30);
    std::vector<uint8_t> owners = v.owners.to_vector<uint8_t>();
    for (int t = 0; t < v.num_frames(); t += 3)
      for (const VideoObject& o : v.objects[t]) {
        CHECK(o.visible_pixels == count_owner(v, t, o.track_id));
        CHECK(o.total_pixels > 0);
        CHECK(o.visible_pixels <= o.total_pixels);
        int outside = 0;
        for (int y = 0; y < v.height; ++y)
          for (int x = 0; x < v.width; ++x)
            if (owners[(t * v.height + y) * v.width + x] == o.track_id)
              outside += x < o.x0 || x >= o.x1 || y < o.y0 || y >= o.y1;
        CHECK(outside == 0);
      }
  }
}

TEST_CASE("full occlusions over several frames occur, and scripted ones hide the item completely") {
  VideoWorld world(ellipse_items(14), outrack_video_config(VideoSplit::train, 11));
  int events = 0, long_hidden = 0, partial = 0, seen_around = 0, planned_length = 0;
  for (int i = 0; i < 10; ++i) {
    Video v = generate_video(world, i);
    for (const OcclusionEvent& e : v.events) {
      ++events;
      CHECK(e.last_frame >= e.first_frame);
      CHECK(e.last_frame - e.first_frame + 1 <= 10);
      // The whole hidden stretch (approach and departure included) is about 3 to 10 frames.
      int first = e.first_frame, last = e.last_frame;
      while (first > 0 && v.objects[first - 1][e.occludee - 1].visibility == 0.0f) --first;
      while (last + 1 < v.num_frames() && v.objects[last + 1][e.occludee - 1].visibility == 0.0f) ++last;
      planned_length += last - first + 1 >= 2 && last - first + 1 <= 14;
      CHECK(v.tracks[e.occluder - 1].depth < v.tracks[e.occludee - 1].depth);
      for (int t = e.first_frame; t <= e.last_frame; ++t) CHECK(v.objects[t][e.occludee - 1].visibility == 0.0f);
      // Seen before and after: the item walks in and out.
      bool seen_before = false, seen_after = false;
      for (int t = 0; t < e.first_frame; ++t) seen_before |= v.objects[t][e.occludee - 1].visibility > 0.5f;
      for (int t = e.last_frame + 1; t < v.num_frames(); ++t) seen_after |= v.objects[t][e.occludee - 1].visibility > 0.5f;
      seen_around += seen_before && seen_after;
    }
    for (const VideoTrack& tr : v.tracks) long_hidden += longest_hidden_run(v, tr.track_id) >= 3;
    for (const auto& frame : v.objects)
      for (const VideoObject& o : frame) partial += o.visibility > 0.0f && o.visibility < 0.9f;
  }
  CHECK(events >= 5);
  CHECK(seen_around >= events * 3 / 4);  // mostly: other items may hide it too
  CHECK(planned_length >= events * 3 / 4);
  CHECK(long_hidden >= 5);
  CHECK(partial > 50);
  // occlusion_rate 0: no scripted events.
  VideoConfig calm = outrack_video_config(VideoSplit::train, 11);
  calm.occlusion_rate = 0;
  for (int i = 0; i < 5; ++i) CHECK(generate_video(VideoWorld(ellipse_items(14), calm), i).events.empty());
}

TEST_CASE("boxes stay inside the frame and MOT boxes are 1-based") {
  VideoConfig config = outrack_video_config(VideoSplit::test, 2);
  config.item_min = 0.4;  // large items press against the borders
  config.item_max = 0.6;
  config.deformation = 0.2;
  config.camera_style = 1;
  VideoWorld world(ellipse_items(10), config);
  for (int i = 0; i < 6; ++i) {
    Video v = generate_video(world, i);
    for (const auto& frame : v.objects)
      for (const VideoObject& o : frame) {
        CHECK(o.x0 >= 0);
        CHECK(o.y0 >= 0);
        CHECK(o.x1 <= v.width);
        CHECK(o.y1 <= v.height);
        CHECK(o.x1 > o.x0);
        CHECK(o.y1 > o.y0);
      }
    for (const MotBox& b : parse_mot(format_mot(mot_ground_truth(v)))) {
      CHECK(b.left >= 0);
      CHECK(b.left + b.width <= v.width);
    }
    // The first line holds frame 1, track 1 with 1-based left/top.
    std::string text = format_mot(mot_ground_truth(v));
    std::string first = text.substr(0, text.find('\n'));
    const VideoObject& o = v.objects[0][0];
    std::string expected_prefix = cat_str("1,1,", o.x0 + 1, ",", o.y0 + 1, ",", o.x1 - o.x0, ",", o.y1 - o.y0, ",1,",
                                          o.label + 1, ",");
    CHECK(first.substr(0, expected_prefix.size()) == expected_prefix);
    CHECK(std::stod(first.substr(expected_prefix.size())) == doctest::Approx(o.visibility));
  }
}

TEST_CASE("motion: constant velocity between bounces, reversal at the borders") {
  VideoConfig config = exact_config(4);
  config.occlusion_rate = 0;
  config.min_frames = config.max_frames = 60;
  config.min_speed = 1.5;
  config.max_speed = 3.0;
  VideoWorld world(ellipse_items(10), config);
  int bounces = 0, steady = 0;
  for (int i = 0; i < 6; ++i) {
    Video v = generate_video(world, i);
    for (size_t k = 0; k < v.tracks.size(); ++k) {
      for (int t = 0; t + 1 < v.num_frames(); ++t) {
        CHECK(v.objects[t][k].velocity_x == doctest::Approx(v.objects[t + 1][k].center_x - v.objects[t][k].center_x));
        CHECK(v.objects[t][k].velocity_y == doctest::Approx(v.objects[t + 1][k].center_y - v.objects[t][k].center_y));
      }
      for (int axis = 0; axis < 2; ++axis) {
        auto pos = [&](int t) -> double { return axis == 0 ? v.objects[t][k].center_x : v.objects[t][k].center_y; };
        std::vector<double> speeds;  // |displacement| of the steps between bounces
        for (int t = 1; t + 1 < v.num_frames(); ++t) {
          double before = pos(t) - pos(t - 1), after = pos(t + 1) - pos(t);
          if (std::fabs(after - before) < 1e-3) {
            ++steady;
            speeds.push_back(std::fabs(after));
            continue;
          }
          // A change of velocity is a bounce: the box is within a step of a border.
          ++bounces;
          const VideoObject& o = v.objects[t][k];
          int lo = axis == 0 ? o.x0 : o.y0, hi = axis == 0 ? o.x1 : o.y1, side = axis == 0 ? v.width : v.height;
          double reach = std::fabs(before) + 5;
          CHECK((lo <= reach || hi >= side - reach));
        }
        // Constant speed along the axis: bounces flip the direction, never the speed.
        for (double sp : speeds) CHECK(sp == doctest::Approx(speeds.front()).epsilon(1e-3));
      }
    }
  }
  CHECK(bounces > 10);
  CHECK(steady > 5 * bounces);
}

TEST_CASE("MOT files: round trip, field conventions, results lines") {
  VideoWorld world(ellipse_items(10), outrack_video_config(VideoSplit::train, 9));
  Video v = generate_video(world, 0);
  TempDir tmp;
  std::string path = tmp.file("gt.txt");
  write_mot(path, v);
  std::vector<MotBox> expected = mot_ground_truth(v), got = read_mot(path);
  REQUIRE(got.size() == expected.size());
  REQUIRE(got.size() == v.tracks.size() * v.num_frames());
  for (size_t i = 0; i < got.size(); ++i) {
    CHECK(got[i].frame == expected[i].frame);
    CHECK(got[i].id == expected[i].id);
    CHECK(got[i].left == expected[i].left);
    CHECK(got[i].top == expected[i].top);
    CHECK(got[i].width == expected[i].width);
    CHECK(got[i].height == expected[i].height);
    CHECK(got[i].conf == 1);
    CHECK(got[i].cls == expected[i].cls);
    CHECK(got[i].visibility == expected[i].visibility);  // exact: shortest round-trip decimals
  }
  CHECK(format_mot(got) == read_file(path));  // and the same bytes again

  // A MOT17-style line (1-based pixels), CRLF, spaces and blank lines.
  std::vector<MotBox> parsed = parse_mot("1,1,1363,569,103,241,1,1,0.86014\r\n\n 2, 1, 1362.5 ,570,103,241,0,1,1\n");
  REQUIRE(parsed.size() == 2);
  CHECK(parsed[0].frame == 0);
  CHECK(parsed[0].left == 1362);
  CHECK(parsed[0].top == 568);
  CHECK(parsed[0].width == 103);
  CHECK(parsed[0].visibility == doctest::Approx(0.86014));
  CHECK(parsed[1].left == 1361.5);
  CHECK(parsed[1].conf == 0);
  // A results line: 10 values, x y z ignored; a detection line with id -1 may repeat.
  std::vector<MotBox> results = parse_mot("3,-1,10,20,5,6,0.93,-1,-1,-1\n3,-1,11,20,5,6,0.5,-1,-1,-1\n3,4,1,2,3,4\n");
  REQUIRE(results.size() == 3);
  CHECK(results[0].conf == doctest::Approx(0.93));
  CHECK(results[0].cls == -1);
  CHECK(results[0].visibility == -1);
  CHECK(results[2].conf == 1);
  CHECK(parse_mot("").empty());
}

TEST_CASE("malformed MOT lines name the file, the line and the problem") {
  const std::string ok = "1,1,1,1,5,5,1,1,1\n";
  CHECK_THROWS_WITH_SUBSTR(parse_mot(ok + "1,2,3\n", "gt.txt"), "gt.txt line 2: 3 values");
  CHECK_THROWS_WITH_SUBSTR(parse_mot(ok + ok), "line 2: id 1 appears twice in frame 1");
  CHECK_THROWS_WITH_SUBSTR(parse_mot("x,1,1,1,5,5\n"), "value 1 'x' is not a finite number");
  CHECK_THROWS_WITH_SUBSTR(parse_mot("1,1,1,nan,5,5\n"), "value 4 'nan' is not a finite number");
  CHECK_THROWS_WITH_SUBSTR(parse_mot("1,1,1,1e999,5,5\n"), "not a finite number");
  CHECK_THROWS_WITH_SUBSTR(parse_mot("1,1,1,,5,5\n"), "value 4 is empty");
  CHECK_THROWS_WITH_SUBSTR(parse_mot("1,1,1,1,5,5,\n"), "value 7 is empty");
  CHECK_THROWS_WITH_SUBSTR(parse_mot("0,1,1,1,5,5\n"), "frame 0 must be >= 1");
  CHECK_THROWS_WITH_SUBSTR(parse_mot("1.5,1,1,1,5,5\n"), "frame 1.5 must be an integer");
  CHECK_THROWS_WITH_SUBSTR(parse_mot("1,2.5,1,1,5,5\n"), "id 2.5 must be an integer");
  CHECK_THROWS_WITH_SUBSTR(parse_mot("1e12,1,1,1,5,5\n"), "must be an integer");
  CHECK_THROWS_WITH_SUBSTR(parse_mot("1,1,1,1,-5,5\n"), "negative box size");
  CHECK_THROWS_WITH_SUBSTR(parse_mot("1,1,1,1,5,5,1,1,1.5\n"), "visibility 1.5 must be in [0, 1]");
  CHECK_THROWS_WITH_SUBSTR(parse_mot("1,1,1,1,5,5,1,0.5,1\n"), "class 0.5 must be an integer");
  CHECK_THROWS_WITH_SUBSTR(parse_mot("1,1,1,1,5,5,1,1,1,1,1\n"), "more than 10 values");
  CHECK_THROWS_WITH_SUBSTR(parse_mot("1;1;1;1;5;5\n"), "not a finite number");
  CHECK_THROWS_WITH_SUBSTR(read_mot("/nonexistent/gt.txt"), "/nonexistent/gt.txt");
  MotBox bad;
  bad.width = -1;
  CHECK_THROWS_WITH_SUBSTR(format_mot({bad}), "negative size");
  bad.width = 1;
  bad.frame = -1;
  CHECK_THROWS_WITH_SUBSTR(format_mot({bad}), "frame -1 must be >= 0");
}

TEST_CASE("re-ID crops: labels, contents, filters and tracker input") {
  std::vector<Item> items = rectangle_items(8);
  std::map<int64_t, int> intensity;
  for (const Item& it : items) intensity[it.index] = it.image.to_vector<uint8_t>()[14 * 28 + 14];
  VideoWorld world(items, exact_config(6));
  std::vector<Video> videos;
  for (int i = 0; i < 3; ++i) videos.push_back(generate_video(world, i));
  ReidCropOptions opt;
  opt.height = opt.width = 16;
  opt.min_visibility = 1.0f;  // fully visible only: the crop's centre shows the item itself
  opt.context = 0;
  ReidSet set = extract_reid_crops(videos, opt);
  REQUIRE(set.size() > 0);
  CHECK(set.images.shape() == Shape{set.size(), 1, 16, 16});
  std::vector<uint8_t> pixels = set.images.to_vector<uint8_t>();
  std::map<std::pair<int, int>, int64_t> tracklet_of;  // (video, identity) -> tracklet
  int64_t last_tracklet = -1;
  for (int64_t n = 0; n < set.size(); ++n) {
    CHECK(set.visibilities[n] == 1.0f);
    CHECK(set.cameras[n] == videos[set.videos[n]].camera);
    CHECK(pixels[n * 256 + 8 * 16 + 8] == intensity[set.identities[n]]);
    auto key = std::make_pair(set.videos[n], static_cast<int>(set.identities[n]));
    auto it = tracklet_of.emplace(key, set.tracklets[n]).first;
    CHECK(it->second == set.tracklets[n]);  // one tracklet per (video, track)
    CHECK(set.tracklets[n] >= last_tracklet);  // numbered in order of appearance
    last_tracklet = set.tracklets[n];
  }
  CHECK(static_cast<int64_t>(tracklet_of.size()) == last_tracklet + 1);

  // frame_step, max_per_track and min_track_length.
  ReidCropOptions sparse;
  sparse.frame_step = 2;
  sparse.max_per_track = 3;
  sparse.min_visibility = 0;
  ReidSet few = extract_reid_crops(videos, sparse);
  std::map<int64_t, int> per_tracklet;
  for (int64_t n = 0; n < few.size(); ++n) {
    CHECK(few.frames[n] % 2 == 0);
    ++per_tracklet[few.tracklets[n]];
  }
  for (auto& [tracklet, count] : per_tracklet) CHECK(count == 3);
  sparse.min_track_length = 1000;
  CHECK(extract_reid_crops(videos, sparse).size() == 0);

  // Tracker input: the ground truth as MOT boxes gives the same identities; boxes that overlap no
  // object get identity -1.
  std::vector<std::vector<MotBox>> tracks;
  for (const Video& v : videos) tracks.push_back(mot_ground_truth(v));
  ReidSet from_tracks = extract_reid_crops(videos, tracks, opt);
  CHECK(from_tracks.identities == set.identities);
  CHECK(from_tracks.images.to_vector<uint8_t>() == pixels);
  std::vector<std::vector<MotBox>> stray(videos.size());
  MotBox away;
  away.frame = 0;
  away.id = 5;
  away.left = -50;
  away.top = -50;
  away.width = away.height = 10;
  stray[0].push_back(away);
  ReidCropOptions any;
  any.min_visibility = 0;
  ReidSet strays = extract_reid_crops(videos, stray, any);
  REQUIRE(strays.size() == 1);
  CHECK(strays.identities[0] == -1);

  CHECK_THROWS_WITH_SUBSTR(extract_reid_crops(videos, std::vector<std::vector<MotBox>>(1), opt), "1 track lists for 3");
  away.id = -1;
  stray[0] = {away};
  CHECK_THROWS_WITH_SUBSTR(extract_reid_crops(videos, stray, opt), "not raw detections");
  away.id = 1;
  away.frame = 999;
  stray[0] = {away};
  CHECK_THROWS_WITH_SUBSTR(extract_reid_crops(videos, stray, opt), "outside [0,");
  ReidCropOptions wrong;
  wrong.height = 0;
  CHECK_THROWS_WITH_SUBSTR(extract_reid_crops(videos, wrong), "crop size");
  wrong = ReidCropOptions{};
  wrong.frame_step = 0;
  CHECK_THROWS_WITH_SUBSTR(extract_reid_crops(videos, wrong), "frame_step");
  CHECK_THROWS_WITH_SUBSTR(extract_reid_crops({Video{}}, opt), "not a generated video");
  CHECK_THROWS_WITH_SUBSTR(reid_subset(set, {set.size()}), "out of range");
}

TEST_CASE("query/gallery split: every query has a gallery match from another camera") {
  // A small identity pool, so identities recur across videos (= cameras).
  VideoConfig config = pnl_video_config(VideoSplit::test, 3);
  config.identities = -1;
  VideoWorld world(ellipse_items(8), config);
  std::vector<Video> videos;
  for (int i = 0; i < 8; ++i) videos.push_back(generate_video(world, i));
  ReidCropOptions opt;
  opt.max_per_track = 4;
  ReidSet set = extract_reid_crops(videos, opt);
  ReidSplit split = split_query_gallery(set, 2, 1);
  CHECK(split.query.size() + split.gallery.size() == set.size());
  CHECK(split.query.size() > 0);
  std::map<int64_t, std::set<int>> gallery_cameras;
  for (int64_t n = 0; n < split.gallery.size(); ++n)
    gallery_cameras[split.gallery.identities[n]].insert(split.gallery.cameras[n]);
  std::map<std::pair<int64_t, int>, int> queries_per;
  for (int64_t n = 0; n < split.query.size(); ++n) {
    int64_t id = split.query.identities[n];
    int cam = split.query.cameras[n];
    const std::set<int>& cams = gallery_cameras[id];
    CHECK((cams.size() > 1 || (cams.size() == 1 && *cams.begin() != cam)));
    ++queries_per[{id, cam}];
  }
  for (auto& [key, count] : queries_per) CHECK(count <= 2);
  // No crop is in both halves: (video, frame, identity) triples are disjoint.
  std::set<std::tuple<int, int, int64_t>> q;
  for (int64_t n = 0; n < split.query.size(); ++n)
    q.insert({split.query.videos[n], split.query.frames[n], split.query.identities[n]});
  for (int64_t n = 0; n < split.gallery.size(); ++n)
    CHECK(q.count({split.gallery.videos[n], split.gallery.frames[n], split.gallery.identities[n]}) == 0);
  // Deterministic per seed.
  ReidSplit again = split_query_gallery(set, 2, 1);
  CHECK(again.query.frames == split.query.frames);
  CHECK(again.query.images.to_vector<uint8_t>() == split.query.images.to_vector<uint8_t>());
  CHECK_THROWS_WITH_SUBSTR(split_query_gallery(set, 0), "queries_per_camera");
}

TEST_CASE("Fashion-MNIST worlds: disjoint identities per split, real items get fully occluded") {
  if (!fashion_mnist_available()) {
    MESSAGE("Fashion-MNIST not installed at " << data::fashion_mnist_dir() << "; skipping");
    return;
  }
  ItemBank bank = ItemBank::load(data::fashion_mnist_dir(), true);
  VideoConfig train = pnl_video_config(VideoSplit::train, 1), test = pnl_video_config(VideoSplit::test, 1);
  VideoWorld train_world(bank, train), test_world(bank, test);
  CHECK(train_world.num_identities() == 600);
  CHECK(test_world.num_identities() == 200);
  std::set<int64_t> train_ids;
  for (int64_t i = 0; i < train_world.num_identities(); ++i) train_ids.insert(train_world.identity_id(i));
  for (int64_t i = 0; i < test_world.num_identities(); ++i) CHECK(train_ids.count(test_world.identity_id(i)) == 0);
  // Videos of a split only show that split's identities.
  for (int i = 0; i < 5; ++i)
    for (const VideoTrack& tr : generate_video(test_world, i).tracks) CHECK(train_ids.count(tr.identity) == 0);
  // A different video seed keeps the same identity blocks.
  VideoConfig test_other_seed = test;
  test_other_seed.seed = 99;
  CHECK(VideoWorld(bank, test_other_seed).identity_id(0) == test_world.identity_id(0));

  VideoWorld outrack(bank, outrack_video_config(VideoSplit::train, 1));
  int hidden_runs = 0, events = 0;
  for (int i = 0; i < 8; ++i) {
    Video v = generate_video(outrack, i);
    for (const OcclusionEvent& e : v.events) {
      ++events;
      for (int t = e.first_frame; t <= e.last_frame; ++t) CHECK(v.objects[t][e.occludee - 1].visibility == 0.0f);
    }
    for (const VideoTrack& tr : v.tracks) hidden_runs += longest_hidden_run(v, tr.track_id) >= 3;
    for (const VideoTrack& tr : v.tracks) CHECK(tr.label == bank.label(tr.identity));
  }
  CHECK(events >= 3);
  CHECK(hidden_runs >= 3);
}

TEST_CASE("config and world errors") {
  VideoConfig c;
  c.size = 8;
  CHECK_THROWS_WITH_SUBSTR(check_video_config(c), "size 8 must be in [16, 1024]");
  c = VideoConfig{};
  c.min_frames = 10;
  c.max_frames = 5;
  CHECK_THROWS_WITH_SUBSTR(check_video_config(c), "frames [10, 5]");
  c = VideoConfig{};
  c.min_items = 0;
  CHECK_THROWS_WITH_SUBSTR(check_video_config(c), "items [0, 7]");
  c = VideoConfig{};
  c.item_max = 0.9;
  CHECK_THROWS_WITH_SUBSTR(check_video_config(c), "item size");
  c = VideoConfig{};
  c.appearance_jitter = -0.1;
  CHECK_THROWS_WITH_SUBSTR(check_video_config(c), "appearance_jitter");
  c = VideoConfig{};
  c.occlusion_rate = std::nan("");
  CHECK_THROWS_WITH_SUBSTR(check_video_config(c), "occlusion_rate");
  c = VideoConfig{};
  c.identities = 0;
  CHECK_THROWS_WITH_SUBSTR(check_video_config(c), "identities 0");
  c = VideoConfig{};
  c.cameras = -1;
  CHECK_THROWS_WITH_SUBSTR(check_video_config(c), "cameras -1");

  CHECK_THROWS_WITH_SUBSTR(VideoWorld(ellipse_items(3), VideoConfig{}), "3 identities cannot fill");
  std::vector<Item> twice = ellipse_items(8);
  twice[5].index = twice[2].index;
  CHECK_THROWS_WITH_SUBSTR(VideoWorld(twice, VideoConfig{}), "appears twice");
  std::vector<Item> blank = ellipse_items(8);
  blank[1].image = zeros({28, 28}, DType::u8);
  CHECK_THROWS_WITH_SUBSTR(VideoWorld(blank, VideoConfig{}), "blank images cannot be drawn");
  std::vector<Item> floats = ellipse_items(8);
  floats[0].image = zeros({28, 28});
  CHECK_THROWS_WITH_SUBSTR(VideoWorld(floats, VideoConfig{}), "needs a u8 [h, w] image");
  CHECK_THROWS_WITH_SUBSTR(VideoWorld(ItemBank(), VideoConfig{}), "item bank is empty");
  VideoWorld world(ellipse_items(8), VideoConfig{});
  CHECK_THROWS_WITH_SUBSTR(generate_video(world, -1), "index -1");
  CHECK_THROWS_WITH_SUBSTR(world.sprite(8), "out of range");
  CHECK_THROWS_WITH_SUBSTR(parse_video_split("dev"), "use train, val or test");
  CHECK(parse_video_split("val") == VideoSplit::val);
  Video v = generate_video(world, 0);
  CHECK_THROWS_WITH_SUBSTR(v.frame(v.num_frames()), "out of range");
  CHECK(v.frame(0).height() == 96);
}

// A fingerprint of everything a video holds (pixels, owners, objects, tracks, events) and of its
// MOT text and re-ID crops, recorded from the code before generate_video was cut into simulate /
// render / visibility and the MOT format moved to its own file: the restructuring changed no byte.
namespace {
struct Fnv1a {
  uint64_t h = 1469598103934665603ull;
  void bytes(const void* p, size_t n) {
    const unsigned char* c = static_cast<const unsigned char*>(p);
    for (size_t i = 0; i < n; ++i) h = (h ^ c[i]) * 1099511628211ull;
  }
  template <class T>
  void value(T v) { bytes(&v, sizeof v); }
};

uint64_t video_fingerprint(const Video& v) {
  Fnv1a f;
  f.value(v.index);
  f.value(v.camera);
  f.value(v.height);
  f.value(v.width);
  std::vector<uint8_t> frames = v.frames.to_vector<uint8_t>(), owners = v.owners.to_vector<uint8_t>();
  f.bytes(frames.data(), frames.size());
  f.bytes(owners.data(), owners.size());
  for (const VideoTrack& t : v.tracks) f.value(t.track_id), f.value(t.identity), f.value(t.label), f.value(t.depth);
  for (const auto& frame : v.objects)
    for (const VideoObject& o : frame) {
      f.value(o.track_id), f.value(o.identity), f.value(o.label), f.value(o.x0), f.value(o.y0), f.value(o.x1);
      f.value(o.y1), f.value(o.depth), f.value(o.total_pixels), f.value(o.visible_pixels), f.value(o.visibility);
      f.value(o.center_x), f.value(o.center_y), f.value(o.velocity_x), f.value(o.velocity_y);
    }
  for (const OcclusionEvent& e : v.events) f.value(e.occluder), f.value(e.occludee), f.value(e.first_frame), f.value(e.last_frame);
  std::string mot = format_mot(mot_ground_truth(v));
  f.bytes(mot.data(), mot.size());
  return f.h;
}
}  // namespace

TEST_CASE("generated videos of fixed seeds hash as recorded before the restructuring") {
  VideoConfig outrack = outrack_video_config(VideoSplit::train, 11);
  outrack.camera_style = 0.5;
  VideoConfig pnl = pnl_video_config(VideoSplit::test, 5);
  VideoWorld a(ellipse_items(12), outrack), b(ellipse_items(9), pnl), c(rectangle_items(8), exact_config(3));
  std::vector<Video> videos = {generate_video(a, 0), generate_video(a, 5), generate_video(b, 2), generate_video(c, 1)};
  Fnv1a all;
  for (const Video& v : videos) all.value(video_fingerprint(v));
  ReidSet crops = extract_reid_crops(videos);
  std::vector<uint8_t> pixels = crops.images.to_vector<uint8_t>();
  all.bytes(pixels.data(), pixels.size());
  for (int64_t id : crops.identities) all.value(id);
  std::vector<std::vector<MotBox>> tracker;  // shifted ground truth: identities found by IoU
  for (const Video& v : videos) {
    tracker.push_back(mot_ground_truth(v));
    for (MotBox& m : tracker.back()) m.left += 1.5, m.width *= 0.8, m.visibility = -1, m.cls = -1;
  }
  ReidSet found = extract_reid_crops(videos, tracker);
  for (int64_t id : found.identities) all.value(id);
  for (float vis : found.visibilities) all.value(vis);
  // The pixels and visibilities depend on how the compiler contracts float arithmetic (FMA): the
  // hash was recorded from the default optimised native build (make test, -O2 with FMA), so only
  // a build like it is held to it; the sanitizer and portable builds run the generation unchecked.
#if defined(__FMA__) && defined(__OPTIMIZE__) && !defined(__SANITIZE_ADDRESS__)
  CHECK_MESSAGE(all.h == 6331586882963337450ull, "video fingerprint " << all.h);
#else
  MESSAGE("video fingerprint " << all.h << " not compared: recorded for the -O2 native (FMA) build only");
#endif
}
