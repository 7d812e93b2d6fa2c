// iris_bench: the engine's speed, in the same shapes as bench/torch_ref.py.
//   build/bin/iris_bench [gemm] [attention] [vit_small] [vit_tiny] [--quick]
// With no names it runs all. Prints a table on stderr and JSON lines on stdout:
//   {"bench": "gemm_sq1024", "value": 212.3, "unit": "GFLOP/s", "frac_peak": 0.71, "peak": 300.1}
// The FMA peak is probed before each group, so a throttled host shows up as a low peak, not as a
// slow kernel. Leaves out: GPU timings (scripts/gpu-check.sh).
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "bench/peak.h"
#include "models/vit.h"
#include "nn/optim.h"
#include "tensor/backend.h"

using namespace iris;

namespace {

bool g_quick = false;

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Median seconds per call over repeated calls (one warm-up call first).
double time_median(const std::function<void()>& fn, double min_seconds, int min_reps = 3) {
  fn();
  std::vector<double> samples;
  auto start = std::chrono::steady_clock::now();
  while (static_cast<int>(samples.size()) < min_reps || seconds_since(start) < min_seconds) {
    auto t0 = std::chrono::steady_clock::now();
    fn();
    samples.push_back(seconds_since(t0));
  }
  std::sort(samples.begin(), samples.end());
  return samples[samples.size() / 2];
}

void emit(const std::string& name, double value, const std::string& unit, const std::string& extra = "") {
  std::printf("{\"bench\": \"%s\", \"value\": %.6g, \"unit\": \"%s\"%s}\n", name.c_str(), value, unit.c_str(),
              extra.c_str());
  std::fflush(stdout);
  std::fprintf(stderr, "  %-24s %10.1f %s\n", name.c_str(), value, unit.c_str());
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

void bench_gemm() {
  std::fprintf(stderr, "gemm (row-major C = A B, f32)\n");
  bench::Peak peak = probe();
  for (const GemmShape& g : gemm_shapes()) {
    Tensor a = randn({1, g.m, g.k}), b = randn({1, g.k, g.n}), c = empty({1, g.m, g.n});
    double s = time_median([&] { backend(Device::cpu()).gemm(a, b, c, 1.0, 0.0); }, g_quick ? 0.3 : 1.0);
    double gf = 2.0 * g.m * g.n * g.k / s / 1e9;
    char extra[160];
    std::snprintf(extra, sizeof extra, ", \"frac_peak\": %.4f, \"peak\": %.1f, \"m\": %lld, \"n\": %lld, \"k\": %lld",
                  gf / peak.gflops, peak.gflops, (long long)g.m, (long long)g.n, (long long)g.k);
    emit("gemm_" + g.name, gf, "GFLOP/s", extra);
  }
}

void bench_attention() {
  std::fprintf(stderr, "attention (forward + backward)\n");
  struct Shape3 {
    const char* name;
    int64_t bh, n, d;
  };
  for (Shape3 s : {Shape3{"small", 128 * 4, 50, 16}, Shape3{"tiny", 64 * 3, 50, 64}}) {
    Tensor q = randn({s.bh, s.n, s.d}).requires_grad_(), k = randn({s.bh, s.n, s.d}).requires_grad_(),
           v = randn({s.bh, s.n, s.d}).requires_grad_();
    double sec = time_median([&] {
      Tensor o = scaled_dot_product_attention(q, k, v);
      sum(o).backward();
    }, g_quick ? 0.3 : 1.0);
    emit(std::string("attention_") + s.name + "_train", s.bh / sec, "heads/s");
  }
}

void bench_vit(const std::string& name) {
  std::fprintf(stderr, "%s (28x28, patch 4, AdamW)\n", name.c_str());
  models::VitConfig cfg = models::VitConfig::named("vit-fmnist");
  int64_t batch = 128;
  if (name == "vit_tiny") cfg.embed_dim = 192, cfg.depth = 12, cfg.num_heads = 3, batch = 64;
  manual_seed(0);
  models::VisionTransformer model(cfg);
  nn::AdamW opt(model.parameters(), 1e-3, 0.05);
  Tensor x = rand({batch, 1, 28, 28}), y = randint(0, 10, {batch});
  double secs = g_quick ? 2.0 : 6.0;
  double train = time_median([&] {
    opt.zero_grad();
    Tensor loss = cross_entropy(model.forward(x), y);
    loss.backward();
    opt.step();
  }, secs);
  emit(name + "_train", batch / train, "images/s");
  model.eval();
  double eval = time_median([&] {
    NoGradGuard ng;
    model.forward(x);
  }, secs / 2);
  emit(name + "_eval", batch / eval, "images/s");
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  emit(name + "_rss", ru.ru_maxrss / 1024.0, "MiB");
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> which;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--quick") g_quick = true;
    else if (a == "--help" || a == "-h") {
      std::cout << "iris_bench [gemm] [attention] [vit_small] [vit_tiny] [--quick]\n"
                   "  JSON lines on stdout, a table on stderr; threads from IRIS_NUM_THREADS\n";
      return 0;
    } else if (a == "gemm" || a == "attention" || a == "vit_small" || a == "vit_tiny") {
      which.push_back(a);
    } else {
      std::cerr << "iris_bench: unknown argument '" << a << "' (try --help)\n";
      return 2;
    }
  }
  auto want = [&](const char* n) { return which.empty() || std::find(which.begin(), which.end(), n) != which.end(); };
  try {
    if (want("gemm")) bench_gemm();
    if (want("attention")) bench_attention();
    if (want("vit_small")) bench_vit("vit_small");
    if (want("vit_tiny")) bench_vit("vit_tiny");
  } catch (const std::exception& e) {
    std::cerr << "iris_bench: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
