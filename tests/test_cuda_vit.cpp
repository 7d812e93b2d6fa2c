// models/vit on the GPU against the CPU, end to end: the vit-fmnist ViT (28x28, patch 4, dim 64,
// depth 6, heads 4) from the same initial weights on both devices, on fixed random images and labels:
// the first step's logits, loss and every parameter gradient; 20 AdamW steps with the shared
// trainer's recipe (decay groups, label smoothing 0.1, gradient clipping at 1.0), whose 20 losses
// must agree, in f32 and under autocast (bf16 products); an eval forward; a checkpoint written from
// GPU tensors that reloads on the CPU.
// Leaves out: dropout and drop-path (off here; their random streams are tested per kernel), real data.
#include <unistd.h>

#include <cstdio>
#include <sstream>

#include "autograd/autocast.h"
#include "models/vit.h"
#include "nn/checkpoint.h"
#include "nn/init.h"
#include "nn/optim.h"
#include "tests/cuda_helpers.h"

using namespace iris;
using namespace iris::models;
using iris::testing::to_gpu;

namespace {

constexpr int64_t kBatch = 32;

// Two models with the same weights: the first on the CPU, the second moved to the GPU.
struct Twins {
  std::unique_ptr<VisionTransformer> cpu, gpu;
};

Twins make_twins() {
  VitConfig cfg = VitConfig::named("vit-fmnist");  // dropout, attention dropout and drop-path are 0
  REQUIRE(cfg.drop_rate == 0.0);
  REQUIRE(cfg.drop_path_rate == 0.0);
  manual_seed(7);
  Twins t;
  t.cpu = std::make_unique<VisionTransformer>(cfg);
  {
    nn::init::SkipInitGuard skip;  // every weight is copied next
    t.gpu = std::make_unique<VisionTransformer>(cfg);
  }
  t.gpu->load_state_dict(t.cpu->state_dict());
  t.gpu->to(Device::cuda());
  for (const Tensor& p : t.gpu->parameters()) REQUIRE(p.device().is_cuda());
  return t;
}

// Fixed inputs: images [B, 1, 28, 28] in [0, 1), labels [B] in 0..9.
std::pair<Tensor, Tensor> batch() {
  manual_seed(11);
  return {rand({kBatch, 1, 28, 28}), randint(0, 10, {kBatch})};
}

// Worst |a - e| over the tensor, relative to the largest |e|.
double scaled_error(const Tensor& a, const Tensor& e) {
  std::vector<double> av = a.to_vector<double>(), ev = e.to_vector<double>();
  double worst = 0, scale = 1e-30;
  for (size_t i = 0; i < av.size() && i < ev.size(); ++i) {
    worst = std::max(worst, std::fabs(av[i] - ev[i]));
    scale = std::max(scale, std::fabs(ev[i]));
  }
  return worst / scale;
}

std::string sequence(const std::vector<double>& v) {
  std::ostringstream os;
  os.precision(9);
  for (size_t i = 0; i < v.size(); ++i) os << (i ? ", " : "") << v[i];
  return os.str();
}

// The trainer's step (apps/common/classify.cpp) for `steps` steps; returns every step's loss.
std::vector<double> train(VisionTransformer& model, const Tensor& images, const Tensor& labels, int steps) {
  Device d = model.parameters().front().device();
  Tensor x = images.to(d), y = labels.to(d);
  nn::AdamW opt(nn::decay_groups(model, 5e-4, 0.05));  // at 1e-3 the loss spikes on this batch
  CrossEntropyOptions ce;
  ce.label_smoothing = 0.1;
  std::vector<double> losses;
  model.train();
  for (int s = 0; s < steps; ++s) {
    opt.zero_grad();
    Tensor loss = cross_entropy(model.forward(x), y, ce);
    loss.backward();
    nn::clip_grad_norm_(model.parameters(), 1.0);
    opt.step();
    losses.push_back(loss.item());
  }
  return losses;
}

}  // namespace

TEST_CASE("vit-fmnist on the GPU: logits, loss and every parameter gradient match the CPU") {
  REQUIRE_GPU();
  Twins m = make_twins();
  auto [x, y] = batch();
  Tensor logits_cpu = m.cpu->forward(x), logits_gpu = m.gpu->forward(to_gpu(x));
  REQUIRE(logits_gpu.device().is_cuda());
  double e_logits = scaled_error(logits_gpu, logits_cpu);
  CHECK_MESSAGE(e_logits <= 1e-4, "logits [" << kBatch << ", 10]: scaled error " << e_logits);
  Tensor loss_cpu = cross_entropy(logits_cpu, y), loss_gpu = cross_entropy(logits_gpu, to_gpu(y));
  CHECK(loss_gpu.item() == doctest::Approx(loss_cpu.item()).epsilon(1e-5));
  loss_cpu.backward();
  loss_gpu.backward();
  nn::NamedTensors gpu_params = m.gpu->named_parameters();
  nn::NamedTensors cpu_params = m.cpu->named_parameters();
  REQUIRE(gpu_params.size() == cpu_params.size());
  for (size_t i = 0; i < cpu_params.size(); ++i) {
    const std::string& name = cpu_params[i].first;
    CAPTURE(name);
    REQUIRE(gpu_params[i].first == name);
    REQUIRE(gpu_params[i].second.grad().defined());
    CHECK(gpu_params[i].second.grad().device().is_cuda());
    double e = scaled_error(gpu_params[i].second.grad(), cpu_params[i].second.grad());
    CHECK_MESSAGE(e <= 1e-3, "gradient of " << name << " " << shape_str(cpu_params[i].second.shape())
                                            << ": scaled error " << e << " (GPU vs CPU)");
  }
}

TEST_CASE("vit-fmnist on the GPU: 20 AdamW steps give the CPU's losses") {
  REQUIRE_GPU();
  Twins m = make_twins();
  auto [x, y] = batch();
  const int steps = 20;
  std::vector<double> cpu_losses = train(*m.cpu, x, y, steps);
  std::vector<double> gpu_losses = train(*m.gpu, x, y, steps);
  REQUIRE(gpu_losses.size() == cpu_losses.size());
  CHECK_MESSAGE(cpu_losses.back() < cpu_losses.front() - 0.1, "the CPU run does not learn: " << sequence(cpu_losses));
  // f32 with a different summation order on each device: the losses drift apart slowly, as Adam
  // scales tiny gradient differences up; 1e-4 relative at the first step, 1e-3 at the last.
  bool all_close = true;
  for (int s = 0; s < steps; ++s) {
    double tol = (s == 0 ? 1e-4 : 1e-3) * std::fabs(cpu_losses[s]) + 1e-5;
    if (!std::isfinite(gpu_losses[s]) || std::fabs(gpu_losses[s] - cpu_losses[s]) > tol) {
      all_close = false;
      FAIL_CHECK("step " << s + 1 << ": GPU loss " << gpu_losses[s] << " vs CPU " << cpu_losses[s] << " (tolerance "
                         << tol << ")");
    }
  }
  if (!all_close)
    FAIL_CHECK("loss sequences differ:\n  CPU: " << sequence(cpu_losses) << "\n  GPU: " << sequence(gpu_losses));
  // The trained weights agree too (the first block's qkv projection and the head).
  for (const char* name : {"blocks.0.attn.qkv.weight", "head.weight"}) {
    CAPTURE(name);
    Tensor wc, wg;
    for (auto& [n, p] : m.cpu->named_parameters())
      if (n == name) wc = p;
    for (auto& [n, p] : m.gpu->named_parameters())
      if (n == name) wg = p;
    REQUIRE(wc.defined());
    REQUIRE(wg.defined());
    double e = scaled_error(wg, wc);
    CHECK_MESSAGE(e <= 1e-2, name << " after " << steps << " steps: scaled error " << e);
  }

  // Eval mode, no grad: the trained GPU model against the trained CPU model.
  m.cpu->eval();
  m.gpu->eval();
  NoGradGuard ng;
  double e_eval = scaled_error(m.gpu->forward(to_gpu(x)), m.cpu->forward(x));
  CHECK_MESSAGE(e_eval <= 1e-2, "eval logits after training: scaled error " << e_eval);
}

TEST_CASE("vit-fmnist under autocast (bf16 products): 20 GPU steps give the CPU's autocast losses") {
  REQUIRE_GPU();
  Twins m = make_twins();
  auto [x, y] = batch();
  const int steps = 20;
  std::vector<double> cpu_losses, gpu_losses, f32_losses;
  {
    AutocastGuard autocast(true);
    cpu_losses = train(*m.cpu, x, y, steps);
    gpu_losses = train(*m.gpu, x, y, steps);
  }
  REQUIRE(gpu_losses.size() == cpu_losses.size());
  CHECK_MESSAGE(gpu_losses.back() < gpu_losses.front() - 0.1, "the GPU run does not learn: " << sequence(gpu_losses));
  // Both devices round the same operands to bf16; an f32 value that differs in its last bits
  // between the devices can round to a neighbouring bf16 (2^-8 apart), so the tolerance is looser
  // than the f32 test's: 1e-3 relative at the first step, 5e-3 later.
  for (int s = 0; s < steps; ++s) {
    double tol = (s == 0 ? 1e-3 : 5e-3) * std::fabs(cpu_losses[s]) + 1e-5;
    if (!std::isfinite(gpu_losses[s]) || std::fabs(gpu_losses[s] - cpu_losses[s]) > tol)
      FAIL_CHECK("step " << s + 1 << ": GPU autocast loss " << gpu_losses[s] << " vs CPU autocast " << cpu_losses[s]
                         << " (tolerance " << tol << ")\n  CPU: " << sequence(cpu_losses)
                         << "\n  GPU: " << sequence(gpu_losses));
  }
}

TEST_CASE("vit-fmnist on the GPU: a checkpoint written from GPU tensors reloads on either device") {
  REQUIRE_GPU();
  Twins m = make_twins();
  auto [x, y] = batch();
  train(*m.gpu, x, y, 2);
  nn::AdamW opt(nn::decay_groups(*m.gpu, 1e-3, 0.05));
  {  // one step so the optimizer has moments on the GPU
    opt.zero_grad();
    cross_entropy(m.gpu->forward(to_gpu(x)), to_gpu(y)).backward();
    opt.step();
  }
  std::string path = "/tmp/iris_test_cuda_vit_" + std::to_string(getpid()) + ".safetensors";
  nn::TrainState st;
  st.step = 3;
  nn::save_checkpoint(path, *m.gpu, &opt, st);

  // on the CPU: the same values, bit for bit
  VitConfig cfg = VitConfig::named("vit-fmnist");
  std::unique_ptr<VisionTransformer> on_cpu, on_gpu;
  {
    nn::init::SkipInitGuard skip;
    on_cpu = std::make_unique<VisionTransformer>(cfg);
    on_gpu = std::make_unique<VisionTransformer>(cfg);
  }
  nn::AdamW opt_cpu(nn::decay_groups(*on_cpu, 1e-3, 0.05));
  nn::TrainState back = nn::load_checkpoint(path, *on_cpu, &opt_cpu);
  CHECK(back.step == 3);
  nn::NamedTensors saved = m.gpu->state_dict(), loaded = on_cpu->state_dict();
  REQUIRE(saved.size() == loaded.size());
  for (size_t i = 0; i < saved.size(); ++i) {
    CAPTURE(saved[i].first);
    CHECK(loaded[i].second.device().is_cpu());
    CHECK_CLOSE(loaded[i].second, saved[i].second.cpu(), 0.0, 0.0);
  }
  // on the GPU (resume there): model and optimizer moments back on the device
  on_gpu->to(Device::cuda());
  nn::AdamW opt_gpu(nn::decay_groups(*on_gpu, 1e-3, 0.05));
  nn::load_checkpoint(path, *on_gpu, &opt_gpu);
  for (const Tensor& p : on_gpu->parameters()) CHECK(p.device().is_cuda());
  nn::NamedTensors a = opt.state_dict(), b = opt_gpu.state_dict();
  REQUIRE(a.size() == b.size());
  for (auto& [name, t] : a) {
    CAPTURE(name);
    Tensor other;
    for (auto& [n2, t2] : b)
      if (n2 == name) other = t2;
    REQUIRE(other.defined());
    CHECK(other.device() == t.device());
    CHECK_CLOSE(other.cpu(), t.cpu(), 0.0, 0.0);
  }
  std::remove(path.c_str());
}
