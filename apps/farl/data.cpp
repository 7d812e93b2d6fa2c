// farl: the FACES world in memory (pictures, parsing masks, landmarks, factors for captions), and its sizes.
// Leaves out: augmentation, user image folders (the user's faces come one file at a time) and resizing them.
#include <algorithm>

#include "apps/farl/farl.h"
#include "data/augment.h"

namespace iris::farl {

const std::vector<double> kMean = {0.48145466, 0.4578275, 0.40821073};
const std::vector<double> kStd = {0.26862954, 0.26130258, 0.27577711};

FaceSet make_face_set(synth::FaceSplit split, int64_t first, int64_t count, uint64_t world_seed) {
  IRIS_CHECK(count >= 1, "farl: a face set needs at least 1 face, got ", count);
  synth::FaceConfig config;
  config.seed = world_seed;
  config.split = split;
  std::vector<synth::FaceSample> samples = synth::make_faces(config, first, count);
  std::vector<Tensor> images, masks;
  std::vector<float> points;
  FaceSet set;
  for (const synth::FaceSample& s : samples) {
    images.push_back(image_to_tensor(s.render.image));
    masks.push_back(image_to_tensor_u8(s.render.labels).select(0, 0));
    for (const synth::FaceLandmark& l : s.render.landmarks) points.push_back(l.x), points.push_back(l.y);
    set.factors.push_back(s.factors);
  }
  set.images = data::normalize_channels(stack(images, 0), kMean, kStd).contiguous();
  set.masks = stack(masks, 0).to(DType::i64).contiguous();
  set.landmarks = from_vector(points, {count, synth::kNumFaceLandmarks, 2});
  return set;
}

FaceSet first_faces(const FaceSet& s, int64_t n) {
  n = std::max<int64_t>(1, std::min(n, s.size()));
  FaceSet out;
  out.images = s.images.slice(0, 0, n).contiguous();
  out.masks = s.masks.slice(0, 0, n).contiguous();
  out.landmarks = s.landmarks.slice(0, 0, n).contiguous();
  out.factors.assign(s.factors.begin(), s.factors.begin() + n);
  return out;
}

Image face_image(const FaceSet& set, int64_t i) {
  Tensor img = set.images.select(0, i);
  std::vector<Tensor> chans;
  for (int64_t c = 0; c < 3; ++c) chans.push_back(img.select(0, c) * kStd[c] + kMean[c]);
  return tensor_to_image(stack(chans, 0));
}

FaceSet load_user_faces(const std::vector<std::string>& paths, int64_t size) {
  IRIS_CHECK(!paths.empty(), "farl: --image names no file");
  std::vector<Tensor> images;
  for (const std::string& path : paths) {
    Image img = load_image(path, 3);  // throws naming the file when it is missing or not an image
    IRIS_CHECK(img.height() == size && img.width() == size, path, " is ", img.width(), "x", img.height(),
               "; farl works on ", size, "x", size, " faces (as `datagen faces` writes them in DIR/face/): crop or resize it first");
    images.push_back(image_to_tensor(img));
  }
  FaceSet set;
  set.images = data::normalize_channels(stack(images, 0), kMean, kStd).contiguous();
  set.factors.resize(paths.size());
  return set;
}

Sizes sizes_from(const Flags& flags) {
  Sizes s;
  s.pretrain = flags.get_int("pretrain-faces");
  s.labelled = flags.get_int("labelled-faces");
  s.val = flags.get_int("val-faces");
  s.test = flags.get_int("test-faces");
  if (flags.quick()) s.pretrain = 256, s.labelled = 192, s.val = 64, s.test = 64;
  return s;
}

}  // namespace iris::farl
