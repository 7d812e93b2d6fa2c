// Datasets and the DataLoader: seeded shuffling, batching, drop_last, and background worker
// threads that prepare the next batches while the model trains. Every batch is made with its own
// Generator derived from (seed, epoch, batch index), so a run gives the same batches whatever the
// number of workers, and a resumed run continues exactly where it stopped. With pin_memory the
// workers also copy each finished batch into pinned (page-locked) host memory, so the training
// loop's b.x.to(device) is one asynchronous DMA; this needs no CUDA here (tensor/'s pin_memory
// gives ordinary memory where no GPU is usable).
// Leaves out: sampling with replacement, distributed sharding.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "tensor/tensor.h"

namespace iris::data {

struct Batch {
  Tensor x;                      // inputs, e.g. f32 [B, C, H, W]
  Tensor y;                      // targets, e.g. i64 [B]
  std::vector<int64_t> indices;  // dataset indices of the rows
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  // Builds the batch for these indices; `rng` is private to this batch (augmentations draw from it).
  virtual Batch get_batch(const std::vector<int64_t>& indices, Generator& rng) const = 0;
};

// In-memory images and labels. images: u8 [N, H, W] or [N, C, H, W] (scaled to [0, 1]) or f32;
// labels: i64 [N]. `transform` (optional) maps the f32 batch [B, C, H, W] with the batch's rng.
class TensorDataset : public Dataset {
 public:
  using Transform = std::function<Tensor(const Tensor&, Generator&)>;
  TensorDataset(Tensor images, Tensor labels, Transform transform = nullptr);
  int64_t size() const override { return images_.shape()[0]; }
  Batch get_batch(const std::vector<int64_t>& indices, Generator& rng) const override;
  const Tensor& images() const { return images_; }
  const Tensor& labels() const { return labels_; }

 private:
  Tensor images_, labels_;
  Transform transform_;
};

struct LoaderOptions {
  int64_t batch_size = 64;
  bool shuffle = true;
  bool drop_last = false;
  uint64_t seed = 0;
  int workers = 1;    // background threads; 0 = build batches on the calling thread
  int prefetch = 4;   // batches prepared ahead
  bool pin_memory = false;  // batches' x and y in pinned host memory (for GPU training); same values
};

class DataLoader {
 public:
  DataLoader(std::shared_ptr<const Dataset> dataset, LoaderOptions opts);
  ~DataLoader();
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  int64_t num_batches() const;
  // Starts an epoch: fixes its order, (re)starts the workers. skip_batches resumes mid-epoch.
  void start_epoch(int64_t epoch, int64_t skip_batches = 0);
  // The next batch of the epoch; false when the epoch is over. Rethrows a worker's error.
  bool next(Batch& out);

 private:
  Batch make_batch(int64_t k) const;
  void stop_workers();
  void worker_loop();

  std::shared_ptr<const Dataset> dataset_;
  LoaderOptions opts_;
  std::vector<int64_t> order_;
  int64_t epoch_ = 0, next_to_make_ = 0, next_to_take_ = 0, end_ = 0;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<int64_t, Batch> ready_;
  std::exception_ptr error_;
  bool stopping_ = false;
};

}  // namespace iris::data
