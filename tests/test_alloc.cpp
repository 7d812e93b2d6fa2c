// Memory in the steady state of training: after a few warm-up steps, a ViT training step (forward,
// backward, AdamW) takes every tensor buffer from the caching allocator's free lists (no call to the
// system allocator) and holds no more memory than the step before (nothing leaks across steps).
// Pinned host memory from the engine's side: pin_memory / empty_pinned give CPU tensors that behave
// as any other (ordinary ones where no GPU is usable, as in a CPU-only build), and a DataLoader with
// pin_memory gives the same batches. Pinned blocks, reuse and transfers on a GPU are in
// tests/test_cuda_elementwise.cpp.
// Leaves out: small host allocations of graph nodes and shapes' vectors (not tensor memory).
#include <memory>

#include "data/loader.h"
#include "models/vit.h"
#include "nn/optim.h"
#include "tests/helpers.h"

using namespace iris;

TEST_CASE("a warmed-up ViT training step allocates no new tensor memory") {
  if (!cpu_allocator_stats().caching) {
    MESSAGE("the caching allocator is off in this build (sanitizers / IRIS_NO_CACHE); skipping");
    return;
  }
  models::VitConfig cfg = models::VitConfig::named("vit-fmnist");
  cfg.depth = 2;
  cfg.drop_path_rate = 0.1;  // exercises the random-number path too
  models::VisionTransformer model(cfg);
  nn::AdamW opt(model.parameters(), 1e-3, 0.05);
  Tensor x = rand({16, 1, 28, 28}), y = randint(0, 10, {16});
  AllocatorStats at3, at10;
  int64_t in_use_3 = 0;
  for (int step = 0; step < 10; ++step) {
    if (step == 3) {
      at3 = cpu_allocator_stats();
      in_use_3 = at3.bytes_in_use;
    }
    opt.zero_grad();
    Tensor loss = cross_entropy(model.forward(x), y);
    loss.backward();
    opt.step();
  }
  at10 = cpu_allocator_stats();
  CHECK(at10.allocations - at3.allocations > 100);          // the steps did allocate tensors ...
  CHECK(at10.system_allocs - at3.system_allocs == 0);       // ... all from the cache
  CHECK(at10.bytes_in_use == in_use_3);                     // and hold the same memory after each step
}

TEST_CASE("pin_memory and empty_pinned give CPU tensors with the same values, pinned only where a GPU is usable") {
#ifndef IRIS_WITH_CUDA
  CHECK_FALSE(pinned_memory_available());  // a CPU-only build has no pinned memory to give
#endif
  const bool pinned = pinned_memory_available();
  Generator g(5);
  Tensor x = randn({6, 7}, DType::f32, &g);
  Tensor p = pin_memory(x);
  CHECK(p.device().is_cpu());
  CHECK(p.is_pinned() == pinned);
  CHECK_FALSE(x.is_pinned());
  CHECK(p.shape() == x.shape());
  CHECK(p.to_vector<float>() == x.to_vector<float>());
  CHECK(p.shares_storage(x) == !pinned);  // no pinned memory: the tensor itself, else a copy

  // a strided source: a contiguous pinned copy (or the view itself), the same values
  Tensor xt = x.t();
  Tensor pt = pin_memory(xt);
  CHECK(pt.is_pinned() == pinned);
  CHECK(pt.is_contiguous() == pinned);
  CHECK(pt.to_vector<float>() == xt.to_vector<float>());
  // usable as any CPU tensor: ops, views, in place
  CHECK_CLOSE(pt * 2.0 + 1.0, xt * 2.0 + 1.0, 0, 0);
  CHECK_CLOSE(pt.slice(0, 1, 5, 2).t(), xt.slice(0, 1, 5, 2).t(), 0, 0);
  Tensor e = empty_pinned({3, 4}, DType::i64);
  CHECK(e.device().is_cpu());
  CHECK(e.dtype() == DType::i64);
  CHECK(e.shape() == Shape{3, 4});
  CHECK(e.is_pinned() == pinned);
  e.fill_(7.0);
  e.select(0, 1).copy_(arange(4));
  CHECK(e.to_vector<int64_t>() == std::vector<int64_t>{7, 7, 7, 7, 0, 1, 2, 3, 7, 7, 7, 7});
  CHECK(sum(e).item() == 62.0);
  CHECK(pin_memory(e).shares_storage(e));  // already pinned (or plain): itself
  CHECK(pin_memory(zeros({0, 3})).shape() == Shape{0, 3});
  CHECK(empty_pinned({0}).numel() == 0);

  // a pinned tensor's block goes back to its own allocator: repeating this must not grow memory
  const int64_t cpu_in_use = cpu_allocator_stats().bytes_in_use;
  for (int i = 0; i < 3; ++i) {
    Tensor t = pin_memory(randn({64, 64}));
    CHECK(t.is_pinned() == pinned);
  }
  CHECK(cpu_allocator_stats().bytes_in_use == cpu_in_use);

  Tensor w = randn({2}).requires_grad_(true);
  CHECK_THROWS_WITH_SUBSTR(pin_memory(w), "pin_memory: not differentiable");
  CHECK_NOTHROW(pin_memory(w.detach()));
}

TEST_CASE("a DataLoader with pin_memory gives the same batches as without it") {
  Generator g(11);
  Tensor images = randint(0, 256, {37, 5, 5}, DType::i64, &g).to(DType::u8);
  Tensor labels = randint(0, 10, {37}, DType::i64, &g);
  // the transform draws from the batch's generator: the batches depend on the per-batch seeds too
  auto ds = std::make_shared<data::TensorDataset>(
      images, labels, [](const Tensor& x, Generator& rng) { return x + rand(x.shape(), {}, &rng); });
  for (int workers : {0, 2}) {
    INFO("workers = " << workers);
    data::LoaderOptions plain;
    plain.batch_size = 8;
    plain.seed = 3;
    plain.workers = workers;
    data::LoaderOptions pinned_opts = plain;
    pinned_opts.pin_memory = true;
    data::DataLoader a(ds, plain), b(ds, pinned_opts);
    a.start_epoch(1);
    b.start_epoch(1);
    data::Batch ba, bb;
    int batches = 0;
    while (a.next(ba)) {
      REQUIRE(b.next(bb));
      CHECK(bb.indices == ba.indices);
      CHECK(bb.x.shape() == ba.x.shape());
      CHECK(bb.x.to_vector<float>() == ba.x.to_vector<float>());
      CHECK(bb.y.to_vector<int64_t>() == ba.y.to_vector<int64_t>());
      CHECK(bb.x.device().is_cpu());
      CHECK(bb.x.is_pinned() == pinned_memory_available());
      CHECK(bb.y.is_pinned() == pinned_memory_available());
      CHECK_FALSE(ba.x.is_pinned());
      ++batches;
    }
    CHECK_FALSE(b.next(bb));
    CHECK(batches == 5);
  }
}
