// iris_bench: the engine's speed, in the same shapes as bench/torch_ref.py.
//   build/bin/iris_bench [gemm] [attention] [vit_small] [vit_tiny] [davit_mini] [davit_slope] [deit_small] [--quick] [--device cuda] [--amp]
// With no names it runs all but deit_small (224x224 batch 64, for GPUs: name it). Prints a
// table on stderr and JSON lines on stdout:
//   {"bench": "gemm_sq1024", "value": 212.3, "unit": "GFLOP/s", "frac_peak": 0.71, "peak": 300.1}
// davit_slope is a complexity check (no PyTorch twin): how the time of a DaViT channel block, a DaViT
// window block and a ViT (global attention) block grows with the number of tokens N, as a log-log slope
// (one thread on the CPU).
// On the CPU the FMA peak is probed before each group, so a throttled host shows up as a low peak,
// not as a slow kernel. With --device cuda every group runs on the GPU (each timed call ends with
// cuda::synchronize()); attention adds the unfused form (matmul, softmax, matmul) beside the fused
// kernel, and the ViT groups report the caching allocator's peak. --amp runs every group but gemm
// (f32 kernels only, skipped) under autocast (autograd/autocast.h: bf16 products, f32 the rest) and
// adds "_amp" to every name, as bench/torch_ref.py --amp does under torch.autocast.
// Leaves out: f16, multi-GPU.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "autograd/autocast.h"
#include "bench/peak.h"
#include "models/davit.h"
#include "models/vit.h"
#include "nn/optim.h"
#include "tensor/backend.h"
#include "tensor/cpu/isa.h"
#include "tensor/cpu/sgemm.h"
#ifdef IRIS_WITH_CUDA
#include "cuda/cuda_backend.h"
#endif

using namespace iris;

namespace {

bool g_quick = false;
Device g_device = Device::cpu();

// Waits for the GPU's queued work, so timers measure it (a no-op on the CPU).
void sync_device() {
#ifdef IRIS_WITH_CUDA
  if (g_device.is_cuda()) cuda::synchronize();
#endif
}

std::string device_extra() { return g_device.is_cuda() ? ", \"device\": \"" + g_device.str() + "\"" : ""; }

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Median seconds per call over repeated calls (one warm-up call first). On a GPU every call ends
// with a synchronize, so a sample is the call's whole time, not its launch time.
double time_median(const std::function<void()>& fn, double min_seconds, int min_reps = 3) {
  fn();
  sync_device();
  std::vector<double> samples;
  auto start = std::chrono::steady_clock::now();
  while (static_cast<int>(samples.size()) < min_reps || seconds_since(start) < min_seconds) {
    auto t0 = std::chrono::steady_clock::now();
    fn();
    sync_device();
    samples.push_back(seconds_since(t0));
  }
  std::sort(samples.begin(), samples.end());
  return samples[samples.size() / 2];
}

void emit(const std::string& plain_name, double value, const std::string& unit, std::string extra = "") {
  const std::string name = plain_name + (autocast_enabled() ? "_amp" : "");
  if (autocast_enabled()) extra += ", \"precision\": \"bf16 autocast\"";
  std::printf("{\"bench\": \"%s\", \"value\": %.6g, \"unit\": \"%s\"%s}\n", name.c_str(), value, unit.c_str(),
              extra.c_str());
  std::fflush(stdout);
  std::fprintf(stderr, "  %-24s %10.1f %s\n", name.c_str(), value, unit.c_str());
}

// Which CPU kernels run (tensor/cpu/isa.h), first in every run, so each table names its path.
void report_cpu() {
  const cpu::Isa best = cpu::cpu_best_isa(), kernels = cpu::kernel_isa();
  const std::string name = bench::cpu_model_name();
  std::printf("{\"bench\": \"cpu\", \"model\": \"%s\", \"cpu_isa\": \"%s\", \"requested_isa\": \"%s\", "
              "\"kernel_isa\": \"%s\", \"gemm_kernel\": \"%s\", \"avx512_bf16\": %s, \"threads\": %d}\n",
              name.c_str(), cpu::isa_name(best), cpu::isa_name(cpu::requested_isa()), cpu::isa_name(kernels),
              cpu::packed_sgemm_isa(),
              cpu::cpu_has_avx512_bf16() ? "true" : "false", num_threads());
  std::fprintf(stderr, "cpu: %s; it runs up to %s%s; iris's kernels run at %s, the GEMM micro-kernel at %s\n",
               name.c_str(), cpu::isa_name(best), cpu::cpu_has_avx512_bf16() ? " (and AVX512_BF16)" : "",
               cpu::isa_name(kernels), cpu::packed_sgemm_isa());
}

bench::Peak probe() {
  bench::Peak p = bench::measure_fma_peak(num_threads());
  std::printf("{\"bench\": \"fma_peak\", \"value\": %.6g, \"unit\": \"GFLOP/s\", \"isa\": \"%s\", \"threads\": %d}\n",
              p.gflops, p.isa.c_str(), p.threads);
  std::fprintf(stderr, "  %-24s %10.1f GFLOP/s (%s, %d threads)\n", "fma_peak", p.gflops, p.isa.c_str(), p.threads);
  return p;
}

struct GemmShape {
  std::string name;
  int64_t m, n, k;
};

std::vector<GemmShape> gemm_shapes() {
  std::vector<GemmShape> s = {{"sq256", 256, 256, 256}, {"sq512", 512, 512, 512}, {"sq1024", 1024, 1024, 1024}};
  if (!g_quick) s.push_back({"sq2048", 2048, 2048, 2048});
  struct Cfg {
    const char* name;
    int64_t batch, dim;
  };
  for (Cfg c : {Cfg{"small", 128, 64}, Cfg{"tiny", 64, 192}}) {
    int64_t t = c.batch * 50;
    struct Layer {
      const char* name;
      int64_t in, out;
    };
    for (Layer l : {Layer{"qkv", c.dim, 3 * c.dim}, Layer{"fc1", c.dim, 4 * c.dim}, Layer{"fc2", 4 * c.dim, c.dim}}) {
      std::string p = std::string(c.name) + "_" + l.name;
      s.push_back({p + "_fwd", t, l.out, l.in});
      s.push_back({p + "_dx", t, l.in, l.out});
      s.push_back({p + "_dw", l.out, l.in, t});
    }
  }
  return s;
}

// The GEMM micro-kernels side by side (avx2 against avx512, forced through IRIS_ISA's switch), one
// thread, timed in this thread's CPU time (a busy host deschedules it without slowing it), best of
// 7: the measurement behind the AVX-512 tiles' probe (tensor/cpu/sgemm_avx512.h).
void bench_gemm_isa() {
  std::fprintf(stderr, "gemm micro-kernels (f32, one thread, thread CPU time)\n");
  if (!cpu::cpu_supports(cpu::Isa::avx512)) {
    std::fprintf(stderr, "  skipped: this CPU has no AVX-512\n");
    return;
  }
  auto thread_seconds = [] {
    timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
  };
  for (const GemmShape& g : gemm_shapes()) {
    std::vector<float> a(static_cast<size_t>(g.m * g.k), 0.5f), b(static_cast<size_t>(g.k * g.n), 0.25f),
        c(static_cast<size_t>(g.m * g.n));
    for (cpu::Isa isa : {cpu::Isa::avx2, cpu::Isa::avx512}) {
      cpu::KernelIsaGuard guard(isa);
      double best = 1e30;
      for (int r = 0; r < 7; ++r) {
        double t0 = thread_seconds();
        cpu::packed_sgemm(g.m, g.n, g.k, 1.0f, a.data(), g.k, 1, b.data(), g.n, 1, 0.0f, c.data(), g.n, 1);
        best = std::min(best, thread_seconds() - t0);
      }
      emit("gemm_isa_" + g.name + "_" + cpu::isa_name(isa), 2.0 * g.m * g.n * g.k / best / 1e9, "GFLOP/s",
           ", \"threads\": 1, \"clock\": \"thread cpu\"");
    }
  }
}

void bench_gemm() {
  std::fprintf(stderr, "gemm (row-major C = A B, f32)%s\n", g_device.is_cuda() ? " on the GPU" : "");
  bench::Peak peak = g_device.is_cpu() ? probe() : bench::Peak{};  // the CPU's peak means nothing for a GPU
  for (const GemmShape& g : gemm_shapes()) {
    Tensor a = randn({1, g.m, g.k}).to(g_device), b = randn({1, g.k, g.n}).to(g_device),
           c = empty({1, g.m, g.n}, g_device);
    // the best of three medians: a co-tenant's burst slows one window, not all three (as torch_ref.py)
    double s = 1e30;
    for (int window = 0; window < 3; ++window)
      s = std::min(s, time_median([&] { backend(g_device).gemm(a, b, c, 1.0, 0.0); }, g_quick ? 0.1 : 0.35));
    double gf = 2.0 * g.m * g.n * g.k / s / 1e9;
    char extra[160];
    if (g_device.is_cpu())
      std::snprintf(extra, sizeof extra, ", \"frac_peak\": %.4f, \"peak\": %.1f, \"m\": %lld, \"n\": %lld, \"k\": %lld",
                    gf / peak.gflops, peak.gflops, (long long)g.m, (long long)g.n, (long long)g.k);
    else
      std::snprintf(extra, sizeof extra, ", \"m\": %lld, \"n\": %lld, \"k\": %lld", (long long)g.m, (long long)g.n,
                    (long long)g.k);
    emit("gemm_" + g.name, gf, "GFLOP/s", extra + device_extra());
  }
  if (g_device.is_cpu()) {
    // The peak again: a host that moved both virtual cores onto one physical core during the group
    // shows up as a peak that changed (bench/compare.py flags a change above 15%).
    bench::Peak end = bench::measure_fma_peak(num_threads());
    std::printf("{\"bench\": \"fma_peak_end\", \"value\": %.6g, \"unit\": \"GFLOP/s\", \"threads\": %d}\n",
                end.gflops, end.threads);
    std::fprintf(stderr, "  %-24s %10.1f GFLOP/s (after the group)\n", "fma_peak_end", end.gflops);
  }
}

void bench_attention() {
  std::fprintf(stderr, "attention (forward + backward)%s\n", g_device.is_cuda() ? " on the GPU" : "");
  struct Shape3 {
    const char* name;
    int64_t bh, n, d;
  };
  std::vector<Shape3> shapes = {{"small", 128 * 4, 50, 16}, {"tiny", 64 * 3, 50, 64}};
  if (g_device.is_cuda()) shapes.push_back({"deit", 64 * 6, 197, 64});  // DeiT-S: batch 64, 6 heads
  for (Shape3 s : shapes) {
    // [BH, N, D] leaves on the device
    Tensor q = randn({s.bh, s.n, s.d}).to(g_device).requires_grad_(),
           k = randn({s.bh, s.n, s.d}).to(g_device).requires_grad_(),
           v = randn({s.bh, s.n, s.d}).to(g_device).requires_grad_();
    double sec = time_median([&] {
      Tensor o = scaled_dot_product_attention(q, k, v);
      sum(o).backward();
    }, g_quick ? 0.3 : 1.0);
    emit(std::string("attention_") + s.name + "_train", s.bh / sec, "heads/s", device_extra());
    if (g_device.is_cpu()) continue;
    // The same attention from separate ops: the [BH, N, N] score matrix goes through memory.
    double scale = 1.0 / std::sqrt(static_cast<double>(s.d));
    double unfused = time_median([&] {
      Tensor o = matmul(softmax(matmul(q, k.transpose(-1, -2)) * scale, -1), v);
      sum(o).backward();
    }, g_quick ? 0.3 : 1.0);
    emit(std::string("attention_") + s.name + "_unfused_train", s.bh / unfused, "heads/s", device_extra());
  }
}

// Times one training step (zero_grad, forward, cross-entropy, backward, AdamW) and one eval forward
// of a classifier on a fixed batch; prints <name>_train, <name>_eval (images/s) and <name>_rss.
void bench_classifier(const std::string& name, nn::Module& model, const Tensor& x, const Tensor& y) {
  const int64_t batch = x.shape()[0];
  model.to(g_device);
  nn::AdamW opt(model.parameters(), 1e-3, 0.05);
  double secs = g_quick ? 2.0 : 6.0;
  double train = time_median([&] {
    opt.zero_grad();
    Tensor loss = cross_entropy(model.forward(x), y);
    loss.backward();
    opt.step();
  }, secs);
  emit(name + "_train", batch / train, "images/s", device_extra());
  model.eval();
  double eval = time_median([&] {
    NoGradGuard ng;
    model.forward(x);
  }, secs / 2);
  emit(name + "_eval", batch / eval, "images/s", device_extra());
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  emit(name + "_rss", ru.ru_maxrss / 1024.0, "MiB");
#ifdef IRIS_WITH_CUDA
  if (g_device.is_cuda()) emit(name + "_gpu_peak", cuda::allocator_stats().peak_bytes_in_use / 1048576.0, "MiB");
#endif
}

void bench_vit(const std::string& name) {
  models::VitConfig cfg = models::VitConfig::named("vit-fmnist");
  int64_t batch = 128;
  if (name == "vit_tiny") cfg.embed_dim = 192, cfg.depth = 12, cfg.num_heads = 3, batch = 64;
  if (name == "deit_small") cfg = models::VitConfig::named("deit-small"), batch = 64;
  std::fprintf(stderr, "%s (%lldx%lld, patch %lld, batch %lld, AdamW)%s\n", name.c_str(), (long long)cfg.img_size,
               (long long)cfg.img_size, (long long)cfg.patch_size, (long long)batch,
               g_device.is_cuda() ? " on the GPU" : "");
  manual_seed(0);
  models::VisionTransformer model(cfg);
  // images [B, C, H, W], labels [B]
  Tensor x = rand({batch, cfg.in_chans, cfg.img_size, cfg.img_size}).to(g_device),
         y = randint(0, cfg.num_classes, {batch}).to(g_device);
  bench_classifier(name, model, x, y);
}

// The DaViT miniature of the CPU-speed issue: 28x28 grey images, a 3x3 stride-2 stem to a 14x14x64
// map, one dual block (window 7, 2 heads / channel groups), downsample to 7x7x128, one dual block
// (4 heads), batch 64. bench/torch_ref.py builds the same network from timm's DaVit.
void bench_davit_mini() {
  models::DavitConfig cfg;  // pico's 28x28-friendly stem: 3x3, stride 2, padding 1
  cfg.img_size = 28, cfg.in_chans = 1, cfg.num_classes = 10;
  cfg.embed_dims = {64, 128}, cfg.depths = {1, 1}, cfg.num_heads = {2, 4}, cfg.window_size = 7;
  const int64_t batch = 64;
  std::fprintf(stderr, "davit_mini (28x28, 14x14x64 dual block, 7x7x128 dual block, batch %lld, AdamW)%s\n",
               (long long)batch, g_device.is_cuda() ? " on the GPU" : "");
  manual_seed(0);
  models::DaVit model(cfg);
  Tensor x = rand({batch, cfg.in_chans, cfg.img_size, cfg.img_size}).to(g_device),
         y = randint(0, cfg.num_classes, {batch}).to(g_device);
  bench_classifier("davit_mini", model, x, y);
}

// Least-squares slope of log(time) against log(tokens): time ~ tokens^slope.
double loglog_slope(const std::vector<double>& tokens, const std::vector<double>& seconds) {
  const size_t n = tokens.size();
  double mx = 0, my = 0;
  for (size_t i = 0; i < n; ++i) mx += std::log(tokens[i]) / n, my += std::log(seconds[i]) / n;
  double sxy = 0, sxx = 0;
  for (size_t i = 0; i < n; ++i) {
    double dx = std::log(tokens[i]) - mx;
    sxy += dx * (std::log(seconds[i]) - my);
    sxx += dx * dx;
  }
  return sxy / sxx;
}

// Forward + backward of one block at 4 token maps (8x8 .. 32x32, dim 64, 4 heads = 4 channel groups,
// batch 8, 7x7 windows with zero padding to whole windows, MLP ratio 4): the channel and window blocks
// should grow like N (slope about 1), global attention like N^2 once the N^2 attention outweighs
// the per-token layers (qkv, proj, MLP: about 49k multiply-adds per token against 2 N dim for attention,
// so the cross-over is near N = 380 and the fitted slope over 64..1024 tokens stays below 2;
// "end slope" is the slope between the two largest maps, closer to the asymptote).
void bench_davit_slope() {
  const int64_t batch = 8, dim = 64, heads = 4, window = 7;
  const std::vector<int64_t> sides = {8, 16, 24, 32};  // token maps side x side, N = side^2
  // One thread on the CPU: the slope is about the algorithm, and on a busy host every OpenMP barrier can
  // wait for a time slice, which swamps the small maps (measured beside a 2-job build on 2 cores: with 2
  // threads the slopes came out anywhere from -0.2 to 1.7; with one thread channel 0.9-1.15, window
  // 0.75-0.9, global 1.65-1.72 over five runs). Restored on the way out.
  struct ThreadsGuard {
    int saved = num_threads();
    ~ThreadsGuard() { set_num_threads(saved); }
  } threads_guard;
  if (g_device.is_cpu()) set_num_threads(1);
  std::fprintf(stderr,
               "davit_slope (forward + backward, batch %lld, dim %lld, %lld heads, window %lld, %d thread%s)%s\n",
               (long long)batch, (long long)dim, (long long)heads, (long long)window, num_threads(),
               num_threads() == 1 ? "" : "s",
               g_device.is_cuda() ? " on the GPU" : "");
  manual_seed(0);
  auto channel = std::make_shared<models::DavitBlock>(models::AttnKind::channel, dim, heads, window, 4.0, true, true,
                                                      0.0, 1e-5);
  auto spatial = std::make_shared<models::DavitBlock>(models::AttnKind::spatial, dim, heads, window, 4.0, true, true,
                                                      0.0, 1e-5);
  auto global = std::make_shared<models::Block>(dim, heads, 4.0, true, 0.0, 0.0, 1e-6);
  struct Arm {
    const char* name;   // in the table and the JSON names
    const char* slope;  // the JSON name of its slope
    nn::Module* block;
    bool map_input;     // [B, H, W, C] (DaViT) or [B, N, C] (ViT)
  };
  const std::vector<Arm> arms = {{"channel", "davit_channel_slope", channel.get(), true},
                                 {"window", "davit_window_slope", spatial.get(), true},
                                 {"global", "global_attention_slope", global.get(), false}};
  // "padded": the tokens the window block really attends over, the map zero-padded to whole windows
  // (8x8 -> 14x14): at small maps padding makes the window block's slope fall below 1.
  std::fprintf(stderr, "  %-8s %6s %7s %10s %10s\n", "block", "N", "padded", "ms", "us/token");
  for (const Arm& arm : arms) {
    arm.block->to(g_device);
    std::vector<double> tokens, seconds;
    for (int64_t side : sides) {
      const int64_t n = side * side;
      // x: [B, side, side, C] or [B, N, C]; a leaf with grad, as a block inside a network sees it
      Tensor x = (arm.map_input ? randn({batch, side, side, dim}) : randn({batch, n, dim})).to(g_device);
      x.requires_grad_();
      double sec = time_median([&] {
        Tensor out = arm.block->forward(x);
        sum(out).backward();
      }, g_quick ? 0.15 : 0.4);
      tokens.push_back(static_cast<double>(n));
      seconds.push_back(sec);
      const int64_t padded_side = arm.block == spatial.get() ? (side + window - 1) / window * window : side;
      std::fprintf(stderr, "  %-8s %6lld %7lld %10.2f %10.1f\n", arm.name, (long long)n,
                   (long long)(padded_side * padded_side), sec * 1e3, sec * 1e6 / n);
      std::printf("{\"bench\": \"davit_slope_%s_n%lld\", \"value\": %.6g, \"unit\": \"ms\", \"tokens\": %lld, "
                  "\"batch\": %lld, \"dim\": %lld%s}\n",
                  arm.name, (long long)n, sec * 1e3, (long long)n, (long long)batch, (long long)dim,
                  device_extra().c_str());
      std::fflush(stdout);
    }
    double slope = loglog_slope(tokens, seconds);
    const size_t last = tokens.size() - 1;
    double end_slope = std::log(seconds[last] / seconds[last - 1]) / std::log(tokens[last] / tokens[last - 1]);
    std::fprintf(stderr, "  %-8s slope %.2f (end slope %.2f)\n", arm.name, slope, end_slope);
    char extra[200];
    std::snprintf(extra, sizeof extra, ", \"end_slope\": %.4f, \"tokens\": [%lld, %lld, %lld, %lld], \"threads\": %d",
                  end_slope, (long long)tokens[0], (long long)tokens[1], (long long)tokens[2], (long long)tokens[3],
                  num_threads());
    std::printf("{\"bench\": \"%s\", \"value\": %.6g, \"unit\": \"log-log slope\"%s%s}\n", arm.slope, slope, extra,
                device_extra().c_str());
    std::fflush(stdout);
  }
}

// Fails early, in one line, when the device cannot be used (a CPU-only build, no GPU, no cuda:N).
void check_device(Device d) {
  if (d.is_cpu()) return;
#ifdef IRIS_WITH_CUDA
  bool present = false;
  try {
    present = cuda::available();
  } catch (const std::exception&) {
  }
  IRIS_CHECK(present, "--device ", d.str(), ": no usable CUDA device on this machine; use --device cpu");
  IRIS_CHECK(d.index < cuda::device_count(), "--device ", d.str(), ": this machine has ", cuda::device_count(),
             " CUDA device(s)");
  cuda::set_device(d.index);
#endif
  (void)backend(d);  // without CUDA in the build: "rebuild with `make CUDA=1`"
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> which;
  std::string device = "cpu";
  bool amp = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--quick") g_quick = true;
    else if (a == "--amp") amp = true;
    else if (a == "--help" || a == "-h") {
      std::cout << "iris_bench [gemm] [gemm_isa] [attention] [vit_small] [vit_tiny] [davit_mini] [davit_slope] [deit_small] [--quick]"
                   " [--device cpu|cuda|cuda:N] [--amp]\n"
                   "  --amp: bf16 autocast (names get _amp; gemm is skipped)\n"
                   "  JSON lines on stdout, a table on stderr; threads from IRIS_NUM_THREADS\n"
                   "  the first line names the CPU and the kernel path; IRIS_ISA=scalar|avx2|avx512 forces one\n"
                   "  no names: every group but deit_small (224x224 batch 64) and gemm_isa (the GEMM's avx2\n"
                   "    and avx512 micro-kernels side by side, one thread), which run only when named\n"
                   "  davit_slope: time ~ tokens^slope of a DaViT channel block, a DaViT window block and a\n"
                   "    global-attention (ViT) block, forward + backward at 64, 256, 576 and 1024 tokens\n"
                   "    (on the CPU with one thread whatever IRIS_NUM_THREADS says)\n";
      return 0;
    } else if (a == "--device" || a.rfind("--device=", 0) == 0) {
      if (a == "--device") {
        if (i + 1 >= argc) {
          std::cerr << "iris_bench: --device needs a value: cpu, cuda or cuda:N\n";
          return 2;
        }
        device = argv[++i];
      } else {
        device = a.substr(9);
      }
    } else if (a == "gemm" || a == "attention" || a == "vit_small" || a == "vit_tiny" || a == "davit_mini" ||
               a == "davit_slope" ||
               a == "deit_small" || a == "gemm_isa") {
      which.push_back(a);
    } else {
      std::cerr << "iris_bench: unknown argument '" << a << "' (try --help)\n";
      return 2;
    }
  }
  auto want = [&](const char* n) { return which.empty() || std::find(which.begin(), which.end(), n) != which.end(); };
  try {
    try {
      g_device = Device::parse(device);
    } catch (const Error& e) {
      std::cerr << "iris_bench: --device: " << e.what() << "\n";
      return 2;
    }
    check_device(g_device);
    report_cpu();
    AutocastGuard autocast(amp);
    if (want("gemm") && amp) std::cerr << "iris_bench: gemm skipped under --amp (f32 kernels only)\n";
    else if (want("gemm")) bench_gemm();
    if (!which.empty() && want("gemm_isa")) bench_gemm_isa();
    if (want("attention")) bench_attention();
    if (want("vit_small")) bench_vit("vit_small");
    if (want("vit_tiny")) bench_vit("vit_tiny");
    if (want("davit_mini")) bench_davit_mini();
    if (want("davit_slope") && amp)
      std::cerr << "iris_bench: davit_slope skipped under --amp (a complexity check, precision does not change it)\n";
    else if (want("davit_slope")) bench_davit_slope();
    if (!which.empty() && want("deit_small")) bench_vit("deit_small");
  } catch (const std::exception& e) {
    std::cerr << "iris_bench: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
