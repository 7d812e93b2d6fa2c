// TensorDataset and the threaded DataLoader.
// Workers claim batch numbers in order and park the results in a map; next() takes them in
// order, so the sequence of batches never depends on thread timing. At most `prefetch` batches
// wait at any time. pin_memory copies a batch's tensors into pinned memory in make_batch, so the
// worker pays for the copy, not the training thread (unless workers = 0).
#include "data/loader.h"

#include "autograd/ops.h"

namespace iris::data {

namespace {

// A per-batch seed from (seed, epoch, batch): SplitMix64 mixing, so nearby inputs give unrelated seeds.
uint64_t mix_seed(uint64_t seed, int64_t epoch, int64_t batch) {
  uint64_t z = seed ^ (static_cast<uint64_t>(epoch) * 0x9E3779B97F4A7C15ULL) ^
               (static_cast<uint64_t>(batch) * 0xD1B54A32D192ED03ULL);
  z += 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

}  // namespace

// ---- TensorDataset --------------------------------------------------------------------------

TensorDataset::TensorDataset(Tensor images, Tensor labels, Transform transform)
    : images_(std::move(images)), labels_(std::move(labels)), transform_(std::move(transform)) {
  IRIS_CHECK(images_.defined() && labels_.defined(), "TensorDataset: images and labels are required");
  IRIS_CHECK(images_.dim() == 3 || images_.dim() == 4, "TensorDataset: images must be [N, H, W] or [N, C, H, W], got ",
             shape_str(images_.shape()));
  IRIS_CHECK(labels_.shape()[0] == images_.shape()[0], "TensorDataset: ", images_.shape()[0], " images but ",
             labels_.shape()[0], " labels");
  if (images_.dim() == 3) images_ = images_.unsqueeze(1);
  images_ = images_.contiguous();
}

Batch TensorDataset::get_batch(const std::vector<int64_t>& indices, Generator& rng) const {
  NoGradGuard ng;
  Tensor idx = from_vector(indices);
  Batch b;
  Tensor x = index_select(images_, 0, idx);
  b.x = images_.dtype() == DType::u8 ? x.to(DType::f32) * (1.0 / 255.0) : x.to(DType::f32);
  if (transform_) b.x = transform_(b.x, rng);
  b.y = index_select(labels_, 0, idx);
  b.indices = indices;
  return b;
}

// ---- DataLoader -----------------------------------------------------------------------------

DataLoader::DataLoader(std::shared_ptr<const Dataset> dataset, LoaderOptions opts)
    : dataset_(std::move(dataset)), opts_(opts) {
  IRIS_CHECK(dataset_ != nullptr, "DataLoader: dataset is null");
  IRIS_CHECK(opts_.batch_size > 0, "DataLoader: batch_size must be positive, got ", opts_.batch_size);
  IRIS_CHECK(opts_.workers >= 0 && opts_.prefetch >= 1, "DataLoader: need workers >= 0 and prefetch >= 1");
  IRIS_CHECK(dataset_->size() > 0, "DataLoader: the dataset is empty");
}

DataLoader::~DataLoader() { stop_workers(); }

int64_t DataLoader::num_batches() const {
  int64_t n = dataset_->size(), b = opts_.batch_size;
  return opts_.drop_last ? n / b : (n + b - 1) / b;
}

Batch DataLoader::make_batch(int64_t k) const {
  int64_t begin = k * opts_.batch_size;
  int64_t end = std::min<int64_t>(begin + opts_.batch_size, static_cast<int64_t>(order_.size()));
  std::vector<int64_t> idx(order_.begin() + begin, order_.begin() + end);
  Generator rng(mix_seed(opts_.seed, epoch_, k));
  Batch b = dataset_->get_batch(idx, rng);
  if (opts_.pin_memory) {
    // A tensor that requires grad (a custom dataset's choice) stays where it is: pinning is not differentiable.
    for (Tensor* t : {&b.x, &b.y})
      if (t->defined() && t->device().is_cpu() && !t->requires_grad()) *t = pin_memory(*t);
  }
  return b;
}

void DataLoader::start_epoch(int64_t epoch, int64_t skip_batches) {
  stop_workers();
  epoch_ = epoch;
  int64_t n = dataset_->size();
  if (opts_.shuffle) {
    Generator g(mix_seed(opts_.seed, epoch, -1));
    order_ = randperm(n, &g).to_vector<int64_t>();
  } else {
    order_.resize(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) order_[i] = i;
  }
  end_ = num_batches();
  IRIS_CHECK(skip_batches >= 0 && skip_batches <= end_, "DataLoader: cannot skip ", skip_batches, " of ", end_,
             " batches");
  next_to_make_ = next_to_take_ = skip_batches;
  ready_.clear();
  error_ = nullptr;
  stopping_ = false;
  for (int i = 0; i < opts_.workers; ++i) workers_.emplace_back([this] { worker_loop(); });
}

void DataLoader::worker_loop() {
  for (;;) {
    int64_t k;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || (next_to_make_ < end_ && next_to_make_ < next_to_take_ + opts_.prefetch); });
      if (stopping_) return;
      k = next_to_make_++;
    }
    try {
      Batch b = make_batch(k);
      std::lock_guard<std::mutex> lock(mu_);
      ready_[k] = std::move(b);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu_);
      if (!error_) error_ = std::current_exception();
    }
    cv_.notify_all();
  }
}

bool DataLoader::next(Batch& out) {
  if (next_to_take_ >= end_) return false;
  if (workers_.empty()) {  // synchronous mode
    out = make_batch(next_to_take_++);
    return true;
  }
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return error_ || ready_.count(next_to_take_); });
  if (error_) {
    std::exception_ptr e = error_;
    lock.unlock();
    stop_workers();
    std::rethrow_exception(e);
  }
  out = std::move(ready_[next_to_take_]);
  ready_.erase(next_to_take_);
  ++next_to_take_;
  lock.unlock();
  cv_.notify_all();
  return true;
}

void DataLoader::stop_workers() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
}

}  // namespace iris::data
