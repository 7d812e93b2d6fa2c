// minivit: Fashion-MNIST for every arm: a stratified training subset (the first N/10 images of each
// class in file order), the first --test-subset test images, random shift and optional flip, then
// normalisation with the train split's statistics. Leaves out: other data sets.
#include "apps/minivit/minivit_app.h"
#include "data/augment.h"
#include "data/idx.h"

namespace iris::minivit_app {

Budget budget_from(const Flags& flags, bool ablate) {
  Budget b;
  b.train_subset = flags.get_int("train-subset");
  b.test_subset = flags.get_int("test-subset");
  IRIS_CHECK(b.train_subset >= 0 && b.test_subset >= 0, "minivit: --train-subset and --test-subset must be >= 0");
  b.shift = flags.get_int("shift");
  b.flip = flags.get_bool("flip");
  if (flags.quick()) {  // seconds per arm: a smoke test of the whole pipeline
    if (!flags.is_set("train-subset")) b.train_subset = ablate ? 160 : 320;
    if (!flags.is_set("test-subset")) b.test_subset = ablate ? 100 : 200;
  }
  return b;
}

std::vector<int64_t> stratified_indices(const std::vector<int64_t>& labels, int64_t n, int64_t classes) {
  std::vector<int64_t> quota(classes, n / classes);
  for (int64_t c = 0; c < n % classes; ++c) ++quota[c];
  std::vector<int64_t> picked;
  for (size_t i = 0; i < labels.size() && static_cast<int64_t>(picked.size()) < n; ++i) {
    int64_t c = labels[i];
    if (c >= 0 && c < classes && quota[c] > 0) --quota[c], picked.push_back(static_cast<int64_t>(i));
  }
  return picked;
}

Data load_data(const Flags& flags, const Budget& bud) {
  data::LabelledImages tr = data::load_fashion_mnist(flags.data_dir(), true);
  data::LabelledImages te = data::load_fashion_mnist(flags.data_dir(), false);
  if (bud.train_subset > 0 && bud.train_subset < tr.images.shape()[0]) {
    Tensor idx = from_vector(stratified_indices(tr.labels.to_vector<int64_t>(), bud.train_subset, 10));
    tr.images = index_select(tr.images, 0, idx);
    tr.labels = index_select(tr.labels, 0, idx);
  }
  if (bud.test_subset > 0 && bud.test_subset < te.images.shape()[0]) {
    te.images = te.images.slice(0, 0, bud.test_subset);
    te.labels = te.labels.slice(0, 0, bud.test_subset);
  }
  // [B, 1, 28, 28]: random shift (pad + crop back) and optional flip, then normalisation
  const int64_t shift = bud.shift;
  const bool flip = bud.flip;
  auto train_tf = [shift, flip](const Tensor& x, Generator& rng) {
    Tensor t = shift > 0 ? data::random_crop(x, shift, rng) : x;
    if (flip) t = data::random_horizontal_flip(t, rng);
    return data::normalize_channels(t, {data::kFashionMnistMean}, {data::kFashionMnistStd});
  };
  auto test_tf = [](const Tensor& x, Generator&) { return data::normalize_channels(x, {data::kFashionMnistMean}, {data::kFashionMnistStd}); };
  Data d;
  d.train = std::make_shared<data::TensorDataset>(tr.images, tr.labels, train_tf);
  d.test = std::make_shared<data::TensorDataset>(te.images, te.labels, test_tf);
  d.train_size = d.train->size(), d.test_size = d.test->size();
  return d;
}

}  // namespace iris::minivit_app
