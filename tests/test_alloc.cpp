// Memory in the steady state of training: after a few warm-up steps, a ViT training step (forward,
// backward, AdamW) takes every tensor buffer from the caching allocator's free lists (no call to the
// system allocator) and holds no more memory than the step before (nothing leaks across steps).
// Leaves out: small host allocations of graph nodes and shapes' vectors (not tensor memory).
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
