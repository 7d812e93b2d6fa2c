// davit: the two tasks as datasets. fmnist: Fashion-MNIST zero-padded from 28x28 to 32x32 (whole
// windows), normalised with its train-split statistics, random crop and flip when augmenting; probe:
// the long-range corner probe (data/synth/probe.h), normalised with its own training statistics.
// Leaves out: other data sets (the model configs take any image size, this app does not).
#include <cmath>

#include "apps/davit/davit_app.h"
#include "data/augment.h"
#include "data/idx.h"

namespace iris::davit_app {

Budget budget_from(const Flags& flags, bool ablate) {
  Budget b;
  b.fmnist_train = flags.get_int("train-subset");
  b.fmnist_test = flags.get_int("test-subset");
  b.probe_train = flags.get_int("probe-train");
  b.probe_test = flags.get_int("probe-test");
  b.probe_glyphs = static_cast<int>(flags.get_int("probe-glyphs"));
  b.probe_scale = static_cast<int>(flags.get_int("probe-scale"));
  const std::string& label = flags.get_string("probe-label");
  IRIS_CHECK(label == "pair" || label == "same", "unknown --probe-label '", label, "': use pair or same");
  b.probe_pair = label == "pair";
  b.augment = flags.get_bool("augment");
  if (flags.quick()) {  // seconds: a smoke test of the whole pipeline (ablate: of every run in it)
    b.fmnist_train = b.probe_train = ablate ? 128 : 256;
    b.fmnist_test = b.probe_test = ablate ? 64 : 128;
  }
  return b;
}

synth::CornerProbeOptions probe_options(const Budget& bud) {
  synth::CornerProbeOptions po;
  po.glyphs = bud.probe_glyphs;
  po.pair_label = bud.probe_pair;
  po.scale = bud.probe_scale;
  po.jitter = bud.probe_scale == 1 ? 4 : 1;  // the letter stays inside its 16 x 16 quadrant
  return po;
}

int64_t task_classes(const std::string& task, const Budget& bud) {
  if (task == "probe") return static_cast<int64_t>(synth::corner_probe_classes(probe_options(bud)).size());
  return static_cast<int64_t>(data::fashion_mnist_classes().size());
}

TaskData load_task(const std::string& task, const Flags& flags, const Budget& bud) {
  TaskData d;
  d.task = task;
  if (task == "fmnist") {
    data::LabelledImages tr = data::load_fashion_mnist(flags.data_dir(), true);
    data::LabelledImages te = data::load_fashion_mnist(flags.data_dir(), false);
    auto cut = [](data::LabelledImages& s, int64_t n) {
      if (n > 0 && n < s.images.shape()[0]) s.images = s.images.slice(0, 0, n), s.labels = s.labels.slice(0, 0, n);
    };
    cut(tr, bud.fmnist_train);
    cut(te, bud.fmnist_test);
    // [B, 1, 28, 28] -> zero-padded to [B, 1, 32, 32] (whole windows, as the spec), then normalised
    auto test_tf = [](const Tensor& x, Generator&) {
      return data::normalize_channels(pad(x, {2, 2, 2, 2}), {data::kFashionMnistMean}, {data::kFashionMnistStd});
    };
    bool augment = bud.augment;
    auto train_tf = [augment](const Tensor& x, Generator& rng) {
      Tensor t = pad(x, {2, 2, 2, 2});
      if (augment) t = data::random_horizontal_flip(data::random_crop(t, 2, rng), rng);
      return data::normalize_channels(t, {data::kFashionMnistMean}, {data::kFashionMnistStd});
    };
    d.train = std::make_shared<data::TensorDataset>(tr.images, tr.labels, train_tf);
    d.test = std::make_shared<data::TensorDataset>(te.images, te.labels, test_tf);
    d.classes = data::fashion_mnist_classes();
  } else if (task == "probe") {
    synth::CornerProbeOptions po = probe_options(bud);
    // Different seeds for the two splits: no test image is a training image.
    data::LabelledImages tr = synth::make_corner_probe(bud.probe_train, 1001, po);
    data::LabelledImages te = synth::make_corner_probe(bud.probe_test, 2002, po);
    std::vector<double> px = tr.images.to_vector<double>();
    double m = 0, v = 0;
    for (double p : px) m += p / 255.0;
    m /= std::max<size_t>(1, px.size());
    for (double p : px) v += (p / 255.0 - m) * (p / 255.0 - m);
    double sd = std::sqrt(v / std::max<size_t>(1, px.size())) + 1e-6;
    auto tf = [m, sd](const Tensor& x, Generator&) { return data::normalize_channels(x, {m}, {sd}); };
    d.train = std::make_shared<data::TensorDataset>(tr.images, tr.labels, tf);
    d.test = std::make_shared<data::TensorDataset>(te.images, te.labels, tf);
    d.classes = synth::corner_probe_classes(po);
  } else {
    throw Error("unknown --task '" + task + "': use fmnist or probe");
  }
  return d;
}

}  // namespace iris::davit_app
