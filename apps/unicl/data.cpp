// unicl: the two testbeds in memory. Fashion-MNIST (image-label only, 10 classes) and the SHAPES world
// (image-label subset with label = shape, image-caption subset, held-in and held-out test pictures).
// Leaves out: augmentation (the spec's runs use none) and folders of user images.
#include <algorithm>

#include "apps/unicl/unicl.h"
#include "data/augment.h"
#include "data/idx.h"

namespace iris::unicl {

namespace {

// The SHAPES pictures use one grey-ish mean and spread (Fashion-MNIST's are in data/idx.h).
constexpr double kShapesMean = 0.45, kShapesStd = 0.25;

// u8 [N, H, W] or [N, C, H, W] -> normalised f32 [N, C, H, W].
Tensor to_float(const Tensor& u8, const std::vector<double>& mean, const std::vector<double>& std) {
  Tensor x = u8.to(DType::f32) / 255.0;
  if (x.dim() == 3) x = x.unsqueeze(1);
  return data::normalize_channels(x, mean, std).contiguous();
}

Tensor first_rows(const Tensor& t, int64_t n) { return n > 0 && n < t.shape()[0] ? t.slice(0, 0, n) : t; }

}  // namespace

Sizes sizes_from(const Flags& flags, bool ablate) {
  Sizes s;
  s.fmnist_train = flags.get_int("train-subset");
  s.fmnist_test = flags.get_int("test-subset");
  s.shapes_label = flags.get_int("shapes-label");
  s.shapes_text = flags.get_int("shapes-text");
  s.shapes_test = flags.get_int("shapes-test");
  s.probe_train = flags.get_int("probe-train");
  if (flags.quick()) {  // seconds per arm: a smoke test of the whole pipeline
    s.fmnist_train = s.shapes_label = s.shapes_text = ablate ? 256 : 384;
    s.fmnist_test = s.shapes_test = 128;
    s.probe_train = 256;
  }
  return s;
}

Testbed load_testbed(const std::string& data, const std::string& mix, const Flags& flags, const Sizes& sizes) {
  IRIS_CHECK(mix == "label" || mix == "text" || mix == "both", "unknown --mix '", mix, "': use label, text or both");
  Testbed bed;
  bed.data = data;
  if (data == "fmnist") {
    IRIS_CHECK(mix == "label", "--data fmnist has image-label data only: use --mix label (text and both need "
               "captions: --data shapes)");
    data::LabelledImages tr = data::load_fashion_mnist(flags.get_string("fmnist-dir"), true);
    data::LabelledImages te = data::load_fashion_mnist(flags.get_string("fmnist-dir"), false);
    bed.img_size = 28, bed.in_chans = 1;
    bed.mean = {data::kFashionMnistMean}, bed.std = {data::kFashionMnistStd};
    Tensor train = to_float(first_rows(tr.images, sizes.fmnist_train), bed.mean, bed.std);
    bed.train_images = train;
    bed.train_labels = first_rows(tr.labels, sizes.fmnist_train).contiguous();
    bed.test_images = to_float(first_rows(te.images, sizes.fmnist_test), bed.mean, bed.std);
    bed.test_labels = first_rows(te.labels, sizes.fmnist_test).contiguous();
    bed.classes = text::fashion_mnist_class_synonyms();
    bed.probe_train_images = first_rows(train, sizes.probe_train);
    bed.probe_train_labels = first_rows(bed.train_labels, sizes.probe_train);
    bed.probe_test_images = bed.test_images, bed.probe_test_labels = bed.test_labels;
    for (const auto& c : bed.classes) bed.probe_classes.push_back(c.front());
    return bed;
  }
  IRIS_CHECK(data == "shapes", "unknown --data '", data, "': use fmnist or shapes");
  bed.img_size = 32, bed.in_chans = 3;
  bed.mean = {kShapesMean, kShapesMean, kShapesMean}, bed.std = {kShapesStd, kShapesStd, kShapesStd};
  synth::ShapeConfig config;
  config.seed = flags.get_int("world-seed");
  auto split = [&](synth::ShapeSplit s, int64_t n) {
    synth::ShapeConfig c = config;
    c.split = s;
    return synth::make_shape_set(c, n);
  };
  IRIS_CHECK(sizes.shapes_label >= 1 && sizes.shapes_text >= 1 && sizes.shapes_test >= 1,
             "--shapes-label, --shapes-text and --shapes-test must be at least 1");
  synth::ShapeSet label = split(synth::ShapeSplit::label_train, sizes.shapes_label);
  std::vector<Tensor> images, labels;
  if (mix != "text") images.push_back(to_float(label.images, bed.mean, bed.std)), labels.push_back(label.shape);
  if (mix != "label") {
    synth::ShapeSet text = split(synth::ShapeSplit::text_train, sizes.shapes_text);
    images.push_back(to_float(text.images, bed.mean, bed.std));
    labels.push_back(full({sizes.shapes_text}, -1.0, DType::i64));
    bed.caption_factors.assign(mix == "both" ? label.factors.size() : 0, synth::ShapeFactors());
    bed.caption_factors.insert(bed.caption_factors.end(), text.factors.begin(), text.factors.end());
  }
  bed.train_images = cat(images, 0).contiguous();
  bed.train_labels = cat(labels, 0).contiguous();
  bed.classes = text::shape_class_synonyms();
  synth::ShapeSet held_in = split(synth::ShapeSplit::test_held_in, sizes.shapes_test);
  synth::ShapeSet held_out = split(synth::ShapeSplit::test_held_out, sizes.shapes_test);
  bed.test_images = to_float(held_in.images, bed.mean, bed.std);
  bed.test_labels = held_in.shape;
  bed.test_factors = held_in.factors;
  // the colour probe trains on image-label pictures (every arm sees the same ones) and tests held-in pictures
  bed.probe_train_images = to_float(first_rows(label.images, sizes.probe_train), bed.mean, bed.std);
  bed.probe_train_labels = first_rows(label.color, sizes.probe_train).contiguous();
  bed.probe_test_images = bed.test_images;
  bed.probe_test_labels = held_in.color;
  bed.probe_classes = synth::shape_color_names();
  bed.zeroshot_images = to_float(held_out.images, bed.mean, bed.std);
  std::vector<int64_t> pair_ids;
  for (const synth::ShapeFactors& f : held_out.factors) pair_ids.push_back(f.color * synth::shape_kind::count + f.shape);
  bed.zeroshot_labels = from_vector(pair_ids);
  bed.zeroshot_factors = held_out.factors;
  bed.zeroshot_classes = text::color_shape_classes();
  return bed;
}

}  // namespace iris::unicl
